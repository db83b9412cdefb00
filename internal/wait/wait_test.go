package wait

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pgaurora/pgaurora"
)

func TestUntilBacksOffAndStopsWhenDone(t *testing.T) {
	var at []time.Time
	err := Until(context.Background(), pgaurora.Wait{MinDelay: 5 * time.Millisecond, MaxDelay: 20 * time.Millisecond}, RDS,
		func(context.Context) (bool, error) {
			at = append(at, time.Now())
			return len(at) == 6, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if len(at) != 6 {
		t.Fatalf("%d polls, want 6", len(at))
	}
	// Delays 5, 10, 20, 20, 20 ms: each at least its nominal value.
	want := []time.Duration{5, 10, 20, 20, 20}
	for i := 1; i < len(at); i++ {
		if got := at[i].Sub(at[i-1]); got < want[i-1]*time.Millisecond {
			t.Errorf("delay %d = %v, want at least %v ms", i, got, want[i-1])
		}
	}
}

func TestUntilReturnsCheckError(t *testing.T) {
	boom := errors.New("boom")
	n := 0
	err := Until(context.Background(), pgaurora.Wait{MinDelay: time.Millisecond}, RDS, func(context.Context) (bool, error) {
		n++
		if n == 3 {
			return false, boom
		}
		return false, nil
	})
	if !errors.Is(err, boom) || n != 3 {
		t.Fatalf("err %v after %d polls; want boom after 3", err, n)
	}
}

func TestUntilMaxWait(t *testing.T) {
	start := time.Now()
	err := Until(context.Background(), pgaurora.Wait{MinDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, MaxWait: 50 * time.Millisecond}, RDS,
		func(ctx context.Context) (bool, error) {
			// A check that fails because the wait's bound passed is a
			// timeout, not a failure.
			if ctx.Err() != nil {
				return false, ctx.Err()
			}
			return false, nil
		})
	var te *TimeoutError
	if !errors.As(err, &te) || te.MaxWait != 50*time.Millisecond || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a *TimeoutError of 50ms matching DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("returned after %v", d)
	}
}

func TestUntilCallerContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	err := Until(ctx, pgaurora.Wait{MinDelay: time.Millisecond}, RDS, func(context.Context) (bool, error) {
		if n++; n == 2 {
			cancel()
		}
		return false, nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	var te *TimeoutError
	if errors.As(err, &te) {
		t.Fatal("a cancelled caller is not a timeout")
	}
}

func TestUntilDefaults(t *testing.T) {
	// Zero fields come from def: a MaxWait of 20ms from def ends the wait.
	err := Until(context.Background(), pgaurora.Wait{MinDelay: time.Millisecond}, pgaurora.Wait{MaxDelay: 2 * time.Millisecond, MaxWait: 20 * time.Millisecond},
		func(context.Context) (bool, error) { return false, nil })
	var te *TimeoutError
	if !errors.As(err, &te) || te.MaxWait != 20*time.Millisecond {
		t.Fatalf("err = %v, want the default MaxWait of 20ms", err)
	}
}
