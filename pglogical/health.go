package pglogical

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/internal/slots"
	"github.com/pgaurora/pgaurora/internal/wait"
)

// LogSource returns the subscriber's server log, or its recent part, for
// Diagnose to look for apply-worker failures. On Aurora, read it with the
// RDS log-file API (DownloadDBLogFilePortion); locally, from the log file.
type LogSource func(ctx context.Context) (io.Reader, error)

// DiagnoseOptions tune Diagnose. Nil means no log reading.
type DiagnoseOptions struct {
	// Log, when set, is read for apply-worker failures of the
	// subscription.
	Log LogSource
	// LogSince ignores failures logged before this time (lines without a
	// timestamp are kept).
	LogSince time.Time
	// MaxFailures bounds Diagnosis.ApplyFailures to the most recent ones;
	// zero means 10.
	MaxFailures int
}

// Cause is the likely reason a provider/subscriber pair is not
// replicating.
type Cause string

// The causes Diagnose tells apart, from AWS's documented checks.
const (
	// CauseNone: the subscription is replicating and, when the provider
	// was checked, its slot is active.
	CauseNone Cause = "none"
	// CauseInitializing: the initial sync is still running (or about to
	// start); wait for it with WaitForSync.
	CauseInitializing Cause = "initializing"
	// CauseDisabled: the subscription is disabled. Repair enables it.
	CauseDisabled Cause = "subscription-disabled"
	// CauseOriginMissing: the subscriber has no replication origin named
	// after the slot (typical after a major version upgrade of the
	// subscriber), so the apply worker fails at start. Repair recreates
	// it.
	CauseOriginMissing Cause = "origin-missing"
	// CauseProviderUnreachable: the provider could not be queried (it is
	// down, or the network or credentials fail). Bring it back, then
	// Repair.
	CauseProviderUnreachable Cause = "provider-unreachable"
	// CauseSlotMissing: the provider has no slot for the subscription
	// (dropped, or lost in a provider upgrade). Changes since then are
	// gone: re-create the subscription, with a data sync. Repair refuses.
	CauseSlotMissing Cause = "slot-missing"
	// CauseApplyWorkerDown: the subscription is enabled but its apply
	// worker is not running; the log failures, if read, say why. Repair
	// restarts it.
	CauseApplyWorkerDown Cause = "apply-worker-down"
	// CauseSlotInactive: the subscriber reports replicating but the
	// provider's slot has no walsender attached. Often transient right
	// after a restart; Repair restarts the worker.
	CauseSlotInactive Cause = "slot-inactive"
	// CauseUnknown: pglogical reports an unknown status.
	CauseUnknown Cause = "unknown"
)

// Diagnosis is the state of one subscription and its provider slot, with
// the likely cause when it is not replicating.
type Diagnosis struct {
	// Subscription is the subscription's name and SubscriptionID its oid.
	Subscription   string
	SubscriptionID uint32
	// Status is pglogical.show_subscription_status's status.
	Status Status
	// Enabled is the subscription's enabled flag.
	Enabled bool
	// Sync is the subscription-level sync state.
	Sync SyncState
	// SlotName is the provider slot, which is also the name of the
	// subscriber's replication origin.
	SlotName string
	// OriginPresent reports whether pg_replication_origin on the
	// subscriber has the origin; OriginRemoteLSN is its progress.
	OriginPresent   bool
	OriginRemoteLSN pgaurora.LSN
	// ProviderChecked is true when the provider was queried
	// successfully; ProviderErr holds the error when it could not be.
	ProviderChecked bool
	ProviderErr     error
	// Slot is the provider's slot, nil when missing or not checked.
	Slot *pgaurora.ReplicationSlot
	// ApplyFailures are the subscription's most recent apply-worker
	// failures found in the log (when a LogSource was given); LogErr is
	// the error reading it.
	ApplyFailures []ApplyFailure
	LogErr        error
	// Cause is the likely cause; CauseNone when healthy.
	Cause Cause
	// Explanation says what the checks found, and Remedy what to do.
	Explanation, Remedy string
}

// Healthy reports whether the pair is replicating.
func (d Diagnosis) Healthy() bool { return d.Cause == CauseNone }

// Repairable reports whether Repair's procedure addresses the cause.
func (d Diagnosis) Repairable() bool {
	switch d.Cause {
	case CauseDisabled, CauseOriginMissing, CauseApplyWorkerDown, CauseSlotInactive, CauseUnknown:
		return true
	}
	return false
}

// String summarizes the diagnosis on one line.
func (d Diagnosis) String() string {
	s := fmt.Sprintf("subscription %q: status %s, cause %s: %s", d.Subscription, d.Status, d.Cause, d.Explanation)
	if d.Remedy != "" {
		s += " Remedy: " + d.Remedy
	}
	return s
}

// Diagnose runs AWS's documented checks on a subscription: on the
// subscriber, pglogical.show_subscription_status and pg_replication_origin
// (the origin is named after the slot); on the provider, the slot in
// pg_replication_slots and whether it is active; and, when opts.Log is
// set, apply-worker exits in the subscriber's log. It returns the facts and
// the likely cause.
//
// provider may be nil (the slot checks are then skipped). An unreachable
// provider is a finding (CauseProviderUnreachable), not an error; Diagnose
// fails only when the subscriber cannot be read or has no such
// subscription.
func Diagnose(ctx context.Context, provider, subscriber *Client, subscription string, opts *DiagnoseOptions) (Diagnosis, error) {
	if subscriber == nil {
		return Diagnosis{}, invalid("Diagnose: the subscriber client is nil")
	}
	var o DiagnoseOptions
	if opts != nil {
		o = *opts
	}
	if o.MaxFailures <= 0 {
		o.MaxFailures = 10
	}
	sub, err := subscriber.Subscription(ctx, subscription)
	if err != nil {
		return Diagnosis{}, err
	}
	d := Diagnosis{Subscription: sub.Name, SubscriptionID: sub.ID, Status: sub.Status, Enabled: sub.Enabled,
		Sync: sub.Sync, SlotName: sub.SlotName}

	var dbOID uint32
	err = subscriber.q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_replication_origin WHERE roname = $1),
			(SELECT remote_lsn::text FROM pg_catalog.pg_replication_origin_status WHERE external_id = $1),
			(SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())`, sub.SlotName).
		Scan(&d.OriginPresent, &d.OriginRemoteLSN, &dbOID)
	if err != nil {
		return Diagnosis{}, wrap(fmt.Sprintf("diagnose %q: reading the replication origin", subscription), err)
	}

	if provider != nil {
		slot, found, err := provider.slot(ctx, sub.SlotName)
		switch {
		case err != nil:
			d.ProviderErr = err
		default:
			d.ProviderChecked = true
			if found {
				d.Slot = &slot
			}
		}
	}

	if o.Log != nil {
		d.ApplyFailures, d.LogErr = readFailures(ctx, o, dbOID, sub.ID)
	}
	d.Cause, d.Explanation, d.Remedy = classifyDiagnosis(d, provider != nil)
	return d, nil
}

func readFailures(ctx context.Context, o DiagnoseOptions, dbOID, subID uint32) ([]ApplyFailure, error) {
	r, err := o.Log(ctx)
	if err != nil {
		return nil, fmt.Errorf("pglogical: reading the subscriber log: %w", err)
	}
	if c, ok := r.(io.Closer); ok {
		defer c.Close()
	}
	all, err := ParseApplyFailures(r)
	var out []ApplyFailure
	for _, f := range all {
		if f.SubscriptionOID != subID || f.DatabaseOID != dbOID {
			continue
		}
		if !o.LogSince.IsZero() && !f.Time.IsZero() && f.Time.Before(o.LogSince) {
			continue
		}
		out = append(out, f)
	}
	if len(out) > o.MaxFailures {
		out = out[len(out)-o.MaxFailures:]
	}
	return out, err
}

// classifyDiagnosis is the pure decision behind Diagnose.
func classifyDiagnosis(d Diagnosis, providerGiven bool) (Cause, string, string) {
	lastFailure := ""
	if n := len(d.ApplyFailures); n > 0 && d.ApplyFailures[n-1].Message != "" {
		lastFailure = fmt.Sprintf(" The apply worker last failed with %q.", d.ApplyFailures[n-1].Message)
	}
	initialSyncDone := d.Sync == SyncReady
	switch {
	case !d.Enabled || d.Status == StatusDisabled:
		return CauseDisabled, "The subscription is disabled, so no apply worker runs.",
			"Enable it (Repair does, or EnableSubscription)."
	case providerGiven && !d.ProviderChecked:
		return CauseProviderUnreachable, fmt.Sprintf("The provider could not be queried: %v.", d.ProviderErr),
			"Bring the provider back (or fix the network or credentials), then run Repair."
	case d.ProviderChecked && d.Slot == nil && initialSyncDone:
		return CauseSlotMissing, fmt.Sprintf("The provider has no replication slot %q, so the changes since it was dropped cannot be streamed.", d.SlotName),
			"Drop and re-create the subscription with SynchronizeData (or resynchronize its tables); Repair cannot bring a slot back."
	case !d.OriginPresent && initialSyncDone:
		return CauseOriginMissing, fmt.Sprintf("The subscriber has no replication origin %q, so the apply worker fails at start.%s", d.SlotName, lastFailure),
			"Run Repair: it disables the subscription, recreates the origin and enables it again."
	case !initialSyncDone && (d.Status == StatusInitializing || d.Status == StatusDown || d.Status == StatusUnknown) && len(d.ApplyFailures) == 0:
		return CauseInitializing, fmt.Sprintf("The initial sync is in progress (sync state %s).", d.Sync),
			"Wait for it with WaitForSync."
	case d.Status == StatusInitializing:
		return CauseInitializing, fmt.Sprintf("A table sync is in progress (sync state %s).%s", d.Sync, lastFailure),
			"Wait for it with WaitForSync."
	case d.Status == StatusDown:
		return CauseApplyWorkerDown, "The subscription is enabled but its apply worker is not running." + lastFailure,
			"Fix what the log reports, then run Repair to restart the worker."
	case d.Status == StatusReplicating && d.ProviderChecked && d.Slot != nil && !d.Slot.Active:
		return CauseSlotInactive, fmt.Sprintf("The subscriber reports replicating but the provider slot %q has no walsender attached.", d.SlotName),
			"Often transient right after a restart; if it persists, run Repair."
	case d.Status == StatusReplicating:
		return CauseNone, "The subscription is replicating.", ""
	}
	return CauseUnknown, fmt.Sprintf("pglogical reports status %q.%s", d.Status, lastFailure),
		"Run Repair to restart the apply worker."
}

// slot reads one replication slot.
func (c *Client) slot(ctx context.Context, name string) (pgaurora.ReplicationSlot, bool, error) {
	found, err := slots.List(ctx, c.q, slots.Named, name)
	if err != nil || len(found) == 0 {
		return pgaurora.ReplicationSlot{}, false, wrap("reading replication slots", err)
	}
	return found[0], true, nil
}

// RepairOptions tune Repair. Nil means the defaults.
type RepairOptions struct {
	// Diagnose is passed to Diagnose (for the log source).
	Diagnose *DiagnoseOptions
	// Wait says how the final verification polls; its MaxWait bounds the
	// wait for the subscription to replicate again with an active slot.
	// Zero fields mean 100 ms, 1 s and 60 seconds. The caller's context
	// bounds it too.
	Wait pgaurora.Wait
	// Progress, when set, receives an event for each step done
	// (Operation "pglogical.Repair", Step the step).
	Progress pgaurora.ProgressFunc
}

// RepairReport is what Repair found and did.
type RepairReport struct {
	// Before is the diagnosis that decided the repair.
	Before Diagnosis
	// Steps are the steps taken, in order.
	Steps []string
	// After is the diagnosis after the repair (equal to Before when
	// nothing was done).
	After Diagnosis
}

// Repair re-establishes a broken subscription with the procedure AWS
// documents: disable the subscription (immediately), recreate the
// subscriber's replication origin when it is missing (named after the
// slot, as pglogical names it), and enable the subscription (immediately).
// It then waits until pglogical reports replicating and, when provider is
// given, the provider's slot is active, on two polls in a row.
//
// A healthy or still-initializing subscription is left alone. When the
// provider is unreachable Repair fails with ErrProviderUnreachable, and for
// causes the procedure cannot fix (a missing slot) with ErrNotRepairable;
// nothing is changed in either case. A failed step returns a *StepError
// listing the steps applied.
func Repair(ctx context.Context, provider, subscriber *Client, subscription string, opts *RepairOptions) (rep RepairReport, err error) {
	var o RepairOptions
	if opts != nil {
		o = *opts
	}
	o.Wait = o.Wait.Or(repairWait)
	before, err := Diagnose(ctx, provider, subscriber, subscription, o.Diagnose)
	if err != nil {
		return RepairReport{}, err
	}
	rep = RepairReport{Before: before, After: before}
	switch before.Cause {
	case CauseNone, CauseInitializing:
		return rep, nil
	case CauseProviderUnreachable:
		return rep, fmt.Errorf("pglogical: repair subscription %q: %w: %s", subscription, ErrProviderUnreachable, before.Explanation)
	}
	if !before.Repairable() {
		return rep, fmt.Errorf("pglogical: repair subscription %q: %w: %s %s", subscription, ErrNotRepairable, before.Explanation, before.Remedy)
	}

	run := &stepRun{op: fmt.Sprintf("repair subscription %q", subscription), name: "pglogical.Repair", progress: o.Progress}
	defer func() { rep.Steps = run.applied }()
	step := run.do
	if before.Enabled {
		if err := step("disable subscription (immediate)", func() error {
			return subscriber.DisableSubscription(ctx, subscription, true)
		}); err != nil {
			return rep, err
		}
	}
	var present bool
	if err := subscriber.q.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_replication_origin WHERE roname = $1)",
		before.SlotName).Scan(&present); err != nil {
		return rep, run.fail("check replication origin", classify(err))
	}
	if !present {
		if err := step(fmt.Sprintf("create replication origin %q", before.SlotName), func() error {
			var id *uint32
			if err := subscriber.q.QueryRow(ctx, "SELECT pg_catalog.pg_replication_origin_create($1)", before.SlotName).Scan(&id); err != nil {
				return classify(err)
			}
			if id == nil {
				return fmt.Errorf("pg_replication_origin_create returned NULL: %w", ErrNothingDone)
			}
			return nil
		}); err != nil {
			return rep, err
		}
	}
	if err := step("enable subscription (immediate)", func() error {
		return subscriber.EnableSubscription(ctx, subscription, true)
	}); err != nil {
		return rep, err
	}

	after, err := verifyReplicating(ctx, provider, subscriber, subscription, o)
	rep.After = after
	if err != nil {
		return rep, run.fail("verify replicating with an active slot", err)
	}
	return rep, nil
}

// repairWait is how Repair's verification polls by default.
var repairWait = pgaurora.Wait{MinDelay: 100 * time.Millisecond, MaxDelay: time.Second, MaxWait: 60 * time.Second}

// verifyReplicating polls until the subscription replicates with an active
// provider slot on two polls in a row.
func verifyReplicating(ctx context.Context, provider, subscriber *Client, subscription string, o RepairOptions) (Diagnosis, error) {
	var last Diagnosis
	var lastErr error
	good := 0
	err := wait.Until(ctx, o.Wait, repairWait, func(ctx context.Context) (bool, error) {
		d, err := Diagnose(ctx, provider, subscriber, subscription, nil)
		if err != nil {
			lastErr = err
			return false, nil
		}
		last = d
		if !d.Healthy() || provider != nil && (d.Slot == nil || !d.Slot.Active) {
			good = 0
			return false, nil
		}
		if good++; good < 2 {
			return false, nil
		}
		if o.Diagnose != nil && o.Diagnose.Log != nil {
			// Report the log's view too, for the record.
			if full, err := Diagnose(ctx, provider, subscriber, subscription, o.Diagnose); err == nil {
				full.Cause, full.Explanation, full.Remedy = d.Cause, d.Explanation, d.Remedy
				last = full
			}
		}
		return true, nil
	})
	if err != nil {
		msg := "no diagnosis"
		if last.Subscription != "" {
			msg = last.String()
		} else if lastErr != nil {
			msg = lastErr.Error()
		}
		return last, fmt.Errorf("not replicating: %w (last: %s)", err, strings.TrimSpace(msg))
	}
	return last, nil
}
