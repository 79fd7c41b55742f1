/* yamlcheck: validates YAML files with libyaml, and converts them to JSON for checkers
 * written in Python (whose standard library has no YAML parser).
 *
 *   yamlcheck FILE...        exit 0 when every file is valid YAML without duplicate
 *                            mapping keys (Grafana's and Prometheus's parsers reject
 *                            those); else prints "FILE:LINE:COL: why" and exits 1
 *   yamlcheck --json FILE    prints the file's documents as one JSON array on stdout
 *                            (plain scalars typed like YAML 1.2's core schema: null,
 *                            true/false, integers, floats; quoted scalars are strings)
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

static json_t *plain_scalar(const char *s)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
    for (size_t i = 0; i < sizeof nulls / sizeof *nulls; i++)
        if (!strcmp(s, nulls[i]))
            return json_null();
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
        return json_true();
    if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
        return json_false();
    regex_t re;
    json_t *v = NULL;
    if (regcomp(&re, "^[-+]?[0-9]+$", REG_EXTENDED | REG_NOSUB) == 0) {
        if (regexec(&re, s, 0, NULL, 0) == 0) {
            errno = 0;
            long long n = strtoll(s, NULL, 10);
            if (errno == 0)
                v = json_integer(n);
        }
        regfree(&re);
    }
    if (v)
        return v;
    if (regcomp(&re, "^[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?$",
                REG_EXTENDED | REG_NOSUB) == 0) {
        if (regexec(&re, s, 0, NULL, 0) == 0) {
            double d = strtod(s, NULL);
            if (isfinite(d))
                v = json_real(d);
        }
        regfree(&re);
    }
    return v ? v : json_string(s);
}

/* Converts node `id` of doc to JSON. Reports problems (e.g. duplicate keys) via why and mark. */
static json_t *to_json(yaml_document_t *doc, int id, int depth, const char **why,
                       yaml_mark_t *mark)
{
    yaml_node_t *n = yaml_document_get_node(doc, id);
    if (!n || depth > 200) {
        *why = "nesting too deep";
        return NULL;
    }
    switch (n->type) {
    case YAML_SCALAR_NODE: {
        const char *s = (const char *)n->data.scalar.value;
        /* The loader tags every untagged scalar !!str, so the style decides. */
        if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
            return plain_scalar(s);
        return json_stringn(s, n->data.scalar.length);
    }
    case YAML_SEQUENCE_NODE: {
        json_t *a = json_array();
        for (yaml_node_item_t *it = n->data.sequence.items.start;
             it < n->data.sequence.items.top; it++) {
            json_t *v = to_json(doc, *it, depth + 1, why, mark);
            if (!v) {
                json_decref(a);
                return NULL;
            }
            json_array_append_new(a, v);
        }
        return a;
    }
    case YAML_MAPPING_NODE: {
        json_t *o = json_object();
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
             p++) {
            yaml_node_t *k = yaml_document_get_node(doc, p->key);
            if (!k || k->type != YAML_SCALAR_NODE) {
                *why = "mapping key is not a scalar";
                *mark = k ? k->start_mark : n->start_mark;
                json_decref(o);
                return NULL;
            }
            const char *key = (const char *)k->data.scalar.value;
            if (json_object_get(o, key)) {
                *why = "duplicate mapping key";
                *mark = k->start_mark;
                json_decref(o);
                return NULL;
            }
            json_t *v = to_json(doc, p->value, depth + 1, why, mark);
            if (!v) {
                json_decref(o);
                return NULL;
            }
            json_object_set_new(o, key, v);
        }
        return o;
    }
    default:
        *why = "empty node";
        return NULL;
    }
}

/* Loads every document of path into a JSON array; NULL after printing the error. */
static json_t *load(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return NULL;
    }
    yaml_parser_t parser;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    json_t *docs = json_array();
    for (;;) {
        yaml_document_t doc;
        if (!yaml_parser_load(&parser, &doc)) {
            fprintf(stderr, "%s:%zu:%zu: %s%s%s\n", path, parser.problem_mark.line + 1,
                    parser.problem_mark.column + 1, parser.problem ? parser.problem : "error",
                    parser.context ? " " : "", parser.context ? parser.context : "");
            json_decref(docs);
            docs = NULL;
            break;
        }
        if (!yaml_document_get_root_node(&doc)) {
            yaml_document_delete(&doc);
            break;
        }
        const char *why = NULL;
        yaml_mark_t mark = yaml_document_get_root_node(&doc)->start_mark;
        json_t *v = to_json(&doc, 1, 0, &why, &mark);
        yaml_document_delete(&doc);
        if (!v) {
            fprintf(stderr, "%s:%zu:%zu: %s\n", path, mark.line + 1, mark.column + 1, why);
            json_decref(docs);
            docs = NULL;
            break;
        }
        json_array_append_new(docs, v);
    }
    yaml_parser_delete(&parser);
    fclose(f);
    return docs;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--json")) {
        json_t *docs = load(argv[2]);
        if (!docs)
            return 1;
        json_dumpf(docs, stdout, JSON_PRESERVE_ORDER | JSON_COMPACT);
        fputc('\n', stdout);
        json_decref(docs);
        return 0;
    }
    if (argc < 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: yamlcheck FILE... | yamlcheck --json FILE\n");
        return 2;
    }
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        json_t *docs = load(argv[i]);
        if (!docs)
            rc = 1;
        json_decref(docs);
    }
    return rc;
}
