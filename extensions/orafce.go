package extensions

import (
	"context"
	"fmt"
)

// Orafce is the orafce extension: Oracle-compatible functions and
// packages, in the schema OracleSchema.
const Orafce = "orafce"

// OracleSchema is the schema orafce creates for its Oracle-compatible
// functions.
const OracleSchema = "oracle"

// orafceSQL returns the statements InstallOrafce runs: CREATE EXTENSION IF
// NOT EXISTS orafce, then ALTER SCHEMA oracle OWNER TO owner, as the RDS
// documentation has rds_superuser do so that its members can manage the
// schema. owner "" means rds_superuser.
func orafceSQL(owner string) ([]string, error) {
	if owner == "" {
		owner = RDSSuperuserRole
	}
	o, err := ident("owner", owner)
	if err != nil {
		return nil, err
	}
	return []string{
		"CREATE EXTENSION IF NOT EXISTS " + Orafce,
		"ALTER SCHEMA " + OracleSchema + " OWNER TO " + o,
	}, nil
}

// InstallOrafce creates the orafce extension and transfers the oracle
// schema to owner ("" means rds_superuser), in one transaction (a single
// multi-statement query). It is idempotent.
func (c *Client) InstallOrafce(ctx context.Context, owner string) error {
	stmts, err := orafceSQL(owner)
	if err != nil {
		return err
	}
	if _, err := c.q.Exec(ctx, stmts[0]+";\n"+stmts[1]); err != nil {
		return fmt.Errorf("extensions: installing orafce and transferring schema %s: %w", OracleSchema, explain(err))
	}
	return nil
}
