// Package wait is the SDK's one polling loop. Every operation that waits
// for something (RDS states, replication, servers) calls Until with a
// pgaurora.Wait, so that the backoff, the bound and the errors are the same
// everywhere.
package wait

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pgaurora/pgaurora"
)

// RDS is the default for waits on the RDS API: polls from 2 s apart,
// growing to 30 s, for at most 30 minutes. Real Aurora reboots and
// modifications take minutes; against the local emulator, tens of
// milliseconds are enough (aurora.WithWait).
var RDS = pgaurora.Wait{MinDelay: 2 * time.Second, MaxDelay: 30 * time.Second, MaxWait: 30 * time.Minute}

// Server is the default for waits on a database server's own state
// (replication catching up, a backend ending): polls from 50 ms apart,
// growing to 1 s, with no bound but the caller's context.
var Server = pgaurora.Wait{MinDelay: 50 * time.Millisecond, MaxDelay: time.Second}

// minDelay is the shortest delay Until sleeps between polls.
const minDelay = time.Millisecond

// TimeoutError reports that a wait gave up after its MaxWait. It matches
// context.DeadlineExceeded with errors.Is.
type TimeoutError struct {
	// MaxWait is the bound that passed.
	MaxWait time.Duration
}

func (e *TimeoutError) Error() string { return fmt.Sprintf("gave up after %v", e.MaxWait) }

// Is makes errors.Is(err, context.DeadlineExceeded) true.
func (e *TimeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

// Until calls check until it reports done or fails, polling as w says:
// at once, then after w.MinDelay, each next delay twice the previous one
// up to w.MaxDelay. Zero fields of w take their values from def. check
// gets a context bounded by w.MaxWait (when set) and ctx.
//
// Until returns nil when check reports done, check's error when it fails,
// ctx's error when ctx ends, and a *TimeoutError when MaxWait passes;
// errors check returns because the wait's own bound passed are reported
// as the *TimeoutError.
func Until(ctx context.Context, w, def pgaurora.Wait, check func(ctx context.Context) (done bool, err error)) error {
	w = w.Or(def)
	delay := max(w.MinDelay, minDelay)
	maxDelay := max(w.MaxDelay, delay)
	wctx := ctx
	if w.MaxWait > 0 {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(ctx, w.MaxWait)
		defer cancel()
	}
	stopped := func() error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return &TimeoutError{MaxWait: w.MaxWait}
	}
	for {
		done, err := check(wctx)
		if wctx.Err() != nil && (err != nil || !done) {
			return stopped()
		}
		if err != nil || done {
			return err
		}
		if Sleep(wctx, delay) != nil {
			return stopped()
		}
		delay = min(delay*2, maxDelay)
	}
}

// Sleep waits d or until ctx ends, and returns ctx's error in that case.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// IsTimeout reports whether err says a wait gave up after its MaxWait.
func IsTimeout(err error) bool {
	var te *TimeoutError
	return errors.As(err, &te)
}
