#!/usr/bin/env bash
# tests/setup.sh deps: install what the build and the tests need when it is missing
# (Debian packages, apt-get when root). Prints what it does; quiet when all is there.
set -euo pipefail

PKGS=(build-essential pkg-config libcurl4-openssl-dev libmariadb-dev librdkafka-dev libyaml-dev
      libjansson-dev libmicrohttpd-dev libarchive-dev libcmocka-dev libssl-dev
      docker.io kcat mariadb-server mariadb-client prometheus busybox-static python3 curl
      docker-compose valgrind iproute2 procps openssl)

missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "tests/setup.sh: missing Debian packages: ${missing[*]}" >&2
    echo "tests/setup.sh: install them (sudo apt-get install ${missing[*]}) or run as root" >&2
    exit 1
fi
echo "tests/setup.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# policy-rc.d keeps the packages' own services (mariadb, prometheus, docker) from
# starting at install time; the tests start what they need on their own ports.
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
