/* docker: a client for Docker's Engine API over libcurl (unix socket or tcp/TLS).
 * See ../shared/reference/docker-api.md. One connection (easy handle) is reused.
 *
 * Every function returns CC_OK or a negative cc_status and fills err with one clear
 * sentence; when the daemon refused, err carries the daemon's `message`.
 * CC_ENOTFOUND is returned for 404s. */
#ifndef CDCCTL_DOCKER_H
#define CDCCTL_DOCKER_H
#include <jansson.h>
#include <stdio.h>

#include "util.h"

struct docker;

/* Connects using DOCKER_HOST (unix:// default /var/run/docker.sock, tcp://),
 * DOCKER_TLS_VERIFY / DOCKER_CERT_PATH, DOCKER_API_VERSION (pins the version).
 * Pings /_ping without a version prefix and negotiates min(our max, daemon's).
 * An unreachable daemon gives e.g. "cannot reach the Docker daemon at
 * unix:///var/run/docker.sock: is dockerd running?" (never a bare curl code). */
int docker_open(struct docker **out, char *err, size_t errlen);
void docker_close(struct docker *d);

/* The negotiated API version, e.g. "1.41". */
const char *docker_api_version(const struct docker *d);
/* The endpoint as written for messages, e.g. "unix:///var/run/docker.sock". */
const char *docker_host(const struct docker *d);

/* Generic request: method + path (without the /vX.Y prefix; query string included,
 * already URL-encoded) with an optional JSON body. On 2xx, *resp (if non-NULL) gets
 * the decoded JSON (NULL for empty bodies); *status gets the HTTP status. Non-2xx
 * returns CC_ENOTFOUND (404) or CC_ERR with the daemon's message in err, and still
 * sets *status. 304 (already started/stopped) counts as success. */
int docker_call(struct docker *d, const char *method, const char *path, json_t *body,
                long *status, json_t **resp, char *err, size_t errlen);

/* --- images --- */
/* Inspect an image; *out = decoded JSON (caller json_decref). CC_ENOTFOUND if absent. */
int docker_image_inspect(struct docker *d, const char *image, json_t **out, char *err, size_t errlen);

/* Pull image ("repo[:tag|@digest]", tag defaults to latest). Progress goes to
 * `progress`: a redrawn per-layer bar when it is a terminal, plain status lines
 * otherwise (NULL = silent). Errors inside the 200 stream are detected. */
int docker_image_pull(struct docker *d, const char *image, FILE *progress, char *err, size_t errlen);

/* Build an image from a tar build context in memory (POST /build), tagging it `tag`,
 * with `dockerfile` the path inside the context and labels (may be NULL, JSON
 * object of strings). Build output lines go to `progress` (NULL = silent). */
int docker_image_build(struct docker *d, const char *tag, const void *context_tar, size_t len,
                       const char *dockerfile, json_t *labels, FILE *progress,
                       char *err, size_t errlen);

/* --- containers --- */
/* Create container `name` from a create body (see spec.h); id_out gets the 64-hex id. */
int docker_container_create(struct docker *d, const char *name, json_t *body, char id_out[65],
                            char *err, size_t errlen);
int docker_container_start(struct docker *d, const char *id, char *err, size_t errlen);
/* Stop with a timeout in seconds (-1 = the container's default). */
int docker_container_stop(struct docker *d, const char *id, int timeout_s, char *err, size_t errlen);
/* Remove (force=1 kills a running container; volumes=1 removes anonymous volumes). */
int docker_container_remove(struct docker *d, const char *id, int force, int volumes,
                            char *err, size_t errlen);
int docker_container_rename(struct docker *d, const char *id, const char *new_name,
                            char *err, size_t errlen);
/* Inspect; *out = decoded JSON (caller json_decref). CC_ENOTFOUND if absent. */
int docker_container_inspect(struct docker *d, const char *id, json_t **out, char *err, size_t errlen);
/* List containers (all=1) whose labels include every "k=v" (or "k") in labels[]
 * (nlabels entries); *out = JSON array (caller json_decref). */
int docker_container_list(struct docker *d, const char *const *labels, size_t nlabels,
                          json_t **out, char *err, size_t errlen);
/* Upload a tar archive into directory `path` of a container (created or running). */
int docker_container_put_archive(struct docker *d, const char *id, const char *path,
                                 const void *tar, size_t len, char *err, size_t errlen);

/* Container logs. tail < 0 = all. follow streams until the container stops or
 * the callback returns non-zero. `tty` is the container's Tty flag: false means the
 * stream is multiplexed (8-byte frame headers) and is demultiplexed here.
 * Each payload chunk is handed to cb with stream 1 (stdout) or 2 (stderr). */
typedef int (*docker_log_cb)(int stream, const char *data, size_t len, void *ctx);
int docker_container_logs(struct docker *d, const char *id, int tail, int follow, int tty,
                          docker_log_cb cb, void *ctx, char *err, size_t errlen);

/* --- networks and volumes --- */
/* Create a bridge network with labels (JSON object); CheckDuplicate is always sent.
 * A network of that name that already exists gives CC_OK. id_out may be NULL. */
int docker_network_create(struct docker *d, const char *name, json_t *labels, char id_out[65],
                          char *err, size_t errlen);
/* Remove a network; CC_ENOTFOUND when absent. */
int docker_network_remove(struct docker *d, const char *name_or_id, char *err, size_t errlen);
/* List networks/volumes with the given label filters; *out = JSON array. */
int docker_network_list(struct docker *d, const char *const *labels, size_t nlabels,
                        json_t **out, char *err, size_t errlen);
int docker_volume_create(struct docker *d, const char *name, json_t *labels, char *err, size_t errlen);
int docker_volume_remove(struct docker *d, const char *name, char *err, size_t errlen);
int docker_volume_list(struct docker *d, const char *const *labels, size_t nlabels,
                       json_t **out, char *err, size_t errlen);

#endif
