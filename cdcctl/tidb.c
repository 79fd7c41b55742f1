/* tidb: readiness, schema, users and grants over the MySQL protocol. */
#include "tidb.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

struct tidb_conn {
    MYSQL *my;
};

/* ---------------------------------------------------------------- helpers */

static int split_hostport(const char *hp, char *host, size_t hostlen, unsigned *port)
{
    const char *colon;
    size_t hlen;
    if (!hp || !*hp)
        return -1;
    if (hp[0] == '[') {
        const char *end = strchr(hp, ']');
        if (!end || end[1] != ':')
            return -1;
        hlen = (size_t)(end - hp - 1);
        hp++;
        colon = end + 1;
    } else {
        colon = strrchr(hp, ':');
        if (!colon)
            return -1;
        hlen = (size_t)(colon - hp);
    }
    char *endp = NULL;
    errno = 0;
    long p = strtol(colon + 1, &endp, 10);
    if (errno || !endp || *endp || p <= 0 || p > 65535 || hlen == 0 || hlen >= hostlen)
        return -1;
    memcpy(host, hp, hlen);
    host[hlen] = '\0';
    *port = (unsigned)p;
    return 0;
}

void tidb_scrub(char *s, const char *secret)
{
    if (!s || !secret || !*secret)
        return;
    /* the raw value and the forms escaping produces (\' \" \\ and '') */
    struct strbuf esc = {0}, dbl = {0};
    for (const char *p = secret; *p; p++) {
        if (*p == '\'' || *p == '"' || *p == '\\')
            strbuf_add(&esc, "\\", 1);
        strbuf_add(&esc, p, 1);
        strbuf_add(&dbl, p, 1);
        if (*p == '\'')
            strbuf_add(&dbl, "'", 1);
    }
    const char *forms[3] = {esc.buf, dbl.buf, secret}; /* longest forms first */
    for (int f = 0; f < 3; f++) {
        size_t n = strlen(forms[f]);
        char *from = s, *hit;
        while ((hit = strstr(from, forms[f])) != NULL) {
            /* "***" for secrets of 3+ bytes (never grows the buffer), else same-length stars */
            size_t stars = n >= 3 ? 3 : n;
            memset(hit, '*', stars);
            memmove(hit + stars, hit + n, strlen(hit + n) + 1);
            from = hit + stars;
        }
    }
    strbuf_release(&esc);
    strbuf_release(&dbl);
}

/* --------------------------------------------------------------- connection */

int tidb_connect(const char *hostport, const char *user, const char *password, double timeout_s,
                 struct tidb_conn **out, unsigned *server_errno, char *err, size_t errlen)
{
    char host[256];
    unsigned port = 0;
    *out = NULL;
    if (server_errno)
        *server_errno = 0;
    if (split_hostport(hostport, host, sizeof host, &port) != 0)
        return cc_errf(err, errlen, CC_EINVAL, "bad address '%s': want host:port", hostport);
    MYSQL *my = mysql_init(NULL);
    if (!my)
        return cc_errf(err, errlen, CC_ERR, "mysql_init failed");
    unsigned int t = timeout_s < 1 ? 1 : (unsigned int)(timeout_s + 0.5);
    unsigned int proto = MYSQL_PROTOCOL_TCP;
    mysql_optionsv(my, MYSQL_OPT_CONNECT_TIMEOUT, &t);
    mysql_optionsv(my, MYSQL_OPT_READ_TIMEOUT, &t);
    mysql_optionsv(my, MYSQL_OPT_WRITE_TIMEOUT, &t);
    mysql_optionsv(my, MYSQL_OPT_PROTOCOL, &proto);
    mysql_optionsv(my, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    if (!mysql_real_connect(my, host, user, password ? password : "", NULL, port, NULL, 0)) {
        unsigned e = mysql_errno(my);
        if (server_errno)
            *server_errno = e;
        cc_errf(err, errlen, CC_ERR, "%u %s", e, mysql_error(my));
        tidb_scrub(err, password);
        mysql_close(my);
        return CC_ERR;
    }
    struct tidb_conn *c = xcalloc(1, sizeof *c);
    c->my = my;
    *out = c;
    return CC_OK;
}

void tidb_close(struct tidb_conn *c)
{
    if (!c)
        return;
    if (c->my)
        mysql_close(c->my);
    free(c);
}

struct tidb_conn *tidb_unconnected(void)
{
    struct tidb_conn *c = xcalloc(1, sizeof *c);
    c->my = mysql_init(NULL);
    if (!c->my)
        abort();
    return c;
}

/* Runs one statement and drains every result set it produces. */
static int run_sql(struct tidb_conn *c, const char *sql, size_t len, char *err, size_t errlen)
{
    if (mysql_real_query(c->my, sql, (unsigned long)len) != 0)
        return cc_errf(err, errlen, CC_ERR, "%u %s", mysql_errno(c->my), mysql_error(c->my));
    do {
        MYSQL_RES *res = mysql_store_result(c->my);
        if (res)
            mysql_free_result(res);
        else if (mysql_field_count(c->my) != 0)
            return cc_errf(err, errlen, CC_ERR, "%u %s", mysql_errno(c->my), mysql_error(c->my));
    } while (mysql_next_result(c->my) == 0);
    if (mysql_errno(c->my))
        return cc_errf(err, errlen, CC_ERR, "%u %s", mysql_errno(c->my), mysql_error(c->my));
    return CC_OK;
}

int tidb_version(struct tidb_conn *c, char *out, size_t outlen, char *err, size_t errlen)
{
    static const char q[] = "SELECT VERSION()";
    if (mysql_real_query(c->my, q, sizeof q - 1) != 0)
        return cc_errf(err, errlen, CC_ERR, "%u %s", mysql_errno(c->my), mysql_error(c->my));
    MYSQL_RES *res = mysql_store_result(c->my);
    if (!res)
        return cc_errf(err, errlen, CC_ERR, "%u %s", mysql_errno(c->my), mysql_error(c->my));
    MYSQL_ROW row = mysql_fetch_row(res);
    snprintf(out, outlen, "%s", row && row[0] ? row[0] : "");
    mysql_free_result(res);
    return CC_OK;
}

/* ---------------------------------------------------------------- readiness */

static size_t collect(char *data, size_t size, size_t nmemb, void *ud)
{
    struct strbuf *sb = ud;
    if (sb->len + size * nmemb > (8u << 20))
        return 0; /* refuse absurd answers */
    strbuf_add(sb, data, size * nmemb);
    return size * nmemb;
}

/* GET http://hostport/path: 0 on an HTTP answer (*status, body in sb), -1 when
 * nothing answered (err says why). */
static int http_get(const char *hostport, const char *path, long *status, struct strbuf *sb,
                    char *err, size_t errlen)
{
    CURL *h = curl_easy_init();
    if (!h) {
        cc_errf(err, errlen, CC_ERR, "curl_easy_init failed");
        return -1;
    }
    char url[512];
    snprintf(url, sizeof url, "http://%s%s", hostport, path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, sb);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    CURLcode rc = curl_easy_perform(h);
    if (rc != CURLE_OK) {
        cc_errf(err, errlen, CC_ERR, "%s", curl_easy_strerror(rc));
        curl_easy_cleanup(h);
        return -1;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    curl_easy_cleanup(h);
    return 0;
}

int tidb_pd_stores_up(const char *body, char *states_out, size_t states_len)
{
    json_error_t je;
    json_t *doc = json_loads(body, 0, &je);
    json_t *stores = doc ? json_object_get(doc, "stores") : NULL;
    if (!doc || !json_is_object(doc) || (stores && !json_is_array(stores) && !json_is_null(stores))) {
        json_decref(doc);
        snprintf(states_out, states_len, "unreadable answer");
        return -1;
    }
    struct strbuf sb = {0};
    int up = 0;
    size_t i;
    json_t *st;
    json_array_foreach(stores, i, st) {
        const char *name = json_string_value(json_object_get(json_object_get(st, "store"),
                                                             "state_name"));
        if (!name)
            name = "unknown";
        if (strcmp(name, "Up") == 0)
            up = 1;
        if (!strstr(sb.buf ? sb.buf : "", name))
            strbuf_addf(&sb, "%s%s", sb.len ? ", " : "", name);
    }
    snprintf(states_out, states_len, "%s", sb.len ? sb.buf : "no stores yet");
    strbuf_release(&sb);
    json_decref(doc);
    return up;
}

int tidb_wait_pd_store_up(const char *pd_hostport, double deadline, FILE *progress, char *err,
                          size_t errlen)
{
    char last[256] = "", why[256];
    double delay = 0.5;
    for (int attempt = 0;; attempt++) {
        struct strbuf body = {0};
        long status = 0;
        char herr[200];
        if (http_get(pd_hostport, "/pd/api/v1/stores", &status, &body, herr, sizeof herr) != 0) {
            strbuf_release(&body);
            if (attempt == 0)
                return cc_errf(err, errlen, CC_ENOTFOUND, "PD at %s not reachable: %s",
                               pd_hostport, herr);
            snprintf(why, sizeof why, "PD unreachable: %s", herr);
        } else if (status != 200) {
            snprintf(why, sizeof why, "PD says: HTTP %ld", status);
            strbuf_release(&body);
        } else {
            char states[200];
            int up = tidb_pd_stores_up(body.buf ? body.buf : "", states, sizeof states);
            strbuf_release(&body);
            if (up == 1)
                return CC_OK;
            snprintf(why, sizeof why, "PD says: %s", states);
        }
        if (progress && strcmp(why, last) != 0) {
            fprintf(progress, "tidb: waiting for TiKV store to be Up (%s)\n", why);
            fflush(progress);
            snprintf(last, sizeof last, "%s", why);
        }
        if (now_monotonic() + delay > deadline)
            return cc_errf(err, errlen, CC_ETIMEOUT, "no TiKV store is Up (%s)", why);
        sleep_seconds(delay);
        delay = delay * 2 > 5 ? 5 : delay * 2;
    }
}

int tidb_wait_ready(const char *hostport, double deadline, FILE *progress, struct tidb_conn **out,
                    char *err, size_t errlen)
{
    const char *rootpw = getenv("TIDB_ROOT_PASSWORD");
    char last[ERRLEN] = "", why[ERRLEN];
    double delay = 0.5;
    for (;;) {
        unsigned e = 0;
        double left = deadline - now_monotonic();
        int rc = tidb_connect(hostport, "root", rootpw, left > 10 ? 10 : (left < 1 ? 1 : left),
                              out, &e, why, sizeof why);
        if (rc == CC_OK)
            return CC_OK;
        if (rc == CC_EINVAL)
            return cc_errf(err, errlen, rc, "%s", why);
        if (e == ER_ACCESS_DENIED_ERROR || e == ER_DBACCESS_DENIED_ERROR)
            return cc_errf(err, errlen, CC_ERR,
                           "cannot log in as root at %s: %s (set TIDB_ROOT_PASSWORD)", hostport,
                           why);
        if (progress && strcmp(why, last) != 0) {
            fprintf(progress, "tidb: waiting for TiDB at %s to accept connections (%s)\n",
                    hostport, why);
            fflush(progress);
            snprintf(last, sizeof last, "%s", why);
        }
        if (now_monotonic() + delay > deadline)
            return cc_errf(err, errlen, CC_ETIMEOUT, "TiDB at %s not ready: %s", hostport, why);
        sleep_seconds(delay);
        delay = delay * 2 > 5 ? 5 : delay * 2;
    }
}

/* ------------------------------------------------------------------- schema */

void tidb_split_sql(const char *sql, size_t len, struct sql_stmt **out, size_t *n)
{
    enum { CODE, SQUOTE, DQUOTE, BQUOTE, LINE_COMMENT, BLOCK_COMMENT } st = CODE;
    size_t cap = 8, cnt = 0, start = 0;
    int line = 1, start_line = 1, has_code = 0;
    struct sql_stmt *v = xmalloc(cap * sizeof *v);
    for (size_t i = 0; i <= len; i++) {
        char ch = i < len ? sql[i] : ';'; /* a virtual ';' ends the last statement */
        char nx = i + 1 < len ? sql[i + 1] : '\0';
        int at_end = i == len;
        switch (st) {
        case SQUOTE:
        case DQUOTE:
        case BQUOTE: {
            char q = st == SQUOTE ? '\'' : st == DQUOTE ? '"' : '`';
            if (at_end)
                break;
            if (ch == '\\' && st != BQUOTE && i + 1 < len) {
                if (nx == '\n')
                    line++;
                i++;
            } else if (ch == q) {
                st = CODE;
            }
            if (ch == '\n')
                line++;
            continue;
        }
        case LINE_COMMENT:
            if (at_end)
                break;
            if (ch == '\n') {
                st = CODE;
                line++;
            }
            continue;
        case BLOCK_COMMENT:
            if (at_end)
                break;
            if (ch == '*' && nx == '/') {
                st = CODE;
                i++;
            } else if (ch == '\n') {
                line++;
            }
            continue;
        case CODE:
            break;
        }
        if (!at_end && st != CODE)
            continue;
        if (ch == ';') {
            if (has_code) {
                /* trim leading blanks, trailing blanks */
                size_t a = start, b = i;
                while (a < b && isspace((unsigned char)sql[a]))
                    a++;
                while (b > a && isspace((unsigned char)sql[b - 1]))
                    b--;
                if (cnt == cap) {
                    cap *= 2;
                    v = xrealloc(v, cap * sizeof *v);
                }
                v[cnt].off = a;
                v[cnt].len = b - a;
                v[cnt].line = start_line;
                cnt++;
            }
            start = i + 1;
            has_code = 0;
            start_line = line;
            continue;
        }
        if (ch == '\n') {
            line++;
            if (!has_code)
                start_line = line;
            continue;
        }
        if (isspace((unsigned char)ch))
            continue;
        if (ch == '#' || (ch == '-' && nx == '-' &&
                          (i + 2 >= len || isspace((unsigned char)sql[i + 2])))) {
            st = LINE_COMMENT;
            continue;
        }
        if (ch == '/' && nx == '*') {
            /* executable comments (/ *! ... * /) are code for the server */
            if (i + 2 < len && sql[i + 2] == '!' && !has_code) {
                start_line = line;
                start = i;
                has_code = 1;
            }
            st = BLOCK_COMMENT;
            i++;
            continue;
        }
        if (!has_code) {
            start_line = line;
            start = i;
        }
        has_code = 1;
        if (ch == '\'')
            st = SQUOTE;
        else if (ch == '"')
            st = DQUOTE;
        else if (ch == '`')
            st = BQUOTE;
    }
    *out = v;
    *n = cnt;
}

/* First words of a statement for messages: up to 60 bytes, one line. */
static void stmt_head(const char *s, size_t len, char *out, size_t outlen)
{
    size_t j = 0;
    int space = 0;
    for (size_t i = 0; i < len && j + 4 < outlen && j < 60; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (isspace(ch)) {
            space = 1;
            continue;
        }
        if (space && j)
            out[j++] = ' ';
        space = 0;
        out[j++] = (char)ch;
    }
    if (j >= 60 && j + 4 < outlen) {
        memcpy(out + j, "...", 3);
        j += 3;
    }
    out[j] = '\0';
}

/* Did the last statement warn that its object already exists? */
static int warned_exists(struct tidb_conn *c)
{
    static const char q[] = "SHOW WARNINGS";
    int found = 0;
    if (mysql_real_query(c->my, q, sizeof q - 1) != 0)
        return 0;
    MYSQL_RES *res = mysql_store_result(c->my);
    if (!res)
        return 0;
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res))) {
        unsigned code = row[1] ? (unsigned)strtoul(row[1], NULL, 10) : 0;
        if (code == ER_TABLE_EXISTS_ERROR || code == ER_DB_CREATE_EXISTS ||
            code == ER_DUP_FIELDNAME || code == ER_DUP_KEYNAME)
            found = 1;
    }
    mysql_free_result(res);
    return found;
}

int tidb_apply_schema(struct tidb_conn *c, const char *name, const char *sql, size_t len,
                      int *applied, int *existing, char *err, size_t errlen)
{
    struct sql_stmt *v = NULL;
    size_t n = 0;
    int rc = CC_OK, ok = 0, had = 0;
    tidb_split_sql(sql, len, &v, &n);
    for (size_t i = 0; i < n; i++) {
        char why[ERRLEN];
        if (run_sql(c, sql + v[i].off, v[i].len, why, sizeof why) == CC_OK) {
            if (mysql_warning_count(c->my) > 0 && warned_exists(c))
                had++; /* CREATE ... IF NOT EXISTS of something already there */
            else
                ok++;
            continue;
        }
        unsigned e = mysql_errno(c->my);
        if (e == ER_TABLE_EXISTS_ERROR || e == ER_DB_CREATE_EXISTS || e == ER_DUP_FIELDNAME ||
            e == ER_DUP_KEYNAME) {
            had++;
            continue;
        }
        char head[80];
        stmt_head(sql + v[i].off, v[i].len, head, sizeof head);
        rc = cc_errf(err, errlen, CC_ERR, "%s statement %zu (line %d: %s): %s", name, i + 1,
                     v[i].line, head, why);
        break;
    }
    free(v);
    if (applied)
        *applied = ok;
    if (existing)
        *existing = had;
    return rc;
}

/* -------------------------------------------------------------------- users */

static int valid_ident_part(const char *s, size_t n)
{
    if (n == 1 && s[0] == '*')
        return 1;
    if (n >= 2 && s[0] == '`' && s[n - 1] == '`') {
        for (size_t i = 1; i + 1 < n; i++)
            if (s[i] == '`' || (unsigned char)s[i] < 0x20)
                return 0;
        return n > 2;
    }
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '$')
            return 0;
    return 1;
}

int tidb_parse_grant(const char *grant, char *privs, size_t privslen, char *object,
                     size_t objlen, char *err, size_t errlen)
{
    /* find " ON " (case-insensitive) outside backquotes */
    const char *on = NULL;
    for (const char *p = grant; *p; p++) {
        if (*p == '`')
            break;
        if (isspace((unsigned char)p[0]) && strncasecmp(p + 1, "ON", 2) == 0 &&
            isspace((unsigned char)p[3])) {
            on = p;
            break;
        }
    }
    if (!on)
        return cc_errf(err, errlen, CC_EINVAL, "grant '%s': want 'PRIVILEGES ON db.table'", grant);
    /* privileges: words separated by commas */
    struct strbuf pv = {0};
    const char *p = grant;
    int words = 0, rc = CC_OK;
    while (p < on) {
        while (p < on && isspace((unsigned char)*p))
            p++;
        const char *w = p;
        while (p < on && (isalpha((unsigned char)*p) || *p == '_'))
            p++;
        if (p == w) {
            if (p < on && *p == ',' && words) {
                strbuf_adds(&pv, ", ");
                p++;
                words = 0;
                continue;
            }
            if (p < on) {
                rc = cc_errf(err, errlen, CC_EINVAL,
                             "grant '%s': privileges may only hold words and commas", grant);
                goto out;
            }
            break;
        }
        if (words)
            strbuf_adds(&pv, " ");
        for (const char *q = w; q < p; q++) {
            char up = (char)toupper((unsigned char)*q);
            strbuf_add(&pv, &up, 1);
        }
        words++;
    }
    if (!pv.len || !words) {
        rc = cc_errf(err, errlen, CC_EINVAL, "grant '%s': no privileges before ON", grant);
        goto out;
    }
    if (strcmp(pv.buf, "ALL") == 0)
        strbuf_adds(&pv, " PRIVILEGES");
    /* object: part[.part] */
    const char *o = on + 4;
    while (isspace((unsigned char)*o))
        o++;
    size_t olen = strlen(o);
    while (olen && isspace((unsigned char)o[olen - 1]))
        olen--;
    const char *dot = NULL;
    int inq = 0;
    for (size_t i = 0; i < olen; i++) {
        if (o[i] == '`')
            inq = !inq;
        else if (o[i] == '.' && !inq && !dot)
            dot = o + i;
    }
    int good = dot && valid_ident_part(o, (size_t)(dot - o)) &&
               valid_ident_part(dot + 1, olen - (size_t)(dot - o) - 1);
    if (!good || olen == 0) {
        rc = cc_errf(err, errlen, CC_EINVAL,
                     "grant '%s': object must be db.table (identifiers, `quoted` or *)", grant);
        goto out;
    }
    if (pv.len >= privslen || olen >= objlen) {
        rc = cc_errf(err, errlen, CC_EINVAL, "grant '%s': too long", grant);
        goto out;
    }
    snprintf(privs, privslen, "%s", pv.buf);
    snprintf(object, objlen, "%.*s", (int)olen, o);
out:
    strbuf_release(&pv);
    return rc;
}

static void add_escaped(struct strbuf *sb, MYSQL *my, const char *s)
{
    size_t n = strlen(s);
    char *tmp = xmalloc(2 * n + 1);
    unsigned long m = mysql_real_escape_string(my, tmp, s, (unsigned long)n);
    strbuf_add(sb, tmp, m);
    free(tmp);
}

static int valid_account_part(const char *s, int is_host)
{
    size_t n = strlen(s);
    if (n == 0 || n > (is_host ? 255u : 80u))
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    return 1;
}

char *tidb_user_sql(struct tidb_conn *c, int kind, const char *name, const char *host,
                    const char *password, const char *grant, char *err, size_t errlen)
{
    struct strbuf sb = {0};
    if (!host)
        host = "%";
    if (!valid_account_part(name, 0) || !valid_account_part(host, 1)) {
        cc_errf(err, errlen, CC_EINVAL, "user '%s'@'%s': names must be 1-80 printable characters",
                name, host);
        return NULL;
    }
    char privs[256], object[256];
    switch (kind) {
    case 0:
        strbuf_adds(&sb, "CREATE USER IF NOT EXISTS '");
        break;
    case 1:
        strbuf_adds(&sb, "ALTER USER '");
        break;
    case 2:
        if (tidb_parse_grant(grant, privs, sizeof privs, object, sizeof object, err, errlen) !=
            CC_OK)
            return NULL;
        strbuf_addf(&sb, "GRANT %s ON %s TO '", privs, object);
        break;
    case 3:
        strbuf_adds(&sb, "SHOW GRANTS FOR '");
        break;
    default:
        cc_errf(err, errlen, CC_EINVAL, "bad statement kind %d", kind);
        return NULL;
    }
    add_escaped(&sb, c->my, name);
    strbuf_adds(&sb, "'@'");
    add_escaped(&sb, c->my, host);
    strbuf_adds(&sb, "'");
    if (kind == 0 || kind == 1) {
        strbuf_adds(&sb, " IDENTIFIED BY '");
        add_escaped(&sb, c->my, password ? password : "");
        strbuf_adds(&sb, "'");
    }
    return strbuf_detach(&sb);
}

/* Runs a statement that contains a password; failures are scrubbed. */
static int run_secret_sql(struct tidb_conn *c, char *sql, const char *password, const char *what,
                          char *err, size_t errlen)
{
    char why[ERRLEN];
    int rc = run_sql(c, sql, strlen(sql), why, sizeof why);
    explicit_bzero(sql, strlen(sql));
    if (rc != CC_OK) {
        tidb_scrub(why, password);
        return cc_errf(err, errlen, rc, "%s: %s", what, why);
    }
    return CC_OK;
}

/* Drops " IDENTIFIED BY ..." / " IDENTIFIED VIA ..." / " PASSWORD ..." tails. */
static void strip_password_clause(char *line)
{
    char *p = strstr(line, " IDENTIFIED ");
    if (p)
        *p = '\0';
}

int tidb_show_grants(struct tidb_conn *c, const char *name, const char *host, char **out,
                     char *err, size_t errlen)
{
    *out = NULL;
    char *sql = tidb_user_sql(c, 3, name, host, NULL, NULL, err, errlen);
    if (!sql)
        return CC_EINVAL;
    int rc = CC_OK;
    if (mysql_real_query(c->my, sql, (unsigned long)strlen(sql)) != 0) {
        rc = cc_errf(err, errlen, CC_ERR, "SHOW GRANTS: %u %s", mysql_errno(c->my),
                     mysql_error(c->my));
        goto out;
    }
    MYSQL_RES *res = mysql_store_result(c->my);
    if (!res) {
        rc = cc_errf(err, errlen, CC_ERR, "SHOW GRANTS: %u %s", mysql_errno(c->my),
                     mysql_error(c->my));
        goto out;
    }
    struct strbuf sb = {0};
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res))) {
        if (!row[0])
            continue;
        char *line = xstrdup(row[0]);
        strip_password_clause(line);
        strbuf_addf(&sb, "%s%s", sb.len ? "\n" : "", line);
        free(line);
    }
    mysql_free_result(res);
    *out = strbuf_detach(&sb);
out:
    free(sql);
    return rc;
}

/* Normalised privilege set "A,B,C" (sorted, upper case) and object without
 * backquotes, from either a manifest grant or a SHOW GRANTS line. */
static void normalise(const char *privs, const char *object, char *pset, size_t plen, char *obj,
                      size_t olen)
{
    char *items[64];
    int n = 0;
    char *copy = xstrdup(privs);
    for (char *tok = strtok(copy, ","); tok && n < 64; tok = strtok(NULL, ",")) {
        while (isspace((unsigned char)*tok))
            tok++;
        size_t l = strlen(tok);
        while (l && isspace((unsigned char)tok[l - 1]))
            tok[--l] = '\0';
        for (char *q = tok; *q; q++)
            *q = (char)toupper((unsigned char)*q);
        if (strcmp(tok, "ALL") == 0)
            tok = "ALL PRIVILEGES";
        items[n++] = tok;
    }
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && strcmp(items[j - 1], items[j]) > 0; j--) {
            char *t = items[j];
            items[j] = items[j - 1];
            items[j - 1] = t;
        }
    size_t k = 0;
    pset[0] = '\0';
    for (int i = 0; i < n && k + 1 < plen; i++)
        k += (size_t)snprintf(pset + k, plen - k, "%s%s", i ? "," : "", items[i]);
    free(copy);
    k = 0;
    for (const char *q = object; *q && k + 1 < olen; q++)
        if (*q != '`')
            obj[k++] = *q;
    obj[k] = '\0';
}

/* Does a SHOW GRANTS line grant (pset on obj)? */
static int line_grants(const char *line, const char *pset, const char *obj)
{
    if (strncasecmp(line, "GRANT ", 6) != 0)
        return 0;
    const char *on = strstr(line, " ON ");
    const char *to = on ? strstr(on, " TO ") : NULL;
    if (!on || !to)
        return 0;
    char *lp = xstrndup(line + 6, (size_t)(on - line - 6));
    char *lo = xstrndup(on + 4, (size_t)(to - on - 4));
    char lpset[512], lobj[256];
    normalise(lp, lo, lpset, sizeof lpset, lobj, sizeof lobj);
    free(lp);
    free(lo);
    if (strcmp(lobj, obj) != 0)
        return 0;
    if (strcmp(lpset, pset) == 0 || strcmp(lpset, "ALL PRIVILEGES") == 0)
        return 1;
    /* every wanted privilege present in the line's set */
    char *want = xstrdup(pset);
    int all = 1;
    for (char *tok = strtok(want, ","); tok; tok = strtok(NULL, ",")) {
        char pat[128];
        snprintf(pat, sizeof pat, ",%s,", tok);
        char wrapped[520];
        snprintf(wrapped, sizeof wrapped, ",%s,", lpset);
        if (!strstr(wrapped, pat))
            all = 0;
    }
    free(want);
    return all;
}

int tidb_ensure_user(struct tidb_conn *c, const struct tidb_user *u, const char *password,
                     FILE *progress, char *err, size_t errlen)
{
    const char *host = u->host ? u->host : "%";
    char what[256];
    char *sql = NULL, *grants = NULL;
    int rc = CC_OK;
    snprintf(what, sizeof what, "user %s@%s", u->name, host);
    /* validate every grant before touching the server */
    for (size_t i = 0; i < u->grants.n; i++) {
        char p[256], o[256];
        if ((rc = tidb_parse_grant(u->grants.items[i], p, sizeof p, o, sizeof o, err, errlen)) !=
            CC_OK)
            return rc;
    }
    if (!(sql = tidb_user_sql(c, 0, u->name, host, password, NULL, err, errlen)))
        return CC_EINVAL;
    if ((rc = run_secret_sql(c, sql, password, what, err, errlen)) != CC_OK)
        goto out;
    int existed = mysql_warning_count(c->my) > 0;
    free(sql);
    if (!(sql = tidb_user_sql(c, 1, u->name, host, password, NULL, err, errlen))) {
        rc = CC_EINVAL;
        goto out;
    }
    if ((rc = run_secret_sql(c, sql, password, what, err, errlen)) != CC_OK)
        goto out;
    for (size_t i = 0; i < u->grants.n; i++) {
        free(sql);
        if (!(sql = tidb_user_sql(c, 2, u->name, host, NULL, u->grants.items[i], err, errlen))) {
            rc = CC_EINVAL;
            goto out;
        }
        char why[ERRLEN];
        if (run_sql(c, sql, strlen(sql), why, sizeof why) != CC_OK) {
            rc = cc_errf(err, errlen, CC_ERR, "%s: %s: %s", what, sql, why);
            goto out;
        }
    }
    if ((rc = tidb_show_grants(c, u->name, host, &grants, err, errlen)) != CC_OK)
        goto out;
    /* verify each manifest grant is in effect; collect the extra lines */
    for (size_t i = 0; i < u->grants.n; i++) {
        char p[256], o[256], pset[512], obj[256];
        tidb_parse_grant(u->grants.items[i], p, sizeof p, o, sizeof o, NULL, 0);
        normalise(p, o, pset, sizeof pset, obj, sizeof obj);
        int found = 0;
        char *copy = xstrdup(grants), *save = NULL;
        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
            if (line_grants(line, pset, obj))
                found = 1;
        free(copy);
        if (!found) {
            rc = cc_errf(err, errlen, CC_ERR, "%s: '%s' is not in effect after GRANT (server shows: %s)",
                         what, u->grants.items[i], grants);
            goto out;
        }
    }
    if (progress) {
        fprintf(progress, "tidb: %s %s, password set, grants:", what,
                existed ? "exists" : "created");
        for (size_t i = 0; i < u->grants.n; i++)
            fprintf(progress, "%s %s", i ? ";" : "", u->grants.items[i]);
        fprintf(progress, "%s\n", u->grants.n ? "" : " none");
        char *copy = xstrdup(grants), *save = NULL;
        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            int listed = strncasecmp(line, "GRANT USAGE ON *.*", 18) == 0;
            for (size_t i = 0; i < u->grants.n && !listed; i++) {
                char p[256], o[256], pset[512], obj[256];
                tidb_parse_grant(u->grants.items[i], p, sizeof p, o, sizeof o, NULL, 0);
                normalise(p, o, pset, sizeof pset, obj, sizeof obj);
                char lp[512];
                const char *on = strstr(line, " ON ");
                const char *to = on ? strstr(on, " TO ") : NULL;
                if (on && to && strncasecmp(line, "GRANT ", 6) == 0) {
                    char *a = xstrndup(line + 6, (size_t)(on - line - 6));
                    char *b = xstrndup(on + 4, (size_t)(to - on - 4));
                    char lobj[256];
                    normalise(a, b, lp, sizeof lp, lobj, sizeof lobj);
                    listed = strcmp(lp, pset) == 0 && strcmp(lobj, obj) == 0;
                    free(a);
                    free(b);
                }
            }
            if (!listed)
                fprintf(progress, "tidb: note: %s also has: %s\n", what, line);
        }
        free(copy);
        fflush(progress);
    }
out:
    if (sql) {
        explicit_bzero(sql, strlen(sql));
        free(sql);
    }
    free(grants);
    return rc;
}
