package params

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/google/go-cmp/cmp"

	"github.com/pgaurora/pgaurora"
)

func TestRebootBatches(t *testing.T) {
	members := []Member{
		{Instance: "w", Writer: true, PromotionTier: 0},
		{Instance: "r-b", PromotionTier: 1},
		{Instance: "r-a", PromotionTier: 1},
		{Instance: "r-low", PromotionTier: 15},
		{Instance: "r-first", PromotionTier: 0},
	}
	ids := func(bs [][]Member) [][]string {
		var out [][]string
		for _, b := range bs {
			var ids []string
			for _, m := range b {
				ids = append(ids, m.Instance)
			}
			out = append(out, ids)
		}
		return out
	}
	tests := []struct {
		name     string
		members  []Member
		parallel int
		want     [][]string
	}{
		{"one at a time, readers by tier then name, writer last", members, 1,
			[][]string{{"r-low"}, {"r-a"}, {"r-b"}, {"r-first"}, {"w"}}},
		{"zero means one", members, 0,
			[][]string{{"r-low"}, {"r-a"}, {"r-b"}, {"r-first"}, {"w"}}},
		{"two readers at a time, writer alone", members, 2,
			[][]string{{"r-low", "r-a"}, {"r-b", "r-first"}, {"w"}}},
		{"more parallel than readers", members, 10,
			[][]string{{"r-low", "r-a", "r-b", "r-first"}, {"w"}}},
		{"writer only", []Member{{Instance: "w", Writer: true}}, 1, [][]string{{"w"}}},
		{"nothing", nil, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, ids(rebootBatches(tt.members, tt.parallel))); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestRebootOptionsDefaults(t *testing.T) {
	var nilOpts *RebootOptions
	o := nilOpts.withDefaults()
	if o.Parallel != 1 || o.Wait != (pgaurora.Wait{MinDelay: 2 * time.Second, MaxDelay: 30 * time.Second, MaxWait: 30 * time.Minute}) {
		t.Fatalf("defaults %+v", o)
	}
	o = (&RebootOptions{Wait: pgaurora.Wait{MinDelay: time.Minute}}).withDefaults()
	if o.Wait.MinDelay != time.Minute || o.Wait.MaxDelay != 30*time.Second {
		t.Fatalf("a set field was not kept, or a zero one not filled: %+v", o)
	}
}

func TestMemberOf(t *testing.T) {
	cm := types.DBClusterMember{
		DBInstanceIdentifier:          aws.String("c1-1"),
		IsClusterWriter:               aws.Bool(true),
		PromotionTier:                 aws.Int32(1),
		DBClusterParameterGroupStatus: aws.String("in-sync"),
	}
	tests := []struct {
		name        string
		inst        *types.DBInstance
		want        Member
		pending     bool
		inSync      bool
		description string
	}{
		{"in sync", &types.DBInstance{DBInstanceStatus: aws.String("available"),
			DBParameterGroups: []types.DBParameterGroupStatus{{ParameterApplyStatus: aws.String("in-sync")}}},
			Member{Instance: "c1-1", Writer: true, PromotionTier: 1, Status: "available", ClusterParamStatus: "in-sync", InstanceParamStatus: "in-sync"},
			false, true, ""},
		{"instance group pending", &types.DBInstance{DBInstanceStatus: aws.String("available"),
			DBParameterGroups: []types.DBParameterGroupStatus{
				{ParameterApplyStatus: aws.String("in-sync")},
				{ParameterApplyStatus: aws.String("pending-reboot")},
				{ParameterApplyStatus: aws.String("applying")},
			}},
			Member{Instance: "c1-1", Writer: true, PromotionTier: 1, Status: "available", ClusterParamStatus: "in-sync", InstanceParamStatus: "pending-reboot"},
			true, false, ""},
		{"rebooting", &types.DBInstance{DBInstanceStatus: aws.String("rebooting")},
			Member{Instance: "c1-1", Writer: true, PromotionTier: 1, Status: "rebooting", ClusterParamStatus: "in-sync"},
			false, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := memberOf(cm, tt.inst)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
			if got.PendingReboot() != tt.pending || got.InSync() != tt.inSync {
				t.Fatalf("PendingReboot=%v InSync=%v, want %v %v", got.PendingReboot(), got.InSync(), tt.pending, tt.inSync)
			}
		})
	}
	cm.DBClusterParameterGroupStatus = aws.String("pending-reboot")
	if m := memberOf(cm, nil); !m.PendingReboot() || m.InSync() {
		t.Fatalf("cluster pending not seen: %+v", m)
	}
}

func TestRebootError(t *testing.T) {
	cause := errors.New("deadline")
	e := &RebootError{Cluster: "c1", Done: []string{"r1"}, Failed: "r2", Unconfirmed: []string{"r3"}, NotRebooted: []string{"w"}, Err: cause}
	if !errors.Is(e, cause) {
		t.Fatal("cause not wrapped")
	}
	for _, want := range []string{`cluster "c1"`, `instance "r2"`, "in-sync [r1]", "rebooting [r3]", "not rebooted [w]"} {
		if !strings.Contains(e.Error(), want) {
			t.Errorf("%q lacks %q", e.Error(), want)
		}
	}
}
