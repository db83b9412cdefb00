package sslcert

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pgaurora/pgaurora"
)

func TestNewPlan(t *testing.T) {
	cas := testRDSCAs(t)
	now := time.Now()
	oldOnly := storeOf(cas[CA2019])
	newOnly := storeOf(cas[CAECC384G1])
	merged := oldOnly.Merge(newOnly)
	forced := now.Add(10 * 24 * time.Hour)

	cluster := func() []Instance {
		return []Instance{
			{Instance: pgaurora.Instance{ID: "w", Writer: true, Status: "available", CACertificate: CA2019, CertificateValidTill: now.Add(10 * 24 * time.Hour)}},
			{Instance: pgaurora.Instance{ID: "r2", Status: "available", CACertificate: CA2019}, PendingActions: []MaintenanceAction{{Action: "system-update"}, {Action: ActionCARotation, Description: "CA expiring", ForcedApply: forced}}},
			{Instance: pgaurora.Instance{ID: "r1", Status: "modifying", CACertificate: CA2019}},
		}
	}

	tests := []struct {
		name      string
		in        PlanInput
		steps     []string
		current   []string
		unsafe    bool   // errors.Is ErrUnsafePlan with a plan
		errText   string // invalid input: error containing this, no plan
		problems  int
		warnings  []string // substrings, one per warning
		notes     map[string][]string
		trustsTgt bool
	}{
		{
			name:      "merged store: readers first, writer last",
			in:        PlanInput{Instances: cluster(), TargetCA: CAECC384G1, TrustStore: merged},
			steps:     []string{"r1", "r2", "w"},
			trustsTgt: true,
			notes: map[string][]string{
				"w":  {"current CA rds-ca-2019 expired on 2024-08-22", "server certificate expires on"},
				"r2": {"pending ca-certificate-rotation, forced on " + forced.Format(time.DateOnly) + ": CA expiring", "current CA rds-ca-2019 expired"},
				"r1": {"current CA rds-ca-2019 expired", "status is modifying; the rotation waits for available"},
			},
		},
		{
			name:     "old CA only: unsafe",
			in:       PlanInput{Instances: cluster(), TargetCA: CAECC384G1, TrustStore: oldOnly},
			steps:    []string{"r1", "r2", "w"},
			unsafe:   true,
			problems: 1,
		},
		{
			name:     "old CA only, forced",
			in:       PlanInput{Instances: cluster(), TargetCA: CAECC384G1, TrustStore: oldOnly, Force: true},
			steps:    []string{"r1", "r2", "w"},
			problems: 1,
		},
		{
			name:     "no trust store: unsafe",
			in:       PlanInput{Instances: cluster(), TargetCA: CAECC384G1},
			steps:    []string{"r1", "r2", "w"},
			unsafe:   true,
			problems: 1,
		},
		{
			name:      "new CA only: safe, warns about instances still on the old CA",
			in:        PlanInput{Instances: cluster(), TargetCA: CAECC384G1, TrustStore: newOnly},
			steps:     []string{"r1", "r2", "w"},
			trustsTgt: true,
			warnings:  []string{"does not trust the current CA of r1 (rds-ca-2019), r2 (rds-ca-2019), w (rds-ca-2019)"},
		},
		{
			name: "partly rotated: only the rest",
			in: PlanInput{Instances: []Instance{
				{Instance: pgaurora.Instance{ID: "w", Writer: true, CACertificate: CA2019}},
				{Instance: pgaurora.Instance{ID: "r1", CACertificate: CAECC384G1}},
			}, TargetCA: CAECC384G1, TrustStore: merged},
			steps: []string{"w"}, current: []string{"r1"}, trustsTgt: true,
			notes: map[string][]string{"w": {"current CA rds-ca-2019 expired"}, "r1": nil},
		},
		{
			name: "all on target: nothing to do, safe even with an old-only store",
			in: PlanInput{Instances: []Instance{
				{Instance: pgaurora.Instance{ID: "w", Writer: true, CACertificate: CAECC384G1}},
			}, TargetCA: CAECC384G1, TrustStore: oldOnly},
			current: []string{"w"},
		},
		{
			name: "no writer",
			in: PlanInput{Instances: []Instance{
				{Instance: pgaurora.Instance{ID: "b", CACertificate: CARSA2048G1}}, {Instance: pgaurora.Instance{ID: "a"}},
			}, TargetCA: CAECC384G1, TrustStore: merged},
			steps: []string{"a", "b"}, trustsTgt: true,
			warnings: []string{"no writer", "does not trust the current CA of b (rds-ca-rsa2048-g1)"},
			notes:    map[string][]string{"a": {"current CA is unknown"}, "b": nil},
		},
		{name: "missing target", in: PlanInput{Instances: cluster()}, errText: "TargetCA is required; allowed values: rds-ca-2019, rds-ca-ecc384-g1, rds-ca-rsa2048-g1, rds-ca-rsa4096-g1"},
		{name: "unknown target", in: PlanInput{Instances: cluster(), TargetCA: "rds-ca-2015"}, errText: `TargetCA "rds-ca-2015" is not a known CA`},
		{name: "expired target", in: PlanInput{Instances: cluster(), TargetCA: CA2019}, errText: "expired on 2024-08-22; choose another of: rds-ca-ecc384-g1, rds-ca-rsa2048-g1, rds-ca-rsa4096-g1"},
		{name: "no instances", in: PlanInput{TargetCA: CAECC384G1}, errText: "Instances is empty"},
		{name: "empty ID", in: PlanInput{TargetCA: CAECC384G1, Instances: []Instance{{Instance: pgaurora.Instance{ID: "a"}}, {}}}, errText: "Instances[1].ID is empty"},
		{name: "repeated ID", in: PlanInput{TargetCA: CAECC384G1, Instances: []Instance{{Instance: pgaurora.Instance{ID: "a"}}, {Instance: pgaurora.Instance{ID: "a"}}}}, errText: `Instances[1].ID "a" is listed twice`},
		{name: "two writers", in: PlanInput{TargetCA: CAECC384G1, Instances: []Instance{{Instance: pgaurora.Instance{ID: "a", Writer: true}}, {Instance: pgaurora.Instance{ID: "b", Writer: true}}}}, errText: "2 writers (a, b)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.ClusterID = "c1"
			tc.in.Now = now
			p, err := NewPlan(tc.in)
			if tc.errText != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errText) || p != nil {
					t.Fatalf("NewPlan = %v, %v; want no plan and an error containing %q", p, err, tc.errText)
				}
				return
			}
			if tc.unsafe {
				var ue *UnsafePlanError
				if !errors.Is(err, ErrUnsafePlan) || !errors.As(err, &ue) || p == nil || p.Safe() || p.Forced {
					t.Fatalf("NewPlan = %v, %v; want the plan and ErrUnsafePlan", p, err)
				}
				if len(ue.Problems) != tc.problems {
					t.Errorf("error problems = %q", ue.Problems)
				}
			} else if err != nil {
				t.Fatalf("NewPlan: %v", err)
			}
			if diff := cmp.Diff(tc.steps, p.Steps()); diff != "" {
				t.Errorf("steps (-want +got):\n%s", diff)
			}
			var current []string
			for i, ip := range p.Instances {
				if !ip.Rotate {
					current = append(current, ip.ID)
					if ip.Order != 0 {
						t.Errorf("%s: Order %d for an instance not rotated", ip.ID, ip.Order)
					}
				} else if ip.Order != i+1 {
					t.Errorf("%s: Order %d at position %d", ip.ID, ip.Order, i)
				}
				if want, ok := tc.notes[ip.ID]; ok {
					if len(want) != len(ip.Notes) {
						t.Errorf("%s notes = %q, want %d matching %q", ip.ID, ip.Notes, len(want), want)
						continue
					}
					for j, w := range want {
						if !strings.Contains(ip.Notes[j], w) {
							t.Errorf("%s note %d = %q, want it to contain %q", ip.ID, j, ip.Notes[j], w)
						}
					}
				}
			}
			if diff := cmp.Diff(tc.current, current); diff != "" {
				t.Errorf("already current (-want +got):\n%s", diff)
			}
			if len(p.Problems) != tc.problems {
				t.Errorf("Problems = %q, want %d", p.Problems, tc.problems)
			}
			if p.Forced != (tc.in.Force && tc.problems > 0) {
				t.Errorf("Forced = %v", p.Forced)
			}
			if len(p.Warnings) != len(tc.warnings) {
				t.Errorf("Warnings = %q, want %d", p.Warnings, len(tc.warnings))
			} else {
				for i, w := range tc.warnings {
					if !strings.Contains(p.Warnings[i], w) {
						t.Errorf("warning %q does not contain %q", p.Warnings[i], w)
					}
				}
			}
			if p.TrustsTarget != tc.trustsTgt {
				t.Errorf("TrustsTarget = %v, want %v", p.TrustsTarget, tc.trustsTgt)
			}
			if s := p.String(); !strings.Contains(s, "cluster c1 to "+CAECC384G1) {
				t.Errorf("String() = %q", s)
			}
		})
	}
}

func TestPlanString(t *testing.T) {
	cas := testRDSCAs(t)
	p, err := NewPlan(PlanInput{
		ClusterID: "c1", TargetCA: CAECC384G1, TrustStore: storeOf(cas[CA2019]),
		Instances: []Instance{{Instance: pgaurora.Instance{ID: "w", Writer: true, Status: "available", CACertificate: CA2019}}, {Instance: pgaurora.Instance{ID: "r", Status: "available", CACertificate: CA2019}}},
		Now:       time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
	})
	if !errors.Is(err, ErrUnsafePlan) {
		t.Fatalf("err = %v", err)
	}
	want := `CA rotation of cluster c1 to rds-ca-ecc384-g1 (UNSAFE, refused)
  r (reader, available): step 1: rds-ca-2019 -> rds-ca-ecc384-g1
    - current CA rds-ca-2019 expired on 2024-08-22
  w (writer, available): step 2: rds-ca-2019 -> rds-ca-ecc384-g1
    - current CA rds-ca-2019 expired on 2024-08-22
  problem: the client trust store does not trust rds-ca-ecc384-g1: clients verifying the server (verify-ca/verify-full) would fail on every rotated instance; merge the new CA into the bundle first and keep the old CAs
`
	if diff := cmp.Diff(want, p.String()); diff != "" {
		t.Errorf("String (-want +got):\n%s", diff)
	}
	if !strings.Contains(err.Error(), "Force") {
		t.Errorf("error %q does not say how to override", err)
	}
}
