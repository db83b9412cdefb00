// End-to-end tests of the Service against the local Aurora emulator
// (aurora/auroratest) through the real aws-sdk-go-v2 RDS client.

package params_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/aurora/auroratest"
	"github.com/pgaurora/pgaurora/params"
)

const family = "aurora-postgresql15"

// countingAPI passes every call to a real *rds.Client and records it: the
// operation name and, for modifications, the apply method of each
// parameter sent. It is a wrapper, not a mock: every call reaches the
// emulator.
type countingAPI struct {
	c *rds.Client

	mu    sync.Mutex
	calls []string
	// modifies holds, per ModifyDB*ParameterGroup call, the apply methods
	// of its parameters.
	modifies [][]string
}

func (a *countingAPI) record(op string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, op)
}

func (a *countingAPI) recordModify(ps []types.Parameter) {
	methods := make([]string, len(ps))
	for i, p := range ps {
		methods[i] = string(p.ApplyMethod)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.modifies = append(a.modifies, methods)
}

func (a *countingAPI) reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls, a.modifies = nil, nil
}

func (a *countingAPI) snapshot() (calls []string, modifies [][]string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.calls), slices.Clone(a.modifies)
}

func (a *countingAPI) CreateDBClusterParameterGroup(ctx context.Context, in *rds.CreateDBClusterParameterGroupInput, o ...func(*rds.Options)) (*rds.CreateDBClusterParameterGroupOutput, error) {
	a.record("CreateDBClusterParameterGroup")
	return a.c.CreateDBClusterParameterGroup(ctx, in, o...)
}
func (a *countingAPI) CreateDBParameterGroup(ctx context.Context, in *rds.CreateDBParameterGroupInput, o ...func(*rds.Options)) (*rds.CreateDBParameterGroupOutput, error) {
	a.record("CreateDBParameterGroup")
	return a.c.CreateDBParameterGroup(ctx, in, o...)
}
func (a *countingAPI) DeleteDBClusterParameterGroup(ctx context.Context, in *rds.DeleteDBClusterParameterGroupInput, o ...func(*rds.Options)) (*rds.DeleteDBClusterParameterGroupOutput, error) {
	a.record("DeleteDBClusterParameterGroup")
	return a.c.DeleteDBClusterParameterGroup(ctx, in, o...)
}
func (a *countingAPI) DeleteDBParameterGroup(ctx context.Context, in *rds.DeleteDBParameterGroupInput, o ...func(*rds.Options)) (*rds.DeleteDBParameterGroupOutput, error) {
	a.record("DeleteDBParameterGroup")
	return a.c.DeleteDBParameterGroup(ctx, in, o...)
}
func (a *countingAPI) DescribeDBClusterParameterGroups(ctx context.Context, in *rds.DescribeDBClusterParameterGroupsInput, o ...func(*rds.Options)) (*rds.DescribeDBClusterParameterGroupsOutput, error) {
	a.record("DescribeDBClusterParameterGroups")
	return a.c.DescribeDBClusterParameterGroups(ctx, in, o...)
}
func (a *countingAPI) DescribeDBParameterGroups(ctx context.Context, in *rds.DescribeDBParameterGroupsInput, o ...func(*rds.Options)) (*rds.DescribeDBParameterGroupsOutput, error) {
	a.record("DescribeDBParameterGroups")
	return a.c.DescribeDBParameterGroups(ctx, in, o...)
}
func (a *countingAPI) ModifyDBClusterParameterGroup(ctx context.Context, in *rds.ModifyDBClusterParameterGroupInput, o ...func(*rds.Options)) (*rds.ModifyDBClusterParameterGroupOutput, error) {
	a.record("ModifyDBClusterParameterGroup")
	a.recordModify(in.Parameters)
	return a.c.ModifyDBClusterParameterGroup(ctx, in, o...)
}
func (a *countingAPI) ModifyDBParameterGroup(ctx context.Context, in *rds.ModifyDBParameterGroupInput, o ...func(*rds.Options)) (*rds.ModifyDBParameterGroupOutput, error) {
	a.record("ModifyDBParameterGroup")
	a.recordModify(in.Parameters)
	return a.c.ModifyDBParameterGroup(ctx, in, o...)
}
func (a *countingAPI) ResetDBClusterParameterGroup(ctx context.Context, in *rds.ResetDBClusterParameterGroupInput, o ...func(*rds.Options)) (*rds.ResetDBClusterParameterGroupOutput, error) {
	a.record("ResetDBClusterParameterGroup")
	return a.c.ResetDBClusterParameterGroup(ctx, in, o...)
}
func (a *countingAPI) ResetDBParameterGroup(ctx context.Context, in *rds.ResetDBParameterGroupInput, o ...func(*rds.Options)) (*rds.ResetDBParameterGroupOutput, error) {
	a.record("ResetDBParameterGroup")
	return a.c.ResetDBParameterGroup(ctx, in, o...)
}
func (a *countingAPI) DescribeDBClusterParameters(ctx context.Context, in *rds.DescribeDBClusterParametersInput, o ...func(*rds.Options)) (*rds.DescribeDBClusterParametersOutput, error) {
	a.record("DescribeDBClusterParameters")
	return a.c.DescribeDBClusterParameters(ctx, in, o...)
}
func (a *countingAPI) DescribeDBParameters(ctx context.Context, in *rds.DescribeDBParametersInput, o ...func(*rds.Options)) (*rds.DescribeDBParametersOutput, error) {
	a.record("DescribeDBParameters")
	return a.c.DescribeDBParameters(ctx, in, o...)
}
func (a *countingAPI) DescribeDBClusters(ctx context.Context, in *rds.DescribeDBClustersInput, o ...func(*rds.Options)) (*rds.DescribeDBClustersOutput, error) {
	a.record("DescribeDBClusters")
	return a.c.DescribeDBClusters(ctx, in, o...)
}
func (a *countingAPI) DescribeDBInstances(ctx context.Context, in *rds.DescribeDBInstancesInput, o ...func(*rds.Options)) (*rds.DescribeDBInstancesOutput, error) {
	a.record("DescribeDBInstances")
	return a.c.DescribeDBInstances(ctx, in, o...)
}
func (a *countingAPI) RebootDBInstance(ctx context.Context, in *rds.RebootDBInstanceInput, o ...func(*rds.Options)) (*rds.RebootDBInstanceOutput, error) {
	a.record("RebootDBInstance")
	return a.c.RebootDBInstance(ctx, in, o...)
}

func (a *countingAPI) DescribeEngineDefaultClusterParameters(ctx context.Context, in *rds.DescribeEngineDefaultClusterParametersInput, o ...func(*rds.Options)) (*rds.DescribeEngineDefaultClusterParametersOutput, error) {
	a.record("DescribeEngineDefaultClusterParameters")
	return a.c.DescribeEngineDefaultClusterParameters(ctx, in, o...)
}
func (a *countingAPI) DescribeEngineDefaultParameters(ctx context.Context, in *rds.DescribeEngineDefaultParametersInput, o ...func(*rds.Options)) (*rds.DescribeEngineDefaultParametersOutput, error) {
	a.record("DescribeEngineDefaultParameters")
	return a.c.DescribeEngineDefaultParameters(ctx, in, o...)
}

var _ params.RDSAPI = (*countingAPI)(nil)

// setup starts the emulator with a 2-instance cluster "c1" and returns a
// counting client, a Service over it, and a fresh custom cluster group that
// no cluster uses (so modifying it touches no server).
func setup(t *testing.T) (context.Context, *countingAPI, *params.Service, string) {
	t.Helper()
	ctx, api, svc, name, _ := setupEmu(t)
	return ctx, api, svc, name
}

func setupEmu(t *testing.T) (context.Context, *countingAPI, *params.Service, string, *auroratest.Emulator) {
	t.Helper()
	emu := auroratest.NewT(t, auroratest.WithCluster("c1", auroratest.ClusterConfig{Instances: 2}))
	api := &countingAPI{c: rds.NewFromConfig(emu.AWSConfig())}
	svc := params.New(api)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	name := "e2e-" + strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	if len(name) > 60 {
		name = name[:60]
	}
	name = strings.TrimRight(strings.ReplaceAll(name, "--", "-"), "-")
	if _, err := svc.CreateGroup(ctx, params.Group{Name: name, Kind: params.ClusterGroup, Family: family,
		Description: "params e2e test"}); err != nil {
		t.Fatalf("create group: %v", err)
	}
	api.reset()
	return ctx, api, svc, name, emu
}

// candidates picks n modifiable parameters of the group that the SDK's
// catalog does not constrain, with a valid value for each taken from the
// API's own metadata, skipping those a together-rule would bundle.
func candidates(t *testing.T, meta []params.Parameter, n int, wantDynamic bool) []params.Change {
	t.Helper()
	var out []params.Change
	for _, p := range meta {
		if !p.Modifiable || len(out) == n {
			continue
		}
		if _, known := params.Lookup(p.Name); known ||
			params.Coupled(p.Name, params.SharedPreloadLibraries) ||
			params.Coupled(p.Name, "max_worker_processes") {
			continue
		}
		if wantDynamic && p.ApplyType != params.Dynamic {
			continue
		}
		var v string
		switch p.DataType {
		case "boolean":
			v = "1"
		case "integer":
			lo, _, ok := strings.Cut(strings.TrimPrefix(p.AllowedValues, "-"), "-")
			if !ok || strings.Contains(p.AllowedValues, ",") {
				continue
			}
			if strings.HasPrefix(p.AllowedValues, "-") {
				lo = "-" + lo
			}
			v = lo
		case "string":
			first, _, _ := strings.Cut(p.AllowedValues, ",")
			if first = strings.TrimSpace(first); first == "" {
				continue
			}
			v = first
		default:
			continue
		}
		out = append(out, params.Change{Name: p.Name, Value: v})
	}
	if len(out) < n {
		t.Fatalf("the group lists only %d usable parameters (dynamic=%v); the test needs %d", len(out), wantDynamic, n)
	}
	return out
}

func TestE2EModify95IsFiveCallsPerMethod(t *testing.T) {
	ctx, api, svc, group := setup(t)
	meta, err := svc.ListParameters(ctx, params.ClusterGroup, group, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, method := range []types.ApplyMethod{types.ApplyMethodImmediate, types.ApplyMethodPendingReboot} {
		t.Run(string(method), func(t *testing.T) {
			changes := candidates(t, meta, 95, method == types.ApplyMethodImmediate)
			for i := range changes {
				changes[i].Method = method
			}
			api.reset()
			if err := svc.Modify(ctx, params.ClusterGroup, group, changes...); err != nil {
				t.Fatalf("Modify: %v", err)
			}
			calls, modifies := api.snapshot()
			if len(calls) != 5 || len(modifies) != 5 {
				t.Fatalf("95 %s changes made calls %v, want exactly 5 ModifyDBClusterParameterGroup", method, calls)
			}
			total := 0
			for i, m := range modifies {
				if len(m) > params.MaxChangesPerCall {
					t.Errorf("call %d carries %d parameters", i+1, len(m))
				}
				for _, got := range m {
					if got != string(method) {
						t.Errorf("call %d mixes apply methods: %v", i+1, m)
						break
					}
				}
				total += len(m)
			}
			if total != 95 {
				t.Errorf("sent %d parameters, want 95", total)
			}

			// The values really landed.
			user, err := svc.ListParameters(ctx, params.ClusterGroup, group, &params.ListOptions{Source: params.SourceUser})
			if err != nil {
				t.Fatal(err)
			}
			if rest := params.Diff(user, changes); len(rest) != 0 {
				t.Errorf("after Modify, %d changes still differ, first %v", len(rest), rest[0])
			}
		})
	}
}

func TestE2EPlanWithoutDifferenceMakesNoCall(t *testing.T) {
	ctx, api, svc, group := setup(t)
	desired := []params.Change{
		{Name: "rds.force_ssl", Value: "1"},
		{Name: "pgaudit.log", Value: "ddl,role"},
		{Name: "shared_preload_libraries", Value: "pg_stat_statements,pgaudit"},
		{Name: "max_wal_senders", Value: "20"},
	}
	plan, err := svc.Plan(ctx, params.ClusterGroup, group, desired...)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Empty() {
		t.Fatal("a fresh group already has the desired values?")
	}
	if err := svc.Apply(ctx, plan); err != nil {
		t.Fatal(err)
	}

	// The same desired state, spelled differently, now plans to nothing.
	again := []params.Change{
		{Name: "rds.force_ssl", Value: "on"},
		{Name: "pgaudit.log", Value: "DDL, role"},
		{Name: "shared_preload_libraries", Value: "pg_stat_statements, PGAUDIT"},
		{Name: "max_wal_senders", Value: "020"},
	}
	plan, err = svc.Plan(ctx, params.ClusterGroup, group, again...)
	if err != nil {
		t.Fatal(err)
	}
	if !plan.Empty() {
		t.Fatalf("plan after apply = %v, want empty", plan.Changes)
	}
	api.reset()
	if err := svc.Apply(ctx, plan); err != nil {
		t.Fatal(err)
	}
	if calls, _ := api.snapshot(); len(calls) != 0 {
		t.Fatalf("applying an empty plan made calls %v", calls)
	}
}

func TestE2EInvalidChangeMakesNoCall(t *testing.T) {
	ctx, api, svc, group := setup(t)
	tests := []struct {
		name    string
		group   string
		change  params.Change
		wantErr string
	}{
		{"unknown name (with metadata check)", group, params.Change{Name: "no_such_parameter", Value: "1"}, "is not a parameter of this group"},
		{"bad enum value", group, params.Change{Name: "pgaudit.log_level", Value: "loud"}, "one of:"},
		{"static + immediate", group, params.Change{Name: "rds.logical_replication", Value: "1", Method: types.ApplyMethodImmediate}, "static"},
		{"out-of-range number", group, params.Change{Name: "max_parallel_workers", Value: "4096"}, "out of range"},
		{"bad group name", "bad--group", params.Change{Name: "rds.force_ssl", Value: "1"}, "two consecutive hyphens"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api.reset()
			svc := svc
			if strings.HasPrefix(tt.name, "unknown name") {
				// Only the API knows every name: with the metadata check,
				// reading metadata is the one call allowed, never a modify.
				svc = params.New(api, params.WithMetadataCheck())
			}
			err := svc.Modify(ctx, params.ClusterGroup, tt.group, tt.change)
			var ve *params.ValidationError
			if err == nil || !errors.As(err, &ve) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Modify = %v, want a *ValidationError containing %q", err, tt.wantErr)
			}
			calls, modifies := api.snapshot()
			if len(modifies) != 0 {
				t.Fatalf("invalid change reached RDS: calls %v", calls)
			}
			for _, c := range calls {
				if c != "DescribeDBClusterParameters" {
					t.Fatalf("invalid change made call %s", c)
				}
			}
			if !strings.HasPrefix(tt.name, "unknown name") && len(calls) != 0 {
				t.Fatalf("invalid change made calls %v", calls)
			}
		})
	}
}

func TestE2EGroupsAndListing(t *testing.T) {
	ctx, api, svc, group := setup(t)
	g, err := svc.DescribeGroup(ctx, params.ClusterGroup, group)
	if err != nil || g.Family != family {
		t.Fatalf("DescribeGroup = %+v, %v", g, err)
	}
	if _, err := svc.DescribeGroup(ctx, params.ClusterGroup, "no-such-group"); !errors.Is(err, params.ErrGroupNotFound) {
		t.Fatalf("missing group: %v", err)
	}
	n := 0
	for _, err := range svc.Parameters(ctx, params.ClusterGroup, group, nil) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n <= 100 {
		t.Fatalf("listed %d parameters; a full group has hundreds over several pages", n)
	}
	if calls, _ := api.snapshot(); !slices.Contains(calls, "DescribeDBClusterParameters") {
		t.Fatalf("calls %v", calls)
	}

	if err := svc.Modify(ctx, params.ClusterGroup, group, params.Change{Name: "rds.force_ssl", Value: "1"},
		params.Change{Name: "max_wal_senders", Value: "30"}); err != nil {
		t.Fatal(err)
	}
	user, err := svc.ListParameters(ctx, params.ClusterGroup, group, &params.ListOptions{Source: params.SourceUser})
	if err != nil || len(user) != 2 {
		t.Fatalf("user parameters = %v, %v", user, err)
	}
	if err := svc.Reset(ctx, params.ClusterGroup, group, "rds.force_ssl"); err != nil {
		t.Fatal(err)
	}
	if err := svc.ResetAll(ctx, params.ClusterGroup, group); err != nil {
		t.Fatal(err)
	}
	user, err = svc.ListParameters(ctx, params.ClusterGroup, group, &params.ListOptions{Source: params.SourceUser})
	if err != nil || len(user) != 0 {
		t.Fatalf("after reset, user parameters = %v, %v", user, err)
	}
	if err := svc.DeleteGroup(ctx, params.ClusterGroup, group); err != nil {
		t.Fatal(err)
	}
}

// The sizing changes on a fresh group, attached to the cluster and
// followed by RebootPending, leave every member in-sync.
func TestE2ELogicalReplicationSizingAndReboot(t *testing.T) {
	ctx, api, svc, group, emu := setupEmu(t)
	if _, err := api.c.ModifyDBCluster(ctx, &rds.ModifyDBClusterInput{
		DBClusterIdentifier: aws.String("c1"), DBClusterParameterGroupName: aws.String(group), ApplyImmediately: aws.Bool(true),
	}); err != nil {
		t.Fatalf("attach group to cluster: %v", err)
	}
	// Attaching the group is asynchronous: wait for the cluster to be
	// available again (its members then wait for a reboot).
	waiter := rds.NewDBClusterAvailableWaiter(api.c, func(o *rds.DBClusterAvailableWaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, time.Second
	})
	if err := waiter.Wait(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String("c1")}, time.Minute); err != nil {
		t.Fatalf("wait for cluster after attaching the group: %v", err)
	}
	meta, err := svc.ListParameters(ctx, params.ClusterGroup, group, nil)
	if err != nil {
		t.Fatal(err)
	}
	current := map[string]string{}
	for _, p := range meta {
		current[p.Name] = p.Value
	}
	changes, err := params.SizeLogicalReplication(params.SizingInput{
		Publications: 4, Subscriptions: 4, ActiveSlots: 8, VCPU: 2, MemoryBytes: 4 << 30, Current: current})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Modify(ctx, params.ClusterGroup, group, changes...); err != nil {
		t.Fatal(err)
	}
	pending, err := svc.PendingReboots(ctx, "c1")
	if err != nil || len(pending) != 2 {
		t.Fatalf("pending = %+v, %v; want both members", pending, err)
	}
	var events []pgaurora.Event
	rebooted, err := svc.RebootPending(ctx, "c1", &params.RebootOptions{
		Wait:     pgaurora.Wait{MinDelay: 50 * time.Millisecond, MaxDelay: time.Second, MaxWait: 2 * time.Minute},
		Progress: func(e pgaurora.Event) { events = append(events, e) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rebooted) != 2 {
		t.Fatalf("rebooted %v", rebooted)
	}
	var order []string // the role of each instance rebooted, in order
	for _, ev := range events {
		if ev.Operation != "params.RebootPending" || ev.Total != 2 {
			t.Errorf("event %v: want Operation params.RebootPending and Total 2", ev)
		}
		if ev.Step == params.StepReboot {
			order = append(order, strings.SplitN(ev.Detail, ",", 2)[0])
		}
	}
	if !slices.Equal(order, []string{"reader", "writer"}) {
		t.Fatalf("reboot order = %v, want the reader first and the writer last", order)
	}
	if last := events[len(events)-1]; last.Resource != rebooted[1] || last.Step != params.StepDone || !last.Completed || last.Done != 2 {
		t.Fatalf("last event %v, want the writer %s done, 2 of 2", last, rebooted[1])
	}
	members, err := svc.Members(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range members {
		if !m.InSync() {
			t.Errorf("member %+v not in-sync", m)
		}
		dsn, err := emu.ConnString(m.ID, "postgres")
		if err != nil {
			t.Fatal(err)
		}
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatalf("connect to %s: %v", m.ID, err)
		}
		var walLevel, slots string
		err = conn.QueryRow(ctx, "SELECT current_setting('wal_level'), current_setting('max_replication_slots')").Scan(&walLevel, &slots)
		conn.Close(ctx)
		if err != nil {
			t.Fatalf("%s: %v", m.ID, err)
		}
		if walLevel != "logical" {
			t.Errorf("%s: wal_level = %q, want logical", m.ID, walLevel)
		}
		t.Logf("%s: wal_level=%s max_replication_slots=%s", m.ID, walLevel, slots)
	}
}

// TestE2ERebootSurvivesAWriterCrash crashes the writer at the moment
// RebootPending is about to reboot it (right after the reader's reboot
// completes). Aurora recovers from a crash by itself within seconds; the
// reboot waits for the instance to be available again and carries on,
// reporting the interruption, instead of failing with
// InvalidDBInstanceState.
func TestE2ERebootSurvivesAWriterCrash(t *testing.T) {
	ctx, api, svc, group, emu := setupEmu(t)
	if _, err := api.c.ModifyDBCluster(ctx, &rds.ModifyDBClusterInput{
		DBClusterIdentifier: aws.String("c1"), DBClusterParameterGroupName: aws.String(group), ApplyImmediately: aws.Bool(true),
	}); err != nil {
		t.Fatal(err)
	}
	waiter := rds.NewDBClusterAvailableWaiter(api.c, func(o *rds.DBClusterAvailableWaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, time.Second
	})
	if err := waiter.Wait(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String("c1")}, time.Minute); err != nil {
		t.Fatal(err)
	}
	members, err := svc.PendingReboots(ctx, "c1")
	if err != nil || len(members) != 2 {
		t.Fatalf("pending = %v, %v; want both members", members, err)
	}
	var writer string
	for _, m := range members {
		if m.Writer {
			writer = m.ID
		}
	}
	crashed := false
	var events []pgaurora.Event
	rebooted, err := svc.RebootPending(ctx, "c1", &params.RebootOptions{
		Wait: pgaurora.Wait{MinDelay: 20 * time.Millisecond, MaxDelay: 200 * time.Millisecond, MaxWait: 2 * time.Minute},
		Progress: func(e pgaurora.Event) {
			events = append(events, e)
			// The reader is done: the writer is next. Crash it now.
			if e.Step == params.StepDone && e.Resource != writer && !crashed {
				crashed = true
				if err := emu.CrashInstance(writer); err != nil {
					t.Errorf("CrashInstance: %v", err)
				}
			}
		},
	})
	if !crashed {
		t.Fatal("the writer was never crashed: the test proved nothing")
	}
	if err != nil {
		t.Fatalf("RebootPending after a writer crash: %v", err)
	}
	if len(rebooted) != 2 {
		t.Errorf("rebooted %v, want both members", rebooted)
	}
	interrupted := slices.ContainsFunc(events, func(e pgaurora.Event) bool {
		return e.Step == params.StepWaitAvailable && strings.Contains(e.Detail, "was not available")
	})
	if !interrupted {
		t.Errorf("no event reports the interruption: %v", events)
	}
	final, err := svc.Members(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range final {
		if !m.InSync() {
			t.Errorf("%s after the reboots: %s, parameters %s/%s", m.ID, m.Status, m.ClusterParameterGroupStatus, m.ParameterApplyStatus)
		}
	}
}
