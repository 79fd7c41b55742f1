/* monitor: status checks of the monitoring services: Prometheus target health and
 * Grafana health, when those services are in the manifest. */
#ifndef CDCCTL_MONITOR_H
#define CDCCTL_MONITOR_H
#include "endpoint.h"
#include "manifest.h"
#include "status.h"

/* Adds a "prometheus" row (targets up/total, listing the down ones) when a service
 * named "prometheus" exists, and a "grafana" row (/api/health) when "grafana" exists. */
void monitor_status(const struct manifest *m, const struct endpoint_resolver *r,
                    struct status_table *t);

#endif
