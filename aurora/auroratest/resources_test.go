package auroratest_test

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora/aurora/auroratest"
	"github.com/pgaurora/pgaurora/internal/pgtest"
)

func TestTags(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	c := client(t)
	if _, err := c.CreateDBParameterGroup(ctx, &rds.CreateDBParameterGroupInput{DBParameterGroupName: aws.String("tagged"),
		DBParameterGroupFamily: aws.String("aurora-postgresql15"), Description: aws.String("tags"),
		Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("1")}}}); err != nil {
		t.Fatal(err)
	}
	arns := map[string]string{
		"cluster":  aws.ToString(describeCluster(t, ctx, c, clusterShared).DBClusterArn),
		"instance": "arn:aws:rds:us-east-1:123456789012:db:" + clusterShared + "-instance-1",
		"group":    "arn:aws:rds:us-east-1:123456789012:pg:tagged",
	}
	list := func(arn string) map[string]string {
		out, err := c.ListTagsForResource(ctx, &rds.ListTagsForResourceInput{ResourceName: aws.String(arn)})
		if err != nil {
			t.Fatalf("ListTagsForResource %s: %v", arn, err)
		}
		m := map[string]string{}
		for _, tg := range out.TagList {
			m[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
		}
		return m
	}
	if got := list(arns["group"]); got["a"] != "1" || len(got) != 1 {
		t.Errorf("tags of a group created with tags: %v", got)
	}
	for what, arn := range arns {
		if _, err := c.AddTagsToResource(ctx, &rds.AddTagsToResourceInput{ResourceName: aws.String(arn),
			Tags: []types.Tag{{Key: aws.String("k-" + what), Value: aws.String("v")}, {Key: aws.String("gone"), Value: aws.String("x")}}}); err != nil {
			t.Fatalf("AddTagsToResource %s: %v", what, err)
		}
		if _, err := c.RemoveTagsFromResource(ctx, &rds.RemoveTagsFromResourceInput{ResourceName: aws.String(arn), TagKeys: []string{"gone"}}); err != nil {
			t.Fatalf("RemoveTagsFromResource %s: %v", what, err)
		}
		if got := list(arn); got["k-"+what] != "v" || got["gone"] != "" {
			t.Errorf("tags of the %s: %v", what, got)
		}
	}
	if tl := describeCluster(t, ctx, c, clusterShared).TagList; len(tl) == 0 {
		t.Error("DescribeDBClusters reports no TagList")
	}
	_, err := c.ListTagsForResource(ctx, &rds.ListTagsForResourceInput{ResourceName: aws.String("arn:aws:rds:us-east-1:123456789012:cluster:no-such")})
	var nf *types.DBClusterNotFoundFault
	if !errors.As(err, &nf) {
		t.Errorf("tags of an unknown cluster: %v, want DBClusterNotFoundFault", err)
	}
	_, err = c.AddTagsToResource(ctx, &rds.AddTagsToResourceInput{ResourceName: aws.String(arns["group"]), Tags: []types.Tag{{Key: aws.String("aws:x"), Value: aws.String("1")}}})
	if apiCode(err) != "InvalidParameterValue" {
		t.Errorf("a tag key starting with aws: %v, want InvalidParameterValue", err)
	}
}

func TestCatalogActions(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	c := client(t)
	vs, err := c.DescribeDBEngineVersions(ctx, &rds.DescribeDBEngineVersionsInput{Engine: aws.String("aurora-postgresql"), EngineVersion: aws.String("15.4")})
	if err != nil {
		t.Fatal(err)
	}
	if len(vs.DBEngineVersions) != 1 {
		t.Fatalf("%d versions for 15.4", len(vs.DBEngineVersions))
	}
	v := vs.DBEngineVersions[0]
	major, minor := 0, 0
	for _, u := range v.ValidUpgradeTarget {
		if aws.ToBool(u.IsMajorVersionUpgrade) {
			major++
		} else {
			minor++
		}
	}
	if aws.ToString(v.DBParameterGroupFamily) != "aurora-postgresql15" || major != 2 || minor < 1 || len(v.SupportedFeatureNames) == 0 {
		t.Errorf("15.4: family %s, %d major and %d minor upgrade targets, features %v", aws.ToString(v.DBParameterGroupFamily), major, minor, v.SupportedFeatureNames)
	}
	var families = map[string]bool{}
	p := rds.NewDescribeDBEngineVersionsPaginator(c, &rds.DescribeDBEngineVersionsInput{Engine: aws.String("aurora-postgresql"), MaxRecords: aws.Int32(20)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range page.DBEngineVersions {
			families[aws.ToString(v.DBParameterGroupFamily)] = true
		}
	}
	if len(families) != 5 {
		t.Errorf("families %v, want 13 to 17", families)
	}
	// The majors' support calendars: standard, then extended support from
	// the next day.
	mv, err := c.DescribeDBMajorEngineVersions(ctx, &rds.DescribeDBMajorEngineVersionsInput{Engine: aws.String("aurora-postgresql"), MajorEngineVersion: aws.String("13")})
	if err != nil {
		t.Fatal(err)
	}
	if len(mv.DBMajorEngineVersions) != 1 || len(mv.DBMajorEngineVersions[0].SupportedEngineLifecycles) != 2 {
		t.Fatalf("major 13: %+v", mv.DBMajorEngineVersions)
	}
	std, ext := mv.DBMajorEngineVersions[0].SupportedEngineLifecycles[0], mv.DBMajorEngineVersions[0].SupportedEngineLifecycles[1]
	if std.LifecycleSupportName != types.LifecycleSupportNameOpenSourceRdsStandardSupport || aws.ToTime(std.LifecycleSupportEndDate).Format(time.DateOnly) != "2026-02-28" ||
		ext.LifecycleSupportName != types.LifecycleSupportNameOpenSourceRdsExtendedSupport || aws.ToTime(ext.LifecycleSupportStartDate).Format(time.DateOnly) != "2026-03-01" {
		t.Errorf("lifecycles of 13: %+v, %+v", std, ext)
	}
	majors := 0
	mp := rds.NewDescribeDBMajorEngineVersionsPaginator(c, &rds.DescribeDBMajorEngineVersionsInput{Engine: aws.String("aurora-postgresql"), MaxRecords: aws.Int32(20)})
	for mp.HasMorePages() {
		page, err := mp.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		majors += len(page.DBMajorEngineVersions)
	}
	if majors != len(families) {
		t.Errorf("%d majors with lifecycles, want one per family (%d)", majors, len(families))
	}
	if _, err := c.DescribeDBMajorEngineVersions(ctx, &rds.DescribeDBMajorEngineVersionsInput{Engine: aws.String("mysql")}); apiCode(err) != "InvalidParameterValue" {
		t.Errorf("another engine: %v, want InvalidParameterValue", err)
	}
	n := 0
	op := rds.NewDescribeOrderableDBInstanceOptionsPaginator(c, &rds.DescribeOrderableDBInstanceOptionsInput{Engine: aws.String("aurora-postgresql"), MaxRecords: aws.Int32(20)})
	for op.HasMorePages() {
		page, err := op.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.OrderableDBInstanceOptions)
	}
	if n < 100 {
		t.Errorf("%d orderable options over the pages", n)
	}
	sg, err := c.DescribeDBSubnetGroups(ctx, &rds.DescribeDBSubnetGroupsInput{})
	if err != nil || len(sg.DBSubnetGroups) != 1 || len(sg.DBSubnetGroups[0].Subnets) != 3 {
		t.Errorf("subnet groups: %+v, %v", sg, err)
	}
	_, err = c.DescribeDBSubnetGroups(ctx, &rds.DescribeDBSubnetGroupsInput{DBSubnetGroupName: aws.String("mine")})
	var sgnf *types.DBSubnetGroupNotFoundFault
	if !errors.As(err, &sgnf) {
		t.Errorf("an unknown subnet group: %v", err)
	}
	ev, err := c.DescribeEvents(ctx, &rds.DescribeEventsInput{SourceType: types.SourceTypeDbCluster, StartTime: aws.Time(time.Now().Add(-time.Hour))})
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Events) == 0 {
		t.Error("no cluster events in the last hour")
	}
	ev, err = c.DescribeEvents(ctx, &rds.DescribeEventsInput{SourceType: types.SourceTypeDbCluster, StartTime: aws.Time(time.Now().Add(time.Hour))})
	if err != nil || len(ev.Events) != 0 {
		t.Errorf("events from the future: %d, %v", len(ev.Events), err)
	}
	// A request without Action.
	resp, err := http.PostForm(emulator(t).Endpoint(), url.Values{"Version": {"2014-10-31"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(body), "<Code>MissingAction</Code>") {
		t.Errorf("no Action: %d %s", resp.StatusCode, body)
	}
}

// TestCustomEndpoints makes custom endpoints over a cluster's members and
// connects through them.
func TestCustomEndpoints(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	c := client(t)
	writer, reader := clusterShared+"-instance-1", clusterShared+"-instance-2"
	out, err := c.CreateDBClusterEndpoint(ctx, &rds.CreateDBClusterEndpointInput{DBClusterIdentifier: aws.String(clusterShared),
		DBClusterEndpointIdentifier: aws.String("only-writer"), EndpointType: aws.String("ANY"), StaticMembers: []string{writer},
		Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateDBClusterEndpoint(ctx, &rds.CreateDBClusterEndpointInput{DBClusterIdentifier: aws.String(clusterShared),
		DBClusterEndpointIdentifier: aws.String("readers"), EndpointType: aws.String("READER"), ExcludedMembers: []string{}}); err != nil {
		t.Fatal(err)
	}
	port := aws.ToInt32(describeCluster(t, ctx, c, clusterShared).Port)
	via := func(id string) string {
		var addr string
		pgtest.WaitFor(t, "endpoint "+id+" to be available", time.Minute, func() (bool, string) {
			d, err := c.DescribeDBClusterEndpoints(ctx, &rds.DescribeDBClusterEndpointsInput{DBClusterEndpointIdentifier: aws.String(id)})
			if err != nil {
				return false, err.Error()
			}
			addr = aws.ToString(d.DBClusterEndpoints[0].Endpoint)
			return aws.ToString(d.DBClusterEndpoints[0].Status) == "available", aws.ToString(d.DBClusterEndpoints[0].Status)
		})
		cs, err := emulator(t).ConnString(writer, "app")
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := pgx.ParseConfig(cs)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Host, cfg.Port = addr, uint16(port)
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			t.Fatalf("through %s (%s): %v", id, net.JoinHostPort(addr, strconv.Itoa(int(port))), err)
		}
		defer conn.Close(ctx)
		var self string
		if err := conn.QueryRow(ctx, "SELECT aurora_db_instance_identifier()").Scan(&self); err != nil {
			t.Fatal(err)
		}
		return self
	}
	if got := via("only-writer"); got != writer {
		t.Errorf("the static endpoint reached %s, want %s", got, writer)
	}
	if got := via("readers"); got != reader {
		t.Errorf("the reader endpoint reached %s, want %s", got, reader)
	}
	all, err := c.DescribeDBClusterEndpoints(ctx, &rds.DescribeDBClusterEndpointsInput{DBClusterIdentifier: aws.String(clusterShared)})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, ep := range all.DBClusterEndpoints {
		kinds[aws.ToString(ep.EndpointType)]++
	}
	if kinds["WRITER"] != 1 || kinds["READER"] != 1 || kinds["CUSTOM"] < 2 {
		t.Errorf("endpoint types %v", kinds)
	}
	if tags, err := c.ListTagsForResource(ctx, &rds.ListTagsForResourceInput{ResourceName: out.DBClusterEndpointArn}); err != nil || len(tags.TagList) != 1 {
		t.Errorf("endpoint tags %v, %v", tags, err)
	}
	if _, err := c.ModifyDBClusterEndpoint(ctx, &rds.ModifyDBClusterEndpointInput{DBClusterEndpointIdentifier: aws.String("only-writer"), StaticMembers: []string{reader}}); err != nil {
		t.Fatal(err)
	}
	if got := via("only-writer"); got != reader {
		t.Errorf("after ModifyDBClusterEndpoint the endpoint reached %s, want %s", got, reader)
	}
	for _, id := range []string{"only-writer", "readers"} {
		if _, err := c.DeleteDBClusterEndpoint(ctx, &rds.DeleteDBClusterEndpointInput{DBClusterEndpointIdentifier: aws.String(id)}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = c.DeleteDBClusterEndpoint(ctx, &rds.DeleteDBClusterEndpointInput{DBClusterEndpointIdentifier: aws.String("readers")})
	var nf *types.DBClusterEndpointNotFoundFault
	if !errors.As(err, &nf) {
		t.Errorf("deleting a deleted endpoint: %v, want DBClusterEndpointNotFoundFault", err)
	}
}

// TestApplyPendingMaintenanceAction opts an instance whose CA expires
// soon in to its rotation: at the next reboot, undone, then at once, which
// rotates the certificate to the default CA.
func TestApplyPendingMaintenanceAction(t *testing.T) {
	t.Parallel()
	e := auroratest.NewT(t, auroratest.WithCluster("ca", auroratest.ClusterConfig{CACertificateIdentifier: "rds-ca-2019"}))
	ctx := testCtx(t)
	c := rds.NewFromConfig(e.AWSConfig())
	arn := "arn:aws:rds:us-east-1:123456789012:db:ca-instance-1"
	pending := func() []types.PendingMaintenanceAction {
		out, err := c.DescribePendingMaintenanceActions(ctx, &rds.DescribePendingMaintenanceActionsInput{ResourceIdentifier: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.PendingMaintenanceActions) == 0 {
			return nil
		}
		return out.PendingMaintenanceActions[0].PendingMaintenanceActionDetails
	}
	apply := func(optIn string) (*rds.ApplyPendingMaintenanceActionOutput, error) {
		return c.ApplyPendingMaintenanceAction(ctx, &rds.ApplyPendingMaintenanceActionInput{ResourceIdentifier: aws.String(arn),
			ApplyAction: aws.String("ca-certificate-rotation"), OptInType: aws.String(optIn)})
	}
	if len(pending()) != 1 {
		t.Fatal("an instance on rds-ca-2019 has no pending CA rotation")
	}
	out, err := apply("next-maintenance")
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out.ResourcePendingMaintenanceActions.PendingMaintenanceActionDetails[0].OptInStatus); got != "next-maintenance" {
		t.Errorf("OptInStatus %q", got)
	}
	if _, err := apply("undo-opt-in"); err != nil {
		t.Fatal(err)
	}
	if _, err := apply("immediate"); err != nil {
		t.Fatal(err)
	}
	w := rds.NewDBInstanceAvailableWaiter(c, fastInstanceWaiter)
	if err := w.Wait(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String("ca-instance-1")}, time.Minute); err != nil {
		t.Fatal(err)
	}
	in, err := c.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String("ca-instance-1")})
	if err != nil {
		t.Fatal(err)
	}
	if ca := aws.ToString(in.DBInstances[0].CACertificateIdentifier); ca != "rds-ca-rsa2048-g1" || len(pending()) != 0 {
		t.Errorf("after the rotation the CA is %s with %d pending actions, want rds-ca-rsa2048-g1 and none", ca, len(pending()))
	}
	_, err = c.ApplyPendingMaintenanceAction(ctx, &rds.ApplyPendingMaintenanceActionInput{ResourceIdentifier: aws.String(arn),
		ApplyAction: aws.String("system-update"), OptInType: aws.String("immediate")})
	if apiCode(err) != "InvalidParameterValue" {
		t.Errorf("an action that is not pending: %v", err)
	}
}
