package sslcert

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora"
)

// testRotateEndToEnd rotates a 3-instance emulated cluster from the
// soon-expiring CA to rds-ca-ecc384-g1, as issue #9's acceptance asks:
// a trust store with only the old CA is refused before the rotation, and
// with the merged store verify-full connections keep working through and
// after it, and the server check reports the new issuer. It runs as
// TestRotation/EndToEnd, on the shared emulator.
func testRotateEndToEnd(t *testing.T, env *rotationEnv) {
	const clusterID = "rotate-e2e"
	emu := env.emu
	api := rds.NewFromConfig(emu.AWSConfig())
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	cat := env.cat
	if _, ok := cat.Lookup(CAECC384G1); !ok {
		t.Fatalf("emulator does not offer %s; catalog: %v", CAECC384G1, cat.IDs())
	}
	// The soon-expiring CA: the one with the earliest ValidTill still in
	// the future.
	var oldCA CA
	for _, ca := range cat.CAs() {
		if !ca.ExpiredAt(time.Now()) && (oldCA.ID == "" || ca.ValidTill.Before(oldCA.ValidTill)) {
			oldCA = ca
		}
	}
	if oldCA.ID == "" || oldCA.ID == CAECC384G1 {
		t.Fatalf("no soon-expiring CA in the emulator's catalog: %+v", cat.CAs())
	}
	bundle, err := ParsePEM(emu.CABundlePEM())
	if err != nil {
		t.Fatal(err)
	}
	bundle = bundle.WithCatalog(cat)
	oldOnly := NewTrustStore(bundle.CertificatesForCA(oldCA.ID)...).WithCatalog(cat)
	newOnly := NewTrustStore(bundle.CertificatesForCA(CAECC384G1)...).WithCatalog(cat)
	if oldOnly.Len() == 0 || newOnly.Len() == 0 {
		t.Fatalf("bundle lacks %s (%d) or %s (%d): %+v", oldCA.ID, oldOnly.Len(), CAECC384G1, newOnly.Len(), bundle.List())
	}
	merged := oldOnly.Merge(newOnly)
	quick := func(progress pgaurora.ProgressFunc) *ExecuteOptions {
		return &ExecuteOptions{Wait: pgaurora.Wait{MinDelay: 100 * time.Millisecond, MaxDelay: time.Second, MaxWait: time.Minute},
			Restart: aws.Bool(false), Progress: progress}
	}

	// Put the cluster on the old CA first, if it is not there.
	insts, err := Discover(ctx, api, clusterID)
	if err != nil {
		t.Fatal(err)
	}
	if len(insts) != 3 {
		t.Fatalf("Discover found %d instances, want 3", len(insts))
	}
	setup, err := PlanRotation(ctx, api, clusterID, oldCA.ID, &PlanOptions{TrustStore: bundle, Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Execute(ctx, api, setup, quick(nil)); err != nil {
		t.Fatalf("moving the cluster to %s: %v", oldCA.ID, err)
	}

	// A client trusting only the old CA is reported unsafe.
	plan, err := PlanRotation(ctx, api, clusterID, CAECC384G1, &PlanOptions{TrustStore: oldOnly, Catalog: cat})
	if !errors.Is(err, ErrUnsafePlan) || plan == nil || plan.Safe() {
		t.Fatalf("plan with the old CA only: %v; want ErrUnsafePlan", err)
	}
	if _, err := Execute(ctx, api, plan, quick(nil)); !errors.Is(err, ErrUnsafePlan) {
		t.Fatalf("Execute of the unsafe plan: %v", err)
	}

	plan, err = PlanRotation(ctx, api, clusterID, CAECC384G1, &PlanOptions{TrustStore: merged, Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("plan:\n%s", plan)
	steps := plan.Steps()
	if len(steps) != 3 || !plan.Instances[2].Writer {
		t.Fatalf("plan steps %v; the writer must be last", steps)
	}
	for _, ip := range plan.Instances {
		if _, ok := ip.PendingCARotation(); !ok {
			t.Errorf("%s: no pending %s reported for an instance on the soon-expiring CA", ip.ID, ActionCARotation)
		}
	}

	// verify-full clients with the merged store, connecting again and
	// again to every instance during the rotation.
	var tries, failures atomic.Int64
	var failMu sync.Mutex
	var failMsgs []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, ip := range plan.Instances {
		cs, err := emu.ConnString(ip.ID, "postgres")
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := pgx.ParseConfig(cs)
		if err != nil {
			t.Fatal(err)
		}
		merged.ConfigurePGX(&cfg.Config)
		wg.Add(1)
		go func(id string) {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond):
				}
				tries.Add(1)
				cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
				c, err := pgx.ConnectConfig(cctx, cfg.Copy())
				if err == nil {
					err = c.Ping(cctx)
					c.Close(cctx)
				}
				ccancel()
				if err != nil {
					failures.Add(1)
					failMu.Lock()
					failMsgs = append(failMsgs, fmt.Sprintf("%s: %v", id, err))
					failMu.Unlock()
				}
			}
		}(ip.ID)
	}

	var progress []string
	res, err := Execute(ctx, api, plan, quick(func(e pgaurora.Event) {
		progress = append(progress, position(e))
	}))
	close(stop)
	wg.Wait()
	t.Logf("progress: %s", strings.Join(progress, "; "))
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	if len(res.Rotated) != 3 || res.Rotated[2] != steps[2] {
		t.Errorf("Rotated = %v, want %v", res.Rotated, steps)
	}
	t.Logf("verify-full connections during rotation: %d tries, %d failures", tries.Load(), failures.Load())
	if failures.Load() > 0 {
		t.Errorf("verify-full connections with the merged store failed during rotation: %s", strings.Join(failMsgs, "; "))
	}

	// After: every instance presents a chain from the new CA; the old-only
	// store no longer verifies it.
	insts, err = Discover(ctx, api, clusterID)
	if err != nil {
		t.Fatal(err)
	}
	for _, inst := range insts {
		if inst.CACertificate != CAECC384G1 {
			t.Errorf("%s: CACertificateIdentifier %q", inst.ID, inst.CACertificate)
		}
		addr := fmt.Sprintf("%s:%d", inst.Address, inst.Port)
		c, err := CheckServer(ctx, addr, &CheckOptions{TrustStore: merged})
		if err != nil || !c.Verified || c.CAIdentifier != CAECC384G1 {
			t.Errorf("%s: check with merged store: %v, %+v", inst.ID, err, c)
		}
		c, err = CheckServer(ctx, addr, &CheckOptions{TrustStore: oldOnly})
		if err != nil || c.Verified {
			t.Errorf("%s: check with the old CA only verified after rotation (%v)", inst.ID, err)
		}
	}

	// Running it again changes nothing.
	again, err := PlanRotation(ctx, api, clusterID, CAECC384G1, &PlanOptions{TrustStore: merged, Catalog: cat})
	if err != nil || len(again.Steps()) != 0 {
		t.Errorf("second plan: %v, steps %v", err, again.Steps())
	}
}
