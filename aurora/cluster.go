package aurora

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/params"
	"github.com/pgaurora/pgaurora/sslcert"
)

// RDSAPI is the part of the RDS API a Cluster and the feature clients it
// hands out call. *rds.Client satisfies it.
type RDSAPI interface {
	params.RDSAPI
	sslcert.RotationAPI
	ModifyDBCluster(ctx context.Context, in *rds.ModifyDBClusterInput, optFns ...func(*rds.Options)) (*rds.ModifyDBClusterOutput, error)
	FailoverDBCluster(ctx context.Context, in *rds.FailoverDBClusterInput, optFns ...func(*rds.Options)) (*rds.FailoverDBClusterOutput, error)
	DescribeDBLogFiles(ctx context.Context, in *rds.DescribeDBLogFilesInput, optFns ...func(*rds.Options)) (*rds.DescribeDBLogFilesOutput, error)
	DownloadDBLogFilePortion(ctx context.Context, in *rds.DownloadDBLogFilePortionInput, optFns ...func(*rds.Options)) (*rds.DownloadDBLogFilePortionOutput, error)
	DescribeCertificates(ctx context.Context, in *rds.DescribeCertificatesInput, optFns ...func(*rds.Options)) (*rds.DescribeCertificatesOutput, error)
	DescribeDBEngineVersions(ctx context.Context, in *rds.DescribeDBEngineVersionsInput, optFns ...func(*rds.Options)) (*rds.DescribeDBEngineVersionsOutput, error)
	DescribeDBMajorEngineVersions(ctx context.Context, in *rds.DescribeDBMajorEngineVersionsInput, optFns ...func(*rds.Options)) (*rds.DescribeDBMajorEngineVersionsOutput, error)
	DescribeOrderableDBInstanceOptions(ctx context.Context, in *rds.DescribeOrderableDBInstanceOptionsInput, optFns ...func(*rds.Options)) (*rds.DescribeOrderableDBInstanceOptionsOutput, error)
	DescribePendingMaintenanceActions(ctx context.Context, in *rds.DescribePendingMaintenanceActionsInput, optFns ...func(*rds.Options)) (*rds.DescribePendingMaintenanceActionsOutput, error)
	CreateDBClusterSnapshot(ctx context.Context, in *rds.CreateDBClusterSnapshotInput, optFns ...func(*rds.Options)) (*rds.CreateDBClusterSnapshotOutput, error)
	DescribeDBClusterSnapshots(ctx context.Context, in *rds.DescribeDBClusterSnapshotsInput, optFns ...func(*rds.Options)) (*rds.DescribeDBClusterSnapshotsOutput, error)
}

// Cluster is a handle on one Aurora PostgreSQL DB cluster. It is cheap: New
// makes no connection, and the writer and reader pools open on first use.
// Its methods are safe for concurrent use. Close it when done.
type Cluster struct {
	id  string
	api RDSAPI
	cfg settings

	params *params.Service

	mu     sync.Mutex
	writer *Pool
	reader *Pool
	closed atomic.Bool // read without mu: Describe runs under it
}

type settings struct {
	awsConfig  *aws.Config
	api        RDSAPI
	database   string
	creds      Credentials
	trust      *sslcert.TrustStore
	plaintext  bool
	logger     *slog.Logger
	poolConfig func(*pgxpool.Config)
	region     string
	wait       pgaurora.Wait
	cloudWatch CloudWatchAPI          // see monitoring.go
	logs       CloudWatchLogsAPI      // see monitoring.go
	pi         PerformanceInsightsAPI // see monitoring.go
}

// Option configures New.
type Option func(*settings) error

// WithAWSConfig makes the Cluster call RDS with a client built from cfg.
func WithAWSConfig(cfg aws.Config) Option {
	return func(s *settings) error { s.awsConfig = &cfg; return nil }
}

// WithRDSClient makes the Cluster call RDS through api (an *rds.Client or a
// wrapper of one). It wins over WithAWSConfig.
func WithRDSClient(api RDSAPI) Option {
	return func(s *settings) error {
		if api == nil {
			return errors.New("WithRDSClient: nil client")
		}
		s.api = api
		return nil
	}
}

// WithDatabase sets the database the pools connect to; the default is
// "postgres".
func WithDatabase(name string) Option {
	return func(s *settings) error {
		if name == "" {
			return errors.New("WithDatabase: empty database name")
		}
		s.database = name
		return nil
	}
}

// WithCredentials sets how connections authenticate. Required before the
// first connection.
func WithCredentials(c Credentials) Option {
	return func(s *settings) error {
		if c == nil {
			return errors.New("WithCredentials: nil credentials")
		}
		s.creds = c
		return nil
	}
}

// WithCABundle makes connections verify the server (TLS verify-full)
// against the CA certificates in a PEM bundle, such as AWS's global bundle
// or auroratest.Emulator.CABundlePEM.
func WithCABundle(pem []byte) Option {
	return func(s *settings) error {
		ts, err := sslcert.ParsePEM(pem)
		if err != nil {
			return fmt.Errorf("WithCABundle: %w", err)
		}
		s.trust = ts
		return nil
	}
}

// WithTrustStore is WithCABundle for an already parsed trust store.
func WithTrustStore(ts *sslcert.TrustStore) Option {
	return func(s *settings) error {
		if ts == nil || ts.Len() == 0 {
			return errors.New("WithTrustStore: empty trust store")
		}
		s.trust = ts
		return nil
	}
}

// WithInsecurePlaintext makes connections without TLS. Only for local
// emulators and tests: passwords then cross the network in the clear.
func WithInsecurePlaintext() Option {
	return func(s *settings) error { s.plaintext = true; return nil }
}

// WithLogger sets the logger the Cluster reports progress and failovers to.
// The default discards.
func WithLogger(l *slog.Logger) Option {
	return func(s *settings) error { s.logger = l; return nil }
}

// WithWait sets how the Cluster's operations wait for RDS and the
// servers when their own options leave the Wait fields zero: every
// workflow, and the params and sslcert operations they run. The default,
// for real Aurora, polls from 2 s apart, growing to 30 s, for at most 30
// minutes per wait; against the local emulator, whose transitions take
// milliseconds, pgaurora.Wait{MinDelay: 20 * time.Millisecond, MaxDelay:
// 200 * time.Millisecond} keeps tests fast.
func WithWait(w pgaurora.Wait) Option {
	return func(s *settings) error {
		if w.MinDelay < 0 || w.MaxDelay < 0 || w.MaxWait < 0 {
			return fmt.Errorf("WithWait: negative duration in %v", w)
		}
		s.wait = w
		return nil
	}
}

// WithPoolConfig lets the caller adjust each pgxpool configuration (sizes,
// lifetimes, AfterConnect hooks) before the pool opens. It must not replace
// BeforeConnect, which the Cluster uses to authenticate and follow the
// writer.
func WithPoolConfig(f func(*pgxpool.Config)) Option {
	return func(s *settings) error { s.poolConfig = f; return nil }
}

// New returns a handle on the DB cluster clusterID. It checks its options
// but calls nothing (so it takes no context): use Describe to see the
// cluster.
func New(clusterID string, opts ...Option) (*Cluster, error) {
	if clusterID == "" {
		return nil, errors.New("aurora: empty cluster identifier")
	}
	s := settings{database: "postgres"}
	for i, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("aurora: option %d is nil", i)
		}
		if err := o(&s); err != nil {
			return nil, fmt.Errorf("aurora: %w", err)
		}
	}
	switch {
	case s.api != nil:
	case s.awsConfig != nil:
		s.api = rds.NewFromConfig(*s.awsConfig)
		s.region = s.awsConfig.Region
	default:
		return nil, errors.New("aurora: no RDS client: pass WithAWSConfig or WithRDSClient")
	}
	s.monitoringClients()
	if s.trust != nil && s.plaintext {
		return nil, errors.New("aurora: WithCABundle and WithInsecurePlaintext contradict each other")
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	c := &Cluster{id: clusterID, api: s.api, cfg: s}
	c.params = params.New(s.api)
	return c, nil
}

// usable says why the handle cannot be used: it is nil or was not made
// with New, or it is closed. Every call that reaches RDS or the database
// asks first, so a closed handle changes nothing.
func (c *Cluster) usable() error {
	switch {
	case c == nil || c.api == nil:
		return errors.New("aurora: the Cluster was not made with New")
	}
	if c.closed.Load() {
		return ErrClosed
	}
	return nil
}

// ID returns the DB cluster identifier.
func (c *Cluster) ID() string { return c.id }

// RDS returns the RDS client the Cluster calls.
func (c *Cluster) RDS() RDSAPI { return c.api }

// Params returns the parameter-group service.
func (c *Cluster) Params() *params.Service { return c.params }

// Close closes the pools. The Cluster cannot connect afterwards.
func (c *Cluster) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed.Store(true)
	if c.writer != nil {
		c.writer.close()
	}
	if c.reader != nil {
		c.reader.close()
	}
}

// String describes the cluster handle without secrets.
func (c *Cluster) String() string {
	creds := "no credentials"
	if c.cfg.creds != nil {
		creds = c.cfg.creds.String()
	}
	return fmt.Sprintf("aurora.Cluster(%s, database %q, %s)", c.id, c.cfg.database, creds)
}
