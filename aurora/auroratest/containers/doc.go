// Package containers is the container side of aurora/auroratest, in a
// module of its own so that only those who ask for it compile Docker
// client code: a program that imports aurora, auroratest or a feature
// package downloads and builds none of it.
//
// Today it holds the emulator's instance image and how it compares with a
// plain PostgreSQL container; the emulator's container backend (its
// instances as containers, for machines without PostgreSQL installed) is
// to come here.
//
// # The instance image
//
// image/Containerfile builds PostgreSQL 15 with the extensions the
// emulator's instances load (pgaudit, pglogical, wal2json, orafce,
// pg_repack, plperl) from Debian's packages, under the name Image:
//
//	docker build -t localhost/pgaurora/aurora-postgresql:15 aurora/auroratest/containers/image
//
// (podman build works the same, and so it does on macOS with Docker
// Desktop or podman machine). On a machine that reaches Debian's mirror
// but no container registry, image/build-local.sh makes the same image
// with debootstrap and podman import, and image/podman-service.sh serves
// podman's Docker-compatible API for testcontainers-go
// (`make bench-containers` does all three).
//
// # Measured
//
// BenchmarkStartVsContainer starts, in one run, a container of Image
// through testcontainers-go until a client can log in, and a fresh
// emulated cluster of one and of two instances, and resets a cluster to a
// saved state (auroratest's SaveState and ResetState), and prints the
// four means in ms.
package containers

// Image is the name the instance image is built under.
const Image = "localhost/pgaurora/aurora-postgresql:15"
