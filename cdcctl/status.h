/* status: the table `cdcctl status` prints: one row per service, plus rows added by
 * the bootstrap (TiDB, changefeed, topic) and monitoring (Prometheus, Grafana). */
#ifndef CDCCTL_STATUS_H
#define CDCCTL_STATUS_H
#include <jansson.h>
#include <stdio.h>

struct status_row {
    char *kind;   /* "service", "tidb", "changefeed", "topic", "consumer", "prometheus", "grafana" */
    char *name;   /* service name, changefeed id, topic name, ... */
    char *state;  /* running, exited, created, missing, external, normal, stopped, ... */
    char *health; /* healthy, unhealthy, starting, "-" (none) */
    char *detail; /* one line: ports, image, uptime, checkpoint lag, partitions, ... */
    json_t *extra; /* machine-readable fields for --json (object, owned by the row) */
    int ok;        /* 0 makes `cdcctl status` exit 3 */
};

struct status_table {
    struct status_row *rows;
    size_t n, cap;
};

/* Appends a row; strings are copied (NULL becomes "-"); `extra` (may be NULL) is
 * taken over (stolen reference). Returns the new row. */
struct status_row *status_add(struct status_table *t, const char *kind, const char *name,
                              const char *state, const char *health, const char *detail,
                              json_t *extra, int ok);

/* Prints the table aligned in columns (KIND NAME STATE HEALTH DETAIL). */
void status_print_text(const struct status_table *t, FILE *out);
/* Prints {"rows":[{kind,name,state,health,detail,ok,...extra}], "ok":bool} indented. */
void status_print_json(const struct status_table *t, FILE *out);
/* 1 when every row is ok. */
int status_all_ok(const struct status_table *t);
void status_release(struct status_table *t);

#endif
