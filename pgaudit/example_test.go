package pgaudit_test

import (
	"fmt"
	"strings"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/pgaudit"
)

func ExampleParseClasses() {
	c, err := pgaudit.ParseClasses("ALL, -misc")
	if err != nil {
		panic(err)
	}
	fmt.Println(c)
	fmt.Println(c.Logs(pgaudit.Write), c.Logs(pgaudit.MiscSet))
	_, err = pgaudit.ParseClasses("read, dml")
	fmt.Println(err)
	// Output:
	// read,write,function,role,ddl
	// true false
	// pgaudit: invalid input: pgaudit.log "read, dml": unknown class "dml"; allowed: read, write, function, role, ddl, misc, misc_set, all, none (each may be prefixed with - to subtract it)
}

func ExampleSettings_Changes() {
	changes, err := pgaudit.Settings{
		Log:     pgaurora.Ptr(pgaudit.Write | pgaudit.DDL),
		LogRows: pgaurora.Ptr(true),
		Role:    pgaudit.AuditRole,
	}.Changes(&pgaudit.ChangeOptions{SharedPreloadLibraries: "pg_stat_statements"})
	if err != nil {
		panic(err)
	}
	for _, c := range changes {
		fmt.Println(c)
	}
	// Output:
	// shared_preload_libraries=pg_stat_statements,pgaudit (pending-reboot)
	// pgaudit.log=write,ddl (immediate)
	// pgaudit.log_rows=1 (immediate)
	// pgaudit.role=rds_pgaudit (immediate)
}

func ExampleEntries() {
	log := `2026-11-21 10:00:00 UTC:10.0.0.7(40112):alice@sales:[1234]:LOG:  AUDIT: SESSION,1,1,READ,SELECT,TABLE,public.orders,"select id,
	       total from orders",<not logged>
2026-11-21 10:00:00 UTC::@:[99]:LOG:  checkpoint starting: time
2026-11-21 10:00:01 UTC:10.0.0.7(40112):alice@sales:[1234]:LOG:  AUDIT: SESSION,2,1,ROLE,ALTER ROLE,,,ALTER ROLE bob PASSWORD <REDACTED>,<not logged>
`
	for e, err := range pgaudit.Entries(strings.NewReader(log), nil) {
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s %s@%s %s %s %q\n", e.Time.Format("15:04:05"), e.User, e.Database, e.Class.Names()[0], e.Command, e.Statement)
	}
	// Output:
	// 10:00:00 alice@sales READ SELECT "select id,\n       total from orders"
	// 10:00:01 alice@sales ROLE ALTER ROLE "ALTER ROLE bob PASSWORD <REDACTED>"
}

func ExampleSummarize() {
	log := `2026-11-21 10:00:00 UTC:10.0.0.7(1):alice@sales:[1]:LOG:  AUDIT: SESSION,1,1,WRITE,INSERT,TABLE,public.orders,insert,<none>
2026-11-21 10:00:01 UTC:10.0.0.8(2):bob@sales:[2]:LOG:  AUDIT: SESSION,1,1,WRITE,UPDATE,TABLE,public.orders,update,<none>
2026-11-21 10:00:02 UTC:10.0.0.8(2):bob@sales:[2]:LOG:  AUDIT: SESSION,2,1,READ,SELECT,TABLE,public.customers,select,<none>
`
	s, err := pgaudit.Summarize(pgaudit.Entries(strings.NewReader(log), nil))
	if err != nil {
		panic(err)
	}
	fmt.Println(s.Entries, s.ByClass.Sorted(), s.ByUser.Sorted(), s.ByObject.Sorted()[0])
	// Output:
	// 3 [{WRITE 2} {READ 1}] [{bob 2} {alice 1}] {TABLE public.orders 2}
}
