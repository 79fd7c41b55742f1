#include "status.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

struct status_row *status_add(struct status_table *t, const char *kind, const char *name,
                              const char *state, const char *health, const char *detail,
                              json_t *extra, int ok)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->rows = xrealloc(t->rows, t->cap * sizeof *t->rows);
    }
    struct status_row *r = &t->rows[t->n++];
    r->kind = xstrdup(kind ? kind : "-");
    r->name = xstrdup(name ? name : "-");
    r->state = xstrdup(state && *state ? state : "-");
    r->health = xstrdup(health && *health ? health : "-");
    r->detail = xstrdup(detail && *detail ? detail : "-");
    r->extra = extra;
    r->ok = ok;
    return r;
}

void status_print_text(const struct status_table *t, FILE *out)
{
    size_t wk = 4, wn = 4, ws = 5, wh = 6;
    for (size_t i = 0; i < t->n; i++) {
        const struct status_row *r = &t->rows[i];
        if (strlen(r->kind) > wk) wk = strlen(r->kind);
        if (strlen(r->name) > wn) wn = strlen(r->name);
        if (strlen(r->state) > ws) ws = strlen(r->state);
        if (strlen(r->health) > wh) wh = strlen(r->health);
    }
    fprintf(out, "%-*s  %-*s  %-*s  %-*s  %s\n", (int)wk, "KIND", (int)wn, "NAME", (int)ws,
            "STATE", (int)wh, "HEALTH", "DETAIL");
    for (size_t i = 0; i < t->n; i++) {
        const struct status_row *r = &t->rows[i];
        fprintf(out, "%-*s  %-*s  %-*s  %-*s  %s\n", (int)wk, r->kind, (int)wn, r->name, (int)ws,
                r->state, (int)wh, r->health, r->detail);
    }
}

void status_print_json(const struct status_table *t, FILE *out)
{
    json_t *rows = json_array();
    for (size_t i = 0; i < t->n; i++) {
        const struct status_row *r = &t->rows[i];
        json_t *o = json_object();
        if (r->extra)
            json_object_update(o, r->extra);
        json_object_set_new(o, "kind", json_string(r->kind));
        json_object_set_new(o, "name", json_string(r->name));
        json_object_set_new(o, "state", json_string(r->state));
        json_object_set_new(o, "health", json_string(r->health));
        json_object_set_new(o, "detail", json_string(r->detail));
        json_object_set_new(o, "ok", json_boolean(r->ok));
        json_array_append_new(rows, o);
    }
    json_t *doc = json_pack("{s:o,s:b}", "rows", rows, "ok", status_all_ok(t));
    json_dumpf(doc, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', out);
    json_decref(doc);
}

int status_all_ok(const struct status_table *t)
{
    for (size_t i = 0; i < t->n; i++)
        if (!t->rows[i].ok)
            return 0;
    return 1;
}

void status_release(struct status_table *t)
{
    for (size_t i = 0; i < t->n; i++) {
        struct status_row *r = &t->rows[i];
        free(r->kind);
        free(r->name);
        free(r->state);
        free(r->health);
        free(r->detail);
        json_decref(r->extra);
    }
    free(t->rows);
    t->rows = NULL;
    t->n = t->cap = 0;
}
