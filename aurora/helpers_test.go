package aurora_test

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/aurora"
)

// Helpers shared by the package's tests.

// fastWait polls the emulator quickly: its transitions take milliseconds
// to seconds, where real Aurora's take minutes. Every test cluster has it
// as its default (WithWait).
var fastWait = pgaurora.Wait{MinDelay: 50 * time.Millisecond, MaxDelay: 300 * time.Millisecond, MaxWait: 2 * time.Minute}

// openCluster returns a handle on one of the emulator's clusters, with
// verify-full TLS against the emulator's CAs, closed when the test ends.
// With a recorder, every RDS call goes through it.
func openCluster(t testing.TB, id string, rec *apiRecorder, opts ...aurora.Option) *aurora.Cluster {
	t.Helper()
	cfg := emu.AWSConfig()
	if rec != nil {
		cfg = rec.wrap(cfg)
	}
	base := []aurora.Option{
		aurora.WithAWSConfig(cfg),
		aurora.WithCredentials(aurora.StaticPassword("postgres", emu.MasterPassword(id))),
		aurora.WithCABundle(emu.CABundlePEM()),
		aurora.WithWait(fastWait),
	}
	c, err := aurora.New(id, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// newCluster is openCluster on the "shop" cluster, without a recorder.
func newCluster(t *testing.T, opts ...aurora.Option) *aurora.Cluster {
	t.Helper()
	return openCluster(t, clusterID, nil, opts...)
}

// apiRecorder records the RDS actions sent through a Cluster, by reading
// the Action field of each Query-protocol request body.
type apiRecorder struct {
	base aws.HTTPClient
	mu   sync.Mutex
	acts []string
}

// wrap returns cfg with its RDS calls going through r (to cfg's own HTTP
// client, or the default one).
func (r *apiRecorder) wrap(cfg aws.Config) aws.Config {
	r.base = cfg.HTTPClient
	if r.base == nil {
		r.base = http.DefaultClient
	}
	cfg.HTTPClient = r
	return cfg
}

func (r *apiRecorder) Do(req *http.Request) (*http.Response, error) {
	action, err := requestAction(req)
	if err != nil {
		return nil, err
	}
	if action != "" {
		r.mu.Lock()
		r.acts = append(r.acts, action)
		r.mu.Unlock()
	}
	return r.base.Do(req)
}

// requestAction returns the Action field of a Query-protocol request
// ("" for others), leaving the body to be read again.
func requestAction(req *http.Request) (string, error) {
	if req.Body == nil {
		return "", nil
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return "", err
	}
	req.Body.Close()
	req.Body = io.NopCloser(bytes.NewReader(body))
	v, err := url.ParseQuery(string(body))
	if err != nil {
		return "", nil
	}
	return v.Get("Action"), nil
}

// take returns the actions recorded since the last take.
func (r *apiRecorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	a := r.acts
	r.acts = nil
	return a
}

// mutating returns the actions among acts that change something.
func mutating(acts []string) []string {
	var out []string
	for _, a := range acts {
		if !strings.HasPrefix(a, "Describe") && !strings.HasPrefix(a, "Download") {
			out = append(out, a)
		}
	}
	return out
}

// stepOf returns the first step of a report whose name starts with
// prefix.
func stepOf(t *testing.T, r *aurora.Report, prefix string) aurora.Step {
	t.Helper()
	for _, s := range r.Steps {
		if strings.HasPrefix(s.Name, prefix) {
			return s
		}
	}
	t.Fatalf("no step %q in report:\n%s", prefix, r)
	return aurora.Step{}
}

// stepWant is a step wantSteps expects: a name prefix and whether the
// step changed something.
type stepWant struct {
	prefix  string
	changed bool
}

// wantSteps checks the steps of a report, in order, by name prefix and
// whether each changed something.
func wantSteps(t *testing.T, r *aurora.Report, want ...stepWant) {
	t.Helper()
	if len(r.Steps) != len(want) {
		t.Fatalf("%d steps, want %d:\n%s", len(r.Steps), len(want), r)
	}
	for i, w := range want {
		s := r.Steps[i]
		if !strings.HasPrefix(s.Name, w.prefix) || s.Changed != w.changed {
			t.Errorf("step %d = %q changed=%v, want %q changed=%v\n%s", i+1, s.Name, s.Changed, w.prefix, w.changed, r)
		}
	}
}

// stepNames lists the names of steps.
func stepNames(steps []aurora.Step) []string {
	var out []string
	for _, s := range steps {
		out = append(out, s.Name)
	}
	return out
}

// eventSteps lists the steps of the workflow that events report as
// completed, leaving out the events of the operations the steps ran.
func eventSteps(workflow string, events []pgaurora.Event) []string {
	var out []string
	for _, e := range events {
		if e.Operation == workflow && e.Completed {
			out = append(out, e.Step)
		}
	}
	return out
}

// syncList is a list that goroutines append to: the steps a workflow
// reports (its add is a ProgressFunc), the writes a stream acknowledged.
type syncList[T any] struct {
	mu    sync.Mutex
	items []T
}

func (l *syncList[T]) add(v T) {
	l.mu.Lock()
	l.items = append(l.items, v)
	l.mu.Unlock()
}

func (l *syncList[T]) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.items)
}

// snapshot returns a copy of the list.
func (l *syncList[T]) snapshot() []T {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]T(nil), l.items...)
}
