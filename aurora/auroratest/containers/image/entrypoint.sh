#!/bin/sh
# The instance image's entry point: a PostgreSQL 15 server, initialized on
# first start in $PGDATA, then run in the foreground with the arguments
# given (postgres -c name=value ...). The image is for local tests: every
# client is trusted, from anywhere, replication included.
set -eu
: "${PGDATA:=/var/lib/postgresql/data}"
bin=/usr/lib/postgresql/15/bin
if [ ! -s "$PGDATA/PG_VERSION" ]; then
	"$bin/initdb" -D "$PGDATA" --auth=trust --username=postgres --encoding=UTF8 --locale=C.UTF-8 >/dev/null
	printf 'host all all all trust\nhost replication all all trust\n' >> "$PGDATA/pg_hba.conf"
fi
exec "$bin/postgres" -D "$PGDATA" -c listen_addresses='*' "$@"
