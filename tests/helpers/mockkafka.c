/* mockkafka: a Kafka cluster for tests, from librdkafka's mock cluster
 * (rdkafka_mock.h), listening on 127.0.0.1 ephemeral ports.
 *
 *   mockkafka [-b BROKERS] [-t TOPIC:PARTITIONS]...
 *
 * Prints "BROKERS=host:port,..." on stdout (flushed) once the topics exist, then
 * runs until stdin reaches EOF or SIGTERM/SIGINT arrives. Commands read from stdin,
 * one per line: "down" (all brokers down), "up" (all up). */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

int main(int argc, char **argv)
{
    int brokers = 1, opt;
    const char *topics[64];
    int ntopics = 0;
    while ((opt = getopt(argc, argv, "b:t:")) != -1) {
        if (opt == 'b')
            brokers = atoi(optarg);
        else if (opt == 't' && ntopics < 64)
            topics[ntopics++] = optarg;
        else {
            fprintf(stderr, "usage: mockkafka [-b BROKERS] [-t TOPIC:PARTITIONS]...\n");
            return 2;
        }
    }
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) {
        fprintf(stderr, "mockkafka: %s\n", errstr);
        return 1;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
    if (!mc) {
        fprintf(stderr, "mockkafka: cannot create mock cluster\n");
        rd_kafka_destroy(rk);
        return 1;
    }
    for (int i = 0; i < ntopics; i++) {
        char name[256];
        snprintf(name, sizeof name, "%s", topics[i]);
        char *colon = strrchr(name, ':');
        int parts = 1;
        if (colon) {
            *colon = '\0';
            parts = atoi(colon + 1);
        }
        rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, name, parts, brokers < 3 ? brokers : 3);
        if (e) {
            fprintf(stderr, "mockkafka: topic %s: %s\n", name, rd_kafka_err2str(e));
            rd_kafka_mock_cluster_destroy(mc);
            rd_kafka_destroy(rk);
            return 1;
        }
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    printf("BROKERS=%s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);
    char line[256];
    while (!stop && fgets(line, sizeof line, stdin)) {
        if (strncmp(line, "down", 4) == 0)
            rd_kafka_mock_broker_set_down(mc, -1);
        else if (strncmp(line, "up", 2) == 0)
            rd_kafka_mock_broker_set_up(mc, -1);
    }
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}
