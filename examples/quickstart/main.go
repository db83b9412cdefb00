// Command quickstart is the README's main command (`make demo`).
//
// Today it starts a local PostgreSQL 15 server with pgAudit and pglogical
// preloaded, as an Aurora PostgreSQL instance would have them after a
// parameter-group change and a reboot, creates both extensions, prints their
// versions and the server's shared_preload_libraries, and shuts the server
// down. It grows into a tour of the whole SDK against the local Aurora
// emulator as the emulator and the feature packages land.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora/internal/pgserver"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer) error {
	start := time.Now()
	fmt.Fprintln(out, "starting a local PostgreSQL 15 server with pgaudit and pglogical preloaded...")
	srv, err := pgserver.Start(ctx, pgserver.Config{
		PreloadLibraries: []string{"pgaudit", "pglogical"},
		Settings:         map[string]string{"wal_level": "logical"},
	})
	if err != nil {
		return err
	}
	defer func() {
		if err := srv.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "quickstart: stopping the server:", err)
		}
		fmt.Fprintln(out, "server stopped")
	}()
	fmt.Fprintf(out, "server ready on 127.0.0.1:%d\n", srv.Port())

	conn, err := pgx.Connect(ctx, srv.ConnString("postgres"))
	if err != nil {
		return fmt.Errorf("connecting: %w", err)
	}
	defer conn.Close(context.Background())

	var preload string
	if err := conn.QueryRow(ctx, "SHOW shared_preload_libraries").Scan(&preload); err != nil {
		return err
	}
	fmt.Fprintf(out, "shared_preload_libraries = %s\n", preload)
	for _, ext := range []string{"pgaudit", "pglogical"} {
		if _, err := conn.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS "+ext); err != nil {
			return fmt.Errorf("creating extension %s: %w", ext, err)
		}
		var version string
		if err := conn.QueryRow(ctx, "SELECT extversion FROM pg_extension WHERE extname = $1", ext).Scan(&version); err != nil {
			return err
		}
		fmt.Fprintf(out, "extension %-9s %s\n", ext, version)
	}
	fmt.Fprintf(out, "done in %s\n", time.Since(start).Round(time.Millisecond))
	return nil
}
