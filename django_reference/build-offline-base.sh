#!/usr/bin/env bash
# Builds what the containerised Django reference needs, on a machine with no image registry:
#   1. a base image from Debian's packages (debootstrap: Python with venv, Redis, memcached),
#      imported as django-conformance-base:<suite>: bookworm (Python 3.11) for Django 5.2,
#      trixie (Python 3.13) for Django 6.1;
#   2. the wheels of requirements-<version>.txt for that image's Python, in
#      django_reference/wheels/<version>/, so the Django image builds with no network inside the
#      container.
# Then `djc run --django docker` and `docker-compose up` use it (see the README).
#
# Usage: django_reference/build-offline-base.sh [5.2|6.1]   (default 5.2)
# Needs root (debootstrap), a Docker engine, and Debian's packages; the mirror is the one the
# host's apt sources already use.
set -euo pipefail

django_version="${1:-5.2}"
# Each suite's Python: bookworm has 3.11, trixie 3.13. Named here rather than asked of the image,
# so the wheels suit it even where `docker run` cannot attach (an engine behind djc's API proxy).
case "$django_version" in
    5.2) suite=bookworm python_version=3.11 ;;
    6.1) suite=trixie python_version=3.13 ;;
    *) echo "usage: $0 [5.2|6.1]: the Django version whose base image to build" >&2; exit 2 ;;
esac
image="django-conformance-base:${suite}"
here="$(cd "$(dirname "$0")" && pwd)"

host_mirror() {
    # Either file layout may be absent: grep's "no such file" is not a failure here.
    {
        grep -hsE '^URIs:' /etc/apt/sources.list.d/*.sources || true
        grep -hsE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list || true
    } | awk '$1 == "URIs:" {print $2} $1 == "deb" {print $2}' | grep -v -- '-security' | head -n 1
}

if docker image inspect "$image" >/dev/null 2>&1; then
    echo "base image $image already exists"
else
    mirror="$(host_mirror)"
    if [ -z "$mirror" ]; then
        echo "no Debian mirror found in the host's apt sources" >&2
        exit 1
    fi
    if ! command -v debootstrap >/dev/null 2>&1; then
        apt-get update -qq
        apt-get install -y -qq debootstrap >/dev/null
    fi
    rootfs="$(mktemp -d)"
    trap 'rm -rf "$rootfs"' EXIT
    echo "debootstrap $suite from $mirror (about a minute)"
    debootstrap --variant=minbase --include=python3,python3-venv,redis-server,memcached \
        "$suite" "$rootfs" "$mirror" >/dev/null
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" -c . | docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - "$image" >/dev/null
    echo "imported $image"
fi

# The machine's PIP_FIND_LINKS must not decide what goes into the image.
env -u PIP_FIND_LINKS python3 -m pip download --quiet --disable-pip-version-check \
    --only-binary=:all: --implementation cp --python-version "$python_version" \
    --platform manylinux2014_x86_64 --platform any \
    -d "$here/wheels/$django_version" -r "$here/requirements-$django_version.txt"
echo "wheels of Django $django_version for Python $python_version in $here/wheels/$django_version"
echo "ready: djc run --django docker (or DJC_BASE_IMAGE=$image docker-compose up)"
