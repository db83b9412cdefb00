package aurora_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/logical"
	"github.com/pgaurora/pgaurora/pgaudit"
	"github.com/pgaurora/pgaurora/pglogical"
)

// TestSecretsStayOutOfEveryLog runs every call of the SDK that sends a
// secret over the cluster's *aurora.Pool, with pgAudit logging every
// class and the statements' parameters: pglogical nodes and a pglogical
// subscription with passwords in their DSNs, a native subscription with a
// password in its connection string (and one that fails), a CDC user,
// and a login role made with PasswordSQL. Then it reads back every error,
// every printed form and the whole server log (the log-file API serves
// it, pgAudit entries included), and finds no secret in any.
func TestSecretsStayOutOfEveryLog(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	c := openCluster(t, secretPathClusterID, nil)
	master := emu.MasterPassword(secretPathClusterID)
	cdcPassword, rolePassword := "cdc-"+rand.Text(), "role-"+rand.Text()
	secrets := []string{master, cdcPassword, rolePassword}

	// pgAudit logs everything, parameters included; logical replication
	// and pglogical are on. Three workflows, three reboots.
	if _, err := c.EnablePgAudit(ctx, pgaudit.Settings{Log: pgaurora.Ptr(pgaudit.All), LogParameter: pgaurora.Ptr(true), LogRelation: pgaurora.Ptr(true)}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ConfigureLogicalReplication(ctx, aurora.LogicalReplicationPlan{Subscriptions: 2, Slots: 2}, nil); err != nil {
		t.Fatal(err)
	}
	d, err := c.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dsn := func(db string) pgaurora.ConnString {
		cs, err := pgaurora.NewConnString(map[string]string{"host": d.Writer.Address, "port": fmt.Sprint(d.Writer.Port),
			"dbname": db, "user": "postgres", "password": master, "sslmode": "require"})
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}
	if _, err := c.EnablePgLogical(ctx, &aurora.PgLogicalOptions{NodeName: "sub_node", NodeDSN: dsn("postgres")}); err != nil {
		t.Fatal(err)
	}

	w, err := c.Writer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	exec := func(p *aurora.Pool, sql string) {
		t.Helper()
		if _, err := p.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec(w, "CREATE DATABASE prov")
	provHandle := openCluster(t, secretPathClusterID, nil, aurora.WithDatabase("prov"))
	prov, err := provHandle.Writer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []*aurora.Pool{w, prov} {
		exec(p, "CREATE TABLE t_pgl (id int PRIMARY KEY, v text)")
		exec(p, "CREATE TABLE t_native (id int PRIMARY KEY, v text)")
	}
	exec(prov, "INSERT INTO t_pgl VALUES (1, 'pglogical'); INSERT INTO t_native VALUES (1, 'native')")

	var errs []error
	var printed []string
	keep := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	// pglogical over *aurora.Pool: a provider node whose DSN has the
	// password, its table in the default set, and a subscription with the
	// password in the provider DSN.
	pp := pglogical.New(prov)
	if _, err := pp.Install(ctx); err != nil {
		t.Fatal(err)
	}
	node, err := pp.CreateNode(ctx, "prov_node", dsn("prov"))
	if err != nil {
		t.Fatalf("pglogical.CreateNode over *aurora.Pool: %v", err)
	}
	printed = append(printed, fmt.Sprintf("%v %+v %#v %v", node, node, node, node.Interfaces))
	if err := pp.AddTable(ctx, pglogical.DefaultSet, pglogical.Table{Schema: "public", Name: "t_pgl"}, nil); err != nil {
		t.Fatal(err)
	}
	spec := pglogical.SubscriptionSpec{Name: "pgl_sub", Provider: dsn("prov"), SynchronizeData: true}
	printed = append(printed, fmt.Sprintf("%v %+v %#v", spec, spec, spec))
	sub := pglogical.New(w)
	if _, err := sub.CreateSubscription(ctx, spec); err != nil {
		t.Fatalf("pglogical.CreateSubscription over *aurora.Pool: %v", err)
	}
	if err := sub.WaitForSync(ctx, "pgl_sub", nil); err != nil {
		t.Fatal(err)
	}
	// One with a wrong password: pglogical repeats the DSN in its error's
	// DETAIL ("dsn was: ..."), which the server logs too.
	wrongPassword := "wrong-" + rand.Text()
	secrets = append(secrets, wrongPassword)
	wrong, _ := dsn("prov").WithPassword(wrongPassword)
	if _, err := sub.CreateSubscription(ctx, pglogical.SubscriptionSpec{Name: "pgl_wrong", Provider: wrong}); err == nil {
		t.Fatal("a subscription with a wrong password was created")
	} else {
		keep(err)
	}
	subs, err := sub.Subscriptions(ctx)
	keep(err)
	printed = append(printed, fmt.Sprintf("%v %+v", subs, subs))

	// Native logical replication over *aurora.Pool: a slot made on the
	// publisher first (a subscription to the same server cannot create
	// its own), then the subscription with the password.
	lp := logical.New(prov)
	if err := lp.CreatePublication(ctx, logical.PublicationSpec{Name: "native_pub",
		Tables: []logical.PublishedTable{{Table: logical.TableName{Schema: "public", Name: "t_native"}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := lp.CreateSlot(ctx, "native_sub", logical.PluginPgoutput); err != nil {
		t.Fatal(err)
	}
	ls := logical.New(w)
	nspec := logical.SubscriptionSpec{Name: "native_sub", Conn: dsn("prov"), Publications: []string{"native_pub"}, SkipCreateSlot: true, SlotName: "native_sub"}
	printed = append(printed, fmt.Sprintf("%v %+v %#v", nspec, nspec, nspec))
	if err := ls.CreateSubscription(ctx, nspec); err != nil {
		t.Fatalf("logical.CreateSubscription over *aurora.Pool: %v", err)
	}
	if err := ls.WaitSync(ctx, "native_sub", nil); err != nil {
		t.Fatal(err)
	}
	// One that fails: the publisher's port is closed. Its error and the
	// server's log of it carry no password either.
	bad, _ := dsn("prov").With("port", "1")
	err = ls.CreateSubscription(ctx, logical.SubscriptionSpec{Name: "unreachable", Conn: bad, Publications: []string{"native_pub"}, SkipCreateSlot: true, SlotName: "native_sub"})
	if err == nil {
		t.Fatal("a subscription to a closed port was created")
	}
	keep(err)
	listed, err := ls.Subscriptions(ctx)
	keep(err)
	printed = append(printed, fmt.Sprintf("%v %+v", listed, listed))

	// A CDC user and a login role made with PasswordSQL.
	cdcSpec := logical.CDCUserSpec{Name: "cdc_user", Password: cdcPassword, Schemas: []string{"public"}}
	printed = append(printed, fmt.Sprintf("%v %+v %#v %s %q", cdcSpec, cdcSpec, cdcSpec, cdcSpec, cdcSpec))
	u, err := ls.CreateCDCUser(ctx, cdcSpec)
	if err != nil {
		t.Fatalf("logical.CreateCDCUser over *aurora.Pool: %v", err)
	}
	printed = append(printed, fmt.Sprintf("%v %+v", u, u))
	_, err = ls.CreateCDCUser(ctx, cdcSpec) // exists: an error, without the password
	if err == nil {
		t.Fatal("creating the CDC user twice succeeded")
	}
	keep(err)
	lit, err := aurora.PasswordSQL(rolePassword)
	if err != nil {
		t.Fatal(err)
	}
	exec(w, "CREATE ROLE app_user LOGIN PASSWORD "+lit)
	connectAs(t, c, "app_user", rolePassword).Close(ctx)
	connectAs(t, c, "cdc_user", cdcPassword).Close(ctx)

	// Printed handles and credentials.
	var sb strings.Builder
	log := slog.New(slog.NewTextHandler(&sb, nil))
	creds := aurora.StaticPassword("postgres", master)
	log.Info("handles", "cluster", c, "creds", creds, "dsn", dsn("prov"), "cdc", cdcSpec)
	printed = append(printed, c.String(), fmt.Sprintf("%v %+v %#v %s %q %d", creds, creds, creds, creds, creds, creds), sb.String())

	// The rows arrived both ways, so the statements really ran.
	for _, tbl := range []string{"t_pgl", "t_native"} {
		var n int
		if err := w.QueryRow(ctx, "SELECT count(*) FROM "+tbl).Scan(&n); err != nil || n != 1 {
			t.Errorf("%s on the subscriber: %d rows, %v", tbl, n, err)
		}
	}

	// Clean up the subscriptions before reading the log, so that their
	// workers stop writing to it.
	keep(ls.DropSubscription(ctx, "native_sub", nil))
	keep(sub.DropSubscription(ctx, "pgl_sub", true))

	serverLog := readServerLog(ctx, t, c)
	if !strings.Contains(serverLog, "AUDIT: SESSION") || !strings.Contains(serverLog, "CREATE ROLE") {
		t.Fatalf("the server log has no pgAudit session entries or no CREATE ROLE (%d bytes): pgAudit did not log, so the test proves nothing", len(serverLog))
	}
	var entries int
	for e, err := range c.AuditEntries(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		entries++
		printed = append(printed, e.Statement+" "+e.Parameter)
	}
	if entries == 0 {
		t.Fatal("AuditEntries read no entry")
	}
	for _, s := range secrets {
		for i, err := range errs {
			if strings.Contains(err.Error(), s) {
				t.Errorf("error %d holds a secret: %s", i, strings.ReplaceAll(err.Error(), s, "<SECRET>"))
			}
		}
		for i, p := range printed {
			if strings.Contains(p, s) {
				t.Errorf("printed form %d holds a secret: %s", i, strings.ReplaceAll(p, s, "<SECRET>"))
			}
		}
		for _, line := range strings.Split(serverLog, "\n") {
			if strings.Contains(line, s) {
				t.Errorf("the server log holds a secret: %s", strings.ReplaceAll(line, s, "<SECRET>"))
			}
		}
	}
	t.Logf("%d errors, %d printed forms, %d pgAudit entries and %d bytes of server log checked", len(errs), len(printed), entries, len(serverLog))
}

// readServerLog downloads every log file of the writer through the RDS
// log-file API, as a user's audit pipeline would.
func readServerLog(ctx context.Context, t *testing.T, c *aurora.Cluster) string {
	t.Helper()
	d, err := c.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	files, err := c.RDS().DescribeDBLogFiles(ctx, &rds.DescribeDBLogFilesInput{DBInstanceIdentifier: aws.String(d.Writer.ID)})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, f := range files.DescribeDBLogFiles {
		marker := "0"
		for {
			out, err := c.RDS().DownloadDBLogFilePortion(ctx, &rds.DownloadDBLogFilePortionInput{
				DBInstanceIdentifier: aws.String(d.Writer.ID), LogFileName: f.LogFileName, Marker: aws.String(marker)})
			if err != nil {
				t.Fatal(err)
			}
			b.WriteString(aws.ToString(out.LogFileData))
			if !aws.ToBool(out.AdditionalDataPending) {
				break
			}
			marker = aws.ToString(out.Marker)
		}
	}
	return b.String()
}
