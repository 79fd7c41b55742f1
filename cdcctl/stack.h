/* stack: the project's containers as a whole. `up` reconciles the manifest with
 * what Docker runs (images, network, volumes, containers in dependency order,
 * file uploads, readiness waits); `status` rows; `down`; a service's log; and the
 * endpoint resolver that maps (service, container port) to the published host port.
 * See DESIGN.md "Docker contract" and reference/docker-api.md section 3.
 *
 * Nothing here prints to the user except progress lines to the FILE the caller
 * passes (stderr in the commands). Errors come back as a status and `err`. */
#ifndef CDCCTL_STACK_H
#define CDCCTL_STACK_H
#include <stdio.h>

#include "docker.h"
#include "docker_inspect.h"
#include "endpoint.h"
#include "manifest.h"
#include "status.h"

/* 1 when at least one service is a container (not `external:`), so Docker is needed. */
int stack_needs_docker(const struct manifest *m);

/* The project's containers as one container list saw them; the endpoint resolver
 * answers from it. Zero-initialise; release with stack_endpoints_release. */
struct stack_endpoints {
    const struct manifest *m;
    struct docker_container_summary *c;
    size_t n;
};

/* Lists the project's containers (one call) into ep (replacing what it held). */
int stack_endpoints_load(struct docker *d, const struct manifest *m, struct stack_endpoints *ep,
                         char *err, size_t errlen);
void stack_endpoints_release(struct stack_endpoints *ep);

/* An endpoint_resolver over ep: (service, container port) -> "127.0.0.1:<host port>"
 * (the HostIp written when it is a specific address; 0.0.0.0/:: become 127.0.0.1).
 * CC_ENOTFOUND with err when the service has no container or the port is not
 * published. ep must outlive the resolver. */
struct endpoint_resolver stack_resolver(struct stack_endpoints *ep);

enum stack_pull { STACK_PULL_MISSING, STACK_PULL_ALWAYS };

struct stack_up_options {
    double timeout_s;      /* deadline for every wait of this `up` (default 300) */
    int remove_orphans;    /* remove containers of services not in the manifest */
    enum stack_pull pull;  /* pull images only when missing (default) or always */
    FILE *progress;        /* progress lines ("creating shop-tidb-1"), NULL = quiet */
    const char *state_dir; /* per-project state directory for `secret:` files */
};

/* Filled when `up` fails because of one service (so the caller can show its log). */
struct stack_failure {
    char service[128];     /* "" when no single service is to blame */
};

/* Converges Docker to the manifest: ensures images (build when the context hash
 * differs, pull when missing), the project network and labelled volumes, then, in
 * dependency order, keeps / starts / recreates / creates each service's container
 * (uploading `files:` before its first start) after waiting for its depends_on
 * conditions, and finally waits until every service is running (healthy when it has
 * a healthcheck; one-shot services others wait on with service_completed_successfully
 * may have exited 0). Orphans are reported on `progress`, removed with
 * remove_orphans. On success ep (may be NULL) holds the final container list for
 * stack_resolver. Errors: CC_ERR / CC_ETIMEOUT with err, e.g. "service web:
 * exited (exit code 1)", and fail->service set when a service is to blame. */
int stack_up(struct docker *d, const struct manifest *m, const struct stack_up_options *o,
             struct stack_endpoints *ep, struct stack_failure *fail, char *err, size_t errlen);

/* Adds one status row per service (kind "service"): state running / exited /
 * created / missing / external, health healthy / unhealthy / starting / - (external:
 * reachable / unreachable by a TCP connect), detail "ports ..., image ..., up ...".
 * d may be NULL only when no service needs Docker. ep (may be NULL) receives the
 * container list for stack_resolver. */
int stack_status(struct docker *d, const struct manifest *m, struct status_table *t,
                 struct stack_endpoints *ep, char *err, size_t errlen);

/* What stack_down removed. */
struct stack_down_result {
    size_t containers, networks, volumes;
};

/* Stops (timeout seconds each, dependents first, in parallel per level) and removes
 * every container labelled with the project, including orphans, then the project's
 * labelled networks and, with volumes != 0, its labelled volumes. Never touches
 * anything of another project. Progress lines go to `progress`. */
int stack_down(struct docker *d, const struct manifest *m, int stop_timeout, int volumes,
               FILE *progress, struct stack_down_result *res, char *err, size_t errlen);

/* Streams service `service`'s container log through cb (stream 1 stdout, 2 stderr):
 * the last `tail` lines (-1 = all), following when follow != 0. CC_ENOTFOUND when
 * the manifest has no such service (err says so) or it has no container;
 * CC_EINVAL when it is external. */
int stack_logs(struct docker *d, const struct manifest *m, const char *service, int tail,
               int follow, docker_log_cb cb, void *ctx, char *err, size_t errlen);

#endif
