/* manifest_util: small helpers of the manifest module: lists, names, shell-word
 * splitting, durations, path joining. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest_priv.h"

void strlist_free(struct strlist *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

void kvlist_free(struct kvlist *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++) {
        free(l->items[i].key);
        free(l->items[i].value);
    }
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

void strlist_add(struct strlist *l, char *s)
{
    l->items = xrealloc(l->items, (l->n + 1) * sizeof *l->items);
    l->items[l->n++] = s;
}

void kvlist_set(struct kvlist *l, char *k, char *v)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->items[i].key, k) == 0) {
            free(k);
            free(l->items[i].value);
            l->items[i].value = v;
            return;
        }
    }
    l->items = xrealloc(l->items, (l->n + 1) * sizeof *l->items);
    l->items[l->n].key = k;
    l->items[l->n].value = v;
    l->n++;
}

int valid_env_name(const char *s)
{
    if (!s || !(*s == '_' || isalpha((unsigned char)*s)))
        return 0;
    for (s++; *s; s++)
        if (!(*s == '_' || isalnum((unsigned char)*s)))
            return 0;
    return 1;
}

int mvalid_name(const char *s)
{
    if (!isalnum((unsigned char)*s))
        return 0;
    for (s++; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '.' && *s != '-')
            return 0;
    return 1;
}

int mis_ip(const char *s, int allow_v6)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, s, buf) == 1 || (allow_v6 && inet_pton(AF_INET6, s, buf) == 1);
}

int valid_hostport(const char *s, int minport)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || !colon[1])
        return 0;
    if (s[0] == '[' && colon[-1] != ']')
        return 0;
    for (const char *p = s; p < colon; p++)
        if (isspace((unsigned char)*p) || *p == '/')
            return 0;
    if (s[0] != '[' && memchr(s, ':', (size_t)(colon - s)))
        return 0; /* bare IPv6: write [addr]:port */
    long port = 0;
    for (const char *p = colon + 1; *p; p++) {
        if (!isdigit((unsigned char)*p) || port > 65535)
            return 0;
        port = port * 10 + (*p - '0');
    }
    return port >= minport && port <= 65535;
}

int shell_split(const char *s, struct strlist *out, char *err, size_t errlen)
{
    struct strbuf w = {0};
    int in_word = 0;
    for (const char *p = s;; p++) {
        char c = *p;
        if (c == '\0' || c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            if (in_word) {
                if (!w.buf)
                    strbuf_adds(&w, "");
                strlist_add(out, strbuf_detach(&w));
                in_word = 0;
            }
            if (c == '\0')
                break;
            continue;
        }
        in_word = 1;
        if (c == '\\') {
            if (p[1] == '\0') {
                strbuf_release(&w);
                return cc_errf(err, errlen, CC_EINVAL, "trailing backslash");
            }
            p++;
            if (*p != '\n')
                strbuf_add(&w, p, 1);
        } else if (c == '\'') {
            const char *end = strchr(p + 1, '\'');
            if (!end) {
                strbuf_release(&w);
                return cc_errf(err, errlen, CC_EINVAL, "unterminated single quote");
            }
            strbuf_add(&w, p + 1, (size_t)(end - p - 1));
            p = end;
        } else if (c == '"') {
            for (p++;; p++) {
                if (*p == '\0') {
                    strbuf_release(&w);
                    return cc_errf(err, errlen, CC_EINVAL, "unterminated double quote");
                }
                if (*p == '"')
                    break;
                if (*p == '\\' && p[1] && strchr("\\\"$`\n", p[1])) {
                    p++;
                    if (*p != '\n')
                        strbuf_add(&w, p, 1);
                    continue;
                }
                strbuf_add(&w, p, 1);
            }
        } else {
            strbuf_add(&w, p, 1);
        }
    }
    strbuf_release(&w);
    return CC_OK;
}

int parse_duration(const char *s, int64_t *ns)
{
    static const struct {
        const char *unit;
        int64_t ns;
    } units[] = {
        {"ns", 1},           {"us", 1000},          {"\xc2\xb5s", 1000}, {"\xce\xbcs", 1000},
        {"ms", 1000000},     {"s", 1000000000LL},   {"m", 60000000000LL}, {"h", 3600000000000LL},
    };
    const char *p = s;
    double total = 0;
    if (!*p)
        return CC_EINVAL;
    if (strcmp(p, "0") == 0) {
        *ns = 0;
        return CC_OK;
    }
    while (*p) {
        const char *num = p;
        while (isdigit((unsigned char)*p))
            p++;
        int int_digits = (int)(p - num);
        int frac_digits = 0;
        if (*p == '.') {
            p++;
            const char *f = p;
            while (isdigit((unsigned char)*p))
                p++;
            frac_digits = (int)(p - f);
        }
        if (int_digits == 0 && frac_digits == 0)
            return CC_EINVAL;
        double v = strtod(num, NULL);
        size_t ulen = 0;
        int64_t mult = 0;
        for (size_t i = 0; i < sizeof units / sizeof *units; i++) {
            size_t l = strlen(units[i].unit);
            if (strncmp(p, units[i].unit, l) == 0 && l > ulen) {
                ulen = l;
                mult = units[i].ns;
            }
        }
        if (!mult)
            return CC_EINVAL;
        p += ulen;
        total += v * (double)mult;
        if (total > 9.2e18)
            return CC_EINVAL;
    }
    *ns = (int64_t)(total + 0.5);
    return CC_OK;
}

void format_duration(int64_t ns, char *buf, size_t len)
{
    static const struct {
        const char *unit;
        int64_t ns;
    } units[] = {
        {"h", 3600000000000LL}, {"m", 60000000000LL}, {"s", 1000000000LL},
        {"ms", 1000000},        {"us", 1000},         {"ns", 1},
    };
    size_t off = 0;
    if (ns <= 0) {
        snprintf(buf, len, "0s");
        return;
    }
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof units / sizeof *units && ns; i++) {
        int64_t q = ns / units[i].ns;
        if (!q)
            continue;
        ns -= q * units[i].ns;
        int w = snprintf(buf + off, off < len ? len - off : 0, "%lld%s", (long long)q,
                         units[i].unit);
        if (w > 0)
            off += (size_t)w;
    }
}

char *mpath_join(const char *base, const char *rel)
{
    struct strbuf in = {0};
    if (rel[0] == '/') {
        strbuf_adds(&in, rel);
    } else {
        if (!base)
            return NULL;
        strbuf_addf(&in, "%s/%s", base, rel);
    }
    /* Split on '/', drop "" and ".", pop on "..". */
    char **parts = xcalloc(in.len + 1, sizeof *parts);
    size_t n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(in.buf, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
        if (strcmp(tok, ".") == 0)
            continue;
        if (strcmp(tok, "..") == 0) {
            if (n)
                n--;
            continue;
        }
        parts[n++] = tok;
    }
    struct strbuf out = {0};
    for (size_t i = 0; i < n; i++)
        strbuf_addf(&out, "/%s", parts[i]);
    if (!n)
        strbuf_adds(&out, "/");
    free(parts);
    strbuf_release(&in);
    return strbuf_detach(&out);
}
