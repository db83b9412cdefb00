// Package exampleenv opens the Aurora PostgreSQL cluster that the programs
// under examples/ work on, and prints their progress.
//
// By default Open starts a local Aurora emulator (package
// aurora/auroratest) with the clusters an example asks for, and connects
// with the emulator's master password, verifying its servers (TLS
// verify-full) against the emulator's CAs. Nothing leaves the machine.
//
// When AURORA_CLUSTER_ID is set, Open works on that real cluster instead,
// with the normal AWS configuration (config.LoadDefaultConfig: AWS_REGION,
// AWS_PROFILE, the shared config files, environment credentials, SSO, ...)
// and these variables:
//
//	AURORA_CLUSTER_ID     the DB cluster identifier
//	AURORA_SECRET_ARN     an AWS Secrets Manager secret holding the database
//	                      user and password ({"username": ..., "password": ...},
//	                      the form RDS manages), or
//	AURORA_DB_USER        a database user with IAM authentication (granted
//	                      rds_iam); a fresh token is minted per connection
//	AURORA_CA_BUNDLE      path to the CA bundle to verify the servers with:
//	                      AWS's global bundle
//	                      (https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem);
//	                      unset means the system's trust store
//	AURORA_DATABASE       the database to connect to (default postgres)
//	AURORA_CLUSTER_ID_B   a second cluster, for the examples that need two
//	AURORA_SECRET_ARN_B   the second cluster's secret (default: the first's)
//
// Examples that change a real cluster (parameter groups, reboots, CA
// rotation, failover) refuse to run against one unless given -yes, and say
// what they would change: an example's NewCommand defines -yes, and its
// Command.Open passes it on with the Options.Changes it declares. Open prints which mode it uses; it never prints a
// password, a token or a secret's value.
package exampleenv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/aurora/auroratest"
	"github.com/pgaurora/pgaurora/internal/plural"
)

// The environment variables that select and configure a real cluster.
const (
	EnvClusterID  = "AURORA_CLUSTER_ID"
	EnvSecretARN  = "AURORA_SECRET_ARN"
	EnvDBUser     = "AURORA_DB_USER"
	EnvCABundle   = "AURORA_CA_BUNDLE"
	EnvDatabase   = "AURORA_DATABASE"
	EnvClusterIDB = "AURORA_CLUSTER_ID_B"
	EnvSecretARNB = "AURORA_SECRET_ARN_B"
)

// Variables lists every variable Open reads, for tests that must clear
// them.
var Variables = []string{EnvClusterID, EnvSecretARN, EnvDBUser, EnvCABundle, EnvDatabase, EnvClusterIDB, EnvSecretARNB}

// Options says what an example needs.
type Options struct {
	// Out receives the line saying which mode is used. Nil means
	// os.Stdout.
	Out io.Writer
	// ClusterID is the identifier of the emulated cluster; empty means
	// "demo". A real cluster is always AURORA_CLUSTER_ID.
	ClusterID string
	// Instances is the number of DB instances of the emulated cluster
	// (the first is the writer); zero means 1.
	Instances int
	// EngineVersion is the engine version the emulated cluster reports;
	// empty means the emulator's default.
	EngineVersion string
	// ClusterParameterGroup and InstanceParameterGroup, when set, give
	// the emulated cluster and its instances custom parameter groups of
	// these names (created by the emulator); empty means the defaults.
	ClusterParameterGroup, InstanceParameterGroup string
	// SecondClusterID, when set, asks for a second cluster (Env.B): an
	// emulated one with this identifier and SecondInstances instances, or,
	// against real clusters, AURORA_CLUSTER_ID_B when that is set (Env.B
	// stays nil otherwise).
	SecondClusterID string
	SecondInstances int
	// Changes says what the example changes on a cluster ("reboots its
	// instances"). Against a real cluster a non-empty Changes makes Open
	// refuse unless Yes is set.
	Changes string
	// Yes confirms Changes against a real cluster (the examples' -yes
	// flag; Command.Open sets it).
	Yes bool
	// APIOnly says the example only calls the RDS API, so against a real
	// cluster the database credentials (AURORA_SECRET_ARN or
	// AURORA_DB_USER) may be left unset.
	APIOnly bool
	// ClusterOptions are added to the options of every aurora.New.
	ClusterOptions []aurora.Option
	// EmulatorOptions are added to the options of the emulator (for
	// example auroratest.WithMetricsPeriod); unused against real
	// clusters.
	EmulatorOptions []auroratest.Option
}

// Env is the cluster (or clusters) an example works on.
type Env struct {
	// Cluster is the cluster the example works on.
	Cluster *aurora.Cluster
	// B is the second cluster when Options.SecondClusterID asked for one
	// and one is available; nil otherwise.
	B *aurora.Cluster
	// Emulator is the local emulator; nil against real clusters.
	Emulator *auroratest.Emulator
	// AWS is the AWS configuration the clusters call RDS with.
	AWS aws.Config

	caBundle []byte
	// secrets maps a real cluster to the Secrets Manager secret of its
	// credentials ("" for IAM authentication).
	secrets  map[string]string
	clusters []*aurora.Cluster
}

// Emulated reports whether the example runs against the local emulator.
func (e *Env) Emulated() bool { return e.Emulator != nil }

// CABundle returns the PEM bundle the connections verify servers with; nil
// means the system's trust store.
func (e *Env) CABundle() []byte { return e.caBundle }

// emulatorWait polls the emulator quickly: its transitions take
// milliseconds to seconds. Every emulated cluster has it as its default.
var emulatorWait = pgaurora.Wait{MinDelay: 50 * time.Millisecond, MaxDelay: 300 * time.Millisecond, MaxWait: 2 * time.Minute}

// OnOpen, when set, is called with every Env that Open returns. The
// examples' tests use it to learn the emulator's passwords and check that
// no example prints them.
var OnOpen func(*Env)

// Open returns the cluster an example works on: the one named by
// AURORA_CLUSTER_ID, or a new emulated one. It prints the mode to
// opts.Out. Close the Env when done: it closes the handles and stops the
// emulator.
func Open(ctx context.Context, opts Options) (*Env, error) {
	if opts.Out == nil {
		opts.Out = os.Stdout
	}
	open := openEmulator
	id := os.Getenv(EnvClusterID)
	if id != "" {
		open = func(ctx context.Context, opts Options) (*Env, error) { return openReal(ctx, id, opts) }
	}
	env, err := open(ctx, opts)
	if err == nil && OnOpen != nil {
		OnOpen(env)
	}
	return env, err
}

func openEmulator(ctx context.Context, opts Options) (*Env, error) {
	id := opts.ClusterID
	if id == "" {
		id = "demo"
	}
	n := max(opts.Instances, 1)
	emuOpts := []auroratest.Option{
		auroratest.WithCluster(id, auroratest.ClusterConfig{Instances: n, EngineVersion: opts.EngineVersion,
			ClusterParameterGroup: opts.ClusterParameterGroup, InstanceParameterGroup: opts.InstanceParameterGroup}),
		auroratest.WithTransitionDelay(50 * time.Millisecond),
	}
	emuOpts = append(emuOpts, opts.EmulatorOptions...)
	desc := fmt.Sprintf("cluster %s (%s)", id, Plural(n, "instance"))
	if opts.SecondClusterID != "" {
		n2 := max(opts.SecondInstances, 1)
		emuOpts = append(emuOpts, auroratest.WithCluster(opts.SecondClusterID, auroratest.ClusterConfig{Instances: n2, EngineVersion: opts.EngineVersion}))
		desc += fmt.Sprintf(" and cluster %s (%s)", opts.SecondClusterID, Plural(n2, "instance"))
	}
	fmt.Fprintf(opts.Out, "mode: local Aurora emulator with %s; set %s to use a real cluster\n", desc, EnvClusterID)
	start := time.Now()
	emu, err := auroratest.Start(ctx, emuOpts...)
	if err != nil {
		return nil, fmt.Errorf("starting the Aurora emulator: %w", err)
	}
	env := &Env{Emulator: emu, AWS: emu.AWSConfig(), caBundle: emu.CABundlePEM()}
	fmt.Fprintf(opts.Out, "emulator ready in %s: RDS API at %s, region %s\n", time.Since(start).Round(time.Millisecond), emu.Endpoint(), emu.Region())
	if env.Cluster, err = env.NewCluster(ctx, id, opts.ClusterOptions...); err != nil {
		env.Close()
		return nil, err
	}
	if opts.SecondClusterID != "" {
		if env.B, err = env.NewCluster(ctx, opts.SecondClusterID, opts.ClusterOptions...); err != nil {
			env.Close()
			return nil, err
		}
	}
	return env, nil
}

func openReal(ctx context.Context, id string, opts Options) (*Env, error) {
	idB := ""
	if opts.SecondClusterID != "" {
		idB = os.Getenv(EnvClusterIDB)
	}
	targets := "cluster " + id
	if idB != "" {
		targets += " and cluster " + idB
	}
	if opts.Changes != "" && !opts.Yes {
		fmt.Fprintf(opts.Out, "mode: real %s (from %s)\n", targets, EnvClusterID)
		return nil, fmt.Errorf("against a real cluster this example %s; run it again with -yes to go ahead", opts.Changes)
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading the AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return nil, errors.New("no AWS Region configured: set AWS_REGION (or a region in your AWS profile)")
	}
	env := &Env{AWS: cfg, secrets: map[string]string{}}
	trust := "the system trust store"
	if path := os.Getenv(EnvCABundle); path != "" {
		pem, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading the CA bundle %s=%s: %w", EnvCABundle, path, err)
		}
		env.caBundle = pem
		trust = "the CA bundle " + path
	}
	secret, user := os.Getenv(EnvSecretARN), os.Getenv(EnvDBUser)
	if secret == "" && user == "" && !opts.APIOnly {
		return nil, fmt.Errorf("%s is set, so the example works on a real cluster: set %s (a Secrets Manager secret with the database user and password) or %s (a user with IAM authentication)",
			EnvClusterID, EnvSecretARN, EnvDBUser)
	}
	env.secrets[id] = secret
	if idB != "" {
		env.secrets[idB] = secret
		if s := os.Getenv(EnvSecretARNB); s != "" {
			env.secrets[idB] = s
		}
	}
	if env.Cluster, err = env.NewCluster(ctx, id, opts.ClusterOptions...); err != nil {
		return nil, err
	}
	if secret == "" && user == "" {
		fmt.Fprintf(opts.Out, "mode: real %s in %s, RDS API only\n", targets, cfg.Region)
	} else {
		fmt.Fprintf(opts.Out, "mode: real %s in %s, verifying servers against %s\n", targets, cfg.Region, trust)
		fmt.Fprintf(opts.Out, "handle: %s\n", env.Cluster) // describes the credentials, never their secret
	}
	if idB != "" {
		if env.B, err = env.NewCluster(ctx, idB, opts.ClusterOptions...); err != nil {
			env.Close()
			return nil, err
		}
	}
	return env, nil
}

// NewCluster opens another handle on one of the Env's clusters, with the
// Env's credentials and CA bundle and opts added (for example another
// database). Close closes it with the others.
func (e *Env) NewCluster(ctx context.Context, id string, opts ...aurora.Option) (*aurora.Cluster, error) {
	creds, err := e.credentials(id)
	if err != nil {
		return nil, err
	}
	base := append([]aurora.Option{aurora.WithAWSConfig(e.AWS)}, e.connOptions(creds)...)
	c, err := aurora.New(id, append(base, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("opening a handle on cluster %s: %w", id, err)
	}
	e.clusters = append(e.clusters, c)
	return c, nil
}

// connOptions are the options of a handle's connections: the
// credentials (when any), the CA bundle, the database and, against the
// emulator, the fast wait.
func (e *Env) connOptions(creds aurora.Credentials) []aurora.Option {
	var opts []aurora.Option
	if creds != nil {
		opts = append(opts, aurora.WithCredentials(creds))
	}
	if e.caBundle != nil {
		opts = append(opts, aurora.WithCABundle(e.caBundle))
	}
	if db := os.Getenv(EnvDatabase); db != "" && !e.Emulated() {
		opts = append(opts, aurora.WithDatabase(db))
	}
	if e.Emulated() {
		opts = append(opts, aurora.WithWait(emulatorWait))
	}
	return opts
}

// FleetClusterOptions returns the options of the handle on one cluster of
// a fleet (aurora.FleetOptions.ClusterOptions): against the emulator, its
// master password; against AWS, the cluster's RDS-managed secret when it
// has one (MasterUserSecretARN), else IAM authentication as
// AURORA_DB_USER, else the secret AURORA_SECRET_ARN; with the CA bundle
// and database of the Env. A cluster with none of these gets no
// credentials, and an operation that connects fails for it alone.
func (e *Env) FleetClusterOptions(c aurora.FleetCluster) []aurora.Option {
	var creds aurora.Credentials
	cfg := e.AWS // in the cluster's Region, for its secret and its tokens
	if c.Region != "" {
		cfg.Region = c.Region
	}
	switch {
	case e.Emulated():
		if pw := e.Emulator.MasterPassword(c.ID); pw != "" {
			creds = aurora.StaticPassword(c.MasterUsername, pw)
		}
	case c.MasterUserSecretARN != "":
		creds = aurora.SecretsManagerSecret(secretsmanager.NewFromConfig(cfg), c.MasterUserSecretARN)
	case os.Getenv(EnvDBUser) != "":
		creds = aurora.IAMAuth(cfg, os.Getenv(EnvDBUser), nil)
	case os.Getenv(EnvSecretARN) != "":
		creds = aurora.SecretsManagerSecret(secretsmanager.NewFromConfig(cfg), os.Getenv(EnvSecretARN))
	}
	return e.connOptions(creds)
}

// credentials returns how connections to cluster id authenticate; nil
// when no database credentials are configured (Options.APIOnly).
func (e *Env) credentials(id string) (aurora.Credentials, error) {
	if e.Emulated() {
		pw := e.Emulator.MasterPassword(id)
		if pw == "" {
			return nil, fmt.Errorf("the emulator has no cluster %q", id)
		}
		return aurora.StaticPassword("postgres", pw), nil
	}
	secret, ok := e.secrets[id]
	if !ok {
		return nil, fmt.Errorf("cluster %q is neither %s nor %s", id, EnvClusterID, EnvClusterIDB)
	}
	switch user := os.Getenv(EnvDBUser); {
	case secret != "":
		return aurora.SecretsManagerSecret(secretsmanager.NewFromConfig(e.AWS), secret), nil
	case user != "":
		return aurora.IAMAuth(e.AWS, user, nil), nil
	}
	return nil, nil
}

// Password returns the database user and password of a cluster, for
// the rare place that needs the password itself: a pglogical
// subscription's connection string, which the subscriber stores. Against
// the emulator it is the master user's; against AWS it is read from the
// cluster's Secrets Manager secret. IAM authentication has no password
// (its tokens expire after 15 minutes), so it is refused. Never print it.
func (e *Env) Password(ctx context.Context, id string) (user, password string, err error) {
	if e.Emulated() {
		pw := e.Emulator.MasterPassword(id)
		if pw == "" {
			return "", "", fmt.Errorf("the emulator has no cluster %q", id)
		}
		return "postgres", pw, nil
	}
	secret := e.secrets[id]
	if secret == "" {
		return "", "", fmt.Errorf("cluster %s has no password: it uses IAM authentication, whose tokens expire: set %s (or %s) to a Secrets Manager secret with a password", id, EnvSecretARN, EnvSecretARNB)
	}
	out, err := secretsmanager.NewFromConfig(e.AWS).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secret)})
	if err != nil {
		return "", "", fmt.Errorf("reading secret %q: %w", secret, err)
	}
	var v struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	// The secret's text is never quoted in an error.
	if out.SecretString == nil || json.Unmarshal([]byte(*out.SecretString), &v) != nil || v.Username == "" || v.Password == "" {
		return "", "", fmt.Errorf("secret %q is not a JSON object with a username and a password", secret)
	}
	return v.Username, v.Password, nil
}

// Close closes every cluster handle and stops the emulator.
func (e *Env) Close() {
	for _, c := range e.clusters {
		c.Close()
	}
	if e.Emulator != nil {
		_ = e.Emulator.Close()
	}
}

// Plural returns "1 day", "2 days" (plural.Count, for the examples).
func Plural(n int, word string) string { return plural.Count(n, word) }
