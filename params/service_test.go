package params

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/google/go-cmp/cmp"
)

// noCallAPI satisfies RDSAPI with a nil embedded interface: any call
// panics. It proves that input is rejected before anything reaches RDS.
type noCallAPI struct{ RDSAPI }

func TestServiceRejectsBeforeAnyCall(t *testing.T) {
	ctx := context.Background()
	svc := New(noCallAPI{}, WithEngineVersion("15.4"))
	tests := []struct {
		name    string
		call    func() error
		wantErr string
	}{
		{"unknown kind", func() error { return svc.Modify(ctx, Kind(0), "g", Change{Name: "a", Value: "1"}) }, "kind"},
		{"bad group name", func() error { return svc.Modify(ctx, ClusterGroup, "bad--name", Change{Name: "a", Value: "1"}) }, "two consecutive hyphens"},
		{"default group", func() error {
			return svc.Modify(ctx, ClusterGroup, "default.aurora-postgresql15", Change{Name: "a", Value: "1"})
		}, "default parameter group"},
		{"bad enum", func() error {
			return svc.Modify(ctx, ClusterGroup, "g", Change{Name: "pglogical.conflict_resolution", Value: "newest"})
		}, "one of: error, apply_remote"},
		{"static immediate", func() error {
			return svc.Modify(ctx, ClusterGroup, "g", Change{Name: "rds.logical_replication", Value: "1", Method: types.ApplyMethodImmediate})
		}, "static"},
		{"out of range", func() error {
			return svc.Modify(ctx, ClusterGroup, "g", Change{Name: "max_wal_senders", Value: "1"})
		}, "out of range"},
		{"engine version", func() error {
			return svc.Modify(ctx, ClusterGroup, "g", Change{Name: "pgaudit.log_parameter_max_size", Value: "1"})
		}, "needs version 16"},
		{"one bad among good", func() error {
			return svc.Modify(ctx, ClusterGroup, "g", Change{Name: "work_mem", Value: "1"}, Change{Name: "rds.force_ssl", Value: "x"})
		}, "rds.force_ssl"},
		{"nothing to modify", func() error { return svc.Modify(ctx, ClusterGroup, "g") }, ""},
		{"plan bad change", func() error {
			_, err := svc.Plan(ctx, ClusterGroup, "g", Change{Name: "pgaudit.role", Value: "x"})
			return err
		}, "rds_pgaudit"},
		{"apply empty plan", func() error { return svc.Apply(ctx, Plan{Kind: ClusterGroup, Group: "g"}) }, ""},
		{"reset no names", func() error { return svc.Reset(ctx, ClusterGroup, "g") }, "name the parameters"},
		{"reset bad group", func() error { return svc.ResetAll(ctx, InstanceGroup, "g-") }, "ends with a hyphen"},
		{"create without family", func() error {
			_, err := svc.CreateGroup(ctx, Group{Name: "g", Kind: ClusterGroup, Description: "d"})
			return err
		}, "family"},
		{"create without description", func() error {
			_, err := svc.CreateGroup(ctx, Group{Name: "g", Kind: ClusterGroup, Family: "aurora-postgresql15"})
			return err
		}, "description"},
		{"create with a control character in the description", func() error {
			_, err := svc.CreateGroup(ctx, Group{Name: "g", Kind: ClusterGroup, Family: "aurora-postgresql15", Description: "ctl\x01"})
			return err
		}, `description "ctl\x01" holds a control character`},
		{"create with invalid UTF-8 in the description", func() error {
			_, err := svc.CreateGroup(ctx, Group{Name: "g", Kind: ClusterGroup, Family: "aurora-postgresql15", Description: "bad\xff"})
			return err
		}, "invalid UTF-8"},
		{"delete bad name", func() error { return svc.DeleteGroup(ctx, ClusterGroup, "9g") }, "start with an ASCII letter"},
		{"describe empty name", func() error { _, err := svc.DescribeGroup(ctx, ClusterGroup, ""); return err }, "empty"},
		{"list bad source", func() error {
			_, err := svc.ListParameters(ctx, ClusterGroup, "default.aurora-postgresql15", &ListOptions{Source: "users"})
			return err
		}, `source "users" is not a parameter source`},
		{"members empty cluster", func() error { _, err := svc.Members(ctx, " "); return err }, "cluster"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("err = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestServiceWithoutAPI(t *testing.T) {
	var svc *Service
	if err := svc.Modify(context.Background(), ClusterGroup, "g", Change{Name: "a", Value: "1"}); !errors.Is(err, errNilAPI) {
		t.Fatalf("nil service: %v", err)
	}
	if _, err := New(nil).ListGroups(context.Background(), ClusterGroup); !errors.Is(err, errNilAPI) {
		t.Fatalf("nil api: %v", err)
	}
}

func TestSDKConversions(t *testing.T) {
	p := fromSDKParameter(types.Parameter{
		ParameterName:        aws.String("max_wal_senders"),
		ParameterValue:       aws.String("10"),
		Source:               aws.String("system"),
		ApplyType:            aws.String("static"),
		DataType:             aws.String("integer"),
		AllowedValues:        aws.String("5-262143"),
		IsModifiable:         aws.Bool(true),
		MinimumEngineVersion: aws.String("15.2"),
		Description:          aws.String("Sets the maximum number of simultaneously running WAL sender processes."),
		ApplyMethod:          types.ApplyMethodPendingReboot,
	})
	want := Parameter{Name: "max_wal_senders", Value: "10", Source: SourceSystem, ApplyType: Static, DataType: "integer",
		AllowedValues: "5-262143", Modifiable: true, MinimumEngineVersion: "15.2",
		Description: "Sets the maximum number of simultaneously running WAL sender processes.", ApplyMethod: types.ApplyMethodPendingReboot}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	if got := fromSDKParameter(types.Parameter{}); got != (Parameter{}) {
		t.Fatalf("empty parameter: %+v", got)
	}

	ps := toSDKParameters([]Change{{Name: "a", Value: "1", Method: types.ApplyMethodImmediate}}, true)
	if aws.ToString(ps[0].ParameterName) != "a" || aws.ToString(ps[0].ParameterValue) != "1" || ps[0].ApplyMethod != types.ApplyMethodImmediate {
		t.Fatalf("toSDKParameters: %+v", ps[0])
	}
	ps = toSDKParameters([]Change{{Name: "a", Method: types.ApplyMethodPendingReboot}}, false)
	if ps[0].ParameterValue != nil || ps[0].ApplyMethod != types.ApplyMethodPendingReboot {
		t.Fatalf("reset parameters carry a value: %+v", ps[0])
	}

	g := fromSDKClusterGroup(types.DBClusterParameterGroup{DBClusterParameterGroupName: aws.String("g"),
		DBParameterGroupFamily: aws.String("aurora-postgresql15"), Description: aws.String("d"), DBClusterParameterGroupArn: aws.String("arn")})
	if g != (Group{Name: "g", Kind: ClusterGroup, Family: "aurora-postgresql15", Description: "d", ARN: "arn"}) {
		t.Fatalf("cluster group: %+v", g)
	}
	g = fromSDKInstanceGroup(types.DBParameterGroup{DBParameterGroupName: aws.String("i")})
	if g.Kind != InstanceGroup || g.Name != "i" {
		t.Fatalf("instance group: %+v", g)
	}
}

func TestWrapAPI(t *testing.T) {
	nf := &types.DBParameterGroupNotFoundFault{Message: aws.String("DBClusterParameterGroup not found: g")}
	err := wrapAPI(nf, "describe cluster parameter group %q", "g")
	if !errors.Is(err, ErrGroupNotFound) {
		t.Fatalf("not found not marked: %v", err)
	}
	var got *types.DBParameterGroupNotFoundFault
	if !errors.As(err, &got) {
		t.Fatal("fault lost")
	}
	if !strings.Contains(err.Error(), `describe cluster parameter group "g"`) {
		t.Fatalf("message: %v", err)
	}
	other := wrapAPI(errors.New("boom"), "modify")
	if errors.Is(other, ErrGroupNotFound) || !strings.Contains(other.Error(), "params: modify: boom") {
		t.Fatalf("other: %v", other)
	}
}
