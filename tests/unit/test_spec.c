/* Unit tests for spec.c: container-create body, names, labels and config hash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "spec.h"
#include "util.h"

/* A rich service built by hand (no parser involved). Every array lives in the
 * fixture so tests can modify copies. */
struct fixture {
    struct service svc;
    char *cmd[3];
    struct kv env[3];
    struct port_spec ports[3];
    struct mount_spec vols[2];
    struct dependency deps[2];
    char *hc_test[2];
    struct ulimit ul[1];
    struct kv labels[2];
    char *hosts[1];
    struct file_spec files[2];
    unsigned char file0[16];
};

static void fixture_init(struct fixture *f)
{
    memset(f, 0, sizeof *f);
    struct service *s = &f->svc;
    s->name = "kafka";
    s->image = "apache/kafka:3.9.1";
    s->has_command = 1;
    f->cmd[0] = "run";
    f->cmd[1] = "--fast";
    s->command.items = f->cmd;
    s->command.n = 2;
    f->env[0] = (struct kv){"KAFKA_NODE_ID", "1"};
    f->env[1] = (struct kv){"CLUSTER_ID", "abc"};
    f->env[2] = (struct kv){"FROM_ENV", NULL};
    s->environment.items = f->env;
    s->environment.n = 3;
    f->ports[0] = (struct port_spec){"127.0.0.1", 9092, 9092, "tcp"};
    f->ports[1] = (struct port_spec){"", 0, 9999, "udp"};
    f->ports[2] = (struct port_spec){"127.0.0.1", 19092, 9092, "tcp"};
    s->ports = f->ports;
    s->nports = 3;
    f->vols[0] = (struct mount_spec){MOUNT_VOLUME, "kafka", "/var/lib/kafka/data", 0};
    f->vols[1] = (struct mount_spec){MOUNT_BIND, "/etc/hosts", "/host-hosts", 1};
    s->volumes = f->vols;
    s->nvolumes = 2;
    f->deps[0] = (struct dependency){"zk", DEP_HEALTHY, {1, 1}};
    s->depends_on = f->deps;
    s->ndepends = 1;
    s->healthcheck.set = 1;
    f->hc_test[0] = "CMD-SHELL";
    f->hc_test[1] = "true";
    s->healthcheck.test.items = f->hc_test;
    s->healthcheck.test.n = 2;
    s->healthcheck.interval_ns = 5000000000LL;
    s->healthcheck.timeout_ns = 3000000000LL;
    s->healthcheck.start_period_ns = 10000000000LL;
    s->healthcheck.retries = 20;
    s->restart = "on-failure";
    f->ul[0] = (struct ulimit){"nofile", 65535, 65536};
    s->ulimits = f->ul;
    s->nulimits = 1;
    f->labels[0] = (struct kv){"team", "data"};
    f->labels[1] = (struct kv){"tier", "queue"};
    s->labels.items = f->labels;
    s->labels.n = 2;
    f->hosts[0] = "host.docker.internal:host-gateway";
    s->extra_hosts.items = f->hosts;
    s->extra_hosts.n = 1;
    s->user = "1000:1000";
    s->working_dir = "/opt/kafka";
    memcpy(f->file0, "max-replicas = 1", 16);
    f->files[0] = (struct file_spec){"/etc/kafka/x.conf", "x.conf", NULL, f->file0, 16, 0644, 0, 0};
    f->files[1] = (struct file_spec){"/run/secrets/pw", NULL, "PW", NULL, 0, 0400, 472, 0};
    s->files = f->files;
    s->nfiles = 2;
}

static const char *fake_env(const char *name, void *ctx)
{
    (void)ctx;
    return strcmp(name, "FROM_ENV") == 0 ? "yes" : NULL;
}

static const char *no_env(const char *name, void *ctx)
{
    (void)name;
    (void)ctx;
    return NULL;
}

static struct spec_ctx make_ctx(void)
{
    struct spec_ctx c = {0};
    c.project = "shop";
    c.image_id = "sha256:1111";
    c.getenv_fn = fake_env;
    return c;
}

static void assert_json_eq(json_t *got, const char *want_text)
{
    json_error_t e;
    json_t *want = json_loads(want_text, 0, &e);
    if (!want)
        fail_msg("bad expected JSON at %d: %s", e.line, e.text);
    if (!json_equal(got, want)) {
        char *g = json_dumps(got, JSON_SORT_KEYS | JSON_INDENT(1));
        char *w = json_dumps(want, JSON_SORT_KEYS | JSON_INDENT(1));
        print_error("got:\n%s\nwant:\n%s\n", g, w);
        free(g);
        free(w);
        json_decref(want);
        fail();
    }
    json_decref(want);
}

static void test_names(void **state)
{
    (void)state;
    char *c = spec_container_name("shop", "tidb");
    char *n = spec_network_name("shop");
    char *v = spec_volume_name("shop", "tikv");
    assert_string_equal(c, "shop-tidb-1");
    assert_string_equal(n, "shop_default");
    assert_string_equal(v, "shop_tikv");
    free(c);
    free(n);
    free(v);

    struct fixture f;
    fixture_init(&f);
    char *img = spec_image_ref("shop", &f.svc);
    assert_string_equal(img, "apache/kafka:3.9.1");
    free(img);
    f.svc.image = NULL;
    struct build_spec b = {0};
    f.svc.build = &b;
    img = spec_image_ref("shop", &f.svc);
    assert_string_equal(img, "shop-kafka:latest");
    free(img);
    f.svc.external = "10.0.0.1:9092";
    assert_null(spec_image_ref("shop", &f.svc));
}

static void test_create_body_rich(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    struct spec_ctx ctx = make_ctx();
    char hash[65];
    json_t *body = spec_container(&f.svc, &ctx, hash);
    char want[4096];
    snprintf(want, sizeof want,
             "{\"Image\":\"apache/kafka:3.9.1\","
             "\"Cmd\":[\"run\",\"--fast\"],"
             "\"Env\":[\"CLUSTER_ID=abc\",\"FROM_ENV=yes\",\"KAFKA_NODE_ID=1\"],"
             "\"Labels\":{\"team\":\"data\",\"tier\":\"queue\",\"io.cdcctl.project\":\"shop\","
             "  \"io.cdcctl.service\":\"kafka\",\"io.cdcctl.config-hash\":\"%s\"},"
             "\"Hostname\":\"kafka\",\"User\":\"1000:1000\",\"WorkingDir\":\"/opt/kafka\","
             "\"Tty\":false,"
             "\"Healthcheck\":{\"Test\":[\"CMD-SHELL\",\"true\"],\"Interval\":5000000000,"
             "  \"Timeout\":3000000000,\"StartPeriod\":10000000000,\"Retries\":20},"
             "\"ExposedPorts\":{\"9092/tcp\":{},\"9999/udp\":{}},"
             "\"HostConfig\":{"
             "  \"PortBindings\":{\"9092/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"9092\"},"
             "                                 {\"HostIp\":\"127.0.0.1\",\"HostPort\":\"19092\"}],"
             "                   \"9999/udp\":[{\"HostIp\":\"\",\"HostPort\":\"\"}]},"
             "  \"Binds\":[\"shop_kafka:/var/lib/kafka/data\",\"/etc/hosts:/host-hosts:ro\"],"
             "  \"RestartPolicy\":{\"Name\":\"on-failure\",\"MaximumRetryCount\":0},"
             "  \"Ulimits\":[{\"Name\":\"nofile\",\"Soft\":65535,\"Hard\":65536}],"
             "  \"ExtraHosts\":[\"host.docker.internal:host-gateway\"],"
             "  \"NetworkMode\":\"shop_default\"},"
             "\"NetworkingConfig\":{\"EndpointsConfig\":{\"shop_default\":"
             "  {\"Aliases\":[\"kafka\",\"shop-kafka-1\"]}}}}",
             hash);
    assert_json_eq(body, want);
    assert_int_equal(strlen(hash), 64);
    json_decref(body);
}

static void test_create_body_minimal(void **state)
{
    (void)state;
    struct service s = {0};
    s.name = "tidb";
    s.image = "pingcap/tidb:v8.5.1";
    s.hostname = "db";
    struct spec_ctx ctx = make_ctx();
    json_t *body = spec_create_body(&s, &ctx);
    assert_json_eq(body,
                   "{\"Image\":\"pingcap/tidb:v8.5.1\",\"Env\":[],"
                   "\"Labels\":{\"io.cdcctl.project\":\"shop\",\"io.cdcctl.service\":\"tidb\"},"
                   "\"Hostname\":\"db\",\"Tty\":false,"
                   "\"HostConfig\":{\"RestartPolicy\":{\"Name\":\"no\",\"MaximumRetryCount\":0},"
                   "  \"NetworkMode\":\"shop_default\"},"
                   "\"NetworkingConfig\":{\"EndpointsConfig\":{\"shop_default\":"
                   "  {\"Aliases\":[\"tidb\",\"shop-tidb-1\"]}}}}");
    json_decref(body);

    /* disabled healthcheck, empty entrypoint, restart with a count */
    s.healthcheck.set = 1;
    s.healthcheck.disable = 1;
    s.has_entrypoint = 1;
    s.restart = "on-failure:5";
    body = spec_create_body(&s, &ctx);
    assert_json_eq(json_object_get(body, "Healthcheck"), "{\"Test\":[\"NONE\"]}");
    assert_json_eq(json_object_get(body, "Entrypoint"), "[\"\"]");
    assert_json_eq(json_object_get(json_object_get(body, "HostConfig"), "RestartPolicy"),
                   "{\"Name\":\"on-failure\",\"MaximumRetryCount\":5}");
    json_decref(body);
}

static void test_env_from_environment_unset_is_left_out(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    struct spec_ctx ctx = make_ctx();
    ctx.getenv_fn = no_env;
    json_t *body = spec_create_body(&f.svc, &ctx);
    assert_json_eq(json_object_get(body, "Env"), "[\"CLUSTER_ID=abc\",\"KAFKA_NODE_ID=1\"]");
    json_decref(body);
}

static void hash_of(const struct fixture *f, const struct spec_ctx *ctx, char out[65])
{
    spec_config_hash(&f->svc, ctx, out);
}

static void test_hash_changes(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    struct spec_ctx ctx = make_ctx();
    char base[65], h[65], again[65];
    hash_of(&f, &ctx, base);
    hash_of(&f, &ctx, again);
    assert_string_equal(base, again); /* deterministic */

    /* environment value */
    f.env[0].value = "2";
    hash_of(&f, &ctx, h);
    assert_string_not_equal(base, h);
    f.env[0].value = "1";

    /* environment taken from cdcctl's environment */
    ctx.getenv_fn = no_env;
    hash_of(&f, &ctx, h);
    assert_string_not_equal(base, h);
    ctx.getenv_fn = fake_env;

    /* image ID (same tag, new image) */
    ctx.image_id = "sha256:2222";
    hash_of(&f, &ctx, h);
    assert_string_not_equal(base, h);
    ctx.image_id = "sha256:1111";

    /* image name */
    f.svc.image = "apache/kafka:3.9.0";
    hash_of(&f, &ctx, h);
    assert_string_not_equal(base, h);
    f.svc.image = "apache/kafka:3.9.1";

    /* file content */
    f.file0[0] = 'M';
    hash_of(&f, &ctx, h);
    assert_string_not_equal(base, h);
    f.file0[0] = 'm';

    /* file mode */
    f.files[0].mode = 0600;
    hash_of(&f, &ctx, h);
    assert_string_not_equal(base, h);
    f.files[0].mode = 0644;

    /* a resolved secret's content hash */
    char s1[65], s2[65];
    sha256_hex("one", 3, s1);
    sha256_hex("two", 3, s2);
    const char *fh1[2] = {NULL, s1};
    const char *fh2[2] = {NULL, s2};
    ctx.file_hashes = fh1;
    char with1[65], with2[65];
    hash_of(&f, &ctx, with1);
    ctx.file_hashes = fh2;
    hash_of(&f, &ctx, with2);
    assert_string_not_equal(with1, with2);
    assert_string_not_equal(base, with1);
    ctx.file_hashes = NULL;

    /* restart and ulimits */
    f.svc.restart = "always";
    hash_of(&f, &ctx, h);
    assert_string_not_equal(base, h);
    f.svc.restart = "on-failure";
    f.ul[0].soft = 1024;
    hash_of(&f, &ctx, h);
    assert_string_not_equal(base, h);
    f.ul[0].soft = 65535;

    /* a published port */
    f.ports[0].host_port = 9093;
    hash_of(&f, &ctx, h);
    assert_string_not_equal(base, h);
    f.ports[0].host_port = 9092;

    hash_of(&f, &ctx, again);
    assert_string_equal(base, again); /* everything restored */
}

static void test_hash_stable(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    struct spec_ctx ctx = make_ctx();
    char base[65], h[65];
    hash_of(&f, &ctx, base);

    /* depends_on does not enter the hash */
    f.svc.ndepends = 0;
    hash_of(&f, &ctx, h);
    assert_string_equal(base, h);
    f.deps[1] = (struct dependency){"es", DEP_STARTED, {2, 2}};
    f.svc.ndepends = 2;
    hash_of(&f, &ctx, h);
    assert_string_equal(base, h);

    /* the order environment and label keys were written in does not either */
    struct kv e0 = f.env[0];
    f.env[0] = f.env[2];
    f.env[2] = e0;
    struct kv l0 = f.labels[0];
    f.labels[0] = f.labels[1];
    f.labels[1] = l0;
    hash_of(&f, &ctx, h);
    assert_string_equal(base, h);

    /* nor the manifest position of the service */
    f.svc.pos.line = 99;
    hash_of(&f, &ctx, h);
    assert_string_equal(base, h);
}

static void test_network_volume_labels(void **state)
{
    (void)state;
    json_t *n = spec_network_labels("shop");
    json_t *v = spec_volume_labels("shop", "tikv");
    assert_json_eq(n, "{\"io.cdcctl.project\":\"shop\",\"io.cdcctl.network\":\"default\"}");
    assert_json_eq(v, "{\"io.cdcctl.project\":\"shop\",\"io.cdcctl.volume\":\"tikv\"}");
    json_decref(n);
    json_decref(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_create_body_rich),
        cmocka_unit_test(test_create_body_minimal),
        cmocka_unit_test(test_env_from_environment_unset_is_left_out),
        cmocka_unit_test(test_hash_changes),
        cmocka_unit_test(test_hash_stable),
        cmocka_unit_test(test_network_volume_labels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
