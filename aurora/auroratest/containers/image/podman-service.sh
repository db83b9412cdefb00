#!/usr/bin/env bash
# Starts and stops podman's Docker-compatible API for testcontainers-go, as
# these machines need it (see CONTAINERS.md): runc, no default ulimits, a
# socket of our own, the service stopped by its process id.
#   podman-service.sh start DIR   writes DIR/env (the variables to export)
#   podman-service.sh stop DIR
set -euo pipefail
cmd=$1 dir=$2
case "$cmd" in
start)
	mkdir -p "$dir"
	cat > "$dir/containers.conf" <<'CONF'
[containers]
default_ulimits = []
[engine]
runtime = "runc"
CONF
	export CONTAINERS_CONF="$dir/containers.conf"
	podman system service --time=0 "unix://$dir/podman.sock" > "$dir/service.log" 2>&1 &
	echo $! > "$dir/service.pid"
	for _ in $(seq 1 100); do [ -S "$dir/podman.sock" ] && break; sleep 0.1; done
	[ -S "$dir/podman.sock" ] || { echo "podman's API did not start:" >&2; cat "$dir/service.log" >&2; exit 1; }
	cat > "$dir/env" <<ENV
export CONTAINERS_CONF=$dir/containers.conf
export DOCKER_HOST=unix://$dir/podman.sock
export TESTCONTAINERS_RYUK_DISABLED=true
export TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1
ENV
	;;
stop)
	if [ -f "$dir/service.pid" ]; then
		kill "$(cat "$dir/service.pid")" 2>/dev/null || true
		rm -f "$dir/service.pid"
	fi
	;;
*)
	echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
