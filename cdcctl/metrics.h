/* metrics: a small Prometheus registry (counters, gauges, histograms with labels),
 * the text exposition format 0.0.4, and the /metrics HTTP server (libmicrohttpd).
 * Updates are lock-free atomics on series; series creation and rendering take a
 * mutex, so the consumer thread and the HTTP thread can run together. */
#ifndef CDCCTL_METRICS_H
#define CDCCTL_METRICS_H
#include <stddef.h>
#include <stdint.h>

struct metrics;
struct metric_family;
struct metric_series;

struct metrics *metrics_new(void);
/* Frees the registry and every family/series in it. */
void metrics_free(struct metrics *m);

/* Registers a family (name must be a valid metric name, help any text, labels
 * valid label names; up to 8 labels). Returned pointers live as long as m.
 * Also (metrics.c): NULL for an invalid name/label, more than 8 labels, unsorted
 * buckets, a process_* name, or a name already registered with another type or
 * labels (the same registration again returns the existing family). A family
 * without labels shows its single series (0) at once; a labelled one appears with
 * its first series. All functions below accept NULL family/series as no-ops. */
struct metric_family *metrics_counter(struct metrics *m, const char *name, const char *help,
                                      const char *const *labels, size_t nlabels);
struct metric_family *metrics_gauge(struct metrics *m, const char *name, const char *help,
                                    const char *const *labels, size_t nlabels);
/* buckets: ascending upper bounds, +Inf implied. */
struct metric_family *metrics_histogram(struct metrics *m, const char *name, const char *help,
                                        const char *const *labels, size_t nlabels,
                                        const double *buckets, size_t nbuckets);

/* The series with these label values (nlabels of the family; lens[i] is the length
 * of values[i], values need not be NUL-terminated), created on first use. Cache the
 * pointer on hot paths; it stays valid as long as m.
 * Also (metrics.c): lookup of an existing series is lock-free; lens == NULL means
 * NUL-terminated values; a NULL values[i] is "". */
struct metric_series *metric_series_get(struct metric_family *f, const char *const *values,
                                        const size_t *lens);

void metric_add(struct metric_series *s, double v);     /* counters and gauges */
void metric_set(struct metric_series *s, double v);     /* gauges */
void metric_observe(struct metric_series *s, double v); /* histograms */
/* n observations of the same value v at once (histograms), as n metric_observe calls
 * would record them (the sum grows by v * n); n == 0 does nothing. */
void metric_observe_n(struct metric_series *s, double v, uint64_t n);
double metric_value(const struct metric_series *s);     /* tests */
/* Also (metrics.c): a negative or NaN metric_add to a counter is ignored; metric_set
 * works on counters too (mirroring an external total); calls that do not fit the
 * type are ignored; metric_value of a histogram is its observation count. */

/* Renders every family in the text format 0.0.4 (HELP, TYPE, escaped labels,
 * cumulative buckets with +Inf, last line ending in \n), followed by process_*
 * metrics (cpu seconds, resident memory, start time, open fds). malloc'd; *len set.
 * Also (metrics.c): families in registration order, series in creation order;
 * process_* also includes virtual memory and max fds. */
char *metrics_render(struct metrics *m, size_t *len);

/* Content-Type of /metrics. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct metrics_server;
/* Serves GET /metrics (405 for other methods, 404 other paths) on addr "HOST:PORT"
 * (port 0 = any free port). *port_out gets the bound port. CC_ERR with err on
 * failure (bad address, port in use).
 * Also (metrics_http.c): HEAD is served like GET; "/" is a page linking /metrics;
 * HOST may be an IPv4 address, "localhost" (127.0.0.1), a host name, "[IPV6]",
 * or empty (":PORT" = every IPv4 interface); port_out may be NULL. */
int metrics_server_start(struct metrics *m, const char *addr, struct metrics_server **out,
                         int *port_out, char *err, size_t errlen);
void metrics_server_stop(struct metrics_server *s);

#endif
