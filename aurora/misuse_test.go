package aurora_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/extensions"
	"github.com/pgaurora/pgaurora/logical"
	"github.com/pgaurora/pgaurora/pgaudit"
	"github.com/pgaurora/pgaurora/pglogical"
)

// TestMisuseGetsErrors makes the calls a careless caller makes (nil
// options and Queriers, zero values, a closed handle) and wants an error
// from each, not a panic, and no RDS call from the closed handle.
func TestMisuseGetsErrors(t *testing.T) {
	ctx := context.Background()
	var zero aurora.Cluster
	var nilCluster *aurora.Cluster
	var monitor logical.Monitor
	w, err := newCluster(t).Writer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]func() error{
		"aurora.New with a nil option": func() error {
			_, err := aurora.New("x", aurora.WithAWSConfig(emu.AWSConfig()), nil)
			return err
		},
		"zero Cluster Describe":   func() error { _, err := zero.Describe(ctx); return err },
		"nil Cluster Describe":    func() error { _, err := nilCluster.Describe(ctx); return err },
		"zero Cluster Writer":     func() error { _, err := zero.Writer(ctx); return err },
		"zero Cluster workflow":   func() error { _, err := zero.SetBackupRetention(ctx, 7, nil); return err },
		"zero Cluster Certs":      func() error { _, err := zero.Certs().Catalog(ctx); return err },
		"RunTx with nil function": func() error { return w.RunTx(ctx, nil) },
		"pgaudit.New(nil).Status": func() error { _, err := pgaudit.New(nil).Status(ctx); return err },
		"pglogical.New(nil).Version": func() error {
			_, err := pglogical.New(nil).Version(ctx)
			return err
		},
		"logical.New(nil).Slots":       func() error { _, err := logical.New(nil).Slots(ctx); return err },
		"extensions.New(nil).Status":   func() error { _, err := extensions.New(nil).Installed(ctx); return err },
		"ParseApplyFailures(nil)":      func() error { _, err := pglogical.ParseApplyFailures(nil); return err },
		"ReadLanguageBackup(nil)":      func() error { _, err := extensions.ReadLanguageBackup(nil); return err },
		"zero logical.Monitor Check":   func() error { _, err := monitor.Check(ctx); return err },
		"NewMonitor with a nil Client": func() error { _, err := logical.NewMonitor(nil, logical.SlotPolicy{}, nil); return err },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("panic: %v", p)
				}
			}()
			if err := call(); err == nil {
				t.Fatal("no error")
			} else {
				t.Log(err)
			}
		})
	}
	if s := (&aurora.WorkflowError{Err: errors.New("x")}).Error(); !strings.Contains(s, "x") {
		t.Errorf("WorkflowError without a report: %q", s)
	}

	// A closed handle refuses before anything is sent.
	rec := &apiRecorder{}
	c := openCluster(t, auditClusterID, rec)
	c.Close()
	_, err = c.EnablePgAudit(ctx, pgaudit.Settings{Log: pgaurora.Ptr(pgaudit.All)}, nil)
	if !errors.Is(err, aurora.ErrClosed) {
		t.Errorf("EnablePgAudit after Close: %v, want ErrClosed", err)
	}
	for _, f := range []func() error{
		func() error { _, err := c.Describe(ctx); return err },
		func() error { _, err := c.Writer(ctx); return err },
		func() error { _, err := c.Failover(ctx, nil); return err },
		func() error {
			for _, err := range c.AuditEntries(ctx, nil) {
				return err
			}
			return nil
		},
	} {
		if err := f(); !errors.Is(err, aurora.ErrClosed) {
			t.Errorf("a call after Close: %v, want ErrClosed", err)
		}
	}
	if acts := rec.take(); len(acts) != 0 {
		t.Errorf("the closed handle called RDS: %v", acts)
	}
}
