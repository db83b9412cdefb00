package pgserver

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/internal/conninfo"
	"github.com/pgaurora/pgaurora/internal/wait"
)

// Config describes a server to start. The zero value is a usable server: a
// new temporary directory, a free loopback port, superuser "postgres" with
// trust authentication, and no preloaded libraries.
type Config struct {
	// Dir holds everything the server writes: data/ (PGDATA) and
	// server.log. Empty means a new temporary directory that Close removes.
	// A given directory is kept.
	Dir string
	// Host is the loopback address the server listens on; empty means
	// 127.0.0.1. Every connection pgserver makes goes there.
	Host string
	// Port is the TCP port on Host; 0 picks a free one.
	Port int
	// Superuser is the bootstrap superuser's name; empty means "postgres".
	Superuser string
	// Password, when set, is the superuser's password and TCP connections
	// must authenticate with scram-sha-256. Empty means trust.
	Password string
	// PreloadLibraries is shared_preload_libraries, in order.
	PreloadLibraries []string
	// Settings are further server settings (GUCs), name to value.
	Settings map[string]string
	// TLS, when set, turns ssl on with this certificate and key.
	TLS *TLS
	// HBA are pg_hba.conf lines that come before the ones pgserver writes
	// itself (host and replication connections from anywhere, with
	// scram-sha-256 when Password is set, else trust). pgserver owns
	// pg_hba.conf and rewrites it with every configuration change; it
	// takes effect with Reload, as the file does.
	HBA []string
	// WALSegmentSize is the WAL segment size in megabytes that Start gives
	// initdb (a power of 2 from 1 to 1024); zero means PostgreSQL's 16.
	// Smaller segments make small data directories cheaper to copy.
	WALSegmentSize int
	// Durable keeps fsync and full_page_writes on. Off by default: these
	// servers hold test and demo data, and durability costs seconds.
	Durable bool
	// StartTimeout bounds how long Start waits for the server to accept
	// connections; zero means 60 seconds.
	StartTimeout time.Duration
	// BasebackupMaxRate, when set, is pg_basebackup's --max-rate for
	// StartReplica (for example "32k"): tests that must act while a base
	// backup runs make it last.
	BasebackupMaxRate string
	// Binaries are the PostgreSQL programs the server runs (see
	// BinariesFor). Zero means: for Open and OpenReplica, the binaries of
	// the major version the data directory holds (its PG_VERSION); for
	// StartReplica, the primary's; otherwise FindBinaries'.
	Binaries Binaries

	primaryHost string // the primary's address, for streaming replicas
	primaryPort int    // the primary's port, for streaming replicas; 0 otherwise
}

// TLS is the server's TLS material, PEM encoded.
type TLS struct {
	// CertPEM is the server certificate, optionally followed by
	// intermediates.
	CertPEM []byte
	// KeyPEM is the server certificate's private key.
	KeyPEM []byte
	// ClientCAPEM, when set, becomes ssl_ca_file (client certificates).
	ClientCAPEM []byte
}

// Server is a running (or stopped) local PostgreSQL server. Its methods are
// safe for concurrent use.
type Server struct {
	bin     Binaries
	dir     string
	dataDir string
	logPath string
	ownsDir bool

	mu   sync.Mutex
	cfg  Config
	host string
	port int
	proc *process
}

type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // the exit status, valid after done
}

const confFile = "pgaurora.conf"

// Start creates a new database cluster with initdb and starts a server on
// it. The context bounds initdb and the wait until the server accepts
// connections; if it ends first, or the server fails to start, everything
// started is stopped and the error carries the server's own log lines.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	s, err := prepare(cfg)
	if err != nil {
		return nil, err
	}
	if err := s.initdb(ctx); err != nil {
		s.cleanup()
		return nil, err
	}
	if err := s.startWithRetry(ctx); err != nil {
		s.cleanup()
		return nil, err
	}
	return s, nil
}

// Recovery asks Open to replay archived WAL before the server opens for
// writes: a point-in-time restore of a base backup.
type Recovery struct {
	// RestoreCommand is restore_command: it copies the archived WAL file
	// %f to %p.
	RestoreCommand string
	// TargetTime, when set, stops the replay at the last commit before it
	// (recovery_target_time); zero replays all the archived WAL.
	TargetTime time.Time
}

// Open starts a server on a data directory that already exists in
// cfg.Dir/data: one an earlier Start made and Stop stopped, a copy of one,
// or a base backup (which the server first brings to a consistent state
// with the WAL it holds). With rec, it replays archived WAL first, as a
// point-in-time restore, and Open returns once the server has left
// recovery and accepts writes, with the recovery settings removed again.
// cfg.Superuser and cfg.Password must be those the data holds.
func Open(ctx context.Context, cfg Config, rec *Recovery) (*Server, error) {
	if cfg.Dir == "" {
		return nil, errors.New("pgserver: Open needs the directory that holds the data")
	}
	s, err := prepare(cfg)
	if err != nil {
		return nil, err
	}
	if err := s.matchData(cfg.Binaries); err != nil {
		return nil, fmt.Errorf("pgserver: Open: %w", err)
	}
	if err := handOverTree(s.dataDir); err != nil {
		return nil, fmt.Errorf("pgserver: handing %s to the postgres user: %w", s.dataDir, err)
	}
	_ = os.Remove(filepath.Join(s.dataDir, "postmaster.pid")) // a copy of a running server's
	_ = os.Remove(filepath.Join(s.dataDir, "standby.signal"))
	if rec != nil {
		if s.cfg.Settings == nil {
			s.cfg.Settings = map[string]string{}
		}
		s.cfg.Settings["restore_command"] = rec.RestoreCommand
		s.cfg.Settings["recovery_target_action"] = "promote"
		if !rec.TargetTime.IsZero() {
			s.cfg.Settings["recovery_target_time"] = rec.TargetTime.UTC().Format("2006-01-02 15:04:05.999999") + "+00"
		}
		if err := writeOwned(filepath.Join(s.dataDir, "recovery.signal"), nil); err != nil {
			return nil, err
		}
	}
	if err := s.startWithRetry(ctx); err != nil {
		s.kill()
		return nil, err
	}
	if rec == nil {
		return s, nil
	}
	err = wait.Until(ctx, pgaurora.Wait{MaxWait: s.startTimeout()}, pollServer, func(ctx context.Context) (bool, error) {
		v, err := s.QueryOne(ctx, "SELECT pg_is_in_recovery()::text")
		return err == nil && v == "false", nil
	})
	if err != nil {
		s.kill()
		return nil, fmt.Errorf("pgserver: the point-in-time recovery did not end: %w\nserver log:\n%s", err, tail(s.logSince(0), 30))
	}
	if err := s.UpdateSettings(map[string]string{"restore_command": "", "recovery_target_action": "", "recovery_target_time": ""}); err != nil {
		s.kill()
		return nil, err
	}
	return s, nil
}

// Backup writes a base backup of the running server into dir/data (with
// the WAL it needs, -X stream), as Open and StartReplica read it. The
// server keeps running.
func (s *Server) Backup(ctx context.Context, dir string) error {
	b, err := prepare(Config{Dir: dir, Superuser: s.cfg.Superuser, Password: s.Password(), Binaries: s.bin})
	if err != nil {
		return err
	}
	return b.basebackup(ctx, s, false)
}

// Password is the superuser's password ("" with trust authentication).
// It is a secret: never print or log it.
func (s *Server) Password() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg.Password
}

// MakeServerDir creates a directory that the servers can write into (an
// archive for archive_command), owned by the user they run as.
func MakeServerDir(path string) error {
	if _, err := runAsUser(); err != nil {
		return err
	}
	if err := os.MkdirAll(path, 0o700); err != nil {
		return fmt.Errorf("pgserver: creating %s: %w", path, err)
	}
	if err := makeTraversable(path); err != nil {
		return err
	}
	return handOver(path)
}

// StartReplica makes a streaming replica of s with pg_basebackup and starts
// it as a hot standby. Settings and preload libraries not given in cfg are
// taken from s, so the replica can replay everything the primary writes.
func (s *Server) StartReplica(ctx context.Context, cfg Config) (*Server, error) {
	cfg = s.replicaConfig(cfg)
	r, err := prepare(cfg)
	if err != nil {
		return nil, err
	}
	if err := r.basebackup(ctx, s, true); err != nil {
		r.cleanup()
		return nil, err
	}
	if err := r.startWithRetry(ctx); err != nil {
		r.cleanup()
		return nil, err
	}
	// A hot standby accepts connections as soon as it is consistent, which
	// can be before its WAL receiver has connected to the primary. Until it
	// streams, whatever the primary writes exists only there: return once
	// the replica is really a replica.
	if err := r.waitReceiver(ctx, cfg.primaryHost, cfg.primaryPort, 0); err != nil {
		r.cleanup()
		return nil, err
	}
	return r, nil
}

// replicaConfig completes the configuration of a replica of s.
func (s *Server) replicaConfig(cfg Config) Config {
	s.mu.Lock()
	primary := s.cfg
	port, host := s.port, s.host
	s.mu.Unlock()
	if cfg.Superuser == "" {
		cfg.Superuser = primary.Superuser
	}
	if cfg.Password == "" {
		cfg.Password = primary.Password
	}
	if cfg.PreloadLibraries == nil {
		cfg.PreloadLibraries = slices.Clone(primary.PreloadLibraries)
	}
	merged := maps.Clone(primary.Settings)
	if merged == nil {
		merged = map[string]string{}
	}
	maps.Copy(merged, cfg.Settings)
	cfg.Settings = merged
	if cfg.TLS == nil {
		cfg.TLS = primary.TLS
	}
	if cfg.HBA == nil {
		cfg.HBA = slices.Clone(primary.HBA)
	}
	if cfg.Binaries.Dir == "" {
		cfg.Binaries = s.bin
	}
	cfg.primaryHost, cfg.primaryPort = host, port
	return cfg
}

// OpenReplica starts a streaming replica of primary on a data directory
// that already exists in cfg.Dir/data and that primary's WAL continues: a
// copy of a cleanly stopped server that primary was started from too (a
// shared template), or of primary itself taken while it was stopped
// cleanly. It saves the base backup StartReplica takes. Settings, preload
// libraries, the password and TLS not given in cfg are taken from primary,
// as StartReplica does; like it, OpenReplica returns once the replica
// streams from primary.
func (s *Server) OpenReplica(ctx context.Context, cfg Config) (*Server, error) {
	cfg = s.replicaConfig(cfg)
	r, err := prepare(cfg)
	if err != nil {
		return nil, err
	}
	if err := r.matchData(cfg.Binaries); err != nil {
		return nil, fmt.Errorf("pgserver: OpenReplica: %w", err)
	}
	if err := handOverTree(r.dataDir); err != nil {
		return nil, fmt.Errorf("pgserver: handing %s to the postgres user: %w", r.dataDir, err)
	}
	_ = os.Remove(filepath.Join(r.dataDir, "postmaster.pid"))
	_ = os.Remove(filepath.Join(r.dataDir, "recovery.signal"))
	if err := writeOwned(filepath.Join(r.dataDir, "standby.signal"), nil); err != nil {
		return nil, err
	}
	if err := r.startWithRetry(ctx); err != nil {
		r.kill()
		return nil, err
	}
	if err := r.waitReceiver(ctx, cfg.primaryHost, cfg.primaryPort, 0); err != nil {
		r.kill()
		return nil, err
	}
	return r, nil
}

// matchData checks that the data directory holds a database cluster and,
// unless the caller chose the binaries (given), picks the binaries of the
// major version it holds.
func (s *Server) matchData(given Binaries) error {
	v, err := os.ReadFile(filepath.Join(s.dataDir, "PG_VERSION"))
	if err != nil {
		return fmt.Errorf("%s holds no database cluster: %w", s.dataDir, err)
	}
	major, err := strconv.Atoi(strings.TrimSpace(string(v)))
	if err != nil {
		return fmt.Errorf("%s: PG_VERSION %q is not a major version", s.dataDir, strings.TrimSpace(string(v)))
	}
	if given.Dir != "" || major == s.bin.Major {
		return nil
	}
	b, err := BinariesFor(major)
	if err != nil {
		return fmt.Errorf("%s holds PostgreSQL %d data: %w", s.dataDir, major, err)
	}
	s.bin = b
	return nil
}

// pollServer is how pgserver polls a server's own state: often, since
// these are local servers and the callers wait on them.
var pollServer = pgaurora.Wait{MinDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond}

// waitReceiver waits, within ctx and the start timeout, until the WAL
// receiver streams from the primary at host:port (any primary when port
// is 0) on timeline tli or a later one.
func (s *Server) waitReceiver(ctx context.Context, host string, port, tli int) error {
	var last error
	err := wait.Until(ctx, pgaurora.Wait{MaxWait: s.startTimeout()}, pollServer, func(ctx context.Context) (bool, error) {
		v, err := s.QueryOne(ctx, "SELECT coalesce((SELECT status || ' ' || sender_host || ' ' || sender_port || ' ' || received_tli FROM pg_stat_wal_receiver), 'none')")
		if err == nil {
			var status, gotHost string
			var gotPort, gotTLI int
			fmt.Sscan(v, &status, &gotHost, &gotPort, &gotTLI)
			if status == "streaming" && (port == 0 || gotPort == port && gotHost == host) && gotTLI >= tli {
				return true, nil
			}
			err = fmt.Errorf("WAL receiver (status, port, timeline): %s", v)
		}
		last = err
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("pgserver: replica on port %d is not streaming from its primary: %w (last: %v)", s.Port(), err, last)
	}
	return nil
}

// startTimeout is Config.StartTimeout or its default, 60 seconds.
func (s *Server) startTimeout() time.Duration {
	if s.cfg.StartTimeout > 0 {
		return s.cfg.StartTimeout
	}
	return 60 * time.Second
}

// timeline is the timeline a primary writes WAL on.
func (s *Server) timeline(ctx context.Context) (int, error) {
	v, err := s.QueryOne(ctx, "SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)")
	if err != nil {
		return 0, fmt.Errorf("pgserver: reading the timeline: %w", err)
	}
	n, err := strconv.ParseInt(v, 16, 64)
	if err != nil {
		return 0, fmt.Errorf("pgserver: reading the timeline from WAL file name %q: %w", v, err)
	}
	return int(n), nil
}

// QueryOne runs sql, which must return exactly one row of one column, as
// the superuser on a new connection to database "postgres", and returns
// that value in text form (NULL reads as ""). It is for the server's own
// bookkeeping (WAL positions, timelines, replication status); sql carries
// no parameters, so anything interpolated into it must be quoted.
func (s *Server) QueryOne(ctx context.Context, sql string) (string, error) {
	cfg, err := s.ConnConfig("postgres")
	if err != nil {
		return "", err
	}
	conn, err := pgconn.ConnectConfig(ctx, &cfg.Config)
	if err != nil {
		return "", err
	}
	defer conn.Close(context.Background())
	res := conn.ExecParams(ctx, sql, nil, nil, nil, nil).Read()
	if res.Err != nil {
		return "", res.Err
	}
	if len(res.Rows) != 1 || len(res.Rows[0]) != 1 {
		return "", fmt.Errorf("%q returned %d rows of %d columns, want one value", sql, len(res.Rows), len(res.FieldDescriptions))
	}
	return string(res.Rows[0][0]), nil
}

// passFile holds a replica's replication password, so that
// primary_conninfo (which the server logs whenever it changes) names the
// file instead of carrying the password.
const passFile = "replication.pgpass"

// replicationConnInfo returns a replica's primary_conninfo, writing the
// password file it points to. Callers hold s.mu.
func (s *Server) replicationConnInfo() (string, error) {
	// The primary knows the replica by its application_name: its
	// cluster_name when it has one (synchronous_standby_names names
	// replicas that way), else "replica".
	app := s.cfg.Settings["cluster_name"]
	if app == "" {
		app = "replica"
	}
	kv := []string{"host=" + conninfo.Quote(s.cfg.primaryHost), "port=" + strconv.Itoa(s.cfg.primaryPort),
		"user=" + conninfo.Quote(s.cfg.Superuser), "application_name=" + conninfo.Quote(app)}
	if s.cfg.Password != "" {
		path := filepath.Join(s.dataDir, passFile)
		esc := strings.NewReplacer(`\`, `\\`, `:`, `\:`)
		if err := writeOwned(path, []byte("*:*:*:"+esc.Replace(s.cfg.Superuser)+":"+esc.Replace(s.cfg.Password)+"\n")); err != nil {
			return "", err
		}
		kv = append(kv, "passfile="+conninfo.Quote(path))
	}
	return strings.Join(kv, " "), nil
}

func prepare(cfg Config) (*Server, error) {
	bin := cfg.Binaries
	if bin.Dir == "" {
		var err error
		if bin, err = FindBinaries(); err != nil {
			return nil, err
		}
	}
	if _, err := runAsUser(); err != nil {
		return nil, err
	}
	if cfg.Superuser == "" {
		cfg.Superuser = "postgres"
	}
	if strings.ContainsAny(cfg.Superuser, "\x00") || strings.ContainsAny(cfg.Password, "\x00\n\r") {
		return nil, errors.New("pgserver: superuser name or password contains a NUL or newline")
	}
	cfg.Settings = maps.Clone(cfg.Settings)
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	if ip := net.ParseIP(cfg.Host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("pgserver: Host %q is not a loopback IP address", cfg.Host)
	}
	s := &Server{bin: bin, cfg: cfg, host: cfg.Host, port: cfg.Port}
	if cfg.Dir == "" {
		dir, err := os.MkdirTemp("", "pgserver-")
		if err != nil {
			return nil, fmt.Errorf("pgserver: creating a directory: %w", err)
		}
		s.dir, s.ownsDir = dir, true
	} else {
		abs, err := filepath.Abs(cfg.Dir)
		if err != nil {
			return nil, fmt.Errorf("pgserver: %w", err)
		}
		if err := os.MkdirAll(abs, 0o755); err != nil {
			return nil, fmt.Errorf("pgserver: creating %s: %w", abs, err)
		}
		s.dir = abs
	}
	s.dataDir = filepath.Join(s.dir, "data")
	s.logPath = filepath.Join(s.dir, "server.log")
	if err := makeTraversable(s.dir); err != nil {
		s.cleanup()
		return nil, err
	}
	if err := handOver(s.dir); err != nil {
		s.cleanup()
		return nil, fmt.Errorf("pgserver: handing %s to the postgres user: %w", s.dir, err)
	}
	return s, nil
}

func (s *Server) cleanup() {
	s.kill()
	if s.ownsDir {
		os.RemoveAll(s.dir)
	}
}

func (s *Server) command(ctx context.Context, prog string, args ...string) *exec.Cmd {
	cmd := newCommand(ctx, true, s.bin.Path(prog), args...)
	cmd.Dir = s.dir
	cmd.Env = s.environ()
	return cmd
}

// environ is the environment of every program a server runs. The
// caller's libpq variables (PGPASSWORD, PGSSLMODE, ...) are left out, and
// HOME is the server's own directory: connections the server itself makes
// (pglogical, subscriptions) must not pick up the caller's
// ~/.postgresql certificates or ~/.pgpass, which the postgres user may not
// even be allowed to read.
func (s *Server) environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PG") || strings.HasPrefix(kv, "HOME=") || strings.HasPrefix(kv, "LC_") || strings.HasPrefix(kv, "LANG=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "HOME="+s.dir, "LC_ALL=C.UTF-8", "PGTZ=UTC")
}

func (s *Server) initdb(ctx context.Context) error {
	args := []string{"-D", s.dataDir, "-U", s.cfg.Superuser, "-E", "UTF8", "--locale=C.UTF-8", "--no-sync", "--auth-local=trust"}
	if n := s.cfg.WALSegmentSize; n != 0 {
		if n < 1 || n > 1024 || n&(n-1) != 0 {
			return fmt.Errorf("pgserver: WALSegmentSize %d is not a power of 2 from 1 to 1024", n)
		}
		args = append(args, "--wal-segsize="+strconv.Itoa(n))
	}
	if s.cfg.Password != "" {
		pwfile := filepath.Join(s.dir, ".pwfile")
		if err := os.WriteFile(pwfile, []byte(s.cfg.Password+"\n"), 0o600); err != nil {
			return fmt.Errorf("pgserver: writing the password file: %w", err)
		}
		defer os.Remove(pwfile)
		if err := handOver(pwfile); err != nil {
			return err
		}
		args = append(args, "--auth-host=scram-sha-256", "--pwfile="+pwfile)
	} else {
		args = append(args, "--auth-host=trust")
	}
	cmd := s.command(ctx, "initdb", args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pgserver: initdb: %w\n%s", errOrCtx(ctx, err), tail(out, 20))
	}
	return s.appendInclude()
}

// basebackup writes a base backup of primary into s's data directory:
// with pg_basebackup, or, where these binaries have none (relocatable
// builds of other major versions ship only the server), by copying the
// primary's files between pg_backup_start and pg_backup_stop (copyBackup).
func (s *Server) basebackup(ctx context.Context, primary *Server, standby bool) error {
	primaryHost, primaryPort := primary.Host(), primary.Port()
	if !isExecutable(s.bin.Path("pg_basebackup")) {
		if err := s.copyBackup(ctx, primary); err != nil {
			return err
		}
		if standby {
			return writeOwned(filepath.Join(s.dataDir, "standby.signal"), nil)
		}
		return nil
	}
	args := []string{"-h", primaryHost, "-p", strconv.Itoa(primaryPort),
		"-U", s.cfg.Superuser, "-D", s.dataDir, "-X", "stream", "-c", "fast", "--no-sync", "-w"}
	if s.cfg.BasebackupMaxRate != "" {
		args = append(args, "--max-rate", s.cfg.BasebackupMaxRate)
	}
	cmd := s.command(ctx, "pg_basebackup", args...)
	if s.cfg.Password != "" {
		cmd.Env = append(cmd.Env, "PGPASSWORD="+s.cfg.Password)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pgserver: pg_basebackup from %s: %w\n%s", net.JoinHostPort(primaryHost, strconv.Itoa(primaryPort)), errOrCtx(ctx, err), tail(out, 20))
	}
	if !standby {
		return nil
	}
	if err := writeOwned(filepath.Join(s.dataDir, "standby.signal"), nil); err != nil {
		return err
	}
	// The copied postgresql.conf already includes pgaurora.conf; the file
	// itself is rewritten for this server when it starts.
	return nil
}

func (s *Server) appendInclude() error {
	f, err := os.OpenFile(filepath.Join(s.dataDir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("pgserver: %w", err)
	}
	_, err = fmt.Fprintf(f, "\ninclude_if_exists = '%s'\n", confFile)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeOwned writes a file that the server must be able to read (and only
// it: key files are refused by PostgreSQL when others can read them).
func writeOwned(path string, data []byte) error {
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("pgserver: writing %s: %w", filepath.Base(path), err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return err
	}
	return handOver(path)
}

// writeConf renders the managed configuration file from the current config.
// Callers hold s.mu.
func (s *Server) writeConf() error {
	set := map[string]string{
		"listen_addresses":        s.host,
		"port":                    strconv.Itoa(s.port),
		"unix_socket_directories": "",
		"log_destination":         "stderr",
		"logging_collector":       "off",
		"max_connections":         "100",
		"timezone":                "UTC",
		"log_timezone":            "UTC",
		// Dynamic shared memory in the data directory (pg_dynshmem), not
		// in /dev/shm: a server killed as a crash is (SIGKILL) leaves its
		// segments behind, and there they go with the data directory
		// instead of piling up in RAM until the machine reboots.
		"dynamic_shared_memory_type": "mmap",
	}
	if !s.cfg.Durable {
		set["fsync"] = "off"
		set["full_page_writes"] = "off"
		set["synchronous_commit"] = "off"
	}
	libs := slices.Clone(s.cfg.PreloadLibraries)
	if len(libs) > 0 {
		set["shared_preload_libraries"] = strings.Join(libs, ",")
	}
	if HasSetting(s.bin, "output_plugin_libraries") {
		// This build only loads listed output plugins: allow the ones the
		// SDK uses next to the defaults.
		set["output_plugin_libraries"] = "pgoutput,test_decoding,pglogical_output,wal2json"
	}
	if s.cfg.TLS != nil {
		if err := writeOwned(filepath.Join(s.dataDir, "server.crt"), s.cfg.TLS.CertPEM); err != nil {
			return err
		}
		if err := writeOwned(filepath.Join(s.dataDir, "server.key"), s.cfg.TLS.KeyPEM); err != nil {
			return err
		}
		set["ssl"] = "on"
		set["ssl_cert_file"] = "server.crt"
		set["ssl_key_file"] = "server.key"
		if len(s.cfg.TLS.ClientCAPEM) > 0 {
			if err := writeOwned(filepath.Join(s.dataDir, "client-ca.crt"), s.cfg.TLS.ClientCAPEM); err != nil {
				return err
			}
			set["ssl_ca_file"] = "client-ca.crt"
		}
	}
	if s.cfg.primaryPort != 0 {
		primaryConnInfo, err := s.replicationConnInfo()
		if err != nil {
			return err
		}
		set["primary_conninfo"] = primaryConnInfo
		set["hot_standby"] = "on"
	}
	def, _ := FindBinaries()
	for k, v := range s.cfg.Settings {
		// On binaries of another major version than the machine's own, a
		// setting that major does not have (removed or not yet there)
		// would keep the server from starting: leave it out. On the
		// machine's own, an unknown name stays an error.
		if s.bin.Major == def.Major || s.bin.knowsSetting(k) {
			set[k] = v
		}
	}
	// Settings the SDK manages itself win over caller settings.
	set["port"] = strconv.Itoa(s.port)

	var b strings.Builder
	b.WriteString("# Written by pgaurora's internal/pgserver; rewritten on every change.\n")
	for _, k := range slices.Sorted(maps.Keys(set)) {
		fmt.Fprintf(&b, "%s = %s\n", k, quoteConf(set[k]))
	}
	if err := writeOwned(filepath.Join(s.dataDir, confFile), []byte(b.String())); err != nil {
		return err
	}
	return writeOwned(filepath.Join(s.dataDir, "pg_hba.conf"), []byte(s.hba()))
}

// hba renders pg_hba.conf: the caller's lines, then host and replication
// connections from anywhere (the server listens on loopback only) with
// scram-sha-256, or trust without a password. There are no local lines:
// the server has no Unix socket. Callers hold s.mu.
func (s *Server) hba() string {
	method := "trust"
	if s.cfg.Password != "" {
		method = "scram-sha-256"
	}
	var b strings.Builder
	b.WriteString("# Written by pgaurora's internal/pgserver; rewritten on every change.\n")
	for _, l := range s.cfg.HBA {
		b.WriteString(strings.NewReplacer("\n", " ", "\r", " ").Replace(l))
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "host all all all %s\nhost replication all all %s\n", method, method)
	return b.String()
}

// SetHBA replaces the pg_hba.conf lines that come before pgserver's own
// (see Config.HBA). It takes effect with Reload.
func (s *Server) SetHBA(lines []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg.HBA = slices.Clone(lines)
	return s.writeConf()
}

// HBA returns the pg_hba.conf lines given with Config.HBA or SetHBA.
func (s *Server) HBA() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.cfg.HBA)
}

// quoteConf quotes a postgresql.conf value.
func quoteConf(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `''`, "\n", " ").Replace(v) + "'"
}

// startWithRetry starts the server, picking another port when the chosen
// free port was taken by somebody else in the meantime.
func (s *Server) startWithRetry(ctx context.Context) error {
	fixed := s.cfg.Port != 0
	var err error
	for attempt := 0; attempt < 4; attempt++ {
		if !fixed {
			if s.port, err = freePort(s.host); err != nil {
				return err
			}
		}
		err = s.start(ctx)
		if err == nil || fixed || !errors.Is(err, errAddrInUse) {
			return err
		}
	}
	return err
}

var errAddrInUse = errors.New("address already in use")

func freePort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("pgserver: finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// start launches the postmaster and waits until it accepts connections.
func (s *Server) start(ctx context.Context) error {
	s.mu.Lock()
	if s.proc != nil && !s.proc.exited() {
		s.mu.Unlock()
		return errors.New("pgserver: server is already running")
	}
	if err := s.writeConf(); err != nil {
		s.mu.Unlock()
		return err
	}
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		s.mu.Unlock()
		return fmt.Errorf("pgserver: opening the log: %w", err)
	}
	logStart, _ := logf.Seek(0, 2)
	// Not the start call's context: the server outlives it. Stop and Kill
	// end its process group.
	cmd := newCommand(context.Background(), true, s.bin.Path("postgres"), "-D", s.dataDir)
	cmd.Env = s.environ()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		s.mu.Unlock()
		return fmt.Errorf("pgserver: starting postgres: %w", err)
	}
	logf.Close()
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	s.proc = p
	s.mu.Unlock()

	if err := s.waitReady(ctx, p); err != nil {
		s.kill()
		logText := s.logSince(logStart)
		if bytes.Contains(logText, []byte("Address already in use")) {
			return fmt.Errorf("pgserver: port %d: %w", s.port, errAddrInUse)
		}
		return fmt.Errorf("pgserver: server in %s did not start: %w\nserver log:\n%s", s.dataDir, err, tail(logText, 30))
	}
	return nil
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitReady waits, within ctx and the start timeout, until the server
// accepts connections.
func (s *Server) waitReady(ctx context.Context, p *process) error {
	var last error
	// The probe is a plain connection: cheaper than TLS, and a server up
	// and running answers it even when its pg_hba.conf refuses plain
	// connections (28000), which is as good as a session.
	probe := s.ConnString("postgres")
	err := wait.Until(ctx, pgaurora.Wait{MinDelay: 2 * time.Millisecond, MaxDelay: 10 * time.Millisecond, MaxWait: s.startTimeout()}, pollServer,
		func(ctx context.Context) (bool, error) {
			if p.exited() {
				return false, fmt.Errorf("postgres exited: %v", p.err)
			}
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			conn, err := pgconn.Connect(cctx, probe)
			cancel()
			if err == nil {
				conn.Close(context.Background())
				return true, nil
			}
			var pgErr *pgconn.PgError
			// Refused by pg_hba.conf (28000), or a password that the server
			// does not know yet (28P01: a standby on a copy of a template
			// until it replays its primary's password change): up and
			// running.
			if errors.As(err, &pgErr) && (pgErr.Code == "28000" || pgErr.Code == "28P01") {
				return true, nil
			}
			if errors.As(err, &pgErr) && pgErr.Code != "57P03" { // cannot_connect_now
				return false, fmt.Errorf("connecting: %w", err)
			}
			last = err
			return false, nil
		})
	if err != nil && last != nil {
		return fmt.Errorf("waiting for the server to accept connections: %w (last attempt: %v)", err, last)
	}
	return err
}

func (s *Server) logSince(off int64) []byte {
	b, err := os.ReadFile(s.logPath)
	if err != nil || off > int64(len(b)) {
		return nil
	}
	return b[off:]
}

// Stop shuts the server down with a fast shutdown (active sessions are
// disconnected, committed work is kept). If the context ends first the
// server is killed. Stopping a stopped server does nothing.
func (s *Server) Stop(ctx context.Context) error {
	p := s.current()
	if p == nil || p.exited() {
		return nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		s.kill()
		return fmt.Errorf("pgserver: stopping the server on port %d: %w (killed it)", s.Port(), ctx.Err())
	}
}

// Kill ends the server at once with SIGKILL, as a crash would, and waits
// for it to be gone. Its data directory stays.
func (s *Server) Kill() { s.kill() }

func (s *Server) kill() {
	p := s.current()
	if p == nil {
		return
	}
	var children []int
	if !p.exited() {
		children, _ = killGroup(p.cmd.Process)
	}
	<-p.done
	waitGone(p.cmd.Process, children)
}

// waitGone waits (up to 10 seconds) until no process of the group that p
// led and none of the children killed with it is left: they die a moment
// after the signal, and until the last one has, a new postmaster on the
// same data directory refuses to start ("pre-existing shared memory block
// is still in use").
func waitGone(p *os.Process, children []int) {
	_ = wait.Until(context.Background(), pgaurora.Wait{MaxWait: 10 * time.Second}, pollGone, func(context.Context) (bool, error) {
		if !errors.Is(syscall.Kill(-p.Pid, 0), syscall.ESRCH) {
			return false, nil
		}
		for _, c := range children {
			if !gone(c) {
				return false, nil
			}
		}
		return true, nil
	})
}

var pollGone = pgaurora.Wait{MinDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond}

func (s *Server) current() *process {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc
}

// Pid is the postmaster's process ID while the server runs, else 0. Its
// children (backends, background workers) are the processes whose parent
// it is.
func (s *Server) Pid() int {
	p := s.current()
	if p == nil || p.exited() || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Running reports whether the server process is alive.
func (s *Server) Running() bool {
	p := s.current()
	return p != nil && !p.exited()
}

// Restart stops the server and starts it again on the same port with the
// current settings.
func (s *Server) Restart(ctx context.Context) error {
	if err := s.Stop(ctx); err != nil {
		return err
	}
	return s.start(ctx)
}

// StartAgain starts a stopped or killed server on its data directory, with
// the current settings.
func (s *Server) StartAgain(ctx context.Context) error { return s.start(ctx) }

// Reload rewrites the configuration and signals the server to re-read it
// (SIGHUP), as pg_reload_conf() does. Settings that need a restart stay
// pending until Restart.
func (s *Server) Reload(ctx context.Context) error {
	s.mu.Lock()
	err := s.writeConf()
	p := s.proc
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if p == nil || p.exited() {
		return errors.New("pgserver: reload: server is not running")
	}
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		return fmt.Errorf("pgserver: reload: %w", err)
	}
	return nil
}

// UpdateSettings merges settings into the server's configuration (an empty
// value removes a setting) and writes it out. It takes effect with Reload
// or Restart, as in postgresql.conf.
func (s *Server) UpdateSettings(settings map[string]string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfg.Settings == nil {
		s.cfg.Settings = map[string]string{}
	}
	for k, v := range settings {
		if v == "" {
			delete(s.cfg.Settings, k)
		} else {
			s.cfg.Settings[k] = v
		}
	}
	return s.writeConf()
}

// SetPreloadLibraries replaces shared_preload_libraries; it takes effect at
// the next Restart.
func (s *Server) SetPreloadLibraries(libs []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg.PreloadLibraries = slices.Clone(libs)
	return s.writeConf()
}

// SetTLS replaces the server certificate and key (nil turns TLS off). It
// takes effect with Reload.
func (s *Server) SetTLS(t *TLS) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg.TLS = t
	return s.writeConf()
}

// Settings returns a copy of the settings given to the server (not the
// ones it derives itself).
func (s *Server) Settings() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.cfg.Settings)
}

// Promote ends recovery on a streaming replica, making it a primary, and
// waits (within ctx) until it accepts writes.
func (s *Server) Promote(ctx context.Context) error {
	promoted, err := s.QueryOne(ctx, "SELECT pg_promote(true, 60)")
	if err != nil {
		return fmt.Errorf("pgserver: promote: %w", err)
	}
	if promoted != "t" {
		return errors.New("pgserver: promote: the server did not leave recovery within 60s")
	}
	s.mu.Lock()
	s.cfg.primaryHost, s.cfg.primaryPort = "", 0
	err = s.writeConf()
	s.mu.Unlock()
	if err != nil {
		return err
	}
	// The server removes standby.signal itself when it leaves recovery.
	if err := os.Remove(filepath.Join(s.dataDir, "standby.signal")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("pgserver: promote: %w", err)
	}
	return nil
}

// Follow points a streaming replica at another primary (after that primary
// was promoted) and waits (within ctx and the start timeout) until it
// streams from that primary on the primary's current timeline. A running
// replica reloads its configuration. A stopped server starts as a replica
// on its own data directory: the way back for a former primary after one
// of its replicas was promoted, which works when it was shut down cleanly
// and the promoted replica had replayed all of its WAL first (as a planned
// failover does), so that the new timeline forks off where its WAL ends;
// if it cannot follow, it is stopped again (the caller then rebuilds it
// with StartReplica).
func (s *Server) Follow(ctx context.Context, primary *Server) error {
	tli, err := primary.timeline(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.cfg.primaryHost, s.cfg.primaryPort = primary.Host(), primary.Port()
	s.mu.Unlock()
	started := !s.Running()
	if started {
		if err := writeOwned(filepath.Join(s.dataDir, "standby.signal"), nil); err != nil {
			return err
		}
		err = s.start(ctx)
	} else {
		err = s.Reload(ctx)
	}
	if err != nil {
		return err
	}
	err = s.waitReceiver(ctx, primary.Host(), primary.Port(), tli)
	if err != nil && started {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Stop(sctx)
	}
	return err
}

// Close stops the server (killing it after 30 seconds) and removes its
// directory when Start created it.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := s.Stop(ctx)
	if s.ownsDir {
		if rerr := os.RemoveAll(s.dir); err == nil {
			err = rerr
		}
	}
	return err
}

// Port is the server's TCP port on Host.
func (s *Server) Port() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.port
}

// Host is the loopback address the server listens on (Config.Host).
func (s *Server) Host() string { return s.host }

// Binaries are the PostgreSQL programs the server runs.
func (s *Server) Binaries() Binaries { return s.bin }

// Superuser is the bootstrap superuser's name.
func (s *Server) Superuser() string { return s.cfg.Superuser }

// DataDir is the server's PGDATA directory.
func (s *Server) DataDir() string { return s.dataDir }

// ReadLog returns everything the server has logged so far.
func (s *Server) ReadLog() ([]byte, error) { return os.ReadFile(s.logPath) }

// ConnString returns a URL connection string for database db as the
// superuser, without TLS. It contains the password when one is set: never
// print or log it. A server whose pg_hba.conf refuses plain connections
// needs Connect or ConnConfig instead.
func (s *Server) ConnString(db string) string {
	u := url.URL{
		Scheme:   "postgres",
		Host:     net.JoinHostPort(s.host, strconv.Itoa(s.Port())),
		Path:     "/" + db,
		RawQuery: "sslmode=disable",
	}
	s.mu.Lock()
	user, password := s.cfg.Superuser, s.cfg.Password
	s.mu.Unlock()
	if password != "" {
		u.User = url.UserPassword(user, password)
	} else {
		u.User = url.User(user)
	}
	return u.String()
}

// ConnConfig returns the configuration of a connection to database db as
// the superuser: over TLS when the server has TLS on (the certificate is
// not verified: this is the server pgserver started, on loopback), else
// plain. Nothing comes from the caller's PG* environment variables that
// would change that (a PGSSLCERT, a PGSSLMODE). It holds the password.
func (s *Server) ConnConfig(db string) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(s.ConnString(db)) // sslmode=disable: no TLS setting is read from the environment
	if err != nil {
		return nil, fmt.Errorf("pgserver: %w", err)
	}
	s.mu.Lock()
	tlsOn := s.cfg.TLS != nil
	s.mu.Unlock()
	if tlsOn {
		cfg.TLSConfig = &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}
	}
	return cfg, nil
}

// Connect opens a session on database db as the superuser, configured as
// ConnConfig says.
func (s *Server) Connect(ctx context.Context, db string) (*pgx.Conn, error) {
	cfg, err := s.ConnConfig(db)
	if err != nil {
		return nil, err
	}
	return pgx.ConnectConfig(ctx, cfg)
}

// SetPassword records that the superuser's password is now password, after
// it was changed in the database (ALTER ROLE ... PASSWORD, on the primary).
// From then on ConnString, StartReplica and Follow use it, and a streaming
// replica's WAL receiver authenticates with it the next time it connects
// (its primary_conninfo names a password file, which libpq reads on every
// connection, so no reload is needed; the password never appears in the
// configuration or in the server's log).
func (s *Server) SetPassword(password string) error {
	if password == "" || strings.ContainsAny(password, "\x00\n\r") {
		return errors.New("pgserver: SetPassword: the password is empty or contains a NUL or newline")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg.Password = password
	if s.cfg.primaryPort == 0 {
		return nil
	}
	return s.writeConf()
}

// String describes the server without secrets.
func (s *Server) String() string {
	return fmt.Sprintf("postgres %d on %s (%s)", s.bin.Major, net.JoinHostPort(s.host, strconv.Itoa(s.Port())), s.dataDir)
}

func errOrCtx(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// tail returns the last n lines of b.
func tail(b []byte, n int) []byte {
	b = bytes.TrimRight(b, "\n")
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '\n' {
			n--
			if n == 0 {
				return b[i+1:]
			}
		}
	}
	return b
}
