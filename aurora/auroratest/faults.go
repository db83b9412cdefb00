package auroratest

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Fault injection: test hooks that make the emulated service misbehave the
// way the real one sometimes does. They are methods on Emulator, safe to
// call at any time from any goroutine.

// hooks holds the API-level faults. Every call passes through beforeCall.
type hooks struct {
	mu           sync.Mutex
	throttleNext int
	rate         float64   // calls per second allowed; 0 means no limit
	tokens       float64   // token bucket for rate
	last         time.Time // last refill
	latency      time.Duration

	rebootDelay map[string]time.Duration // by instance
	failReboot  map[string]bool          // by instance: the next reboot fails

	calls map[string]int // calls received, by action
}

// beforeCall runs before an action is dispatched; an error becomes the
// call's response.
func (h *hooks) beforeCall(ctx context.Context, action string) error {
	h.mu.Lock()
	if h.calls == nil {
		h.calls = map[string]int{}
	}
	h.calls[action]++
	lat := h.latency
	throttled := false
	if h.throttleNext > 0 {
		h.throttleNext--
		throttled = true
	} else if h.rate > 0 {
		now := time.Now()
		h.tokens = min(h.tokens+now.Sub(h.last).Seconds()*h.rate, max(h.rate, 1))
		h.last = now
		if h.tokens >= 1 {
			h.tokens--
		} else {
			throttled = true
		}
	}
	h.mu.Unlock()
	if lat > 0 {
		t := time.NewTimer(lat)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return &apiError{http.StatusServiceUnavailable, "RequestCanceled", "the request was canceled"}
		}
	}
	if throttled {
		return &apiError{http.StatusBadRequest, "Throttling", "Rate exceeded"}
	}
	return nil
}

// CallCount returns how many calls of an action the emulator has
// received so far, whatever their outcome (throttled and failed calls
// count): an RDS action ("DescribeDBClusters") or a Secrets Manager one
// ("GetSecretValue").
func (e *Emulator) CallCount(action string) int {
	e.hooks.mu.Lock()
	defer e.hooks.mu.Unlock()
	return e.hooks.calls[action]
}

// ThrottleNext makes the next n API calls fail with the Throttling error
// (HTTP 400, "Rate exceeded"), which the SDK's retryer retries with
// backoff.
func (e *Emulator) ThrottleNext(n int) {
	e.hooks.mu.Lock()
	defer e.hooks.mu.Unlock()
	e.hooks.throttleNext = max(n, 0)
}

// SetThrottleRate limits the API to perSecond calls a second (a token
// bucket holding one second's worth); calls beyond it fail with
// Throttling. Zero or less removes the limit.
func (e *Emulator) SetThrottleRate(perSecond float64) {
	e.hooks.mu.Lock()
	defer e.hooks.mu.Unlock()
	e.hooks.rate = max(perSecond, 0)
	e.hooks.tokens = max(perSecond, 1)
	e.hooks.last = time.Now()
}

// SetLatency delays every API response by d (zero removes the delay).
func (e *Emulator) SetLatency(d time.Duration) {
	e.hooks.mu.Lock()
	defer e.hooks.mu.Unlock()
	e.hooks.latency = max(d, 0)
}

// DelayReboots makes every reboot of an instance (RebootDBInstance, and the
// restart of a CA rotation) stay in "rebooting" d longer before the server
// restarts: with a long d, a reboot hangs until the caller gives up. Zero
// removes the delay.
func (e *Emulator) DelayReboots(instanceID string, d time.Duration) error {
	if err := e.checkInstance(instanceID); err != nil {
		return err
	}
	e.hooks.mu.Lock()
	defer e.hooks.mu.Unlock()
	if e.hooks.rebootDelay == nil {
		e.hooks.rebootDelay = map[string]time.Duration{}
	}
	e.hooks.rebootDelay[instanceID] = max(d, 0)
	return nil
}

// FailNextReboot makes the next reboot of an instance fail: its server
// stays down and the instance reports "failed" (a state the SDK's waiters
// treat as failure) until a later RebootDBInstance starts it again.
func (e *Emulator) FailNextReboot(instanceID string) error {
	if err := e.checkInstance(instanceID); err != nil {
		return err
	}
	e.hooks.mu.Lock()
	defer e.hooks.mu.Unlock()
	if e.hooks.failReboot == nil {
		e.hooks.failReboot = map[string]bool{}
	}
	e.hooks.failReboot[instanceID] = true
	return nil
}

// rebootFault returns the delay and failure injected into one reboot of
// an instance, consuming a FailNextReboot.
func (h *hooks) rebootFault(instanceID string) (time.Duration, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	fail := h.failReboot[instanceID]
	delete(h.failReboot, instanceID)
	return h.rebootDelay[instanceID], fail
}

// StopInstance shuts an instance's server down (a fast shutdown) without
// telling the control plane: the API keeps reporting the instance as it
// was, connections are refused, and RebootDBInstance starts it again. Use
// CrashInstance for a crash that Aurora notices and recovers from.
func (e *Emulator) StopInstance(instanceID string) error {
	if err := e.checkInstance(instanceID); err != nil {
		return err
	}
	st := e.lock()
	in := st.instances[instanceID]
	st.unlock()
	in.ops.lock()
	defer in.ops.unlock()
	st = e.lock()
	srv := in.server
	st.unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Stop(ctx); err != nil {
		return fmt.Errorf("auroratest: StopInstance %s: %w", instanceID, err)
	}
	return nil
}

func (e *Emulator) checkInstance(id string) error {
	st := e.lock()
	defer st.unlock()
	if _, ok := st.instances[id]; !ok {
		return fmt.Errorf("auroratest: no DB instance %q", id)
	}
	return nil
}
