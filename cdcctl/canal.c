/* canal: the consumer's hot path. One jsmn tokenization per message into a token
 * array owned by the decoder (grown on JSMN_ERROR_NOMEM, never shrunk), then a
 * single walk over the top-level object that reads only the fields the consumer
 * needs and skips everything else by token position. No allocation per message
 * in steady state; every string is returned as a span into the caller's buffer.
 *
 * Normalisation (documented for callers): database, table and sql are never NULL
 * (absent or JSON null -> ""); es/ts/commitTs/watermarkTs are 0 when absent. */
#include "canal.h"

#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define JSMN_STATIC
#define JSMN_STRICT
#define JSMN_PARENT_LINKS /* O(1) closing brackets and commas instead of a backward scan */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-function"
#include <jsmn.h>
#pragma GCC diagnostic pop

#define CANAL_TOKENS_INITIAL 256
#define CANAL_ROWS_INITIAL 4

struct canal_decoder {
    jsmntok_t *tok;
    unsigned int ntok;
    struct canal_row *rows;
    size_t nrowcap;
};

struct canal_decoder *canal_decoder_new(void)
{
    struct canal_decoder *d = xcalloc(1, sizeof(*d));
    d->ntok = CANAL_TOKENS_INITIAL;
    d->tok = xmalloc(sizeof(*d->tok) * d->ntok);
    d->nrowcap = CANAL_ROWS_INITIAL;
    d->rows = xmalloc(sizeof(*d->rows) * d->nrowcap);
    return d;
}

void canal_decoder_free(struct canal_decoder *d)
{
    if (!d)
        return;
    free(d->tok);
    free(d->rows);
    free(d);
}

/* Index of the first token after the value at i (its whole subtree). Tokens are in
 * document order, so the subtree is every following token starting before i's end. */
static int skip_value(const jsmntok_t *t, int i, int n)
{
    int end = t[i].end;
    for (i++; i < n && t[i].start < end; i++)
        ;
    return i;
}

static bool tok_eq(const char *buf, const jsmntok_t *t, const char *lit, size_t litlen)
{
    return (size_t)(t->end - t->start) == litlen && memcmp(buf + t->start, lit, litlen) == 0;
}

static bool tok_is_null(const char *buf, const jsmntok_t *t)
{
    return t->type == JSMN_PRIMITIVE && tok_eq(buf, t, "null", 4);
}

static const char *tok_kind(const char *buf, const jsmntok_t *t)
{
    switch (t->type) {
    case JSMN_OBJECT:
        return "an object";
    case JSMN_ARRAY:
        return "an array";
    case JSMN_STRING:
        return "a string";
    case JSMN_PRIMITIVE:
        if (buf[t->start] == 't' || buf[t->start] == 'f')
            return "a boolean";
        if (buf[t->start] == 'n')
            return "null";
        return "a number";
    default:
        return "undefined";
    }
}

/* Whether any byte in p[0..n) is a control character (< 0x20): eight bytes at a
 * time with the "has a byte less than n" word trick (exact as a yes/no answer). */
static bool has_ctl(const char *p, size_t n)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        if ((w - ones * 0x20) & ~w & highs)
            return true;
    }
    for (; i < n; i++)
        if ((unsigned char)p[i] < 0x20)
            return true;
    return false;
}

/* A top-level string field: string (no raw control characters), or null (-> ""). */
static int get_str(const char *buf, const jsmntok_t *t, const char *name, struct canal_str *out,
                   char *err, size_t errlen)
{
    if (t->type == JSMN_STRING) {
        out->p = buf + t->start;
        out->len = (size_t)(t->end - t->start);
        out->escaped = out->len && memchr(out->p, '\\', out->len) != NULL;
        if (has_ctl(out->p, out->len))
            return cc_errf(err, errlen, CC_EINVAL, "%s: raw control character in the string",
                           name);
        return CC_OK;
    }
    if (tok_is_null(buf, t)) {
        out->p = "";
        out->len = 0;
        out->escaped = 0;
        return CC_OK;
    }
    return cc_errf(err, errlen, CC_EINVAL, "%s: is %s, want a string", name, tok_kind(buf, t));
}

/* A JSON integer literal (no fraction, exponent, '+' or leading zeros). On success
 * *neg tells the sign and *mag the magnitude; CC_EINVAL with a reason otherwise. */
static int parse_int(const char *buf, const jsmntok_t *t, const char *name, bool *neg,
                     uint64_t *mag, char *err, size_t errlen)
{
    if (t->type != JSMN_PRIMITIVE)
        return cc_errf(err, errlen, CC_EINVAL, "%s: is %s, want an integer", name,
                       tok_kind(buf, t));
    const char *p = buf + t->start, *e = buf + t->end;
    *neg = false;
    if (p < e && *p == '-') {
        *neg = true;
        p++;
    }
    if (p == e || *p < '0' || *p > '9')
        return cc_errf(err, errlen, CC_EINVAL, "%s: is %s, want an integer", name,
                       tok_kind(buf, t));
    if (*p == '0' && e - p > 1)
        return cc_errf(err, errlen, CC_EINVAL, "%s: not an integer: %.*s", name,
                       (int)(t->end - t->start > 40 ? 40 : t->end - t->start), buf + t->start);
    uint64_t v = 0;
    for (; p < e; p++) {
        if (*p < '0' || *p > '9')
            return cc_errf(err, errlen, CC_EINVAL, "%s: not an integer: %.*s", name,
                           (int)(t->end - t->start > 40 ? 40 : t->end - t->start),
                           buf + t->start);
        unsigned dgt = (unsigned)(*p - '0');
        if (v >= UINT64_MAX / 10 && (v > UINT64_MAX / 10 || dgt > UINT64_MAX % 10))
            return cc_errf(err, errlen, CC_EINVAL, "%s: out of range", name);
        v = v * 10 + dgt;
    }
    *mag = v;
    return CC_OK;
}

static int get_u64(const char *buf, const jsmntok_t *t, const char *name, uint64_t *out,
                   char *err, size_t errlen)
{
    bool neg = false;
    uint64_t mag = 0;
    int rc = parse_int(buf, t, name, &neg, &mag, err, errlen);
    if (rc != CC_OK)
        return rc;
    if (neg && mag != 0)
        return cc_errf(err, errlen, CC_EINVAL, "%s: negative", name);
    *out = mag;
    return CC_OK;
}

static int get_i64(const char *buf, const jsmntok_t *t, const char *name, int64_t *out,
                   char *err, size_t errlen)
{
    bool neg = false;
    uint64_t mag = 0;
    int rc = parse_int(buf, t, name, &neg, &mag, err, errlen);
    if (rc != CC_OK)
        return rc;
    if (neg ? mag > (uint64_t)INT64_MAX + 1 : mag > (uint64_t)INT64_MAX)
        return cc_errf(err, errlen, CC_EINVAL, "%s: out of range", name);
    *out = neg ? (int64_t)(0 - mag) : (int64_t)mag;
    return CC_OK;
}

/* _tidb: {"commitTs": N} or {"watermarkTs": N}, other keys skipped; null allowed. */
static int get_tidb(const char *buf, const jsmntok_t *t, int i, int n, struct canal_msg *out,
                    char *err, size_t errlen)
{
    if (tok_is_null(buf, &t[i]))
        return CC_OK;
    if (t[i].type != JSMN_OBJECT)
        return cc_errf(err, errlen, CC_EINVAL, "_tidb: is %s, want an object",
                       tok_kind(buf, &t[i]));
    int npairs = t[i].size, k = i + 1;
    for (int p = 0; p < npairs; p++) {
        if (k + 1 >= n || t[k].type != JSMN_STRING || t[k].size != 1)
            return cc_errf(err, errlen, CC_EINVAL, "_tidb: malformed object");
        int rc = CC_OK;
        if (tok_eq(buf, &t[k], "commitTs", 8))
            rc = get_u64(buf, &t[k + 1], "_tidb.commitTs", &out->commit_ts, err, errlen);
        else if (tok_eq(buf, &t[k], "watermarkTs", 11))
            rc = get_u64(buf, &t[k + 1], "_tidb.watermarkTs", &out->watermark_ts, err, errlen);
        if (rc != CC_OK)
            return rc;
        k = skip_value(t, k + 1, n);
    }
    return CC_OK;
}

/* data: an array of objects whose values are strings or null; fills d->rows.
 * jsmn lets raw control characters through inside strings; JSON does not, and a
 * raw newline would split the consumer's one-line-per-row log, so they are
 * rejected (a fast scan of the row text first, the strings only when it hits). */
static int get_rows(struct canal_decoder *d, const char *buf, int i, int n, struct canal_msg *out,
                    char *err, size_t errlen)
{
    const jsmntok_t *t = d->tok;
    if (t[i].type != JSMN_ARRAY)
        return cc_errf(err, errlen, CC_EINVAL, "data: is %s, want an array of rows",
                       tok_kind(buf, &t[i]));
    size_t nrows = (size_t)t[i].size;
    if (nrows == 0)
        return cc_errf(err, errlen, CC_EINVAL, "data: empty array");
    if (nrows > d->nrowcap) {
        while (d->nrowcap < nrows)
            d->nrowcap *= 2;
        d->rows = xrealloc(d->rows, sizeof(*d->rows) * d->nrowcap);
    }
    int k = i + 1;
    for (size_t r = 0; r < nrows; r++) {
        if (k >= n || t[k].type != JSMN_OBJECT)
            return cc_errf(err, errlen, CC_EINVAL, "data[%zu]: is %s, want an object", r,
                           k < n ? tok_kind(buf, &t[k]) : "missing");
        d->rows[r].json = buf + t[k].start;
        d->rows[r].len = (size_t)(t[k].end - t[k].start);
        int ncols = t[k].size;
        int c = k + 1;
        for (int col = 0; col < ncols; col++, c += 2) {
            if (c + 1 >= n || t[c].type != JSMN_STRING || t[c].size != 1)
                return cc_errf(err, errlen, CC_EINVAL, "data[%zu]: malformed object", r);
            const jsmntok_t *v = &t[c + 1];
            if (v->type != JSMN_STRING && !tok_is_null(buf, v)) {
                int kl = t[c].end - t[c].start;
                return cc_errf(err, errlen, CC_EINVAL,
                               "data[%zu]: column \"%.*s\" is %s, want a string or null", r,
                               kl > 64 ? 64 : kl, buf + t[c].start, tok_kind(buf, v));
            }
        }
        if (has_ctl(d->rows[r].json, d->rows[r].len)) {
            for (int q = k + 1; q < c; q++) {
                if (t[q].type == JSMN_STRING &&
                    has_ctl(buf + t[q].start, (size_t)(t[q].end - t[q].start)))
                    return cc_errf(err, errlen, CC_EINVAL,
                                   "data[%zu]: raw control character in a string", r);
            }
        }
        k = c;
    }
    out->rows = d->rows;
    out->nrows = nrows;
    return CC_OK;
}

/* What a top-level value that is not an object starts with. */
static int not_object(const char *buf, size_t len, char *err, size_t errlen)
{
    size_t k = 0;
    while (k < len && (buf[k] == ' ' || buf[k] == '\t' || buf[k] == '\n' || buf[k] == '\r'))
        k++;
    if (k == len)
        return cc_errf(err, errlen, CC_EINVAL, "not JSON: no value");
    const char *what = NULL;
    switch (buf[k]) {
    case '[':
        what = "an array";
        break;
    case '"':
        what = "a string";
        break;
    case 't':
    case 'f':
        what = "a boolean";
        break;
    case 'n':
        what = "null";
        break;
    case '-':
    case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
        what = "a number";
        break;
    case '{':
        return CC_OK;
    default:
        return cc_errf(err, errlen, CC_EINVAL, "not JSON: invalid character at offset %zu", k);
    }
    return cc_errf(err, errlen, CC_EINVAL, "not a JSON object: top level is %s", what);
}

static int tokenize(struct canal_decoder *d, const char *buf, size_t len, int *ntok, char *err,
                    size_t errlen)
{
    jsmn_parser p;
    int r;
    if (buf[0] != '{') {
        r = not_object(buf, len, err, errlen);
        if (r != CC_OK)
            return r;
    }
    for (;;) {
        jsmn_init(&p);
        r = jsmn_parse(&p, buf, len, d->tok, d->ntok);
        if (r != JSMN_ERROR_NOMEM)
            break;
        if (d->ntok > UINT_MAX / 4)
            return cc_errf(err, errlen, CC_EINVAL, "too many JSON tokens");
        d->ntok *= 2;
        d->tok = xrealloc(d->tok, sizeof(*d->tok) * d->ntok);
    }
    if (r == JSMN_ERROR_INVAL)
        return cc_errf(err, errlen, CC_EINVAL, "not JSON: invalid character at offset %u", p.pos);
    if (r == JSMN_ERROR_PART)
        return cc_errf(err, errlen, CC_EINVAL, "not JSON: truncated");
    if (r <= 0)
        return cc_errf(err, errlen, CC_EINVAL, "not JSON: no value");
    if (d->tok[0].type != JSMN_OBJECT)
        return cc_errf(err, errlen, CC_EINVAL, "not a JSON object: top level is %s",
                       tok_kind(buf, &d->tok[0]));
    /* jsmn accepts several top-level values and stops at a NUL byte: only
     * whitespace may follow the object. */
    for (size_t k = (size_t)d->tok[0].end; k < len; k++) {
        char c = buf[k];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            return cc_errf(err, errlen, CC_EINVAL, "not JSON: trailing data at offset %zu", k);
    }
    *ntok = (int)p.toknext;
    return CC_OK;
}

static int classify_dml(const struct canal_str *type, struct canal_msg *out)
{
    if (type->len == 6 && memcmp(type->p, "INSERT", 6) == 0)
        out->op = "insert";
    else if (type->len == 6 && memcmp(type->p, "UPDATE", 6) == 0)
        out->op = "update";
    else if (type->len == 6 && memcmp(type->p, "DELETE", 6) == 0)
        out->op = "delete";
    else
        return CC_EINVAL;
    return CC_OK;
}

int canal_decode(struct canal_decoder *d, const char *buf, size_t len, struct canal_msg *out,
                 char *err, size_t errlen)
{
    static const struct canal_str empty = {"", 0, 0};
    memset(out, 0, sizeof(*out));
    out->database = out->table = out->type = out->sql = empty;
    if (len == 0)
        return cc_errf(err, errlen, CC_EINVAL, "empty message");
    if (len > INT_MAX)
        return cc_errf(err, errlen, CC_EINVAL, "message too large (%zu bytes)", len);

    int n = 0, rc = tokenize(d, buf, len, &n, err, errlen);
    if (rc != CC_OK)
        return rc;
    const jsmntok_t *t = d->tok;
    int is_ddl = -1, data_i = -1;
    bool have_type = false, have_db = false, have_table = false;

    int npairs = t[0].size, i = 1;
    for (int p = 0; p < npairs; p++) {
        if (i + 1 >= n || t[i].type != JSMN_STRING || t[i].size != 1)
            return cc_errf(err, errlen, CC_EINVAL, "malformed object");
        const char *k = buf + t[i].start;
        int kl = t[i].end - t[i].start, v = i + 1;
        rc = CC_OK;
        switch (kl) {
        case 2:
            if (k[0] == 'e' && k[1] == 's')
                rc = get_i64(buf, &t[v], "es", &out->es_ms, err, errlen);
            else if (k[0] == 't' && k[1] == 's')
                rc = get_i64(buf, &t[v], "ts", &out->ts_ms, err, errlen);
            break;
        case 3:
            if (memcmp(k, "sql", 3) == 0)
                rc = get_str(buf, &t[v], "sql", &out->sql, err, errlen);
            break;
        case 4:
            if (memcmp(k, "type", 4) == 0) {
                if (t[v].type != JSMN_STRING)
                    return cc_errf(err, errlen, CC_EINVAL, "type: is %s, want a string",
                                   tok_kind(buf, &t[v]));
                rc = get_str(buf, &t[v], "type", &out->type, err, errlen);
                have_type = true;
            } else if (memcmp(k, "data", 4) == 0) {
                data_i = v;
            }
            break;
        case 5:
            if (memcmp(k, "table", 5) == 0) {
                rc = get_str(buf, &t[v], "table", &out->table, err, errlen);
                have_table = t[v].type == JSMN_STRING;
            } else if (memcmp(k, "isDdl", 5) == 0) {
                if (tok_eq(buf, &t[v], "true", 4) && t[v].type == JSMN_PRIMITIVE)
                    is_ddl = 1;
                else if (tok_eq(buf, &t[v], "false", 5) && t[v].type == JSMN_PRIMITIVE)
                    is_ddl = 0;
                else
                    return cc_errf(err, errlen, CC_EINVAL, "isDdl: is %s, want a boolean",
                                   tok_kind(buf, &t[v]));
            } else if (memcmp(k, "_tidb", 5) == 0) {
                rc = get_tidb(buf, t, v, n, out, err, errlen);
            }
            break;
        case 8:
            if (memcmp(k, "database", 8) == 0) {
                rc = get_str(buf, &t[v], "database", &out->database, err, errlen);
                have_db = t[v].type == JSMN_STRING;
            }
            break;
        default:
            break;
        }
        if (rc != CC_OK)
            return rc;
        i = skip_value(t, v, n);
    }

    if (is_ddl < 0)
        return cc_errf(err, errlen, CC_EINVAL, "isDdl: missing");
    if (!have_type)
        return cc_errf(err, errlen, CC_EINVAL, "type: missing");
    if (is_ddl) {
        out->kind = CANAL_DDL;
        out->op = "ddl";
        out->watermark_ts = 0;
        return CC_OK;
    }
    if (out->type.len == 14 && memcmp(out->type.p, "TIDB_WATERMARK", 14) == 0) {
        out->kind = CANAL_WATERMARK;
        out->op = NULL;
        return CC_OK;
    }
    out->kind = CANAL_DML;
    out->watermark_ts = 0;
    if (classify_dml(&out->type, out) != CC_OK)
        return cc_errf(err, errlen, CC_EINVAL, "type: unknown DML type \"%.*s\"",
                       (int)(out->type.len > 32 ? 32 : out->type.len), out->type.p);
    if (!have_db)
        return cc_errf(err, errlen, CC_EINVAL, "database: missing for %s", out->op);
    if (!have_table)
        return cc_errf(err, errlen, CC_EINVAL, "table: missing for %s", out->op);
    if (data_i < 0)
        return cc_errf(err, errlen, CC_EINVAL, "data: missing for %s", out->op);
    return get_rows(d, buf, data_i, n, out, err, errlen);
}

/* ---- unescaping ---- */

/* Output cursor: `need` counts every byte the full text needs; bytes are written
 * only while whole characters fit into cap (= outlen - 1). */
struct sink {
    char *out;
    size_t cap, wn, need;
    bool full;
};

static void sink_char(struct sink *w, const char *b, size_t k)
{
    w->need += k;
    if (w->full)
        return;
    if (w->wn + k <= w->cap) {
        memcpy(w->out + w->wn, b, k);
        w->wn += k;
    } else {
        w->full = true;
    }
}

/* A run of raw bytes (already UTF-8): cut at a character boundary when it does not fit. */
static void sink_run(struct sink *w, const char *b, size_t k)
{
    w->need += k;
    if (w->full || k == 0)
        return;
    size_t room = w->cap - w->wn;
    if (k <= room) {
        memcpy(w->out + w->wn, b, k);
        w->wn += k;
        return;
    }
    size_t fit = room;
    while (fit > 0 && ((unsigned char)b[fit] & 0xC0) == 0x80)
        fit--;
    memcpy(w->out + w->wn, b, fit);
    w->wn += fit;
    w->full = true;
}

static void sink_cp(struct sink *w, uint32_t cp)
{
    char b[4];
    size_t k;
    if (cp < 0x80) {
        b[0] = (char)cp;
        k = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        k = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        k = 3;
    } else {
        b[0] = (char)(0xF0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (char)(0x80 | (cp & 0x3F));
        k = 4;
    }
    sink_char(w, b, k);
}

/* Four hex digits at p (p + 4 <= e) -> code unit, or -1. */
static int32_t hex4(const char *p, const char *e)
{
    if (e - p < 4)
        return -1;
    int32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int x;
        if (c >= '0' && c <= '9')
            x = c - '0';
        else if (c >= 'a' && c <= 'f')
            x = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            x = c - 'A' + 10;
        else
            return -1;
        v = v * 16 + x;
    }
    return v;
}

#define REPLACEMENT_CHAR 0xFFFD

/* Invalid escapes (an unknown letter, \u without four hex digits, a final lone
 * backslash) and unpaired surrogates are replaced by U+FFFD, never rejected:
 * canal_decode only hands out strings jsmn accepted, so in practice only
 * unpaired surrogates reach this path (as in Go's encoding/json). */
size_t canal_str_copy(struct canal_str s, char *out, size_t outlen)
{
    struct sink w = {out, outlen ? outlen - 1 : 0, 0, 0, outlen == 0};
    if (s.p && s.len) {
        const char *p = s.p, *e = s.p + s.len;
        if (!s.escaped) {
            sink_run(&w, p, s.len);
        } else {
            while (p < e) {
                const char *bs = memchr(p, '\\', (size_t)(e - p));
                if (!bs) {
                    sink_run(&w, p, (size_t)(e - p));
                    break;
                }
                sink_run(&w, p, (size_t)(bs - p));
                p = bs + 1;
                if (p == e) {
                    sink_cp(&w, REPLACEMENT_CHAR);
                    break;
                }
                char c = *p++;
                switch (c) {
                case '"':
                case '\\':
                case '/':
                    sink_char(&w, &c, 1);
                    break;
                case 'b':
                    sink_char(&w, "\b", 1);
                    break;
                case 'f':
                    sink_char(&w, "\f", 1);
                    break;
                case 'n':
                    sink_char(&w, "\n", 1);
                    break;
                case 'r':
                    sink_char(&w, "\r", 1);
                    break;
                case 't':
                    sink_char(&w, "\t", 1);
                    break;
                case 'u': {
                    int32_t u = hex4(p, e);
                    if (u < 0) {
                        sink_cp(&w, REPLACEMENT_CHAR);
                        break;
                    }
                    p += 4;
                    if (u >= 0xD800 && u <= 0xDBFF) {
                        int32_t lo = (e - p >= 6 && p[0] == '\\' && p[1] == 'u') ? hex4(p + 2, e)
                                                                                 : -1;
                        if (lo >= 0xDC00 && lo <= 0xDFFF) {
                            p += 6;
                            sink_cp(&w, 0x10000 + (((uint32_t)u - 0xD800) << 10) +
                                            ((uint32_t)lo - 0xDC00));
                        } else {
                            sink_cp(&w, REPLACEMENT_CHAR);
                        }
                    } else if (u >= 0xDC00 && u <= 0xDFFF) {
                        sink_cp(&w, REPLACEMENT_CHAR);
                    } else {
                        sink_cp(&w, (uint32_t)u);
                    }
                    break;
                }
                default:
                    sink_cp(&w, REPLACEMENT_CHAR);
                    break;
                }
            }
        }
    }
    if (outlen)
        out[w.wn] = '\0';
    return w.need;
}
