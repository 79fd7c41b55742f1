/* cdcctl status: one row per service, then the bootstrap's and monitoring's rows. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootstrap.h"
#include "cli.h"
#include "docker.h"
#include "monitor.h"
#include "secret.h"
#include "stack.h"
#include "status.h"
#include "util.h"

#define STATUS_CHECK_TIMEOUT_S 5

int cmd_status(int argc, char **argv, const struct cli_ctx *ctx)
{
    int json = 0;
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'},
        {"json", no_argument, NULL, 'j'},
        {NULL, 0, NULL, 0},
    };
    int c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            printf("usage: cdcctl [-f FILE] [-p NAME] status [--json]\n\n"
                   "One row per service (state, health, published ports, image, uptime;\n"
                   "external services: a TCP connect check), then TiDB, the changefeed, the\n"
                   "topic, Prometheus targets and Grafana. Exit status 3 when a row is not\n"
                   "ok: a service missing, not running or not healthy.\n\n"
                   "  --json   the same rows as JSON\n");
            return EXIT_OK;
        case 'j':
            json = 1;
            break;
        default:
            return cli_bad_option("status", c, argv);
        }
    }
    if (optind < argc) {
        cli_error("status", "unexpected argument '%s' (see cdcctl status --help)", argv[optind]);
        return EXIT_USAGE;
    }
    struct manifest *m = NULL;
    struct docker *d = NULL;
    struct stack_endpoints ep = {0};
    struct status_table t = {0};
    char *state_dir = NULL;
    char err[ERRLEN];
    int status = cli_load_manifest(ctx, &m);
    if (status != EXIT_OK)
        return status;
    status = EXIT_RUNTIME;
    if (stack_needs_docker(m) && docker_open(&d, err, sizeof err) != CC_OK) {
        cli_error("status", "%s", err);
        goto out;
    }
    if (stack_status(d, m, &t, &ep, err, sizeof err) != CC_OK) {
        cli_error("status", "%s", err);
        goto out;
    }
    state_dir = secret_state_dir(m->project);
    struct endpoint_resolver r = stack_resolver(&ep);
    struct bootstrap_options bo = {state_dir, STATUS_CHECK_TIMEOUT_S, NULL};
    bootstrap_status(m, d ? &r : NULL, &bo, &t);
    monitor_status(m, d ? &r : NULL, &t);
    if (json)
        status_print_json(&t, stdout);
    else
        status_print_text(&t, stdout);
    status = status_all_ok(&t) ? EXIT_OK : EXIT_UNHEALTHY;
out:
    status_release(&t);
    stack_endpoints_release(&ep);
    docker_close(d);
    free(state_dir);
    manifest_free(m);
    return status;
}
