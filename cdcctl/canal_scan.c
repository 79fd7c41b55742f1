/* canal_scan: the scanner's out-of-line parts (see canal_scan.h): error helpers,
 * number fractions, and scan_skip_value with its fast paths for the shapes TiCDC
 * sends (plain scalars, flat objects and arrays). */
#include "canal_scan.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "util.h"

void scan_syntax_err(struct scan *s, const char *at)
{
    if (at >= s->end)
        cc_errf(s->err, s->errlen, CC_EINVAL, "not JSON: truncated");
    else
        cc_errf(s->err, s->errlen, CC_EINVAL, "not JSON: invalid character at offset %zu",
                (size_t)(at - s->buf));
}

/* Remembers the first field error; reported only if the message is JSON. */
void scan_field_err(struct scan *s, const char *fmt, ...)
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

/* What a value that starts with c is (c is the first byte of a valid value). */
const char *scan_kind(char c)
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

/* The fraction and exponent of a number, from the '.', 'e' or 'E' at p. */
const char *scan_frac(struct scan *s, const char *p)
{
    const char *e = s->end;
    if (*p == '.') {
        p++;
        if (p >= e || !is_digit(*p))
            return scan_syntax(s, p);
        do
            p++;
        while (p < e && is_digit(*p));
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '+' || *p == '-'))
            p++;
        if (p >= e || !is_digit(*p))
            return scan_syntax(s, p);
        do
            p++;
        while (p < e && is_digit(*p));
    }
    return p;
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
const char *scan_skip_value(struct scan *s, const char *p)
{
    const char *e = s->end, *k;
    struct canal_decoder *d = s->d;
    size_t depth = 0, kl;
    if (p < e) { /* the common shapes first; anything else is scanned in full below */
        const char *q = *p == '{' || *p == '[' ? skip_flat(s, p) : flat_scalar(s, p);
        if (q)
            return q;
    }
    for (;;) {
        if (p >= e)
            return scan_syntax(s, p);
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
                return scan_syntax(s, p);
            if (*p == ',') {
                p = ws(p + 1, e);
                if (d->stack[depth - 1] == '}' && !(p = key_colon(s, p, &k, &kl)))
                    return NULL;
                break;
            }
            if (*p != d->stack[depth - 1])
                return scan_syntax(s, p);
            p++;
            depth--;
        }
    }
}
