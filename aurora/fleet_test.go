package aurora_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/aurora/auroratest"
	"github.com/pgaurora/pgaurora/params"
)

// The fleet's clusters: one instance each, created through the RDS API
// with a custom cluster parameter group that already holds fleetBase (so
// the instances start with it, in sync), tagged fleet=<prefix>.

const fleetMasterUser, fleetMasterPassword = "fleetadmin", "fleet-Pass-1"

// fleetBase is what every fleet cluster's group sets at creation, in the
// spelling RDS takes.
var fleetBase = map[string]string{
	"maintenance_work_mem":       "65536",
	"rds.force_ssl":              "1",
	"shared_preload_libraries":   "pgaudit,pg_stat_statements",
	"log_min_duration_statement": "1000",
}

// fleetSpec is the desired specification: the same values as fleetBase
// in other spellings the engine reads alike, plus parameters the groups
// do not set, at their engine defaults, and one whose default is not
// known without a server (on Aurora, a formula of the instance class).
var fleetSpec = []params.Change{
	{Name: "maintenance_work_mem", Value: "64MB"},
	{Name: "rds.force_ssl", Value: "on"},
	{Name: "shared_preload_libraries", Value: "pg_stat_statements,pgaudit"},
	{Name: "log_min_duration_statement", Value: "1s"},
	{Name: "statement_timeout", Value: "0"},
	{Name: "track_commit_timestamp", Value: "off"},
	{Name: "max_connections", Value: "5000"},
}

func fleetTag(prefix string) map[string]string { return map[string]string{"fleet": prefix} }

// createFleet creates n one-instance clusters named prefix-00, prefix-01,
// ..., four at a time, and waits until they are available. instanceGroup,
// when it returns a group's parameters for cluster i, gives that cluster's
// instance a custom DB parameter group holding them.
func createFleet(tb testing.TB, prefix string, n int, instanceGroup func(i int) []types.Parameter) []string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	api := rds.NewFromConfig(emu.AWSConfig())
	ids := make([]string, n)
	errs := make([]error, n)
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i := range n {
		ids[i] = fmt.Sprintf("%s-%02d", prefix, i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			var ig []types.Parameter
			if instanceGroup != nil {
				ig = instanceGroup(i)
			}
			errs[i] = createFleetCluster(ctx, api, ids[i], prefix, ig)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			tb.Fatal(err)
		}
	}
	for _, id := range ids {
		if err := rds.NewDBInstanceAvailableWaiter(api).Wait(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id + "-1")}, 2*time.Minute,
			func(o *rds.DBInstanceAvailableWaiterOptions) {
				o.MinDelay, o.MaxDelay = 50*time.Millisecond, 500*time.Millisecond
			}); err != nil {
			tb.Fatal(err)
		}
	}
	return ids
}

func createFleetCluster(ctx context.Context, api *rds.Client, id, prefix string, instanceParams []types.Parameter) error {
	group := id + "-params"
	if _, err := api.CreateDBClusterParameterGroup(ctx, &rds.CreateDBClusterParameterGroupInput{
		DBClusterParameterGroupName: aws.String(group), DBParameterGroupFamily: aws.String("aurora-postgresql15"),
		Description: aws.String("fleet cluster")}); err != nil {
		return err
	}
	var ps []types.Parameter
	for _, name := range slices.Sorted(maps.Keys(fleetBase)) {
		m := types.ApplyMethodImmediate
		if s, _ := params.Lookup(name); s.Apply == params.Static {
			m = types.ApplyMethodPendingReboot
		}
		ps = append(ps, types.Parameter{ParameterName: aws.String(name), ParameterValue: aws.String(fleetBase[name]), ApplyMethod: m})
	}
	if _, err := api.ModifyDBClusterParameterGroup(ctx, &rds.ModifyDBClusterParameterGroupInput{
		DBClusterParameterGroupName: aws.String(group), Parameters: ps}); err != nil {
		return err
	}
	var instanceGroup *string
	if len(instanceParams) > 0 {
		instanceGroup = aws.String(id + "-instance-params")
		if _, err := api.CreateDBParameterGroup(ctx, &rds.CreateDBParameterGroupInput{
			DBParameterGroupName: instanceGroup, DBParameterGroupFamily: aws.String("aurora-postgresql15"),
			Description: aws.String("fleet instance")}); err != nil {
			return err
		}
		if _, err := api.ModifyDBParameterGroup(ctx, &rds.ModifyDBParameterGroupInput{
			DBParameterGroupName: instanceGroup, Parameters: instanceParams}); err != nil {
			return err
		}
	}
	if _, err := api.CreateDBCluster(ctx, &rds.CreateDBClusterInput{
		DBClusterIdentifier: aws.String(id), Engine: aws.String("aurora-postgresql"), EngineVersion: aws.String("15.4"),
		MasterUsername: aws.String(fleetMasterUser), MasterUserPassword: aws.String(fleetMasterPassword),
		DBClusterParameterGroupName: aws.String(group),
		Tags:                        []types.Tag{{Key: aws.String("fleet"), Value: aws.String(prefix)}, {Key: aws.String("index"), Value: aws.String(id)}},
	}); err != nil {
		return err
	}
	if err := rds.NewDBClusterAvailableWaiter(api).Wait(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String(id)}, 2*time.Minute,
		func(o *rds.DBClusterAvailableWaiterOptions) {
			o.MinDelay, o.MaxDelay = 50*time.Millisecond, 500*time.Millisecond
		}); err != nil {
		return err
	}
	_, err := api.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{
		DBInstanceIdentifier: aws.String(id + "-1"), DBClusterIdentifier: aws.String(id),
		DBInstanceClass: aws.String("db.r6g.large"), Engine: aws.String("aurora-postgresql"),
		DBParameterGroupName: instanceGroup})
	return err
}

// fleetClusterOptions connects to a fleet cluster as its master user,
// with TLS verified against the emulator's CAs.
func fleetClusterOptions(aurora.FleetCluster) []aurora.Option {
	return []aurora.Option{
		aurora.WithCredentials(aurora.StaticPassword(fleetMasterUser, fleetMasterPassword)),
		aurora.WithCABundle(emu.CABundlePEM()),
		aurora.WithWait(fastWait),
	}
}

// modifyGroup sets parameters in a fleet cluster's group, each applied
// the way RDS takes it (pending-reboot for static ones).
func modifyGroup(t *testing.T, id string, values ...string) {
	t.Helper()
	api := rds.NewFromConfig(emu.AWSConfig())
	var ps []types.Parameter
	for i := 0; i < len(values); i += 2 {
		m := types.ApplyMethodImmediate
		if s, ok := params.Lookup(values[i]); ok && s.Apply == params.Static {
			m = types.ApplyMethodPendingReboot
		}
		ps = append(ps, types.Parameter{ParameterName: aws.String(values[i]), ParameterValue: aws.String(values[i+1]), ApplyMethod: m})
	}
	if _, err := api.ModifyDBClusterParameterGroup(context.Background(), &rds.ModifyDBClusterParameterGroupInput{
		DBClusterParameterGroupName: aws.String(id + "-params"), Parameters: ps}); err != nil {
		t.Fatal(err)
	}
}

// driftKey names one reported parameter: cluster, group kind, name, state.
func driftKey(cluster string, p aurora.ParameterDrift) string {
	return fmt.Sprintf("%s %s %s %s", cluster, p.Kind, p.Name, p.State)
}

// TestFleetCheckDrift creates a fleet, injects drift into a known subset
// of it (and, into another subset, changes that look like drift but are
// not: other spellings, another list order, a value waiting for a reboot),
// and checks that the drift check reports exactly the drift, with the
// API throttled during part of the run and no call failing for it.
// It runs over 50 one-instance clusters, as many as the benchmark.
func TestFleetCheckDrift(t *testing.T) {
	const prefix, fleetTestSize = "fleetdrift", 50
	ids := createFleet(t, prefix, fleetTestSize, func(i int) []types.Parameter {
		if i == 9 { // the instance group overrides maintenance_work_mem
			return []types.Parameter{{ParameterName: aws.String("maintenance_work_mem"), ParameterValue: aws.String("32768"), ApplyMethod: types.ApplyMethodImmediate}}
		}
		if i == 10 { // the instance group sets the specified value
			return []types.Parameter{{ParameterName: aws.String("maintenance_work_mem"), ParameterValue: aws.String("65536"), ApplyMethod: types.ApplyMethodImmediate}}
		}
		return nil
	})

	// The drift, and what must be reported. Every cluster also reports
	// max_connections as unknown: the groups do not set it and its
	// default is not known without a server.
	want := map[string]bool{}
	drift := func(i int, kind params.Kind, name string, state aurora.DriftState) {
		want[fmt.Sprintf("%s %s %s %s", ids[i], kind, name, state)] = true
	}
	modifyGroup(t, ids[1], "maintenance_work_mem", "32768")
	drift(1, params.ClusterGroup, "maintenance_work_mem", aurora.DriftDifferent)
	modifyGroup(t, ids[3], "rds.force_ssl", "0")
	drift(3, params.ClusterGroup, "rds.force_ssl", aurora.DriftDifferent)
	modifyGroup(t, ids[5], "shared_preload_libraries", "pgaudit")
	drift(5, params.ClusterGroup, "shared_preload_libraries", aurora.DriftDifferent)
	modifyGroup(t, ids[7], "log_min_duration_statement", "2000", "statement_timeout", "30000")
	drift(7, params.ClusterGroup, "log_min_duration_statement", aurora.DriftDifferent)
	drift(7, params.ClusterGroup, "statement_timeout", aurora.DriftDifferent)
	// Reset to the engine default (-1, off), which is not the 1s wanted.
	if _, err := rds.NewFromConfig(emu.AWSConfig()).ResetDBClusterParameterGroup(context.Background(), &rds.ResetDBClusterParameterGroupInput{
		DBClusterParameterGroupName: aws.String(ids[6] + "-params"),
		Parameters:                  []types.Parameter{{ParameterName: aws.String("log_min_duration_statement"), ApplyMethod: types.ApplyMethodImmediate}}}); err != nil {
		t.Fatal(err)
	}
	drift(6, params.ClusterGroup, "log_min_duration_statement", aurora.DriftDifferent)
	drift(9, params.InstanceGroup, "maintenance_work_mem", aurora.DriftDifferent)
	// Not drift: the same list in the other order, which is static, so
	// the member waits for a reboot: reported as pending-reboot.
	modifyGroup(t, ids[2], "shared_preload_libraries", "pg_stat_statements,pgaudit")
	drift(2, params.ClusterGroup, "shared_preload_libraries", aurora.DriftPendingReboot)
	// Not drift: other spellings, and the default set explicitly.
	modifyGroup(t, ids[4], "log_min_duration_statement", "01000", "statement_timeout", "0", "maintenance_work_mem", "0065536")
	modifyGroup(t, ids[8], "track_commit_timestamp", "0")
	// A static value equal to the specification, waiting for its reboot
	// (and so shared_preload_libraries, static too, may be waiting).
	drift(8, params.ClusterGroup, "track_commit_timestamp", aurora.DriftPendingReboot)
	drift(8, params.ClusterGroup, "shared_preload_libraries", aurora.DriftPendingReboot)
	for _, id := range ids {
		want[fmt.Sprintf("%s %s %s %s", id, params.ClusterGroup, "max_connections", aurora.DriftUnknown)] = true
	}

	var events syncList[pgaurora.Event]
	f, err := aurora.NewFleet([]aws.Config{emu.AWSConfig()}, &aurora.FleetOptions{
		Tags: fleetTag(prefix), Concurrency: 4, Progress: events.add})
	if err != nil {
		t.Fatal(err)
	}
	paramCallsBefore := emu.CallCount("DescribeDBClusterParameters")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	emu.ThrottleNext(1) // the listing itself meets throttling
	defer emu.SetThrottleRate(0)
	defer emu.Action("DescribeDBClusterParameters").SetThrottleRate(0)

	run := f.CheckDrift(ctx, fleetSpec)
	got := map[string]bool{}
	seen := map[string]bool{}
	n := 0
	for r, err := range run.Results() {
		if err != nil {
			t.Errorf("cluster %s: %v", r.Cluster.ID, err)
			continue
		}
		n++
		switch n {
		case len(ids) / 3: // throttling on for the middle third of the run
			emu.SetThrottleRate(15)
			emu.Action("DescribeDBClusterParameters").SetThrottleRate(3)
		case 2 * len(ids) / 3:
			emu.SetThrottleRate(0)
			emu.Action("DescribeDBClusterParameters").SetThrottleRate(0)
		}
		seen[r.Cluster.ID] = true
		if r.Drift == nil || r.Drift.Cluster != r.Cluster.ID || r.Drift.ClusterGroup != r.Cluster.ID+"-params" {
			t.Errorf("%s: report %+v", r.Cluster.ID, r.Drift)
			continue
		}
		for _, p := range r.Drift.Parameters {
			got[driftKey(r.Cluster.ID, p)] = true
			t.Logf("%s: %s", r.Cluster.ID, p)
		}
	}
	for _, id := range ids {
		if !seen[id] {
			t.Errorf("no result for %s", id)
		}
	}
	if len(seen) != len(ids) {
		t.Errorf("results for %d clusters, want the %d tagged %s", len(seen), len(ids), prefix)
	}
	for k := range want {
		if !got[k] {
			t.Errorf("not reported: %s", k)
		}
	}
	for k := range got {
		if !want[k] {
			t.Errorf("reported, but not injected: %s", k)
		}
	}

	s := run.Summary()
	t.Logf("summary: %s", s)
	if s.Clusters != len(ids) || s.Succeeded != len(ids) || s.Failed != 0 || s.Drifted != 6 || s.DriftedParameters != 7 {
		t.Errorf("summary %+v, want %d clusters done, 6 drifted with 7 parameters", s, len(ids))
	}
	// The listing's one throttled attempt, and more in mid-run.
	if s.APIAttempts-s.APICalls < 2 {
		t.Errorf("%d attempts for %d calls: the throttling in mid-run did not happen", s.APIAttempts, s.APICalls)
	}
	if emu.CallCount("DescribeDBClusterParameters") == paramCallsBefore {
		t.Error("DescribeDBClusterParameters was not called")
	}
	evs := events.snapshot()
	last := evs[len(evs)-1]
	if last.Operation != "Fleet.CheckDrift" || last.Step != "" || !last.Completed || last.Total != len(ids) || last.Done != len(ids) {
		t.Errorf("last event %+v, want the run's end with %d of %d", last, len(ids), len(ids))
	}
	clusterEvents := 0
	for _, e := range evs {
		if e.Step == "cluster" {
			clusterEvents++
		}
	}
	if clusterEvents != len(ids) {
		t.Errorf("%d cluster events, want %d", clusterEvents, len(ids))
	}

	// The same check on one cluster gives the same report.
	c := openCluster(t, ids[7], nil)
	rep, err := c.CheckDrift(ctx, fleetSpec)
	if err != nil {
		t.Fatal(err)
	}
	if d := rep.Drifted(); len(d) != 2 || d[0].Name != "log_min_duration_statement" || d[0].Actual != "2000" || d[1].Name != "statement_timeout" {
		t.Errorf("CheckDrift(%s) drifted = %v", ids[7], d)
	}
}

// TestFleetAdviseAndRun runs Advise and a function over a small fleet,
// with one cluster whose credentials are wrong: its error comes back
// naming it, and the others are done.
func TestFleetAdviseAndRun(t *testing.T) {
	const prefix = "fleetadvise"
	ids := createFleet(t, prefix, 3, nil)
	rec := &apiRecorder{}
	cfg := rec.wrap(emu.AWSConfig())
	f, err := aurora.NewFleet([]aws.Config{cfg}, &aurora.FleetOptions{
		Tags: fleetTag(prefix), Concurrency: 2,
		ClusterOptions: func(c aurora.FleetCluster) []aurora.Option {
			opts := fleetClusterOptions(c)
			if c.ID == ids[1] {
				opts = append(opts, aurora.WithCredentials(aurora.StaticPassword(fleetMasterUser, "wrong-password")))
			}
			return opts
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	certCalls := emu.CallCount("DescribeCertificates")
	run := f.Advise(ctx, nil)
	ok := map[string][]aurora.Finding{}
	for r, err := range run.Results() {
		if r.Cluster.ID == ids[1] {
			if err == nil || !strings.Contains(err.Error(), ids[1]) || strings.Contains(err.Error(), "wrong-password") {
				t.Errorf("%s with a wrong password: %v", ids[1], err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", r.Cluster.ID, err)
			continue
		}
		ok[r.Cluster.ID] = r.Findings
	}
	for _, id := range []string{ids[0], ids[2]} {
		var found []string
		for _, fd := range ok[id] {
			found = append(found, fd.ID)
		}
		// One instance, not encrypted, not protected: what Advise must say.
		for _, want := range []string{aurora.CheckNoReader, aurora.CheckStorageNotEncrypted, aurora.CheckDeletionProtectionOff} {
			if !slices.Contains(found, want) {
				t.Errorf("%s: findings %v lack %s", id, found, want)
			}
		}
	}
	// The Region's CA catalog is read once for the run, not per cluster.
	if n := emu.CallCount("DescribeCertificates") - certCalls; n != 1 {
		t.Errorf("Fleet.Advise called DescribeCertificates %d times for 3 clusters; want 1", n)
	}
	if s := run.Summary(); s.Clusters != 3 || s.Succeeded != 2 || s.Failed != 1 || s.Findings == 0 {
		t.Errorf("summary %+v", s)
	}
	if m := mutating(rec.take()); len(m) != 0 {
		t.Errorf("Fleet.Advise called %v", m)
	}

	// Run: any function, on every cluster.
	var mu sync.Mutex
	var visited []string
	run = f.Run(ctx, "count members", func(ctx context.Context, c *aurora.Cluster) error {
		d, err := c.Describe(ctx)
		if err != nil {
			return err
		}
		if d.Writer == nil || len(d.Readers) != 0 {
			return fmt.Errorf("members %+v", d)
		}
		mu.Lock()
		visited = append(visited, c.ID())
		mu.Unlock()
		return nil
	})
	for _, err := range run.Results() {
		if err != nil {
			t.Error(err)
		}
	}
	slices.Sort(visited)
	if !slices.Equal(visited, ids) {
		t.Errorf("Run visited %v, want %v", visited, ids)
	}
	if s := run.Summary(); s.Operation != "count members" || s.Succeeded != 3 {
		t.Errorf("summary %+v", s)
	}
	// A run iterates once: a second Results yields one error.
	again := 0
	for _, err := range run.Results() {
		again++
		if err == nil {
			t.Error("a second Results ran again")
		}
	}
	if again != 1 {
		t.Errorf("a second Results yielded %d results; want one error", again)
	}
}

// TestFleetStopsEarly breaks out of the loop after the first result: the
// run ends, and the summary counts what was done. At most Concurrency+1
// clusters are worked on (those in progress, and the one a worker may
// have taken while the first result was yielded), and none after Results
// returns.
func TestFleetStopsEarly(t *testing.T) {
	const concurrency = 2
	f, err := aurora.NewFleet([]aws.Config{emu.AWSConfig()}, &aurora.FleetOptions{Concurrency: concurrency})
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int64
	var returned, lateCall atomic.Bool
	run := f.Run(context.Background(), "", func(ctx context.Context, c *aurora.Cluster) error {
		if returned.Load() {
			lateCall.Store(true)
		}
		calls.Add(1)
		_, err := c.Describe(ctx)
		return err
	})
	for _, err := range run.Results() {
		if err != nil {
			t.Fatal(err)
		}
		break
	}
	returned.Store(true)
	atReturn := calls.Load()
	s := run.Summary()
	if s.Clusters <= concurrency+1 {
		t.Fatalf("the emulator has %d clusters: too few to tell a run that ignores the break (want more than %d)", s.Clusters, concurrency+1)
	}
	if atReturn > concurrency+1 {
		t.Errorf("the function ran on %d clusters, want at most %d after the first result", atReturn, concurrency+1)
	}
	if s.Succeeded < 1 || s.Succeeded >= s.Clusters {
		t.Errorf("summary after one result: %+v", s)
	}
	if lateCall.Load() || calls.Load() != atReturn {
		t.Errorf("the function ran after Results returned (%d calls, %d at return)", calls.Load(), atReturn)
	}
}

// TestFleetRefusesBadInput checks that bad options and specifications are
// refused before any call.
func TestFleetRefusesBadInput(t *testing.T) {
	cfg := emu.AWSConfig()
	for _, tt := range []struct {
		name    string
		configs []aws.Config
		opts    *aurora.FleetOptions
		want    string
	}{
		{"no config", nil, nil, "no aws.Config"},
		{"no region", []aws.Config{{}}, nil, "no Region"},
		{"same region twice", []aws.Config{cfg, cfg}, nil, "two configs for Region"},
		{"negative concurrency", []aws.Config{cfg}, &aurora.FleetOptions{Concurrency: -1}, "Concurrency"},
		{"empty filter", []aws.Config{cfg}, &aurora.FleetOptions{Filters: []types.Filter{{Name: aws.String("engine")}}}, "filter 0"},
	} {
		if _, err := aurora.NewFleet(tt.configs, tt.opts); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error with %q", tt.name, err, tt.want)
		}
	}
	f, err := aurora.NewFleet([]aws.Config{cfg}, nil)
	if err != nil {
		t.Fatal(err)
	}
	before := emu.CallCount("DescribeDBClusters")
	for _, spec := range [][]params.Change{
		nil,
		{{Name: "maintenance_work_mem", Value: "64mb"}},
		{{Name: "work_mem", Value: "64MB"}}, // not in the catalog: its unit is not known
		{{Name: "rds.force_ssl", Value: "maybe"}},
		{{Name: "maintenance_work_mem", Value: "1GB"}, {Name: "maintenance_work_mem", Value: "2GB"}},
	} {
		n := 0
		for _, err := range f.CheckDrift(context.Background(), spec).Results() {
			n++
			if err == nil {
				t.Errorf("spec %v: no error", spec)
			}
		}
		if n != 1 {
			t.Errorf("spec %v: %d results, want the error alone", spec, n)
		}
	}
	if after := emu.CallCount("DescribeDBClusters"); after != before {
		t.Errorf("bad specifications made %d DescribeDBClusters calls", after-before)
	}
}

// TestFleetAcrossRegions lists and works on two Regions: the shared
// emulator as us-east-1 and a second emulator standing for eu-west-1 (the
// emulator does not check the Region of a request's signature). Each
// cluster comes back once, labelled with its Region; the drift check
// reads each Region's engine defaults through that Region's client.
func TestFleetAcrossRegions(t *testing.T) {
	west := auroratest.NewT(t,
		auroratest.WithCluster("west-a", auroratest.ClusterConfig{Instances: 1}),
		auroratest.WithCluster("west-b", auroratest.ClusterConfig{Instances: 1}))
	westCfg := west.AWSConfig()
	westCfg.Region = "eu-west-1"
	f, err := aurora.NewFleet([]aws.Config{emu.AWSConfig(), westCfg}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Regions(); !slices.Equal(got, []string{emu.Region(), "eu-west-1"}) {
		t.Fatalf("Regions() = %v", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	byRegion := map[string][]string{}
	westFamilies := map[string]bool{}
	for c, err := range f.Clusters(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		byRegion[c.Region] = append(byRegion[c.Region], c.ID)
		if c.Region == "eu-west-1" {
			v, err := pgaurora.ParseEngineVersion(c.EngineVersion)
			if err != nil {
				t.Fatal(err)
			}
			westFamilies[v.Family()] = true
		}
	}
	if len(westFamilies) != 1 {
		t.Fatalf("the west clusters are of the families %v, want one", westFamilies)
	}
	if w := byRegion["eu-west-1"]; !slices.Equal(w, []string{"west-a", "west-b"}) {
		t.Errorf("eu-west-1 lists %v, want west-a and west-b", w)
	}
	if e := byRegion[emu.Region()]; !slices.Contains(e, clusterID) || slices.Contains(e, "west-a") {
		t.Errorf("%s lists %v", emu.Region(), e)
	}

	// The default groups of the west clusters: rds.force_ssl is 0 there.
	run := f.CheckDrift(ctx, []params.Change{{Name: "rds.force_ssl", Value: "0"}})
	regions := map[string]int{}
	for r, err := range run.Results() {
		if err != nil {
			t.Errorf("%s: %v", r.Cluster.ID, err)
			continue
		}
		regions[r.Cluster.Region]++
	}
	if regions["eu-west-1"] != 2 || regions[emu.Region()] != len(byRegion[emu.Region()]) {
		t.Errorf("results by Region %v, want 2 in eu-west-1 and %d in %s", regions, len(byRegion[emu.Region()]), emu.Region())
	}
	// The family's engine defaults were read once for the two west
	// clusters: as many calls as one read of them takes (its pages).
	runCalls := west.CallCount("DescribeEngineDefaultClusterParameters")
	if runCalls == 0 {
		t.Fatal("the west Region's engine defaults were not read through its own client")
	}
	// One read, without retries, counts the pages. The run's count may
	// exceed it by the retries of a loaded machine, but a second read
	// would double it.
	once := westCfg.Copy()
	once.RetryMaxAttempts = 1
	for family := range westFamilies {
		if _, err := params.New(rds.NewFromConfig(once)).EngineDefaults(ctx, params.ClusterGroup, family); err != nil {
			t.Fatal(err)
		}
	}
	if pages := west.CallCount("DescribeEngineDefaultClusterParameters") - runCalls; runCalls < pages || runCalls >= 2*pages {
		t.Errorf("the run made %d DescribeEngineDefaultClusterParameters calls in eu-west-1, want %d (one read of the family's defaults for both clusters, give or take a retry)", runCalls, pages)
	}
}
