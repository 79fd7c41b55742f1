/* cdcctl down: placeholder until its owner lands it. */
#include "cli.h"
#include "util.h"

int cmd_down(int argc, char **argv, const struct cli_ctx *ctx)
{
    (void)argc;
    (void)argv;
    (void)ctx;
    cli_error("down", "not implemented yet");
    return EXIT_RUNTIME;
}
