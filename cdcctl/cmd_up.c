/* cdcctl up: create or converge the stack, wait until it is ready, bootstrap. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootstrap.h"
#include "cli.h"
#include "docker.h"
#include "secret.h"
#include "stack.h"
#include "util.h"

#define FAILED_LOG_LINES 20

static void usage(FILE *out)
{
    fprintf(out,
            "usage: cdcctl [-f FILE] [-p NAME] up [--remove-orphans] [--timeout SECONDS]\n"
            "                                     [--no-bootstrap] [--pull always|missing]\n\n"
            "Creates or converges the stack: builds or pulls missing images, creates the\n"
            "network and volumes, then per service in dependency order keeps, starts,\n"
            "recreates (when its configuration changed) or creates its container, waits\n"
            "for depends_on conditions and for every service to be running (healthy when\n"
            "it has a healthcheck), and finally bootstraps TiDB, the Kafka topic and the\n"
            "TiCDC changefeed. Running it again changes nothing that is up to date.\n\n"
            "  --remove-orphans    remove containers of services no longer in the manifest\n"
            "  --timeout SECONDS   deadline for every wait (default 300)\n"
            "  --no-bootstrap      skip the TiDB/Kafka/TiCDC bootstrap\n"
            "  --pull POLICY       missing (default: pull only absent images) or always\n");
}

static int to_stderr(int stream, const char *data, size_t len, void *ctx)
{
    (void)stream;
    (void)ctx;
    return fwrite(data, 1, len, stderr) == len ? 0 : 1;
}

/* The tail of the failed service's log, after the error line. */
static void show_log_tail(struct docker *d, const struct manifest *m, const char *service)
{
    char err[ERRLEN];
    fprintf(stderr, "--- last %d lines of %s's log ---\n", FAILED_LOG_LINES, service);
    if (stack_logs(d, m, service, FAILED_LOG_LINES, 0, to_stderr, NULL, err, sizeof err) != CC_OK)
        fprintf(stderr, "(no log: %s)\n", err);
    fprintf(stderr, "---\n");
}

int cmd_up(int argc, char **argv, const struct cli_ctx *ctx)
{
    struct stack_up_options o = {0};
    int bootstrap = 1;
    o.timeout_s = 300;
    o.pull = STACK_PULL_MISSING;
    o.progress = stderr;
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'},
        {"remove-orphans", no_argument, NULL, 'R'},
        {"no-bootstrap", no_argument, NULL, 'B'},
        {"timeout", required_argument, NULL, 't'},
        {"pull", required_argument, NULL, 'P'},
        {NULL, 0, NULL, 0},
    };
    int c;
    optind = 0; /* full getopt reset: commands may be dispatched more than once */
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            usage(stdout);
            return EXIT_OK;
        case 'R':
            o.remove_orphans = 1;
            break;
        case 'B':
            bootstrap = 0;
            break;
        case 't':
            if (cli_number("up", "--timeout", optarg, 0.001, 86400, &o.timeout_s) != EXIT_OK)
                return EXIT_USAGE;
            break;
        case 'P':
            if (strcmp(optarg, "always") == 0)
                o.pull = STACK_PULL_ALWAYS;
            else if (strcmp(optarg, "missing") == 0)
                o.pull = STACK_PULL_MISSING;
            else {
                cli_error("up", "--pull takes always or missing");
                return EXIT_USAGE;
            }
            break;
        default:
            return cli_bad_option("up", c, argv);
        }
    }
    if (optind < argc) {
        cli_error("up", "unexpected argument '%s' (see cdcctl up --help)", argv[optind]);
        return EXIT_USAGE;
    }

    struct manifest *m = NULL;
    struct docker *d = NULL;
    struct stack_endpoints ep = {0};
    char *state_dir = NULL;
    char err[ERRLEN];
    int status = cli_load_manifest(ctx, &m);
    if (status != EXIT_OK)
        return status;
    state_dir = secret_state_dir(m->project);
    o.state_dir = state_dir;
    status = EXIT_RUNTIME;

    /* Every service external: no Docker at all, only the bootstrap. */
    if (stack_needs_docker(m)) {
        if (docker_open(&d, err, sizeof err) != CC_OK) {
            cli_error("up", "%s", err);
            goto out;
        }
        struct stack_failure fail = {{0}};
        if (stack_up(d, m, &o, &ep, &fail, err, sizeof err) != CC_OK) {
            cli_error("up", "%s", err);
            if (fail.service[0])
                show_log_tail(d, m, fail.service);
            goto out;
        }
    }
    if (bootstrap) {
        struct endpoint_resolver r = stack_resolver(&ep);
        struct bootstrap_options bo = {state_dir, o.timeout_s, stderr};
        if (bootstrap_up(m, d ? &r : NULL, &bo, err, sizeof err) != CC_OK) {
            cli_error("up", "%s", err);
            goto out;
        }
    }
    status = EXIT_OK;
out:
    stack_endpoints_release(&ep);
    docker_close(d);
    free(state_dir);
    manifest_free(m);
    return status;
}
