/* Unit tests: the manifest module. Every key form, every error with its exact
 * file:line:column, section defaults, the YAML round trip, start order and the
 * built-in default manifest. Fixtures: tests/data/manifests/. No network. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "embedded.h"
#include "manifest.h"
#include "util.h"

/* ---- fixtures and helpers ---- */

static char data_dir[1024]; /* absolute tests/data/manifests */

static const char *fake_env(const char *name, void *ctx)
{
    (void)ctx;
    static const char *const env[][2] = {
        {"HOME", "/home/tester"}, {"PORT", "8080"}, {"R", "3"},
        {"EMPTY", ""},            {"TAG", "1.2"},   {"WEB_TOKEN", "never-read-here"},
    };
    for (size_t i = 0; i < sizeof env / sizeof *env; i++)
        if (!strcmp(env[i][0], name))
            return env[i][1];
    return NULL;
}

static struct manifest_source SRC = {.getenv_fn = fake_env};

static int setup(void **state)
{
    (void)state;
    const char *root = getenv("CDCCTL_ROOT");
    char cwd[PATH_MAX];
    if (!root) {
        if (!getcwd(cwd, sizeof cwd))
            return -1;
        root = cwd;
    }
    if (strlen(root) > 900)
        return -1;
    snprintf(data_dir, sizeof data_dir, "%.900s/tests/data/manifests", root);
    if (access(data_dir, R_OK) != 0) {
        fprintf(stderr, "test_manifest: %s missing (run from the repository root)\n", data_dir);
        return -1;
    }
    return 0;
}

static struct manifest *parse_ok(const char *text)
{
    struct manifest *m = NULL;
    char err[ERRLEN] = "";
    int rc = manifest_parse(text, strlen(text), "t.yaml", data_dir, &SRC, &m, err, sizeof err);
    if (rc != CC_OK)
        fail_msg("manifest should parse, got %d: %s\n--\n%s", rc, err, text);
    assert_non_null(m);
    return m;
}

static void expect_error(const char *text, const char *want)
{
    struct manifest *m = (struct manifest *)1;
    char err[ERRLEN] = "";
    int rc = manifest_parse(text, strlen(text), "t.yaml", data_dir, &SRC, &m, err, sizeof err);
    if (rc != CC_EINVAL)
        fail_msg("expected CC_EINVAL, got %d (%s)\n--\n%s", rc, err, text);
    assert_null(m);
    if (strcmp(err, want) != 0)
        fail_msg("wrong error\n want: %s\n  got: %s\n--\n%s", want, err, text);
}

/* The smallest valid manifest with service `a`, plus extra lines for service a
 * (each starting with 4 spaces) appended at line 5. */
#define HEAD "project: p\nservices:\n  a:\n    image: x\n"

static struct manifest *load_fixture(const char *name)
{
    char path[1200];
    struct manifest *m = NULL;
    char err[ERRLEN] = "";
    struct manifest_source src = SRC;
    snprintf(path, sizeof path, "%s/%s", data_dir, name);
    src.path = path;
    int rc = manifest_load(&src, &m, err, sizeof err);
    if (rc != CC_OK)
        fail_msg("loading %s: %s", path, err);
    return m;
}

/* ---- deep comparison (for the round trip) ---- */

static void str_eq(const char *what, const char *a, const char *b)
{
    if (!a && !b)
        return;
    if (!a || !b || strcmp(a, b))
        fail_msg("%s differs: \"%s\" vs \"%s\"", what, a ? a : "(null)", b ? b : "(null)");
}

static void strlist_eq(const char *what, const struct strlist *a, const struct strlist *b)
{
    if (a->n != b->n)
        fail_msg("%s: %zu vs %zu entries", what, a->n, b->n);
    for (size_t i = 0; i < a->n; i++)
        str_eq(what, a->items[i], b->items[i]);
}

static void kvlist_eq(const char *what, const struct kvlist *a, const struct kvlist *b)
{
    if (a->n != b->n)
        fail_msg("%s: %zu vs %zu entries", what, a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        str_eq(what, a->items[i].key, b->items[i].key);
        str_eq(what, a->items[i].value, b->items[i].value);
    }
}

static void service_eq(const struct service *a, const struct service *b)
{
    str_eq("name", a->name, b->name);
    str_eq("image", a->image, b->image);
    assert_int_equal(!a->build, !b->build);
    if (a->build) {
        str_eq("build.context", a->build->context, b->build->context);
        str_eq("build.dockerfile", a->build->dockerfile, b->build->dockerfile);
        assert_int_equal(a->build->embedded, b->build->embedded);
    }
    assert_int_equal(a->has_command, b->has_command);
    strlist_eq("command", &a->command, &b->command);
    assert_int_equal(a->has_entrypoint, b->has_entrypoint);
    strlist_eq("entrypoint", &a->entrypoint, &b->entrypoint);
    kvlist_eq("environment", &a->environment, &b->environment);
    assert_int_equal(a->nports, b->nports);
    for (size_t i = 0; i < a->nports; i++) {
        str_eq("host_ip", a->ports[i].host_ip, b->ports[i].host_ip);
        assert_int_equal(a->ports[i].host_port, b->ports[i].host_port);
        assert_int_equal(a->ports[i].container_port, b->ports[i].container_port);
        assert_string_equal(a->ports[i].proto, b->ports[i].proto);
    }
    assert_int_equal(a->nvolumes, b->nvolumes);
    for (size_t i = 0; i < a->nvolumes; i++) {
        assert_int_equal(a->volumes[i].type, b->volumes[i].type);
        str_eq("volume source", a->volumes[i].source, b->volumes[i].source);
        str_eq("volume target", a->volumes[i].target, b->volumes[i].target);
        assert_int_equal(a->volumes[i].read_only, b->volumes[i].read_only);
    }
    assert_int_equal(a->ndepends, b->ndepends);
    for (size_t i = 0; i < a->ndepends; i++) {
        str_eq("depends_on", a->depends_on[i].service, b->depends_on[i].service);
        assert_int_equal(a->depends_on[i].condition, b->depends_on[i].condition);
    }
    const struct healthcheck *ha = &a->healthcheck, *hb = &b->healthcheck;
    assert_int_equal(ha->set, hb->set);
    assert_int_equal(ha->disable, hb->disable);
    strlist_eq("healthcheck.test", &ha->test, &hb->test);
    assert_int_equal(ha->interval_ns, hb->interval_ns);
    assert_int_equal(ha->timeout_ns, hb->timeout_ns);
    assert_int_equal(ha->start_period_ns, hb->start_period_ns);
    assert_int_equal(ha->retries, hb->retries);
    str_eq("restart", a->restart, b->restart);
    assert_int_equal(a->nulimits, b->nulimits);
    for (size_t i = 0; i < a->nulimits; i++) {
        str_eq("ulimit", a->ulimits[i].name, b->ulimits[i].name);
        assert_int_equal(a->ulimits[i].soft, b->ulimits[i].soft);
        assert_int_equal(a->ulimits[i].hard, b->ulimits[i].hard);
    }
    kvlist_eq("labels", &a->labels, &b->labels);
    strlist_eq("extra_hosts", &a->extra_hosts, &b->extra_hosts);
    str_eq("user", a->user, b->user);
    str_eq("working_dir", a->working_dir, b->working_dir);
    str_eq("hostname", a->hostname, b->hostname);
    assert_int_equal(a->nfiles, b->nfiles);
    for (size_t i = 0; i < a->nfiles; i++) {
        const struct file_spec *fa = &a->files[i], *fb = &b->files[i];
        str_eq("file target", fa->target, fb->target);
        str_eq("file source", fa->source, fb->source);
        str_eq("file secret", fa->secret, fb->secret);
        assert_int_equal(fa->len, fb->len);
        assert_int_equal(!fa->data, !fb->data);
        if (fa->len)
            assert_memory_equal(fa->data, fb->data, fa->len);
        assert_int_equal(fa->mode, fb->mode);
        assert_int_equal(fa->uid, fb->uid);
        assert_int_equal(fa->gid, fb->gid);
    }
    str_eq("external", a->external, b->external);
}

static void manifest_eq(const struct manifest *a, const struct manifest *b)
{
    str_eq("project", a->project, b->project);
    str_eq("dir", a->dir, b->dir);
    assert_int_equal(a->builtin, b->builtin);
    assert_int_equal(a->nservices, b->nservices);
    for (size_t i = 0; i < a->nservices; i++)
        service_eq(&a->services[i], &b->services[i]);
    strlist_eq("volumes", &a->volumes, &b->volumes);

    assert_int_equal(a->tidb.present, b->tidb.present);
    str_eq("tidb.service", a->tidb.service, b->tidb.service);
    assert_int_equal(a->tidb.port, b->tidb.port);
    str_eq("tidb.pd_service", a->tidb.pd_service, b->tidb.pd_service);
    str_eq("tidb.schema", a->tidb.schema, b->tidb.schema);
    str_eq("tidb.schema_sql", (const char *)a->tidb.schema_sql, (const char *)b->tidb.schema_sql);
    assert_int_equal(a->tidb.schema_len, b->tidb.schema_len);
    assert_int_equal(a->tidb.nusers, b->tidb.nusers);
    for (size_t i = 0; i < a->tidb.nusers; i++) {
        str_eq("user.name", a->tidb.users[i].name, b->tidb.users[i].name);
        str_eq("user.host", a->tidb.users[i].host, b->tidb.users[i].host);
        str_eq("user.password_env", a->tidb.users[i].password_env, b->tidb.users[i].password_env);
        strlist_eq("user.grants", &a->tidb.users[i].grants, &b->tidb.users[i].grants);
    }

    assert_int_equal(a->ticdc.present, b->ticdc.present);
    str_eq("ticdc.service", a->ticdc.service, b->ticdc.service);
    assert_int_equal(a->ticdc.port, b->ticdc.port);
    str_eq("ticdc.changefeed", a->ticdc.changefeed, b->ticdc.changefeed);
    str_eq("ticdc.sink_uri", a->ticdc.sink_uri, b->ticdc.sink_uri);
    strlist_eq("ticdc.filter_rules", &a->ticdc.filter_rules, &b->ticdc.filter_rules);
    str_eq("ticdc.config", a->ticdc.config, b->ticdc.config);
    str_eq("ticdc.config_json", (const char *)a->ticdc.config_json, (const char *)b->ticdc.config_json);

    assert_int_equal(a->kafka.present, b->kafka.present);
    str_eq("kafka.service", a->kafka.service, b->kafka.service);
    str_eq("kafka.brokers", a->kafka.brokers, b->kafka.brokers);
    str_eq("kafka.host_brokers", a->kafka.host_brokers, b->kafka.host_brokers);
    str_eq("kafka.topic", a->kafka.topic, b->kafka.topic);
    assert_int_equal(a->kafka.partitions, b->kafka.partitions);
    assert_int_equal(a->kafka.replication_factor, b->kafka.replication_factor);

    assert_int_equal(a->consumer.present, b->consumer.present);
    str_eq("consumer.service", a->consumer.service, b->consumer.service);
    str_eq("consumer.brokers", a->consumer.brokers, b->consumer.brokers);
    str_eq("consumer.topic", a->consumer.topic, b->consumer.topic);
    str_eq("consumer.group", a->consumer.group, b->consumer.group);
    str_eq("consumer.metrics_addr", a->consumer.metrics_addr, b->consumer.metrics_addr);
    str_eq("consumer.es_url", a->consumer.es_url, b->consumer.es_url);
    str_eq("consumer.es_index_prefix", a->consumer.es_index_prefix, b->consumer.es_index_prefix);
    str_eq("consumer.log_file", a->consumer.log_file, b->consumer.log_file);
    kvlist_eq("consumer.properties", &a->consumer.properties, &b->consumer.properties);
}

/* to_yaml -> parse -> same model, and to_yaml of that is the same text. */
static void round_trip(const struct manifest *m, const char *dir)
{
    char *yaml = manifest_to_yaml(m);
    struct manifest *again = NULL;
    char err[ERRLEN] = "";
    int rc = manifest_parse(yaml, strlen(yaml), m->path, dir, &SRC, &again, err, sizeof err);
    if (rc != CC_OK)
        fail_msg("the output of manifest_to_yaml does not parse: %s\n--\n%s", err, yaml);
    manifest_eq(m, again);
    char *yaml2 = manifest_to_yaml(again);
    assert_string_equal(yaml, yaml2);
    free(yaml);
    free(yaml2);
    manifest_free(again);
}

static const struct service *svc(const struct manifest *m, const char *name)
{
    const struct service *s = manifest_service(m, name);
    if (!s)
        fail_msg("no service %s", name);
    return s;
}

static const char *env_value(const struct service *s, const char *key, int *found)
{
    for (size_t i = 0; i < s->environment.n; i++)
        if (!strcmp(s->environment.items[i].key, key)) {
            *found = 1;
            return s->environment.items[i].value;
        }
    *found = 0;
    return NULL;
}

/* ---- the full fixture: every key form ---- */

static void test_full_fixture(void **state)
{
    (void)state;
    struct manifest *m = load_fixture("full.yaml");
    char want[1200];
    int found;

    assert_string_equal(m->project, "my_projecttest"); /* "My_Project.Test" normalised */
    assert_string_equal(m->dir, data_dir);
    assert_int_equal(m->builtin, 0);
    assert_int_equal(m->nservices, 10);
    assert_int_equal(m->volumes.n, 3);
    assert_string_equal(m->volumes.items[0], "data");
    assert_string_equal(m->volumes.items[1], "logs");
    assert_string_equal(m->volumes.items[2], "extra");

    const struct service *db = svc(m, "db");
    assert_int_equal(db->pos.line, 9);
    assert_int_equal(db->pos.column, 3);
    assert_string_equal(db->image, "mariadb:10.11");
    assert_null(db->build);
    assert_int_equal(db->has_command, 0);
    /* environment map: interpolated default, numbers/bools as written, null kept */
    assert_int_equal(db->environment.n, 5);
    assert_string_equal(env_value(db, "MARIADB_ROOT_PASSWORD", &found), "secret");
    assert_string_equal(env_value(db, "PORT", &found), "3306");
    assert_string_equal(env_value(db, "ENABLED", &found), "true");
    assert_string_equal(env_value(db, "EMPTY", &found), "");
    assert_null(env_value(db, "FROM_ENV", &found));
    assert_true(found);
    /* ports */
    static const struct {
        const char *ip;
        int host, cont;
        const char *proto;
    } ports[] = {
        {"127.0.0.1", 3306, 3306, "tcp"}, {"127.0.0.1", 8080, 80, "tcp"},
        {"127.0.0.1", 0, 9000, "tcp"},    {"127.0.0.1", 0, 9001, "tcp"},
        {"0.0.0.0", 5353, 53, "udp"},     {"::1", 6060, 60, "tcp"},
        {"127.0.0.1", 0, 7070, "tcp"},    {"127.0.0.1", 18125, 8125, "udp"},
        {"", 0, 8126, "tcp"},
    };
    assert_int_equal(db->nports, sizeof ports / sizeof *ports);
    for (size_t i = 0; i < db->nports; i++) {
        assert_string_equal(db->ports[i].host_ip, ports[i].ip);
        assert_int_equal(db->ports[i].host_port, ports[i].host);
        assert_int_equal(db->ports[i].container_port, ports[i].cont);
        assert_string_equal(db->ports[i].proto, ports[i].proto);
    }
    /* volumes: named, relative bind made absolute, absolute bind, long forms, ~ */
    assert_int_equal(db->nvolumes, 5);
    assert_int_equal(db->volumes[0].type, MOUNT_VOLUME);
    assert_string_equal(db->volumes[0].source, "data");
    assert_string_equal(db->volumes[0].target, "/var/lib/mysql");
    assert_int_equal(db->volumes[0].read_only, 0);
    assert_int_equal(db->volumes[1].type, MOUNT_BIND);
    snprintf(want, sizeof want, "%s/files", data_dir);
    assert_string_equal(db->volumes[1].source, want);
    assert_string_equal(db->volumes[1].target, "/etc/files");
    assert_int_equal(db->volumes[1].read_only, 1);
    assert_int_equal(db->volumes[2].type, MOUNT_BIND);
    assert_string_equal(db->volumes[2].source, "/tmp");
    assert_int_equal(db->volumes[2].read_only, 0);
    assert_int_equal(db->volumes[3].type, MOUNT_VOLUME);
    assert_string_equal(db->volumes[3].source, "logs");
    assert_string_equal(db->volumes[3].target, "/var/log/mysql");
    assert_int_equal(db->volumes[3].read_only, 1);
    assert_int_equal(db->volumes[4].type, MOUNT_BIND);
    assert_string_equal(db->volumes[4].source, "/home/tester/cache");
    /* healthcheck with durations */
    assert_int_equal(db->healthcheck.set, 1);
    assert_int_equal(db->healthcheck.disable, 0);
    assert_int_equal(db->healthcheck.test.n, 3);
    assert_string_equal(db->healthcheck.test.items[0], "CMD");
    assert_string_equal(db->healthcheck.test.items[2], "ping");
    assert_int_equal(db->healthcheck.interval_ns, 90000000000LL);
    assert_int_equal(db->healthcheck.timeout_ns, 500000000LL);
    assert_int_equal(db->healthcheck.start_period_ns, 3600000000000LL);
    assert_int_equal(db->healthcheck.retries, 5);
    /* merged from the x-common anchor */
    assert_string_equal(db->restart, "always");
    assert_int_equal(db->labels.n, 1);
    assert_string_equal(db->labels.items[0].key, "tier");
    assert_string_equal(db->labels.items[0].value, "backend");
    /* ulimits */
    assert_int_equal(db->nulimits, 2);
    assert_string_equal(db->ulimits[0].name, "nofile");
    assert_int_equal(db->ulimits[0].soft, 1024);
    assert_int_equal(db->ulimits[0].hard, 65536);
    assert_string_equal(db->ulimits[1].name, "memlock");
    assert_int_equal(db->ulimits[1].soft, -1);
    assert_int_equal(db->ulimits[1].hard, -1);
    /* extra_hosts: both separators normalised to host:ip */
    assert_int_equal(db->extra_hosts.n, 3);
    assert_string_equal(db->extra_hosts.items[0], "gateway:host-gateway");
    assert_string_equal(db->extra_hosts.items[1], "other:10.0.0.2");
    assert_string_equal(db->extra_hosts.items[2], "v6host:::1");
    assert_string_equal(db->user, "999:999");
    assert_string_equal(db->working_dir, "/var/lib/mysql");
    assert_string_equal(db->hostname, "database");
    assert_int_equal(db->nfiles, 0);
    assert_null(db->external);

    const struct service *web = svc(m, "web");
    assert_non_null(web->build);
    snprintf(want, sizeof want, "%s/ctx", data_dir);
    assert_string_equal(web->build->context, want);
    assert_string_equal(web->build->dockerfile, "web.Dockerfile");
    assert_int_equal(web->build->embedded, 0);
    assert_string_equal(web->image, "my_projecttest-web:local"); /* build without image */
    /* command string split like a shell; $$ is a literal $ */
    assert_int_equal(web->has_command, 1);
    assert_int_equal(web->command.n, 4);
    assert_string_equal(web->command.items[0], "sh");
    assert_string_equal(web->command.items[1], "-c");
    assert_string_equal(web->command.items[2], "echo \"hello world\" && exec nginx -g \"daemon off;\"");
    assert_string_equal(web->command.items[3], "$HOME");
    assert_int_equal(web->has_entrypoint, 1);
    assert_int_equal(web->entrypoint.n, 1);
    assert_string_equal(web->entrypoint.items[0], "/docker-entrypoint.sh");
    /* environment list: K=V, value with '=', bare K (NULL), later entry wins */
    assert_int_equal(web->environment.n, 3);
    assert_string_equal(web->environment.items[0].key, "A");
    assert_string_equal(web->environment.items[0].value, "override");
    assert_string_equal(web->environment.items[1].value, "two=2");
    assert_string_equal(web->environment.items[2].key, "C");
    assert_null(web->environment.items[2].value);
    /* labels list */
    assert_int_equal(web->labels.n, 2);
    assert_string_equal(web->labels.items[0].key, "com.example.role");
    assert_string_equal(web->labels.items[0].value, "web");
    assert_string_equal(web->labels.items[1].key, "com.example.flag");
    assert_string_equal(web->labels.items[1].value, "");
    /* extra_hosts map */
    assert_int_equal(web->extra_hosts.n, 1);
    assert_string_equal(web->extra_hosts.items[0], "db-alias:10.0.0.3");
    /* depends_on map with conditions (required/restart accepted) */
    assert_int_equal(web->ndepends, 2);
    assert_string_equal(web->depends_on[0].service, "db");
    assert_int_equal(web->depends_on[0].condition, DEP_HEALTHY);
    assert_int_equal(web->depends_on[0].pos.line, 79);
    assert_int_equal(web->depends_on[0].pos.column, 7);
    assert_string_equal(web->depends_on[1].service, "init");
    assert_int_equal(web->depends_on[1].condition, DEP_COMPLETED);
    assert_string_equal(web->restart, "on-failure:3");
    /* healthcheck string -> CMD-SHELL */
    assert_int_equal(web->healthcheck.test.n, 2);
    assert_string_equal(web->healthcheck.test.items[0], "CMD-SHELL");
    assert_string_equal(web->healthcheck.test.items[1], "curl -f http://localhost/ || exit 1");
    assert_int_equal(web->healthcheck.interval_ns, 0);
    /* files: inline content ($$ -> $), source read from disk, secret */
    assert_int_equal(web->nfiles, 3);
    assert_string_equal(web->files[0].target, "/etc/web/inline.conf");
    assert_null(web->files[0].source);
    assert_int_equal(web->files[0].len, strlen("listen 80;\nprice $5\n"));
    assert_memory_equal(web->files[0].data, "listen 80;\nprice $5\n", web->files[0].len);
    assert_int_equal(web->files[0].mode, 0644);
    assert_int_equal(web->files[0].uid, 0);
    assert_string_equal(web->files[1].source, "files/hello.txt");
    assert_int_equal(web->files[1].len, strlen("hello from a file\n"));
    assert_memory_equal(web->files[1].data, "hello from a file\n", web->files[1].len);
    assert_int_equal(web->files[1].mode, 0600);
    assert_int_equal(web->files[1].uid, 101);
    assert_int_equal(web->files[1].gid, 102);
    assert_string_equal(web->files[2].secret, "WEB_TOKEN");
    assert_null(web->files[2].data);
    assert_int_equal(web->files[2].len, 0);
    assert_int_equal(web->files[2].mode, 0400);

    const struct service *init = svc(m, "init");
    assert_int_equal(init->command.n, 1);
    assert_string_equal(init->command.items[0], "true");
    assert_int_equal(init->healthcheck.set, 1);
    assert_int_equal(init->healthcheck.disable, 1);
    assert_null(init->restart); /* "no" */

    const struct service *builder = svc(m, "builder");
    snprintf(want, sizeof want, "%s/ctx", data_dir);
    assert_string_equal(builder->build->context, want);
    assert_string_equal(builder->build->dockerfile, "Dockerfile");
    assert_string_equal(builder->image, "my_projecttest-builder:local");

    const struct service *remote = svc(m, "remote");
    assert_string_equal(remote->external, "db.example.com:4000");
    assert_null(remote->image);

    const struct service *tidb = svc(m, "tidb");
    assert_int_equal(tidb->ndepends, 1);
    assert_int_equal(tidb->depends_on[0].condition, DEP_STARTED);

    /* sections */
    assert_int_equal(m->tidb.present, 1);
    assert_string_equal(m->tidb.service, "tidb");
    assert_int_equal(m->tidb.port, 4000);
    assert_string_equal(m->tidb.pd_service, "pd");
    assert_string_equal(m->tidb.schema, "files/schema.sql");
    assert_string_equal((const char *)m->tidb.schema_sql, "CREATE DATABASE IF NOT EXISTS shop;\n");
    assert_int_equal(m->tidb.schema_len, strlen("CREATE DATABASE IF NOT EXISTS shop;\n"));
    assert_int_equal(m->tidb.nusers, 2);
    assert_string_equal(m->tidb.users[0].name, "shop_admin");
    assert_string_equal(m->tidb.users[0].host, "%");
    assert_string_equal(m->tidb.users[0].password_env, "SHOP_ADMIN_PASSWORD");
    assert_int_equal(m->tidb.users[0].grants.n, 1);
    assert_string_equal(m->tidb.users[0].grants.items[0], "ALL PRIVILEGES ON shop.*");
    assert_string_equal(m->tidb.users[1].host, "10.%");
    assert_string_equal(m->tidb.users[1].password_env, "READER_PW");

    assert_int_equal(m->ticdc.present, 1);
    assert_string_equal(m->ticdc.service, "ticdc");
    assert_int_equal(m->ticdc.port, 8300);
    assert_string_equal(m->ticdc.changefeed, "shop-cdc-2");
    assert_string_equal(m->ticdc.sink_uri, "kafka://kafka:9092/t?protocol=canal-json");
    assert_int_equal(m->ticdc.filter_rules.n, 2);
    assert_string_equal(m->ticdc.filter_rules.items[1], "!shop.tmp");
    assert_string_equal((const char *)m->ticdc.config_json, "{\"enable-old-value\": true}\n");

    /* kafka is external: brokers default to its endpoint */
    assert_int_equal(m->kafka.present, 1);
    assert_string_equal(m->kafka.service, "kafka");
    assert_string_equal(m->kafka.brokers, "10.1.2.3:9092");
    assert_string_equal(m->kafka.host_brokers, "10.1.2.3:9092");
    assert_string_equal(m->kafka.topic, "cdc.events");
    assert_int_equal(m->kafka.partitions, 6);
    assert_int_equal(m->kafka.replication_factor, 1);

    assert_int_equal(m->consumer.present, 1);
    assert_string_equal(m->consumer.service, "consumer");
    assert_string_equal(m->consumer.brokers, "10.1.2.3:9092");
    assert_string_equal(m->consumer.topic, "cdc.events");
    assert_string_equal(m->consumer.group, "g1");
    assert_string_equal(m->consumer.metrics_addr, "127.0.0.1:0");
    assert_string_equal(m->consumer.es_url, "http://localhost:9200");
    assert_string_equal(m->consumer.es_index_prefix, "cdc-events");
    assert_string_equal(m->consumer.log_file, "/tmp/cdc.log");
    assert_int_equal(m->consumer.properties.n, 2);
    assert_string_equal(m->consumer.properties.items[0].key, "fetch.min.bytes");
    assert_string_equal(m->consumer.properties.items[0].value, "1");
    manifest_free(m);
}

static void test_round_trip_full(void **state)
{
    (void)state;
    struct manifest *m = load_fixture("full.yaml");
    round_trip(m, data_dir);
    manifest_free(m);
}

static void test_round_trip_edge_values(void **state)
{
    (void)state;
    /* Values that need quoting or escaping to read back the same. */
    struct manifest *m = parse_ok(
        HEAD
        "    environment:\n"
        "      DOLLAR: \"$$HOME and $${X}\"\n"
        "      NULLWORD: \"null\"\n"
        "      TILDE: \"~\"\n"
        "      BOOLWORD: \"yes\"\n"
        "      NUMBER: \"0x1F\"\n"
        "      EMPTY: \"\"\n"
        "      UNSET:\n"
        "      COLON: \"a: b\"\n"
        "      HASH: \"a #b\"\n"
        "      LEAD: \" lead\"\n"
        "      QUOTES: \"it's \\\"q\\\"\"\n"
        "      MULTI: \"line1\\nline2\\n\"\n"
        "      TAB: \"a\\tb\"\n"
        "      UNICODE: \"åäö ✓\"\n"
        "    command: []\n"
        "    entrypoint: [\"\", \"-\", \"*\", \"&x\", \"!tag\", \"[a]\", \"{b}\", \"@c\", \"%d\"]\n"
        "    ports: [\"::80\", \"[::1]:8080:80/udp\"]\n"
        "    volumes:\n"
        "      - type: bind\n"
        "        source: /host/with:colon\n"
        "        target: /in\n"
        "        read_only: true\n"
        "    ulimits:\n"
        "      nofile: {soft: 10, hard: -1}\n"
        "    healthcheck: {}\n"
        "    labels: {\"\\u00e9\": \"\"}\n"
        "    files:\n"
        "      - target: /x\n"
        "        content:\n"
        "      - target: /y\n"
        "        content: \"no newline at end $$\"\n"
        "      - target: /z\n"
        "        content: \"  leading spaces\\n\\ttab\\n\"\n"
        "tidb:\n"
        "  service: a\n"
        "  pd_service: null\n"
        "consumer:\n"
        "  service: ~\n");
    const struct service *a = svc(m, "a");
    int found;
    assert_string_equal(env_value(a, "DOLLAR", &found), "$HOME and ${X}");
    assert_string_equal(env_value(a, "NULLWORD", &found), "null");
    assert_null(env_value(a, "UNSET", &found));
    assert_int_equal(a->has_command, 1);
    assert_int_equal(a->command.n, 0);
    assert_string_equal(a->ports[0].host_ip, "");
    assert_int_equal(a->ports[0].host_port, 0);
    assert_int_equal(a->healthcheck.set, 1);
    assert_int_equal(a->files[0].len, 0);
    assert_non_null(a->files[0].data);
    assert_null(m->tidb.pd_service);
    assert_null(m->consumer.service);
    round_trip(m, data_dir);
    manifest_free(m);
}

/* ---- the built-in default manifest ---- */

static void test_builtin_manifest(void **state)
{
    (void)state;
    const struct embedded_file *f = embedded_find("manifests/shop.yaml");
    assert_non_null(f);
    struct manifest_source src = SRC; /* path NULL: the built-in one */
    struct manifest *m = NULL;
    char err[ERRLEN] = "";
    int rc = manifest_load(&src, &m, err, sizeof err);
    if (rc != CC_OK)
        fail_msg("the built-in manifest does not load: %s", err);
    assert_string_equal(m->path, "<built-in>/manifests/shop.yaml");
    assert_null(m->dir);
    assert_int_equal(m->builtin, 1);
    assert_string_equal(m->project, "shop");
    assert_true(m->nservices > 0);
    /* files and schema resolve to the embedded copies */
    for (size_t i = 0; i < m->nservices; i++) {
        const struct service *s = &m->services[i];
        for (size_t j = 0; j < s->nfiles; j++) {
            if (!s->files[j].source)
                continue;
            char name[PATH_MAX];
            const char *src_path = s->files[j].source;
            assert_true(!strncmp(src_path, "../", 3));
            snprintf(name, sizeof name, "%s", src_path + 3);
            const struct embedded_file *ef = embedded_find(name);
            assert_non_null(ef);
            assert_int_equal(s->files[j].len, ef->len);
            assert_memory_equal(s->files[j].data, ef->data, ef->len);
        }
        if (s->build) {
            assert_int_equal(s->build->embedded, 1);
            assert_null(s->build->context);
        }
    }
    if (m->tidb.schema) {
        const struct embedded_file *ef = embedded_find("config/schema.sql");
        assert_non_null(ef);
        assert_int_equal(m->tidb.schema_len, ef->len);
        assert_memory_equal(m->tidb.schema_sql, ef->data, ef->len);
    }
    round_trip(m, NULL);
    manifest_free(m);
}

static void test_builtin_paths(void **state)
{
    (void)state;
    /* dir NULL: relative paths are embedded repository paths next to manifests/. */
    static const char text[] = "project: p\nservices:\n  a:\n    build: .\n    files:\n"
                               "      - target: /s.sql\n        source: ../config/schema.sql\n"
                               "      - target: /n\n        source: ../config/nope.txt\n";
    struct manifest *m = NULL;
    char err[ERRLEN] = "";
    int rc = manifest_parse(text, strlen(text), "<built-in>/manifests/x.yaml", NULL, &SRC, &m,
                            err, sizeof err);
    assert_int_equal(rc, CC_EINVAL);
    assert_null(m);
    assert_string_equal(err, "<built-in>/manifests/x.yaml:9:17: services.a.files[1].source: no built-in file \"config/nope.txt\" (the built-in manifest can only use files compiled into cdcctl)");

    static const char text2[] = "project: p\nservices:\n  a:\n    build: .\n    volumes: [\"./x:/x\"]\n";
    rc = manifest_parse(text2, strlen(text2), "b.yaml", NULL, &SRC, &m, err, sizeof err);
    assert_int_equal(rc, CC_EINVAL);
    assert_string_equal(err, "b.yaml:5:15: services.a.volumes[0]: relative bind source \"./x\" in the built-in manifest: use an absolute path");

    static const char text3[] = "project: p\nservices:\n  a:\n    build: .\n";
    rc = manifest_parse(text3, strlen(text3), "b.yaml", NULL, &SRC, &m, err, sizeof err);
    assert_int_equal(rc, CC_OK);
    assert_int_equal(m->services[0].build->embedded, 1);
    assert_null(m->services[0].build->context);
    assert_string_equal(m->services[0].image, "p-a:local");
    manifest_free(m);
}

/* ---- loading ---- */

static void test_load_errors(void **state)
{
    (void)state;
    struct manifest_source src = SRC;
    struct manifest *m = (struct manifest *)1;
    char err[ERRLEN] = "", path[1200];
    snprintf(path, sizeof path, "%s/does-not-exist.yaml", data_dir);
    src.path = path;
    assert_int_equal(manifest_load(&src, &m, err, sizeof err), CC_ERR);
    assert_null(m);
    assert_non_null(strstr(err, "does-not-exist.yaml"));

    /* a bad manifest on disk: the error names the path as given */
    snprintf(path, sizeof path, "%s/bad-port.yaml", data_dir);
    m = (struct manifest *)1;
    assert_int_equal(manifest_load(&src, &m, err, sizeof err), CC_EINVAL);
    assert_null(m);
    char want[4096];
    snprintf(want, sizeof want, "%s:12:7: services.tidb.ports[0]: bad port \"80:abc\": container port is not a number", path);
    assert_string_equal(err, want);

    /* a file a manifest names that cannot be read */
    snprintf(path, sizeof path, "%s/missing-source.yaml", data_dir);
    assert_int_equal(manifest_load(&src, &m, err, sizeof err), CC_EINVAL);
    snprintf(want, sizeof want, "%s:7:17: services.app.files[0].source: cannot open '%s/files/nope.txt': No such file or directory", path, data_dir);
    assert_string_equal(err, want);
}

/* ---- project ---- */

static void test_project(void **state)
{
    (void)state;
    struct manifest *m = parse_ok("project: \"-_My Shop.v2!\"\nservices:\n  a:\n    image: x\n");
    assert_string_equal(m->project, "myshopv2");
    manifest_free(m);

    struct manifest_source src = SRC;
    src.project = "Override";
    char err[ERRLEN];
    static const char text[] = "project: p\nservices:\n  a:\n    build: .\n";
    assert_int_equal(manifest_parse(text, strlen(text), "t.yaml", data_dir, &src, &m, err, sizeof err), CC_OK);
    assert_string_equal(m->project, "override");
    assert_string_equal(m->services[0].image, "override-a:local");
    manifest_free(m);

    /* -p makes project optional */
    static const char noproj[] = "services:\n  a:\n    image: x\n";
    assert_int_equal(manifest_parse(noproj, strlen(noproj), "t.yaml", data_dir, &src, &m, err, sizeof err), CC_OK);
    assert_string_equal(m->project, "override");
    manifest_free(m);
    expect_error(noproj, "t.yaml:1:1: project: required key missing (or pass -p NAME)");
    expect_error("project: \"--\"\nservices:\n  a:\n    image: x\n", "t.yaml:1:10: project: \"--\" has no letters or digits");
    expect_error("project:\nservices:\n  a:\n    image: x\n", "t.yaml:1:9: project: must not be empty");
    expect_error("project: [a]\nservices:\n  a:\n    image: x\n", "t.yaml:1:10: project: expected a string, got a list");

    src.project = "!!";
    m = (struct manifest *)1;
    assert_int_equal(manifest_parse(noproj, strlen(noproj), "t.yaml", data_dir, &src, &m, err, sizeof err), CC_EINVAL);
    assert_null(m);
    assert_string_equal(err, "-p: project name \"!!\" has no letters or digits");
}

/* ---- section defaults ---- */

static void test_section_defaults(void **state)
{
    (void)state;
    struct manifest *m = parse_ok("project: p\nservices:\n"
                                  "  tidb: {image: t}\n  pd: {image: p}\n  ticdc: {image: c}\n"
                                  "  kafka: {image: k}\n  consumer: {image: x}\n"
                                  "tidb:\nticdc: {}\nkafka:\nconsumer:\n");
    assert_int_equal(m->tidb.present, 1);
    assert_string_equal(m->tidb.service, "tidb");
    assert_int_equal(m->tidb.port, 4000);
    assert_string_equal(m->tidb.pd_service, "pd");
    assert_null(m->tidb.schema);
    assert_null(m->tidb.schema_sql);
    assert_int_equal(m->tidb.nusers, 0);
    assert_int_equal(m->ticdc.present, 1);
    assert_string_equal(m->ticdc.service, "ticdc");
    assert_int_equal(m->ticdc.port, 8300);
    assert_string_equal(m->ticdc.changefeed, "shop-cdc");
    assert_null(m->ticdc.sink_uri);
    assert_int_equal(m->ticdc.filter_rules.n, 1);
    assert_string_equal(m->ticdc.filter_rules.items[0], "shop.*");
    assert_null(m->ticdc.config);
    assert_null(m->ticdc.config_json);
    assert_int_equal(m->kafka.present, 1);
    assert_string_equal(m->kafka.service, "kafka");
    assert_string_equal(m->kafka.brokers, "kafka:9092");
    assert_string_equal(m->kafka.host_brokers, "kafka:9092");
    assert_string_equal(m->kafka.topic, "shop-db-data-changes");
    assert_int_equal(m->kafka.partitions, 3);
    assert_int_equal(m->kafka.replication_factor, 1);
    assert_int_equal(m->consumer.present, 1);
    assert_string_equal(m->consumer.service, "consumer");
    assert_string_equal(m->consumer.brokers, "kafka:9092");
    assert_string_equal(m->consumer.topic, "shop-db-data-changes");
    assert_string_equal(m->consumer.group, "cdcctl-consumer");
    assert_string_equal(m->consumer.metrics_addr, "127.0.0.1:8000");
    assert_null(m->consumer.es_url);
    assert_string_equal(m->consumer.es_index_prefix, "cdc-events");
    assert_null(m->consumer.log_file);
    assert_int_equal(m->consumer.properties.n, 0);
    round_trip(m, data_dir);
    manifest_free(m);

    /* absent sections are not present */
    m = parse_ok(HEAD);
    assert_int_equal(m->tidb.present, 0);
    assert_int_equal(m->ticdc.present, 0);
    assert_int_equal(m->kafka.present, 0);
    assert_int_equal(m->consumer.present, 0);
    assert_null(m->tidb.service);
    manifest_free(m);

    /* optional services: no pd / consumer service -> NULL, not an error */
    m = parse_ok("project: p\nservices:\n  db: {external: \"h:4000\"}\n"
                 "tidb: {service: db, port: 4001}\nconsumer: {brokers: \"b:1\", topic: t}\n");
    assert_null(m->tidb.pd_service);
    assert_int_equal(m->tidb.port, 4001);
    assert_null(m->consumer.service);
    assert_string_equal(m->consumer.brokers, "b:1");
    assert_string_equal(m->consumer.topic, "t");
    round_trip(m, data_dir);
    manifest_free(m);

    /* a user name that starts with a digit still gives a valid variable name */
    m = parse_ok("project: p\nservices:\n  tidb: {image: t}\n"
                 "tidb:\n  pd_service:\n  users: [{name: 1st-user, grants: []}]\n");
    assert_string_equal(m->tidb.users[0].password_env, "_1ST_USER_PASSWORD");
    manifest_free(m);
}

/* ---- interpolation in the manifest ---- */

static void test_interpolation_in_manifest(void **state)
{
    (void)state;
    struct manifest *m = parse_ok("project: p\nservices:\n  a:\n    image: \"img:${TAG}\"\n"
                                  "    ports: [\"${PORT}:80\"]\n"
                                  "    healthcheck:\n      retries: ${R}\n      interval: ${IV:-15s}\n"
                                  "    environment:\n      ${KEY}: $$literal\n      B: ${EMPTY:-dflt}\n"
                                  "      C: ${EMPTY-dflt}\n      D: '${UNSET_VAR}'\n");
    const struct service *a = svc(m, "a");
    int found;
    assert_string_equal(a->image, "img:1.2");
    assert_int_equal(a->ports[0].host_port, 8080);
    assert_int_equal(a->healthcheck.retries, 3);
    assert_int_equal(a->healthcheck.interval_ns, 15000000000LL);
    /* keys are not interpolated */
    assert_string_equal(env_value(a, "${KEY}", &found), "$literal");
    assert_string_equal(env_value(a, "B", &found), "dflt");
    assert_string_equal(env_value(a, "C", &found), "");
    assert_string_equal(env_value(a, "D", &found), "");
    manifest_free(m);

    /* x-* extension fields are ignored, even with unset required variables */
    m = parse_ok("x-top: ${NOPE:?never}\nproject: p\nservices:\n  a:\n    image: x\n    x-mine: {a: [1]}\n");
    manifest_free(m);
}

/* ---- errors, each with its exact position ---- */

static void test_error_unknown_keys(void **state)
{
    (void)state;
    expect_error(HEAD "network:\n  x: 1\n",
                 "t.yaml:5:1: network: unknown key (known keys: project, services, volumes, tidb, ticdc, kafka, consumer)");
    expect_error("version: \"3.8\"\n" HEAD,
                 "t.yaml:1:1: version: unknown key (compose's obsolete `version` is not used; remove it)");
    expect_error(HEAD "networks: {}\n",
                 "t.yaml:5:1: networks: unknown key (compose's `networks` is not supported by cdcctl; known keys: project, services, volumes, tidb, ticdc, kafka, consumer)");
    expect_error(HEAD "    imagee: y\n", "t.yaml:5:5: services.a.imagee: unknown key");
    expect_error(HEAD "    networks: [x]\n",
                 "t.yaml:5:5: services.a.networks: unknown key (compose's `networks` is not supported by cdcctl)");
    expect_error(HEAD "    container_name: foo\n",
                 "t.yaml:5:21: services.a.container_name: not supported: cdcctl names containers p-a-1");
    expect_error(HEAD "    build:\n      context: .\n      args: {A: 1}\n",
                 "t.yaml:7:7: services.a.build.args: unknown key (build takes context and dockerfile)");
    expect_error(HEAD "    healthcheck:\n      test: [CMD, x]\n      intervall: 5s\n",
                 "t.yaml:7:7: services.a.healthcheck.intervall: unknown key (healthcheck takes test, interval, timeout, start_period, start_interval, retries, disable)");
    expect_error(HEAD "    depends_on:\n      a2: {condition: service_healthy, wait: 1}\n  a2: {image: y}\n",
                 "t.yaml:6:40: services.a.depends_on.a2.wait: unknown key (depends_on takes condition, required, restart)");
    expect_error(HEAD "    files:\n      - target: /x\n        content: y\n        owner: root\n",
                 "t.yaml:8:9: services.a.files[0].owner: unknown key (a file takes target, source, content, secret, mode, uid, gid)");
    expect_error(HEAD "    ports:\n      - target: 80\n        hostip: 1.2.3.4\n",
                 "t.yaml:7:9: services.a.ports[0].hostip: unknown key (a port takes target, published, host_ip, protocol)");
    expect_error(HEAD "volumes:\n  d:\n    external: true\n",
                 "t.yaml:7:5: volumes.d.external: unknown key (a volume takes driver and labels)");
    expect_error(HEAD "tidb:\n  servce: a\n",
                 "t.yaml:6:3: tidb.servce: unknown key (known keys: service, port, pd_service, schema, users)");
    expect_error(HEAD "kafka:\n  service: a\n  topics: [x]\n",
                 "t.yaml:7:3: kafka.topics: unknown key (known keys: service, brokers, host_brokers, topic, partitions, replication_factor)");
    expect_error(HEAD "consumer:\n  es: http://x\n",
                 "t.yaml:6:3: consumer.es: unknown key (known keys: service, brokers, topic, group, metrics_addr, es_url, es_index_prefix, log_file, properties)");
    expect_error(HEAD "ticdc:\n  service: a\n  sink: x\n",
                 "t.yaml:7:3: ticdc.sink: unknown key (known keys: service, port, changefeed, sink_uri, filter_rules, config)");
    expect_error(HEAD "tidb:\n  service: a\n  users:\n    - name: u\n      password: x\n",
                 "t.yaml:9:7: tidb.users[0].password: unknown key (known keys: name, host, password_env, grants)");
}

static void test_error_wrong_types(void **state)
{
    (void)state;
    expect_error("project: p\nservices:\n  - a\n", "t.yaml:3:3: services: expected a mapping, got a list");
    expect_error("project: p\nservices: web\n", "t.yaml:2:11: services: expected a mapping, got a string");
    expect_error("project: p\nservices:\n", "t.yaml:2:10: services: at least one service is required");
    expect_error("project: p\nservices:\n  a: nginx\n",
                 "t.yaml:3:6: services.a: expected a mapping of service keys (image, ...), got a string");
    expect_error("project: p\nservices:\n  a:\n",
                 "t.yaml:3:3: services.a: expected a mapping of service keys (image, ...), got null");
    expect_error(HEAD "    environment: FOO\n",
                 "t.yaml:5:18: services.a.environment: expected a mapping or a list of \"KEY=value\", got a string");
    expect_error(HEAD "    environment:\n      A: {b: 1}\n",
                 "t.yaml:6:10: services.a.environment.A: expected a string, got a mapping");
    expect_error(HEAD "    environment:\n      - [A, B]\n",
                 "t.yaml:6:9: services.a.environment[0]: expected \"KEY=value\", got a list");
    expect_error(HEAD "    environment:\n      - =v\n",
                 "t.yaml:6:9: services.a.environment[0]: bad entry \"=v\": expected KEY=value");
    expect_error(HEAD "    ports:\n      a: 1\n", "t.yaml:6:7: services.a.ports: expected a list, got a mapping");
    expect_error(HEAD "    ports: 80\n", "t.yaml:5:12: services.a.ports: expected a list, got a number");
    expect_error(HEAD "    image: [x]\n", "t.yaml:5:5: services.a: duplicate key \"image\"");
    expect_error("project: p\nservices:\n  a:\n    image: [x]\n", "t.yaml:4:12: services.a.image: expected a string, got a list");
    expect_error(HEAD "    command: {a: b}\n", "t.yaml:5:14: services.a.command: expected a string or a list, got a mapping");
    expect_error(HEAD "    command: [a, [b]]\n", "t.yaml:5:18: services.a.command[1]: expected a string, got a list");
    expect_error(HEAD "    healthcheck:\n      retries: many\n",
                 "t.yaml:6:16: services.a.healthcheck.retries: expected a number, got \"many\"");
    expect_error(HEAD "    healthcheck:\n      retries: -1\n",
                 "t.yaml:6:16: services.a.healthcheck.retries: -1 is out of range (0-1000000)");
    expect_error(HEAD "    healthcheck:\n      interval: 10\n",
                 "t.yaml:6:17: services.a.healthcheck.interval: bad duration \"10\": expected a number with a unit, like 1m30s, 10s or 500ms");
    expect_error(HEAD "    healthcheck:\n      disable: yes\n",
                 "t.yaml:6:16: services.a.healthcheck.disable: expected true or false, got \"yes\"");
    expect_error(HEAD "    healthcheck: [CMD, x]\n",
                 "t.yaml:5:18: services.a.healthcheck: expected a mapping, got a list");
    expect_error(HEAD "    volumes:\n      - type: bind\n        source: /x\n        target: /y\n        read_only: 1\n",
                 "t.yaml:9:20: services.a.volumes[0].read_only: expected true or false, got \"1\"");
    expect_error(HEAD "    depends_on: b\n",
                 "t.yaml:5:17: services.a.depends_on: expected a list of services or a mapping, got a string");
    expect_error(HEAD "    labels: x\n",
                 "t.yaml:5:13: services.a.labels: expected a mapping or a list of \"KEY=value\", got a string");
    expect_error(HEAD "    ulimits: [nofile]\n", "t.yaml:5:14: services.a.ulimits: expected a mapping, got a list");
    expect_error(HEAD "    files:\n      target: /x\n", "t.yaml:6:7: services.a.files: expected a list, got a mapping");
    expect_error(HEAD "    files:\n      - /x\n", "t.yaml:6:9: services.a.files[0]: expected a mapping, got a string");
    expect_error(HEAD "volumes: [a]\n", "t.yaml:5:10: volumes: expected a mapping, got a list");
    expect_error(HEAD "tidb: [a]\n", "t.yaml:5:7: tidb: expected a mapping, got a list");
    expect_error(HEAD "tidb:\n  service: a\n  port: \"40a\"\n", "t.yaml:7:9: tidb.port: expected a number, got \"40a\"");
    expect_error(HEAD "tidb:\n  service: a\n  port: 70000\n", "t.yaml:7:9: tidb.port: 70000 is out of range (1-65535)");
    expect_error(HEAD "kafka:\n  service: a\n  partitions: 0\n", "t.yaml:7:15: kafka.partitions: 0 is out of range (1-100000)");
    expect_error(HEAD "ticdc:\n  service: a\n  filter_rules: shop.*\n",
                 "t.yaml:7:17: ticdc.filter_rules: expected a list, got a string");
    expect_error(HEAD "consumer:\n  properties: [a=b]\n", "t.yaml:6:15: consumer.properties: expected a mapping, got a list");
    expect_error("- project\n", "t.yaml:1:1: expected a mapping of keys (project, services, ...), got a list");
    expect_error("just text\n", "t.yaml:1:1: expected a mapping of keys (project, services, ...), got a string");
}

static void test_error_missing(void **state)
{
    (void)state;
    expect_error("project: p\nservices:\n  a:\n    command: [x]\n",
                 "t.yaml:3:3: services.a: image is required (or build, or external)");
    expect_error("project: p\n", "t.yaml:1:1: services: required key missing");
    expect_error("", "t.yaml:1:1: manifest is empty (expected project: and services:)");
    expect_error("# nothing but a comment\n", "t.yaml:1:1: manifest is empty (expected project: and services:)");
    expect_error(HEAD "    ports:\n      - published: 80\n",
                 "t.yaml:6:9: services.a.ports[0]: target is required (the container port)");
    expect_error(HEAD "    files:\n      - content: x\n", "t.yaml:6:9: services.a.files[0]: target is required");
    expect_error(HEAD "    files:\n      - target: /x\n",
                 "t.yaml:6:9: services.a.files[0]: one of source, content or secret is required");
    expect_error(HEAD "    volumes:\n      - type: volume\n        target: /y\n",
                 "t.yaml:6:9: services.a.volumes[0]: source is required");
    expect_error(HEAD "    ulimits:\n      nofile: {soft: 1}\n",
                 "t.yaml:6:15: services.a.ulimits.nofile: both soft and hard are required");
    expect_error(HEAD "tidb:\n  service: a\n  users:\n    - host: x\n",
                 "t.yaml:8:7: tidb.users[0]: a user needs a name");
    expect_error(HEAD "    image: \"\"\n", "t.yaml:5:5: services.a: duplicate key \"image\"");
    expect_error("project: p\nservices:\n  a:\n    image: \"\"\n", "t.yaml:4:12: services.a.image: bad image reference \"\"");
}

static void test_error_references(void **state)
{
    (void)state;
    expect_error(HEAD "    depends_on: [b]\n", "t.yaml:5:18: services.a.depends_on[0]: unknown service \"b\"");
    expect_error(HEAD "    depends_on:\n      b:\n        condition: service_started\n",
                 "t.yaml:6:7: services.a.depends_on.b: unknown service \"b\"");
    expect_error(HEAD "    depends_on: [a2, a2]\n  a2: {image: y}\n",
                 "t.yaml:5:22: services.a.depends_on[1]: \"a2\" is listed twice");
    expect_error(HEAD "    depends_on:\n      a2: {condition: service_ready}\n  a2: {image: y}\n",
                 "t.yaml:6:23: services.a.depends_on.a2.condition: bad condition \"service_ready\": use service_started, service_healthy or service_completed_successfully");
    expect_error(HEAD "    volumes:\n      - data:/d\n",
                 "t.yaml:6:9: services.a.volumes[0]: volume \"data\" is not declared under the top-level volumes key");
    expect_error(HEAD "    volumes:\n      - type: volume\n        source: data\n        target: /d\n",
                 "t.yaml:7:17: services.a.volumes[0].source: volume \"data\" is not declared under the top-level volumes key");
    expect_error(HEAD "    volumes:\n      - type: volume\n        source: ./dir\n        target: /d\nvolumes: {data: }\n",
                 "t.yaml:7:17: services.a.volumes[0].source: a volume source must be a volume name");
    expect_error(HEAD "tidb:\n  schema: files/schema.sql\n",
                 "t.yaml:5:1: tidb: no service \"tidb\" in services (tidb.service defaults to \"tidb\"; set it)");
    expect_error(HEAD "tidb:\n  service: a\n  pd_service: pd\n", "t.yaml:7:15: tidb.pd_service: no service \"pd\" in services");
    expect_error(HEAD "kafka:\n  service: broker\n", "t.yaml:6:12: kafka.service: no service \"broker\" in services");
    expect_error(HEAD "ticdc:\n", "t.yaml:5:1: ticdc: no service \"ticdc\" in services (ticdc.service defaults to \"ticdc\"; set it)");
    expect_error(HEAD "consumer:\n  service: c\n", "t.yaml:6:12: consumer.service: no service \"c\" in services");
}

static void test_error_cycles(void **state)
{
    (void)state;
    expect_error("project: p\nservices:\n"
                 "  a:\n    image: x\n    depends_on: [b]\n"
                 "  b:\n    image: x\n    depends_on: [a]\n",
                 "t.yaml:5:18: services.a.depends_on: dependency cycle: a -> b -> a");
    expect_error("project: p\nservices:\n"
                 "  z:\n    image: x\n"
                 "  a:\n    image: x\n    depends_on:\n      b: {condition: service_healthy}\n"
                 "  b:\n    image: x\n    depends_on: [c, z]\n"
                 "  c:\n    image: x\n    depends_on:\n      a:\n",
                 "t.yaml:8:7: services.a.depends_on: dependency cycle: a -> b -> c -> a");
    expect_error(HEAD "    depends_on: [a]\n", "t.yaml:5:18: services.a.depends_on: dependency cycle: a -> a");
    /* a cycle reached from an acyclic service names only the cycle */
    expect_error("project: p\nservices:\n"
                 "  top:\n    image: x\n    depends_on: [b]\n"
                 "  b:\n    image: x\n    depends_on: [c]\n"
                 "  c:\n    image: x\n    depends_on: [b]\n",
                 "t.yaml:8:18: services.b.depends_on: dependency cycle: b -> c -> b");
}

static void test_error_ports(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"\"80:abc\"", "bad port \"80:abc\": container port is not a number"},
        {"abc", "bad port \"abc\": container port is not a number"},
        {"\"8000-8001:80-81\"", "bad port \"8000-8001:80-81\": port ranges are not supported; list each port"},
        {"\"9000-9001\"", "bad port \"9000-9001\": port ranges are not supported; list each port"},
        {"\"0:80\"", "bad port \"0:80\": host port 0 is not allowed (write only the container port for a random host port)"},
        {"\"70000:80\"", "bad port \"70000:80\": host port must be 1-65535"},
        {"\"80:70000\"", "bad port \"80:70000\": container port must be 1-65535"},
        {"\"0\"", "bad port \"0\": container port must be 1-65535"},
        {"\"80:\"", "bad port \"80:\": container port is missing"},
        {"\"x:80\"", "bad port \"x:80\": host port is not a number"},
        {"\"80/sctp\"", "bad port \"80/sctp\": protocol must be tcp or udp"},
        {"\"1.2.3:80:80\"", "bad port \"1.2.3:80:80\": bad host IP \"1.2.3\""},
        {"\"::1:80:80\"", "bad port \"::1:80:80\": too many ':' (write IPv6 addresses in brackets, like [::1]:8080:80)"},
        {"\"[::1:80:80\"", "bad port \"[::1:80:80\": expected [ipv6]:host:container"},
        {"\"[zz]:80:80\"", "bad port \"[zz]:80:80\": bad host IP \"zz\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char text[512], want[512];
        snprintf(text, sizeof text, HEAD "    ports:\n      - %s\n", cases[i][0]);
        snprintf(want, sizeof want, "t.yaml:6:9: services.a.ports[0]: %s", cases[i][1]);
        expect_error(text, want);
    }
    expect_error(HEAD "    ports:\n      - target: 80\n        published: 8000-8001\n",
                 "t.yaml:7:20: services.a.ports[0].published: port ranges are not supported; list each port");
    expect_error(HEAD "    ports:\n      - target: 80\n        protocol: sctp\n",
                 "t.yaml:7:19: services.a.ports[0].protocol: protocol must be tcp or udp");
    expect_error(HEAD "    ports:\n      - target: 0\n",
                 "t.yaml:6:17: services.a.ports[0].target: 0 is out of range (1-65535)");
    expect_error(HEAD "    ports:\n      - target: 80\n        host_ip: localhost\n",
                 "t.yaml:7:18: services.a.ports[0].host_ip: bad host IP \"localhost\"");
}

static void test_error_values(void **state)
{
    (void)state;
    expect_error("project: p\nservices:\n  x:\n    image: x\n    environment:\n      Y: ${VAR:?msg}\n",
                 "t.yaml:6:10: services.x.environment.Y: required variable VAR is missing: msg");
    expect_error(HEAD "    command: [\"${X:?need X}\"]\n",
                 "t.yaml:5:15: services.a.command[0]: required variable X is missing: need X");
    expect_error("project: ${P?}\nservices:\n  a:\n    image: x\n",
                 "t.yaml:1:10: project: required variable P is missing a value");
    expect_error(HEAD "    user: cost $5\n",
                 "t.yaml:5:11: services.a.user: invalid interpolation \"$5\": expected a variable name after $ (write $$ for a literal $)");
    expect_error(HEAD "    command: \"echo 'open\"\n",
                 "t.yaml:5:14: services.a.command: cannot split \"echo 'open\" into words: unterminated single quote");
    expect_error("project: p\nservices:\n  -bad:\n    image: x\n",
                 "t.yaml:3:3: services.-bad: invalid service name: use letters, digits, '_', '.' and '-', starting with a letter or digit");
    expect_error(HEAD "    volumes:\n      - /data\n",
                 "t.yaml:6:9: services.a.volumes[0]: bad volume \"/data\": anonymous volumes are not supported (write NAME:/data and declare NAME under the top-level volumes key)");
    expect_error(HEAD "    volumes:\n      - ./x:rel\n",
                 "t.yaml:6:9: services.a.volumes[0]: bad volume \"./x:rel\": the container path must be absolute");
    expect_error(HEAD "    volumes:\n      - ./x:/y:z\n",
                 "t.yaml:6:9: services.a.volumes[0]: bad volume \"./x:/y:z\": mode \"z\" is not supported (use ro or rw)");
    expect_error(HEAD "    volumes:\n      - type: tmpfs\n        target: /t\n",
                 "t.yaml:6:15: services.a.volumes[0].type: type \"tmpfs\" is not supported (use volume or bind)");
    expect_error(HEAD "    healthcheck:\n      test: [SHELL, x]\n",
                 "t.yaml:6:13: services.a.healthcheck.test: a test list must start with \"CMD\", \"CMD-SHELL\" or \"NONE\"");
    expect_error(HEAD "    healthcheck:\n      test: [CMD-SHELL, a, b]\n",
                 "t.yaml:6:13: services.a.healthcheck.test: [\"CMD-SHELL\", \"command\"] takes exactly one string");
    expect_error(HEAD "    healthcheck:\n      test: [CMD, x]\n      disable: true\n",
                 "t.yaml:6:13: services.a.healthcheck.test: test and disable: true cannot be used together");
    expect_error(HEAD "    restart: sometimes\n",
                 "t.yaml:5:14: services.a.restart: bad restart policy \"sometimes\": use no, always, on-failure[:N] or unless-stopped");
    expect_error(HEAD "    restart: on-failure:0\n",
                 "t.yaml:5:14: services.a.restart: bad restart policy \"on-failure:0\": use no, always, on-failure[:N] or unless-stopped");
    expect_error(HEAD "    ulimits:\n      files: 10\n",
                 "t.yaml:6:7: services.a.ulimits.files: unknown ulimit (known: core, cpu, data, fsize, locks, memlock, msgqueue, nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack)");
    expect_error(HEAD "    ulimits:\n      nofile: {soft: 20, hard: 10}\n",
                 "t.yaml:6:15: services.a.ulimits.nofile: the soft limit must not exceed the hard limit");
    expect_error(HEAD "    extra_hosts: [\"nohost\"]\n",
                 "t.yaml:5:19: services.a.extra_hosts[0]: bad extra host \"nohost\": expected host:ip");
    expect_error(HEAD "    extra_hosts: [\"h:not-an-ip\"]\n",
                 "t.yaml:5:19: services.a.extra_hosts[0]: bad extra host \"h:not-an-ip\": expected host:ip (or host=ip; ip may be host-gateway)");
    expect_error(HEAD "    working_dir: rel\n", "t.yaml:5:18: services.a.working_dir: working_dir must be an absolute path");
    expect_error("project: p\nservices:\n  a:\n    external: nohost\n",
                 "t.yaml:4:15: services.a.external: bad endpoint \"nohost\": expected host:port");
    char want[1400];
    snprintf(want, sizeof want, "t.yaml:4:12: services.a.build: build context \"%s/no-such-dir\" is not a directory", data_dir);
    expect_error("project: p\nservices:\n  a:\n    build: ./no-such-dir\n", want);
    expect_error("project: p\nservices:\n  a:\n    build: https://github.com/x/y.git\n",
                 "t.yaml:4:12: services.a.build: remote build context \"https://github.com/x/y.git\" is not supported: use a local directory");
    expect_error(HEAD "    files:\n      - target: etc/x\n        content: y\n",
                 "t.yaml:6:17: services.a.files[0].target: target must be an absolute file path, not \"etc/x\"");
    expect_error(HEAD "    files:\n      - target: /\n        content: y\n",
                 "t.yaml:6:17: services.a.files[0].target: target must be an absolute file path, not \"/\"");
    expect_error(HEAD "    files:\n      - target: /x\n        content: y\n        source: files/hello.txt\n",
                 "t.yaml:6:9: services.a.files[0]: source, content and secret are mutually exclusive");
    expect_error(HEAD "    files:\n      - target: /x\n        content: y\n      - target: /x\n        content: z\n",
                 "t.yaml:8:17: services.a.files[1].target: \"/x\" is written by another files entry");
    expect_error(HEAD "    files:\n      - target: /x\n        content: y\n        mode: \"0999\"\n",
                 "t.yaml:8:15: services.a.files[0].mode: bad mode \"0999\": expected an octal mode like 0644");
    expect_error(HEAD "    files:\n      - target: /x\n        secret: my-secret\n",
                 "t.yaml:7:17: services.a.files[0].secret: bad secret name \"my-secret\": use letters, digits and _ (an environment variable name)");
    expect_error(HEAD "ticdc:\n  service: a\n  changefeed: shop_cdc\n",
                 "t.yaml:7:15: ticdc.changefeed: bad changefeed id \"shop_cdc\": use letters and digits in groups joined by single '-' (^[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*$, at most 128 characters)");
    expect_error(HEAD "ticdc:\n  service: a\n  changefeed: a--b\n",
                 "t.yaml:7:15: ticdc.changefeed: bad changefeed id \"a--b\": use letters and digits in groups joined by single '-' (^[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*$, at most 128 characters)");
    expect_error(HEAD "ticdc:\n  service: a\n  config: files/hello.txt\n",
                 "t.yaml:7:11: ticdc.config: \"files/hello.txt\" is not a JSON object: '[' or '{' expected near 'hello'");
    expect_error(HEAD "kafka:\n  service: a\n  topic: \"bad topic\"\n",
                 "t.yaml:7:10: kafka.topic: bad topic \"bad topic\": use letters, digits, '.', '_' and '-' (at most 249)");
    expect_error(HEAD "kafka:\n  service: a\n  brokers: kafka\n",
                 "t.yaml:7:12: kafka.brokers: bad broker list \"kafka\": expected host:port[,host:port...]");
    expect_error(HEAD "consumer:\n  metrics_addr: \":x\"\n",
                 "t.yaml:6:17: consumer.metrics_addr: bad address \":x\": expected host:port (port 0 = any free port)");
    expect_error(HEAD "consumer:\n  es_url: elasticsearch:9200\n",
                 "t.yaml:6:11: consumer.es_url: bad URL \"elasticsearch:9200\": expected http://host:port or https://...");
    expect_error(HEAD "tidb:\n  service: a\n  users:\n    - name: \"o'brien\"\n",
                 "t.yaml:8:13: tidb.users[0].name: user name must not contain quotes, backslashes or control characters");
    expect_error(HEAD "tidb:\n  service: a\n  users:\n    - name: u\n      grants: [\"SELECT ON *.*; DROP DATABASE x\"]\n",
                 "t.yaml:9:16: tidb.users[0].grants[0]: a grant is one privilege clause like \"SELECT ON shop.*\" (no ';')");
    expect_error(HEAD "tidb:\n  service: a\n  users:\n    - name: u\n      password_env: has-dash\n",
                 "t.yaml:9:21: tidb.users[0].password_env: \"has-dash\" is not a valid environment variable name");
    expect_error(HEAD "volumes:\n  \"bad name\":\n",
                 "t.yaml:6:3: volumes.bad name: invalid volume name: use letters, digits, _ . -, starting with a letter or digit");
}

static void test_error_yaml(void **state)
{
    (void)state;
    expect_error(HEAD "    ports: [x\n",
                 "t.yaml:6:1: invalid YAML: did not find expected ',' or ']' (while parsing a flow sequence started at line 5)");
    expect_error(HEAD "  b: c: d\n", "t.yaml:5:7: invalid YAML: mapping values are not allowed in this context");
    expect_error(HEAD "    user: *nope\n", "t.yaml:5:11: invalid YAML: found undefined alias");
    expect_error(HEAD "---\nfoo: 1\n", "t.yaml:5:1: only one YAML document is allowed in a manifest");
    expect_error(HEAD "    <<: 5\n", "t.yaml:5:9: services.a: merge key `<<` needs a mapping or a list of mappings");
    expect_error("project: p\nservices:\n  a: &a\n    image: x\n    labels: *a\n",
                 "t.yaml:3:6: services.a.labels: recursive alias");
    expect_error("project: p\nservices:\n  a:\n    image: x\n    [k]: v\n",
                 "t.yaml:5:5: services.a: mapping keys must be strings");
}

static void test_merge_keys(void **state)
{
    (void)state;
    struct manifest *m = parse_ok("x-a: &a {image: from-a, user: ua}\nx-b: &b {user: ub, hostname: hb}\n"
                                  "project: p\nservices:\n  s:\n    <<: [*a, *b]\n    hostname: own\n");
    const struct service *s = svc(m, "s");
    assert_string_equal(s->image, "from-a");
    assert_string_equal(s->user, "ua");      /* earlier merge source wins */
    assert_string_equal(s->hostname, "own"); /* explicit keys win */
    manifest_free(m);
}

/* ---- start order ---- */

static void expect_order(const char *text, const char *want)
{
    struct manifest *m = parse_ok(text);
    size_t *order = calloc(m->nservices, sizeof *order);
    char got[256] = "";
    manifest_start_order(m, order);
    for (size_t i = 0; i < m->nservices; i++) {
        if (i)
            strcat(got, " ");
        strcat(got, m->services[order[i]].name);
    }
    assert_string_equal(got, want);
    free(order);
    manifest_free(m);
}

static void test_start_order(void **state)
{
    (void)state;
    expect_order(HEAD "  b: {image: x}\n  c: {image: x}\n", "a b c");
    expect_order("project: p\nservices:\n  app: {image: x, depends_on: [db, cache]}\n"
                 "  db: {image: x}\n  cache: {image: x, depends_on: [db]}\n",
                 "db cache app");
    expect_order("project: p\nservices:\n  a: {image: x, depends_on: [c]}\n  b: {image: x}\n"
                 "  c: {image: x}\n  d: {image: x, depends_on: [a]}\n",
                 "b c a d");
    expect_order("project: p\nservices:\n"
                 "  consumer: {image: x, depends_on: {kafka: {condition: service_healthy}}}\n"
                 "  kafka: {image: x}\n  ticdc: {image: x, depends_on: [tidb, kafka]}\n"
                 "  tidb: {image: x, depends_on: [tikv]}\n  tikv: {image: x, depends_on: [pd]}\n"
                 "  pd: {image: x}\n",
                 "kafka consumer pd tikv tidb ticdc");

    struct manifest *m = load_fixture("full.yaml");
    size_t order[16];
    manifest_start_order(m, order);
    /* every dependency comes before its dependent */
    for (size_t i = 0; i < m->nservices; i++) {
        const struct service *s = &m->services[order[i]];
        for (size_t d = 0; d < s->ndepends; d++) {
            int seen = 0;
            for (size_t j = 0; j < i; j++)
                seen |= !strcmp(m->services[order[j]].name, s->depends_on[d].service);
            if (!seen)
                fail_msg("%s starts before its dependency %s", s->name, s->depends_on[d].service);
        }
    }
    manifest_free(m);
}

static void test_service_lookup(void **state)
{
    (void)state;
    struct manifest *m = parse_ok(HEAD "  b: {external: \"h:1\"}\n");
    assert_ptr_equal(manifest_service(m, "b"), &m->services[1]);
    assert_null(manifest_service(m, "c"));
    assert_null(manifest_service(m, NULL));
    assert_null(manifest_service(NULL, "a"));
    manifest_free(m);
    manifest_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_fixture),
        cmocka_unit_test(test_round_trip_full),
        cmocka_unit_test(test_round_trip_edge_values),
        cmocka_unit_test(test_builtin_manifest),
        cmocka_unit_test(test_builtin_paths),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_project),
        cmocka_unit_test(test_section_defaults),
        cmocka_unit_test(test_interpolation_in_manifest),
        cmocka_unit_test(test_error_unknown_keys),
        cmocka_unit_test(test_error_wrong_types),
        cmocka_unit_test(test_error_missing),
        cmocka_unit_test(test_error_references),
        cmocka_unit_test(test_error_cycles),
        cmocka_unit_test(test_error_ports),
        cmocka_unit_test(test_error_values),
        cmocka_unit_test(test_error_yaml),
        cmocka_unit_test(test_merge_keys),
        cmocka_unit_test(test_start_order),
        cmocka_unit_test(test_service_lookup),
    };
    return cmocka_run_group_tests_name("manifest", tests, setup, NULL);
}
