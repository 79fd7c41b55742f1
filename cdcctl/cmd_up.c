/* cdcctl up: placeholder until its owner lands it. */
#include "cli.h"
#include "util.h"

int cmd_up(int argc, char **argv, const struct cli_ctx *ctx)
{
    (void)argc;
    (void)argv;
    (void)ctx;
    cli_error("up", "not implemented yet");
    return EXIT_RUNTIME;
}
