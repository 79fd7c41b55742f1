/* canal: canal-json as TiCDC emits it, decoded on the consumer's hot path. The
 * top-level object is walked once by the validating scanner (canal_scan.h): the
 * fields the consumer needs are read, every other value is skipped with its full
 * JSON syntax checked, so a message that is not JSON is rejected whichever field
 * the fault is in. No allocation per message in steady state (the row array, the
 * nesting stack and the memo are owned by the decoder, grown, never shrunk); every
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
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canal_scan.h"
#include "util.h"

#define CANAL_ROWS_INITIAL 4
#define CANAL_STACK_INITIAL 64

struct canal_decoder *canal_decoder_new(void)
{
    struct canal_decoder *d = xcalloc(1, sizeof(*d));
    d->nrowcap = CANAL_ROWS_INITIAL;
    d->rows = xmalloc(sizeof(*d->rows) * d->nrowcap);
    d->stackcap = CANAL_STACK_INITIAL;
    d->stack = xmalloc(d->stackcap);
    d->shortcuts = true;
    d->memo = xcalloc(CANAL_MEMO_SLOTS, sizeof(*d->memo));
    return d;
}

void canal_decoder_free(struct canal_decoder *d)
{
    if (!d)
        return;
    free(d->rows);
    free(d->stack);
    for (size_t i = 0; i < CANAL_MEMO_SLOTS; i++)
        free(d->memo[i].text);
    free(d->memo);
    free(d);
}

void canal_decoder_set_shortcuts(struct canal_decoder *d, int on)
{
    d->shortcuts = on != 0;
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

/* str_field's general case (escapes, control characters, null, other types). */
static const char *str_field_slow(struct scan *s, const char *p, const char *name,
                                  struct canal_str *out, bool *is_str)
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
            scan_field_err(s, "%s: raw control character in the string", name);
        return q;
    }
    const char *q = scan_skip_value(s, p);
    if (!q)
        return NULL;
    if (*p == 'n')
        *out = empty;
    else
        scan_field_err(s, "%s: is %s, want a string", name, scan_kind(*p));
    return q;
}

/* A top-level string field: a string (raw control characters are a field
 * error) or null (-> ""); anything else is a field error. *is_str tells which.
 * Inline: a string without escapes or control characters is found by one search. */
static inline __attribute__((always_inline)) const char *str_field(struct scan *s, const char *p,
                                                                  const char *name,
                                                                  struct canal_str *out, bool *is_str)
{
    if (*p == '"') {
        const char *q = find_special(p + 1, s->end);
        if (q < s->end && *q == '"') {
            out->p = p + 1;
            out->len = (size_t)(q - p - 1);
            out->escaped = 0;
            *is_str = true;
            return q + 1;
        }
    }
    return str_field_slow(s, p, name, out, is_str);
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
            scan_field_err(s, "%s: not an integer: %.*s", name, (int)(e - start > 40 ? 40 : e - start),
                      start);
            return false;
        }
        unsigned dgt = (unsigned)(*p - '0');
        if (v >= UINT64_MAX / 10 && (v > UINT64_MAX / 10 || dgt > UINT64_MAX % 10)) {
            scan_field_err(s, "%s: out of range", name);
            return false;
        }
        v = v * 10 + dgt;
    }
    *mag = v;
    return true;
}

/* The value of eight digits (each byte 0-9, the most significant in the lowest
 * byte), by multiplying pairs, then pairs of pairs, in one word. */
static inline uint64_t swar8(uint64_t w)
{
    w = w * 10 + (w >> 8);
    return (((w & 0x000000FF000000FFULL) * (100 + (1000000ULL << 32))) +
            (((w >> 16) & 0x000000FF000000FFULL) * (1 + (10000ULL << 32)))) >> 32;
}

/* The value of the run of digits at *q, which is advanced past it. Eight bytes at
 * a time: the first non-digit of a word is found by its bits, the digits before it
 * are shifted to the top of the word and converted together. The value wraps
 * beyond 19 digits (the caller rejects those). */
static inline uint64_t read_digits(const char **q, const char *e)
{
    static const uint64_t pow10[8] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000};
    const char *p = *q;
    uint64_t mag = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    while (e - p >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        w ^= 0x3030303030303030ULL; /* digits become 0-9 */
        uint64_t bad = (w & 0xF0F0F0F0F0F0F0F0ULL) |
                       (((w & 0x0F0F0F0F0F0F0F0FULL) + 0x0606060606060606ULL) & 0x1010101010101010ULL);
        if (!bad) {
            mag = mag * 100000000 + swar8(w);
            p += 8;
            continue;
        }
        unsigned k = (unsigned)__builtin_ctzll(bad) >> 3; /* digits before the first non-digit */
        if (k)
            mag = mag * pow10[k] + swar8(w << (8 * (8 - k)));
        *q = p + k;
        return mag;
    }
#endif
    while (p < e && is_digit(*p))
        mag = mag * 10 + (unsigned)(*p++ - '0');
    *q = p;
    return mag;
}

/* A number field: es, ts (int64) or _tidb's uint64 timestamps. The common case
 * (an integer of at most 19 digits, which cannot overflow) is read in one pass. */
static const char *int_field(struct scan *s, const char *p, const char *name, bool is_signed,
                             int64_t *i64, uint64_t *u64)
{
    const char *e = s->end;
    if (*p != '-' && !is_digit(*p)) {
        const char *q = scan_skip_value(s, p);
        if (q)
            scan_field_err(s, "%s: is %s, want an integer", name, scan_kind(*p));
        return q;
    }
    const char *q = p;
    bool neg = *q == '-';
    q += neg;
    const char *digits = q;
    uint64_t mag = read_digits(&q, e);
    size_t nd = (size_t)(q - digits);
    if (nd == 0 || (nd > 1 && *digits == '0') || nd > 19 ||
        (q < e && (*q == '.' || *q == 'e' || *q == 'E'))) {
        /* not the common case: check the syntax, then read it carefully */
        if (!(q = scan_num(s, p)) || !parse_int(s, p, q, name, &neg, &mag))
            return q;
    }
    if (is_signed) {
        if (neg ? mag > (uint64_t)INT64_MAX + 1 : mag > (uint64_t)INT64_MAX)
            scan_field_err(s, "%s: out of range", name);
        else
            *i64 = neg ? (int64_t)(0 - mag) : (int64_t)mag;
    } else {
        if (neg && mag != 0)
            scan_field_err(s, "%s: negative", name);
        else
            *u64 = mag;
    }
    return q;
}

/* _tidb: {"commitTs": N} or {"watermarkTs": N}, other keys skipped; null allowed. */
static const char *tidb_field(struct scan *s, const char *p, struct canal_msg *out)
{
    if (*p != '{') {
        const char *q = scan_skip_value(s, p);
        if (q && *p != 'n')
            scan_field_err(s, "_tidb: is %s, want an object", scan_kind(*p));
        return q;
    }
    p = ws(p + 1, s->end);
    if (p < s->end && *p == '}')
        return p + 1;
    for (;;) {
        const char *k;
        size_t kl;
        int closed;
        if (s->end - p > 11 && memcmp(p, "\"commitTs\":", 11) == 0 && (unsigned char)p[11] > ' ') {
            k = p + 1; /* the usual key, without whitespace: matching it is checking it */
            kl = 8;
            p += 11;
        } else if (!(p = key_colon(s, p, &k, &kl))) {
            return NULL;
        }
        if (kl == 8 && memcmp(k, "commitTs", 8) == 0)
            p = int_field(s, p, "_tidb.commitTs", false, NULL, &out->commit_ts);
        else if (kl == 11 && memcmp(k, "watermarkTs", 11) == 0)
            p = int_field(s, p, "_tidb.watermarkTs", false, NULL, &out->watermark_ts);
        else
            p = scan_skip_value(s, p);
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
        const char *q = scan_skip_value(s, p);
        fl->data_kind = scan_kind(*p);
        return q;
    }
    p = ws(p + 1, e);
    if (p < e && *p == ']')
        return p + 1;
    for (;;) {
        int closed;
        size_t r = fl->nelems++;
        if (p >= e)
            return scan_syntax(s, p);
        if (*p != '{') {
            const char *v = p;
            if (!(p = scan_skip_value(s, p)))
                return NULL;
            if (fl->row_err == ROW_OK) {
                fl->row_err = ROW_NOT_OBJECT;
                fl->row_i = r;
                fl->row_kind = scan_kind(*v);
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
                        return scan_syntax(s, p);
                    const char *k = p + 1;
                    if (!(p = scan_str(s, p, &f, true)))
                        return NULL;
                    size_t kl = (size_t)(p - 1 - k);
                    p = ws(p, e);
                    if (p >= e || *p != ':')
                        return scan_syntax(s, p);
                    p = ws(p + 1, e);
                    if (p < e && *p == '"') {
                        p = scan_str(s, p, &f, true);
                    } else {
                        const char *v = p;
                        p = scan_skip_value(s, p);
                        if (p && *v != 'n' && !bad_kind) {
                            bad_kind = scan_kind(*v);
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

/* The top-level keys the decoder reads or remembers, in the order TiCDC writes
 * them (reference/tidb-ticdc.md section 5). */
enum field {
    F_OTHER,
    F_ID,
    F_DATABASE,
    F_TABLE,
    F_PKNAMES,
    F_ISDDL,
    F_TYPE,
    F_ES,
    F_TS,
    F_SQL,
    F_SQLTYPE,
    F_MYSQLTYPE,
    F_DATA,
    F_OLD,
    F_TIDB,
    F_COUNT
};

/* Each key quoted and followed by its colon, as TiCDC writes it; padded to 16
 * bytes for key_at. Such a key holds no escape or control character, so matching
 * its text is checking it. */
static const struct {
    _Alignas(16) char text[16];
    unsigned len;
} key_text[F_COUNT] = {
    [F_ID] = {"\"id\":", 5},           [F_DATABASE] = {"\"database\":", 11},
    [F_TABLE] = {"\"table\":", 8},     [F_PKNAMES] = {"\"pkNames\":", 10},
    [F_ISDDL] = {"\"isDdl\":", 8},     [F_TYPE] = {"\"type\":", 7},
    [F_ES] = {"\"es\":", 5},           [F_TS] = {"\"ts\":", 5},
    [F_SQL] = {"\"sql\":", 6},         [F_SQLTYPE] = {"\"sqlType\":", 10},
    [F_MYSQLTYPE] = {"\"mysqlType\":", 12}, [F_DATA] = {"\"data\":", 7},
    [F_OLD] = {"\"old\":", 6},         [F_TIDB] = {"\"_tidb\":", 8},
};

/* Whether the text at p is key f's (quotes and colon included). */
static inline bool key_at(const char *p, const char *e, enum field f)
{
    unsigned n = key_text[f].len;
#ifdef __SSE2__
    if (e - p >= 16) {
        __m128i a = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i k = _mm_load_si128((const __m128i *)(const void *)key_text[f].text);
        unsigned want = (1u << n) - 1;
        return ((unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(a, k)) & want) == want;
    }
#endif
    return (size_t)(e - p) >= n && memcmp(p, key_text[f].text, n) == 0;
}

/* The field whose raw key text (between the quotes) is k. */
static enum field field_of(const char *k, size_t kl)
{
    for (int f = F_ID; f < F_COUNT; f++)
        if (key_text[f].len == kl + 3 && memcmp(k, key_text[f].text + 1, kl) == 0)
            return (enum field)f;
    return F_OTHER;
}

/* ---- memo ----
 * pkNames, sqlType and mysqlType are the same in every message of a table. The
 * decoder remembers, per (database, table, field), the text of the last such
 * value that scan_skip_value accepted; when the next message holds the same bytes
 * at the same place, the value is passed by one comparison instead of a scan. Only
 * objects, arrays and strings are remembered: a JSON text that starts like them
 * ends where its brackets or quotes say, so equal bytes are the same value, valid
 * as before, ending at the same place (a number is not: "12" is a prefix of "123"). */

#define MEMO_MAX 4096               /* longest value remembered */
#define MEMO_BUDGET (1024 * 1024)   /* all the texts remembered, at most */

/* The first (up to) eight bytes of a name (a span inside the message, or the
 * static "" when absent), as a word: loaded whole when the message goes on for
 * eight bytes, which it does but at its very end. */
static inline uint64_t head8(const struct scan *s, const struct canal_str *v)
{
    uint64_t w = 0;
    if (v->len == 0) /* absent or null: the static "" */
        return 0;
    if (s->end - v->p >= 8) {
        memcpy(&w, v->p, 8);
        if (v->len < 8)
            w &= (1ULL << (8 * v->len)) - 1;
    } else {
        memcpy(&w, v->p, v->len < 8 ? v->len : 8);
    }
    return w;
}

/* A hash of the message's database and table as read so far (it only picks the
 * slot and tells tables apart: the comparison decides), once per message. */
static uint64_t memo_tag(struct scan *s, const struct canal_msg *m, enum field f)
{
    if (!s->table_hash) {
        uint64_t h = head8(s, &m->database) * 0x9E3779B97F4A7C15ULL;
        h ^= (h >> 29) ^ head8(s, &m->table);
        h *= 0xBF58476D1CE4E5B9ULL;
        h ^= (h >> 31) ^ ((uint64_t)m->database.len << 32) ^ m->table.len;
        if (m->table.len > 8) /* the tail too: t_orders_2024_01 vs t_orders_2024_02 */
            h ^= head8(s, &(struct canal_str){m->table.p + m->table.len - 8, 8, 0}) * 0x94D049BB133111EBULL;
        s->table_hash = h | 1;
    }
    return s->table_hash ^ ((uint64_t)f << 17);
}

/* Whether a and b hold the same n bytes (inline: the values are short; the last
 * chunk overlaps the one before instead of going byte by byte). */
static inline bool same_bytes(const char *a, const char *b, size_t n)
{
#ifdef __SSE2__
    if (n >= 16) {
        for (size_t i = 0;; i += 16) {
            if (i > n - 16)
                i = n - 16;
            __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(a + i));
            __m128i y = _mm_loadu_si128((const __m128i *)(const void *)(b + i));
            if (_mm_movemask_epi8(_mm_cmpeq_epi8(x, y)) != 0xFFFF)
                return false;
            if (i == n - 16)
                return true;
        }
    }
#endif
    if (n >= 8) {
        uint64_t x0, y0, x1, y1;
        memcpy(&x0, a, 8);
        memcpy(&y0, b, 8);
        memcpy(&x1, a + n - 8, 8);
        memcpy(&y1, b + n - 8, 8);
        return ((x0 ^ y0) | (x1 ^ y1)) == 0;
    }
    return memcmp(a, b, n) == 0;
}

/* Skips the value at p like scan_skip_value, by the memo when it holds it. */
static const char *memo_skip(struct scan *s, const char *p, const struct canal_msg *out, enum field f)
{
    struct canal_decoder *d = s->d;
    if (!d->shortcuts || (*p != '{' && *p != '[' && *p != '"'))
        return scan_skip_value(s, p);
    uint64_t tag = memo_tag(s, out, f);
    struct canal_memo *m = &d->memo[(tag >> 17) % CANAL_MEMO_SLOTS];
    if (m->tag == tag && (size_t)(s->end - p) >= m->len && same_bytes(p, m->text, m->len))
        return p + m->len;
    const char *q = scan_skip_value(s, p);
    size_t n = q ? (size_t)(q - p) : 0;
    if (q && n <= MEMO_MAX) {
        if (m->cap < n) {
            size_t cap = n < 64 ? 64 : n;
            if (d->memo_bytes + cap - m->cap > MEMO_BUDGET)
                return q; /* full: this value is scanned every time */
            d->memo_bytes += cap - m->cap;
            m->cap = cap;
            m->text = xrealloc(m->text, m->cap);
        }
        memcpy(m->text, p, n);
        m->len = n;
        m->tag = tag;
    }
    return q;
}

/* One member of the top-level object: field f, value at p. */
static const char *member(struct scan *s, enum field f, const char *p, struct canal_msg *out,
                          struct fields *fl)
{
    bool is_str;
    const char *q;
    switch (f) {
    case F_ES:
        return int_field(s, p, "es", true, &out->es_ms, NULL);
    case F_TS:
        return int_field(s, p, "ts", true, &out->ts_ms, NULL);
    case F_SQL:
        return str_field(s, p, "sql", &out->sql, &is_str);
    case F_TYPE:
        fl->have_type = true;
        if (*p == 'n') { /* null is not a type */
            if ((q = scan_skip_value(s, p)))
                scan_field_err(s, "type: is null, want a string");
            return q;
        }
        return str_field(s, p, "type", &out->type, &is_str);
    case F_DATA:
        return data_field(s, p, fl);
    case F_TABLE:
        q = str_field(s, p, "table", &out->table, &is_str);
        fl->have_table = is_str;
        return q;
    case F_DATABASE:
        q = str_field(s, p, "database", &out->database, &is_str);
        fl->have_db = is_str;
        return q;
    case F_ISDDL:
        q = scan_skip_value(s, p);
        if (q && (*p == 't' || *p == 'f'))
            fl->is_ddl = *p == 't';
        else if (q)
            scan_field_err(s, "isDdl: is %s, want a boolean", scan_kind(*p));
        return q;
    case F_TIDB:
        return tidb_field(s, p, out);
    case F_PKNAMES:
    case F_SQLTYPE:
    case F_MYSQLTYPE:
        return memo_skip(s, p, out, f);
    default:
        return scan_skip_value(s, p);
    }
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

    struct scan s = {.buf = buf, .end = buf + len, .d = d, .err = err, .errlen = errlen};
    struct fields fl = {.is_ddl = -1};
    const char *e = buf + len, *p = ws(buf, e);
    if (p == e || *p != '{')
        return not_object(buf, len, err, errlen);
    p = ws(p + 1, e);
    if (p < e && *p == '}') {
        p++;
    } else {
        /* The key TiCDC writes next is tried first: one comparison. */
        enum field want = F_ID, f;
        for (;;) {
            int closed;
            if (d->shortcuts && key_at(p, e, want) && p + key_text[want].len < e &&
                (unsigned char)p[key_text[want].len] > ' ') {
                f = want;
                p += key_text[want].len; /* the usual case: no whitespace before the value */
            } else {
                const char *k;
                size_t kl;
                if (!(p = key_colon(&s, p, &k, &kl)))
                    return CC_EINVAL;
                f = field_of(k, kl);
            }
            if (f != F_OTHER)
                want = f + 1 < F_COUNT ? f + 1 : F_ID;
            if (!(p = member(&s, f, p, out, &fl)) || !(p = next_member(&s, p, '}', &closed)))
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
