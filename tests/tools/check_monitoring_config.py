#!/usr/bin/env python3
"""Checks of the monitoring configuration that need parsed YAML (given as JSON from
`yamlcheck --json`, one array of documents per file).

  check_monitoring_config.py variant BASE.json VARIANT.json
      The variant manifest (shop-filebeat.yaml) is the base (shop.yaml) plus additions:
      every top-level key of the base is present and equal, except `services` and
      `volumes`, where every service/volume of the base must be present and identical.

  check_monitoring_config.py filebeat FILEBEAT.json VARIANT.json TEMPLATE.json
      Filebeat is configured so it cannot break the consumer's index: templates and
      ILM off, its own index prefix outside the cdc-events template's patterns, unique
      filestream ids; and the variant's filebeat service runs as root with the config
      uploaded as uid 0, mode 0644, and the container logs mounted read-only.

Exit status 0 when every check passed, 1 otherwise; one line per problem on stderr.
"""
import json
import re
import sys

problems = []


def problem(msg):
    problems.append(msg)
    print("FAIL: " + msg, file=sys.stderr)


def load(path):
    with open(path, encoding="utf-8") as f:
        docs = json.load(f)
    if len(docs) != 1:
        problem(f"{path}: expected one YAML document, found {len(docs)}")
    return docs[0] if docs else {}


def check_variant(base_path, variant_path):
    base, variant = load(base_path), load(variant_path)
    for key, value in base.items():
        if key not in variant:
            problem(f"variant lacks top-level key {key!r} of the base manifest")
        elif key == "services":
            vs = variant["services"] or {}
            for name, svc in (value or {}).items():
                if name not in vs:
                    problem(f"variant lacks service {name!r}")
                elif vs[name] != svc:
                    diff = sorted(k for k in set(svc) | set(vs[name])
                                  if svc.get(k) != vs[name].get(k))
                    problem(f"service {name!r} differs from the base manifest in {diff}")
        elif key == "volumes":
            vv = variant["volumes"] or {}
            for name, vol in (value or {}).items():
                if name not in vv or vv[name] != vol:
                    problem(f"variant lacks volume {name!r} of the base (or declares it "
                            f"differently)")
        elif variant[key] != value:
            problem(f"top-level {key!r} differs from the base manifest")
    extra = sorted(set(variant.get("services") or {}) - set(base.get("services") or {}))
    print(f"ok: variant = base + services {extra}")


def flat(d, prefix=""):
    """Filebeat accepts dotted and nested keys alike: flatten both to dotted."""
    out = {}
    if isinstance(d, dict):
        for k, v in d.items():
            key = f"{prefix}.{k}" if prefix else k
            if isinstance(v, dict):
                out.update(flat(v, key))
            out[key] = v
    return out


def glob_match(pattern, name):
    rx = "^" + ".*".join(re.escape(p) for p in pattern.split("*")) + "$"
    return re.match(rx, name) is not None


def check_filebeat(fb_path, variant_path, template_path):
    fb = flat(load(fb_path))
    if fb.get("setup.template.enabled") is not False:
        problem("filebeat: setup.template.enabled must be false (its generated template makes "
                "data streams, which reject the consumer's index writes)")
    if fb.get("setup.ilm.enabled") is not False:
        problem("filebeat: setup.ilm.enabled must be false (with ILM the index setting is "
                "ignored)")
    index = fb.get("output.elasticsearch.index", "")
    with open(template_path, encoding="utf-8") as f:
        patterns = json.load(f)["index_patterns"]
    sample = re.sub(r"%\{[^}]*\}", "2025.01.31", index)
    if not sample.startswith("cdc-logs-"):
        problem(f"filebeat: output index {index!r} should be cdc-logs-%{{+yyyy.MM.dd}}")
    for p in patterns:
        if glob_match(p, sample):
            problem(f"filebeat: index {index!r} falls under the consumer's template "
                    f"pattern {p!r}")
    inputs = fb.get("filebeat.inputs") or []
    ids = [i.get("id") for i in inputs if i.get("type") == "filestream"]
    if not inputs:
        problem("filebeat: no inputs")
    if None in ids or len(ids) != len(set(ids)):
        problem(f"filebeat: every filestream input needs a unique id, got {ids}")

    variant = load(variant_path)
    svc = (variant.get("services") or {}).get("filebeat")
    if not svc:
        problem("variant: no filebeat service")
        return
    image = svc.get("image", "")
    if not re.fullmatch(r"docker\.elastic\.co/beats/filebeat:8\.\d+\.\d+", image):
        problem(f"variant: filebeat image {image!r} is not a pinned 8.x.y tag")
    if svc.get("user") not in ("root", "0", 0):
        problem("variant: filebeat must run as root to read /var/lib/docker/containers")
    cfg = [f for f in svc.get("files") or [] if f.get("target") == "/usr/share/filebeat/filebeat.yml"]
    if len(cfg) != 1:
        problem("variant: filebeat.yml is not uploaded to /usr/share/filebeat/filebeat.yml")
    else:
        f = cfg[0]
        if str(f.get("source", "")).split("/")[-2:] != ["filebeat", "filebeat.yml"]:
            problem(f"variant: filebeat.yml source is {f.get('source')!r}")
        if f.get("uid", 0) != 0:
            problem("variant: filebeat.yml must be owned by uid 0")
        mode = f.get("mode", "0644")
        mode = int(str(mode), 8)  # "0644" and a plain 0644 (read as 644) alike
        if mode & 0o022:
            problem(f"variant: filebeat.yml mode {oct(mode)} is group/other-writable "
                    f"(Filebeat exits)")
    vols = svc.get("volumes") or []
    if "/var/lib/docker/containers:/var/lib/docker/containers:ro" not in vols:
        problem("variant: /var/lib/docker/containers must be bind-mounted read-only")
    processors = fb.get("processors") or []
    if any("add_docker_metadata" in p for p in processors) and \
            not any(str(v).startswith("/var/run/docker.sock:") for v in vols):
        problem("variant: add_docker_metadata needs /var/run/docker.sock mounted")
    print(f"ok: filebeat writes {index}, template/ILM off, input ids {ids}")


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "variant":
        check_variant(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 5 and sys.argv[1] == "filebeat":
        check_filebeat(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    if problems:
        print(f"{len(problems)} problem(s)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
