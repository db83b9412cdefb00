#!/usr/bin/env bash
# Builds the instance image on a machine that can reach Debian's package
# mirror but no container registry (so the Containerfile's base image cannot
# be pulled): debootstrap a minimal bookworm, install the same packages as
# the Containerfile, and import the tree into podman with the same
# entry point, user and environment. Root only. Does nothing when the image
# exists. Usage: build-local.sh [IMAGE]
set -euo pipefail
image=${1:-localhost/pgaurora/aurora-postgresql:15}
if podman image exists "$image"; then
	echo "image $image exists"
	exit 0
fi
here=$(cd "$(dirname "$0")" && pwd)
# The machine's own Debian mirror (deb822 sources first, then the one-line
# form), else Debian's.
mirror=$( (grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}';
	grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}') |
	grep -E '/debian/?$' | head -1 || true)
mirror=${mirror:-http://deb.debian.org/debian}
root=$(mktemp -d /tmp/pgaurora-image.XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "building $image from $mirror (debootstrap, then the packages)"
debootstrap --variant=minbase bookworm "$root" "$mirror" >/dev/null
chroot "$root" apt-get install -y -q --no-install-recommends \
	postgresql-15 postgresql-15-pgaudit postgresql-15-pglogical postgresql-15-wal2json \
	postgresql-15-orafce postgresql-15-repack postgresql-plperl-15 locales-all >/dev/null
chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/*
install -D -m 0755 "$here/entrypoint.sh" "$root/usr/local/bin/pgaurora-entrypoint"
chroot "$root" install -d -o postgres -g postgres /var/lib/postgresql/data /var/run/postgresql
tar -C "$root" -c . | podman import \
	--change 'USER postgres' \
	--change 'ENV PGDATA=/var/lib/postgresql/data' \
	--change 'EXPOSE 5432' \
	--change 'ENTRYPOINT ["/usr/local/bin/pgaurora-entrypoint"]' \
	- "$image" >/dev/null
echo "built $image"
