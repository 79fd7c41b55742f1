/* cdcctl status: placeholder until its owner lands it. */
#include "cli.h"
#include "util.h"

int cmd_status(int argc, char **argv, const struct cli_ctx *ctx)
{
    (void)argc;
    (void)argv;
    (void)ctx;
    cli_error("status", "not implemented yet");
    return EXIT_RUNTIME;
}
