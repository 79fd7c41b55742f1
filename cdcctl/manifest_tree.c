/* manifest_tree: YAML text -> node tree with positions (libyaml document API).
 * Aliases share nodes; `<<` merge keys are expanded; duplicate keys are errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "manifest_priv.h"

#define MAX_DEPTH 200

struct builder {
    yaml_document_t *doc;
    struct ytree *t;
    struct ynode **memo; /* yaml node index -> converted node */
    char *busy;          /* yaml node index -> being converted (recursive alias) */
    const char *name;
    struct strbuf path;
    char *err;
    size_t errlen;
};

static struct ynode *ynew(struct ytree *t)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 64;
        t->all = xrealloc(t->all, t->cap * sizeof *t->all);
    }
    struct ynode *n = xcalloc(1, sizeof *n);
    t->all[t->n++] = n;
    return n;
}

void ytree_free(struct ytree *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++) {
        struct ynode *n = t->all[i];
        free(n->text);
        free(n->interp);
        free(n->keys);
        free(n->vals);
        free(n);
    }
    free(t->all);
    memset(t, 0, sizeof *t);
}

static int berr(struct builder *b, yaml_mark_t mark, const char *fmt, const char *arg)
{
    char why[256];
    snprintf(why, sizeof why, fmt, arg ? arg : "");
    if (b->path.len)
        return cc_errf(b->err, b->errlen, CC_EINVAL, "%s:%zu:%zu: %s: %s", b->name,
                       mark.line + 1, mark.column + 1, b->path.buf, why);
    return cc_errf(b->err, b->errlen, CC_EINVAL, "%s:%zu:%zu: %s", b->name, mark.line + 1,
                   mark.column + 1, why);
}

static void add_pair(struct ynode *m, struct ynode *k, struct ynode *v)
{
    m->keys = xrealloc(m->keys, (m->n + 1) * sizeof *m->keys);
    m->vals = xrealloc(m->vals, (m->n + 1) * sizeof *m->vals);
    m->keys[m->n] = k;
    m->vals[m->n] = v;
    m->n++;
}

static int has_key(const struct ynode *m, const char *key)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->keys[i]->text, key) == 0)
            return 1;
    return 0;
}

static int convert(struct builder *b, int idx, struct ynode **out, int depth);

/* Adds the pairs of merge source `src` whose keys are not yet in m. */
static int merge_from(struct builder *b, struct ynode *m, const struct ynode *src,
                      yaml_mark_t mark)
{
    if (src->type != YN_MAP)
        return berr(b, mark, "merge key `<<` needs a mapping or a list of mappings%s", NULL);
    for (size_t i = 0; i < src->n; i++)
        if (!has_key(m, src->keys[i]->text))
            add_pair(m, src->keys[i], src->vals[i]);
    return CC_OK;
}

static int convert_map(struct builder *b, yaml_node_t *yn, struct ynode *n, int depth)
{
    yaml_node_pair_t *p;
    /* Merge sources are applied after the explicit keys, which win. */
    struct ynode *merges[16];
    yaml_mark_t merge_marks[16];
    size_t nmerges = 0;
    for (p = yn->data.mapping.pairs.start; p < yn->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(b->doc, p->key);
        if (!kn || kn->type != YAML_SCALAR_NODE)
            return berr(b, kn ? kn->start_mark : yn->start_mark,
                        "mapping keys must be strings%s", NULL);
        struct ynode *k = NULL, *v = NULL;
        int rc = convert(b, p->key, &k, depth + 1);
        if (rc != CC_OK)
            return rc;
        int is_merge = strcmp(k->text, "<<") == 0 &&
                       kn->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        size_t old = b->path.len;
        if (!is_merge) {
            if (has_key(n, k->text))
                return berr(b, kn->start_mark, "duplicate key \"%s\"", k->text);
            if (old)
                strbuf_adds(&b->path, ".");
            strbuf_adds(&b->path, k->text);
        }
        rc = convert(b, p->value, &v, depth + 1);
        b->path.len = old;
        if (b->path.buf)
            b->path.buf[old] = '\0';
        if (rc != CC_OK)
            return rc;
        if (is_merge) {
            yaml_node_t *vn = yaml_document_get_node(b->doc, p->value);
            if (v->type == YN_SEQ) {
                for (size_t i = 0; i < v->n; i++) {
                    if (nmerges == sizeof merges / sizeof *merges)
                        return berr(b, kn->start_mark, "too many merge sources%s", NULL);
                    merge_marks[nmerges] = vn->start_mark;
                    merges[nmerges++] = v->vals[i];
                }
            } else {
                if (nmerges == sizeof merges / sizeof *merges)
                    return berr(b, kn->start_mark, "too many merge sources%s", NULL);
                merge_marks[nmerges] = vn->start_mark;
                merges[nmerges++] = v;
            }
            continue;
        }
        add_pair(n, k, v);
    }
    for (size_t i = 0; i < nmerges; i++) {
        int rc = merge_from(b, n, merges[i], merge_marks[i]);
        if (rc != CC_OK)
            return rc;
    }
    return CC_OK;
}

static int convert(struct builder *b, int idx, struct ynode **out, int depth)
{
    yaml_node_t *yn = yaml_document_get_node(b->doc, idx);
    if (!yn)
        return cc_errf(b->err, b->errlen, CC_EINVAL, "%s: invalid YAML document", b->name);
    if (b->memo[idx]) {
        if (b->busy[idx])
            return berr(b, yn->start_mark, "recursive alias%s", NULL);
        *out = b->memo[idx];
        return CC_OK;
    }
    if (depth > MAX_DEPTH)
        return berr(b, yn->start_mark, "nesting too deep%s", NULL);
    struct ynode *n = ynew(b->t);
    b->memo[idx] = n;
    n->pos.line = (int)yn->start_mark.line + 1;
    n->pos.column = (int)yn->start_mark.column + 1;
    int rc = CC_OK;
    b->busy[idx] = 1;
    switch (yn->type) {
    case YAML_SCALAR_NODE:
        n->type = YN_SCALAR;
        n->text = xstrndup((const char *)yn->data.scalar.value, yn->data.scalar.length);
        n->plain = yn->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        break;
    case YAML_SEQUENCE_NODE: {
        n->type = YN_SEQ;
        size_t cnt = (size_t)(yn->data.sequence.items.top - yn->data.sequence.items.start);
        n->vals = xcalloc(cnt ? cnt : 1, sizeof *n->vals);
        for (size_t i = 0; i < cnt && rc == CC_OK; i++) {
            size_t old = b->path.len;
            strbuf_addf(&b->path, "[%zu]", i);
            rc = convert(b, yn->data.sequence.items.start[i], &n->vals[i], depth + 1);
            b->path.len = old;
            b->path.buf[old] = '\0';
            n->n = i + 1;
        }
        break;
    }
    case YAML_MAPPING_NODE:
        n->type = YN_MAP;
        rc = convert_map(b, yn, n, depth);
        break;
    default:
        rc = berr(b, yn->start_mark, "unsupported YAML node%s", NULL);
    }
    b->busy[idx] = 0;
    if (rc == CC_OK)
        *out = n;
    return rc;
}

static int yaml_error(yaml_parser_t *p, const char *name, char *err, size_t errlen)
{
    const char *problem = p->problem ? p->problem : "malformed YAML";
    yaml_mark_t mark = p->problem_mark;
    if (p->error == YAML_MEMORY_ERROR)
        return cc_errf(err, errlen, CC_ERR, "%s: out of memory parsing YAML", name);
    if (p->error == YAML_READER_ERROR)
        return cc_errf(err, errlen, CC_EINVAL, "%s: invalid YAML: %s (byte offset %zu)", name,
                       problem, p->problem_offset);
    if (p->context)
        return cc_errf(err, errlen, CC_EINVAL, "%s:%zu:%zu: invalid YAML: %s (%s started at line %zu)",
                       name, mark.line + 1, mark.column + 1, problem, p->context,
                       p->context_mark.line + 1);
    return cc_errf(err, errlen, CC_EINVAL, "%s:%zu:%zu: invalid YAML: %s", name,
                   mark.line + 1, mark.column + 1, problem);
}

int ytree_parse(const char *text, size_t len, const char *name, struct ytree *t,
                char *err, size_t errlen)
{
    yaml_parser_t parser;
    yaml_document_t doc, doc2;
    int have_doc = 0, have_doc2 = 0, rc = CC_OK;
    struct builder b = {0};

    if (!yaml_parser_initialize(&parser))
        return cc_errf(err, errlen, CC_ERR, "%s: cannot initialise the YAML parser", name);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        rc = yaml_error(&parser, name, err, errlen);
        goto out;
    }
    have_doc = 1;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) {
        t->root = NULL;
        goto out;
    }
    /* A second document in the stream is almost certainly a mistake. */
    if (!yaml_parser_load(&parser, &doc2)) {
        rc = yaml_error(&parser, name, err, errlen);
        goto out;
    }
    have_doc2 = 1;
    yaml_node_t *root2 = yaml_document_get_root_node(&doc2);
    if (root2) {
        rc = cc_errf(err, errlen, CC_EINVAL,
                     "%s:%zu:%zu: only one YAML document is allowed in a manifest", name,
                     doc2.start_mark.line + 1, doc2.start_mark.column + 1);
        goto out;
    }
    size_t nnodes = (size_t)(doc.nodes.top - doc.nodes.start);
    b.doc = &doc;
    b.t = t;
    b.memo = xcalloc(nnodes + 1, sizeof *b.memo);
    b.busy = xcalloc(nnodes + 1, 1);
    b.name = name;
    b.err = err;
    b.errlen = errlen;
    strbuf_adds(&b.path, "");
    rc = convert(&b, 1, &t->root, 0);
out:
    free(b.memo);
    free(b.busy);
    strbuf_release(&b.path);
    if (have_doc)
        yaml_document_delete(&doc);
    if (have_doc2)
        yaml_document_delete(&doc2);
    yaml_parser_delete(&parser);
    return rc;
}
