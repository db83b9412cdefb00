package pgaurora

import (
	"fmt"
	"time"
)

// Wait says how a long operation polls while it waits for something (an
// instance to come back from a reboot, a subscription to catch up, a
// certificate to be presented): the first poll at once, the next after
// MinDelay, each further one after twice the previous delay but at most
// MaxDelay, and no more polls once MaxWait has passed. The caller's
// context bounds the wait too. The names are aws-sdk-go-v2's waiters'.
//
// A zero field takes the operation's default, which each operation
// documents; an aurora.Cluster made with aurora.WithWait supplies the
// defaults of every operation it runs.
type Wait struct {
	// MinDelay is the delay before the second poll.
	MinDelay time.Duration
	// MaxDelay caps the delay between polls.
	MaxDelay time.Duration
	// MaxWait bounds the whole wait.
	MaxWait time.Duration
}

// Or returns w with each zero field taken from def.
func (w Wait) Or(def Wait) Wait {
	if w.MinDelay <= 0 {
		w.MinDelay = def.MinDelay
	}
	if w.MaxDelay <= 0 {
		w.MaxDelay = def.MaxDelay
	}
	if w.MaxWait <= 0 {
		w.MaxWait = def.MaxWait
	}
	return w
}

// IsZero reports whether no field is set.
func (w Wait) IsZero() bool { return w == Wait{} }

// String shows the three durations.
func (w Wait) String() string {
	return fmt.Sprintf("Wait{MinDelay: %v, MaxDelay: %v, MaxWait: %v}", w.MinDelay, w.MaxDelay, w.MaxWait)
}
