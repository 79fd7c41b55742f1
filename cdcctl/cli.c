/* cli: helpers shared by the cmd_*.c command implementations. */
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "util.h"

void cli_error(const char *what, const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fputs("cdcctl: ", stderr);
    if (what)
        fprintf(stderr, "%s: ", what);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_load_manifest(const struct cli_ctx *ctx, struct manifest **out)
{
    struct manifest_source src = {0};
    char err[ERRLEN];
    src.path = ctx->file;
    /* ./cdcctl.yaml is picked up when present, except when it is our own stdout:
     * `cdcctl config > cdcctl.yaml` must print the built-in manifest, not read the
     * empty file the shell just created. */
    struct stat local, st_out;
    if (!src.path && stat("cdcctl.yaml", &local) == 0 &&
        !(fstat(STDOUT_FILENO, &st_out) == 0 && local.st_dev == st_out.st_dev &&
          local.st_ino == st_out.st_ino))
        src.path = "cdcctl.yaml";
    src.project = ctx->project;
    int rc = manifest_load(&src, out, err, sizeof err);
    if (rc == CC_OK)
        return EXIT_OK;
    cli_error(NULL, "%s", err);
    return rc == CC_EINVAL ? EXIT_USAGE : EXIT_RUNTIME;
}

int cli_finish(int status)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        perror("cdcctl: stdout");
        return status ? status : EXIT_RUNTIME;
    }
    return status;
}


int cli_bad_option(const char *cmd, int c, char **argv)
{
    const char *opt = optind > 0 ? argv[optind - 1] : "?";
    if (c == ':')
        cli_error(cmd, "option '%s' needs a value", opt);
    else if (optopt && optopt != '?')
        cli_error(cmd, "unknown option '-%c' (see cdcctl %s --help)", optopt, cmd);
    else
        cli_error(cmd, "unknown option '%s' (see cdcctl %s --help)", opt, cmd);
    return EXIT_USAGE;
}

int cli_number(const char *cmd, const char *opt, const char *val, double min, double max,
               double *out)
{
    char *end = NULL;
    double v = val ? strtod(val, &end) : 0;
    if (!val || end == val || *end || !(v >= min && v <= max)) {
        cli_error(cmd, "%s needs a number from %g to %g", opt, min, max);
        return EXIT_USAGE;
    }
    *out = v;
    return EXIT_OK;
}
