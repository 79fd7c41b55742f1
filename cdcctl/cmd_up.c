/* cdcctl up: create or converge the stack, wait until it is ready, bootstrap. */
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
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return EXIT_OK;
        } else if (strcmp(a, "--remove-orphans") == 0) {
            o.remove_orphans = 1;
        } else if (strcmp(a, "--no-bootstrap") == 0) {
            bootstrap = 0;
        } else if (strcmp(a, "--timeout") == 0 || strncmp(a, "--timeout=", 10) == 0) {
            val = a[9] == '=' ? a + 10 : (i + 1 < argc ? argv[++i] : NULL);
            char *end = NULL;
            double t = val ? strtod(val, &end) : 0;
            if (!val || end == val || *end || t <= 0) {
                cli_error("up", "--timeout needs a number of seconds > 0");
                return EXIT_USAGE;
            }
            o.timeout_s = t;
        } else if (strcmp(a, "--pull") == 0 || strncmp(a, "--pull=", 7) == 0) {
            val = a[6] == '=' ? a + 7 : (i + 1 < argc ? argv[++i] : NULL);
            if (val && strcmp(val, "always") == 0)
                o.pull = STACK_PULL_ALWAYS;
            else if (val && strcmp(val, "missing") == 0)
                o.pull = STACK_PULL_MISSING;
            else {
                cli_error("up", "--pull takes always or missing");
                return EXIT_USAGE;
            }
        } else {
            cli_error("up", "unknown option '%s' (see cdcctl up --help)", a);
            return EXIT_USAGE;
        }
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
