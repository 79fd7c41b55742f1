/* cdcevent: CDC_EVENT lines (see cdcevent.h). */
#include "cdcevent.h"

#include <stdlib.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

static inline char *put(char *p, const void *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}
#define PUTL(p, lit) put((p), (lit), sizeof(lit) - 1)

static char *put_u64(char *p, uint64_t v)
{
    char tmp[24];
    int i = (int)sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return put(p, tmp + i, sizeof tmp - (size_t)i);
}

static char *put_i64(char *p, int64_t v)
{
    if (v < 0) {
        *p++ = '-';
        return put_u64(p, (uint64_t)0 - (uint64_t)v);
    }
    return put_u64(p, (uint64_t)v);
}

void cdcevent_unbreak(char *p, size_t n)
{
    int breaks = 0;
#ifdef __SSE2__
    if (n >= 16) {
        const __m128i cr = _mm_set1_epi8('\r');
        __m128i low = _mm_setzero_si128();
        for (size_t i = 0;; i += 16) {
            if (i > n - 16)
                i = n - 16; /* the last chunk overlaps the one before */
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
            low = _mm_or_si128(low, _mm_cmpeq_epi8(_mm_max_epu8(v, cr), cr));
            if (i == n - 16)
                break;
        }
        breaks = _mm_movemask_epi8(low) != 0;
    } else
#endif
    {
        for (size_t i = 0; i < n; i++)
            breaks |= (unsigned char)p[i] <= '\r';
    }
    if (breaks)
        for (size_t i = 0; i < n; i++)
            if (p[i] == '\n' || p[i] == '\r')
                p[i] = ' ';
}

/* Copies escaped JSON string content, escaping raw control characters (which a
 * JSON string cannot hold) so the line stays one line. Needs up to 6*n bytes. */
static char *put_json_text(char *p, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20) {
            p = PUTL(p, "\\u00");
            *p++ = hex[ch >> 4];
            *p++ = hex[ch & 15];
        } else {
            *p++ = (char)ch;
        }
    }
    return p;
}

static int is_plain(const struct canal_str *s)
{
    if (!s->p || s->len == 0 || s->escaped)
        return 0;
    for (size_t i = 0; i < s->len; i++) {
        unsigned char ch = (unsigned char)s->p[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '$' || ch == '.' || ch == '-'))
            return 0;
    }
    return 1;
}

/* A name as-is when plain, else as a JSON string. Needs up to 6*len+2 bytes. */
static char *put_name(char *p, const struct canal_str *s)
{
    if (is_plain(s))
        return put(p, s->p, s->len);
    *p++ = '"';
    if (s->p)
        p = put_json_text(p, s->p, s->len);
    *p++ = '"';
    return p;
}

/* " database=D table=T" into a malloc'd string. */
char *cdcevent_segment(const struct canal_str *db, const struct canal_str *tb, size_t *len)
{
    char *seg = xmalloc(32 + 6 * (db->len + tb->len));
    char *p = seg;
    p = PUTL(p, " database=");
    p = put_name(p, db);
    p = PUTL(p, " table=");
    p = put_name(p, tb);
    *len = (size_t)(p - seg);
    return seg;
}

size_t cdcevent_max_len(const struct canal_msg *m, size_t topic_len, size_t seglen, size_t payload_len)
{
    size_t n = 96 + topic_len + seglen + 6 * m->type.len;
    return m->kind == CANAL_DDL ? n + 6 * m->sql.len : n + payload_len;
}

char *cdcevent_put(char *p, const char *topic, size_t topic_len, int32_t partition, int64_t offset,
                      const char *seg, size_t seglen, const char *op, const struct canal_msg *m,
                      const struct canal_row *row)
{
    p = PUTL(p, "CDC_EVENT topic=");
    p = put(p, topic, topic_len);
    p = PUTL(p, " partition=");
    p = put_i64(p, partition);
    p = PUTL(p, " offset=");
    p = put_i64(p, offset);
    p = put(p, seg, seglen);
    p = PUTL(p, " op=");
    p = put(p, op, strlen(op));
    p = PUTL(p, " type=");
    if (m->kind == CANAL_DML) /* canal_decode checked: INSERT, UPDATE or DELETE */
        p = put(p, m->type.p, m->type.len);
    else
        p = put_name(p, &m->type);
    if (row) {
        p = PUTL(p, " data=");
        p = put(p, row->json, row->len);
        cdcevent_unbreak(p - row->len, row->len);
    } else {
        p = PUTL(p, " data=null sql=\"");
        if (m->sql.p)
            p = put_json_text(p, m->sql.p, m->sql.len);
        *p++ = '"';
    }
    *p++ = '\n';
    return p;
}

void cdcevent_format(struct strbuf *sb, const char *topic, int32_t partition, int64_t offset,
                          const struct canal_msg *m)
{
    if (m->kind == CANAL_WATERMARK)
        return;
    size_t seglen, tl = strlen(topic);
    char *seg = cdcevent_segment(&m->database, &m->table, &seglen);
    if (m->kind == CANAL_DDL) {
        char *buf = xmalloc(cdcevent_max_len(m, tl, seglen, 0));
        char *end = cdcevent_put(buf, topic, tl, partition, offset, seg, seglen, "ddl", m, NULL);
        strbuf_add(sb, buf, (size_t)(end - buf));
        free(buf);
    } else {
        for (size_t i = 0; i < m->nrows; i++) {
            char *buf = xmalloc(cdcevent_max_len(m, tl, seglen, m->rows[i].len));
            char *end = cdcevent_put(buf, topic, tl, partition, offset, seg, seglen, m->op, m, &m->rows[i]);
            strbuf_add(sb, buf, (size_t)(end - buf));
            free(buf);
        }
    }
    free(seg);
}
