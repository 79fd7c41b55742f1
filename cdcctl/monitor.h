/* monitor: status checks of the monitoring services: Prometheus target health and
 * Grafana health, when those services are in the manifest. */
#ifndef CDCCTL_MONITOR_H
#define CDCCTL_MONITOR_H
#include <jansson.h>
#include <stddef.h>

#include "endpoint.h"
#include "manifest.h"
#include "status.h"

/* Adds a "prometheus" row (targets up/total, listing the down ones) when a service
 * named "prometheus" exists, and a "grafana" row (/api/health) when "grafana" exists. */
void monitor_status(const struct manifest *m, const struct endpoint_resolver *r,
                    struct status_table *t);

/* Summary of a monitoring service's answer, as filled by the parsers below. */
struct monitor_summary {
    int ok;        /* 1 when everything is healthy */
    int starting;  /* 1 when nothing is down but some targets were not scraped yet */
    char *detail;  /* one line for the status table (malloc'd) */
    json_t *extra; /* machine-readable fields (new reference) */
};

/* Parses the body of Prometheus's GET /api/v1/targets into *out:
 * detail "N/M targets up" or "N/M targets up; down: job(instance) last error, ...",
 * extra {"targets_up":N,"targets_total":M,"down":[{job,instance,health,error}]}.
 * ok when M > 0 and every target is up. CC_EINVAL with err when the body is not a
 * successful targets response. Release *out with monitor_summary_release. */
int monitor_parse_prometheus_targets(const char *body, size_t len, struct monitor_summary *out,
                                     char *err, size_t errlen);

/* Parses the body of Grafana's GET /api/health into *out: detail
 * "database ok, version 11.2.0", extra {"database":..,"version":..}; ok when the
 * database is "ok". CC_EINVAL with err when the body is not a health response. */
int monitor_parse_grafana_health(const char *body, size_t len, struct monitor_summary *out,
                                 char *err, size_t errlen);

/* Frees detail and extra; accepts a zeroed or NULL summary. */
void monitor_summary_release(struct monitor_summary *s);

#endif
