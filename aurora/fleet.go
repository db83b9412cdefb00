package aurora

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/internal/plural"
	"github.com/pgaurora/pgaurora/params"
	"github.com/pgaurora/pgaurora/sslcert"
)

// EngineAuroraPostgreSQL is the RDS engine name of Aurora PostgreSQL, which
// a Fleet lists by default.
const EngineAuroraPostgreSQL = "aurora-postgresql"

// Fleet defaults.
const (
	// DefaultFleetConcurrency is how many clusters a Fleet works on at
	// once when FleetOptions.Concurrency is zero.
	DefaultFleetConcurrency = 4
	// DefaultFleetMaxAttempts is how many times a Fleet's RDS clients try
	// a call (the first attempt and the retries) when
	// FleetOptions.MaxAttempts is zero.
	DefaultFleetMaxAttempts = 10
)

// FleetOptions configure NewFleet; nil means the zero value, every field
// at its default.
type FleetOptions struct {
	// Filters are the DescribeDBClusters filters that select the
	// clusters, in every Region. Nil means engine aurora-postgresql; a
	// list given replaces that default (add the engine filter to keep
	// it), and an empty one lists every engine.
	Filters []types.Filter
	// Tags keeps only the clusters that carry every one of these tags
	// with the value given (DescribeDBClusters' TagList, compared
	// exactly).
	Tags map[string]string
	// Concurrency is how many clusters are worked on at once; zero means
	// DefaultFleetConcurrency.
	Concurrency int
	// MaxAttempts bounds the attempts of each RDS call under the SDK's
	// adaptive retry mode (retry.NewAdaptiveMode); zero means
	// DefaultFleetMaxAttempts.
	MaxAttempts int
	// ClusterOptions, when set, returns the options of the handle on each
	// cluster (credentials, CA bundle, database, wait), given the cluster
	// as listed: for example WithCredentials(SecretsManagerSecret(sm,
	// c.MasterUserSecretARN)). The Fleet puts WithAWSConfig with the
	// Region's config before them and WithRDSClient with its own client
	// for the Region after them, which the options cannot replace.
	// Operations that only call RDS (CheckDrift) need none. It is called
	// from several goroutines at once.
	ClusterOptions func(c FleetCluster) []Option
	// Progress, when set, receives an event when the listing of a Region
	// ends and as each cluster's work ends (Done of Total), then one for
	// the run with the summary in Detail.
	Progress pgaurora.ProgressFunc
}

// Fleet runs operations over many Aurora PostgreSQL clusters, in one or
// more Regions: it lists them (DescribeDBClusters, every page, by filters
// and tags), then runs Advise, CheckDrift or any function on each, a few
// at a time, and streams the results. Its RDS clients use the SDK's
// adaptive retry mode, which slows down when RDS throttles, so that no call
// fails for throttling; one client per Region is shared by all the
// clusters there. A Fleet is safe for concurrent use.
type Fleet struct {
	opts    FleetOptions
	regions []*fleetRegion
}

// fleetRegion is one aws.Config's client, with its call counters.
type fleetRegion struct {
	region   string
	cfg      aws.Config
	api      *rds.Client
	calls    atomic.Int64 // operations
	attempts atomic.Int64 // HTTP attempts, retries included
}

// NewFleet returns a Fleet over the clusters that the given configs reach,
// one aws.Config per Region (at least one; two for the same Region are
// refused, since they would list the same clusters). It calls nothing.
func NewFleet(configs []aws.Config, opts *FleetOptions) (*Fleet, error) {
	if opts == nil {
		opts = &FleetOptions{}
	}
	o := *opts
	if len(configs) == 0 {
		return nil, errors.New("aurora: NewFleet: no aws.Config: give one per Region")
	}
	if o.Concurrency < 0 {
		return nil, fmt.Errorf("aurora: NewFleet: Concurrency %d is negative", o.Concurrency)
	}
	if o.MaxAttempts < 0 {
		return nil, fmt.Errorf("aurora: NewFleet: MaxAttempts %d is negative", o.MaxAttempts)
	}
	if o.Concurrency == 0 {
		o.Concurrency = DefaultFleetConcurrency
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = DefaultFleetMaxAttempts
	}
	if o.Filters == nil {
		o.Filters = []types.Filter{{Name: aws.String("engine"), Values: []string{EngineAuroraPostgreSQL}}}
	}
	for i, f := range o.Filters {
		if aws.ToString(f.Name) == "" || len(f.Values) == 0 {
			return nil, fmt.Errorf("aurora: NewFleet: filter %d needs a Name and at least one value", i)
		}
	}
	for k := range o.Tags {
		if k == "" {
			return nil, errors.New("aurora: NewFleet: Tags has an empty key")
		}
	}
	o.Tags = maps.Clone(o.Tags)
	f := &Fleet{opts: o}
	seen := map[string]bool{}
	for i, cfg := range configs {
		if cfg.Region == "" {
			return nil, fmt.Errorf("aurora: NewFleet: config %d has no Region", i)
		}
		if seen[cfg.Region] {
			return nil, fmt.Errorf("aurora: NewFleet: two configs for Region %s", cfg.Region)
		}
		seen[cfg.Region] = true
		f.regions = append(f.regions, newFleetRegion(cfg, o.MaxAttempts))
	}
	return f, nil
}

func newFleetRegion(cfg aws.Config, maxAttempts int) *fleetRegion {
	r := &fleetRegion{region: cfg.Region, cfg: cfg}
	r.api = rds.NewFromConfig(cfg, func(o *rds.Options) {
		o.Retryer = retry.NewAdaptiveMode(func(a *retry.AdaptiveModeOptions) {
			a.StandardOptions = append(a.StandardOptions, func(s *retry.StandardOptions) {
				s.MaxAttempts = maxAttempts
				// The adaptive mode's own rate limit paces the calls
				// under throttling; the standard retry quota is off
				// so that the throttled calls of all the clusters of
				// a Region do not draw on one shared budget of
				// retries, and each gets its MaxAttempts.
				s.RateLimiter = ratelimit.None
			})
		})
		o.APIOptions = append(o.APIOptions, r.count)
	})
	return r
}

// count adds the counters to a call's middleware stack: one operation at
// Initialize, one attempt per pass through Finalize after the retry loop.
func (r *fleetRegion) count(st *middleware.Stack) error {
	if err := st.Initialize.Add(middleware.InitializeMiddlewareFunc("pgauroraFleetCalls",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			r.calls.Add(1)
			return next.HandleInitialize(ctx, in)
		}), middleware.Before); err != nil {
		return err
	}
	attempt := middleware.FinalizeMiddlewareFunc("pgauroraFleetAttempts",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			r.attempts.Add(1)
			return next.HandleFinalize(ctx, in)
		})
	if _, ok := st.Finalize.Get("Retry"); ok {
		return st.Finalize.Insert(attempt, "Retry", middleware.After)
	}
	return st.Finalize.Add(attempt, middleware.After)
}

// FleetCluster is a cluster of a Fleet as DescribeDBClusters lists it.
type FleetCluster struct {
	// ID and ARN identify the cluster; Region is its config's Region.
	ID, ARN, Region string
	// Engine, EngineVersion and Status are as listed.
	Engine, EngineVersion, Status string
	// ParameterGroup is the DB cluster parameter group.
	ParameterGroup string
	// MasterUsername is the master user, and MasterUserSecretARN the
	// Secrets Manager secret of its password when RDS manages it.
	MasterUsername, MasterUserSecretARN string
	// Tags are the cluster's tags.
	Tags map[string]string `json:",omitempty"`
}

// Clusters lists the clusters of the fleet, Region by Region in the order
// of the configs, each Region's pages as the loop advances
// (rds.NewDescribeDBClustersPaginator with the Filters), keeping those
// with every tag of FleetOptions.Tags. An error ends the listing: it is
// yielded once, as the last element.
func (f *Fleet) Clusters(ctx context.Context) iter.Seq2[FleetCluster, error] {
	return func(yield func(FleetCluster, error) bool) {
		for _, r := range f.regions {
			for l, err := range f.regionClusters(ctx, r) {
				if !yield(l.c, err) || err != nil {
					return
				}
			}
		}
	}
}

// listedCluster is a cluster of a Region's listing: as the API returned
// it, and as a FleetCluster.
type listedCluster struct {
	c  FleetCluster
	dc types.DBCluster
}

func (f *Fleet) regionClusters(ctx context.Context, r *fleetRegion) iter.Seq2[listedCluster, error] {
	return func(yield func(listedCluster, error) bool) {
		pg := rds.NewDescribeDBClustersPaginator(r.api, &rds.DescribeDBClustersInput{
			Filters: f.opts.Filters, MaxRecords: aws.Int32(100)})
		for pg.HasMorePages() {
			page, err := pg.NextPage(ctx)
			if err != nil {
				yield(listedCluster{}, fmt.Errorf("aurora: fleet: listing the clusters in %s: %w", r.region, err))
				return
			}
			for _, dc := range page.DBClusters {
				c := fleetCluster(r.region, dc)
				if !f.tagged(c) {
					continue
				}
				if !yield(listedCluster{c, dc}, nil) {
					return
				}
			}
		}
	}
}

// fleetCluster maps a listed cluster as Describe does (descriptionOf),
// with its ARN, Region and tags.
func fleetCluster(region string, dc types.DBCluster) FleetCluster {
	d := descriptionOf(dc)
	c := FleetCluster{
		ID: d.ID, ARN: aws.ToString(dc.DBClusterArn), Region: region,
		Engine: d.Engine, EngineVersion: d.EngineVersion, Status: d.Status,
		ParameterGroup: d.ParameterGroup, MasterUsername: d.MasterUsername, MasterUserSecretARN: d.MasterUserSecretARN,
	}
	if len(dc.TagList) > 0 {
		c.Tags = make(map[string]string, len(dc.TagList))
		for _, t := range dc.TagList {
			c.Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	return c
}

func (f *Fleet) tagged(c FleetCluster) bool {
	for k, v := range f.opts.Tags {
		if got, ok := c.Tags[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// FleetResult is the outcome of an operation on one cluster of a Fleet.
// The operation's own result is in the field it fills: Findings for
// Advise, Drift for CheckDrift, neither for Run.
type FleetResult struct {
	// Cluster is the cluster as listed.
	Cluster FleetCluster
	// Findings are Advise's findings (empty when every check passed).
	Findings []Finding `json:",omitempty"`
	// Drift is CheckDrift's report.
	Drift *DriftReport `json:",omitempty"`
	// Elapsed is how long the cluster's work took.
	Elapsed time.Duration
}

// FleetSummary counts what a fleet run did.
type FleetSummary struct {
	// Operation is the run's operation ("Fleet.Advise", "Fleet.CheckDrift"
	// or Run's name).
	Operation string
	// Clusters is how many clusters were listed; Succeeded and Failed
	// how many of them the operation finished, with or without an error.
	// Clusters exceeds their sum when the run was stopped early.
	Clusters, Succeeded, Failed int
	// ListErrors counts the Regions whose listing failed.
	ListErrors int
	// Findings counts Advise's findings; Drifted the clusters with drift
	// (DriftDifferent) and DriftedParameters the parameters drifted, over
	// all the clusters.
	Findings, Drifted, DriftedParameters int
	// APICalls counts the RDS operations the run called, and APIAttempts
	// the HTTP attempts they took, retries after throttling included.
	// They include the calls of other runs of the same Fleet made at the
	// same time.
	APICalls, APIAttempts int64
	// Elapsed is the run's duration.
	Elapsed time.Duration
}

// String is the summary on one line.
func (s FleetSummary) String() string {
	out := fmt.Sprintf("%d clusters: %d done, %d failed", s.Clusters, s.Succeeded, s.Failed)
	if s.ListErrors > 0 {
		out += fmt.Sprintf(", %d Region listings failed", s.ListErrors)
	}
	switch s.Operation {
	case "Fleet.Advise":
		out += fmt.Sprintf("; %d findings", s.Findings)
	case "Fleet.CheckDrift":
		out += fmt.Sprintf("; %d drifted (%d parameters)", s.Drifted, s.DriftedParameters)
	}
	return out + fmt.Sprintf("; %d API calls (%d attempts) in %v", s.APICalls, s.APIAttempts, s.Elapsed.Round(time.Millisecond))
}

// FleetRun is one operation over a fleet. Iterate over Results once; then
// Summary says what was done.
type FleetRun struct {
	f    *Fleet
	ctx  context.Context
	op   string
	work func(ctx context.Context, c *Cluster, dc types.DBCluster, r *FleetResult) error
	err  error // refused before any call

	used    atomic.Bool
	mu      sync.Mutex
	summary FleetSummary
}

// Advise runs Cluster.Advise on every cluster of the fleet (see
// Fleet.Run for how), reading each Region's CA catalog and engine support
// calendar once for the run unless opts.Catalog and opts.Lifecycles give
// them. Advise connects to each writer:
// FleetOptions.ClusterOptions must give the credentials.
func (f *Fleet) Advise(ctx context.Context, opts *AdviseOptions) *FleetRun {
	var base AdviseOptions
	if opts != nil {
		base = *opts
	}
	// The CA catalog is the Region's: read once per Region for the run,
	// unless the caller gave one.
	catalogs := make(map[string]*regionCatalog, len(f.regions))
	for _, reg := range f.regions {
		catalogs[reg.region] = &regionCatalog{}
	}
	return f.newRun(ctx, "Fleet.Advise", func(ctx context.Context, c *Cluster, _ types.DBCluster, r *FleetResult) error {
		o := base
		if o.Catalog == nil {
			cat, err := catalogs[r.Cluster.Region].get(ctx, c)
			if err != nil {
				return fmt.Errorf("aurora: advise: %w", err)
			}
			o.Catalog = cat
		}
		if o.Lifecycles == nil {
			lcs, err := catalogs[r.Cluster.Region].lifecycles(ctx, c)
			if err != nil {
				return fmt.Errorf("aurora: advise: %w", err)
			}
			o.Lifecycles = lcs
		}
		found, err := c.Advise(ctx, &o)
		r.Findings = found
		return err
	}, nil)
}

// regionCatalog is a Region's CA catalog and engine support calendar,
// each read by the first cluster of
// the Region that needs it (a failed read is not kept: the next tries).
type regionCatalog struct {
	mu  sync.Mutex
	cat *sslcert.Catalog
	lcs EngineLifecycles
}

// lifecycles is the Region's engine support calendar, read by the first
// cluster of the Region that needs it.
func (rc *regionCatalog) lifecycles(ctx context.Context, c *Cluster) (EngineLifecycles, error) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.lcs == nil {
		lcs, err := c.EngineLifecycles(ctx)
		if err != nil {
			return nil, err
		}
		rc.lcs = lcs
	}
	return rc.lcs, nil
}

func (rc *regionCatalog) get(ctx context.Context, c *Cluster) (*sslcert.Catalog, error) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.cat == nil {
		cat, err := c.Certs().Catalog(ctx)
		if err != nil {
			return nil, err
		}
		rc.cat = cat
	}
	return rc.cat, nil
}

// CheckDrift runs Cluster.CheckDrift with the specification desired on
// every cluster of the fleet (see Fleet.Run for how), reading each
// family's engine defaults once per Region for the whole run. The specification is
// checked first (ValidateDriftSpec): invalid, the run yields that error
// alone and calls nothing.
func (f *Fleet) CheckDrift(ctx context.Context, desired []params.Change) *FleetRun {
	desired = slices.Clone(desired)
	spec, err := ValidateDriftSpec(desired)
	// One cache of engine defaults per Region, each keyed by family.
	defaults := make(map[string]*engineDefaults, len(f.regions))
	for _, reg := range f.regions {
		defaults[reg.region] = &engineDefaults{}
	}
	return f.newRun(ctx, "Fleet.CheckDrift", func(ctx context.Context, c *Cluster, dc types.DBCluster, r *FleetResult) error {
		d, err := c.describeFrom(ctx, dc)
		if err != nil {
			return fmt.Errorf("aurora: drift check: %w", err)
		}
		rep, err := c.checkDrift(ctx, d, desired, spec, defaults[r.Cluster.Region])
		r.Drift = rep
		return err
	}, err)
}

// Run runs fn on a handle on every cluster of the fleet, under the name
// operation (for the progress events and the summary; empty means
// "Fleet.Run").
//
// Like Advise and CheckDrift, it lists the clusters (Clusters), then
// works on FleetOptions.Concurrency of them at once, each with a handle
// made by New with the Fleet's RDS client for its Region and the
// ClusterOptions, closed afterwards. Results come as each cluster is done,
// not in listing order. A cluster whose work fails is yielded with its
// error (which names the cluster), and the run goes on; a Region whose
// listing fails is yielded as an error with a FleetResult whose Cluster
// has only its Region set, and the other Regions are still worked on. Stopping the loop, or ending ctx,
// stops the run: the clusters in progress see their context canceled.
func (f *Fleet) Run(ctx context.Context, operation string, fn func(ctx context.Context, c *Cluster) error) *FleetRun {
	if operation == "" {
		operation = "Fleet.Run"
	}
	var err error
	if fn == nil {
		err = errors.New("aurora: fleet: Run: nil function")
	}
	return f.newRun(ctx, operation, func(ctx context.Context, c *Cluster, _ types.DBCluster, _ *FleetResult) error {
		return fn(ctx, c)
	}, err)
}

func (f *Fleet) newRun(ctx context.Context, op string, work func(context.Context, *Cluster, types.DBCluster, *FleetResult) error, err error) *FleetRun {
	if f == nil || len(f.regions) == 0 {
		err = errors.New("aurora: fleet: the Fleet was not made with NewFleet")
	}
	return &FleetRun{f: f, ctx: ctx, op: op, work: work, err: err, summary: FleetSummary{Operation: op}}
}

// Summary returns the counts of the run so far; after the loop over
// Results has ended, the whole run's.
func (r *FleetRun) Summary() FleetSummary {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.summary
}

type fleetItem struct {
	res FleetResult
	err error
}

// Results runs the operation and yields each cluster's result as it
// ends: the result with a nil error, or the result (naming the cluster)
// with the cluster's error. See Fleet.Run. A FleetRun runs once: a second
// Results yields an error.
func (r *FleetRun) Results() iter.Seq2[FleetResult, error] {
	return func(yield func(FleetResult, error) bool) {
		if r.err != nil {
			yield(FleetResult{}, r.err)
			return
		}
		if r.used.Swap(true) {
			yield(FleetResult{}, errors.New("aurora: fleet: a FleetRun's Results can be iterated once"))
			return
		}
		start := time.Now()
		calls0, attempts0 := r.f.apiCounts()
		defer func() {
			calls, attempts := r.f.apiCounts()
			r.mu.Lock()
			r.summary.APICalls, r.summary.APIAttempts = calls-calls0, attempts-attempts0
			r.summary.Elapsed = time.Since(start)
			s := r.summary
			r.mu.Unlock()
			r.f.opts.Progress.Report(pgaurora.Event{Operation: r.op, Done: s.Succeeded + s.Failed, Total: s.Clusters,
				Completed: true, Detail: s.String(), Elapsed: s.Elapsed})
		}()
		ctx, cancel := context.WithCancel(r.ctx)
		defer cancel()

		// List every Region first, so that Total is known and a
		// throttled listing does not hold clusters back.
		type job struct {
			l      listedCluster
			region *fleetRegion
		}
		var jobs []job
		for _, reg := range r.f.regions {
			t0 := time.Now()
			n := 0
			var listErr error
			for l, err := range r.f.regionClusters(ctx, reg) {
				if err != nil {
					listErr = err
					break
				}
				jobs = append(jobs, job{l, reg})
				n++
			}
			ev := pgaurora.Event{Operation: r.op, Step: "list clusters", Resource: reg.region, Completed: true,
				Detail: fmt.Sprintf("%d clusters", n), Elapsed: time.Since(t0)}
			if listErr != nil {
				ev.Detail = listErr.Error()
				r.f.opts.Progress.Report(ev)
				r.mu.Lock()
				r.summary.ListErrors++
				r.mu.Unlock()
				if !yield(FleetResult{Cluster: FleetCluster{Region: reg.region}}, listErr) || ctx.Err() != nil {
					return
				}
				continue
			}
			r.f.opts.Progress.Report(ev)
		}
		r.mu.Lock()
		r.summary.Clusters = len(jobs)
		r.mu.Unlock()

		todo := make(chan job, len(jobs))
		for _, j := range jobs {
			todo <- j
		}
		close(todo)
		done := make(chan fleetItem)
		var wg sync.WaitGroup
		for range min(r.f.opts.Concurrency, max(len(jobs), 1)) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range todo {
					if ctx.Err() != nil {
						return
					}
					res, err := r.one(ctx, j.l, j.region)
					select {
					case done <- fleetItem{res, err}:
					case <-ctx.Done():
						return
					}
				}
			}()
		}
		go func() { wg.Wait(); close(done) }()
		defer func() {
			cancel()
			for range done { // let the workers end
			}
		}()

		for it := range done {
			r.mu.Lock()
			if it.err != nil {
				r.summary.Failed++
			} else {
				r.summary.Succeeded++
				r.summary.Findings += len(it.res.Findings)
				if it.res.Drift != nil {
					if n := len(it.res.Drift.Drifted()); n > 0 {
						r.summary.Drifted++
						r.summary.DriftedParameters += n
					}
				}
			}
			s := r.summary
			r.mu.Unlock()
			ev := pgaurora.Event{Operation: r.op, Step: "cluster", Resource: it.res.Cluster.ID, Done: s.Succeeded + s.Failed,
				Total: s.Clusters, Completed: true, Elapsed: it.res.Elapsed, Detail: resultDetail(it)}
			r.f.opts.Progress.Report(ev)
			if !yield(it.res, it.err) {
				return
			}
		}
	}
}

// resultDetail says in one line how a cluster's work ended.
func resultDetail(it fleetItem) string {
	switch {
	case it.err != nil:
		return "failed: " + it.err.Error()
	case it.res.Drift != nil:
		return plural.Count(len(it.res.Drift.Drifted()), "parameter") + " drifted"
	case it.res.Findings != nil:
		return plural.Count(len(it.res.Findings), "finding")
	}
	return "done"
}

// one works on one cluster.
func (r *FleetRun) one(ctx context.Context, l listedCluster, reg *fleetRegion) (res FleetResult, err error) {
	fc := l.c
	res.Cluster = fc
	start := time.Now()
	defer func() {
		res.Elapsed = time.Since(start)
		if p := recover(); p != nil {
			err = fmt.Errorf("aurora: fleet: %s: cluster %s in %s: panic: %v", r.op, fc.ID, fc.Region, p)
		}
	}()
	// The Region's config first (for what signs its own requests, such as
	// the audit-log download), the caller's options, and the Fleet's RDS
	// client last, so that it wins over a WithRDSClient among them.
	opts := []Option{WithAWSConfig(reg.cfg)}
	if r.f.opts.ClusterOptions != nil {
		opts = append(opts, r.f.opts.ClusterOptions(fc)...)
	}
	opts = append(opts, WithRDSClient(reg.api))
	c, err := New(fc.ID, opts...)
	if err != nil {
		return res, fmt.Errorf("aurora: fleet: %s: cluster %s in %s: %w", r.op, fc.ID, fc.Region, err)
	}
	defer c.Close()
	if err := r.work(ctx, c, l.dc, &res); err != nil {
		return res, fmt.Errorf("aurora: fleet: %s: cluster %s in %s: %w", r.op, fc.ID, fc.Region, err)
	}
	return res, nil
}

func (f *Fleet) apiCounts() (calls, attempts int64) {
	for _, r := range f.regions {
		calls += r.calls.Load()
		attempts += r.attempts.Load()
	}
	return calls, attempts
}

// Regions returns the Regions of the fleet, in the order of the configs.
func (f *Fleet) Regions() []string {
	out := make([]string, len(f.regions))
	for i, r := range f.regions {
		out[i] = r.region
	}
	return out
}

// String describes the fleet: its Regions, filters and tags.
func (f *Fleet) String() string {
	filters := []string{"none"}
	if len(f.opts.Filters) > 0 {
		filters = nil
	}
	for _, fl := range f.opts.Filters {
		filters = append(filters, aws.ToString(fl.Name)+"="+strings.Join(fl.Values, ","))
	}
	tags := []string{"none"}
	if len(f.opts.Tags) > 0 {
		tags = nil
	}
	for _, k := range slices.Sorted(maps.Keys(f.opts.Tags)) {
		tags = append(tags, k+"="+f.opts.Tags[k])
	}
	return fmt.Sprintf("aurora.Fleet(%s; filters %s; tags %s)", strings.Join(f.Regions(), ", "), strings.Join(filters, " "), strings.Join(tags, " "))
}
