/* ticdc: TiCDC's REST API (OpenAPI v2; v1 as a fallback for servers that answer
 * 404 under /api/v2) with libcurl + jansson: readiness, changefeed get, create,
 * pause, resume, update, and "ensure": make the server's changefeed match the
 * manifest (create, resume, or pause-update-resume on drift).
 * Errors carry TiCDC's own error_code and error_msg. TSOs are uint64. */
#ifndef CDCCTL_TICDC_H
#define CDCCTL_TICDC_H
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "manifest.h"
#include "util.h"

struct ticdc_client; /* base URL, API version in use, one curl handle (opaque) */

/* A client for TiCDC at "host:port" (or a full http(s):// URL); requests time
 * out after timeout_s. The API version is found by ticdc_wait_ready or by the
 * first call (v2, then v1 on a 404). Free with ticdc_client_free. */
struct ticdc_client *ticdc_client_new(const char *hostport, double timeout_s);
void ticdc_client_free(struct ticdc_client *c);

/* 2 or 1 once known, 0 before. */
int ticdc_api_version(const struct ticdc_client *c);

/* Waits until the server is ready: /api/v2/status answers (503
 * CDC:ErrServerIsNotReady means not yet) and /api/v2/captures lists an owner;
 * on a 404 switches to v1 (/api/v1/status, /api/v1/captures). Polls with backoff
 * until the monotonic deadline, printing "ticdc: waiting for TiCDC at ... (why)"
 * when the reason changes. CC_ETIMEOUT with the last reason. */
int ticdc_wait_ready(struct ticdc_client *c, double deadline, FILE *progress, char *err,
                     size_t errlen);

struct ticdc_changefeed {
    char *id;
    char *state;          /* normal, stopped, failed, warning, pending, finished, removed */
    char *sink_uri;       /* as the server shows it (credentials masked) */
    uint64_t checkpoint_ts;
    char *error_code;     /* NULL when the server reports no error */
    char *error_msg;
    json_t *config;       /* v2 replica config (owned), NULL for v1 */
};
void ticdc_changefeed_release(struct ticdc_changefeed *cf);

/* Parses a changefeed body (v2 ChangeFeedInfo with checkpoint_ts, or v1 detail
 * with checkpoint_tso). CC_EINVAL when it is not such an object. */
int ticdc_parse_changefeed(const char *body, struct ticdc_changefeed *cf, char *err,
                           size_t errlen);

/* Formats a failed answer: "CDC:ErrX: [CDC:ErrX]text (HTTP 400)" from TiCDC's
 * {"error_msg","error_code"} body, else "HTTP 404: <start of body>". */
void ticdc_format_error(long status, const char *body, char *out, size_t outlen);

/* GET the changefeed. CC_ENOTFOUND when the server says
 * CDC:ErrChangeFeedNotExists; CC_ERR with the server's error otherwise. */
int ticdc_get_changefeed(struct ticdc_client *c, const char *id, struct ticdc_changefeed *cf,
                         char *err, size_t errlen);

/* POST a new changefeed: {"changefeed_id","sink_uri","replica_config"} (v2) or
 * {"changefeed_id","sink_uri","filter_rules"} (v1; rules taken from
 * replica_config.filter.rules). replica_config may be NULL. */
int ticdc_create_changefeed(struct ticdc_client *c, const char *id, const char *sink_uri,
                            const json_t *replica_config, char *err, size_t errlen);
int ticdc_pause_changefeed(struct ticdc_client *c, const char *id, char *err, size_t errlen);
/* Resume sends the JSON body "{}" TiCDC requires (v2). */
int ticdc_resume_changefeed(struct ticdc_client *c, const char *id, char *err, size_t errlen);
/* PUT: sink_uri and/or replica_config (either may be NULL). TiCDC replaces the
 * whole replica config with the one sent, so send a complete one. */
int ticdc_update_changefeed(struct ticdc_client *c, const char *id, const char *sink_uri,
                            const json_t *replica_config, char *err, size_t errlen);

/* ^[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*$, at most 128 characters. */
int ticdc_valid_changefeed_id(const char *id);

/* Unix time in seconds of a TSO's physical part (tso >> 18 milliseconds). */
double ticdc_tso_unix(uint64_t tso);

/* "YYYY-MM-DD HH:MM:SS.mmm" (UTC) of a TSO into out. */
void ticdc_tso_format(uint64_t tso, char *out, size_t outlen);

/* The default sink URI for a Kafka section (malloc'd):
 * kafka://BROKERS/TOPIC?protocol=canal-json&kafka-version=2.4.0&partition-num=N&
 * replication-factor=R&max-message-bytes=1048576&enable-tidb-extension=true */
char *ticdc_default_sink_uri(const char *brokers, const char *topic, int partitions, int rf);

/* A copy of uri with the userinfo password and secret-looking query values
 * (password, secret, key, token, sasl-*) replaced by "xxxxx" (malloc'd). */
char *ticdc_mask_sink_uri(const char *uri);

/* Replaces, in text (in place, never growing it), the sink URI's secrets (the
 * userinfo password and secret-looking query values, raw and decoded) with x's,
 * so server messages that echo the URI cannot leak them. */
void ticdc_scrub_sink_secrets(char *text, const char *sink_uri);

/* Compares sink URIs by meaning: scheme, user, host list (any order), path,
 * query parameters (any order, percent-decoded); a server value that is masked
 * ("xxxxx") matches anything. Returns 0 when equal, 1 when not, appending what
 * differs ("partition-num 1 -> 3", "topic a -> b") to diff (may be NULL). */
int ticdc_sink_uri_diff(const char *want, const char *have, struct strbuf *diff);

/* The replica config the manifest asks for: the optional JSON object from
 * ticdc.config (extra, may be NULL) with filter.rules set to rules (when
 * rules->n > 0). New reference, or NULL with err (bad JSON, not an object). */
json_t *ticdc_desired_config(const struct strlist *rules, const char *extra, size_t extra_len,
                             char *err, size_t errlen);

/* Is every leaf of want equal in have (objects compared key by key, arrays and
 * scalars as wholes)? 0 when yes; 1 with "filter.rules [\"*.*\"] -> [\"shop.*\"]"
 * items appended to diff (may be NULL). */
int ticdc_config_diff(const json_t *want, const json_t *have, struct strbuf *diff);

/* Deep copy of have with want's leaves written over it (what an update sends). */
json_t *ticdc_merge_config(const json_t *have, const json_t *want);

struct ticdc_desired {
    const char *id;
    const char *sink_uri;
    const json_t *replica_config; /* from ticdc_desired_config */
};

/* Makes the server's changefeed match: missing -> create; stopped, warning or
 * failed -> resume (and say so); sink or config drift -> pause (if running),
 * update, resume, saying what changed; normal and matching -> leave it.
 * Prints "ticdc: ..." lines to progress (may be NULL; sink URIs masked). */
int ticdc_ensure_changefeed(struct ticdc_client *c, const struct ticdc_desired *d,
                            FILE *progress, char *err, size_t errlen);

#endif
