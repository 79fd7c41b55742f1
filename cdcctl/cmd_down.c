/* cdcctl down: stop and remove the project's containers and network (--volumes). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "docker.h"
#include "stack.h"
#include "util.h"

int cmd_down(int argc, char **argv, const struct cli_ctx *ctx)
{
    int volumes = 0, timeout = 10;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            printf("usage: cdcctl [-f FILE] [-p NAME] down [-v|--volumes] [--timeout SECONDS]\n\n"
                   "Stops (dependents first) and removes every container of the project,\n"
                   "including orphans, and the project's network. Running it again is fine.\n\n"
                   "  -v, --volumes       also remove the project's volumes (its data)\n"
                   "  --timeout SECONDS   how long a container may take to stop before it is\n"
                   "                      killed (default 10)\n");
            return EXIT_OK;
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "--volumes") == 0) {
            volumes = 1;
        } else if (strcmp(a, "--timeout") == 0 || strcmp(a, "-t") == 0 ||
                   strncmp(a, "--timeout=", 10) == 0) {
            const char *val = a[1] != '-' ? (i + 1 < argc ? argv[++i] : NULL)
                              : a[9] == '=' ? a + 10 : (i + 1 < argc ? argv[++i] : NULL);
            char *end = NULL;
            long t = val ? strtol(val, &end, 10) : -1;
            if (!val || end == val || *end || t < 0 || t > 86400) {
                cli_error("down", "--timeout needs a number of seconds >= 0");
                return EXIT_USAGE;
            }
            timeout = (int)t;
        } else {
            cli_error("down", "unknown option '%s' (see cdcctl down --help)", a);
            return EXIT_USAGE;
        }
    }
    struct manifest *m = NULL;
    struct docker *d = NULL;
    char err[ERRLEN];
    int status = cli_load_manifest(ctx, &m);
    if (status != EXIT_OK)
        return status;
    status = EXIT_RUNTIME;
    if (docker_open(&d, err, sizeof err) != CC_OK) {
        if (!stack_needs_docker(m)) {
            /* Every service is external: cdcctl never made anything here. */
            fprintf(stderr, "nothing to remove\n");
            status = EXIT_OK;
        } else {
            cli_error("down", "%s", err);
        }
        goto out;
    }
    if (stack_down(d, m, timeout, volumes, stderr, NULL, err, sizeof err) != CC_OK) {
        cli_error("down", "%s", err);
        goto out;
    }
    status = EXIT_OK;
out:
    docker_close(d);
    manifest_free(m);
    return status;
}
