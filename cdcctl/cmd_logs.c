/* cdcctl logs SERVICE: the container's log, stdout to stdout and stderr to stderr. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "docker.h"
#include "stack.h"
#include "util.h"

static int write_stream(int stream, const char *data, size_t len, void *ctx)
{
    (void)ctx;
    FILE *out = stream == 2 ? stderr : stdout;
    if (fwrite(data, 1, len, out) != len)
        return 1;
    fflush(out); /* -f: show lines as they come */
    return ferror(out) ? 1 : 0;
}

int cmd_logs(int argc, char **argv, const struct cli_ctx *ctx)
{
    const char *service = NULL;
    int follow = 0, tail = -1;
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'},
        {"follow", no_argument, NULL, 'f'},
        {"tail", required_argument, NULL, 'n'},
        {NULL, 0, NULL, 0},
    };
    int c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":hfn:", opts, NULL)) != -1) {
        double n;
        switch (c) {
        case 'h':
            printf("usage: cdcctl [-f FILE] [-p NAME] logs SERVICE [-f|--follow] [--tail N]\n\n"
                   "Prints the service's container log: its stdout to stdout, its stderr to\n"
                   "stderr.\n\n"
                   "  -f, --follow   keep printing new output until the container stops\n"
                   "  --tail N       only the last N lines (default: all)\n");
            return EXIT_OK;
        case 'f':
            follow = 1;
            break;
        case 'n':
            if (strcmp(optarg, "all") == 0) {
                tail = -1;
                break;
            }
            if (cli_number("logs", "--tail", optarg, 0, 1e9, &n) != EXIT_OK)
                return EXIT_USAGE;
            tail = (int)n;
            break;
        default:
            return cli_bad_option("logs", c, argv);
        }
    }
    for (; optind < argc; optind++) {
        if (service) {
            cli_error("logs", "one service at a time ('%s' and '%s')", service, argv[optind]);
            return EXIT_USAGE;
        }
        service = argv[optind];
    }
    if (!service) {
        cli_error("logs", "which service? (usage: cdcctl logs SERVICE [-f] [--tail N])");
        return EXIT_USAGE;
    }
    struct manifest *m = NULL;
    struct docker *d = NULL;
    char err[ERRLEN];
    int status = cli_load_manifest(ctx, &m);
    if (status != EXIT_OK)
        return status;
    const struct service *svc = manifest_service(m, service);
    if (!svc || svc->external) {
        if (!svc)
            cli_error("logs", "no service '%s' in %s", service, m->path);
        else
            cli_error("logs", "service %s is external (%s): there is no container log", service,
                      svc->external);
        status = EXIT_USAGE;
        goto out;
    }
    status = EXIT_RUNTIME;
    if (docker_open(&d, err, sizeof err) != CC_OK) {
        cli_error("logs", "%s", err);
        goto out;
    }
    if (stack_logs(d, m, service, tail, follow, write_stream, NULL, err, sizeof err) != CC_OK) {
        cli_error("logs", "%s", err);
        goto out;
    }
    status = EXIT_OK;
out:
    docker_close(d);
    manifest_free(m);
    return status;
}
