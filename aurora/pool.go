package aurora

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/internal/conninfo"
	"github.com/pgaurora/pgaurora/internal/wait"
)

type poolRole int

const (
	writerRole poolRole = iota
	readerRole
)

func (r poolRole) String() string {
	if r == writerRole {
		return "writer"
	}
	return "reader"
}

type endpoint struct {
	instance string // empty for the cluster's reader endpoint
	host     string
	port     int
}

func (e endpoint) String() string {
	if e.instance != "" {
		return e.instance
	}
	return net.JoinHostPort(e.host, strconv.Itoa(e.port))
}

// Pool is a pgx connection pool on the cluster's writer or readers. It is
// a pgaurora.Querier, and lends connections (Acquire) for the calls that
// send secrets, so it can be handed to every feature package.
//
// The writer pool connects to the writer instance's own endpoint, found by
// topology, not through the cluster DNS name. When it sees the writer go
// (connection errors, a shut-down server, or a read-only error because the
// old writer came back as a reader) it finds the new writer, by
// aurora_replica_status() on the instances when available and the RDS API
// otherwise, and sends new connections there at once; the statement that
// saw the loss fails with a *ConnectionLostError.
type Pool struct {
	c    *Cluster
	role poolRole
	pool *pgxpool.Pool

	ctx    context.Context // ends when the pool closes
	cancel context.CancelFunc

	mu         sync.Mutex
	target     endpoint
	refreshing chan struct{}     // non-nil while a writer search runs
	lastCommit map[string]uint64 // by server incarnation: the highest id RunTx saw commit
}

// Writer returns the pool on the cluster's writer, opening it on first use.
func (c *Cluster) Writer(ctx context.Context) (*Pool, error) { return c.openPool(ctx, writerRole) }

// Reader returns the pool on the cluster's reader endpoint (which spreads
// connections over the readers, or the writer when there is none), opening
// it on first use.
func (c *Cluster) Reader(ctx context.Context) (*Pool, error) { return c.openPool(ctx, readerRole) }

func (c *Cluster) openPool(ctx context.Context, role poolRole) (*Pool, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed.Load() {
		return nil, ErrClosed
	}
	if p := c.poolFor(role); p != nil {
		return p, nil
	}
	if c.cfg.creds == nil {
		return nil, errors.New("aurora: no credentials: pass WithCredentials")
	}
	d, err := c.Describe(ctx)
	if err != nil {
		return nil, err
	}
	p := &Pool{c: c, role: role}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	switch role {
	case writerRole:
		if d.Writer == nil {
			return nil, fmt.Errorf("aurora: cluster %s has no writer right now (status %s)", c.id, d.Status)
		}
		p.target = endpointOf(*d.Writer)
	case readerRole:
		p.target = endpoint{host: d.ReaderEndpoint, port: d.Port}
	}
	pc, err := pgxpool.ParseConfig(fmt.Sprintf("host=%s port=%d dbname=%s sslmode=disable",
		p.target.host, p.target.port, conninfo.Quote(c.cfg.database)))
	if err != nil {
		return nil, fmt.Errorf("aurora: pool configuration: %w", err)
	}
	if c.cfg.poolConfig != nil {
		c.cfg.poolConfig(pc)
	}
	callerBefore := pc.BeforeConnect
	pc.BeforeConnect = func(ctx context.Context, cc *pgx.ConnConfig) error {
		if err := p.configureConn(ctx, cc); err != nil {
			return err
		}
		if callerBefore != nil {
			return callerBefore(ctx, cc)
		}
		return nil
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		p.cancel()
		return nil, fmt.Errorf("aurora: opening the %s pool: %w", role, err)
	}
	p.pool = pool
	if role == writerRole {
		c.writer = p
	} else {
		c.reader = p
	}
	c.cfg.logger.Info("aurora: pool opened", "cluster", c.id, "role", role.String(), "target", p.target.String())
	return p, nil
}

func (c *Cluster) poolFor(role poolRole) *Pool {
	if role == writerRole {
		return c.writer
	}
	return c.reader
}

// configureConn points a new pooled connection at the current target.
func (p *Pool) configureConn(ctx context.Context, cc *pgx.ConnConfig) error {
	p.mu.Lock()
	t := p.target
	p.mu.Unlock()
	return p.c.configureConn(ctx, cc, t)
}

// configureConn sets a connection's address, fresh credentials and the TLS
// policy for endpoint t.
func (c *Cluster) configureConn(ctx context.Context, cc *pgx.ConnConfig, t endpoint) error {
	return c.configureConnWith(ctx, cc, t, c.cfg.creds)
}

// configureConnWith is configureConn with credentials other than the
// Cluster's (EnableIAMAuth's verifying logins).
func (c *Cluster) configureConnWith(ctx context.Context, cc *pgx.ConnConfig, t endpoint, creds Credentials) error {
	cc.Host, cc.Port = t.host, uint16(t.port)
	cc.Fallbacks = nil
	user, password, err := creds.credentials(ctx, t.host, t.port)
	if err != nil {
		return err
	}
	cc.User, cc.Password = user, password
	switch {
	case c.cfg.plaintext:
		cc.TLSConfig = nil
	case c.cfg.trust != nil:
		cc.TLSConfig = c.cfg.trust.TLSConfig(t.host)
	default:
		// verify-full against the system's roots.
		cc.TLSConfig = &tls.Config{ServerName: t.host, MinVersion: tls.VersionTLS12}
	}
	return nil
}

// Target names the instance (writer pool) or endpoint (reader pool) new
// connections go to.
func (p *Pool) Target() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.target.String()
}

// Stat returns the underlying pool's statistics.
func (p *Pool) Stat() *pgxpool.Stat { return p.pool.Stat() }

// PGXPool returns the underlying pgx pool, for APIs this type does not
// wrap. Errors from it are not translated and do not trigger a writer
// search.
func (p *Pool) PGXPool() *pgxpool.Pool { return p.pool }

func (p *Pool) close() {
	p.cancel()
	p.pool.Close()
}

// Exec runs sql with args on a pooled connection.
func (p *Pool) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	var tag pgconn.CommandTag
	err := p.withAuthRetry(ctx, func() (err error) {
		tag, err = p.pool.Exec(ctx, sql, args...)
		return err
	})
	return tag, p.translate(err)
}

// Query runs a query on a pooled connection. Errors that arrive while
// reading rows are translated too.
func (p *Pool) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	var rows pgx.Rows
	err := p.withAuthRetry(ctx, func() (err error) {
		rows, err = p.pool.Query(ctx, sql, args...)
		return err
	})
	if err != nil {
		return nil, p.translate(err)
	}
	return &translatedRows{Rows: rows, p: p}, nil
}

// QueryRow runs a query expected to return at most one row.
func (p *Pool) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	rows, err := p.Query(ctx, sql, args...)
	return &row{rows: rows, err: err}
}

// Begin starts a transaction on a pooled connection. Errors inside the
// transaction are the driver's own; use RunTx for failover-safe retries.
func (p *Pool) Begin(ctx context.Context) (pgx.Tx, error) {
	var tx pgx.Tx
	err := p.withAuthRetry(ctx, func() (err error) {
		tx, err = p.pool.Begin(ctx)
		return err
	})
	return tx, p.translate(err)
}

// Acquire lends one connection of the pool, for work that must stay on
// one session; the SDK's calls that send a secret use it. Release the
// connection when done. Errors on the lent connection are the driver's
// own and do not start a writer search.
func (p *Pool) Acquire(ctx context.Context) (*pgxpool.Conn, error) {
	var conn *pgxpool.Conn
	err := p.withAuthRetry(ctx, func() (err error) {
		conn, err = p.pool.Acquire(ctx)
		return err
	})
	return conn, p.translate(err)
}

// Ping checks that a connection can be made and used.
func (p *Pool) Ping(ctx context.Context) error {
	return p.translate(p.withAuthRetry(ctx, func() error { return p.pool.Ping(ctx) }))
}

// RunTx runs fn in a transaction and commits it. When the transaction
// fails with a retryable error it runs fn again in a new transaction,
// until it commits, fails otherwise, or ctx ends: after a lost writer or a
// broken connection (*ConnectionLostError) on the new writer once it is
// found; after a serialization failure or a deadlock (SQLSTATE 40001,
// 40P01) at once on the same writer, since the writer is fine and only the
// transaction lost a conflict. fn must do nothing outside the transaction
// that cannot be repeated.
//
// A transaction that committed runs once: when the connection is lost
// while its COMMIT is under way (a crash or failover can take the answer
// with it), RunTx asks the writer it finds next whether the transaction
// committed (txid_status) and runs fn again only if it did not. This costs
// one round trip before each COMMIT of a transaction that wrote.
//
// When that writer is not the server the transaction ran on (the writer
// failed over or restarted), its answer "committed" is only proof when the
// transaction's id cannot have been given out again: a crash loses the
// WAL that was not yet written, with the ids in it, and the new writer
// hands those ids to new transactions. RunTx trusts it when this pool saw
// a later transaction of the old server commit (an acknowledged commit
// survives, and with it every lower id); otherwise it returns an error
// matching ErrCommitUnknown rather than guess.
func (p *Pool) RunTx(ctx context.Context, fn func(pgx.Tx) error) error {
	if fn == nil {
		return errors.New("aurora: RunTx: nil function")
	}
	var pending *txRun // a transaction whose COMMIT lost its answer
	return p.retry(ctx, func() error {
		if pending != nil {
			committed, err := p.committed(ctx, pending)
			if err != nil {
				return err
			}
			if pending = nil; committed {
				return nil
			}
		}
		run, committing, err := p.runTxOnce(ctx, fn)
		if err != nil && committing && run != nil && errors.Is(err, ErrRetryable) {
			pending = run
		}
		return err
	}, isTxConflict, func(attempt int, err error) {
		p.c.cfg.logger.Warn("aurora: retrying transaction", "cluster", p.c.id, "attempt", attempt, "error", err)
	})
}

// txRun is a transaction that wrote: its id (txid_current_if_assigned)
// and the server it ran on.
type txRun struct {
	xid    uint64
	server string
}

// serverIncarnation names the running server a session is on: its
// address, port and start time, which a restart changes.
const serverIncarnation = `coalesce(host(inet_server_addr()), 'local') || ':' || coalesce(inet_server_port(), 0) || '@' || pg_postmaster_start_time()`

// committed asks the writer whether the transaction committed. A
// transaction still in progress (the old session has not ended yet) is a
// retryable error; one whose outcome the writer cannot prove (see RunTx)
// is an error matching ErrCommitUnknown that stops RunTx rather than risk
// running the transaction twice.
func (p *Pool) committed(ctx context.Context, run *txRun) (bool, error) {
	var status *string
	var server string
	// An id past the writer's next one belongs to a transaction this
	// history does not hold (a crash took it): it did not commit.
	const q = `SELECT CASE WHEN $1::bigint >= txid_snapshot_xmax(txid_current_snapshot()) THEN 'aborted'
		ELSE txid_status($1::bigint) END, ` + serverIncarnation
	if err := p.QueryRow(ctx, q, int64(run.xid)).Scan(&status, &server); err != nil {
		return false, err
	}
	switch {
	case status == nil:
		return false, fmt.Errorf("aurora: RunTx: the connection was lost while transaction %d committed, and the writer no longer knows whether it did: not running it again: %w", run.xid, ErrCommitUnknown)
	case *status == "committed":
		if server != run.server && !p.commitSeenAfter(run) {
			return false, fmt.Errorf("aurora: RunTx: the connection was lost while transaction %d committed, and the writer that answers is another server (%s, not %s): the id may have been given out again, so whether it committed is unknown: not running it again: %w", run.xid, server, run.server, ErrCommitUnknown)
		}
		p.c.cfg.logger.Info("aurora: a transaction whose commit lost its answer had committed", "cluster", p.c.id, "xid", run.xid)
		return true, nil
	case *status == "aborted":
		return false, nil
	}
	return false, fmt.Errorf("aurora: RunTx: transaction %d is still %s after its connection was lost: %w", run.xid, *status, ErrRetryable)
}

// commitSeen records a transaction this pool saw commit.
func (p *Pool) commitSeen(run *txRun) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lastCommit == nil {
		p.lastCommit = map[string]uint64{}
	}
	p.lastCommit[run.server] = max(p.lastCommit[run.server], run.xid)
}

// commitSeenAfter reports whether this pool saw a transaction of run's
// server with a higher id commit.
func (p *Pool) commitSeenAfter(run *txRun) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastCommit[run.server] > run.xid
}

// retryBackoff is how retry spaces its attempts.
var retryBackoff = pgaurora.Wait{MinDelay: 50 * time.Millisecond, MaxDelay: time.Second}

// retry runs op until it succeeds, fails with an error that is neither
// retryable (ErrRetryable) nor accepted by also, or ctx ends. Before a
// retry after a lost connection it waits for a running writer search to
// end; every retry tells onRetry (when set) and backs off as retryBackoff
// says.
func (p *Pool) retry(ctx context.Context, op func() error, also func(error) bool, onRetry func(attempt int, err error)) error {
	attempt := 0
	var last error
	err := wait.Until(ctx, retryBackoff, retryBackoff, func(ctx context.Context) (bool, error) {
		attempt++
		err := op()
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, ErrRetryable):
			last = err
			if onRetry != nil {
				onRetry(attempt, err)
			}
			if werr := p.waitForTarget(ctx); werr != nil {
				return false, fmt.Errorf("%w (and then: %w)", err, werr)
			}
			return false, nil
		case also != nil && also(err) && ctx.Err() == nil:
			last = err
			if onRetry != nil {
				onRetry(attempt, err)
			}
			return false, nil
		}
		return false, err
	})
	if err != nil && last != nil && ctx.Err() != nil && !errors.Is(err, last) {
		return fmt.Errorf("%w (gave up: %w)", last, err)
	}
	return err
}

// isTxConflict reports whether err is a transaction that lost a conflict
// (serialization_failure, deadlock_detected): retrying the transaction is
// safe and the connection is fine.
func isTxConflict(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40001" || pgErr.Code == "40P01")
}

// runTxOnce runs fn in one transaction. It returns the transaction when
// it wrote (nil otherwise) and whether the COMMIT was sent, so that RunTx
// can tell a lost answer from a lost transaction.
func (p *Pool) runTxOnce(ctx context.Context, fn func(pgx.Tx) error) (run *txRun, committing bool, err error) {
	tx, err := p.Begin(ctx)
	if err != nil {
		return nil, false, err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return nil, false, p.translate(err)
	}
	var xid *uint64
	var server string
	if err := tx.QueryRow(ctx, "SELECT txid_current_if_assigned(), "+serverIncarnation).Scan(&xid, &server); err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return nil, false, p.translate(err)
	}
	if xid != nil {
		run = &txRun{xid: *xid, server: server}
	}
	if err := p.translate(tx.Commit(ctx)); err != nil {
		return run, true, err
	}
	if run != nil {
		p.commitSeen(run)
	}
	return run, true, nil
}

// withAuthRetry runs op and, when the server refused the credentials (as
// after a secret rotation), asks the credentials to refresh and runs op
// once more. A refused login means the statement never ran.
func (p *Pool) withAuthRetry(ctx context.Context, op func() error) error {
	err := op()
	if isAuthFailure(err) {
		p.c.cfg.creds.authFailed()
		p.c.cfg.logger.Info("aurora: authentication failed; refreshing credentials", "cluster", p.c.id)
		err = op()
	}
	return err
}

func isAuthFailure(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "28P01" || pgErr.Code == "28000")
}

// translate turns a lost-connection error into a *ConnectionLostError and,
// on the writer pool, starts the search for the new writer.
func (p *Pool) translate(err error) error {
	if err == nil || !isConnectionLoss(err) {
		return err
	}
	target := p.Target()
	if p.role == writerRole {
		p.startWriterSearch()
	}
	return &ConnectionLostError{Instance: target, Err: err}
}

// isConnectionLoss reports whether err means the connection or the server
// went away (or a writer turned reader), as opposed to an error in the
// statement itself.
func isConnectionLoss(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	// A certificate the client does not trust is a configuration problem,
	// not a failover.
	var verifyErr *tls.CertificateVerificationError
	if errors.As(err, &verifyErr) {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == "25006", // read_only_sql_transaction: we reached a reader
			pgErr.Code == "57P01", pgErr.Code == "57P02", pgErr.Code == "57P03", // shutdowns
			len(pgErr.Code) == 5 && pgErr.Code[:2] == "08": // connection exception
			return true
		}
		return false
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connectErr) || errors.As(err, &netErr) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		pgconn.SafeToRetry(err) || errors.Is(err, pgconn.ErrConnClosed)
}

type translatedRows struct {
	pgx.Rows
	p *Pool
}

func (r *translatedRows) Err() error { return r.p.translate(r.Rows.Err()) }

type row struct {
	rows pgx.Rows
	err  error
}

func (r *row) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return pgx.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	r.rows.Close()
	return r.rows.Err()
}
