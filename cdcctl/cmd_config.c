/* cdcctl config: print the resolved manifest or the first error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util.h"

int cmd_config(int argc, char **argv, const struct cli_ctx *ctx)
{
    int quiet = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: cdcctl [-f FILE] [-p NAME] config [-q]\n\n"
                   "Prints the manifest after ${VAR} interpolation and defaults, or the first\n"
                   "error as file:line:column. -q only validates (exit 0 or 2).\n");
            return EXIT_OK;
        } else if (strcmp(argv[i], "-q") == 0 || strcmp(argv[i], "--quiet") == 0) {
            quiet = 1;
        } else {
            cli_error("config", "unknown option '%s'", argv[i]);
            return EXIT_USAGE;
        }
    }
    struct manifest *m = NULL;
    int rc = cli_load_manifest(ctx, &m);
    if (rc != EXIT_OK)
        return rc;
    if (!quiet) {
        char *yaml = manifest_to_yaml(m);
        fputs(yaml, stdout);
        free(yaml);
    }
    manifest_free(m);
    return EXIT_OK;
}
