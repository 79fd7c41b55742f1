/* Unit tests of docker_inspect against JSON captured from a real Docker 20.10
 * daemon (tests/data/docker/:  a running healthy container with published
 * ports, an exited one, a created one that never started, an unhealthy one, and
 * the container list of all four). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker_inspect.h"

/* Loads tests/data/docker/NAME, from $CDCCTL_ROOT, the current directory, or
 * relative to this source file. */
static json_t *fixture(const char *name)
{
    const char *root = getenv("CDCCTL_ROOT");
    char path[4096];
    const char *bases[3] = {root, ".", NULL};
    char here[4096];
    snprintf(here, sizeof here, "%s", __FILE__);
    char *slash = strrchr(here, '/');
    if (slash) {
        snprintf(slash, sizeof here - (size_t)(slash - here), "/../..");
        bases[2] = here;
    }
    for (int i = 0; i < 3; i++) {
        if (!bases[i])
            continue;
        snprintf(path, sizeof path, "%s/tests/data/docker/%s", bases[i], name);
        json_t *j = json_load_file(path, 0, NULL);
        if (j)
            return j;
    }
    fail_msg("fixture %s not found (run from the repository root or set CDCCTL_ROOT)", name);
    return NULL;
}

static void parse_fixture(const char *name, struct docker_container_info *c)
{
    json_t *j = fixture(name);
    char err[ERRLEN] = "";
    assert_int_equal(docker_container_info_parse(j, c, err, sizeof err), CC_OK);
    json_decref(j);
}

static void test_running_healthy_with_ports(void **state)
{
    (void)state;
    struct docker_container_info c;
    parse_fixture("inspect-running-healthy.json", &c);
    assert_string_equal(c.id, "c100e144f25e7e407dc77a833272724d898cf152a7b5a6d02798ab259387213d");
    assert_string_equal(c.name, "cdcctl-smoke-fx-web");
    assert_string_equal(c.status, "running");
    assert_true(c.running);
    assert_int_equal(c.exit_code, 0);
    assert_string_equal(c.health, "healthy");
    assert_int_equal(c.failing_streak, 0);
    assert_string_equal(c.started_at, "2026-11-21T06:42:38.589291726Z");
    assert_int_equal(strncmp(c.image, "sha256:17cf22c2438b", 19), 0);
    assert_string_equal(c.config_image, "cdcctl-test/busybox:1");
    assert_false(c.tty);
    /* 9000/tcp is only exposed (null bindings): not listed; sorted by container port */
    assert_int_equal(c.nports, 2);
    assert_string_equal(c.ports[0], "127.0.0.1:18080->80/tcp");
    assert_string_equal(c.ports[1], "127.0.0.1:18443->443/tcp");
    assert_string_equal(docker_container_info_label(&c, DOCKER_LABEL_CONFIG_HASH), "3f2a9c0d1e");
    assert_string_equal(docker_container_info_label(&c, DOCKER_LABEL_PROJECT), "fx");
    assert_string_equal(docker_container_info_label(&c, DOCKER_LABEL_SERVICE), "web");
    assert_null(docker_container_info_label(&c, "io.cdcctl.nope"));
    /* labels are sorted by key */
    for (size_t i = 1; i < c.nlabels; i++)
        assert_true(strcmp(c.labels[i - 1].key, c.labels[i].key) < 0);
    docker_container_info_clear(&c);
    docker_container_info_clear(&c); /* idempotent */
}

static void test_exited_without_healthcheck(void **state)
{
    (void)state;
    struct docker_container_info c;
    parse_fixture("inspect-exited.json", &c);
    assert_string_equal(c.name, "cdcctl-smoke-fx-job");
    assert_string_equal(c.status, "exited");
    assert_false(c.running);
    assert_int_equal(c.exit_code, 3);
    assert_string_equal(c.health, "none");
    assert_string_equal(c.health_output, "");
    assert_int_equal(c.nports, 0);
    assert_null(c.ports);
    assert_string_equal(docker_container_info_label(&c, DOCKER_LABEL_SERVICE), "job");
    assert_string_not_equal(c.finished_at, "0001-01-01T00:00:00Z");
    docker_container_info_clear(&c);
}

static void test_created_never_started_has_no_health(void **state)
{
    (void)state;
    struct docker_container_info c;
    parse_fixture("inspect-created.json", &c);
    /* a healthcheck is configured, but State.Health only appears once started */
    json_t *j = fixture("inspect-created.json");
    assert_non_null(json_object_get(json_object_get(j, "Config"), "Healthcheck"));
    assert_null(json_object_get(json_object_get(j, "State"), "Health"));
    json_decref(j);
    assert_string_equal(c.status, "created");
    assert_false(c.running);
    assert_string_equal(c.health, "none");
    assert_string_equal(c.started_at, "0001-01-01T00:00:00Z");
    docker_container_info_clear(&c);
}

static void test_unhealthy(void **state)
{
    (void)state;
    struct docker_container_info c;
    parse_fixture("inspect-unhealthy.json", &c);
    assert_string_equal(c.status, "running");
    assert_string_equal(c.health, "unhealthy");
    assert_int_equal(c.failing_streak, 1);
    assert_string_equal(c.health_output, "probe failed\n");
    docker_container_info_clear(&c);
}

static void test_not_a_container(void **state)
{
    (void)state;
    struct docker_container_info c;
    char err[ERRLEN] = "";
    json_t *j = json_loads("{\"message\":\"No such container: x\"}", 0, NULL);
    assert_int_equal(docker_container_info_parse(j, &c, err, sizeof err), CC_EINVAL);
    assert_string_equal(err, "container inspect: not a container (no Id or State)");
    docker_container_info_clear(&c);
    json_decref(j);
    assert_int_equal(docker_container_info_parse(NULL, &c, err, sizeof err), CC_EINVAL);
    docker_container_info_clear(NULL);
}

static void test_ipv6_and_minimal(void **state)
{
    (void)state;
    json_t *j = json_loads(
        "{\"Id\":\"abc\",\"Name\":\"noslash\",\"State\":{\"Status\":\"running\",\"Running\":true,"
        "\"Health\":{\"Status\":\"starting\",\"FailingStreak\":0,\"Log\":[]}},"
        "\"Config\":{\"Tty\":true,\"Labels\":null},"
        "\"NetworkSettings\":{\"Ports\":{\"8080/tcp\":[{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"8080\"},"
        "{\"HostIp\":\"::\",\"HostPort\":\"8080\"}],\"53/udp\":[{\"HostIp\":\"\",\"HostPort\":\"5353\"}],"
        "\"9/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"\"}]}}}",
        0, NULL);
    struct docker_container_info c;
    char err[ERRLEN];
    assert_int_equal(docker_container_info_parse(j, &c, err, sizeof err), CC_OK);
    assert_string_equal(c.id, "abc");
    assert_string_equal(c.name, "noslash");
    assert_string_equal(c.health, "starting");
    assert_true(c.tty);
    assert_string_equal(c.image, "");
    assert_int_equal(c.nlabels, 0);
    assert_int_equal(c.nports, 3);
    assert_string_equal(c.ports[0], "0.0.0.0:5353->53/udp");
    assert_string_equal(c.ports[1], "0.0.0.0:8080->8080/tcp");
    assert_string_equal(c.ports[2], "[::]:8080->8080/tcp");
    docker_container_info_clear(&c);
    json_decref(j);
}

static const struct docker_container_summary *by_name(struct docker_container_summary *s, size_t n,
                                                      const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s[i].name, name) == 0)
            return &s[i];
    fail_msg("no container %s in the list", name);
    return NULL;
}

static void test_list(void **state)
{
    (void)state;
    json_t *j = fixture("list.json");
    struct docker_container_summary *s = NULL;
    size_t n = 0;
    char err[ERRLEN];
    assert_int_equal(docker_container_summaries_parse(j, &s, &n, err, sizeof err), CC_OK);
    assert_int_equal(n, 4);
    const struct docker_container_summary *web = by_name(s, n, "cdcctl-smoke-fx-web");
    assert_string_equal(web->state, "running");
    assert_string_equal(web->health, "healthy");
    assert_string_equal(web->image, "cdcctl-test/busybox:1");
    assert_int_equal(strncmp(web->image_id, "sha256:", 7), 0);
    assert_int_equal(strlen(web->id), 64);
    assert_true(web->created > 1600000000);
    assert_int_equal(web->nports, 2);
    assert_string_equal(web->ports[0], "127.0.0.1:18080->80/tcp");
    assert_string_equal(web->ports[1], "127.0.0.1:18443->443/tcp");
    assert_string_equal(docker_container_summary_label(web, DOCKER_LABEL_CONFIG_HASH), "3f2a9c0d1e");
    assert_string_equal(docker_container_summary_label(web, DOCKER_LABEL_SERVICE), "web");
    assert_null(docker_container_summary_label(web, "nope"));

    const struct docker_container_summary *sick = by_name(s, n, "cdcctl-smoke-fx-sick");
    assert_string_equal(sick->state, "running");
    assert_string_equal(sick->health, "unhealthy");
    const struct docker_container_summary *job = by_name(s, n, "cdcctl-smoke-fx-job");
    assert_string_equal(job->state, "exited");
    assert_string_equal(job->health, "none");
    assert_int_equal(strncmp(job->status, "Exited (3)", 10), 0);
    const struct docker_container_summary *nw = by_name(s, n, "cdcctl-smoke-fx-new");
    assert_string_equal(nw->state, "created");
    assert_string_equal(nw->health, "none");
    assert_int_equal(nw->nports, 0);
    docker_container_summaries_free(s, n);
    json_decref(j);
}

static void test_list_entry_variants(void **state)
{
    (void)state;
    /* API 1.52 adds Health; duplicate port rows (IPv4 + IPv6) and unpublished ones */
    json_t *j = json_loads(
        "[{\"Id\":\"1\",\"Names\":[\"/a\"],\"State\":\"running\",\"Status\":\"Up 2 minutes (health: starting)\","
        "\"Health\":{\"Status\":\"healthy\"},"
        "\"Ports\":[{\"IP\":\"0.0.0.0\",\"PrivatePort\":80,\"PublicPort\":8080,\"Type\":\"tcp\"},"
        "{\"IP\":\"::\",\"PrivatePort\":80,\"PublicPort\":8080,\"Type\":\"tcp\"},"
        "{\"IP\":\"0.0.0.0\",\"PrivatePort\":80,\"PublicPort\":8080,\"Type\":\"tcp\"},"
        "{\"PrivatePort\":81,\"Type\":\"tcp\"}]},"
        "{\"Id\":\"2\",\"Names\":[\"/b\"],\"State\":\"running\",\"Status\":\"Up 1 second (health: starting)\"},"
        "{\"Id\":\"3\"}]",
        0, NULL);
    struct docker_container_summary *s = NULL;
    size_t n = 0;
    char err[ERRLEN];
    assert_int_equal(docker_container_summaries_parse(j, &s, &n, err, sizeof err), CC_OK);
    assert_int_equal(n, 3);
    assert_string_equal(s[0].health, "healthy"); /* Health wins over the text */
    assert_int_equal(s[0].nports, 2);
    assert_string_equal(s[0].ports[0], "0.0.0.0:8080->80/tcp");
    assert_string_equal(s[0].ports[1], "[::]:8080->80/tcp");
    assert_string_equal(s[1].health, "starting");
    assert_string_equal(s[2].name, "");
    assert_string_equal(s[2].state, "");
    assert_string_equal(s[2].health, "none");
    docker_container_summaries_free(s, n);
    json_decref(j);

    /* an entry without Id, or not an array */
    j = json_loads("[{\"Id\":\"1\",\"Names\":[\"/a\"]},{\"Names\":[\"/x\"]}]", 0, NULL);
    assert_int_equal(docker_container_summaries_parse(j, &s, &n, err, sizeof err), CC_EINVAL);
    assert_null(s);
    assert_int_equal(n, 0);
    assert_string_equal(err, "container list: entry without Id");
    json_decref(j);
    j = json_object();
    assert_int_equal(docker_container_summaries_parse(j, &s, &n, err, sizeof err), CC_EINVAL);
    json_decref(j);
    docker_container_summaries_free(NULL, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_running_healthy_with_ports),
        cmocka_unit_test(test_exited_without_healthcheck),
        cmocka_unit_test(test_created_never_started_has_no_health),
        cmocka_unit_test(test_unhealthy),
        cmocka_unit_test(test_not_a_container),
        cmocka_unit_test(test_ipv6_and_minimal),
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_list_entry_variants),
    };
    return cmocka_run_group_tests_name("docker_inspect", tests, NULL, NULL);
}
