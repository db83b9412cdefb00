package auroratest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/internal/pgserver"
	"github.com/pgaurora/pgaurora/internal/wait"
)

// Option configures an Emulator.
type Option func(*config)

type config struct {
	clusters        []clusterSpec
	transitionDelay time.Duration
	caWindow        time.Duration
	logger          *slog.Logger
	dir             string
	noTemplate      bool // new clusters start with initdb and base backups: the baseline of BenchmarkFreshCluster
	metricsPeriod   time.Duration
	listMetricsPage int // ListMetrics' page size (tests only); 0 is CloudWatch's 500
}

type clusterSpec struct {
	id  string
	cfg ClusterConfig
}

// ClusterConfig describes a DB cluster the emulator creates when it starts.
type ClusterConfig struct {
	// EngineVersion is the version reported with Engine
	// "aurora-postgresql"; its major version picks the parameter group
	// family (for example "15.4" -> aurora-postgresql15). The servers are
	// always the local PostgreSQL. Empty means "15.4".
	EngineVersion string
	// MasterUsername is the master user (a superuser on the emulated
	// instances). Empty means "postgres".
	MasterUsername string
	// MasterPassword is the master user's password. Empty means a random
	// one; see Emulator.MasterPassword.
	MasterPassword string
	// Instances is the number of DB instances: the first is the writer,
	// the others are streaming replicas (readers). Zero means 1; at most
	// 16.
	Instances int
	// ClusterParameterGroup names the DB cluster parameter group. Empty
	// means the family's default group; a custom name that does not exist
	// yet is created (empty) for the cluster.
	ClusterParameterGroup string
	// InstanceParameterGroup names the DB parameter group of every
	// instance, with the same rules.
	InstanceParameterGroup string
	// DatabaseName, when set, is created on the writer and reported as the
	// cluster's DatabaseName.
	DatabaseName string
	// CACertificateIdentifier is the CA whose certificates the instances'
	// servers present (see CABundlePEM). Empty means the default for new
	// launches, rds-ca-rsa2048-g1 unless ModifyCertificates overrode it.
	CACertificateIdentifier string
	// ManageMasterUserPassword makes RDS manage the master user's
	// password in AWS Secrets Manager, as CreateDBCluster's
	// ManageMasterUserPassword does: the emulator generates the password
	// (MasterPassword must then be empty), keeps it in a secret whose ARN
	// DescribeDBClusters reports as MasterUserSecret (see
	// MasterUserSecretARN), and RotateSecret on that secret rotates it.
	ManageMasterUserPassword bool
}

// WithCluster makes Start create a DB cluster with the given identifier.
// Give it several times for several clusters; they start in parallel.
func WithCluster(id string, cfg ClusterConfig) Option {
	return func(c *config) { c.clusters = append(c.clusters, clusterSpec{id: id, cfg: cfg}) }
}

// WithTransitionDelay sets how long ModifyDBCluster and ModifyDBInstance
// keep the resource in the "modifying" state before the change takes
// effect (default 200ms), so that callers see the state and waiters wait.
// Reboots take as long as the real server restarts.
func WithTransitionDelay(d time.Duration) Option {
	return func(c *config) { c.transitionDelay = d }
}

// WithCARotationWindow sets how close to its CA's expiry an instance must
// be for DescribePendingMaintenanceActions to report a
// ca-certificate-rotation action for it (default 90 days; rds-ca-2019
// expires 30 days after the process started).
func WithCARotationWindow(d time.Duration) Option {
	return func(c *config) { c.caWindow = d }
}

// WithDir makes the emulator keep its servers' data in a new directory
// under dir, removed by Close. The default is a RAM file system when the
// machine has one with room (/dev/shm on Linux, a tmpfs with at least
// 2 GiB free), else os.TempDir(): creating the thousand small files of a
// data directory costs ten times more on most disks than in memory, and
// this data is for tests (fsync is off anyway).
func WithDir(dir string) Option {
	return func(c *config) { c.dir = dir }
}

// WithLogger makes the emulator log what it does to its servers (reloads,
// restarts, failures of background operations). The default discards it.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// Emulator is a running Aurora PostgreSQL emulator: an RDS API endpoint on
// 127.0.0.1 and the PostgreSQL servers of its DB instances. Its methods are
// safe for concurrent use.
type Emulator struct {
	region   string
	account  string
	dir      string
	catalog  *catalog
	log      *slog.Logger
	delay    time.Duration
	caWindow time.Duration
	cas      *caSet
	iam      *iamVerifier
	// noTemplate makes new clusters with initdb and base backups instead
	// of template copies (tests only: the benchmarks' baseline).
	noTemplate bool
	// basebackupMaxRate slows the base backups of new replicas (tests
	// only: closing while one runs).
	basebackupMaxRate string
	hooks             hooks
	listener          net.Listener
	http              *http.Server
	endpoint          string

	ctx    context.Context // ends at Close; bounds background work
	cancel context.CancelFunc
	bg     sync.WaitGroup

	stateMu sync.Mutex // see state.go
	st      state

	jsonServices    []*jsonService // Secrets Manager, ...: see jsonproto.go
	cw              cloudWatch     // CloudWatch metrics and alarms: cloudwatch.go, alarms.go, metrics.go
	cwl             cwLogs         // CloudWatch Logs: see cwlogs.go
	metricsPeriod   time.Duration  // WithMetricsPeriod
	listMetricsPage int
	kmsKeyARN       string // the account's aws/secretsmanager KMS key
	rdsKMSKeyARN    string // the account's aws/rds KMS key (default storage encryption)
}

const (
	defaultRegion  = "us-east-1"
	defaultAccount = "123456789012"
	// Static credentials of the emulated account. They are not secret:
	// the emulator does not check signatures.
	accessKeyID     = "AKIAAURORATESTLOCAL0"
	secretAccessKey = "auroratest/local/secret/not/checked/000"
)

// Start starts an emulator: the RDS API server and every cluster given
// with WithCluster (each instance a real PostgreSQL server). The context
// bounds the start; on failure everything started is stopped.
func Start(ctx context.Context, opts ...Option) (*Emulator, error) {
	cfg := config{transitionDelay: 200 * time.Millisecond, caWindow: 90 * 24 * time.Hour, metricsPeriod: defaultMetricsPeriod}
	for _, o := range opts {
		o(&cfg)
	}
	specs, err := normalizeClusterSpecs(cfg.clusters)
	if err != nil {
		return nil, err
	}
	if cfg.transitionDelay < 0 {
		return nil, errors.New("auroratest: WithTransitionDelay: the delay must not be negative")
	}
	if cfg.caWindow < 0 {
		return nil, errors.New("auroratest: WithCARotationWindow: the window must not be negative")
	}
	if cfg.metricsPeriod < 100*time.Millisecond {
		return nil, fmt.Errorf("auroratest: WithMetricsPeriod: the period %v is shorter than 100ms", cfg.metricsPeriod)
	}
	parent := cfg.dir
	if parent == "" {
		parent = ramDir()
	}
	if cfg.noTemplate && cfg.dir == "" {
		parent = "" // the baseline is the old way throughout: on disk
	}
	dir, err := os.MkdirTemp(parent, "auroratest-")
	if err != nil {
		return nil, fmt.Errorf("auroratest: creating a working directory: %w", err)
	}
	e := &Emulator{
		region: defaultRegion, account: defaultAccount, dir: dir, delay: cfg.transitionDelay, caWindow: cfg.caWindow,
		log: cfg.logger, noTemplate: cfg.noTemplate, metricsPeriod: cfg.metricsPeriod, listMetricsPage: cfg.listMetricsPage,
	}
	e.st = state{mu: &e.stateMu, clusterGroups: map[string]*paramGroup{}, instanceGroups: map[string]*paramGroup{},
		clusters: map[string]*cluster{}, instances: map[string]*instance{}, snapshots: map[string]*snapshot{}}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	e.jsonServices = []*jsonService{e.secretsManager(), e.cloudWatchJSON(), e.cloudWatchLogs(), e.performanceInsights()}
	e.kmsKeyARN = "arn:aws:kms:" + e.region + ":" + e.account + ":key/" + newUUID()
	e.rdsKMSKeyARN = "arn:aws:kms:" + e.region + ":" + e.account + ":key/" + newUUID()

	// The CAs (RSA key generation) and the catalog (a server) are built
	// once per process, side by side.
	caDone := make(chan error, 1)
	go func() {
		var err error
		e.cas, err = loadCAs()
		caDone <- err
	}()
	cctx, cancel := context.WithTimeout(ctx, catalogTimeout)
	defer cancel()
	cat, err := loadCatalog(cctx, filepath.Join(dir, "catalog"))
	if caErr := <-caDone; err == nil {
		err = caErr
	}
	if err != nil {
		e.Close()
		return nil, err
	}
	e.catalog = cat

	st := e.lock()
	st.ensureDefaultGroups(familyFor(defaultEngineVersion))
	st.unlock()

	if err := e.serve(); err != nil {
		e.Close()
		return nil, err
	}
	iam, err := startIAMVerifier(e.checkIAMLogin, func(instanceID, user string, err error) {
		e.log.Info("auroratest: IAM authentication refused", "instance", instanceID, "user", user, "reason", err)
	})
	if err != nil {
		e.Close()
		return nil, err
	}
	e.iam = iam

	var wg sync.WaitGroup
	errs := make([]error, len(specs))
	for i, s := range specs {
		c, err := e.registerCluster(s)
		if err != nil {
			errs[i] = err
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = e.startCluster(ctx, c)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

// NewT starts an emulator for a test and closes it when the test ends. It
// fails the test (t.Fatal) when the emulator cannot start.
func NewT(t testing.TB, opts ...Option) *Emulator {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	e, err := Start(ctx, opts...)
	if err != nil {
		t.Fatalf("auroratest: %v", err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("auroratest: closing the emulator: %v", err)
		}
	})
	return e
}

func (e *Emulator) serve() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("auroratest: listening for the RDS API: %w", err)
	}
	e.listener = ln
	e.endpoint = "http://" + ln.Addr().String()
	e.http = &http.Server{Handler: http.HandlerFunc(e.serveHTTP), ReadHeaderTimeout: 10 * time.Second}
	go e.http.Serve(ln)
	return nil
}

// Endpoint is the base URL of the RDS API, http://127.0.0.1:port. The
// Secrets Manager and CloudWatch APIs are served there too.
func (e *Emulator) Endpoint() string { return e.endpoint }

// Region is the emulated AWS Region, us-east-1.
func (e *Emulator) Region() string { return e.region }

// AWSConfig returns an aws.Config for the emulator: its Region, static
// credentials of the emulated account, and BaseEndpoint set to Endpoint,
// ready for rds.NewFromConfig, secretsmanager.NewFromConfig and
// cloudwatch.NewFromConfig. It reads nothing from the environment.
func (e *Emulator) AWSConfig() aws.Config {
	return aws.Config{
		Region:       e.region,
		Credentials:  credentials.NewStaticCredentialsProvider(accessKeyID, secretAccessKey, ""),
		BaseEndpoint: aws.String(e.endpoint),
	}
}

// ConnString returns a connection string for database db on one DB
// instance, as the cluster's master user, without TLS. It contains the
// master password: never print or log it.
func (e *Emulator) ConnString(instanceID, db string) (string, error) {
	st := e.lock()
	in, ok := st.instance(e, instanceID)
	if !ok {
		st.unlock()
		return "", fmt.Errorf("auroratest: no DB instance %q", instanceID)
	}
	addr := hostPort(in.address, in.cluster.port)
	user, pass := in.cluster.masterUser, in.cluster.masterPassword
	st.unlock()
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(user, pass),
		Host:     addr,
		Path:     "/" + db,
		RawQuery: "sslmode=disable",
	}
	return u.String(), nil
}

// MasterPassword returns the master password of a cluster ("" for an
// unknown cluster): the current one, after RotateMasterPassword or a
// rotation of the cluster's managed secret.
func (e *Emulator) MasterPassword(clusterID string) string {
	st := e.lock()
	defer st.unlock()
	if c, ok := st.cluster(e, clusterID); ok {
		return c.masterPassword
	}
	return ""
}

// Close stops the API server and every DB instance and removes the
// emulator's files. Background operations in flight are cancelled.
func (e *Emulator) Close() error {
	st := e.lock()
	if st.closed {
		st.unlock()
		return nil
	}
	st.closed = true
	st.unlock()

	var errs []error
	e.cancel() // background work and calls waiting on servers end now
	if e.http != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := e.http.Shutdown(sctx); err != nil {
			errs = append(errs, fmt.Errorf("auroratest: stopping the API server: %w", err))
		}
		cancel()
	}
	e.bg.Wait()
	// Background work is over: the servers are final.
	type named struct {
		id  string
		srv *pgserver.Server
	}
	var servers []named
	st = e.lock()
	for _, in := range st.instances {
		if in.server != nil {
			servers = append(servers, named{in.id, in.server})
		}
	}
	clusters := slices.Clone(st.clusterOrder)
	st.unlock()
	for _, c := range clusters {
		c.closeProxies()
	}
	if e.iam != nil {
		e.iam.close()
	}
	var wg sync.WaitGroup
	var emu sync.Mutex
	for _, in := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := in.srv.Close(); err != nil {
				emu.Lock()
				errs = append(errs, fmt.Errorf("auroratest: stopping %s: %w", in.id, err))
				emu.Unlock()
			}
		}()
	}
	wg.Wait()
	if err := os.RemoveAll(e.dir); err != nil {
		errs = append(errs, fmt.Errorf("auroratest: removing %s: %w", e.dir, err))
	}
	return errors.Join(errs...)
}

// sleep waits for d or until the emulator closes; false means it closed.
func (e *Emulator) sleep(d time.Duration) bool { return wait.Sleep(e.ctx, d) == nil }

// pollServer is how the emulator polls its servers' own state (replay
// positions, configuration reloads): often, since the servers are local
// and API callers wait on the outcome.
var pollServer = pgaurora.Wait{MinDelay: 5 * time.Millisecond, MaxDelay: 50 * time.Millisecond}

func (e *Emulator) arn(kind, name string) string {
	return "arn:aws:rds:" + e.region + ":" + e.account + ":" + kind + ":" + name
}

// randomString returns n random characters from [a-zA-Z0-9].
func randomString(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// randomUpper returns n random characters from [A-Z0-9], for resource IDs.
func randomUpper(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
