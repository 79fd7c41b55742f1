/* Unit tests: manifest errors. Every error names file:line:column and the dotted
 * key path; these check the exact text for each kind (unknown key, wrong type,
 * missing image, unknown depends_on target, dependency cycle, bad port syntax,
 * unset ${VAR:?}, YAML syntax, ...). Fixtures: tests/data/manifests/. */
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

#include "manifest.h"
#include "util.h"

static const char *fake_env(const char *name, void *ctx)
{
    (void)ctx;
    if (!strcmp(name, "HOME"))
        return "/home/tester";
    return NULL;
}

static struct manifest_source SRC = {.getenv_fn = fake_env};

static int setup(void **state)
{
    (void)state;
    return manifest_fixture_setup("test_manifest_errors");
}

static void expect_error(const char *text, const char *want)
{
    manifest_expect_error(&SRC, text, want);
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

/* embedded:PATH names a file compiled into cdcctl; an unknown one is an error at the
 * value, in every key that takes a path. */
static void test_error_embedded(void **state)
{
    (void)state;
    expect_error(HEAD "    files:\n      - target: /x\n        source: embedded:config/nope.sql\n",
                 "t.yaml:7:17: services.a.files[0].source: unknown embedded file \"config/nope.sql\" (embedded:PATH names a file compiled into cdcctl, e.g. embedded:config/schema.sql)");
    expect_error(HEAD "    files:\n      - target: /x\n        source: \"embedded:\"\n",
                 "t.yaml:7:17: services.a.files[0].source: unknown embedded file \"\" (embedded:PATH names a file compiled into cdcctl, e.g. embedded:config/schema.sql)");
    /* the path is the embedded repository path, not relative to manifests/ */
    expect_error(HEAD "    files:\n      - target: /x\n        source: embedded:../config/schema.sql\n",
                 "t.yaml:7:17: services.a.files[0].source: unknown embedded file \"../config/schema.sql\" (embedded:PATH names a file compiled into cdcctl, e.g. embedded:config/schema.sql)");
    expect_error(HEAD "tidb:\n  service: a\n  schema: embedded:schema.sql\n",
                 "t.yaml:7:11: tidb.schema: unknown embedded file \"schema.sql\" (embedded:PATH names a file compiled into cdcctl, e.g. embedded:config/schema.sql)");
    expect_error(HEAD "ticdc:\n  service: a\n  config: embedded:config/changefeed.yaml\n",
                 "t.yaml:7:11: ticdc.config: unknown embedded file \"config/changefeed.yaml\" (embedded:PATH names a file compiled into cdcctl, e.g. embedded:config/schema.sql)");
    /* an embedded file that exists but is not JSON is still checked */
    expect_error(HEAD "ticdc:\n  service: a\n  config: embedded:config/schema.sql\n",
                 "t.yaml:7:11: ticdc.config: \"embedded:config/schema.sql\" is not a JSON object: '[' or '{' expected near '-'");
    expect_error("project: p\nservices:\n  a:\n    build: embedded:producer\n",
                 "t.yaml:4:12: services.a.build: unknown embedded build context \"embedded:producer\" (cdcctl carries only embedded:consumer)");
    expect_error("project: p\nservices:\n  a:\n    build:\n      dockerfile: D\n      context: embedded:config\n",
                 "t.yaml:6:16: services.a.build.context: unknown embedded build context \"embedded:config\" (cdcctl carries only embedded:consumer)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_unknown_keys),
        cmocka_unit_test(test_error_wrong_types),
        cmocka_unit_test(test_error_missing),
        cmocka_unit_test(test_error_references),
        cmocka_unit_test(test_error_cycles),
        cmocka_unit_test(test_error_ports),
        cmocka_unit_test(test_error_values),
        cmocka_unit_test(test_error_yaml),
        cmocka_unit_test(test_error_embedded),
    };
    return cmocka_run_group_tests_name("manifest_errors", tests, setup, NULL);
}
