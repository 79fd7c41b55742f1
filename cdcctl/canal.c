/* canal: the consumer's hot path. One pass of a validating JSON scanner written
 * for canal-json's layout: it walks the top-level object once, reads only the
 * fields the consumer needs and skips every other value while checking its full
 * JSON syntax (strings with their escapes, numbers, literals, nesting), so a
 * message that is not JSON is rejected whichever field the fault is in. Strings
 * are skipped eight bytes at a time (a word-at-a-time search for '"', '\\' and
 * control characters). No allocation per message in steady state (the row array
 * and the nesting stack are owned by the decoder, grown, never shrunk); every
 * string is returned as a span into the caller's buffer.
 *
 * Errors: a syntax error ("not JSON: ...") stops the scan at once; an error in a
 * field's value (wrong type, out of range) is remembered and reported once the
 * whole message was found to be JSON, so the reasons are those a full parse
 * followed by field checks would give. Checks on `data` apply to DML only and
 * come last.
 *
 * Normalisation (documented for callers): database, table and sql are never NULL
 * (absent or JSON null -> ""); es/ts/commitTs/watermarkTs are 0 when absent. */
#include "canal.h"

#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define CANAL_ROWS_INITIAL 4
#define CANAL_STACK_INITIAL 64

struct canal_decoder {
    struct canal_row *rows;
    size_t nrowcap;
    char *stack; /* closing bracket of each container skip_value is inside */
    size_t stackcap;
};

struct canal_decoder *canal_decoder_new(void)
{
    struct canal_decoder *d = xcalloc(1, sizeof(*d));
    d->nrowcap = CANAL_ROWS_INITIAL;
    d->rows = xmalloc(sizeof(*d->rows) * d->nrowcap);
    d->stackcap = CANAL_STACK_INITIAL;
    d->stack = xmalloc(d->stackcap);
    return d;
}

void canal_decoder_free(struct canal_decoder *d)
{
    if (!d)
        return;
    free(d->rows);
    free(d->stack);
    free(d);
}

/* ---- the scanner ---- */

struct scan {
    const char *buf, *end;
    struct canal_decoder *d;
    char *err;
    size_t errlen;
    bool field_err; /* err holds a field error (a syntax error replaces it) */
};

/* A syntax error at `at`: truncated when the input ended there. Returns NULL so
 * callers can `return syntax(...)`. */
static const char *syntax(struct scan *s, const char *at)
{
    if (at >= s->end)
        cc_errf(s->err, s->errlen, CC_EINVAL, "not JSON: truncated");
    else
        cc_errf(s->err, s->errlen, CC_EINVAL, "not JSON: invalid character at offset %zu",
                (size_t)(at - s->buf));
    return NULL;
}

/* Remembers the first field error; reported only if the message is JSON. */
static void field_err(struct scan *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void field_err(struct scan *s, const char *fmt, ...)
{
    if (s->field_err)
        return;
    s->field_err = true;
    if (s->err && s->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(s->err, s->errlen, fmt, ap);
        va_end(ap);
    }
}

static inline bool is_ws(char c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

/* Skips whitespace (TiCDC sends none: one test of the first byte). */
static inline const char *ws(const char *p, const char *e)
{
    if (p < e && (unsigned char)*p > ' ')
        return p;
    while (p < e && is_ws(*p))
        p++;
    return p;
}

static inline bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* What a value that starts with c is (c is the first byte of a valid value). */
static const char *kind_of(char c)
{
    switch (c) {
    case '{':
        return "an object";
    case '[':
        return "an array";
    case '"':
        return "a string";
    case 't':
    case 'f':
        return "a boolean";
    case 'n':
        return "null";
    default:
        return "a number";
    }
}

/* The first byte in [p, e) that is '"', '\\' or a control character (< 0x20),
 * or e. Eight bytes at a time: for each condition the "has a zero byte" word
 * trick flags the lowest matching byte exactly (false flags appear only above a
 * true one), so the lowest flag of the three masks is the first special byte. */
static inline __attribute__((always_inline)) const char *find_special(const char *p,
                                                                     const char *e)
{
#ifdef __SSE2__
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'),
                  ctl = _mm_set1_epi8(0x1f);
    while (e - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        /* v <= 0x1f unsigned: max(v, 0x1f) == 0x1f */
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
                                 _mm_cmpeq_epi8(_mm_max_epu8(v, ctl), ctl));
        unsigned bits = (unsigned)_mm_movemask_epi8(m);
        if (bits)
            return p + __builtin_ctz(bits);
        p += 16;
    }
#endif
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    while (e - p >= 8) {
        uint64_t w, q, b;
        memcpy(&w, p, 8);
        q = w ^ (ones * '"');
        b = w ^ (ones * '\\');
        uint64_t m = (((q - ones) & ~q) | ((b - ones) & ~b) | ((w - ones * 0x20) & ~w)) & highs;
        if (m)
            return p + (__builtin_ctzll(m) >> 3);
        p += 8;
    }
#endif
    while (p < e && *p != '"' && *p != '\\' && (unsigned char)*p >= 0x20)
        p++;
    return p;
}

static inline bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

#define S_ESC 1u /* the string holds a backslash escape */
#define S_CTL 2u /* the string holds a raw control character (0x01-0x1f) */

/* The string whose opening quote is at p: returns the position after its closing
 * quote, or NULL (syntax error). Escapes are checked; a raw NUL is a syntax
 * error; other raw control characters are a syntax error when ctl_ok is false,
 * else they set S_CTL in *flags (the caller names the field). */
static inline __attribute__((always_inline)) const char *scan_str(struct scan *s, const char *p,
                                                                  unsigned *flags, bool ctl_ok)
{
    const char *e = s->end;
    p++;
    for (;;) {
        p = find_special(p, e);
        if (p >= e)
            return syntax(s, p);
        char c = *p;
        if (c == '"')
            return p + 1;
        if (c == '\\') {
            *flags |= S_ESC;
            if (p + 1 >= e)
                return syntax(s, p + 1);
            c = p[1];
            if (c == 'u') {
                for (int i = 2; i < 6; i++) {
                    if (p + i >= e)
                        return syntax(s, p + i);
                    if (!is_hex(p[i]))
                        return syntax(s, p + i);
                }
                p += 6;
            } else if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' ||
                       c == 'r' || c == 't') {
                p += 2;
            } else {
                return syntax(s, p + 1);
            }
        } else if (c == '\0' || !ctl_ok) {
            return syntax(s, p);
        } else {
            *flags |= S_CTL;
            p++;
        }
    }
}

static inline const char *scan_lit(struct scan *s, const char *p, const char *lit, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p + i >= s->end || p[i] != lit[i])
            return syntax(s, p + i);
    return p + n;
}

/* The fraction and exponent of a number, from the '.', 'e' or 'E' at p. */
static const char *scan_frac(struct scan *s, const char *p)
{
    const char *e = s->end;
    if (*p == '.') {
        p++;
        if (p >= e || !is_digit(*p))
            return syntax(s, p);
        do
            p++;
        while (p < e && is_digit(*p));
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '+' || *p == '-'))
            p++;
        if (p >= e || !is_digit(*p))
            return syntax(s, p);
        do
            p++;
        while (p < e && is_digit(*p));
    }
    return p;
}

/* A JSON number (RFC 8259 grammar) at p. */
static inline const char *scan_num(struct scan *s, const char *p)
{
    const char *e = s->end;
    if (p < e && *p == '-')
        p++;
    if (p >= e)
        return syntax(s, p);
    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        do
            p++;
        while (p < e && is_digit(*p));
    } else {
        return syntax(s, p);
    }
    if (p < e && (*p == '.' || *p == 'e' || *p == 'E'))
        return scan_frac(s, p);
    return p;
}

/* `"key"` `:` at p (whitespace before p skipped): returns the start of the value
 * (whitespace skipped; never the end). Raw control characters are not allowed. */
static inline __attribute__((always_inline)) const char *key_colon(struct scan *s, const char *p, const char **key, size_t *keylen)
{
    unsigned f = 0;
    if (p >= s->end || *p != '"')
        return syntax(s, p);
    const char *k = p + 1;
    p = scan_str(s, p, &f, false);
    if (!p)
        return NULL;
    *key = k;
    *keylen = (size_t)(p - 1 - k);
    if (p >= s->end || *p != ':') {
        p = ws(p, s->end);
        if (p >= s->end || *p != ':')
            return syntax(s, p);
    }
    p = ws(p + 1, s->end);
    return p < s->end ? p : syntax(s, p);
}

/* A scalar (string, number, literal) at p, or NULL when p is not at a valid one
 * (no error is set: the caller falls back to the general path). */
static inline __attribute__((always_inline)) const char *flat_scalar(struct scan *s,
                                                                    const char *p)
{
    const char *e = s->end;
    if (*p == '"') {
        p = find_special(p + 1, e);
        /* escapes, control characters, truncation: the general path */
        return p < e && *p == '"' ? p + 1 : NULL;
    }
    if (*p == '-' || is_digit(*p)) {
        if (*p == '-')
            p++;
        if (p >= e || !is_digit(*p))
            return NULL;
        if (*p == '0') {
            p++;
        } else {
            do
                p++;
            while (p < e && is_digit(*p));
        }
        return p < e && (*p == '.' || *p == 'e' || *p == 'E') ? NULL : p;
    }
    if (e - p >= 5 && memcmp(p, "false", 5) == 0)
        return p + 5;
    if (e - p >= 4 && (memcmp(p, "null", 4) == 0 || memcmp(p, "true", 4) == 0))
        return p + 4;
    return NULL;
}

/* An object whose values are scalars, without whitespace, at p ('{'): the
 * position after it, or NULL (nothing reported) for anything else. */
static inline const char *flat_object(struct scan *s, const char *p)
{
    const char *e = s->end;
    p++;
    if (p < e && *p == '}')
        return p + 1;
    for (;;) {
        if (p >= e || *p != '"' || !(p = flat_scalar(s, p)) || p >= e || *p != ':')
            return NULL;
        p++;
        if (p >= e || !(p = flat_scalar(s, p)) || p >= e)
            return NULL;
        if (*p == '}')
            return p + 1;
        if (*p != ',')
            return NULL;
        p++;
    }
}

/* The common shapes TiCDC sends outside the fields read, without whitespace: an
 * object of scalars (sqlType, mysqlType) or an array of scalars or of such
 * objects (pkNames, old). Returns the position after it, or NULL (nothing
 * reported) when the value is anything else, even malformed: skip_value then
 * scans it again in full, so only well-formed input is ever accepted here. */
static const char *skip_flat(struct scan *s, const char *p)
{
    const char *e = s->end;
    if (*p == '{')
        return flat_object(s, p);
    p++;
    if (p < e && *p == ']')
        return p + 1;
    for (;;) {
        if (p >= e)
            return NULL;
        p = *p == '{' ? flat_object(s, p) : flat_scalar(s, p);
        if (!p || p >= e)
            return NULL;
        if (*p == ']')
            return p + 1;
        if (*p != ',')
            return NULL;
        p++;
    }
}

/* Skips the value at p (whitespace before it skipped), checking its syntax;
 * nesting is tracked on the decoder's stack, so depth costs no C stack. Raw
 * control characters in strings are syntax errors here. */
static const char *skip_value(struct scan *s, const char *p)
{
    const char *e = s->end, *k;
    struct canal_decoder *d = s->d;
    size_t depth = 0, kl;
    if (p < e && (*p == '{' || *p == '[')) {
        const char *q = skip_flat(s, p);
        if (q)
            return q;
    }
    for (;;) {
        if (p >= e)
            return syntax(s, p);
        switch (*p) {
        case '"': {
            unsigned f = 0;
            p = scan_str(s, p, &f, false);
            break;
        }
        case '{':
        case '[':
            if (depth == d->stackcap) {
                d->stackcap *= 2;
                d->stack = xrealloc(d->stack, d->stackcap);
            }
            d->stack[depth++] = *p == '{' ? '}' : ']';
            p = ws(p + 1, e);
            if (p < e && *p == d->stack[depth - 1]) {
                p++;
                depth--;
                break;
            }
            if (d->stack[depth - 1] == '}' && !(p = key_colon(s, p, &k, &kl)))
                return NULL;
            continue;
        case 't':
            p = scan_lit(s, p, "true", 4);
            break;
        case 'f':
            p = scan_lit(s, p, "false", 5);
            break;
        case 'n':
            p = scan_lit(s, p, "null", 4);
            break;
        default:
            p = scan_num(s, p);
            break;
        }
        if (!p)
            return NULL;
        /* after a value: close containers, or go on after a comma */
        for (;;) {
            if (depth == 0)
                return p;
            p = ws(p, e);
            if (p >= e)
                return syntax(s, p);
            if (*p == ',') {
                p = ws(p + 1, e);
                if (d->stack[depth - 1] == '}' && !(p = key_colon(s, p, &k, &kl)))
                    return NULL;
                break;
            }
            if (*p != d->stack[depth - 1])
                return syntax(s, p);
            p++;
            depth--;
        }
    }
}

/* After a member of an object or an element of an array: returns the position
 * after the separator (whitespace skipped) with *closed = 0, or after the
 * closing bracket with *closed = 1. */
static inline const char *next_member(struct scan *s, const char *p, char close, int *closed)
{
    if (p < s->end && *p == ',') {
        *closed = 0;
        return ws(p + 1, s->end);
    }
    p = ws(p, s->end);
    if (p < s->end && *p == ',') {
        *closed = 0;
        return ws(p + 1, s->end);
    }
    if (p < s->end && *p == close) {
        *closed = 1;
        return p + 1;
    }
    return syntax(s, p);
}

/* ---- fields ---- */

/* What the walk over the top-level object found. */
struct fields {
    int is_ddl; /* -1 absent */
    bool have_type, have_db, have_table, have_data;
    const char *data_kind; /* data is not an array: what it is */
    size_t nelems;         /* elements of the last data array */
    bool data_ctl;         /* a raw control character in any data array */
    /* the first problem in the last data array's rows (checked for DML only) */
    enum { ROW_OK, ROW_NOT_OBJECT, ROW_VALUE, ROW_CTL } row_err;
    size_t row_i;
    const char *row_kind, *row_col;
    size_t row_collen;
};

/* A top-level string field: a string (raw control characters are a field
 * error) or null (-> ""); anything else is a field error. *is_str tells which. */
static const char *str_field(struct scan *s, const char *p, const char *name, struct canal_str *out,
                             bool *is_str)
{
    static const struct canal_str empty = {"", 0, 0};
    *is_str = false;
    if (*p == '"') {
        unsigned f = 0;
        const char *q = scan_str(s, p, &f, true);
        if (!q)
            return NULL;
        out->p = p + 1;
        out->len = (size_t)(q - p - 2);
        out->escaped = (f & S_ESC) != 0;
        *is_str = true;
        if (f & S_CTL)
            field_err(s, "%s: raw control character in the string", name);
        return q;
    }
    const char *q = skip_value(s, p);
    if (!q)
        return NULL;
    if (*p == 'n')
        *out = empty;
    else
        field_err(s, "%s: is %s, want a string", name, kind_of(*p));
    return q;
}

/* A JSON integer (no fraction or exponent) at [p, e): sign and magnitude; false
 * after a field error. The number's syntax is already checked. */
static bool parse_int(struct scan *s, const char *p, const char *e, const char *name, bool *neg,
                      uint64_t *mag)
{
    const char *start = p;
    *neg = false;
    if (*p == '-') {
        *neg = true;
        p++;
    }
    uint64_t v = 0;
    for (; p < e; p++) {
        if (!is_digit(*p)) {
            field_err(s, "%s: not an integer: %.*s", name, (int)(e - start > 40 ? 40 : e - start),
                      start);
            return false;
        }
        unsigned dgt = (unsigned)(*p - '0');
        if (v >= UINT64_MAX / 10 && (v > UINT64_MAX / 10 || dgt > UINT64_MAX % 10)) {
            field_err(s, "%s: out of range", name);
            return false;
        }
        v = v * 10 + dgt;
    }
    *mag = v;
    return true;
}

/* A number field: es, ts (int64) or _tidb's uint64 timestamps. The common case
 * (an integer of at most 19 digits, which cannot overflow) is read in one pass. */
static const char *int_field(struct scan *s, const char *p, const char *name, bool is_signed,
                             int64_t *i64, uint64_t *u64)
{
    const char *e = s->end;
    if (*p != '-' && !is_digit(*p)) {
        const char *q = skip_value(s, p);
        if (q)
            field_err(s, "%s: is %s, want an integer", name, kind_of(*p));
        return q;
    }
    const char *q = p;
    bool neg = *q == '-';
    q += neg;
    const char *digits = q;
    uint64_t mag = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    /* eight digits at a time (timestamps have 13-19) */
    for (int i = 0; i < 2 && e - q >= 8; i++) {
        uint64_t w;
        memcpy(&w, q, 8);
        if ((w & 0xF0F0F0F0F0F0F0F0ULL) != 0x3030303030303030ULL ||
            ((w + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL) != 0x3030303030303030ULL)
            break;
        w -= 0x3030303030303030ULL;
        w = w * 10 + (w >> 8); /* pairs of digits */
        w = (((w & 0x000000FF000000FFULL) * (100 + (1000000ULL << 32))) +
             (((w >> 16) & 0x000000FF000000FFULL) * (1 + (10000ULL << 32)))) >> 32;
        mag = mag * 100000000 + w;
        q += 8;
    }
#endif
    while (q < e && is_digit(*q))
        mag = mag * 10 + (unsigned)(*q++ - '0');
    size_t nd = (size_t)(q - digits);
    if (nd == 0 || (nd > 1 && *digits == '0') || nd > 19 ||
        (q < e && (*q == '.' || *q == 'e' || *q == 'E'))) {
        /* not the common case: check the syntax, then read it carefully */
        if (!(q = scan_num(s, p)) || !parse_int(s, p, q, name, &neg, &mag))
            return q;
    }
    if (is_signed) {
        if (neg ? mag > (uint64_t)INT64_MAX + 1 : mag > (uint64_t)INT64_MAX)
            field_err(s, "%s: out of range", name);
        else
            *i64 = neg ? (int64_t)(0 - mag) : (int64_t)mag;
    } else {
        if (neg && mag != 0)
            field_err(s, "%s: negative", name);
        else
            *u64 = mag;
    }
    return q;
}

/* _tidb: {"commitTs": N} or {"watermarkTs": N}, other keys skipped; null allowed. */
static const char *tidb_field(struct scan *s, const char *p, struct canal_msg *out)
{
    if (*p != '{') {
        const char *q = skip_value(s, p);
        if (q && *p != 'n')
            field_err(s, "_tidb: is %s, want an object", kind_of(*p));
        return q;
    }
    p = ws(p + 1, s->end);
    if (p < s->end && *p == '}')
        return p + 1;
    for (;;) {
        const char *k;
        size_t kl;
        int closed;
        if (!(p = key_colon(s, p, &k, &kl)))
            return NULL;
        if (kl == 8 && memcmp(k, "commitTs", 8) == 0)
            p = int_field(s, p, "_tidb.commitTs", false, NULL, &out->commit_ts);
        else if (kl == 11 && memcmp(k, "watermarkTs", 11) == 0)
            p = int_field(s, p, "_tidb.watermarkTs", false, NULL, &out->watermark_ts);
        else
            p = skip_value(s, p);
        if (!p || !(p = next_member(s, p, '}', &closed)))
            return NULL;
        if (closed)
            return p;
    }
}

/* data: an array of objects whose values are strings or null. The rows go to
 * d->rows; their problems are remembered in fl (they matter only for DML). */
static const char *data_field(struct scan *s, const char *p, struct fields *fl)
{
    struct canal_decoder *d = s->d;
    const char *e = s->end;
    fl->have_data = true;
    fl->data_kind = NULL;
    fl->nelems = 0;
    fl->row_err = ROW_OK;
    if (*p != '[') {
        const char *q = skip_value(s, p);
        fl->data_kind = kind_of(*p);
        return q;
    }
    p = ws(p + 1, e);
    if (p < e && *p == ']')
        return p + 1;
    for (;;) {
        int closed;
        size_t r = fl->nelems++;
        if (p >= e)
            return syntax(s, p);
        if (*p != '{') {
            const char *v = p;
            if (!(p = skip_value(s, p)))
                return NULL;
            if (fl->row_err == ROW_OK) {
                fl->row_err = ROW_NOT_OBJECT;
                fl->row_i = r;
                fl->row_kind = kind_of(*v);
            }
        } else {
            const char *start = p, *bad_kind = NULL, *bad_col = NULL;
            size_t bad_collen = 0;
            unsigned f = 0;
            p = ws(p + 1, e);
            if (p < e && *p == '}') {
                p++;
            } else {
                for (;;) {
                    if (p >= e || *p != '"')
                        return syntax(s, p);
                    const char *k = p + 1;
                    if (!(p = scan_str(s, p, &f, true)))
                        return NULL;
                    size_t kl = (size_t)(p - 1 - k);
                    p = ws(p, e);
                    if (p >= e || *p != ':')
                        return syntax(s, p);
                    p = ws(p + 1, e);
                    if (p < e && *p == '"') {
                        p = scan_str(s, p, &f, true);
                    } else {
                        const char *v = p;
                        p = skip_value(s, p);
                        if (p && *v != 'n' && !bad_kind) {
                            bad_kind = kind_of(*v);
                            bad_col = k;
                            bad_collen = kl;
                        }
                    }
                    if (!p || !(p = next_member(s, p, '}', &closed)))
                        return NULL;
                    if (closed)
                        break;
                }
            }
            if (r >= d->nrowcap) {
                while (d->nrowcap <= r)
                    d->nrowcap *= 2;
                d->rows = xrealloc(d->rows, sizeof(*d->rows) * d->nrowcap);
            }
            d->rows[r].json = start;
            d->rows[r].len = (size_t)(p - start);
            if (f & S_CTL)
                fl->data_ctl = true;
            if (fl->row_err == ROW_OK && (bad_kind || (f & S_CTL))) {
                fl->row_err = bad_kind ? ROW_VALUE : ROW_CTL;
                fl->row_i = r;
                fl->row_kind = bad_kind;
                fl->row_col = bad_col;
                fl->row_collen = bad_collen;
            }
        }
        if (!(p = next_member(s, p, ']', &closed)))
            return NULL;
        if (closed)
            return p;
    }
}

/* The keys TiCDC sends at the top level, quoted and followed by the colon: when
 * the text at p (a '"') is one of them, returns the position after the colon and
 * sets *k, *kl (such a key holds no escape or control character, so matching it
 * is checking it); else NULL and key_colon does the general work. */
static inline const char *known_key(const char *p, const char *e, const char **k, size_t *kl)
{
#define KEY(lit)                                                                                \
    if ((size_t)(e - p) >= sizeof(lit) - 1 && memcmp(p, lit, sizeof(lit) - 1) == 0) {         \
        *k = p + 1;                                                                            \
        *kl = sizeof(lit) - 4;                                                                 \
        return p + sizeof(lit) - 1;                                                            \
    }
    if (e - p < 2)
        return NULL;
    switch (p[1]) {
    case 'i':
        KEY("\"id\":")
        KEY("\"isDdl\":")
        break;
    case 'd':
        KEY("\"database\":")
        KEY("\"data\":")
        break;
    case 't':
        KEY("\"table\":")
        KEY("\"type\":")
        KEY("\"ts\":")
        break;
    case 'p':
        KEY("\"pkNames\":")
        break;
    case 'e':
        KEY("\"es\":")
        break;
    case 's':
        KEY("\"sql\":")
        KEY("\"sqlType\":")
        break;
    case 'm':
        KEY("\"mysqlType\":")
        break;
    case 'o':
        KEY("\"old\":")
        break;
    case '_':
        KEY("\"_tidb\":")
        break;
    default:
        break;
    }
    return NULL;
#undef KEY
}

/* One member of the top-level object: key k (raw), value at p. */
static const char *member(struct scan *s, const char *k, size_t kl, const char *p,
                          struct canal_msg *out, struct fields *fl)
{
    bool is_str;
    switch (kl) {
    case 2:
        if (k[0] == 'e' && k[1] == 's')
            return int_field(s, p, "es", true, &out->es_ms, NULL);
        if (k[0] == 't' && k[1] == 's')
            return int_field(s, p, "ts", true, &out->ts_ms, NULL);
        break;
    case 3:
        if (memcmp(k, "sql", 3) == 0)
            return str_field(s, p, "sql", &out->sql, &is_str);
        break;
    case 4:
        if (memcmp(k, "type", 4) == 0) {
            fl->have_type = true;
            if (*p == 'n') { /* null is not a type */
                const char *q = skip_value(s, p);
                if (q)
                    field_err(s, "type: is null, want a string");
                return q;
            }
            return str_field(s, p, "type", &out->type, &is_str);
        }
        if (memcmp(k, "data", 4) == 0)
            return data_field(s, p, fl);
        break;
    case 5:
        if (memcmp(k, "table", 5) == 0) {
            const char *q = str_field(s, p, "table", &out->table, &is_str);
            fl->have_table = is_str;
            return q;
        }
        if (memcmp(k, "isDdl", 5) == 0) {
            const char *q = skip_value(s, p);
            if (q && (*p == 't' || *p == 'f'))
                fl->is_ddl = *p == 't';
            else if (q)
                field_err(s, "isDdl: is %s, want a boolean", kind_of(*p));
            return q;
        }
        if (memcmp(k, "_tidb", 5) == 0)
            return tidb_field(s, p, out);
        break;
    case 8:
        if (memcmp(k, "database", 8) == 0) {
            const char *q = str_field(s, p, "database", &out->database, &is_str);
            fl->have_db = is_str;
            return q;
        }
        break;
    default:
        break;
    }
    return skip_value(s, p);
}

/* What a top-level value that is not an object starts with. */
static int not_object(const char *buf, size_t len, char *err, size_t errlen)
{
    size_t k = 0;
    while (k < len && is_ws(buf[k]))
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
    default:
        return cc_errf(err, errlen, CC_EINVAL, "not JSON: invalid character at offset %zu", k);
    }
    return cc_errf(err, errlen, CC_EINVAL, "not a JSON object: top level is %s", what);
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

/* The checks that need the whole message: required fields, then data (DML). */
static int finish(struct canal_decoder *d, const struct fields *fl, struct canal_msg *out,
                  char *err, size_t errlen)
{
    if (fl->is_ddl < 0)
        return cc_errf(err, errlen, CC_EINVAL, "isDdl: missing");
    if (!fl->have_type)
        return cc_errf(err, errlen, CC_EINVAL, "type: missing");
    if (fl->is_ddl) {
        out->kind = CANAL_DDL;
        out->op = "ddl";
        out->watermark_ts = 0;
    } else if (out->type.len == 14 && memcmp(out->type.p, "TIDB_WATERMARK", 14) == 0) {
        out->kind = CANAL_WATERMARK;
        out->op = NULL;
    } else {
        out->kind = CANAL_DML;
        out->watermark_ts = 0;
        if (classify_dml(&out->type, out) != CC_OK)
            return cc_errf(err, errlen, CC_EINVAL, "type: unknown DML type \"%.*s\"",
                           (int)(out->type.len > 32 ? 32 : out->type.len), out->type.p);
        if (!fl->have_db)
            return cc_errf(err, errlen, CC_EINVAL, "database: missing for %s", out->op);
        if (!fl->have_table)
            return cc_errf(err, errlen, CC_EINVAL, "table: missing for %s", out->op);
        if (!fl->have_data)
            return cc_errf(err, errlen, CC_EINVAL, "data: missing for %s", out->op);
        if (fl->data_kind)
            return cc_errf(err, errlen, CC_EINVAL, "data: is %s, want an array of rows",
                           fl->data_kind);
        if (fl->nelems == 0)
            return cc_errf(err, errlen, CC_EINVAL, "data: empty array");
        switch (fl->row_err) {
        case ROW_NOT_OBJECT:
            return cc_errf(err, errlen, CC_EINVAL, "data[%zu]: is %s, want an object", fl->row_i,
                           fl->row_kind);
        case ROW_VALUE:
            return cc_errf(err, errlen, CC_EINVAL,
                           "data[%zu]: column \"%.*s\" is %s, want a string or null", fl->row_i,
                           (int)(fl->row_collen > 64 ? 64 : fl->row_collen), fl->row_col,
                           fl->row_kind);
        case ROW_CTL:
            return cc_errf(err, errlen, CC_EINVAL, "data[%zu]: raw control character in a string",
                           fl->row_i);
        case ROW_OK:
            break;
        }
        out->rows = d->rows;
        out->nrows = fl->nelems;
    }
    /* data is not read for DDL and watermarks, but it must be JSON too */
    if (fl->data_ctl)
        return cc_errf(err, errlen, CC_EINVAL, "not JSON: raw control character in a string in data");
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

    struct scan s = {buf, buf + len, d, err, errlen, false};
    struct fields fl = {.is_ddl = -1};
    const char *e = buf + len, *p = ws(buf, e);
    if (p == e || *p != '{')
        return not_object(buf, len, err, errlen);
    p = ws(p + 1, e);
    if (p < e && *p == '}') {
        p++;
    } else {
        for (;;) {
            const char *k;
            size_t kl;
            int closed;
            const char *v = known_key(p, e, &k, &kl);
            if (v && v < e && (unsigned char)*v > ' ')
                p = v; /* the usual case: no whitespace before the value */
            else if (!(p = key_colon(&s, p, &k, &kl)))
                return CC_EINVAL;
            if (!(p = member(&s, k, kl, p, out, &fl)) || !(p = next_member(&s, p, '}', &closed)))
                return CC_EINVAL;
            if (closed)
                break;
        }
    }
    /* only whitespace may follow the object */
    for (const char *q = p; q < e; q++)
        if (!is_ws(*q))
            return cc_errf(err, errlen, CC_EINVAL, "not JSON: trailing data at offset %zu",
                           (size_t)(q - buf));
    if (s.field_err)
        return CC_EINVAL;
    return finish(d, &fl, out, err, errlen);
}
