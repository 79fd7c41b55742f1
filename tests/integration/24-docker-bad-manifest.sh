#!/usr/bin/env bash
# 24-docker-bad-manifest: every bad manifest (tests/data/stack/bad-*.yaml: unknown key,
# wrong type, missing image, unknown depends_on target, dependency cycle, bad port syntax,
# unset ${VAR:?}) makes `cdcctl up` exit 2 with FILE:LINE:COLUMN and the key, and creates
# nothing: no container, network or volume of the project (checked with the docker CLI).
# Each fixture states what is expected in its header:
#   # expect-pos: LINE:COL [LINE:COL...]   the error's position (one of these)
#   # expect-key: KEY                      the dotted key the message must name
#   # expect-words: WORD...                words the message must also contain
. "$(dirname "$0")/../lib/common.sh"
. "$CDCCTL_ROOT/tests/lib/docker.sh"
. "$CDCCTL_ROOT/tests/lib/images.sh"
[ -x "$CDCCTL" ] || fail "$CDCCTL is not built (run make)"
ensure_dockerd
ensure_test_images

P=cdcctl-it-bad-$$
docker_project "$P"
tmpdir T
WEB_PORT=$(free_port)
export PROJECT=$P WEB_PORT
unset CDCCTL_IT_UNSET_VAR

header() { sed -n "s/^# $1: //p" "$2"; }

n=0
for src in "$CDCCTL_ROOT"/tests/data/stack/bad-*.yaml; do
    f=$(basename "$src")
    M=$(fixture "$f" "$T")
    positions=$(header expect-pos "$M") key=$(header expect-key "$M") words=$(header expect-words "$M")
    [ -n "$positions" ] && [ -n "$key" ] || fail "$f: missing expect-pos/expect-key header"
    for cmd in up config; do
        run_cdcctl -f "$M" $cmd
        expect_rc "$f: $cmd" 2
        msg=$CC_ERR
        case $msg in "cdcctl: "*) ;; *) show_cdcctl; fail "$f: $cmd: the error does not start with 'cdcctl: '" ;; esac
        got=$(printf '%s\n' "$msg" | grep -o -- "$f:[0-9]*:[0-9]*" | head -1)
        [ -n "$got" ] || { show_cdcctl; fail "$f: $cmd: the error does not name $f:LINE:COLUMN"; }
        hit=""
        for pos in $positions; do [ "$got" = "$f:$pos" ] && hit=1; done
        [ -n "$hit" ] || { show_cdcctl; fail "$f: $cmd: error at ${got#$f:}, expected one of: $positions"; }
        printf '%s\n' "$msg" | grep -qF -- "$key" || { show_cdcctl; fail "$f: $cmd: the error does not name the key $key"; }
        for w in $words; do
            printf '%s\n' "$msg" | grep -qF -- "$w" || { show_cdcctl; fail "$f: $cmd: the error does not mention '$w'"; }
        done
        [ -z "$CC_OUT" ] || { show_cdcctl; fail "$f: $cmd: printed something on stdout"; }
        pass_msg "$f: $cmd: $(printf '%s\n' "$msg" | head -1)"
    done
    assert_eq "$f: containers of $P" "" \
        "$( { docker ps -aq --filter "label=io.cdcctl.project=$P"; docker ps -aq --filter "name=^/?$P-"; } )"
    assert_eq "$f: networks of $P" "" \
        "$( { docker network ls -q --filter "label=io.cdcctl.project=$P"; docker network ls -q --filter "name=^${P}_"; } )"
    assert_eq "$f: volumes of $P" "" \
        "$( { docker volume ls -q --filter "label=io.cdcctl.project=$P"; docker volume ls -q --filter "name=^${P}_"; } )"
    n=$((n + 1))
done
assert_eq "bad manifests checked" 7 "$n"

# The valid part of these fixtures is fine on its own: the failures above come from the
# bad bit, not from the fixture's base (web with a port and a volume).
head -n "$(grep -n '^  [a-z]*:$' "$CDCCTL_ROOT/tests/data/stack/bad-port.yaml" | sed -n 2p | cut -d: -f1)" \
    "$CDCCTL_ROOT/tests/data/stack/bad-port.yaml" | sed '$d' > "$T/base.yaml"
printf 'volumes:\n  data: {}\n' >> "$T/base.yaml"
run_cdcctl -f "$T/base.yaml" config
expect_rc "the fixtures' valid base" 0
