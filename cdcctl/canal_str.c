/* canal_str: canal_str_copy (see canal.h), unescaping JSON string text that
 * canal_decode returned. Kept apart from the scanner in canal.c. */
#include "canal.h"

#include <stdbool.h>
#include <string.h>

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
 * canal_decode only hands out strings its scanner accepted, so in practice only
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
