/* cdcctl logs SERVICE: the container's log, stdout to stdout and stderr to stderr. */
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
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            printf("usage: cdcctl [-f FILE] [-p NAME] logs SERVICE [-f|--follow] [--tail N]\n\n"
                   "Prints the service's container log: its stdout to stdout, its stderr to\n"
                   "stderr.\n\n"
                   "  -f, --follow   keep printing new output until the container stops\n"
                   "  --tail N       only the last N lines (default: all)\n");
            return EXIT_OK;
        } else if (strcmp(a, "-f") == 0 || strcmp(a, "--follow") == 0) {
            follow = 1;
        } else if (strcmp(a, "--tail") == 0 || strcmp(a, "-n") == 0 || strncmp(a, "--tail=", 7) == 0) {
            const char *val = strncmp(a, "--tail=", 7) == 0 ? a + 7 : (i + 1 < argc ? argv[++i] : NULL);
            char *end = NULL;
            long n = val ? strtol(val, &end, 10) : -1;
            if (val && strcmp(val, "all") == 0) {
                tail = -1;
            } else if (!val || end == val || *end || n < 0) {
                cli_error("logs", "--tail needs a number of lines (or all)");
                return EXIT_USAGE;
            } else {
                tail = n > 1000000000 ? 1000000000 : (int)n;
            }
        } else if (a[0] == '-' && a[1]) {
            cli_error("logs", "unknown option '%s' (see cdcctl logs --help)", a);
            return EXIT_USAGE;
        } else if (!service) {
            service = a;
        } else {
            cli_error("logs", "one service at a time ('%s' and '%s')", service, a);
            return EXIT_USAGE;
        }
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
