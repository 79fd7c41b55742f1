/* canal_scan: the validating JSON scanner under canal_decode (internal to canal*.c).
 * It walks a message once: strings with their escapes, numbers, literals and
 * nesting are checked as they are passed, and values the decoder does not read are
 * skipped with the same checks, so a message that is not JSON is rejected whichever
 * field the fault is in. Strings are skipped sixteen (SSE2) or eight bytes at a
 * time. The small hot functions are here as static inline; scan_skip_value and
 * the error helpers are in canal_scan.c.
 *
 * Errors: a syntax error ("not JSON: ...") is written to the scan's err and the
 * function returns NULL at once; a field error (wrong type, out of range) is
 * remembered by scan_field_err and reported once the whole message was found to be
 * JSON. */
#ifndef CDCCTL_CANAL_SCAN_H
#define CDCCTL_CANAL_SCAN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "canal.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* A value text already validated by skip_value, remembered to be recognised by
 * comparison (see canal.c, memo). */
struct canal_memo {
    uint64_t tag; /* 0: empty */
    size_t len, cap;
    char *text;
};

#define CANAL_MEMO_SLOTS 1024 /* direct-mapped; topics carry hundreds of tables */

struct canal_decoder {
    struct canal_row *rows;
    size_t nrowcap;
    char *stack; /* closing bracket of each container skip_value is inside */
    size_t stackcap;
    bool shortcuts; /* predicted key order and the memo (canal_decoder_set_shortcuts) */
    struct canal_memo *memo; /* CANAL_MEMO_SLOTS */
    size_t memo_bytes;       /* capacity of their texts, together */
};

struct scan {
    const char *buf, *end;
    struct canal_decoder *d;
    char *err;
    size_t errlen;
    bool field_err; /* err holds a field error (a syntax error replaces it) */
    uint64_t table_hash; /* canal.c's memo: 0 until computed */
};

/* Writes the syntax error at `at` to s->err ("not JSON: truncated" when the
 * input ended there). */
void scan_syntax_err(struct scan *s, const char *at);

/* scan_syntax_err, returning NULL so callers can `return scan_syntax(...)`. */
static inline const char *scan_syntax(struct scan *s, const char *at)
{
    scan_syntax_err(s, at);
    return NULL;
}

/* Remembers the first field error; reported only if the message is JSON. */
void scan_field_err(struct scan *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* What a value that starts with c is ("an object", "a string", ...). */
const char *scan_kind(char c);

/* The fraction and exponent of a number, from the '.', 'e' or 'E' at p. */
const char *scan_frac(struct scan *s, const char *p);

/* Skips the value at p (whitespace before it skipped), checking its syntax; the
 * nesting is tracked on the decoder's stack, so depth costs no C stack. Raw
 * control characters in strings are syntax errors here. Returns the position after
 * the value, or NULL after a syntax error. */
const char *scan_skip_value(struct scan *s, const char *p);

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
            return scan_syntax(s, p);
        char c = *p;
        if (c == '"')
            return p + 1;
        if (c == '\\') {
            *flags |= S_ESC;
            if (p + 1 >= e)
                return scan_syntax(s, p + 1);
            c = p[1];
            if (c == 'u') {
                for (int i = 2; i < 6; i++) {
                    if (p + i >= e)
                        return scan_syntax(s, p + i);
                    if (!is_hex(p[i]))
                        return scan_syntax(s, p + i);
                }
                p += 6;
            } else if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' ||
                       c == 'r' || c == 't') {
                p += 2;
            } else {
                return scan_syntax(s, p + 1);
            }
        } else if (c == '\0' || !ctl_ok) {
            return scan_syntax(s, p);
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
            return scan_syntax(s, p + i);
    return p + n;
}



/* A JSON number (RFC 8259 grammar) at p. */
static inline const char *scan_num(struct scan *s, const char *p)
{
    const char *e = s->end;
    if (p < e && *p == '-')
        p++;
    if (p >= e)
        return scan_syntax(s, p);
    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        do
            p++;
        while (p < e && is_digit(*p));
    } else {
        return scan_syntax(s, p);
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
        return scan_syntax(s, p);
    const char *k = p + 1;
    p = scan_str(s, p, &f, false);
    if (!p)
        return NULL;
    *key = k;
    *keylen = (size_t)(p - 1 - k);
    if (p >= s->end || *p != ':') {
        p = ws(p, s->end);
        if (p >= s->end || *p != ':')
            return scan_syntax(s, p);
    }
    p = ws(p + 1, s->end);
    return p < s->end ? p : scan_syntax(s, p);
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
    return scan_syntax(s, p);
}

#endif
