package auroratest

// WithoutTemplate makes new clusters the way they were made before
// template data directories: initdb and preparation on every new writer,
// a base backup for every reader. It is the baseline BenchmarkFreshCluster
// compares with.
func WithoutTemplate() Option { return func(c *config) { c.noTemplate = true } }

// FailSaveAfterCopy makes SaveState fail with err once it has made n
// copies (n < 0 removes the fault): a save that fails half-way.
func FailSaveAfterCopy(n int, err error) {
	if n < 0 {
		afterCopy = nil
		return
	}
	afterCopy = func(i int) error {
		if i+1 >= n {
			return err
		}
		return nil
	}
}

// WithListMetricsPageSize makes ListMetrics pages hold n metrics instead
// of CloudWatch's 500, so that tests page through a few.
func WithListMetricsPageSize(n int) Option { return func(c *config) { c.listMetricsPage = n } }

// PISampling reports whether the Performance Insights sampler runs.
func (e *Emulator) PISampling() bool {
	st := e.lock()
	defer st.unlock()
	return st.piSampling
}
