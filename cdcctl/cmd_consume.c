/* cdcctl consume: flags and manifest defaults -> consume.h, the /metrics server,
 * signals, exit statuses. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "consume.h"
#include "metrics.h"
#include "util.h"

#define DEFAULT_BROKERS "127.0.0.1:9092"
#define DEFAULT_TOPIC "shop-db-data-changes"
#define DEFAULT_GROUP "cdcctl-consumer"
#define DEFAULT_METRICS "127.0.0.1:8000"
#define DEFAULT_PREFIX "cdc-events"

/* Signal state (the only mutable globals allowed). */
static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t reopen_requested;

static void on_stop(int sig)
{
    (void)sig;
    if (stop_requested < 2)
        stop_requested++;
}

static void on_hup(int sig)
{
    (void)sig;
    reopen_requested = 1;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: cdcctl [-f FILE] consume [OPTIONS]\n"
            "\n"
            "Consume TiCDC canal-json changes from Kafka: Prometheus metrics, one CDC_EVENT line\n"
            "per row on stdout, and (optionally) one Elasticsearch document per row.\n"
            "\n"
            "  --brokers LIST        Kafka bootstrap servers (default " DEFAULT_BROKERS ")\n"
            "  --topic T             topic (default " DEFAULT_TOPIC ")\n"
            "  --group G             consumer group (default " DEFAULT_GROUP ")\n"
            "  --metrics-addr H:P    serve /metrics here; port 0 = any free port\n"
            "                        (default " DEFAULT_METRICS ")\n"
            "  --es-url URL          index rows into Elasticsearch at URL (credentials from\n"
            "                        ES_USERNAME / ES_PASSWORD in the environment)\n"
            "  --no-es               do not use Elasticsearch (even if the manifest says so)\n"
            "  --es-ca-cert FILE     trust this PEM CA bundle for an https:// --es-url\n"
            "  --es-index-prefix P   daily indices P-YYYY.MM.DD (default " DEFAULT_PREFIX ")\n"
            "  --es-batch-docs N     documents per _bulk request (default 1000)\n"
            "  --es-batch-ms MS      longest a document waits for its _bulk (default 1000)\n"
            "  --log-file PATH       also append the CDC_EVENT lines to PATH (reopened on SIGHUP)\n"
            "  --exit-at-eof         stop once every assigned partition is drained\n"
            "  -X NAME=VALUE         librdkafka property, e.g. -X security.protocol=SSL\n"
            "                        (repeatable; applied after cdcctl's defaults)\n"
            "  -h, --help            this help\n"
            "\n"
            "Defaults come from the manifest's consumer and kafka sections when a manifest is\n"
            "given with -f or ./cdcctl.yaml exists (as seen from this host: kafka.host_brokers,\n"
            "Elasticsearch through its published port, metrics on 127.0.0.1); flags override\n"
            "them. New groups start at the earliest offset. SIGTERM/SIGINT: flush, commit\n"
            "offsets, leave the group, exit 0 (a second signal stops waiting for Elasticsearch).\n");
}

/* The manifest's consumer section describes the consumer service inside the
 * stack. Run on the host, `cdcctl consume` reaches Elasticsearch through the port
 * the service publishes: "http://elasticsearch:9200" becomes
 * "http://127.0.0.1:9200" when the manifest publishes 127.0.0.1:9200:9200 (or the
 * service's `external:` endpoint). Returns a malloc'd URL, or NULL to keep url. */
static char *host_url(const struct manifest *m, const char *url)
{
    const char *hs = strstr(url, "://");
    if (!hs)
        return NULL;
    hs += 3;
    const char *at = strchr(hs, '@'), *slash = strchr(hs, '/');
    if (at && (!slash || at < slash))
        hs = at + 1;
    const char *colon = strchr(hs, ':');
    const char *end = slash ? slash : hs + strlen(hs);
    if (!colon || colon > end)
        return NULL;
    char name[256];
    size_t hl = (size_t)(colon - hs);
    if (hl == 0 || hl >= sizeof name)
        return NULL;
    memcpy(name, hs, hl);
    name[hl] = '\0';
    int port = atoi(colon + 1);
    const struct service *svc = manifest_service(m, name);
    if (!svc)
        return NULL;
    char hostport[300] = "";
    if (svc->external) {
        snprintf(hostport, sizeof hostport, "%s", svc->external);
    } else {
        for (size_t i = 0; i < svc->nports; i++) {
            const struct port_spec *ps = &svc->ports[i];
            if (ps->container_port == port && ps->host_port > 0 && strcmp(ps->proto, "udp") != 0) {
                const char *ip = ps->host_ip && *ps->host_ip && strcmp(ps->host_ip, "0.0.0.0") != 0
                                     ? ps->host_ip : "127.0.0.1";
                snprintf(hostport, sizeof hostport, "%s:%d", ip, ps->host_port);
                break;
            }
        }
    }
    if (!hostport[0])
        return NULL;
    struct strbuf sb = {0};
    strbuf_add(&sb, url, (size_t)(hs - url));
    strbuf_adds(&sb, hostport);
    const char *rest = colon + 1;
    while (*rest >= '0' && *rest <= '9')
        rest++;
    strbuf_adds(&sb, rest);
    return strbuf_detach(&sb);
}

/* Serialises diagnostic lines from the consumer and librdkafka's threads. */
static void log_line(void *ctx, const char *msg)
{
    (void)ctx;
    flockfile(stderr);
    cli_error("consume", "%s", msg);
    funlockfile(stderr);
}

static int parse_size(const char *s, long min, long max, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

enum {
    OPT_BROKERS = 256,
    OPT_TOPIC,
    OPT_GROUP,
    OPT_METRICS,
    OPT_ES_URL,
    OPT_NO_ES,
    OPT_PREFIX,
    OPT_ES_CA,
    OPT_BATCH_DOCS,
    OPT_BATCH_MS,
    OPT_LOG_FILE,
    OPT_EXIT_EOF,
};

int cmd_consume(int argc, char **argv, const struct cli_ctx *ctx)
{
    static const struct option opts[] = {
        {"brokers", required_argument, NULL, OPT_BROKERS},
        {"topic", required_argument, NULL, OPT_TOPIC},
        {"group", required_argument, NULL, OPT_GROUP},
        {"metrics-addr", required_argument, NULL, OPT_METRICS},
        {"es-url", required_argument, NULL, OPT_ES_URL},
        {"no-es", no_argument, NULL, OPT_NO_ES},
        {"es-index-prefix", required_argument, NULL, OPT_PREFIX},
        {"es-ca-cert", required_argument, NULL, OPT_ES_CA},
        {"es-batch-docs", required_argument, NULL, OPT_BATCH_DOCS},
        {"es-batch-ms", required_argument, NULL, OPT_BATCH_MS},
        {"log-file", required_argument, NULL, OPT_LOG_FILE},
        {"exit-at-eof", no_argument, NULL, OPT_EXIT_EOF},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *brokers = NULL, *topic = NULL, *group = NULL, *maddr = NULL, *es_url = NULL;
    const char *prefix = NULL, *log_file = NULL, *es_ca = NULL;
    long batch_docs = 0, batch_ms = 0;
    int no_es = 0, exit_eof = 0, opt, status = EXIT_RUNTIME;
    const char **xprops = xcalloc((size_t)argc + 1, sizeof *xprops);
    size_t nx = 0;
    char **props = NULL;
    size_t nprops = 0;
    struct manifest *man = NULL;
    struct metrics *metrics = NULL;
    struct metrics_server *srv = NULL;
    struct consumer *c = NULL;
    char *es_host_url = NULL, *maddr_host = NULL;
    char err[ERRLEN];

    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":hX:", opts, NULL)) != -1) {
        switch (opt) {
        case OPT_BROKERS: brokers = optarg; break;
        case OPT_TOPIC: topic = optarg; break;
        case OPT_GROUP: group = optarg; break;
        case OPT_METRICS: maddr = optarg; break;
        case OPT_ES_URL: es_url = optarg; break;
        case OPT_NO_ES: no_es = 1; break;
        case OPT_PREFIX: prefix = optarg; break;
        case OPT_ES_CA: es_ca = optarg; break;
        case OPT_LOG_FILE: log_file = optarg; break;
        case OPT_EXIT_EOF: exit_eof = 1; break;
        case 'X': xprops[nx++] = optarg; break;
        case OPT_BATCH_DOCS:
            if (parse_size(optarg, 1, 100000, &batch_docs) != 0) {
                cli_error("consume", "--es-batch-docs: expected a number from 1 to 100000, got '%s'", optarg);
                status = EXIT_USAGE;
                goto out;
            }
            break;
        case OPT_BATCH_MS:
            if (parse_size(optarg, 1, 600000, &batch_ms) != 0) {
                cli_error("consume", "--es-batch-ms: expected milliseconds from 1 to 600000, got '%s'", optarg);
                status = EXIT_USAGE;
                goto out;
            }
            break;
        case 'h':
            usage(stdout);
            status = EXIT_OK;
            goto out;
        case ':':
            cli_error("consume", "option '%s' needs a value", argv[optind - 1]);
            status = EXIT_USAGE;
            goto out;
        default:
            cli_error("consume", "unknown option '%s' (see cdcctl consume --help)", argv[optind - 1]);
            status = EXIT_USAGE;
            goto out;
        }
    }
    if (optind < argc) {
        cli_error("consume", "unexpected argument '%s'", argv[optind]);
        status = EXIT_USAGE;
        goto out;
    }
    if (no_es && es_url) {
        cli_error("consume", "--es-url and --no-es contradict each other");
        status = EXIT_USAGE;
        goto out;
    }

    /* Manifest defaults, only for an explicit manifest (the built-in one describes
     * the consumer service inside the stack, which passes its own flags). */
    if (ctx->file || access("cdcctl.yaml", F_OK) == 0) {
        int rc = cli_load_manifest(ctx, &man);
        if (rc != EXIT_OK) {
            status = rc;
            goto out;
        }
        const struct consumer_section *cs = &man->consumer;
        const struct kafka_section *ks = &man->kafka;
        if (!brokers) {
            /* consumer.brokers defaults to kafka.brokers, the in-network address;
             * a consumer on this host uses kafka.host_brokers unless one was set. */
            if (cs->brokers && !(ks->brokers && strcmp(cs->brokers, ks->brokers) == 0))
                brokers = cs->brokers;
            else if (ks->host_brokers)
                brokers = ks->host_brokers;
            else
                brokers = cs->brokers ? cs->brokers : ks->brokers;
        }
        if (!topic)
            topic = cs->topic ? cs->topic : ks->topic;
        if (!group)
            group = cs->group;
        if (!maddr && cs->metrics_addr) {
            /* 0.0.0.0 is for inside the container; on the host stay on loopback */
            const char *port = strrchr(cs->metrics_addr, ':');
            if (port && (strncmp(cs->metrics_addr, "0.0.0.0:", 8) == 0 || port == cs->metrics_addr)) {
                struct strbuf sb = {0};
                strbuf_addf(&sb, "127.0.0.1%s", port);
                maddr = maddr_host = strbuf_detach(&sb);
            } else {
                maddr = cs->metrics_addr;
            }
        }
        if (!es_url && !no_es && cs->es_url) {
            es_host_url = host_url(man, cs->es_url);
            es_url = es_host_url ? es_host_url : cs->es_url;
        }
        if (!prefix)
            prefix = cs->es_index_prefix;
        if (!log_file)
            log_file = cs->log_file;
        nprops = cs->properties.n;
    }
    props = xcalloc(nprops + nx + 1, sizeof *props);
    for (size_t i = 0; i < nprops; i++) {
        const struct kv *kv = &man->consumer.properties.items[i];
        struct strbuf sb = {0};
        strbuf_adds(&sb, kv->key);
        strbuf_add(&sb, "=", 1);
        strbuf_adds(&sb, kv->value ? kv->value : "");
        props[i] = strbuf_detach(&sb);
    }
    for (size_t i = 0; i < nx; i++)
        props[nprops + i] = xstrdup(xprops[i]);

    struct consume_config cfg = {
        .brokers = brokers ? brokers : DEFAULT_BROKERS,
        .topic = topic ? topic : DEFAULT_TOPIC,
        .group = group ? group : DEFAULT_GROUP,
        .props = (const char *const *)props,
        .nprops = nprops + nx,
        .es_url = no_es ? NULL : es_url,
        .es_index_prefix = prefix ? prefix : DEFAULT_PREFIX,
        .es_username = getenv("ES_USERNAME"),
        .es_password = getenv("ES_PASSWORD"),
        .es_ca_file = es_ca,
        .es_batch_docs = (size_t)batch_docs,
        .es_batch_ms = (int)(batch_ms ? batch_ms : 1000),
        .log_file = log_file,
        .out_fd = STDOUT_FILENO,
        .exit_at_eof = exit_eof,
        .stop = &stop_requested,
        .reopen = &reopen_requested,
        .log = log_line,
    };
    if (!maddr)
        maddr = DEFAULT_METRICS;

    metrics = metrics_new();
    cfg.metrics = metrics;
    int rc = consume_new(&cfg, &c, err, sizeof err);
    if (rc != CC_OK) {
        cli_error("consume", "%s", err);
        status = rc == CC_EINVAL ? EXIT_USAGE : EXIT_RUNTIME;
        goto out;
    }
    int port = 0;
    if (metrics_server_start(metrics, maddr, &srv, &port, err, sizeof err) != CC_OK) {
        cli_error("consume", "metrics: %s", err);
        goto out;
    }
    const char *colon = strrchr(maddr, ':');
    int hostlen = colon ? (int)(colon - maddr) : 0;

    struct sigaction sa = {0};
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_hup;
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);

    flockfile(stderr);
    cli_error("consume", "metrics on http://%.*s:%d/metrics", hostlen, hostlen ? maddr : "0.0.0.0",
              port);
    funlockfile(stderr);

    if (consume_run(c, err, sizeof err) != CC_OK) {
        cli_error("consume", "%s", err);
        goto out;
    }
    status = EXIT_OK;
out:
    consume_free(c);
    metrics_server_stop(srv);
    metrics_free(metrics);
    manifest_free(man);
    free(es_host_url);
    free(maddr_host);
    for (size_t i = 0; props && i < nprops + nx; i++)
        free(props[i]);
    free(props);
    free(xprops);
    return status;
}
