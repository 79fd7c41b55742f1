/* cdcctl down: stop and remove the project's containers and network (--volumes). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "docker.h"
#include "stack.h"
#include "util.h"

int cmd_down(int argc, char **argv, const struct cli_ctx *ctx)
{
    int volumes = 0;
    double timeout = 10;
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'},
        {"volumes", no_argument, NULL, 'v'},
        {"timeout", required_argument, NULL, 't'},
        {NULL, 0, NULL, 0},
    };
    int c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":hvt:", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            printf("usage: cdcctl [-f FILE] [-p NAME] down [-v|--volumes] [--timeout SECONDS]\n\n"
                   "Stops (dependents first) and removes every container of the project,\n"
                   "including orphans, and the project's network. Running it again is fine.\n\n"
                   "  -v, --volumes       also remove the project's volumes (its data)\n"
                   "  --timeout SECONDS   how long a container may take to stop before it is\n"
                   "                      killed (default 10)\n");
            return EXIT_OK;
        case 'v':
            volumes = 1;
            break;
        case 't':
            if (cli_number("down", "--timeout", optarg, 0, 86400, &timeout) != EXIT_OK)
                return EXIT_USAGE;
            break;
        default:
            return cli_bad_option("down", c, argv);
        }
    }
    if (optind < argc) {
        cli_error("down", "unexpected argument '%s' (see cdcctl down --help)", argv[optind]);
        return EXIT_USAGE;
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
    if (stack_down(d, m, (int)timeout, volumes, stderr, NULL, err, sizeof err) != CC_OK) {
        cli_error("down", "%s", err);
        goto out;
    }
    status = EXIT_OK;
out:
    docker_close(d);
    manifest_free(m);
    return status;
}
