/* canal_bench: micro-benchmark of the consumer's hot path. For each canal-json
 * message file it decodes the message in a loop with canal_decode and, for
 * comparison, parses it with jansson (json_loadb + json_decref, the DOM parse a
 * straightforward consumer would do), and prints CPU ns per message for both.
 *
 *   canal_bench [-t SECONDS] [-n ITERATIONS] [-c] [FILE|DIR]...
 *
 * Default input: tests/data/canal/valid (relative to $CDCCTL_ROOT or the working
 * directory). -t is the CPU time per measurement (default 0.3 s); -n fixes the
 * iteration count instead; -c skips jansson (for profiling canal alone). Exit status 1 if a message fails to decode. */
#include <dirent.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "canal.h"
#include "util.h"

struct msg {
    char name[256];
    char *buf;
    size_t len;
};

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int add_file(struct msg **msgs, size_t *n, size_t *cap, const char *path)
{
    char err[ERRLEN];
    char *buf = NULL;
    size_t len = 0;
    if (read_file(path, &buf, &len, err, sizeof(err)) != CC_OK) {
        fprintf(stderr, "canal_bench: %s\n", err);
        return -1;
    }
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 32;
        *msgs = xrealloc(*msgs, sizeof(**msgs) * *cap);
    }
    const char *base = strrchr(path, '/');
    snprintf((*msgs)[*n].name, sizeof((*msgs)[*n].name), "%s", base ? base + 1 : path);
    (*msgs)[*n].buf = buf;
    (*msgs)[*n].len = len;
    (*n)++;
    return 0;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(((const struct msg *)a)->name, ((const struct msg *)b)->name);
}

static int add_path(struct msg **msgs, size_t *n, size_t *cap, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "canal_bench: %s: not found\n", path);
        return -1;
    }
    if (!S_ISDIR(st.st_mode))
        return add_file(msgs, n, cap, path);
    DIR *dir = opendir(path);
    if (!dir)
        return -1;
    size_t first = *n;
    struct dirent *e;
    while ((e = readdir(dir))) {
        if (e->d_name[0] == '.')
            continue;
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
        if (add_file(msgs, n, cap, p) != 0) {
            closedir(dir);
            return -1;
        }
    }
    closedir(dir);
    qsort(*msgs + first, *n - first, sizeof(**msgs), cmp_name);
    return 0;
}

/* Iterations that take about `secs` of CPU for fn, or fixed_n when set. */
typedef int (*bench_fn)(void *ctx, const struct msg *m);

static double measure(bench_fn fn, void *ctx, const struct msg *m, double secs, long fixed_n,
                      long *iters_out)
{
    long n = fixed_n > 0 ? fixed_n : 16;
    for (;;) {
        double t0 = cpu_now();
        for (long i = 0; i < n; i++)
            fn(ctx, m);
        double dt = cpu_now() - t0;
        if (fixed_n > 0 || dt >= secs || n > (1L << 40)) {
            *iters_out = n;
            return dt * 1e9 / (double)n;
        }
        /* aim slightly above secs for the next round */
        double scale = dt > 0 ? secs * 1.2 / dt : 16;
        if (scale > 16)
            scale = 16;
        if (scale < 2)
            scale = 2;
        n = (long)((double)n * scale);
    }
}

static volatile size_t sink; /* keeps the compiler from dropping the work */

static int run_canal(void *ctx, const struct msg *m)
{
    struct canal_msg out;
    char err[ERRLEN];
    int rc = canal_decode(ctx, m->buf, m->len, &out, err, sizeof(err));
    sink += out.nrows + out.table.len;
    return rc;
}

static int run_jansson(void *ctx, const struct msg *m)
{
    (void)ctx;
    json_error_t jerr;
    json_t *root = json_loadb(m->buf, m->len, 0, &jerr);
    if (!root)
        return -1;
    sink += json_object_size(root);
    json_decref(root);
    return 0;
}

int main(int argc, char **argv)
{
    double secs = 0.3;
    long fixed_n = 0;
    int opt, canal_only = 0;
    while ((opt = getopt(argc, argv, "t:n:ch")) != -1) {
        if (opt == 't')
            secs = atof(optarg);
        else if (opt == 'n')
            fixed_n = atol(optarg);
        else if (opt == 'c')
            canal_only = 1;
        else {
            fprintf(stderr,
                    "usage: canal_bench [-t SECONDS] [-n ITERATIONS] [-c] [FILE|DIR]...\n");
            return opt == 'h' ? 0 : 2;
        }
    }
    struct msg *msgs = NULL;
    size_t n = 0, cap = 0;
    int status = 0;
    if (optind == argc) {
        char dir[PATH_MAX];
        const char *root = getenv("CDCCTL_ROOT");
        snprintf(dir, sizeof(dir), "%s/tests/data/canal/valid", root ? root : ".");
        if (add_path(&msgs, &n, &cap, dir) != 0)
            return 1;
    }
    for (int i = optind; i < argc; i++)
        if (add_path(&msgs, &n, &cap, argv[i]) != 0)
            return 1;

    struct canal_decoder *d = canal_decoder_new();
    printf("%-26s %8s %12s %12s %8s %10s\n", "message", "bytes", "canal ns", "jansson ns",
           "ratio", "canal MB/s");
    double sum_c = 0, sum_j = 0;
    size_t sum_bytes = 0, typical = 0;
    for (size_t i = 0; i < n; i++) {
        struct canal_msg out;
        char err[ERRLEN];
        if (canal_decode(d, msgs[i].buf, msgs[i].len, &out, err, sizeof(err)) != CC_OK) {
            fprintf(stderr, "canal_bench: %s: %s\n", msgs[i].name, err);
            status = 1;
            continue;
        }
        long it;
        double c = measure(run_canal, d, &msgs[i], secs, fixed_n, &it);
        double j = canal_only ? 0 : measure(run_jansson, NULL, &msgs[i], secs, fixed_n, &it);
        printf("%-26s %8zu %12.0f %12.0f %7.1fx %10.0f\n", msgs[i].name, msgs[i].len, c, j, j / c,
               (double)msgs[i].len / c * 1e3);
        if (msgs[i].len < 4096) { /* the mean over typical (non-huge) messages */
            sum_c += c;
            sum_j += j;
            sum_bytes += msgs[i].len;
            typical++;
        }
    }
    if (typical)
        printf("%-26s %8zu %12.0f %12.0f %7.1fx\n", "mean (messages < 4 KB)", sum_bytes / typical,
               sum_c / (double)typical, sum_j / (double)typical, sum_j / sum_c);
    canal_decoder_free(d);
    for (size_t i = 0; i < n; i++)
        free(msgs[i].buf);
    free(msgs);
    return status;
}
