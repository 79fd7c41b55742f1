/* cdcctl: one binary that brings up and runs a TiDB change-data-capture pipeline.
 * main() parses global options and dispatches through the command table. */
#include <curl/curl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "util.h"
#include "version.h"

static int cmd_version(int argc, char **argv, const struct cli_ctx *ctx);
static int cmd_help(int argc, char **argv, const struct cli_ctx *ctx);

/* Command flags. */
#define CMD_CURL_THREADS 1u /* starts threads that use libcurl: initialise it first */

struct command {
    const char *name;
    cli_cmd_fn fn;
    unsigned flags;
    const char *summary;
};

static const struct command commands[] = {
    {"up", cmd_up, CMD_CURL_THREADS, "create or converge the stack, wait until ready, bootstrap TiDB and TiCDC"},
    {"status", cmd_status, CMD_CURL_THREADS, "one row per service, changefeed and consumer (--json)"},
    {"consume", cmd_consume, 0, "run the consumer: Kafka canal-json -> metrics, logs, Elasticsearch"},
    {"down", cmd_down, CMD_CURL_THREADS, "stop and remove the project's containers and network (--volumes)"},
    {"config", cmd_config, 0, "print the resolved manifest, or the first error"},
    {"logs", cmd_logs, 0, "print a service's container log (-f follows)"},
    {"version", cmd_version, 0, "print the version"},
    {"help", cmd_help, 0, "show this help, or a command's (help COMMAND)"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: cdcctl [-f FILE] [-p NAME] COMMAND [OPTIONS]\n\n"
                 "  -f FILE   manifest (default ./cdcctl.yaml when present, else the built-in one)\n"
                 "  -p NAME   project name (default: the manifest's `project`)\n\n"
                 "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n`cdcctl COMMAND --help` shows a command's options.\n");
}

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static int cmd_version(int argc, char **argv, const struct cli_ctx *ctx)
{
    (void)ctx;
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: cdcctl version\n");
        return EXIT_OK;
    }
    printf("cdcctl %s\n", CDCCTL_VERSION);
    return EXIT_OK;
}

static int cmd_help(int argc, char **argv, const struct cli_ctx *ctx)
{
    if (argc > 1) {
        const struct command *c = find_command(argv[1]);
        if (!c) {
            cli_error(NULL, "unknown command '%s'", argv[1]);
            return EXIT_USAGE;
        }
        char *sub[] = {(char *)c->name, "--help", NULL};
        return c->fn(2, sub, ctx);
    }
    usage(stdout);
    return EXIT_OK;
}

int main(int argc, char **argv)
{
    struct cli_ctx ctx = {0};
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-f") == 0 || strcmp(a, "--file") == 0 || strcmp(a, "-p") == 0 ||
            strcmp(a, "--project-name") == 0) {
            if (i + 1 >= argc) {
                cli_error(NULL, "option '%s' needs a value", a);
                return EXIT_USAGE;
            }
            if (a[1] == 'f' || a[2] == 'f')
                ctx.file = argv[++i];
            else
                ctx.project = argv[++i];
        } else if (strncmp(a, "--file=", 7) == 0) {
            ctx.file = a + 7;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return cli_finish(EXIT_OK);
        } else if (strcmp(a, "--version") == 0) {
            printf("cdcctl %s\n", CDCCTL_VERSION);
            return cli_finish(EXIT_OK);
        } else {
            cli_error(NULL, "unknown option '%s'", a);
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const struct command *c = find_command(argv[i]);
    if (!c) {
        cli_error(NULL, "unknown command '%s' (see cdcctl help)", argv[i]);
        return EXIT_USAGE;
    }
    /* libcurl's global init is thread-safe only from 7.84 on; commands that make
     * Docker calls from several threads do it once up front. Others leave it to
     * curl_easy_init, which saves `consume --no-es` loading what it never uses. */
    if (c->flags & CMD_CURL_THREADS)
        curl_global_init(CURL_GLOBAL_DEFAULT);
    int status = cli_finish(c->fn(argc - i, argv + i, &ctx));
    if (c->flags & CMD_CURL_THREADS)
        curl_global_cleanup();
    return status;
}
