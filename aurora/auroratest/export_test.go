package auroratest

// WithoutTemplate makes new clusters the way they were made before
// template data directories: initdb and preparation on every new writer,
// a base backup for every reader. It is the baseline BenchmarkFreshCluster
// compares with.
func WithoutTemplate() Option { return func(c *config) { c.noTemplate = true } }
