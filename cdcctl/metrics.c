/* metrics: Prometheus registry and the text exposition format 0.0.4.
 *
 * Concurrency: family registration, series creation and rendering take the
 * registry mutex. Series lookup is lock-free: each family has a chained hash table
 * (FNV-1a over the label values) whose bucket heads and chain links are atomic
 * pointers; a miss falls back to a second lookup under the mutex, which creates the
 * series. Every chain link points to a series created earlier, also while the
 * table is being grown, so a reader racing a resize can miss (and then takes the
 * locked path) but never loops or reads freed memory: series and superseded tables
 * live until metrics_free. Values are C11 atomics: counters and gauges hold the bit
 * pattern of a double (add = compare-and-swap loop), histogram buckets are atomic
 * integer counts (non-cumulative; rendering sums them, so le="+Inf" always equals
 * _count).
 *
 * Rendering order: families in registration order, series in creation order,
 * then the process_* metrics read from /proc/self. */
#include "metrics.h"

#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "util.h"

#define MAX_LABELS 8
#define TABLE_INITIAL 16

enum metric_kind { KIND_COUNTER, KIND_GAUGE, KIND_HISTOGRAM };

struct metric_series {
    struct metric_family *fam;
    _Atomic(struct metric_series *) hnext; /* hash chain (lock-free readers) */
    struct metric_series *next;            /* creation order (under the mutex) */
    uint64_t hash;
    const char *values[MAX_LABELS]; /* point into `blob` */
    size_t lens[MAX_LABELS];
    _Atomic uint64_t bits;     /* counter/gauge value, or histogram sum (double bits) */
    _Atomic uint64_t *buckets; /* histogram: nbuckets + 1 counts, the last for +Inf */
    char blob[];
};

struct htab {
    size_t mask;
    _Atomic(struct metric_series *) *heads;
    struct htab *older; /* superseded tables, freed with the family */
};

struct metric_family {
    struct metrics *m;
    enum metric_kind kind;
    char *name, *help;
    size_t nlabels;
    char *labels[MAX_LABELS];
    double *bounds; /* histogram upper bounds, ascending, +Inf implied */
    size_t nbounds;
    _Atomic(struct htab *) tab;
    size_t nseries;
    struct metric_series *first, *last;
    struct metric_family *next;
};

struct metrics {
    pthread_mutex_t mu;
    struct metric_family *first, *last;
};

/* ---- doubles as atomic bit patterns ---- */

static uint64_t d2u(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof(u));
    return u;
}

static double u2d(uint64_t u)
{
    double v;
    memcpy(&v, &u, sizeof(v));
    return v;
}

static void atomic_add_double(_Atomic uint64_t *a, double v)
{
    uint64_t old = atomic_load_explicit(a, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(a, &old, d2u(u2d(old) + v),
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
}

/* ---- registry ---- */

struct metrics *metrics_new(void)
{
    struct metrics *m = xcalloc(1, sizeof(*m));
    pthread_mutex_init(&m->mu, NULL);
    return m;
}

static void family_free(struct metric_family *f)
{
    struct metric_series *s = f->first;
    while (s) {
        struct metric_series *n = s->next;
        free(s->buckets);
        free(s);
        s = n;
    }
    struct htab *t = atomic_load(&f->tab);
    while (t) {
        struct htab *o = t->older;
        free(t->heads);
        free(t);
        t = o;
    }
    for (size_t i = 0; i < f->nlabels; i++)
        free(f->labels[i]);
    free(f->bounds);
    free(f->name);
    free(f->help);
    free(f);
}

void metrics_free(struct metrics *m)
{
    if (!m)
        return;
    struct metric_family *f = m->first;
    while (f) {
        struct metric_family *n = f->next;
        family_free(f);
        f = n;
    }
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static bool valid_name(const char *s, bool colon)
{
    if (!s || !*s)
        return false;
    for (const char *p = s; *p; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                  (colon && c == ':') || (p != s && c >= '0' && c <= '9');
        if (!ok)
            return false;
    }
    return true;
}

/* Names the registry renders itself after the registered families. */
static const char *const process_names[] = {
    "process_cpu_seconds_total", "process_open_fds",          "process_max_fds",
    "process_virtual_memory_bytes", "process_resident_memory_bytes", "process_start_time_seconds",
};

static bool same_shape(const struct metric_family *f, enum metric_kind kind,
                       const char *const *labels, size_t nlabels, const double *bounds,
                       size_t nbounds)
{
    if (f->kind != kind || f->nlabels != nlabels || f->nbounds != nbounds)
        return false;
    for (size_t i = 0; i < nlabels; i++)
        if (strcmp(f->labels[i], labels[i]) != 0)
            return false;
    for (size_t i = 0; i < nbounds; i++)
        if (f->bounds[i] != bounds[i])
            return false;
    return true;
}

static struct htab *htab_new(size_t size)
{
    struct htab *t = xcalloc(1, sizeof(*t));
    t->mask = size - 1;
    t->heads = xcalloc(size, sizeof(*t->heads));
    for (size_t i = 0; i < size; i++)
        atomic_init(&t->heads[i], NULL);
    return t;
}

static struct metric_family *family_new(struct metrics *m, enum metric_kind kind,
                                        const char *name, const char *help,
                                        const char *const *labels, size_t nlabels,
                                        const double *bounds, size_t nbounds)
{
    if (!m || !valid_name(name, true) || nlabels > MAX_LABELS || (nlabels && !labels))
        return NULL;
    for (size_t i = 0; i < sizeof(process_names) / sizeof(process_names[0]); i++)
        if (strcmp(name, process_names[i]) == 0)
            return NULL;
    for (size_t i = 0; i < nlabels; i++) {
        if (!valid_name(labels[i], false) || strncmp(labels[i], "__", 2) == 0)
            return NULL;
        if (kind == KIND_HISTOGRAM && strcmp(labels[i], "le") == 0)
            return NULL;
        for (size_t j = 0; j < i; j++)
            if (strcmp(labels[i], labels[j]) == 0)
                return NULL;
    }
    /* a trailing +Inf bound is the implied one */
    if (kind == KIND_HISTOGRAM && nbounds && isinf(bounds[nbounds - 1]) && bounds[nbounds - 1] > 0)
        nbounds--;
    for (size_t i = 0; i < nbounds; i++)
        if (isnan(bounds[i]) || isinf(bounds[i]) || (i && bounds[i] <= bounds[i - 1]))
            return NULL;

    pthread_mutex_lock(&m->mu);
    struct metric_family *f;
    for (f = m->first; f; f = f->next) {
        if (strcmp(f->name, name) == 0) {
            if (!same_shape(f, kind, labels, nlabels, bounds, nbounds))
                f = NULL;
            pthread_mutex_unlock(&m->mu);
            return f;
        }
    }
    f = xcalloc(1, sizeof(*f));
    f->m = m;
    f->kind = kind;
    f->name = xstrdup(name);
    f->help = xstrdup(help ? help : "");
    f->nlabels = nlabels;
    for (size_t i = 0; i < nlabels; i++)
        f->labels[i] = xstrdup(labels[i]);
    if (nbounds) {
        f->bounds = xmalloc(sizeof(double) * nbounds);
        memcpy(f->bounds, bounds, sizeof(double) * nbounds);
    }
    f->nbounds = nbounds;
    atomic_init(&f->tab, htab_new(TABLE_INITIAL));
    if (m->last)
        m->last->next = f;
    else
        m->first = f;
    m->last = f;
    pthread_mutex_unlock(&m->mu);
    /* a family without labels has exactly one series: show it (as 0) from the start */
    if (nlabels == 0)
        metric_series_get(f, NULL, NULL);
    return f;
}

struct metric_family *metrics_counter(struct metrics *m, const char *name, const char *help,
                                      const char *const *labels, size_t nlabels)
{
    return family_new(m, KIND_COUNTER, name, help, labels, nlabels, NULL, 0);
}

struct metric_family *metrics_gauge(struct metrics *m, const char *name, const char *help,
                                    const char *const *labels, size_t nlabels)
{
    return family_new(m, KIND_GAUGE, name, help, labels, nlabels, NULL, 0);
}

struct metric_family *metrics_histogram(struct metrics *m, const char *name, const char *help,
                                        const char *const *labels, size_t nlabels,
                                        const double *buckets, size_t nbuckets)
{
    if (nbuckets && !buckets)
        return NULL;
    return family_new(m, KIND_HISTOGRAM, name, help, labels, nlabels, buckets, nbuckets);
}

/* ---- series ---- */

#define FNV_OFFSET 14695981039346656037ULL
#define FNV_PRIME 1099511628211ULL

static uint64_t hash_values(const char *const *values, const size_t *lens, size_t n)
{
    uint64_t h = FNV_OFFSET;
    for (size_t i = 0; i < n; i++) {
        const unsigned char *p = (const unsigned char *)values[i];
        for (size_t k = 0; k < lens[i]; k++) {
            h ^= p[k];
            h *= FNV_PRIME;
        }
        h ^= 0xff; /* separator: ("ab","c") != ("a","bc") */
        h *= FNV_PRIME;
    }
    return h;
}

static bool series_eq(const struct metric_series *s, uint64_t h, const char *const *values,
                      const size_t *lens, size_t n)
{
    if (s->hash != h)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s->lens[i] != lens[i] || (lens[i] && memcmp(s->values[i], values[i], lens[i]) != 0))
            return false;
    return true;
}

static struct metric_series *table_find(struct htab *t, uint64_t h, const char *const *values,
                                        const size_t *lens, size_t n)
{
    struct metric_series *s =
        atomic_load_explicit(&t->heads[h & t->mask], memory_order_acquire);
    while (s) {
        if (series_eq(s, h, values, lens, n))
            return s;
        s = atomic_load_explicit(&s->hnext, memory_order_acquire);
    }
    return NULL;
}

static void table_insert(struct htab *t, struct metric_series *s)
{
    _Atomic(struct metric_series *) *head = &t->heads[s->hash & t->mask];
    atomic_store_explicit(&s->hnext, atomic_load_explicit(head, memory_order_relaxed),
                          memory_order_release);
    atomic_store_explicit(head, s, memory_order_release);
}

/* Under the mutex: doubles the table, relinking series in creation order so every
 * link keeps pointing to an earlier series; the old table stays allocated. */
static void table_grow(struct metric_family *f)
{
    struct htab *old = atomic_load_explicit(&f->tab, memory_order_relaxed);
    struct htab *t = htab_new((old->mask + 1) * 2);
    for (struct metric_series *s = f->first; s; s = s->next)
        table_insert(t, s);
    t->older = old;
    atomic_store_explicit(&f->tab, t, memory_order_release);
}

struct metric_series *metric_series_get(struct metric_family *f, const char *const *values,
                                        const size_t *lens)
{
    if (!f)
        return NULL;
    size_t n = f->nlabels;
    size_t lbuf[MAX_LABELS];
    const char *vbuf[MAX_LABELS];
    for (size_t i = 0; i < n; i++) {
        vbuf[i] = values && values[i] ? values[i] : "";
        lbuf[i] = lens ? lens[i] : strlen(vbuf[i]);
        if (!(values && values[i]))
            lbuf[i] = 0;
    }
    uint64_t h = hash_values(vbuf, lbuf, n);
    struct metric_series *s =
        table_find(atomic_load_explicit(&f->tab, memory_order_acquire), h, vbuf, lbuf, n);
    if (s)
        return s;

    pthread_mutex_lock(&f->m->mu);
    struct htab *t = atomic_load_explicit(&f->tab, memory_order_relaxed);
    s = table_find(t, h, vbuf, lbuf, n);
    if (!s) {
        size_t blob = 0;
        for (size_t i = 0; i < n; i++)
            blob += lbuf[i] + 1;
        s = xcalloc(1, sizeof(*s) + blob);
        s->fam = f;
        s->hash = h;
        char *p = s->blob;
        for (size_t i = 0; i < n; i++) {
            if (lbuf[i])
                memcpy(p, vbuf[i], lbuf[i]);
            p[lbuf[i]] = '\0';
            s->values[i] = p;
            s->lens[i] = lbuf[i];
            p += lbuf[i] + 1;
        }
        atomic_init(&s->bits, d2u(0.0));
        if (f->kind == KIND_HISTOGRAM) {
            s->buckets = xcalloc(f->nbounds + 1, sizeof(*s->buckets));
            for (size_t i = 0; i <= f->nbounds; i++)
                atomic_init(&s->buckets[i], 0);
        }
        if (f->last)
            f->last->next = s;
        else
            f->first = s;
        f->last = s;
        table_insert(t, s);
        if (++f->nseries > 2 * (t->mask + 1))
            table_grow(f);
    }
    pthread_mutex_unlock(&f->m->mu);
    return s;
}

void metric_add(struct metric_series *s, double v)
{
    if (!s || s->fam->kind == KIND_HISTOGRAM)
        return;
    if (s->fam->kind == KIND_COUNTER && !(v >= 0)) /* counters never go down; NaN ignored */
        return;
    atomic_add_double(&s->bits, v);
}

void metric_set(struct metric_series *s, double v)
{
    if (!s || s->fam->kind == KIND_HISTOGRAM)
        return;
    atomic_store_explicit(&s->bits, d2u(v), memory_order_relaxed);
}

void metric_observe_n(struct metric_series *s, double v, uint64_t n)
{
    if (!s || s->fam->kind != KIND_HISTOGRAM || n == 0)
        return;
    const struct metric_family *f = s->fam;
    size_t i = 0;
    while (i < f->nbounds && !(v <= f->bounds[i]))
        i++;
    atomic_fetch_add_explicit(&s->buckets[i], n, memory_order_relaxed);
    atomic_add_double(&s->bits, n == 1 ? v : v * (double)n);
}

void metric_observe(struct metric_series *s, double v)
{
    metric_observe_n(s, v, 1);
}

static uint64_t histogram_count(const struct metric_series *s)
{
    uint64_t n = 0;
    for (size_t i = 0; i <= s->fam->nbounds; i++)
        n += atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
    return n;
}

double metric_value(const struct metric_series *s)
{
    if (!s)
        return 0;
    if (s->fam->kind == KIND_HISTOGRAM)
        return (double)histogram_count(s);
    return u2d(atomic_load_explicit(&s->bits, memory_order_relaxed));
}

/* ---- rendering ---- */

/* Integers as integers ("12"), others the shortest text that reads back the same,
 * NaN / +Inf / -Inf spelled as Prometheus does. */
static const char *fmt_double(double v, char buf[40])
{
    if (isnan(v))
        return "NaN";
    if (isinf(v))
        return v > 0 ? "+Inf" : "-Inf";
    if (v == 0)
        return "0";
    if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(buf, 40, "%.0f", v);
        return buf;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, 40, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return buf;
}

static void add_escaped(struct strbuf *sb, const char *s, size_t len, bool quotes)
{
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        const char *rep = NULL;
        if (s[i] == '\\')
            rep = "\\\\";
        else if (s[i] == '\n')
            rep = "\\n";
        else if (quotes && s[i] == '"')
            rep = "\\\"";
        if (rep) {
            strbuf_add(sb, s + start, i - start);
            strbuf_adds(sb, rep);
            start = i + 1;
        }
    }
    strbuf_add(sb, s + start, len - start);
}

static void add_header(struct strbuf *sb, const char *name, const char *help, const char *type)
{
    strbuf_adds(sb, "# HELP ");
    strbuf_adds(sb, name);
    strbuf_adds(sb, " ");
    add_escaped(sb, help, strlen(help), false);
    strbuf_addf(sb, "\n# TYPE %s %s\n", name, type);
}

/* name{labels[,le="x"]} value\n */
static void add_sample(struct strbuf *sb, const struct metric_family *f, const char *suffix,
                       const struct metric_series *s, const char *le, double v)
{
    char num[40];
    strbuf_adds(sb, f->name);
    strbuf_adds(sb, suffix);
    if (f->nlabels || le) {
        strbuf_add(sb, "{", 1);
        for (size_t i = 0; i < f->nlabels; i++) {
            if (i)
                strbuf_add(sb, ",", 1);
            strbuf_adds(sb, f->labels[i]);
            strbuf_add(sb, "=\"", 2);
            add_escaped(sb, s->values[i], s->lens[i], true);
            strbuf_add(sb, "\"", 1);
        }
        if (le)
            strbuf_addf(sb, "%sle=\"%s\"", f->nlabels ? "," : "", le);
        strbuf_add(sb, "}", 1);
    }
    strbuf_add(sb, " ", 1);
    strbuf_adds(sb, fmt_double(v, num));
    strbuf_add(sb, "\n", 1);
}

static void render_family(struct strbuf *sb, const struct metric_family *f)
{
    static const char *const types[] = {"counter", "gauge", "histogram"};
    if (!f->first) /* like client_golang: a labelled family shows up with its first series */
        return;
    add_header(sb, f->name, f->help, types[f->kind]);
    for (const struct metric_series *s = f->first; s; s = s->next) {
        if (f->kind != KIND_HISTOGRAM) {
            add_sample(sb, f, "", s, NULL, metric_value(s));
            continue;
        }
        uint64_t cum = 0;
        char le[40];
        for (size_t i = 0; i <= f->nbounds; i++) {
            cum += atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
            add_sample(sb, f, "_bucket", s, i < f->nbounds ? fmt_double(f->bounds[i], le) : "+Inf",
                       (double)cum);
        }
        add_sample(sb, f, "_sum", s, NULL, u2d(atomic_load_explicit(&s->bits, memory_order_relaxed)));
        add_sample(sb, f, "_count", s, NULL, (double)cum);
    }
}

static void add_process_metric(struct strbuf *sb, const char *name, const char *help,
                               const char *type, double v)
{
    char num[40];
    add_header(sb, name, help, type);
    strbuf_addf(sb, "%s %s\n", name, fmt_double(v, num));
}

/* Fields of /proc/self/stat after the command name: [0] is field 3 (state). */
static bool read_proc_stat(unsigned long long *utime, unsigned long long *stime,
                           unsigned long long *start, unsigned long long *vsize, long long *rss)
{
    char *text = NULL, err[ERRLEN];
    size_t len;
    bool ok = false;
    if (read_file("/proc/self/stat", &text, &len, err, sizeof(err)) != CC_OK)
        return false;
    char *p = strrchr(text, ')');
    if (p) {
        /* state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
         * cutime cstime priority nice threads itrealvalue starttime vsize rss */
        ok = sscanf(p + 1,
                    " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d "
                    "%*d %llu %llu %lld",
                    utime, stime, start, vsize, rss) == 5;
    }
    free(text);
    return ok;
}

static bool read_boot_time(double *btime)
{
    char *text = NULL, err[ERRLEN];
    size_t len;
    bool ok = false;
    if (read_file("/proc/stat", &text, &len, err, sizeof(err)) != CC_OK)
        return false;
    char *p = strstr(text, "\nbtime ");
    unsigned long long b;
    if (p && sscanf(p + 7, "%llu", &b) == 1) {
        *btime = (double)b;
        ok = true;
    }
    free(text);
    return ok;
}

static long count_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* not counting the directory stream itself */
}

/* process_* metrics as client_golang's process collector names them. */
static void render_process(struct strbuf *sb)
{
    unsigned long long ut, st, start, vsize;
    long long rss;
    long tck = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    bool have_stat = read_proc_stat(&ut, &st, &start, &vsize, &rss) && tck > 0;
    if (have_stat)
        add_process_metric(sb, "process_cpu_seconds_total",
                           "Total user and system CPU time spent in seconds.", "counter",
                           (double)(ut + st) / (double)tck);
    long fds = count_open_fds();
    if (fds >= 0)
        add_process_metric(sb, "process_open_fds", "Number of open file descriptors.", "gauge",
                           (double)fds);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        add_process_metric(sb, "process_max_fds", "Maximum number of open file descriptors.",
                           "gauge", rl.rlim_cur == RLIM_INFINITY ? INFINITY : (double)rl.rlim_cur);
    if (have_stat) {
        add_process_metric(sb, "process_virtual_memory_bytes", "Virtual memory size in bytes.",
                           "gauge", (double)vsize);
        add_process_metric(sb, "process_resident_memory_bytes", "Resident memory size in bytes.",
                           "gauge", (double)rss * (double)(page > 0 ? page : 4096));
        double btime;
        if (read_boot_time(&btime))
            add_process_metric(sb, "process_start_time_seconds",
                               "Start time of the process since unix epoch in seconds.", "gauge",
                               btime + (double)start / (double)tck);
    }
}

char *metrics_render(struct metrics *m, size_t *len)
{
    struct strbuf sb = {0};
    strbuf_add(&sb, "", 0);
    if (m) {
        pthread_mutex_lock(&m->mu);
        for (const struct metric_family *f = m->first; f; f = f->next)
            render_family(&sb, f);
        pthread_mutex_unlock(&m->mu);
    }
    render_process(&sb);
    if (len)
        *len = sb.len;
    return strbuf_detach(&sb);
}
