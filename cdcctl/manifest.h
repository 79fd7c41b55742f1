/* manifest: the cdcctl.yaml model. libyaml -> typed structs, ${VAR} interpolation,
 * validation with file:line:column. See DESIGN.md "Manifest contract".
 *
 * Ownership: everything hangs off struct manifest and is freed by manifest_free().
 * Strings are NUL-terminated, malloc'd, after interpolation. Absent optional
 * strings are NULL; absent lists have n == 0. */
#ifndef CDCCTL_MANIFEST_H
#define CDCCTL_MANIFEST_H
#include <stddef.h>
#include <stdint.h>

/* Position of a node in the manifest file, for error messages. */
struct mpos {
    int line;   /* 1-based; 0 = unknown */
    int column; /* 1-based */
};

struct kv {
    char *key;
    char *value; /* NULL for a list-form environment entry without "=" (compose: taken from env) */
};

struct kvlist {
    struct kv *items;
    size_t n;
};

struct strlist {
    char **items;
    size_t n;
};

/* ports: "[ip:]host:container[/proto]" or "container[/proto]" (random host port). */
struct port_spec {
    char *host_ip;      /* "127.0.0.1", "" = all interfaces (only when written so) */
    int host_port;      /* 0 = random */
    int container_port;
    char proto[4];      /* "tcp" or "udp" */
};

enum mount_type { MOUNT_VOLUME, MOUNT_BIND };

/* volumes: "name:/path[:ro]" (named volume, must be declared top-level) or
 * "/host/path:/path[:ro]" / "./rel:/path" (bind, made absolute against the manifest dir). */
struct mount_spec {
    enum mount_type type;
    char *source; /* volume key (not yet prefixed by project) or absolute host path */
    char *target;
    int read_only;
};

/* files: written into the container before it starts (archive upload). */
struct file_spec {
    char *target;        /* absolute path in the container */
    char *source;        /* as written (relative to the manifest dir, or "embedded:PATH" for the
                            embedded file PATH); in the built-in manifest a relative path is
                            kept as "embedded:PATH"; NULL when inline */
    char *secret;        /* `secret: NAME`: content is the secret NAME (see secret.h), resolved
                            by the stack at `up` time, never stored in the manifest; data NULL */
    unsigned char *data; /* the resolved content (source read, or `content`) */
    size_t len;
    unsigned mode;       /* default 0644 */
    int uid, gid;        /* tar header owner; default 0:0 */
};

struct healthcheck {
    int set;              /* a healthcheck key was present */
    int disable;          /* disable: true, or test: ["NONE"] */
    struct strlist test;  /* ["CMD", ...] | ["CMD-SHELL", "..."]; a string becomes CMD-SHELL */
    int64_t interval_ns;  /* 0 = inherit the image's / Docker default */
    int64_t timeout_ns;
    int64_t start_period_ns;
    int retries;          /* 0 = default */
};

struct ulimit {
    char *name; /* nofile, memlock, ... */
    int64_t soft, hard;
};

enum dep_condition { DEP_STARTED, DEP_HEALTHY, DEP_COMPLETED };

struct dependency {
    char *service;
    enum dep_condition condition;
    struct mpos pos;
};

struct build_spec {
    char *context;    /* directory, absolute after loading; NULL when embedded */
    char *dockerfile; /* relative to context; default "Dockerfile" */
    /* When the manifest is the built-in one (or context is the special value
     * "embedded:consumer"), the context is the tarball carried in the binary
     * (embedded file "consumer-context.tar"). */
    int embedded;
};

struct service {
    char *name;
    struct mpos pos;           /* position of the service's key */
    char *image;               /* required unless build or external is set; with build, the tag */
    struct build_spec *build;  /* NULL when absent */
    int has_command;
    struct strlist command;    /* string form is split like a shell would (quotes, backslashes) */
    int has_entrypoint;
    struct strlist entrypoint;
    struct kvlist environment; /* map or list form; order kept as written */
    struct port_spec *ports;
    size_t nports;
    struct mount_spec *volumes;
    size_t nvolumes;
    struct dependency *depends_on;
    size_t ndepends;
    struct healthcheck healthcheck;
    char *restart;             /* no | always | on-failure[:N] | unless-stopped; NULL = no */
    struct ulimit *ulimits;
    size_t nulimits;
    struct kvlist labels;
    struct strlist extra_hosts; /* "name:ip" (compose "name=ip" and map form normalised) */
    char *user;
    char *working_dir;
    char *hostname;
    struct file_spec *files;
    size_t nfiles;
    char *external;            /* "host:port": no container; cdcctl uses this endpoint */
};

/* tidb: the schema and users cdcctl applies after the stack is up. */
struct tidb_user {
    char *name;
    char *host;         /* default "%" */
    char *password_env; /* secret name (secret.h): the environment variable holding the
                           password; unset -> generated and kept in the state dir.
                           Default "<NAME upper-cased, non-alnum -> _>_PASSWORD" */
    struct strlist grants; /* e.g. "ALL PRIVILEGES ON shop.*" */
};

struct tidb_section {
    int present;
    char *service;  /* service name (default "tidb"); may be external */
    int port;       /* SQL port inside the network / of the external endpoint, default 4000 */
    char *pd_service; /* default "pd"; used to wait for TiKV stores Up (may be NULL) */
    char *schema;   /* path as written (relative to manifest dir), e.g. config/schema.sql, or
                       embedded:PATH (like file_spec.source) */
    unsigned char *schema_sql; /* resolved content, NUL-terminated */
    size_t schema_len;
    struct tidb_user *users;
    size_t nusers;
};

struct ticdc_section {
    int present;
    char *service;      /* default "ticdc" */
    int port;           /* default 8300 */
    char *changefeed;   /* changefeed id, ^[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*$, default "shop-cdc" */
    char *sink_uri;     /* NULL -> derived from the kafka section */
    struct strlist filter_rules; /* default ["shop.*"] */
    char *config;       /* optional JSON file with extra replica_config (path as written, or
                           embedded:PATH, like file_spec.source) */
    unsigned char *config_json;  /* resolved content of `config`, or NULL */
    size_t config_len;
};

struct kafka_section {
    int present;
    char *service;        /* default "kafka" */
    char *brokers;        /* as seen from inside the network, e.g. "kafka:29092" */
    char *host_brokers;   /* as seen from the host running cdcctl, e.g. "127.0.0.1:9092";
                             default: brokers of the external endpoint, else brokers */
    char *topic;          /* default "shop-db-data-changes" */
    int partitions;       /* default 3 */
    int replication_factor; /* default 1 */
};

struct consumer_section {
    int present;
    char *service;        /* the service that runs `cdcctl consume` (default "consumer") */
    char *brokers;        /* default: kafka.brokers */
    char *topic;          /* default: kafka.topic */
    char *group;          /* default "cdcctl-consumer" */
    char *metrics_addr;   /* default "127.0.0.1:8000" */
    char *es_url;         /* NULL = Elasticsearch off */
    char *es_index_prefix; /* default "cdc-events" */
    char *log_file;       /* NULL = stdout only */
    struct kvlist properties; /* librdkafka properties, like -X */
};

struct manifest {
    char *path;       /* file name used in messages ("<built-in>/manifests/shop.yaml" for the default) */
    char *dir;        /* absolute directory relative paths resolve against; NULL when built-in */
    int builtin;      /* loaded from the embedded default manifest */
    char *project;    /* normalised: [a-z0-9_-], lower case */
    struct service *services;
    size_t nservices;
    struct strlist volumes; /* top-level named volume keys */
    struct tidb_section tidb;
    struct ticdc_section ticdc;
    struct kafka_section kafka;
    struct consumer_section consumer;
};

/* Where a manifest comes from. */
struct manifest_source {
    const char *path;          /* file to read; NULL = the built-in default manifest */
    const char *project;       /* -p override, or NULL */
    /* Environment lookup for ${VAR}; NULL = getenv. */
    const char *(*getenv_fn)(const char *name, void *ctx);
    void *getenv_ctx;
};

/* Loads, interpolates and validates a manifest. On success *out owns a manifest
 * (free with manifest_free). On failure returns CC_EINVAL (bad manifest: err is
 * "file:line:column: key: why") or CC_ERR (unreadable file), and *out is NULL.
 * Relative `files:`/`schema`/`config`/bind sources are read here, from disk next to
 * the manifest or from the embedded files for the built-in manifest; an
 * "embedded:PATH" source is always the embedded file PATH (unknown: CC_EINVAL). */
int manifest_load(const struct manifest_source *src, struct manifest **out, char *err, size_t errlen);

/* Parses a manifest from memory (tests). `name` is used in messages, `dir` for
 * relative paths (NULL -> embedded files). Same contract as manifest_load. */
int manifest_parse(const char *text, size_t len, const char *name, const char *dir,
                   const struct manifest_source *src, struct manifest **out,
                   char *err, size_t errlen);

void manifest_free(struct manifest *m);

/* The service called name, or NULL. */
const struct service *manifest_service(const struct manifest *m, const char *name);

/* Services in dependency order (dependencies first, otherwise manifest order).
 * Fills order[] (m->nservices entries, indexes into m->services). Validation has
 * already rejected cycles, so this cannot fail. */
void manifest_start_order(const struct manifest *m, size_t *order);

/* Writes the resolved manifest as YAML (what `cdcctl config` prints) to a malloc'd
 * string. Secrets are never in the manifest itself (passwords come from password_env). */
char *manifest_to_yaml(const struct manifest *m);

/* Interpolates ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?message}, ${VAR?message}
 * and $$ in text. Returns a malloc'd string, or NULL with err set (e.g. "VAR: message"
 * for an unset ${VAR:?message}). */
char *manifest_interpolate(const char *text, const struct manifest_source *src,
                           char *err, size_t errlen);

#endif
