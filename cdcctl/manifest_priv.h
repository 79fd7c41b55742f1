/* manifest_priv: internals shared by the manifest_*.c files (not for other modules).
 *
 * The YAML text is first turned into a small node tree (manifest_tree.c) that keeps
 * the 1-based line/column of every node, resolves aliases and `<<` merge keys and
 * rejects duplicate keys. The typed model is then built from the tree
 * (manifest.c, manifest_service.c); scalar values are interpolated lazily, the
 * first time they are read, so errors come out roughly in document order. */
#ifndef CDCCTL_MANIFEST_PRIV_H
#define CDCCTL_MANIFEST_PRIV_H
#include <stdint.h>

#include "manifest.h"
#include "util.h"

enum ynode_type { YN_SCALAR, YN_MAP, YN_SEQ };

struct ynode {
    enum ynode_type type;
    struct mpos pos;
    char *text;          /* YN_SCALAR: the text as written (after YAML unescaping) */
    int plain;           /* YN_SCALAR: plain style (may be null/bool/number) */
    size_t n;            /* YN_MAP: pairs; YN_SEQ: items */
    struct ynode **keys; /* YN_MAP: key scalars */
    struct ynode **vals; /* YN_MAP: values; YN_SEQ: items */
    char *interp;        /* YN_SCALAR: interpolated text, filled on first read */
};

/* Owns every node (aliases share nodes, so they are freed from this list). */
struct ytree {
    struct ynode **all;
    size_t n, cap;
    struct ynode *root; /* NULL for an empty document */
};

/* Parses YAML text into t (zero-initialised by the caller). On error returns
 * CC_EINVAL with err "NAME:LINE:COL: [path: ]why"; t is still freed by ytree_free. */
int ytree_parse(const char *text, size_t len, const char *name, struct ytree *t,
                char *err, size_t errlen);
void ytree_free(struct ytree *t);

/* Parse state while building the model. */
struct mctx {
    const char *name;                 /* file name for messages */
    const char *dir;                  /* absolute manifest dir; NULL = embedded files */
    const struct manifest_source *src;
    struct manifest *m;
    const struct ynode *services;     /* the services mapping (for name lookups) */
    struct strbuf path;               /* dotted key path of the node being read */
    char *err;
    size_t errlen;
    int failed;
};

/* Records the first error as "NAME:LINE:COL: PATH: why" and returns CC_EINVAL. */
int merr(struct mctx *c, struct mpos pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Appends ".key" (or "key" at the top) / "[i]" to the path; returns the old length
 * for mpath_pop. */
size_t mpath_key(struct mctx *c, const char *key);
size_t mpath_idx(struct mctx *c, size_t i);
void mpath_pop(struct mctx *c, size_t len);

/* "a mapping", "a list", "a string" (for type errors). */
const char *ykind(const struct ynode *n);
/* A plain scalar "", "~", "null", "Null" or "NULL". */
int yis_null(const struct ynode *n);
/* Error unless n is of type t ("expected a mapping, got a list"). */
int mexpect(struct mctx *c, const struct ynode *n, enum ynode_type t);

/* Typed readers: the path must already name n. All return CC_OK or CC_EINVAL. */
int mscalar(struct mctx *c, struct ynode *n, const char **out); /* interpolated text; borrowed */
int mstr(struct mctx *c, struct ynode *n, char **out);          /* null -> NULL; malloc'd */
int mstr_req(struct mctx *c, struct ynode *n, char **out);      /* null or "" is an error */
int mint(struct mctx *c, struct ynode *n, int64_t min, int64_t max, int64_t *out);
int mbool(struct mctx *c, struct ynode *n, int *out);
int mduration(struct mctx *c, struct ynode *n, int64_t *out_ns);
int mstrlist(struct mctx *c, struct ynode *n, struct strlist *out); /* list of scalars */

/* The prefix of a path that names an embedded file ("embedded:config/schema.sql"),
 * resolved the same wherever the manifest lives. */
#define EMBEDDED_PREFIX "embedded:"

/* Reads a file named in the manifest into a malloc'd NUL-terminated buffer:
 * "embedded:PATH" is the embedded file PATH (unknown -> error at pos); otherwise
 * relative to the manifest dir, or, for the built-in manifest, to manifests/ among
 * the embedded files, and then *rel (malloc'd) is replaced by its "embedded:PATH"
 * form. */
int mread_file(struct mctx *c, struct mpos pos, char **rel, unsigned char **data,
               size_t *len);

/* Lexically cleaned absolute path ("." and ".." removed). NULL when rel is relative
 * and base is NULL. malloc'd. */
char *mpath_join(const char *base, const char *rel);

/* The value of key in a mapping (and its key node), or NULL. */
struct ynode *ymap_get(const struct ynode *map, const char *key, struct ynode **keynode);

/* Sections (manifest_sections.c): seckey is the section's key node, v its value.
 * Services must already be parsed (service references are checked here). */
int mparse_tidb(struct mctx *c, struct ynode *seckey, struct ynode *v);
int mparse_ticdc(struct mctx *c, struct ynode *seckey, struct ynode *v);
int mparse_kafka(struct mctx *c, struct ynode *seckey, struct ynode *v);
int mparse_consumer(struct mctx *c, struct ynode *seckey, struct ynode *v);

/* Services: parses the `services` mapping into c->m (manifest_service.c). */
int mparse_services(struct mctx *c, struct ynode *services);
/* Service keys handled in manifest_mounts.c; v is the key's value. */
int mk_ports(struct mctx *c, struct ynode *v, struct service *s);
int mk_volumes(struct mctx *c, struct ynode *v, struct service *s);
int mk_files(struct mctx *c, struct ynode *v, struct service *s);
/* A decimal port number of at most 5 digits (range not checked); 0 or -1. */
int mparse_port_number(const char *s, int *out);
void mservice_free(struct service *s);

/* Helpers shared by the parsers and the emitter. */
void strlist_free(struct strlist *l);
void kvlist_free(struct kvlist *l);
void strlist_add(struct strlist *l, char *s);       /* takes ownership of s */
void kvlist_set(struct kvlist *l, char *k, char *v); /* takes ownership; replaces a key */
int valid_env_name(const char *s);
/* A service or volume name: ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$ */
int mvalid_name(const char *s);
/* A literal IPv4 address (or IPv6 when allow_v6). */
int mis_ip(const char *s, int allow_v6);
/* "host:port" with port in [minport, 65535]; host may be "[v6]". */
int valid_hostport(const char *s, int minport);

/* Splits a command line like a POSIX shell (quotes, backslashes; no expansion). */
int shell_split(const char *s, struct strlist *out, char *err, size_t errlen);

/* Parses a Go/compose duration ("1m30s", "500ms") into nanoseconds. */
int parse_duration(const char *s, int64_t *ns);
/* Formats nanoseconds as a duration string parse_duration accepts ("1m30s"). */
void format_duration(int64_t ns, char *buf, size_t len);

#endif
