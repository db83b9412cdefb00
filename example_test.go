package pgaurora_test

import (
	"fmt"
	"log"

	"github.com/pgaurora/pgaurora"
)

// A connection string never prints its password, whichever way it is
// printed.
func ExampleParseConnString() {
	conn, err := pgaurora.ParseConnString("postgresql://repl:s3cret@publisher.example.com:5432/app?sslmode=verify-full")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(conn)
	fmt.Printf("%+v\n", struct{ Conn pgaurora.ConnString }{conn})
	// Output:
	// host=publisher.example.com port=5432 dbname=app user=repl password=REDACTED sslmode=verify-full
	// {Conn:host=publisher.example.com port=5432 dbname=app user=repl password=REDACTED sslmode=verify-full}
}

func ExampleNewConnString() {
	dsn, err := pgaurora.NewConnString(map[string]string{
		"host": "provider.cluster-abc.us-east-1.rds.amazonaws.com", "port": "5432",
		"dbname": "labdb", "user": "postgres", "password": "it's secret", "sslmode": "require",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(dsn)
	fmt.Printf("%q\n", dsn.Without("host"))
	// Output:
	// host=provider.cluster-abc.us-east-1.rds.amazonaws.com port=5432 dbname=labdb user=postgres password=REDACTED sslmode=require
	// "port=5432 dbname=labdb user=postgres password=REDACTED sslmode=require"
}
