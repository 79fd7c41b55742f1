/* Unit tests for kafka_admin against librdkafka's in-process mock cluster
 * (loopback only): describe (partitions, advertised brokers, end offsets), the
 * missing topic, the partition checks of ensure, the advertised-listener check,
 * and the CreateTopics request: the mock has no CreateTopics, so the request
 * is captured here by interposing rd_kafka_NewTopic_new / rd_kafka_CreateTopics
 * (the real ones still run) and the refusal must give a clear message. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <dlfcn.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_admin.h"
#include "util.h"

/* ---- request capture (interposed over librdkafka's symbols) ---- */
static struct {
    char topic[128];
    int partitions, rf;
    int new_topic_calls, create_calls;
    int new_topic_calls_at_create; /* librdkafka copies the request internally */
    size_t create_count;
} captured;

rd_kafka_NewTopic_t *rd_kafka_NewTopic_new(const char *topic, int num_partitions,
                                           int replication_factor, char *errstr,
                                           size_t errstr_size)
{
    rd_kafka_NewTopic_t *(*real)(const char *, int, int, char *, size_t);
    *(void **)&real = dlsym(RTLD_NEXT, "rd_kafka_NewTopic_new");
    snprintf(captured.topic, sizeof captured.topic, "%s", topic);
    captured.partitions = num_partitions;
    captured.rf = replication_factor;
    captured.new_topic_calls++;
    return real(topic, num_partitions, replication_factor, errstr, errstr_size);
}

void rd_kafka_CreateTopics(rd_kafka_t *rk, rd_kafka_NewTopic_t **new_topics,
                           size_t new_topic_cnt, const rd_kafka_AdminOptions_t *options,
                           rd_kafka_queue_t *rkqu)
{
    void (*real)(rd_kafka_t *, rd_kafka_NewTopic_t **, size_t, const rd_kafka_AdminOptions_t *,
                 rd_kafka_queue_t *);
    *(void **)&real = dlsym(RTLD_NEXT, "rd_kafka_CreateTopics");
    captured.create_calls++;
    captured.create_count = new_topic_cnt;
    captured.new_topic_calls_at_create = captured.new_topic_calls;
    real(rk, new_topics, new_topic_cnt, options, rkqu);
}

/* ---- a mock cluster per test group ---- */
struct mock {
    rd_kafka_t *rk;
    rd_kafka_mock_cluster_t *mc;
    char brokers[256];
};

static int setup(void **state)
{
    struct mock *m = calloc(1, sizeof *m);
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof errstr);
    m->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!m->rk)
        return -1;
    m->mc = rd_kafka_mock_cluster_new(m->rk, 1);
    if (!m->mc)
        return -1;
    rd_kafka_mock_topic_create(m->mc, "three", 3, 1);
    rd_kafka_mock_topic_create(m->mc, "one", 1, 1);
    snprintf(m->brokers, sizeof m->brokers, "%s", rd_kafka_mock_cluster_bootstraps(m->mc));
    /* messages: 5 to partition 0, 2 to partition 2 of "three" */
    conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", m->brokers, errstr, sizeof errstr);
    rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    for (int i = 0; i < 7; i++)
        rd_kafka_producev(p, RD_KAFKA_V_TOPIC("three"), RD_KAFKA_V_PARTITION(i < 5 ? 0 : 2),
                          RD_KAFKA_V_VALUE("x", 1), RD_KAFKA_V_END);
    rd_kafka_flush(p, 10000);
    int left = rd_kafka_outq_len(p);
    rd_kafka_destroy(p);
    if (left)
        return -1;
    *state = m;
    return 0;
}

static int teardown(void **state)
{
    struct mock *m = *state;
    rd_kafka_mock_cluster_destroy(m->mc);
    rd_kafka_destroy(m->rk);
    free(m);
    return 0;
}

static void test_describe(void **state)
{
    struct mock *m = *state;
    struct kafka_topic_info info;
    char err[512];
    assert_int_equal(kafka_admin_describe(m->brokers, "three", 1, 10, &info, err, sizeof err),
                     CC_OK);
    assert_int_equal(info.partitions, 3);
    assert_int_equal(info.nbrokers, 1);
    assert_string_equal(info.brokers[0], m->brokers);
    assert_int_equal(info.end_offsets[0], 5);
    assert_int_equal(info.end_offsets[1], 0);
    assert_int_equal(info.end_offsets[2], 2);
    kafka_topic_info_release(&info);
    /* without offsets */
    assert_int_equal(kafka_admin_describe(m->brokers, "one", 0, 10, &info, err, sizeof err), CC_OK);
    assert_int_equal(info.partitions, 1);
    assert_null(info.end_offsets);
    kafka_topic_info_release(&info);
}

static void test_describe_missing(void **state)
{
    struct mock *m = *state;
    struct kafka_topic_info info;
    char err[512];
    assert_int_equal(kafka_admin_describe(m->brokers, "nope", 1, 10, &info, err, sizeof err),
                     CC_ENOTFOUND);
    assert_string_equal(err, "topic nope does not exist");
    assert_int_equal(info.nbrokers, 1); /* brokers still known */
    kafka_topic_info_release(&info);
    /* describing never creates it */
    assert_int_equal(kafka_admin_describe(m->brokers, "nope", 0, 10, &info, err, sizeof err),
                     CC_ENOTFOUND);
    kafka_topic_info_release(&info);
}

static void test_unreachable(void **state)
{
    (void)state;
    struct kafka_topic_info info;
    char err[512];
    double t0 = now_monotonic();
    /* port 1 on loopback: connection refused */
    assert_int_equal(kafka_admin_describe("127.0.0.1:1", "t", 0, 1.5, &info, err, sizeof err),
                     CC_ERR);
    assert_true(strncmp(err, "no answer from brokers 127.0.0.1:1: ", 36) == 0);
    assert_true(now_monotonic() - t0 < 10);
    kafka_topic_info_release(&info);
    /* ensure waits until its deadline, then says what it waited for */
    FILE *out = tmpfile();
    assert_int_equal(kafka_admin_ensure_topic("127.0.0.1:1", "127.0.0.1:1", "t", 3, 1, 0,
                                              now_monotonic() + 2, out, err, sizeof err),
                     CC_ETIMEOUT);
    assert_non_null(strstr(err, "no answer from brokers 127.0.0.1:1"));
    fclose(out);
}

static void test_create_request_and_refusal(void **state)
{
    struct mock *m = *state;
    char err[1024];
    memset(&captured, 0, sizeof captured);
    assert_int_equal(kafka_admin_create_topic(m->brokers, "shop-db-data-changes", 3, 1, 2, err,
                                              sizeof err),
                     CC_ERR);
    /* the request: one NewTopic with the manifest's name, partitions and rf */
    assert_int_equal(captured.new_topic_calls_at_create, 1);
    assert_string_equal(captured.topic, "shop-db-data-changes");
    assert_int_equal(captured.partitions, 3);
    assert_int_equal(captured.rf, 1);
    assert_int_equal(captured.create_calls, 1);
    assert_int_equal(captured.create_count, 1);
    /* the refusal is explained, with the command to do it by hand */
    assert_true(strncmp(err, "cannot create topic shop-db-data-changes: ", 42) == 0);
    char want[512];
    snprintf(want, sizeof want,
             "; create it yourself with: kafka-topics.sh --bootstrap-server %s --create "
             "--topic shop-db-data-changes --partitions 3 --replication-factor 1",
             m->brokers);
    assert_non_null(strstr(err, want));
    /* a bad request is refused before it is sent */
    memset(&captured, 0, sizeof captured);
    assert_int_equal(kafka_admin_create_topic(m->brokers, "t", 0, 1, 2, err, sizeof err), CC_ERR);
    assert_int_equal(captured.create_calls, 0);
    assert_true(strncmp(err, "cannot create topic t: ", 23) == 0);
}

static void test_ensure(void **state)
{
    struct mock *m = *state;
    char err[1024], buf[4096];
    FILE *out = tmpfile();
    double dl = now_monotonic() + 20;
    /* exists with the asked count */
    assert_int_equal(kafka_admin_ensure_topic(m->brokers, m->brokers, "three", 3, 1, 0, dl, out,
                                              err, sizeof err),
                     CC_OK);
    /* more than asked: a note */
    assert_int_equal(kafka_admin_ensure_topic(m->brokers, m->brokers, "three", 2, 1, 0, dl, out,
                                              err, sizeof err),
                     CC_OK);
    /* fewer than asked: an error naming both counts and the ways out */
    assert_int_equal(kafka_admin_ensure_topic(m->brokers, m->brokers, "one", 3, 1, 0, dl, out,
                                              err, sizeof err),
                     CC_ERR);
    assert_true(strncmp(err, "topic one has 1 partition but the manifest asks for 3", 53) == 0);
    assert_non_null(strstr(err, "--alter --topic one --partitions 3"));
    assert_non_null(strstr(err, "set kafka.partitions: 1"));
    rewind(out);
    size_t n = fread(buf, 1, sizeof buf - 1, out);
    buf[n] = '\0';
    assert_non_null(strstr(buf, "kafka: topic three exists (3 partitions)\n"));
    assert_non_null(strstr(buf, "kafka: topic three exists with 3 partitions (the manifest asks "
                                "for 2; TiCDC writes to the first 2)\n"));
    /* the mock advertises 127.0.0.1: with TiCDC in a container that is a warning */
    rewind(out);
    assert_int_equal(kafka_admin_ensure_topic(m->brokers, m->brokers, "three", 3, 1, 1, dl, out,
                                              err, sizeof err),
                     CC_OK);
    fflush(out);
    rewind(out);
    n = fread(buf, 1, sizeof buf - 1, out);
    buf[n] = '\0';
    assert_non_null(strstr(buf, "kafka: warning: the brokers advertise only 127.0.0.1:"));
    fclose(out);
}

static void test_check_advertised(void **state)
{
    (void)state;
    char warn[1024];
    char *lo[] = {"localhost:9092"};
    char *net[] = {"kafka:29092"};
    /* two listeners (in-network for TiCDC, host for cdcctl): nothing to say */
    assert_int_equal(kafka_admin_check_advertised("kafka:29092", "127.0.0.1:9092", 1, lo, 1, warn,
                                                  sizeof warn),
                     0);
    /* one listener advertising localhost while TiCDC runs in a container */
    assert_int_equal(kafka_admin_check_advertised("127.0.0.1:9092", "127.0.0.1:9092", 1, lo, 1,
                                                  warn, sizeof warn),
                     1);
    assert_non_null(strstr(warn, "advertise only localhost:9092"));
    assert_non_null(strstr(warn, "in a container"));
    /* everything on one host, TiCDC external: loopback is fine */
    assert_int_equal(kafka_admin_check_advertised("127.0.0.1:9092", "127.0.0.1:9092", 0, lo, 1,
                                                  warn, sizeof warn),
                     0);
    /* reached by a real name but advertising localhost: remote TiCDC would fail */
    assert_int_equal(kafka_admin_check_advertised("kafka.example:9092", "kafka.example:9092", 0,
                                                  lo, 1, warn, sizeof warn),
                     1);
    assert_non_null(strstr(warn, "on another host"));
    /* advertising a real name */
    assert_int_equal(kafka_admin_check_advertised("kafka:29092", "kafka:29092", 1, net, 1, warn,
                                                  sizeof warn),
                     0);
    assert_int_equal(kafka_admin_check_advertised("a:1,b:2", "b:2, a:1", 1, lo, 1, warn,
                                                  sizeof warn),
                     1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_describe),
        cmocka_unit_test(test_describe_missing),
        cmocka_unit_test(test_unreachable),
        cmocka_unit_test(test_create_request_and_refusal),
        cmocka_unit_test(test_ensure),
        cmocka_unit_test(test_check_advertised),
    };
    return cmocka_run_group_tests_name("kafka_admin", tests, setup, teardown);
}
