#include "endpoint.h"

#include <stdio.h>

#include "util.h"

int endpoint_resolve(const struct endpoint_resolver *r, const struct manifest *m,
                     const char *name, int container_port, char *out, size_t outlen,
                     char *err, size_t errlen)
{
    const struct service *svc = manifest_service(m, name);
    if (!svc)
        return cc_errf(err, errlen, CC_ENOTFOUND, "no service '%s' in %s", name, m->path);
    if (svc->external) {
        snprintf(out, outlen, "%s", svc->external);
        return CC_OK;
    }
    if (!r || !r->resolve)
        return cc_errf(err, errlen, CC_ENOTFOUND,
                       "service '%s' is not external and no Docker daemon is in use", name);
    return r->resolve(r->ctx, svc, container_port, out, outlen, err, errlen);
}
