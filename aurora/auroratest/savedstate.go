package auroratest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/internal/sqlquote"
	"github.com/pgaurora/pgaurora/internal/wait"
)

// Saved states. A test suite that wants a clean cluster for every test
// need not make one per test: it saves the cluster's state once, after
// its schema and fixtures are in place (SaveState), and puts it back
// before each test (ResetState), in the same cluster with the same
// endpoints, while the servers keep running.
//
// The state is SQL's, and a database is its unit. SaveState copies each
// database it saves into a database of the cluster's own (named
// auroratest_saved_G_N, G the save's number and N the database's, with
// connections not allowed), and ResetState drops
// the database and creates it again from its copy (CREATE DATABASE ...
// TEMPLATE), with the owner, privileges and connection limit it had;
// readers replay that like any other change, and ResetState returns once
// every available reader has. Databases and roles that did not exist at
// the save are dropped. Not put back: databases that exist but were not
// saved, the attributes, passwords and memberships of roles that existed,
// replication slots and subscriptions in reset databases (dropped with
// them), template1, and everything the RDS API keeps (parameter groups,
// instances, tags, snapshots).

// savedState is what SaveState recorded of a cluster.
type savedState struct {
	gen       int // the save's number in the cluster, in its copies' names
	dbs       []savedDB
	databases map[string]bool // every database at the save, saved or not
	roles     map[string]bool // every role at the save
}

// savedDB is one saved database.
type savedDB struct {
	name, copy string
	owner      string
	acl        *string // datacl as text; nil means the default privileges
	connLimit  int
}

// savedPrefix starts the names of the databases that hold saved copies.
const savedPrefix = "auroratest_saved_"

// userDatabasesSQL lists the databases SaveState may save, by name:
// neither the templates nor the saved copies. rolesSQL lists the roles.
const (
	userDatabasesSQL = `SELECT datname FROM pg_catalog.pg_database WHERE NOT datistemplate AND NOT starts_with(datname, '` + savedPrefix + `') ORDER BY datname`
	rolesSQL         = "SELECT rolname FROM pg_catalog.pg_roles ORDER BY rolname"
)

// column runs a query of one text column and returns its values.
func column(ctx context.Context, conn *pgx.Conn, sql string, args ...any) ([]string, error) {
	rows, err := conn.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// SaveState saves the state of a cluster's databases, so that ResetState
// can put it back (see "Saved states" in the package docs): the named
// databases, or every database but the templates when none is named, and
// which databases and roles exist. Name only the databases tests change:
// resetting each costs a few tens of milliseconds. Sessions on a database
// being saved are ended while it is copied. A later SaveState replaces
// the saved state.
func (e *Emulator) SaveState(ctx context.Context, clusterID string, databases ...string) error {
	c, unlock, conn, err := e.stateSession(ctx, clusterID)
	if err != nil {
		return fmt.Errorf("auroratest: SaveState %s: %w", clusterID, err)
	}
	defer unlock()
	defer conn.Close(context.WithoutCancel(ctx))
	st := e.lock()
	gen := 1
	if c.saved != nil {
		gen = c.saved.gen + 1
	}
	st.unlock()
	saved, err := saveState(ctx, conn, databases, gen)
	if err != nil {
		return fmt.Errorf("auroratest: SaveState %s: %w", clusterID, err)
	}
	st = e.lock()
	c.saved = saved
	st.unlock()
	return nil
}

// ResetState puts back the state SaveState saved for a cluster (see
// "Saved states" in the package docs): each saved database is made again
// from its copy, and databases and roles made since the save are dropped.
// Sessions on those databases are ended, on the writer and the readers.
// It returns once every available reader has replayed the reset.
func (e *Emulator) ResetState(ctx context.Context, clusterID string) error {
	c, unlock, conn, err := e.stateSession(ctx, clusterID)
	if err != nil {
		return fmt.Errorf("auroratest: ResetState %s: %w", clusterID, err)
	}
	defer unlock()
	defer conn.Close(context.WithoutCancel(ctx))
	st := e.lock()
	saved := c.saved
	var readers []*instance
	lags := map[*instance]time.Duration{}
	for _, in := range c.readers() {
		if in.status == statusAvailable && in.server != nil {
			readers = append(readers, in)
			lags[in] = in.lag
		}
	}
	st.unlock()
	if saved == nil {
		return fmt.Errorf("auroratest: ResetState %s: no saved state (call SaveState first)", clusterID)
	}
	if err := resetState(ctx, conn, saved); err != nil {
		return fmt.Errorf("auroratest: ResetState %s: %w", clusterID, err)
	}
	// One more commit that writes WAL (a transactional logical message,
	// which changes nothing) puts a record after the reset's last one and
	// flushes it: a reader whose replay has passed the position read
	// before it has replayed the whole reset.
	var lsn string
	if err := conn.QueryRow(ctx, "SELECT pg_current_wal_insert_lsn()::text").Scan(&lsn); err != nil {
		return fmt.Errorf("auroratest: ResetState %s: %w", clusterID, err)
	}
	if _, err := conn.Exec(ctx, "SELECT pg_catalog.pg_logical_emit_message(true, 'auroratest', 'reset')"); err != nil {
		return fmt.Errorf("auroratest: ResetState %s: %w", clusterID, err)
	}
	for _, in := range readers {
		// A reader that SetReplicaLag holds back replays the reset
		// that much later.
		if err := waitReplayed(ctx, in.server, lsn, 30*time.Second+lags[in]); err != nil {
			return fmt.Errorf("auroratest: ResetState %s: reader %s: %w", clusterID, in.id, err)
		}
	}
	return nil
}

// stateSession locks an available cluster's members against other
// operations (failovers, reboots) and opens a superuser session on its
// writer, in template1: a database neither call copies or drops.
func (e *Emulator) stateSession(ctx context.Context, clusterID string) (*cluster, func(), *pgx.Conn, error) {
	st := e.lock()
	c, err := st.availableCluster(e, clusterID)
	st.unlock()
	if err != nil {
		return nil, nil, nil, err
	}
	unlock := e.lockMembers(c)
	st = e.lock()
	w := c.writer()
	var ok bool
	if w != nil {
		ok = w.status == statusAvailable && w.server != nil
	}
	st.unlock()
	if !ok {
		unlock()
		return nil, nil, nil, errors.New("the cluster has no available writer")
	}
	conn, err := w.server.Connect(ctx, "template1")
	if err != nil {
		unlock()
		return nil, nil, nil, err
	}
	return c, unlock, conn, nil
}

// saveState copies the databases into copies of generation gen, then
// drops the copies of earlier saves. A save that fails drops the copies
// it made and leaves the earlier ones, which the earlier saved state
// names, as they were.
func saveState(ctx context.Context, conn *pgx.Conn, names []string, gen int) (_ *savedState, err error) {
	saved := &savedState{gen: gen, databases: map[string]bool{}, roles: map[string]bool{}}
	all, err := column(ctx, conn, userDatabasesSQL)
	if err != nil {
		return nil, fmt.Errorf("listing the databases: %w", err)
	}
	for _, db := range all {
		saved.databases[db] = true
	}
	if len(names) == 0 {
		names = all
	}
	for _, db := range names {
		if !saved.databases[db] {
			return nil, fmt.Errorf("no database %q to save (there are %s)", db, strings.Join(all, ", "))
		}
	}
	roles, err := column(ctx, conn, rolesSQL)
	if err != nil {
		return nil, fmt.Errorf("listing the roles: %w", err)
	}
	for _, r := range roles {
		saved.roles[r] = true
	}

	prefix := savedPrefix + strconv.Itoa(gen) + "_"
	defer func() {
		if err != nil {
			_ = dropCopies(context.WithoutCancel(ctx), conn, func(db string) bool { return strings.HasPrefix(db, prefix) })
		}
	}()
	for i, db := range names {
		d := savedDB{name: db, copy: prefix + strconv.Itoa(i)}
		if err := conn.QueryRow(ctx, `SELECT pg_catalog.pg_get_userbyid(datdba), datacl::text, datconnlimit FROM pg_catalog.pg_database WHERE datname = $1`, db).
			Scan(&d.owner, &d.acl, &d.connLimit); err != nil {
			return nil, fmt.Errorf("reading database %s: %w", db, err)
		}
		if err := copyDatabase(ctx, conn, db, d.copy); err != nil {
			return nil, err
		}
		saved.dbs = append(saved.dbs, d)
		if afterCopy != nil {
			if err := afterCopy(i); err != nil {
				return nil, err
			}
		}
	}
	// Every copy is made: the earlier saves' go.
	if err := dropCopies(ctx, conn, func(db string) bool { return !strings.HasPrefix(db, prefix) }); err != nil {
		return nil, err
	}
	return saved, nil
}

// copyDatabase makes dst a copy of src that nobody can connect to. No
// session may be on src while it is copied: connections to it are
// refused and the sessions on it ended meanwhile.
func copyDatabase(ctx context.Context, conn *pgx.Conn, src, dst string) (err error) {
	from, err := sqlquote.Ident(src)
	if err != nil {
		return err
	}
	to := sqlquote.MustIdent(dst)
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+from+" ALLOW_CONNECTIONS false"); err != nil {
		return fmt.Errorf("saving database %s: %w", src, err)
	}
	defer func() {
		if _, aerr := conn.Exec(context.WithoutCancel(ctx), "ALTER DATABASE "+from+" ALLOW_CONNECTIONS true"); aerr != nil && err == nil {
			err = fmt.Errorf("saving database %s: allowing connections again: %w", src, aerr)
		}
	}()
	if _, err := conn.Exec(ctx, "SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity WHERE datname = $1 AND pid <> pg_catalog.pg_backend_pid()", src); err != nil {
		return fmt.Errorf("saving database %s: ending its sessions: %w", src, err)
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+to+" TEMPLATE "+from+" STRATEGY FILE_COPY"); err != nil {
		return fmt.Errorf("saving database %s: %w", src, err)
	}
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+to+" ALLOW_CONNECTIONS false"); err != nil {
		return fmt.Errorf("saving database %s: %w", src, err)
	}
	return nil
}

// afterCopy, when set (by the package's tests), runs after each copy a
// save makes; an error fails the save there.
var afterCopy func(i int) error

// dropCopies drops the saved copies whose names match.
func dropCopies(ctx context.Context, conn *pgx.Conn, match func(db string) bool) error {
	copies, err := column(ctx, conn, `SELECT datname FROM pg_catalog.pg_database WHERE starts_with(datname, $1)`, savedPrefix)
	if err != nil {
		return fmt.Errorf("listing the saved copies: %w", err)
	}
	for _, db := range copies {
		if !match(db) {
			continue
		}
		if _, err := conn.Exec(ctx, "DROP DATABASE "+sqlquote.MustIdent(db)); err != nil {
			return fmt.Errorf("dropping the saved copy %s: %w", db, err)
		}
	}
	return nil
}

func resetState(ctx context.Context, conn *pgx.Conn, saved *savedState) error {
	now, err := column(ctx, conn, userDatabasesSQL)
	if err != nil {
		return fmt.Errorf("listing the databases: %w", err)
	}
	reset := map[string]bool{}
	for _, d := range saved.dbs {
		reset[d.name] = true
	}
	for _, db := range now {
		if !reset[db] && saved.databases[db] {
			continue // not saved: kept as it is
		}
		if err := dropDatabase(ctx, conn, db); err != nil {
			return err
		}
	}
	for _, d := range saved.dbs {
		name, err := sqlquote.Ident(d.name)
		if err != nil {
			return err
		}
		owner, err := sqlquote.Ident(d.owner)
		if err != nil {
			return err
		}
		stmt := "CREATE DATABASE " + name + " TEMPLATE " + sqlquote.MustIdent(d.copy) +
			" OWNER " + owner + " CONNECTION LIMIT " + strconv.Itoa(d.connLimit) + " STRATEGY FILE_COPY"
		if _, err := conn.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("making database %s again: %w", d.name, err)
		}
		if d.acl != nil {
			if _, err := conn.Exec(ctx, "UPDATE pg_catalog.pg_database SET datacl = $1::aclitem[] WHERE datname = $2", *d.acl, d.name); err != nil {
				return fmt.Errorf("making database %s again: its privileges: %w", d.name, err)
			}
		}
	}
	roles, err := column(ctx, conn, rolesSQL)
	if err != nil {
		return fmt.Errorf("listing the roles: %w", err)
	}
	for _, r := range roles {
		if saved.roles[r] {
			continue
		}
		role, err := sqlquote.Ident(r)
		if err != nil {
			return err
		}
		if _, err := conn.Exec(ctx, "DROP ROLE "+role); err != nil {
			return fmt.Errorf("dropping role %s, made since the save: %w", r, err)
		}
	}
	return nil
}

// dropDatabase drops a database with what stops DROP DATABASE: its
// sessions, its logical replication slots and its subscriptions.
func dropDatabase(ctx context.Context, conn *pgx.Conn, db string) error {
	var subs int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_catalog.pg_subscription s JOIN pg_catalog.pg_database d ON d.oid = s.subdbid WHERE d.datname = $1", db).Scan(&subs); err != nil {
		return fmt.Errorf("dropping database %s: %w", db, err)
	}
	if subs > 0 {
		if err := dropSubscriptions(ctx, conn, db); err != nil {
			return fmt.Errorf("dropping database %s: its subscriptions: %w", db, err)
		}
	}
	ident, err := sqlquote.Ident(db)
	if err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+ident+" ALLOW_CONNECTIONS false"); err != nil {
		return fmt.Errorf("dropping database %s: %w", db, err)
	}
	// A slot's walsender ends with its session; the slot is free a
	// moment later.
	if _, err := conn.Exec(ctx, `SELECT pg_catalog.pg_terminate_backend(active_pid) FROM pg_catalog.pg_replication_slots WHERE database = $1 AND active_pid IS NOT NULL`, db); err != nil {
		return fmt.Errorf("dropping database %s: ending its slots' sessions: %w", db, err)
	}
	var last error
	err = wait.Until(ctx, pgaurora.Wait{MaxWait: 10 * time.Second}, pollServer, func(ctx context.Context) (bool, error) {
		_, last = conn.Exec(ctx, `SELECT pg_catalog.pg_drop_replication_slot(slot_name) FROM pg_catalog.pg_replication_slots WHERE database = $1`, db)
		return last == nil, nil
	})
	if err != nil {
		return fmt.Errorf("dropping database %s: its replication slots: %w (last: %v)", db, err, last)
	}
	if _, err := conn.Exec(ctx, "DROP DATABASE "+ident+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("dropping database %s: %w", db, err)
	}
	return nil
}

// dropSubscriptions drops the subscriptions of a database, leaving their
// publishers' slots alone (as a dropped database would have).
func dropSubscriptions(ctx context.Context, conn *pgx.Conn, db string) error {
	cfg := conn.Config().Copy()
	cfg.Database = db
	sc, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer sc.Close(context.WithoutCancel(ctx))
	subs, err := column(ctx, sc, "SELECT subname FROM pg_catalog.pg_subscription WHERE subdbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())")
	if err != nil {
		return err
	}
	for _, s := range subs {
		id, err := sqlquote.Ident(s)
		if err != nil {
			return err
		}
		for _, stmt := range []string{"ALTER SUBSCRIPTION " + id + " DISABLE", "ALTER SUBSCRIPTION " + id + " SET (slot_name = NONE)", "DROP SUBSCRIPTION " + id} {
			if _, err := sc.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("%s: %w", stmt, err)
			}
		}
	}
	return nil
}
