#!/usr/bin/env python3
"""Generates manifests/shop-filebeat.yaml from manifests/shop.yaml: the same stack
(the manifest format has no include) plus a filebeat service and its volume.

  tests/tools/make_filebeat_variant.py            rewrite manifests/shop-filebeat.yaml
  tests/tools/make_filebeat_variant.py --check    exit 1 when the file is not what this
                                                  script would write (run it after
                                                  editing shop.yaml)
Run from the repository root.
"""
import sys

BASE = "manifests/shop.yaml"
VARIANT = "manifests/shop-filebeat.yaml"

HEADER = """\
# GENERATED from manifests/shop.yaml by tests/tools/make_filebeat_variant.py: edit
# shop.yaml (or the filebeat service in that script) and run it again.
#
# shop.yaml plus Filebeat: the default stack, and a filebeat service that ships the
# stack's container logs (stdout/stderr of every container cdcctl created) into
# Elasticsearch as cdc-logs-YYYY.MM.DD. The CDC change events themselves are indexed
# by the consumer into cdc-events-*; Filebeat never writes there.
#
#   cdcctl -f manifests/shop-filebeat.yaml up
#
# Filebeat reads /var/lib/docker/containers on the Docker host, so this needs a local
# daemon with the json-file log driver (the default on Linux).
"""

SERVICE = """
  filebeat:
    image: docker.elastic.co/beats/filebeat:8.15.3
    # root: the container log files on the host are readable by root only.
    user: root
    files:
      # Filebeat refuses a config not owned by root (or its own user) or writable by
      # group/others, so the upload sets uid 0 and mode 0644 explicitly.
      - target: /usr/share/filebeat/filebeat.yml
        source: ../monitoring/filebeat/filebeat.yml
        uid: 0
        gid: 0
        mode: "0644"
    volumes:
      - /var/lib/docker/containers:/var/lib/docker/containers:ro
      - /var/run/docker.sock:/var/run/docker.sock:ro # add_docker_metadata (labels, names)
      - filebeat:/usr/share/filebeat/data # the registry: where each log file was read up to
    depends_on:
      elasticsearch:
        condition: service_healthy
    restart: on-failure
"""


def generate(base):
    body = base[base.index("\nproject:") + 1:]  # shop.yaml's own header comment goes
    marker = "\nvolumes:\n"
    i = body.index(marker)
    body = body[:i] + SERVICE + body[i:]
    start = body.index(marker) + len(marker)
    end = body.index("\n\n", start)  # the end of the top-level volumes list
    body = body[:end] + "\n  filebeat:" + body[end:]
    return HEADER + body


def main():
    with open(BASE, encoding="utf-8") as f:
        text = generate(f.read())
    if sys.argv[1:] == ["--check"]:
        with open(VARIANT, encoding="utf-8") as f:
            if f.read() != text:
                print(f"{VARIANT} is out of date: run tests/tools/make_filebeat_variant.py",
                      file=sys.stderr)
                return 1
        return 0
    with open(VARIANT, "w", encoding="utf-8") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
