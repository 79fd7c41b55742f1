/* util: small shared helpers: error buffers, growable strings, files. */
#ifndef CDCCTL_UTIL_H
#define CDCCTL_UTIL_H
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* Size callers give to error buffers (`char err[ERRLEN]`). */
#define ERRLEN 2048

/* Status codes returned by module functions. Modules return these (never exit)
 * and fill a caller-provided `char *err, size_t errlen` with the reason. */
enum cc_status {
    CC_OK = 0,
    CC_ERR = -1,       /* runtime failure: network, daemon, server said no */
    CC_EINVAL = -2,    /* bad input: manifest, flags, malformed data */
    CC_ENOTFOUND = -3, /* the thing asked for does not exist */
    CC_ETIMEOUT = -4,  /* a deadline passed */
};

/* Exit statuses of the cdcctl command (DESIGN.md). */
enum cc_exit { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2, EXIT_UNHEALTHY = 3 };

/* printf into err (if err != NULL); returns `status` so callers can
 * `return cc_errf(err, errlen, CC_ERR, "...")`. */
int cc_errf(char *err, size_t errlen, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Growable NUL-terminated byte buffer. Zero-initialise (`struct strbuf sb = {0}`)
 * before use; release with strbuf_release. Allocation failure aborts (OOM). */
struct strbuf {
    char *buf;
    size_t len;
    size_t cap;
};
void strbuf_add(struct strbuf *sb, const void *data, size_t len);
void strbuf_adds(struct strbuf *sb, const char *s);
void strbuf_addf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap);
void strbuf_reset(struct strbuf *sb);
/* Hands the buffer to the caller (free() it) and resets sb. Never NULL. */
char *strbuf_detach(struct strbuf *sb);
void strbuf_release(struct strbuf *sb);

/* Allocation wrappers that abort on out-of-memory (the only sane reaction in a CLI). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* Reads a whole file into a malloc'd NUL-terminated buffer (*len excludes the NUL).
 * CC_ENOTFOUND when missing, CC_ERR otherwise; err names the path and errno text. */
int read_file(const char *path, char **out, size_t *len, char *err, size_t errlen);

/* Writes data to path atomically (temp file + rename) with the given mode,
 * creating missing parent directories (0700). */
int write_file_atomic(const char *path, const void *data, size_t len, unsigned mode,
                      char *err, size_t errlen);

/* Sleeps s seconds (nothing when s <= 0), resuming after signals. */
void sleep_seconds(double s);

/* Monotonic clock in seconds. */
double now_monotonic(void);

/* Lower-case hex SHA-256 of data into out[65]. */
void sha256_hex(const void *data, size_t len, char out[65]);

#endif
