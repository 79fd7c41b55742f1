/* endpoint: where cdcctl (on the host) reaches a service's port. A service with
 * `external: host:port` is reached there; a container is reached through its
 * published port (resolved by the stack from Docker). Bootstrap and status code
 * ask through this interface so they work with or without a Docker daemon. */
#ifndef CDCCTL_ENDPOINT_H
#define CDCCTL_ENDPOINT_H
#include <stddef.h>

#include "manifest.h"

/* Resolves (service, container port) to "host:port" for a container service.
 * Returns CC_OK, or CC_ENOTFOUND when the port is not published / the container
 * is missing (err says which). */
struct endpoint_resolver {
    int (*resolve)(void *ctx, const struct service *svc, int container_port, char *out,
                   size_t outlen, char *err, size_t errlen);
    void *ctx;
};

/* Host-side "host:port" of service `name`'s `container_port` into out.
 * External services: their `external` endpoint (the port given there wins).
 * Otherwise asks the resolver (NULL resolver -> CC_ENOTFOUND with a message that
 * the service is not external and no Docker daemon is in use).
 * CC_ENOTFOUND when the manifest has no such service. */
int endpoint_resolve(const struct endpoint_resolver *r, const struct manifest *m,
                     const char *name, int container_port, char *out, size_t outlen,
                     char *err, size_t errlen);

#endif
