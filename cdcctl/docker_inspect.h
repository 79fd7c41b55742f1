/* docker_inspect: pure parsers that turn the daemon's container JSON into plain
 * structs: GET /containers/{id}/json (inspect) and the entries of
 * GET /containers/json (list). No I/O. */
#ifndef CDCCTL_DOCKER_INSPECT_H
#define CDCCTL_DOCKER_INSPECT_H
#include <jansson.h>
#include <stddef.h>

#include "util.h"

/* The labels cdcctl puts on what it creates (DESIGN.md). */
#define DOCKER_LABEL_PROJECT "io.cdcctl.project"
#define DOCKER_LABEL_SERVICE "io.cdcctl.service"
#define DOCKER_LABEL_CONFIG_HASH "io.cdcctl.config-hash"

struct docker_label {
    char *key;
    char *value;
};

/* A container as inspect reports it. Every string is malloc'd and never NULL
 * (missing fields become ""). Release with docker_container_info_clear. */
struct docker_container_info {
    char id[65];
    char *name;        /* without the leading '/' */
    char *status;      /* created|running|paused|restarting|removing|exited|dead */
    int running;       /* State.Running (also true when paused: prefer status) */
    int exit_code;     /* State.ExitCode */
    char *error;       /* State.Error */
    int oom_killed;
    char *health;      /* none|starting|healthy|unhealthy; "none" when State.Health is absent */
    int failing_streak;
    char *health_output; /* Output of the last health probe, "" when none */
    char *started_at;  /* RFC 3339 as the daemon wrote it ("0001-01-01T00:00:00Z" = never) */
    char *finished_at;
    char *image;       /* the image ID (Image: "sha256:...") */
    char *config_image; /* the reference it was created from (Config.Image) */
    int tty;           /* Config.Tty: decides whether logs are multiplexed */
    int restart_count;
    char **ports;      /* published ports "127.0.0.1:8080->80/tcp", sorted */
    size_t nports;
    struct docker_label *labels; /* Config.Labels, sorted by key */
    size_t nlabels;
};

/* Parses inspect JSON into *out (which is overwritten; clear it afterwards).
 * CC_EINVAL with err when `j` is not a container (no Id or State). */
int docker_container_info_parse(const json_t *j, struct docker_container_info *out,
                                char *err, size_t errlen);
void docker_container_info_clear(struct docker_container_info *c);

/* A label's value, or NULL when the container has no such label. */
const char *docker_container_info_label(const struct docker_container_info *c, const char *key);

/* A container as GET /containers/json lists it. Strings never NULL. */
struct docker_container_summary {
    char id[65];
    char *name;     /* first of Names, without the leading '/' */
    char *image;    /* Image: the reference as created (or an ID) */
    char *image_id; /* ImageID */
    char *state;    /* created|running|paused|restarting|removing|exited|dead */
    char *status;   /* human text, e.g. "Up 5 minutes (healthy)" */
    char *health;   /* Health.Status when given (API 1.52+), else from the status
                       text: healthy|unhealthy|starting, else "none" */
    long long created; /* unix seconds */
    char **ports;   /* published ports "127.0.0.1:8080->80/tcp", sorted, deduplicated */
    size_t nports;
    struct docker_label *labels; /* sorted by key */
    size_t nlabels;
};

/* Parses one list entry. CC_EINVAL when it has no Id. */
int docker_container_summary_parse(const json_t *j, struct docker_container_summary *out,
                                   char *err, size_t errlen);
/* Parses the whole JSON array into a malloc'd array (*out, *n). Free with
 * docker_container_summaries_free. */
int docker_container_summaries_parse(const json_t *array, struct docker_container_summary **out,
                                     size_t *n, char *err, size_t errlen);
void docker_container_summary_clear(struct docker_container_summary *s);
void docker_container_summaries_free(struct docker_container_summary *s, size_t n);
const char *docker_container_summary_label(const struct docker_container_summary *s,
                                           const char *key);

/* A label's value in a label array, or NULL. */
const char *docker_labels_get(const struct docker_label *labels, size_t n, const char *key);

#endif
