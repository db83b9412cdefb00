package auroratest_test

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/aws/smithy-go"
)

// TestFamilyParameters checks that a parameter group family lists what
// its PostgreSQL major version has: vacuum_defer_cleanup_age, removed in
// PostgreSQL 16, is in the 15 family's defaults and groups and in no 16
// group, where setting it is refused as RDS refuses an unknown name.
func TestFamilyParameters(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	c := client(t)
	const removed = "vacuum_defer_cleanup_age"
	lists := func(family string) bool {
		t.Helper()
		pg := rds.NewDescribeEngineDefaultClusterParametersPaginator(c, &rds.DescribeEngineDefaultClusterParametersInput{
			DBParameterGroupFamily: aws.String(family)})
		found, n := false, 0
		for pg.HasMorePages() {
			out, err := pg.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range out.EngineDefaults.Parameters {
				n++
				found = found || aws.ToString(p.ParameterName) == removed
			}
		}
		if n < 150 {
			t.Fatalf("%s: %d parameters", family, n)
		}
		return found
	}
	if !lists("aurora-postgresql15") || lists("aurora-postgresql16") || lists("aurora-postgresql17") {
		t.Fatalf("%s: want it in aurora-postgresql15 only", removed)
	}
	for _, family := range []string{"aurora-postgresql15", "aurora-postgresql16"} {
		name := "fam-" + family[len(family)-2:]
		if _, err := c.CreateDBClusterParameterGroup(ctx, &rds.CreateDBClusterParameterGroupInput{
			DBClusterParameterGroupName: aws.String(name), DBParameterGroupFamily: aws.String(family), Description: aws.String("family test")}); err != nil {
			t.Fatal(err)
		}
		_, err := c.ModifyDBClusterParameterGroup(ctx, &rds.ModifyDBClusterParameterGroupInput{DBClusterParameterGroupName: aws.String(name),
			Parameters: []types.Parameter{{ParameterName: aws.String(removed), ParameterValue: aws.String("10"), ApplyMethod: types.ApplyMethodImmediate}}})
		var ae smithy.APIError
		switch {
		case family == "aurora-postgresql15" && err != nil:
			t.Errorf("%s: %v", family, err)
		case family == "aurora-postgresql16" && (!errors.As(err, &ae) || ae.ErrorCode() != "InvalidParameterValue"):
			t.Errorf("%s: setting %s: %v, want InvalidParameterValue", family, removed, err)
		}
		if _, err := c.DeleteDBClusterParameterGroup(ctx, &rds.DeleteDBClusterParameterGroupInput{DBClusterParameterGroupName: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
	}
}
