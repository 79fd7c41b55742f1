/* spec: the pure part of the stack. Turns a manifest service into the Docker
 * Engine API container-create body, names the objects cdcctl creates, and computes
 * the config hash `up` compares to decide keep / recreate. No I/O here. */
#ifndef CDCCTL_SPEC_H
#define CDCCTL_SPEC_H
#include <jansson.h>
#include <stddef.h>

#include "manifest.h"

/* Labels cdcctl puts on what it creates. */
#define SPEC_LABEL_PROJECT "io.cdcctl.project"
#define SPEC_LABEL_SERVICE "io.cdcctl.service"
#define SPEC_LABEL_HASH "io.cdcctl.config-hash"
#define SPEC_LABEL_NETWORK "io.cdcctl.network"
#define SPEC_LABEL_VOLUME "io.cdcctl.volume"
/* On images built by cdcctl: sha256 of the build context tar. */
#define SPEC_LABEL_CONTEXT_HASH "io.cdcctl.context-hash"

/* What the create body and hash depend on besides the service itself. */
struct spec_ctx {
    const char *project;   /* normalised project name */
    const char *image_id;  /* the image ID the container will run ("sha256:..."), or NULL
                              when not known yet (then only the image name enters the hash) */
    /* sha256 hex of every `files:` entry's content, svc->nfiles entries, in order. A
     * `secret:` entry's hash is that of its resolved value. NULL (or a NULL entry) =
     * hash file_spec.data as loaded (secrets then count as empty). */
    const char *const *file_hashes;
    /* Lookup for list-form environment entries without "=" (compose takes them from
     * cdcctl's environment; unset -> the entry is left out). NULL = getenv. */
    const char *(*getenv_fn)(const char *name, void *ctx);
    void *getenv_ctx;
};

/* "<project>-<service>-1", "<project>_default", "<project>_<key>". malloc'd. */
char *spec_container_name(const char *project, const char *service);
char *spec_network_name(const char *project);
char *spec_volume_name(const char *project, const char *key);

/* The image reference a container of svc runs: svc->image, or for a build service
 * without image "<project>-<service>:latest" (like compose). malloc'd; NULL for an
 * external service. */
char *spec_image_ref(const char *project, const struct service *svc);

/* The POST /containers/create body for svc (see DESIGN.md and docker-api.md
 * section 2): Image, Cmd/Entrypoint only when set, Env (sorted by name), Labels
 * (the service's own plus io.cdcctl.project/service; not the hash), Hostname
 * (default: the service name), User, WorkingDir, ExposedPorts, HostConfig
 * {PortBindings, Binds, RestartPolicy, Ulimits, ExtraHosts, NetworkMode},
 * Healthcheck, NetworkingConfig, Tty false. New reference (caller json_decref).
 * svc must not be external. */
json_t *spec_create_body(const struct service *svc, const struct spec_ctx *ctx);

/* The config hash of svc into out[65]: sha256 over the canonical JSON (sorted
 * keys, compact) of {body (as spec_create_body), image_id, files[{target, mode,
 * uid, gid, sha256}]}. Environment, image ID and file content changes change it;
 * depends_on and the order keys were written in do not. */
void spec_config_hash(const struct service *svc, const struct spec_ctx *ctx, char out[65]);

/* spec_create_body plus the io.cdcctl.config-hash label; hash_out (may be NULL)
 * receives the hash. New reference. */
json_t *spec_container(const struct service *svc, const struct spec_ctx *ctx, char hash_out[65]);

/* Labels for the project network / a project volume (JSON object, new reference). */
json_t *spec_network_labels(const char *project);
json_t *spec_volume_labels(const char *project, const char *key);

/* The Docker restart policy for a compose `restart:` value (NULL = "no"):
 * {"Name":..., "MaximumRetryCount":N}. New reference. */
json_t *spec_restart_policy(const char *restart);

#endif
