/* canal: decoder of canal-json messages as TiCDC emits them (reference/tidb-ticdc.md
 * section 5). Hot path: one pass of a validating JSON scanner per message, no
 * allocation per message, fields returned as spans into the caller's buffer. */
#ifndef CDCCTL_CANAL_H
#define CDCCTL_CANAL_H
#include <stddef.h>
#include <stdint.h>

enum canal_kind {
    CANAL_DML,       /* INSERT / UPDATE / DELETE: one change per row of `data` */
    CANAL_DDL,       /* isDdl: true; counted as one change with op "ddl" */
    CANAL_WATERMARK, /* type TIDB_WATERMARK: not a change */
};

/* A JSON string value as it appears in the message: the text between the quotes,
 * still escaped (escaped != 0 when it contains a backslash). p == NULL for null. */
struct canal_str {
    const char *p;
    size_t len;
    int escaped;
};

/* Raw text of one element of `data` (a JSON object, copied verbatim into log lines). */
struct canal_row {
    const char *json;
    size_t len;
};

struct canal_msg {
    enum canal_kind kind;
    const char *op;          /* "insert", "update", "delete", "ddl" (static); NULL for watermark */
    struct canal_str database;
    struct canal_str table;  /* "" for database-level DDL */
    struct canal_str type;   /* as sent: INSERT, UPDATE, DELETE, CREATE, ALTER, ..., TIDB_WATERMARK */
    struct canal_str sql;    /* DDL statement ("" for DML) */
    int64_t es_ms;           /* commit time, ms (0 when absent) */
    int64_t ts_ms;           /* TiCDC build time, ms */
    uint64_t commit_ts;      /* _tidb.commitTs, 0 when absent */
    uint64_t watermark_ts;   /* _tidb.watermarkTs for watermarks, 0 otherwise */
    size_t nrows;            /* rows in data (DML); 0 for DDL and watermark */
    const struct canal_row *rows; /* nrows entries, valid until the next decode */
};

struct canal_decoder;

/* A decoder with reusable buffers. Never NULL (aborts on OOM). */
struct canal_decoder *canal_decoder_new(void);
void canal_decoder_free(struct canal_decoder *d);

/* Turns the decoder's shortcuts off (on = 0) or back on (the default): trying the
 * key TiCDC writes next before any other, and recognising a pkNames, sqlType or
 * mysqlType value equal to the one last validated for the same table by one
 * comparison. Results are the same either way; for differential tests and
 * benchmarks. */
void canal_decoder_set_shortcuts(struct canal_decoder *d, int on);

/* Decodes one message (buf need not be NUL-terminated). On success fills *out with
 * spans into buf and returns CC_OK. Anything that is not a canal-json object as
 * TiCDC emits it (not JSON, not an object, missing/ill-typed type or isDdl, DML
 * without a data array, non-string/non-null values, commitTs not a uint64 ...)
 * returns CC_EINVAL with a short reason in err.
 * Also (canal.c): database, table, type and sql are never NULL ("" when absent or
 * null); a DML message needs database, table and a non-empty data array; raw
 * control characters (< 0x20) inside strings are rejected, so a row's text has
 * none inside its values (whitespace between tokens is kept as sent; TiCDC sends
 * none); UTF-8 is not validated; fields not read are checked only for JSON syntax. */
int canal_decode(struct canal_decoder *d, const char *buf, size_t len, struct canal_msg *out,
                 char *err, size_t errlen);

/* Copies s unescaped (\" \\ \/ \b \f \n \r \t \uXXXX incl. surrogate pairs -> UTF-8)
 * into out (always NUL-terminated, truncated to outlen-1). Returns the full length
 * the unescaped text needs (like snprintf).
 * Also (canal.c): invalid escapes and unpaired surrogates become U+FFFD (never an
 * error); truncation never splits a UTF-8 character; \u0000 yields a NUL byte
 * (counted in the length); outlen 0 (out may be NULL) only measures. */
size_t canal_str_copy(struct canal_str s, char *out, size_t outlen);

#endif
