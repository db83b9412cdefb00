package sslcert

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pgaurora/pgaurora"
)

// ActionCARotation is the pending maintenance action RDS reports for an
// instance whose CA certificate is due for rotation.
const ActionCARotation = "ca-certificate-rotation"

// ErrUnsafePlan is returned (wrapped in *UnsafePlanError) when a rotation
// would break clients that use the given trust store.
var ErrUnsafePlan = errors.New("CA rotation is not safe for this client trust store")

// UnsafePlanError lists why a rotation plan was refused.
type UnsafePlanError struct {
	// ClusterID and TargetCA identify the refused rotation.
	ClusterID, TargetCA string
	// Problems are the reasons, one sentence each.
	Problems []string
}

func (e *UnsafePlanError) Error() string {
	return fmt.Sprintf("sslcert: plan CA rotation of cluster %q to %s: %v: %s (set Force to rotate anyway)",
		e.ClusterID, e.TargetCA, ErrUnsafePlan, strings.Join(e.Problems, "; "))
}

// Is makes errors.Is(err, ErrUnsafePlan) true.
func (e *UnsafePlanError) Is(target error) bool { return target == ErrUnsafePlan }

// MaintenanceAction is one pending maintenance action of an instance, from
// DescribePendingMaintenanceActions.
type MaintenanceAction struct {
	// Action is the action type, for example "ca-certificate-rotation".
	Action string
	// Description is RDS's description of it.
	Description string
	// OptInStatus is the opt-in received, if any.
	OptInStatus string
	// AutoAppliedAfter, ForcedApply and CurrentApply are the action's
	// dates; zero when RDS reports none.
	AutoAppliedAfter, ForcedApply, CurrentApply time.Time
}

// Instance is what the rotation planner knows about one cluster member:
// the SDK's instance model (current CA, server certificate expiry,
// status, endpoint) and the instance's pending maintenance actions.
type Instance struct {
	pgaurora.Instance
	// PendingActions are the instance's pending maintenance actions.
	PendingActions []MaintenanceAction
}

// PendingCARotation returns the instance's pending ca-certificate-rotation
// action, if any.
func (i Instance) PendingCARotation() (MaintenanceAction, bool) {
	for _, a := range i.PendingActions {
		if a.Action == ActionCARotation {
			return a, true
		}
	}
	return MaintenanceAction{}, false
}

// PlanInput is everything NewPlan decides from.
type PlanInput struct {
	// ClusterID is the DB cluster identifier (for messages).
	ClusterID string
	// Instances are the cluster's members.
	Instances []Instance
	// TargetCA is the CA identifier to rotate to.
	TargetCA string
	// TrustStore is the trust store of the clients that must survive the
	// rotation (their sslrootcert). Nil means unknown, which is refused
	// unless Force is set.
	TrustStore *TrustStore
	// Catalog lists the valid CA identifiers and recognises CA
	// certificates; nil means the trust store's catalog or DefaultCatalog.
	Catalog *Catalog
	// Now is the planning time; zero means time.Now().
	Now time.Time
	// Force plans the rotation even when the trust store would not
	// survive it.
	Force bool
	// ExpiryWarning is how close to expiry a server certificate or the
	// target CA gets a warning; zero means 30 days.
	ExpiryWarning time.Duration
}

// InstancePlan is one instance in a plan.
type InstancePlan struct {
	Instance
	// Rotate says the instance will be modified; false when it already
	// uses the target CA.
	Rotate bool
	// Order is the instance's 1-based position in the rotation, 0 when it
	// is not rotated.
	Order int
	// Notes are facts about this instance worth showing (pending
	// maintenance, expiring certificate, status).
	Notes []string
}

// Plan is a CA rotation plan for one cluster: which instances change, in
// which order (readers first, the writer last), and whether the client
// trust store survives it.
type Plan struct {
	// ClusterID and TargetCA identify the rotation.
	ClusterID, TargetCA string
	// Target is the catalog entry of the target CA.
	Target CA
	// Instances are all members: the ones to rotate in order, then the
	// ones already on the target CA.
	Instances []InstancePlan
	// TrustStore is the client trust store the plan was checked against.
	TrustStore *TrustStore
	// Catalog is the catalog the plan was made with.
	Catalog *Catalog
	// TrustsTarget says the trust store trusts the target CA.
	TrustsTarget bool
	// Problems are reasons the rotation would break clients; a plan with
	// problems is refused unless Forced.
	Problems []string
	// Warnings are facts worth knowing that do not make the rotation
	// unsafe.
	Warnings []string
	// Forced says the plan was made with Force despite its problems.
	Forced bool
	// Now is the planning time.
	Now time.Time
}

// Steps returns the identifiers of the instances to rotate, in order.
func (p *Plan) Steps() []string {
	var ids []string
	for _, ip := range p.Instances {
		if ip.Rotate {
			ids = append(ids, ip.ID)
		}
	}
	return ids
}

// Safe reports whether the plan has no problems.
func (p *Plan) Safe() bool { return len(p.Problems) == 0 }

// String renders the plan for a person.
func (p *Plan) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "CA rotation of cluster %s to %s", p.ClusterID, p.TargetCA)
	switch {
	case !p.Safe() && p.Forced:
		b.WriteString(" (UNSAFE, forced)")
	case !p.Safe():
		b.WriteString(" (UNSAFE, refused)")
	}
	b.WriteString("\n")
	for _, ip := range p.Instances {
		role := "reader"
		if ip.Writer {
			role = "writer"
		}
		action := "already on target"
		if ip.Rotate {
			action = fmt.Sprintf("step %d: %s -> %s", ip.Order, orUnknown(ip.CACertificate), p.TargetCA)
		}
		fmt.Fprintf(&b, "  %s (%s, %s): %s\n", ip.ID, role, orUnknown(ip.Status), action)
		for _, n := range ip.Notes {
			fmt.Fprintf(&b, "    - %s\n", n)
		}
	}
	for _, pr := range p.Problems {
		fmt.Fprintf(&b, "  problem: %s\n", pr)
	}
	for _, w := range p.Warnings {
		fmt.Fprintf(&b, "  warning: %s\n", w)
	}
	return b.String()
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// NewPlan decides a CA rotation from the given facts, without any I/O.
//
// Invalid input (no target, a target the catalog does not list or that has
// expired, no instances, empty or repeated identifiers, several writers)
// is an error and no plan. A rotation the trust store would not survive —
// no trust store given, or one that does not trust the target CA — returns
// the plan together with an *UnsafePlanError (errors.Is ErrUnsafePlan),
// unless in.Force is set, in which case the plan is returned with its
// Problems and Forced set and no error.
func NewPlan(in PlanInput) (*Plan, error) {
	cat := in.Catalog
	if cat == nil && in.TrustStore != nil {
		cat = in.TrustStore.catalog
	}
	now := in.Now
	if now.IsZero() {
		now = time.Now()
	}
	warnWithin := in.ExpiryWarning
	if warnWithin <= 0 {
		warnWithin = 30 * 24 * time.Hour
	}
	prefix := fmt.Sprintf("sslcert: plan CA rotation of cluster %q", in.ClusterID)

	if in.TargetCA == "" {
		return nil, fmt.Errorf("%s: TargetCA is required; allowed values: %s", prefix, strings.Join(cat.IDs(), ", "))
	}
	target, ok := cat.Lookup(in.TargetCA)
	if !ok {
		return nil, fmt.Errorf("%s: TargetCA %q is not a known CA; allowed values: %s", prefix, in.TargetCA, strings.Join(cat.IDs(), ", "))
	}
	if target.ExpiredAt(now) {
		return nil, fmt.Errorf("%s: TargetCA %s expired on %s; choose another of: %s", prefix, target.ID, target.ValidTill.Format(time.DateOnly), strings.Join(validIDs(cat, now), ", "))
	}
	if len(in.Instances) == 0 {
		return nil, fmt.Errorf("%s: Instances is empty; the cluster has no DB instances to rotate", prefix)
	}
	seen := map[string]bool{}
	var writers []string
	for i, inst := range in.Instances {
		if inst.ID == "" {
			return nil, fmt.Errorf("%s: Instances[%d].ID is empty", prefix, i)
		}
		if seen[inst.ID] {
			return nil, fmt.Errorf("%s: Instances[%d].ID %q is listed twice", prefix, i, inst.ID)
		}
		seen[inst.ID] = true
		if inst.Writer {
			writers = append(writers, inst.ID)
		}
	}
	if len(writers) > 1 {
		return nil, fmt.Errorf("%s: Instances has %d writers (%s); a cluster has at most one", prefix, len(writers), strings.Join(writers, ", "))
	}

	p := &Plan{
		ClusterID:  in.ClusterID,
		TargetCA:   target.ID,
		Target:     target,
		TrustStore: in.TrustStore,
		Catalog:    cat,
		Now:        now,
	}

	// Order: readers to rotate (by ID), the writer to rotate, then the
	// instances already on the target.
	var rotate, current []InstancePlan
	for _, inst := range in.Instances {
		ip := InstancePlan{Instance: inst, Rotate: inst.CACertificate != target.ID}
		ip.PendingActions = slices.Clone(inst.PendingActions)
		if a, ok := inst.PendingCARotation(); ok {
			n := "pending " + ActionCARotation
			if !a.ForcedApply.IsZero() {
				n += ", forced on " + a.ForcedApply.Format(time.DateOnly)
			} else if !a.AutoAppliedAfter.IsZero() {
				n += ", auto-applied after " + a.AutoAppliedAfter.Format(time.DateOnly)
			}
			if a.Description != "" {
				n += ": " + a.Description
			}
			ip.Notes = append(ip.Notes, n)
		}
		if inst.CACertificate == "" {
			ip.Notes = append(ip.Notes, "current CA is unknown")
		} else if ca, ok := cat.Lookup(inst.CACertificate); ok && ca.ExpiredAt(now) {
			ip.Notes = append(ip.Notes, fmt.Sprintf("current CA %s expired on %s", ca.ID, ca.ValidTill.Format(time.DateOnly)))
		}
		if t := inst.CertificateValidTill; !t.IsZero() {
			switch {
			case !now.Before(t):
				ip.Notes = append(ip.Notes, "server certificate expired on "+t.Format(time.DateOnly))
			case t.Sub(now) < warnWithin:
				ip.Notes = append(ip.Notes, "server certificate expires on "+t.Format(time.DateOnly))
			}
		}
		if inst.Status != "" && inst.Status != "available" {
			ip.Notes = append(ip.Notes, fmt.Sprintf("status is %s; the rotation waits for available", inst.Status))
		}
		if ip.Rotate {
			rotate = append(rotate, ip)
		} else {
			current = append(current, ip)
		}
	}
	slices.SortStableFunc(rotate, func(a, b InstancePlan) int {
		if a.Writer != b.Writer {
			if a.Writer {
				return 1
			}
			return -1
		}
		return strings.Compare(a.ID, b.ID)
	})
	slices.SortStableFunc(current, func(a, b InstancePlan) int { return strings.Compare(a.ID, b.ID) })
	for i := range rotate {
		rotate[i].Order = i + 1
	}
	p.Instances = append(rotate, current...)

	if len(writers) == 0 {
		p.Warnings = append(p.Warnings, "no writer among the instances; they are rotated in identifier order")
	}
	if target.ValidTill.Sub(now) < warnWithin && !target.ValidTill.IsZero() {
		p.Warnings = append(p.Warnings, fmt.Sprintf("target CA %s expires on %s", target.ID, target.ValidTill.Format(time.DateOnly)))
	}

	// Would the client trust store survive?
	if in.TrustStore == nil {
		p.Problems = append(p.Problems, fmt.Sprintf("no client trust store given: cannot tell whether clients trust %s", target.ID))
	} else {
		p.TrustsTarget = in.TrustStore.TrustsCA(target.ID, now)
		if !p.TrustsTarget && len(rotate) > 0 {
			p.Problems = append(p.Problems, fmt.Sprintf(
				"the client trust store does not trust %s: clients verifying the server (verify-ca/verify-full) would fail on every rotated instance; merge the new CA into the bundle first and keep the old CAs", target.ID))
		}
		// CAs still in use that the store does not trust: those clients
		// fail today, until their instance is rotated.
		var untrusted []string
		for _, ip := range p.Instances {
			if !ip.Rotate || ip.CACertificate == "" {
				continue
			}
			if !in.TrustStore.TrustsCA(ip.CACertificate, now) {
				untrusted = append(untrusted, fmt.Sprintf("%s (%s)", ip.ID, ip.CACertificate))
			}
		}
		if len(untrusted) > 0 {
			p.Warnings = append(p.Warnings, "the client trust store does not trust the current CA of "+
				strings.Join(untrusted, ", ")+": verifying clients cannot connect to these until they are rotated")
		}
	}
	if len(p.Problems) > 0 {
		if in.Force {
			p.Forced = true
			return p, nil
		}
		return p, &UnsafePlanError{ClusterID: in.ClusterID, TargetCA: target.ID, Problems: slices.Clone(p.Problems)}
	}
	return p, nil
}

func validIDs(cat *Catalog, now time.Time) []string {
	var ids []string
	for _, ca := range cat.CAs() {
		if !ca.ExpiredAt(now) {
			ids = append(ids, ca.ID)
		}
	}
	return ids
}
