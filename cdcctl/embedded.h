/* embedded: files compiled into the binary (the default manifest, the files it
 * references, monitoring configuration and the consumer image's build context). */
#ifndef CDCCTL_EMBEDDED_H
#define CDCCTL_EMBEDDED_H
#include <stddef.h>

struct embedded_file {
    const char *name;          /* repository-relative path, e.g. "manifests/shop.yaml" */
    const unsigned char *data; /* contents, followed by a NUL byte not counted in len */
    size_t len;
};

/* Table generated at build time, ended by an entry whose name is NULL. */
extern const struct embedded_file embedded_files[];

/* The embedded file called `name` (after removing a leading "./"), or NULL.
 * The returned data is static; never free it. */
const struct embedded_file *embedded_find(const char *name);

#endif
