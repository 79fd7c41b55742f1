#!/usr/bin/env bash
# 23-docker-down: `cdcctl down` removes the project's containers and network and keeps
# its volumes; `down --volumes` leaves no labelled container, network or volume behind;
# running it twice is fine; another project is never touched. Checked with the docker CLI.
. "$(dirname "$0")/../lib/common.sh"
. "$CDCCTL_ROOT/tests/lib/docker.sh"
. "$CDCCTL_ROOT/tests/lib/images.sh"
need_cmd python3
[ -x "$CDCCTL" ] || fail "$CDCCTL is not built (run make)"
ensure_dockerd
ensure_test_images

P=cdcctl-it-down-$$
OTHER=cdcctl-it-other-$$
docker_project "$P"
docker_project "$OTHER"
tmpdir T
M=$(fixture stack.yaml "$T")
MO=$(fixture orphans-after.yaml "$T")
echo "hello from $P" > "$T/index.html"
WEB_PORT=$(free_port)
export PROJECT=$P WEB_PORT GREETING=kept
unset WEB_IMAGE ABOUT

nothing_left() { # WHAT: no container, network or volume labelled with $P, nor named like one
    assert_eq "$1: containers labelled io.cdcctl.project=$P" "" "$(docker ps -a -q --filter "label=io.cdcctl.project=$P")"
    assert_eq "$1: containers named $P-*" "" "$(docker ps -a -q --filter "name=^/?$P-")"
    assert_eq "$1: networks labelled io.cdcctl.project=$P" "" "$(docker network ls -q --filter "label=io.cdcctl.project=$P")"
    assert_eq "$1: networks named ${P}_*" "" "$(docker network ls -q --filter "name=^${P}_")"
}

PROJECT=$OTHER run_cdcctl -f "$MO" up
expect_rc "up of another project" 0
OTHER_ID=$(cid "$OTHER" one)
run_cdcctl -f "$M" up
expect_rc "up" 0
assert_eq "containers before down" 4 "$(count_containers "$P")"
assert_eq "networks before down" 1 "$(count_networks "$P")"
assert_eq "volumes before down" 1 "$(count_volumes "$P")"

# --- down keeps the volume, and the next up finds its data
run_cdcctl -f "$M" down
expect_rc "down" 0
nothing_left "after down"
assert_eq "after down: the volume is kept" "${P}_data" "$(docker volume ls -q --filter "label=io.cdcctl.project=$P")"
run_cdcctl -f "$M" up
expect_rc "up after down" 0
DB=$(cid "$P" db)
assert_eq "the kept volume is mounted again" "${P}_data" \
    "$(docker inspect -f '{{range .Mounts}}{{.Name}}{{end}}' "$DB")"

# --- down --volumes leaves nothing, twice
run_cdcctl -f "$M" down --volumes
expect_rc "down --volumes" 0
DOWN_MS=$CC_MS
nothing_left "after down --volumes"
assert_eq "after down --volumes: volumes labelled io.cdcctl.project=$P" "" \
    "$(docker volume ls -q --filter "label=io.cdcctl.project=$P")"
assert_eq "after down --volumes: volumes named ${P}_*" "" "$(docker volume ls -q --filter "name=^${P}_")"
run_cdcctl -f "$M" down --volumes
expect_rc "down --volumes a second time" 0
nothing_left "after the second down --volumes"
run_cdcctl -f "$M" down
expect_rc "down with nothing left" 0

# --- the other project is untouched
assert_eq "other project's container survives" "${OTHER_ID:0:12}" "$(cid "$OTHER" one | cut -c1-12)"
assert_eq "other project's container still running" running "$(docker inspect -f '{{.State.Status}}' "$OTHER_ID")"
assert_eq "other project's network survives" 1 "$(count_networks "$OTHER")"
PROJECT=$OTHER run_cdcctl -f "$MO" down --volumes
expect_rc "down --volumes of the other project" 0
assert_eq "other project: nothing left" "0 0 0" \
    "$(count_containers "$OTHER") $(count_networks "$OTHER") $(count_volumes "$OTHER")"
echo "23-docker-down: down --volumes of 4 services took ${DOWN_MS} ms"
