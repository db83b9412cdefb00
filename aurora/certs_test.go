package aurora_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/sslcert"
)

func TestRotateCA(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rec := &apiRecorder{}
	c := openCluster(t, certsClusterID, rec)

	cat, err := c.Certs().Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := sslcert.ParsePEM(emu.CABundlePEM())
	if err != nil {
		t.Fatal(err)
	}
	bundle = bundle.WithCatalog(cat)
	d, err := c.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	current, target := d.Writer.CACertificate, sslcert.CAECC384G1
	if current == target {
		t.Fatalf("cluster already on %s", target)
	}
	oldOnly := sslcert.NewTrustStore(bundle.CertificatesForCA(current)...)
	if oldOnly.Len() == 0 {
		t.Fatalf("the emulator's bundle has no certificate of %s", current)
	}

	// Open the writer pool first: it must survive the rotation's restarts.
	w, err := c.Writer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	rec.take()

	// Refusals, before anything changes: the clients' trust store lacks
	// the target CA; the Cluster's own bundle lacks it.
	_, err = c.RotateCA(ctx, target, oldOnly, &aurora.RotateCAOptions{})
	var we *aurora.WorkflowError
	if !errors.Is(err, sslcert.ErrUnsafePlan) || !errors.As(err, &we) || !strings.HasPrefix(we.Step, "plan") {
		t.Fatalf("RotateCA with a trust store lacking %s: %v; want ErrUnsafePlan at the plan step", target, err)
	}
	own := openCluster(t, certsClusterID, nil, aurora.WithCABundle(emu.CACertificatePEM(current)))
	if _, err := own.RotateCA(ctx, target, bundle, &aurora.RotateCAOptions{}); !errors.Is(err, sslcert.ErrUnsafePlan) || !strings.Contains(err.Error(), "own CA bundle") {
		t.Fatalf("RotateCA with the handle's own bundle lacking %s: %v", target, err)
	}
	if _, err := c.RotateCA(ctx, "", bundle, nil); err == nil {
		t.Error("RotateCA with an empty target succeeded")
	}
	if m := mutating(rec.take()); len(m) != 0 {
		t.Errorf("refused rotations made changing calls: %v", m)
	}

	// The plan: readers first, the writer last.
	plan, err := c.Certs().Plan(ctx, target, bundle, nil)
	if err != nil {
		t.Fatal(err)
	}
	if steps := plan.Steps(); len(steps) != 2 || steps[1] != d.Writer.ID {
		t.Fatalf("plan steps %v; want 2 with the writer %s last", steps, d.Writer.ID)
	}

	// Keep the writer pool busy during the rotation.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var queries, failures int
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			queries++
			if err := w.Ping(ctx); err != nil {
				failures++
			}
		}
	}()
	var stages []string
	for run := 1; run <= 2; run++ {
		r, err := c.RotateCA(ctx, target, bundle, &aurora.RotateCAOptions{Progress: func(e pgaurora.Event) {
			if e.Operation == "sslcert.Execute" {
				stages = append(stages, fmt.Sprintf("%s:%s", e.Resource, e.Step))
			}
		}})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("run %d:\n%s", run, r)
		mut := mutating(rec.take())
		if run == 1 && (!r.Changed() || len(mut) != 2) {
			t.Errorf("first run: changed=%v, calls %v; want two ModifyDBInstance", r.Changed(), mut)
		}
		if run == 2 && (r.Changed() || len(mut) != 0 || !strings.Contains(r.String(), "nothing to change")) {
			t.Errorf("second run: %s, calls %v; want nothing", r, mut)
		}
	}
	close(stop)
	wg.Wait()
	t.Logf("rotation stages: %s", strings.Join(stages, " "))
	t.Logf("writer pool pings during the rotation: %d, %d failed (retryable while the writer restarted)", queries, failures)

	d, err = c.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range append([]pgaurora.Instance{*d.Writer}, d.Readers...) {
		if in.CACertificate != target {
			t.Errorf("%s: CA %s, want %s", in.ID, in.CACertificate, target)
		}
	}
	// The pool verifies the new certificates (verify-full against the
	// emulator's bundle) and audits itself as a TLS session.
	if err := w.Ping(ctx); err != nil {
		t.Fatalf("writer pool after the rotation: %v", err)
	}
	audit, err := c.Certs().AuditSessions(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var self *sslcert.Session
	for i, s := range audit.Sessions {
		if s.Self {
			self = &audit.Sessions[i]
		}
	}
	if self == nil || !self.SSL || self.Version == "" {
		t.Errorf("the auditing session is not a TLS session: %+v", audit.Sessions)
	}
	if n := len(audit.Unencrypted()); n != 0 {
		t.Logf("%d unencrypted sessions (the emulator's own)", n)
	}
}
