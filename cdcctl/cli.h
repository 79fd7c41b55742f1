/* cli: the command layer. Only code behind this header prints to the user and
 * chooses exit statuses; modules return statuses and error text. */
#ifndef CDCCTL_CLI_H
#define CDCCTL_CLI_H
#include "manifest.h"

/* Global options given before the command. */
struct cli_ctx {
    const char *file;    /* -f FILE, or NULL */
    const char *project; /* -p NAME, or NULL */
};

/* A command: argv[0] is the command name; returns the process exit status. */
typedef int (*cli_cmd_fn)(int argc, char **argv, const struct cli_ctx *ctx);

int cmd_up(int argc, char **argv, const struct cli_ctx *ctx);
int cmd_status(int argc, char **argv, const struct cli_ctx *ctx);
int cmd_consume(int argc, char **argv, const struct cli_ctx *ctx);
int cmd_down(int argc, char **argv, const struct cli_ctx *ctx);
int cmd_config(int argc, char **argv, const struct cli_ctx *ctx);
int cmd_logs(int argc, char **argv, const struct cli_ctx *ctx);

/* Prints "cdcctl: <what>: <why>" (or "cdcctl: <why>" when what is NULL) to stderr. */
void cli_error(const char *what, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Loads the manifest the global options select: -f FILE; else ./cdcctl.yaml when
 * present; else the built-in default. On error prints it and returns the exit
 * status (2 for a bad manifest, 1 for an unreadable one) with *out NULL; else 0. */
int cli_load_manifest(const struct cli_ctx *ctx, struct manifest **out);

/* Reports a getopt_long() failure of command `cmd` (its return value `c`: '?' for an
 * unknown option, ':' for a missing value; argv as given to getopt_long) and returns
 * EXIT_USAGE. */
int cli_bad_option(const char *cmd, int c, char **argv);

/* Parses `val`, the value of option `opt` of command `cmd`, as a decimal number in
 * [min, max] into *out. On failure prints "cdcctl: CMD: OPT needs a number from MIN
 * to MAX" and returns EXIT_USAGE; else EXIT_OK. */
int cli_number(const char *cmd, const char *opt, const char *val, double min, double max,
               double *out);

/* Flushes stdout and reports a write error (EPIPE, ENOSPC) as exit 1. */
int cli_finish(int status);

#endif
