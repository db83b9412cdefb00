package rdsread

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/google/go-cmp/cmp"

	"github.com/pgaurora/pgaurora"
)

func TestFromDB(t *testing.T) {
	cm := types.DBClusterMember{
		DBInstanceIdentifier:          aws.String("c1-1"),
		IsClusterWriter:               aws.Bool(true),
		PromotionTier:                 aws.Int32(1),
		DBClusterParameterGroupStatus: aws.String("in-sync"),
	}
	tests := []struct {
		name        string
		inst        *types.DBInstance
		want        pgaurora.Instance
		pending     bool
		inSync      bool
		description string
	}{
		{"in sync", &types.DBInstance{DBInstanceIdentifier: aws.String("c1-1"), DBInstanceStatus: aws.String("available"),
			DBParameterGroups: []types.DBParameterGroupStatus{{ParameterApplyStatus: aws.String("in-sync")}}},
			pgaurora.Instance{ID: "c1-1", Writer: true, PromotionTier: 1, Status: "available", ClusterParameterGroupStatus: "in-sync", ParameterApplyStatus: "in-sync"},
			false, true, ""},
		{"instance group pending", &types.DBInstance{DBInstanceIdentifier: aws.String("c1-1"), DBInstanceStatus: aws.String("available"),
			DBParameterGroups: []types.DBParameterGroupStatus{
				{ParameterApplyStatus: aws.String("in-sync")},
				{ParameterApplyStatus: aws.String("pending-reboot")},
				{ParameterApplyStatus: aws.String("applying")},
			}},
			pgaurora.Instance{ID: "c1-1", Writer: true, PromotionTier: 1, Status: "available", ClusterParameterGroupStatus: "in-sync", ParameterApplyStatus: "pending-reboot"},
			true, false, ""},
		{"rebooting", &types.DBInstance{DBInstanceIdentifier: aws.String("c1-1"), DBInstanceStatus: aws.String("rebooting")},
			pgaurora.Instance{ID: "c1-1", Writer: true, PromotionTier: 1, Status: "rebooting", ClusterParameterGroupStatus: "in-sync"},
			false, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FromDB(*tt.inst, &cm)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
			if got.PendingReboot() != tt.pending || got.InSync() != tt.inSync {
				t.Fatalf("PendingReboot=%v InSync=%v, want %v %v", got.PendingReboot(), got.InSync(), tt.pending, tt.inSync)
			}
		})
	}
	cm.DBClusterParameterGroupStatus = aws.String("pending-reboot")
	if m := FromDB(types.DBInstance{DBInstanceIdentifier: aws.String("c1-1")}, &cm); !m.PendingReboot() || m.InSync() {
		t.Fatalf("cluster pending not seen: %+v", m)
	}
}
