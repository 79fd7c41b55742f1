# shellcheck shell=bash
# Sourced by the Docker integration tests and the bench: builds the local test images
# (no registry is needed) once, idempotently, and fast when they are already there.
#   ensure_test_images   cdcctl-test/busybox:1 and cdcctl-test/busybox:2
# Both are `docker import`s of a directory holding Debian's busybox-static and symlinks
# for the applets the tests use; :2 differs only by /etc/cdcctl-test-image ("2" vs "1"),
# so switching a service between them is an image change and nothing else.
# An image carries the label io.cdcctl.test.recipe=<sha256 of what went in>; a tag whose
# label differs (an older recipe, or someone's hand-made image) is rebuilt and retagged.
export TEST_IMAGE=cdcctl-test/busybox:1
export TEST_IMAGE2=cdcctl-test/busybox:2
_TEST_APPLETS="sh sleep cat echo ls wget nc httpd true false test env id date stat rm touch
mkdir grep sed printf kill ps hostname wc head tail tr sort uname pwd chmod"

_test_image_recipe() { # VERSION
    local bb
    bb=$(command -v busybox) || return 1
    { echo "recipe-3 $1"; echo $_TEST_APPLETS; sha256sum < "$bb"; } | sha256sum | cut -c1-64
}

_build_test_image() { # TAG VERSION RECIPE
    local dir rc=0 bb a
    bb=$(readlink -f "$(command -v busybox)")
    dir=$(mktemp -d /tmp/cdcctl-test-img.XXXXXX)
    mkdir -p "$dir/bin" "$dir/etc" "$dir/tmp" "$dir/root" "$dir/proc" "$dir/sys" "$dir/dev"
    chmod 1777 "$dir/tmp"
    cp "$bb" "$dir/bin/busybox"
    for a in $_TEST_APPLETS; do ln -s busybox "$dir/bin/$a"; done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$dir/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' > "$dir/etc/group"
    echo "$2" > "$dir/etc/cdcctl-test-image"
    tar -C "$dir" --owner=0 --group=0 --numeric-owner -c . |
        docker import --change "LABEL io.cdcctl.test.recipe=$3" \
                      --change 'ENV PATH=/bin' --change 'CMD ["sh"]' - "$1" >/dev/null || rc=$?
    rm -rf "$dir"
    return $rc
}

ensure_test_images() {
    command -v busybox >/dev/null 2>&1 ||
        skip "busybox-static is not installed (apt-get install busybox-static, or run tests/setup.sh)"
    local v tag want have
    # Several tests (or engineers) may call this at once: one builder at a time.
    exec 8>/tmp/cdcctl-test-images.lock
    flock -w 120 8 || fail "ensure_test_images: could not lock /tmp/cdcctl-test-images.lock"
    for v in 1 2; do
        tag=cdcctl-test/busybox:$v
        want=$(_test_image_recipe "$v") || fail "ensure_test_images: cannot hash busybox"
        have=$(docker image inspect -f '{{index .Config.Labels "io.cdcctl.test.recipe"}}' "$tag" 2>/dev/null)
        if [ "$have" != "$want" ]; then
            echo "building local test image $tag (docker import of busybox-static)" >&2
            _build_test_image "$tag" "$v" "$want" || { flock -u 8; fail "ensure_test_images: docker import of $tag failed"; }
        fi
    done
    flock -u 8
    exec 8>&-
}
