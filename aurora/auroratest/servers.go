package auroratest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/internal/pgserver"
	"github.com/pgaurora/pgaurora/internal/wait"
)

// The servers behind instances: how an instance's server comes up as the
// writer or as a reader, and how it goes away. Callers hold the
// instance's opLock.

// startWriter starts in's server as its cluster's writer: on the data the
// cluster holds (kept after its last instance went, restored from a
// snapshot, or replayed to a point in time), or else on a copy of the
// template data directory (template.go), made the cluster's. A new or restored cluster's first
// writer then takes, in the background, the base backup of the cluster's
// first automated snapshot.
func (e *Emulator) startWriter(ctx context.Context, in *instance) error {
	st := e.lock()
	c := in.cluster
	want := e.desired(st, in)
	hasData, rec := c.hasData, c.recovery
	cfg := pgserver.Config{Dir: in.dir, Host: in.address, Port: c.port, Superuser: c.masterUser, Password: c.masterPassword, TLS: in.tls}
	st.unlock()
	if err := pgserver.MakeServerDir(c.archiveDir()); err != nil {
		return err
	}
	cfg.Settings, cfg.PreloadLibraries, cfg.HBA = splitSettings(want)
	var srv *pgserver.Server
	var tmpl *dataTemplate
	if hasData {
		data := filepath.Join(in.dir, "data")
		if err := os.MkdirAll(in.dir, 0o700); err != nil {
			return err
		}
		if err := os.Rename(filepath.Join(c.storageDir(), "data"), data); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("taking over the cluster's data: %w", err)
		}
		var err error
		if srv, err = pgserver.Open(ctx, cfg, rec); err != nil {
			// The data stays the cluster's.
			_ = os.Rename(data, filepath.Join(c.storageDir(), "data"))
			return fmt.Errorf("starting the writer of cluster %s on its data: %w", c.id, err)
		}
	} else {
		var err error
		if e.noTemplate {
			srv, err = startWithoutTemplate(ctx, cfg)
		} else {
			srv, tmpl, err = e.openFromTemplate(ctx, in, cfg)
		}
		if err != nil {
			return fmt.Errorf("starting the writer of cluster %s: %w", c.id, err)
		}
		if err := prepareCopy(ctx, srv, c.masterUser, cfg.Password, c.databaseName); err != nil {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			_ = srv.Stop(sctx)
			return fmt.Errorf("preparing the writer of cluster %s: %w", c.id, err)
		}
	}
	st = e.lock()
	defer st.unlock()
	in.server, in.port, in.applied = srv, srv.Port(), want
	c.hasData, c.recovery, c.template = true, nil, tmpl
	if len(c.backups) == 0 || rec != nil {
		// The first automated backup, off the path to "available":
		// point-in-time restores of the cluster reach back to it.
		e.goBackground(st, func(ctx context.Context) {
			if err := e.automatedBackup(ctx, c, srv); err != nil && ctx.Err() == nil {
				e.log.Warn("auroratest: the first automated backup failed; the cluster cannot be restored to a point in time", "cluster", c.id, "error", err)
			}
		})
	}
	return nil
}

// openFromTemplate starts a server for in on a new copy of the template
// data directory, with cfg but the template's superuser password (the
// caller replaces it with the cluster's: prepareCopy).
func (e *Emulator) openFromTemplate(ctx context.Context, in *instance, cfg pgserver.Config) (*pgserver.Server, *dataTemplate, error) {
	t, err := loadTemplate(ctx, in.cluster.masterUser, e.dir)
	if err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(in.dir, 0o700); err != nil {
		return nil, nil, err
	}
	data := filepath.Join(in.dir, "data")
	if err := pgserver.CopyTree(ctx, t.dataDir(), data); err != nil {
		return nil, nil, fmt.Errorf("copying the template data directory: %w", err)
	}
	cfg.Password = t.password
	srv, err := pgserver.Open(ctx, cfg, nil)
	if err != nil {
		_ = os.RemoveAll(data)
		return nil, nil, err
	}
	return srv, t, nil
}

// startWithoutTemplate is what a new writer did before templates: initdb,
// start, and prepare what the template holds, on the writer itself. It is
// BenchmarkFreshCluster's baseline.
func startWithoutTemplate(ctx context.Context, cfg pgserver.Config) (*pgserver.Server, error) {
	srv, err := pgserver.Start(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := prepareTemplate(ctx, srv, cfg.Superuser); err != nil {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = srv.Stop(sctx)
		return nil, err
	}
	return srv, nil
}

// startReader starts in's server as a streaming replica of the cluster's
// writer, once the writer's server runs (a reader created right after the
// first instance waits for it, as on Aurora).
//
// With tmpl, it starts on a copy of that template (see startReplica).
func (e *Emulator) startReader(ctx context.Context, in *instance, tmpl *dataTemplate) error {
	var primary *pgserver.Server
	var writer *instance
	err := wait.Until(ctx, pgaurora.Wait{MaxWait: 5 * time.Minute}, pollStatus, func(ctx context.Context) (bool, error) {
		st := e.lock()
		defer st.unlock()
		writer = in.cluster.writer()
		if writer == nil || writer == in {
			return false, fmt.Errorf("cluster %s has no writer to replicate", in.cluster.id)
		}
		if writer.status == statusFailed || writer.status == statusDeleting {
			return false, fmt.Errorf("the writer %s is %s", writer.id, writer.status)
		}
		primary = writer.server
		return primary != nil && primary.Running(), nil
	})
	if err != nil {
		return fmt.Errorf("waiting for the writer: %w", err)
	}
	st := e.lock()
	want := e.readerSettings(st, in, writer)
	st.unlock()
	if err := e.startReplica(ctx, in, primary, want, tmpl); err != nil {
		return fmt.Errorf("starting reader %s: %w", in.id, err)
	}
	return nil
}

// pollStatus is how the emulator waits on its own resources' states.
var pollStatus = pgaurora.Wait{MinDelay: 10 * time.Millisecond, MaxDelay: 100 * time.Millisecond}

// removeServer stops an instance's server and removes its directory.
// With keep (the writer goes and no reader takes over), the data stays
// the cluster's (in its storage directory), as Aurora's storage outlives
// the instances.
func (e *Emulator) removeServer(ctx context.Context, in *instance, keep bool) error {
	st := e.lock()
	srv := in.server
	st.unlock()
	if srv != nil {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := srv.Stop(sctx)
		cancel()
		if err != nil {
			return err
		}
	}
	if keep && srv != nil {
		c := in.cluster
		if err := os.MkdirAll(c.storageDir(), 0o700); err != nil {
			return err
		}
		_ = os.RemoveAll(filepath.Join(c.storageDir(), "data"))
		if err := os.Rename(srv.DataDir(), filepath.Join(c.storageDir(), "data")); err != nil {
			return fmt.Errorf("keeping the cluster's data: %w", err)
		}
		st = e.lock()
		c.stoppedAt = time.Now().UTC()
		st.unlock()
	}
	e.keepExportedEvents(in)
	return os.RemoveAll(in.dir)
}
