#!/usr/bin/env bash
# 25-docker-build: `build:` services. `cdcctl up` builds their images through the Engine
# API from local contexts (FROM the local cdcctl-test/busybox:1, COPY), runs them, and a
# second `up` does not rebuild (no image "tag" event, same image id, same container);
# changing a file of the context rebuilds that image only and recreates its container.
. "$(dirname "$0")/../lib/common.sh"
. "$CDCCTL_ROOT/tests/lib/docker.sh"
. "$CDCCTL_ROOT/tests/lib/images.sh"
[ -x "$CDCCTL" ] || fail "$CDCCTL is not built (run make)"
ensure_dockerd
ensure_test_images

P=cdcctl-it-build-$$
BUILT_IMAGE=$P/built:local
BUILT2_IMAGE=$P/built2:local
export PROJECT=$P BUILT_IMAGE BUILT2_IMAGE
IMGS=()
cleanup_images() {
    local i
    for i in "${IMGS[@]}" "$BUILT_IMAGE" "$BUILT2_IMAGE"; do docker rmi -f "$i" >/dev/null 2>&1; done
    return 0
}
on_exit cleanup_images        # registered first, so it runs after the containers are gone
docker_project "$P"
tmpdir T
M=$(fixture build.yaml "$T")
mkdir -p "$T/ctx" "$T/ctx2/docker"
printf 'FROM cdcctl-test/busybox:1\nCOPY greeting.txt /greeting.txt\n' > "$T/ctx/Dockerfile"
echo "greeting one $P" > "$T/ctx/greeting.txt"
cat > "$T/ctx2/docker/Containerfile" <<'DF'
FROM cdcctl-test/busybox:1
COPY hello.txt /hello.txt
CMD ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
DF
echo "hello two $P" > "$T/ctx2/hello.txt"

# tag_events SINCE: names of images tagged (built) since SINCE (a date +%s.%N stamp).
tag_events() {
    docker events --since "$1" --until "$(date +%s.%N)" --filter type=image --filter event=tag \
        --format '{{.Actor.Attributes.name}}' | grep -F -- "$P/" | LC_ALL=C sort -u | tr '\n' ' '
}

since=$(date +%s.%N)
run_cdcctl -f "$M" up
expect_rc "up with two build: services" 0
assert_eq "images tagged by the first up" "$(printf '%s\n' "$BUILT_IMAGE" "$BUILT2_IMAGE" | LC_ALL=C sort | tr '\n' ' ')" \
    "$(tag_events "$since")"
IMG1=$(docker image inspect -f '{{.Id}}' "$BUILT_IMAGE") || fail "$BUILT_IMAGE was not built"
IMG2=$(docker image inspect -f '{{.Id}}' "$BUILT2_IMAGE") || fail "$BUILT2_IMAGE was not built"
IMGS+=("$IMG1" "$IMG2")
C1=$(cid "$P" built) C2=$(cid "$P" built2)
assert_eq "built: state" running "$(docker inspect -f '{{.State.Status}}' "$C1")"
assert_eq "built2: state (CMD from its Containerfile)" running "$(docker inspect -f '{{.State.Status}}' "$C2")"
assert_eq "built: runs its image" "$IMG1" "$(docker inspect -f '{{.Image}}' "$C1")"
assert_eq "built: COPY from the context" "greeting one $P" "$(docker exec "$C1" cat /greeting.txt)"
assert_eq "built: FROM the local base image" 1 "$(docker exec "$C1" cat /etc/cdcctl-test-image)"
assert_eq "built2: COPY (dockerfile: docker/Containerfile)" "hello two $P" "$(docker exec "$C2" cat /hello.txt)"

# --- second up: no rebuild
sleep 1.1   # so an image rebuilt now would get a different Created time
since=$(date +%s.%N)
run_cdcctl -f "$M" up
expect_rc "second up" 0
assert_eq "images tagged by the second up (no rebuild)" "" "$(tag_events "$since")"
assert_eq "built: image id" "$IMG1" "$(docker image inspect -f '{{.Id}}' "$BUILT_IMAGE")"
assert_eq "built: container id" "${C1:0:12}" "$(cid "$P" built | cut -c1-12)"
assert_eq "built2: container id" "${C2:0:12}" "$(cid "$P" built2 | cut -c1-12)"
echo "25-docker-build: second up (no rebuild) took ${CC_MS} ms"

# --- a context file changes: built is rebuilt and recreated, built2 is not
echo "greeting changed $P" > "$T/ctx/greeting.txt"
since=$(date +%s.%N)
run_cdcctl -f "$M" up
expect_rc "up after a context change" 0
assert_eq "images tagged after the context change" "$BUILT_IMAGE " "$(tag_events "$since")"
NEW1=$(docker image inspect -f '{{.Id}}' "$BUILT_IMAGE")
IMGS+=("$NEW1")
[ "$NEW1" != "$IMG1" ] || fail "built: the image id did not change with its context"
N1=$(cid "$P" built)
[ "$N1" != "$C1" ] || fail "built: its container was not recreated for the new image"
assert_eq "built: runs the new image" "$NEW1" "$(docker inspect -f '{{.Image}}' "$N1")"
assert_eq "built: new content" "greeting changed $P" "$(docker exec "$N1" cat /greeting.txt)"
assert_eq "built2: container id" "${C2:0:12}" "$(cid "$P" built2 | cut -c1-12)"
