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

#include "manifest_fixture.h"

#include "embedded.h"
#include "manifest.h"
#include "util.h"

/* ---- fixtures and helpers ---- */

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
    return manifest_fixture_setup("test_manifest");
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
    manifest_expect_error(&SRC, text, want);
}


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

/* The same model, wherever each manifest was loaded from (dir and builtin not compared). */
static void model_eq(const struct manifest *a, const struct manifest *b)
{
    str_eq("project", a->project, b->project);
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

static void manifest_eq(const struct manifest *a, const struct manifest *b)
{
    str_eq("dir", a->dir, b->dir);
    assert_int_equal(a->builtin, b->builtin);
    model_eq(a, b);
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
            /* written ../monitoring/x, kept as embedded:monitoring/x */
            const char *src_path = s->files[j].source;
            assert_true(!strncmp(src_path, "embedded:monitoring/", 20));
            const struct embedded_file *ef = embedded_find(src_path + 9);
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
        assert_string_equal(m->tidb.schema, "embedded:config/schema.sql");
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

/* `cdcctl config > DIR/cdcctl.yaml` of the built-in manifest, then `-f DIR/cdcctl.yaml`
 * from another directory: the same model, with the same file contents. */
static void test_builtin_config_round_trip(void **state)
{
    (void)state;
    struct manifest_source src = SRC;
    struct manifest *m = NULL, *again = NULL;
    char err[ERRLEN] = "", cwd[PATH_MAX], dir[] = "/tmp/test_manifest.XXXXXX", path[PATH_MAX];
    int rc = manifest_load(&src, &m, err, sizeof err);
    if (rc != CC_OK)
        fail_msg("the built-in manifest does not load: %s", err);
    char *yaml = manifest_to_yaml(m);
    assert_non_null(strstr(yaml, "source: embedded:monitoring/prometheus.yml\n"));
    assert_non_null(strstr(yaml, "schema: embedded:config/schema.sql\n"));
    assert_non_null(strstr(yaml, "config: embedded:config/changefeed.json\n"));
    assert_non_null(strstr(yaml, "context: embedded:consumer\n"));
    assert_null(strstr(yaml, "../"));

    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/cdcctl.yaml", dir);
    assert_int_equal(write_file_atomic(path, yaml, strlen(yaml), 0644, err, sizeof err), CC_OK);
    assert_int_equal(chdir("/"), 0);
    src.path = path;
    rc = manifest_load(&src, &again, err, sizeof err);
    assert_int_equal(chdir(cwd), 0);
    unlink(path);
    rmdir(dir);
    if (rc != CC_OK)
        fail_msg("the saved built-in manifest does not load: %s\n--\n%s", err, yaml);
    assert_int_equal(again->builtin, 0);
    assert_string_equal(again->dir, dir);
    model_eq(m, again);
    assert_true(again->tidb.schema_len > 0);
    char *yaml2 = manifest_to_yaml(again);
    assert_string_equal(yaml, yaml2);
    free(yaml);
    free(yaml2);
    manifest_free(again);
    manifest_free(m);
}

/* embedded:PATH in a manifest on disk: the embedded file, the path kept as written;
 * relative paths next to it stay relative. */
static void test_embedded_paths(void **state)
{
    (void)state;
    struct manifest *m = parse_ok("project: p\nservices:\n  a:\n    build: {context: embedded:consumer}\n"
                                  "    files:\n"
                                  "      - target: /e\n        source: embedded:./monitoring/prometheus.yml\n"
                                  "      - target: /r\n        source: files/hello.txt\n"
                                  "tidb:\n  service: a\n  schema: embedded:config/schema.sql\n"
                                  "ticdc:\n  service: a\n  config: embedded:config/changefeed.json\n");
    const struct service *a = svc(m, "a");
    assert_int_equal(a->build->embedded, 1);
    assert_null(a->build->context);
    const struct embedded_file *prom = embedded_find("monitoring/prometheus.yml");
    const struct embedded_file *schema = embedded_find("config/schema.sql");
    const struct embedded_file *feed = embedded_find("config/changefeed.json");
    assert_non_null(prom);
    assert_non_null(schema);
    assert_non_null(feed);
    assert_string_equal(a->files[0].source, "embedded:./monitoring/prometheus.yml");
    assert_int_equal(a->files[0].len, prom->len);
    assert_memory_equal(a->files[0].data, prom->data, prom->len);
    assert_string_equal(a->files[1].source, "files/hello.txt");
    assert_string_equal(m->tidb.schema, "embedded:config/schema.sql");
    assert_int_equal(m->tidb.schema_len, schema->len);
    assert_memory_equal(m->tidb.schema_sql, schema->data, schema->len);
    assert_string_equal(m->ticdc.config, "embedded:config/changefeed.json");
    assert_int_equal(m->ticdc.config_len, feed->len);
    assert_memory_equal(m->ticdc.config_json, feed->data, feed->len);
    round_trip(m, data_dir);
    manifest_free(m);

    /* in a built-in manifest too, embedded:PATH is the repository path */
    static const char text[] = "project: p\nservices:\n  a:\n    image: x\n    files:\n"
                               "      - target: /s.sql\n        source: embedded:config/schema.sql\n";
    char err[ERRLEN] = "";
    int rc = manifest_parse(text, strlen(text), "<built-in>/manifests/x.yaml", NULL, &SRC, &m,
                            err, sizeof err);
    if (rc != CC_OK)
        fail_msg("%s", err);
    assert_string_equal(m->services[0].files[0].source, "embedded:config/schema.sql");
    assert_int_equal(m->services[0].files[0].len, schema->len);
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
        cmocka_unit_test(test_builtin_config_round_trip),
        cmocka_unit_test(test_embedded_paths),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_project),
        cmocka_unit_test(test_section_defaults),
        cmocka_unit_test(test_interpolation_in_manifest),
        cmocka_unit_test(test_merge_keys),
        cmocka_unit_test(test_start_order),
        cmocka_unit_test(test_service_lookup),
    };
    return cmocka_run_group_tests_name("manifest", tests, setup, NULL);
}
