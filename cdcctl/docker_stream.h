/* docker_stream: the pure (no I/O besides the progress FILE) half of the Docker
 * client: the streams it reads (pull progress, build output, multiplexed logs) and
 * the request bodies and query strings it sends. docker.c feeds these with whatever
 * chunks libcurl hands over; a JSON line or a frame may straddle any chunk boundary.
 * See ../shared/reference/docker-api.md sections 2 and 5. */
#ifndef CDCCTL_DOCKER_STREAM_H
#define CDCCTL_DOCKER_STREAM_H
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "util.h"

/* ---- newline-delimited JSON ---- */

/* Called once per complete line (without the '\n', not NUL-terminated; may be
 * empty). A non-zero return stops jsonl_feed, which returns that value. */
typedef int (*jsonl_line_fn)(const char *line, size_t len, void *ctx);

/* Splits a byte stream into lines. Zero-initialise; release with jsonl_release. */
struct jsonl {
    struct strbuf partial; /* bytes of the line not yet terminated */
};
int jsonl_feed(struct jsonl *j, const char *data, size_t len, jsonl_line_fn fn, void *ctx);
/* Hands over a final line that had no '\n' (if any). */
int jsonl_finish(struct jsonl *j, jsonl_line_fn fn, void *ctx);
void jsonl_release(struct jsonl *j);

/* ---- image pull progress (POST /images/create) ---- */

/* Renders the pull stream to `out` (NULL = silent) and watches it for errors.
 * tty != 0: one line per layer, redrawn in place with ANSI cursor movement, with a
 * bar and byte counts. tty == 0: plain lines "pull IMAGE: LAYER: STATUS", printed
 * only when a layer's status changes (no Downloading/Extracting ticks).
 * `image` is copied. Never NULL (allocation failure aborts). */
struct pull_progress *pull_progress_new(const char *image, FILE *out, int tty);
/* Feeds a chunk of the response body. Always consumes it all. */
void pull_progress_feed(struct pull_progress *p, const char *data, size_t len);
/* Ends the stream: CC_OK, or CC_ERR with the daemon's errorDetail/error message
 * (the daemon reports pull failures inside a 200 stream). */
int pull_progress_finish(struct pull_progress *p, char *err, size_t errlen);
void pull_progress_free(struct pull_progress *p);

/* Formats one layer line as the terminal renderer draws it, e.g.
 * "a1b2c3d4e5f6: Downloading [=====>        ]  1.2MB/4.5MB" (bar only when
 * total > 0). Exposed for tests. */
void pull_progress_format_line(struct strbuf *sb, const char *id, const char *status,
                               long long current, long long total);

/* ---- build output (POST /build) ---- */

/* {"stream":"..."} text goes to `out` (NULL = silent) as-is; {"status":...} lines
 * of an implicit pull as "STATUS" lines; {"aux":{"ID":...}} is the image id;
 * {"error"}/{"errorDetail"} is a failure. Never NULL. */
struct build_stream *build_stream_new(FILE *out);
void build_stream_feed(struct build_stream *b, const char *data, size_t len);
/* CC_OK, or CC_ERR with the builder's error message. */
int build_stream_finish(struct build_stream *b, char *err, size_t errlen);
/* The built image id ("sha256:...") once seen, else NULL. Owned by b. */
const char *build_stream_image_id(const struct build_stream *b);
void build_stream_free(struct build_stream *b);

/* ---- multiplexed log stream (GET /containers/{id}/logs, Tty false) ---- */

/* Same signature as docker_log_cb (docker.h): stream 1 = stdout, 2 = stderr. */
typedef int (*log_demux_fn)(int stream, const char *data, size_t len, void *ctx);

/* Demultiplexer state; init with log_demux_init. tty != 0 means the stream is raw
 * (unframed): everything is stdout. Frames are [type,0,0,0,size_be32] + payload;
 * type 0 (stdin) is reported as stdout; zero-length frames are skipped; type 3 is
 * an error from the daemon. A frame's payload may be handed over in several
 * callbacks when it straddles chunks. */
struct log_demux {
    unsigned char hdr[8];
    size_t hdr_have;  /* header bytes collected so far */
    size_t remaining; /* payload bytes left in the current frame */
    int stream;       /* stream of the current frame */
    int raw;
    int stopped;      /* the callback returned non-zero: the rest is ignored */
    struct strbuf syserr; /* payload of a type-3 (system error) frame */
};
void log_demux_init(struct log_demux *d, int tty);
/* Feeds a chunk. Returns CC_OK (also once the callback asked to stop: see
 * d->stopped), or CC_EINVAL with err for a malformed frame header. */
int log_demux_feed(struct log_demux *d, const char *data, size_t len, log_demux_fn fn,
                   void *ctx, char *err, size_t errlen);
/* At end of stream: CC_ERR with the daemon's message after a type-3 frame,
 * CC_EINVAL when the stream ended inside a frame, else CC_OK. */
int log_demux_finish(struct log_demux *d, char *err, size_t errlen);
void log_demux_release(struct log_demux *d);

/* ---- what the client sends ---- */

/* Where the daemon is, from a DOCKER_HOST value. */
struct docker_endpoint {
    char *base; /* URL prefix: "http://localhost" (unix), "http(s)://host:port[/prefix]" */
    char *sock; /* unix socket path, NULL for tcp */
    int tls;
};
/* Parses DOCKER_HOST (NULL or "" = unix:///var/run/docker.sock): unix:///path;
 * tcp://host[:port][/prefix] (port 2375, or 2376 with TLS), https when tls_env (a
 * non-empty DOCKER_TLS_VERIFY or DOCKER_TLS); http:// and https:// are accepted too.
 * ssh:// and other schemes: CC_EINVAL with a sentence saying what to do instead.
 * Fills *out (release with docker_endpoint_release). */
int docker_endpoint_parse(const char *docker_host, int tls_env, struct docker_endpoint *out,
                          char *err, size_t errlen);
void docker_endpoint_release(struct docker_endpoint *e);

/* Splits an image reference into what POST /images/create wants: "repo:tag" ->
 * repo, tag; "repo" -> repo, "latest"; "repo@sha256:..." (with or without a tag)
 * -> repo, "sha256:..."; a registry port ("localhost:5000/x") is not a tag.
 * *repo and *tag are malloc'd. CC_EINVAL for an empty or malformed reference. */
int docker_image_ref_split(const char *image, char **repo, char **tag, char *err, size_t errlen);

/* The registry host an image reference names: the first path component when it
 * has a '.' or ':' or is "localhost", else "docker.io". malloc'd. */
char *docker_image_registry(const char *image);

/* The X-Registry-Auth value (base64url JSON) for `registry`, using the "auths"
 * entry of the Docker config JSON text `config_json` (may be NULL): an entry's
 * "auth" (base64 "user:password") or "identitytoken". Without credentials the
 * value is base64url("{}"). malloc'd; it may carry a secret: never log it. */
char *docker_registry_auth(const char *config_json, const char *registry);

/* JSON bodies (caller json_decref). labels may be NULL (sent as {}); it is copied. */
json_t *docker_network_create_body(const char *name, json_t *labels);
json_t *docker_volume_create_body(const char *name, json_t *labels);

/* Appends `s` URL-encoded (RFC 3986 unreserved characters kept) to sb. */
void docker_urlencode(struct strbuf *sb, const char *s);

/* The `filters` value for list endpoints: {"label":["k=v",...]} as compact JSON,
 * not yet URL-encoded. malloc'd. nlabels 0 gives "{}". */
char *docker_label_filters(const char *const *labels, size_t nlabels);

/* Compares "major.minor" API versions like strcmp (1.9 < 1.41). Malformed
 * versions compare as 0.0. */
int docker_version_cmp(const char *a, const char *b);

#endif
