package auroratest

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fault injection: test hooks that make the emulated service misbehave the
// way the real one sometimes does. They are methods on Emulator, safe to
// call at any time from any goroutine.

// hooks holds the faults. Every API call passes through beforeCall.
type hooks struct {
	mu       sync.Mutex
	all      callFaults             // every call: Emulator.ThrottleNext, SetThrottleRate, SetLatency
	byAction map[string]*callFaults // one action's: Emulator.Action

	rebootDelay map[string]time.Duration // by instance
	failReboot  map[string]bool          // by instance: the next reboot fails
	failUpgrade map[string]bool          // by cluster: the next real major upgrade fails late

	calls map[string]int // calls received, by action
}

// callFaults are the API faults of one scope, every call or one action's.
// Their fields are guarded by hooks.mu.
type callFaults struct {
	throttleNext int
	limit        tokenBucket
	latency      time.Duration
	failNext     int
	fail         *apiError // what the failNext calls answer
}

// tokenBucket limits calls to rate a second, holding one second's worth
// of tokens (at least one). A zero rate allows every call.
type tokenBucket struct {
	rate   float64
	tokens float64
	last   time.Time // last refill
}

func (b *tokenBucket) set(perSecond float64, now time.Time) {
	b.rate = max(perSecond, 0)
	b.tokens = max(perSecond, 1)
	b.last = now
}

// take reports whether a call at now is within the limit, and takes its
// token.
func (b *tokenBucket) take(now time.Time) bool {
	if b.rate <= 0 {
		return true
	}
	b.tokens = min(b.tokens+now.Sub(b.last).Seconds()*b.rate, max(b.rate, 1))
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// refuse decides whether the scope refuses a call arriving at now, using
// up what the refusal consumes: a ThrottleNext, else a token of the rate
// limit, else a FailNext. It returns nil for a call it lets through.
func (f *callFaults) refuse(now time.Time) *apiError {
	switch {
	case f.throttleNext > 0:
		f.throttleNext--
		return errThrottled()
	case !f.limit.take(now):
		return errThrottled()
	case f.failNext > 0:
		f.failNext--
		return f.fail
	}
	return nil
}

func errThrottled() *apiError { return &apiError{http.StatusBadRequest, "Throttling", "Rate exceeded"} }

// scope returns the faults of one action ("" for every call), creating
// them. Callers hold h.mu.
func (h *hooks) scope(action string) *callFaults {
	if action == "" {
		return &h.all
	}
	f := h.byAction[action]
	if f == nil {
		if h.byAction == nil {
			h.byAction = map[string]*callFaults{}
		}
		f = &callFaults{}
		h.byAction[action] = f
	}
	return f
}

// beforeCall runs before an action is dispatched; an error becomes the
// call's response. The faults of every call come first, then the
// action's; the latencies add up.
func (h *hooks) beforeCall(ctx context.Context, action string) error {
	h.mu.Lock()
	now := time.Now()
	if h.calls == nil {
		h.calls = map[string]int{}
	}
	h.calls[action]++
	lat := h.all.latency
	refused := h.all.refuse(now)
	if f := h.byAction[action]; f != nil {
		lat += f.latency
		if refused == nil {
			refused = f.refuse(now)
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
	if refused != nil {
		return refused
	}
	return nil
}

// CallCount returns how many calls of an action the emulator has
// received so far, whatever their outcome (throttled and failed calls
// count): an RDS action ("DescribeDBClusters"), a Secrets Manager one
// ("GetSecretValue") or a CloudWatch one ("GetMetricData").
func (e *Emulator) CallCount(action string) int {
	e.hooks.mu.Lock()
	defer e.hooks.mu.Unlock()
	return e.hooks.calls[action]
}

// ThrottleNext makes the next n API calls fail with the Throttling error
// (HTTP 400, "Rate exceeded"), which the SDK's retryer retries with
// backoff. Zero or less removes what is left of an earlier ThrottleNext.
// Action(name).ThrottleNext throttles one action's calls only.
func (e *Emulator) ThrottleNext(n int) { e.everyCall().ThrottleNext(n) }

// SetThrottleRate limits the API to perSecond calls a second (a token
// bucket holding one second's worth); calls beyond it fail with
// Throttling. Zero or less removes the limit. Action(name).SetThrottleRate
// limits one action's calls only.
func (e *Emulator) SetThrottleRate(perSecond float64) { e.everyCall().SetThrottleRate(perSecond) }

// SetLatency delays every API response by d (zero removes the delay).
// Action(name).SetLatency delays one action's responses only (on top of
// this delay).
func (e *Emulator) SetLatency(d time.Duration) { e.everyCall().SetLatency(d) }

// everyCall is the scope of the API-wide faults.
func (e *Emulator) everyCall() *ActionFaults { return &ActionFaults{e: e} }

// ActionFaults are the faults of one API action, made by Emulator.Action.
// They apply to every client of the emulator, so a test that sets them
// should not run in parallel with other tests that call the same action,
// and should Reset them when it ends. Their methods are safe to call at
// any time from any goroutine.
//
// A call goes through the API-wide faults (Emulator.ThrottleNext,
// SetThrottleRate, SetLatency) first and then through its action's: it is
// delayed by both latencies, and the first fault that refuses it answers
// it. Faults answer before the request is decoded, so a refused call has
// no effect, and CallCount counts it.
type ActionFaults struct {
	e      *Emulator
	action string // "" is every call
}

// Action returns the faults of one API action: an RDS action the
// emulator serves ("RebootDBInstance", "ModifyDBCluster",
// "DescribeDBClusters", ..., and "DownloadCompleteDBLogFile", the REST
// download of a whole log file), a Secrets Manager one
// ("GetSecretValue"), a CloudWatch one ("GetMetricData",
// "PutMetricAlarm", ...) or a CloudWatch Logs one ("FilterLogEvents",
// ...), named as in the API reference.
//
// Action panics when the emulator serves no action of that name, as
// regexp.MustCompile panics on a bad pattern: action names are literals in
// test code, and a misspelled one must not pass for a fault that never
// fires.
func (e *Emulator) Action(name string) *ActionFaults {
	if _, ok := actions[name]; !ok && !restActions[name] {
		if !e.jsonActionExists(name) && !cborActionExists(name) {
			panic(fmt.Sprintf("auroratest: Action(%q): the emulator serves no such action (names are as in the RDS, Secrets Manager, CloudWatch and CloudWatch Logs API references, for example RebootDBInstance)", name))
		}
	}
	return &ActionFaults{e: e, action: name}
}

// update changes the faults of a's scope under the hooks' lock.
func (a *ActionFaults) update(f func(*callFaults)) {
	a.e.hooks.mu.Lock()
	defer a.e.hooks.mu.Unlock()
	f(a.e.hooks.scope(a.action))
}

// ThrottleNext makes the action's next n calls fail with the Throttling
// error (HTTP 400, "Rate exceeded"), which the SDK's retryer retries with
// backoff. Zero or less removes what is left of an earlier ThrottleNext.
func (a *ActionFaults) ThrottleNext(n int) {
	a.update(func(f *callFaults) { f.throttleNext = max(n, 0) })
}

// SetThrottleRate limits the action to perSecond calls a second (a token
// bucket holding one second's worth); calls beyond it fail with
// Throttling. Zero or less removes the limit.
func (a *ActionFaults) SetThrottleRate(perSecond float64) {
	a.update(func(f *callFaults) { f.limit.set(perSecond, time.Now()) })
}

// SetLatency delays the action's responses by d (zero removes the
// delay).
func (a *ActionFaults) SetLatency(d time.Duration) {
	a.update(func(f *callFaults) { f.latency = max(d, 0) })
}

// Fault is an error response of the API, for ActionFaults.FailNext. The
// SDK decodes it as it decodes AWS's: errors.As finds a smithy.APIError
// whose ErrorCode is Code, and the typed error the SDK has for the code
// (*types.InvalidDBInstanceStateFault for "InvalidDBInstanceState", for
// example). The SDK's retryer retries throttling codes ("Throttling"),
// "RequestTimeout" and the 500, 502, 503 and 504 statuses; any other
// fault reaches the caller at its first attempt.
type Fault struct {
	// Code is the error code, as AWS writes it: "InvalidDBInstanceState",
	// "InvalidDBClusterStateFault", "Throttling", "InternalFailure", ...
	// (letters, digits, '.' and '_', starting with a letter). Required.
	Code string
	// Message is the error message. Empty means one that names Code and
	// says the fault was injected.
	Message string
	// StatusCode is the HTTP status, 400 to 599. Zero means 400.
	StatusCode int
}

var faultCodeRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9._]*$`)

// apiError checks f and returns the response it describes.
func (f Fault) apiError() (*apiError, error) {
	if !faultCodeRE.MatchString(f.Code) {
		return nil, fmt.Errorf("auroratest: FailNext: Fault.Code %q is not an error code: use letters, digits, '.' and '_', starting with a letter (for example InvalidDBInstanceState)", f.Code)
	}
	status := f.StatusCode
	if status == 0 {
		status = http.StatusBadRequest
	}
	if status < 400 || status > 599 {
		return nil, fmt.Errorf("auroratest: FailNext: Fault.StatusCode %d is not an error status: use 400 to 599, or 0 for 400", f.StatusCode)
	}
	msg := f.Message
	if msg == "" {
		msg = "The request failed with " + f.Code + " (a fault injected by auroratest)."
	}
	return &apiError{status, f.Code, msg}, nil
}

// FailNext makes the action's next n calls fail with f, before they do
// anything: a failed RebootDBInstance reboots nothing, a failed
// ModifyDBCluster changes nothing. Calls that a throttling fault refuses
// first do not count among the n. Zero or less removes what is left of an
// earlier FailNext.
//
// FailNext panics when n is positive and f is not a valid fault (see
// Fault), for the same reason Action panics on an unknown name.
func (a *ActionFaults) FailNext(n int, f Fault) {
	if n <= 0 {
		a.update(func(cf *callFaults) { cf.failNext, cf.fail = 0, nil })
		return
	}
	ae, err := f.apiError()
	if err != nil {
		panic(err.Error())
	}
	a.update(func(cf *callFaults) { cf.failNext, cf.fail = n, ae })
}

// Reset removes the action's faults: its throttling, rate limit, latency
// and pending failures. The API-wide faults stay.
func (a *ActionFaults) Reset() {
	a.update(func(f *callFaults) { *f = callFaults{} })
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

// FailNextUpgrade makes the next major version upgrade of a cluster that
// moves its servers to binaries of the target version fail at its last
// step: once the old servers have stopped and the new writer runs on the
// new data, before the readers start. The emulator then does what it does
// for any failure of that upgrade: the new servers go, the old ones start
// again on their kept data, an event says the upgrade failed, and the
// cluster is available on its old version.
func (e *Emulator) FailNextUpgrade(clusterID string) error {
	st := e.lock()
	_, ok := st.clusters[clusterID]
	st.unlock()
	if !ok {
		return fmt.Errorf("auroratest: no DB cluster %q", clusterID)
	}
	e.hooks.mu.Lock()
	defer e.hooks.mu.Unlock()
	if e.hooks.failUpgrade == nil {
		e.hooks.failUpgrade = map[string]bool{}
	}
	e.hooks.failUpgrade[clusterID] = true
	return nil
}

// upgradeFault reports, and consumes, a FailNextUpgrade.
func (h *hooks) upgradeFault(clusterID string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	fail := h.failUpgrade[clusterID]
	delete(h.failUpgrade, clusterID)
	return fail
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

// instanceStatuses are the statuses RDS reports for DB instances (the
// Amazon RDS User Guide's "Viewing Amazon RDS DB instance status").
var instanceStatuses = []string{
	"available", "backing-up", "configuring-enhanced-monitoring", "configuring-iam-database-auth",
	"configuring-log-exports", "converting-to-vpc", "creating", "delete-precheck", "deleting", "failed",
	"inaccessible-encryption-credentials", "inaccessible-encryption-credentials-recoverable",
	"incompatible-network", "incompatible-option-group", "incompatible-parameters", "incompatible-restore",
	"insufficient-capacity", "maintenance", "modifying", "moving-to-vpc", "rebooting",
	"resetting-master-credentials", "renaming", "restore-error", "starting", "stopped", "stopping",
	"storage-config-upgrade", "storage-full", "storage-initialization", "storage-optimization", "upgrading",
}

// heldStatus is a status an instance reports while a HoldStatus holds it.
type heldStatus struct{ status string }

// reportedStatus is the status the API reports for an instance and checks
// before acting on it: the held one while HoldStatus holds it, else its
// own.
func (in *instance) reportedStatus() string {
	if in.held != nil {
		return in.held.status
	}
	return in.status
}

// busyStatus returns the status that keeps an action allowed only in the
// given statuses from acting on an instance: its held status (HoldStatus)
// or else its own, when that is not allowed; "" when the action may go
// ahead.
func (in *instance) busyStatus(allowed ...string) string {
	if in.held != nil && !slices.Contains(allowed, in.held.status) {
		return in.held.status
	}
	if !slices.Contains(allowed, in.status) {
		return in.status
	}
	return ""
}

// HoldStatus makes a DB instance report status, one of the DB instance
// statuses RDS reports ("modifying", "storage-full",
// "incompatible-parameters", ...), until release is called: an instance
// stuck in a state. DescribeDBInstances reports it, so the SDK's
// DBInstanceAvailableWaiter waits until its maximum wait (or fails at once
// for the states it treats as failures, such as "incompatible-parameters"
// or "failed"), and the actions that need the instance in some state
// refuse it as they refuse a busy instance (RebootDBInstance,
// ModifyDBInstance and DeleteDBInstance answer InvalidDBInstanceState for
// "modifying", FailoverDBCluster does not pick it, ...).
//
// Underneath, the instance goes on as before: its server keeps running
// and serving its endpoints, and operations already under way finish.
// After release it reports its own status again. A later HoldStatus of the
// same instance replaces the hold; releasing a replaced hold does nothing,
// and so does releasing one twice.
func (e *Emulator) HoldStatus(instanceID, status string) (release func(), err error) {
	if !slices.Contains(instanceStatuses, status) {
		return nil, fmt.Errorf("auroratest: HoldStatus: %q is not a DB instance status; use one of %s", status, strings.Join(instanceStatuses, ", "))
	}
	st := e.lock()
	defer st.unlock()
	in, ok := st.instance(e, instanceID)
	if !ok {
		return nil, fmt.Errorf("auroratest: HoldStatus: no DB instance %q", instanceID)
	}
	h := &heldStatus{status}
	in.held = h
	return func() {
		st := e.lock()
		defer st.unlock()
		if in.held == h {
			in.held = nil
		}
	}, nil
}

// applyDelaySetting is the standby setting behind SetReplicaLag.
const applyDelaySetting = "recovery_min_apply_delay"

// lagSetting is a lag as recovery_min_apply_delay's value: milliseconds,
// rounded up.
func lagSetting(lag time.Duration) string {
	return strconv.FormatInt(int64((lag+time.Millisecond-1)/time.Millisecond), 10)
}

// applyDelay is the recovery_min_apply_delay the instance's server runs
// with for its SetReplicaLag lag: "" (none) when it has no lag or is the
// writer. Callers hold the state lock.
func (in *instance) applyDelay() string {
	if in.lag <= 0 || in.writer {
		return ""
	}
	return lagSetting(in.lag)
}

// maxLag is the largest lag recovery_min_apply_delay takes (INT_MAX
// milliseconds).
const maxLag = math.MaxInt32 * time.Millisecond

// SetReplicaLag makes a reader replay the writer's WAL lag behind it, for
// real: its server runs with PostgreSQL's recovery_min_apply_delay, so a
// transaction committed on the writer becomes visible on the reader (and
// through the reader endpoint when it routes there) only once lag has
// passed since the commit, and aurora_replica_status() reports the
// reader's replica_lag_in_msec meanwhile. Zero removes the lag; changes
// take effect at once, for transactions already waiting too.
//
// The lag stays with the instance across reboots. It applies while the
// instance is a reader: a failover to it ends the lag first (Aurora's
// readers share the writer's storage, so a failover waits for no lag),
// and it lags again if it becomes a reader again.
//
// The emulator's operations that wait for readers to replay a change wait
// as long as the lag: a master password change (RotateMasterPassword,
// Secrets Manager's RotateSecret, ModifyDBCluster's MasterUserPassword,
// which leaves the cluster "modifying" meanwhile) ends once every reader
// has replayed the new password, and ResetState returns once every
// available reader has replayed the reset (it gives up 30 seconds after
// the lag, with an error). Remove the lag (SetReplicaLag(id, 0)) before them when
// it is longer than a test should wait.
//
// The instance must be a reader, and lag between 0 and about 24 days
// (recovery_min_apply_delay's limit); it is rounded up to whole
// milliseconds. SetReplicaLag returns once the reader's server runs with
// the new lag (a configuration reload, which sessions opened afterwards
// see). It takes no context: that wait is bounded by the emulator's
// lifetime, and ends when the emulator is closed.
func (e *Emulator) SetReplicaLag(instanceID string, lag time.Duration) error {
	if lag < 0 || lag > maxLag {
		return fmt.Errorf("auroratest: SetReplicaLag: the lag %v is outside 0 to %v", lag, maxLag)
	}
	st := e.lock()
	in, ok := st.instance(e, instanceID)
	st.unlock()
	if !ok {
		return fmt.Errorf("auroratest: SetReplicaLag: no DB instance %q", instanceID)
	}
	in.ops.lock()
	defer in.ops.unlock()
	st = e.lock()
	if in.writer {
		id := in.cluster.id
		st.unlock()
		return fmt.Errorf("auroratest: SetReplicaLag: %s is the writer of cluster %s; only readers lag", in.id, id)
	}
	in.lag = lag
	value := in.applyDelay()
	st.unlock()
	if err := e.reloadWith(e.ctx, in, applyDelaySetting, value); err != nil {
		return fmt.Errorf("auroratest: SetReplicaLag %s: %w", in.id, err)
	}
	return nil
}
