package pgtest

import (
	"context"
	"errors"
	"flag"
	"sync"
	"testing"
	"time"

	"github.com/pgaurora/pgaurora/internal/pgserver"
)

// StartServers starts one server per option list, in parallel, for a
// TestMain whose tests need several servers (a publisher and a subscriber).
// Each server gets pgtest's defaults (RDS's log_line_prefix,
// max_connections=200) and then its options. It returns the servers in
// order and a func that stops them; on error it stops those that started
// and says, when the binaries are missing, to run `make deps`.
//
//	srvs, stop, err := pgtest.StartServers(pubOpts, subOpts)
//	if err != nil { fmt.Fprintln(os.Stderr, err); return 1 }
//	defer stop()
func StartServers(each ...[]Option) ([]*pgserver.Server, func(), error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srvs := make([]*pgserver.Server, len(each))
	errs := make([]error, len(each))
	var wg sync.WaitGroup
	for i, opts := range each {
		wg.Go(func() { srvs[i], errs[i] = pgserver.Start(ctx, config(opts)) })
	}
	wg.Wait()
	stop := func() {
		for _, s := range srvs {
			if s != nil {
				s.Close()
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		stop()
		return nil, nil, errors.New(hint(err))
	}
	return srvs, stop, nil
}

// Fuzzing reports whether the test binary runs fuzz targets (the
// coordinator with -test.fuzz, or a fuzz worker). A TestMain can skip
// starting servers then: fuzz targets exercise pure parsers, and every
// worker process would start its own. Call it after flag.Parse.
func Fuzzing() bool {
	for _, name := range []string{"test.fuzz", "test.fuzzworker"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" && f.Value.String() != "false" {
			return true
		}
	}
	return false
}

// WaitFor polls cond every 50 ms until it reports true, and fails the test
// when timeout passes first, naming what it waited for and the last state
// cond described.
func WaitFor(t testing.TB, what string, timeout time.Duration, cond func() (ok bool, state string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out after %v waiting for %s (last: %s)", timeout, what, last)
}
