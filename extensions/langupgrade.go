package extensions

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgaurora/pgaurora"
)

// UpgradeStep names a step of UpgradeLanguages, reported to
// LanguageUpgradeOptions.Progress after it is done.
type UpgradeStep string

// The steps, in order. They all run inside the one transaction.
const (
	// StepBackupWritten: the plan is made and the backup is complete in
	// the caller's writer; the database is untouched.
	StepBackupWritten UpgradeStep = "backup-written"
	// StepDropped: DROP EXTENSION ... CASCADE ran.
	StepDropped UpgradeStep = "dropped"
	// StepCreated: CREATE EXTENSION ... VERSION ran for every extension,
	// and the languages have their owners, grants and comments back.
	StepCreated UpgradeStep = "created"
	// StepFunctions: every function is recreated with owner, grants and
	// comment.
	StepFunctions UpgradeStep = "functions"
	// StepTriggers: every column default calling the functions and every
	// dependent trigger is recreated.
	StepTriggers UpgradeStep = "triggers"
	// StepVerified: the catalog matches the plan; COMMIT comes next.
	StepVerified UpgradeStep = "verified"
)

// LanguageUpgradeResult reports a finished UpgradeLanguages.
type LanguageUpgradeResult struct {
	// Plan is the plan the upgrade carried out.
	Plan *LanguagePlan
	// Upgraded lists the extensions dropped and created again, with their
	// versions before and after.
	Upgraded []VersionChange
	// Functions and Triggers count the objects recreated.
	Functions, Triggers int
	// Statements counts the statements the recreation ran.
	Statements int
	// Warnings are things the upgrade could not keep exactly (an extension
	// owner the upgrading role cannot act as: the extension then belongs
	// to the upgrading role).
	Warnings []string
	// Elapsed is the time the whole upgrade took, backup included.
	Elapsed time.Duration
}

// VersionChange is an extension's version before and after an upgrade.
type VersionChange struct {
	// Name is the extension; From and To its versions.
	Name, From, To string
}

// UpgradeError reports a failed UpgradeLanguages after its transaction
// started: the step that failed and whether the transaction rolled back.
type UpgradeError struct {
	// Step is the step that failed: the one that would have come after
	// the last step reported to Progress.
	Step UpgradeStep
	// RolledBack says the database is as it was before the upgrade: the
	// transaction was rolled back, or the session ended before COMMIT
	// (which makes the server roll it back).
	RolledBack bool
	// CommitUnknown is set when the connection failed during COMMIT: the
	// outcome is unknown. Compare SnapshotLanguages with the plan, and use
	// RestoreLanguageBackup if functions are missing.
	CommitUnknown bool
	// Err is the cause.
	Err error
}

// Error says which step failed and what state the database is in.
func (e *UpgradeError) Error() string {
	state := "the transaction rolled back: the database is unchanged"
	switch {
	case e.CommitUnknown:
		state = "the connection failed during COMMIT, so the outcome is unknown: compare SnapshotLanguages with the plan and restore from the backup if anything is missing"
	case !e.RolledBack:
		state = "the transaction could not be rolled back cleanly; the server rolls it back when the session ends"
	}
	return fmt.Sprintf("extensions: language upgrade failed at step %q (%s): %v", e.Step, state, e.Err)
}

// Unwrap returns the cause.
func (e *UpgradeError) Unwrap() error { return e.Err }

// ErrVerification is matched (errors.Is) by *VerificationError.
var ErrVerification = errors.New("extensions: the catalog does not match the plan")

// VerificationError reports differences between the plan's snapshot and
// the catalog: before the drop (the database changed since the backup was
// written) or after the recreation (something did not come back as it
// was).
type VerificationError struct {
	// When is "before drop" or "after recreation".
	When string
	// Differences lists what differs, one line each.
	Differences []string
}

// Error lists up to ten differences.
func (e *VerificationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "extensions: verification %s found %d difference(s): ", e.When, len(e.Differences))
	for i, d := range e.Differences {
		if i == 10 {
			fmt.Fprintf(&b, "; and %d more", len(e.Differences)-10)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(d)
	}
	return b.String()
}

// Is matches ErrVerification.
func (e *VerificationError) Is(target error) bool { return target == ErrVerification }

// UpgradeLanguages upgrades a set of procedural-language extensions (by
// default plv8, plcoffee and plls) the way AWS documents for PLV8 — drop
// the extensions with CASCADE, create them at the new version, restore the
// functions — but without losing anything and atomically. In one
// transaction it:
//
//  1. plans (as PlanLanguageUpgrade does) and refuses, before changing
//     anything, when the cascade would drop objects it cannot recreate
//     (*DependentsError);
//  2. writes a complete backup to backup: every function
//     definition (pg_get_functiondef), owner, grant and comment, every
//     dependent trigger (pg_get_triggerdef) with its enabled state and
//     comment, and the languages' owners, grants and comments, as a SQL
//     script that RestoreLanguageBackup (or psql -1) can replay (to have
//     it on disk before anything is dropped, pass an *os.File and Sync it
//     in Progress at StepBackupWritten);
//  3. runs DROP EXTENSION ... CASCADE, CREATE EXTENSION ... VERSION for
//     each extension (as the original extension owner where it can),
//     recreates every function in dependency order with ALTER ... OWNER,
//     COMMENT and REVOKE/GRANT reproducing each ACL exactly, then the
//     triggers;
//  4. takes the snapshot again and compares it with the plan: counts,
//     definitions, owners, ACLs, comments, trigger states.
//
// Any error or difference rolls everything back (*UpgradeError wrapping
// the cause; *VerificationError for differences). Function bodies are not
// re-validated (check_function_bodies is off, as pg_restore does): they
// were valid when created. Extensions not installed are skipped; when
// nothing needs upgrading, nothing is written and the result lists no
// upgrades. The role running it must be able to create the extensions and
// to act as every owner and grantor (a superuser, or on RDS an
// rds_superuser that is a member of those roles). When db is a pgx.Tx the
// upgrade runs in a savepoint and the caller's COMMIT makes it final.
//
// Objects other sessions create in the languages while the upgrade runs,
// between its snapshot and its DROP, would be dropped without being in the
// backup: run it when no DDL is going on, as any DROP EXTENSION.
func UpgradeLanguages(ctx context.Context, db pgaurora.Querier, backup io.Writer, opts *LanguageUpgradeOptions) (res *LanguageUpgradeResult, err error) {
	start := time.Now()
	if backup == nil {
		return nil, invalidf("backup writer is nil; UpgradeLanguages always writes a backup first")
	}
	if err := opts.validate(); err != nil {
		return nil, err
	}
	current := StepBackupWritten
	tx, err := db.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("extensions: language upgrade: starting the transaction (nothing was changed): %w", err)
	}
	committed := false
	defer func() {
		if committed {
			return
		}
		rbErr := tx.Rollback(context.WithoutCancel(ctx))
		var ue *UpgradeError
		if errors.As(err, &ue) {
			// A rollback that fails because the session is gone still
			// leaves the database unchanged: the server rolls back.
			ue.RolledBack = rbErr == nil || tx.Conn().IsClosed() || isConnError(rbErr)
		}
	}()
	fail := func(e error) error { return &UpgradeError{Step: current, Err: e} }
	step := func(s UpgradeStep, pid uint32) error {
		if opts != nil {
			opts.Progress.Report(pgaurora.Event{Operation: "extensions.UpgradeLanguages", Step: string(s), Completed: true, Changed: s != StepVerified,
				Detail: fmt.Sprintf("in the transaction of backend %d", pid), Elapsed: time.Since(start)})
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("cancelled after step %s: %w", s, err)
		}
		return nil
	}

	lockTimeout := ""
	if opts != nil && opts.LockTimeout > 0 {
		lockTimeout = strconv.FormatInt(max(1, opts.LockTimeout.Milliseconds()), 10) + "ms"
	}
	ts, err := setTxSettings(ctx, tx, lockTimeout)
	if err != nil {
		return nil, fail(err)
	}
	pid, runner := ts.pid, ts.user

	// 1. Plan.
	p, err := plan(ctx, tx, opts)
	if err != nil {
		return nil, fail(fmt.Errorf("planning: %w", err))
	}
	res = &LanguageUpgradeResult{Plan: p}
	upgrading := p.Upgrading()
	if len(upgrading) == 0 {
		res.Elapsed = time.Since(start)
		return res, nil
	}
	if len(p.Dependents) > 0 {
		return nil, &DependentsError{Dependents: p.Dependents}
	}

	// 2. Backup.
	stmts, err := p.statements()
	if err != nil {
		return nil, fail(fmt.Errorf("rendering the recreation script: %w", err))
	}
	if err := writeBackup(backup, p, stmts); err != nil {
		return nil, fail(fmt.Errorf("writing the backup: %w", err))
	}
	if err := step(StepBackupWritten, pid); err != nil {
		return nil, fail(err)
	}

	// 3. Drop, create, recreate.
	current = StepDropped
	names := make([]string, len(upgrading))
	for i, n := range upgrading {
		if names[i], err = ident("extension", n); err != nil {
			return nil, fail(err)
		}
	}
	if _, err := tx.Exec(ctx, "DROP EXTENSION "+strings.Join(names, ", ")+" CASCADE"); err != nil {
		return nil, fail(fmt.Errorf("dropping %s: %w", strings.Join(upgrading, ", "), explain(err)))
	}
	if err := step(StepDropped, pid); err != nil {
		return nil, fail(err)
	}

	current = StepCreated
	planned := map[string]LanguageExtensionPlan{}
	for _, e := range p.Extensions {
		planned[e.Name] = e
	}
	for _, e := range p.Before.Extensions {
		ep := planned[e.Name]
		q, err := createSQL(e.Name, &CreateOptions{Schema: e.Schema, Version: ep.TargetVersion})
		if err != nil {
			return nil, fail(err)
		}
		creator := runner
		if e.Owner != runner {
			var can bool
			if err := tx.QueryRow(ctx, `SELECT pg_catalog.pg_has_role($1, 'MEMBER')`, e.Owner).Scan(&can); err != nil {
				return nil, fail(err)
			}
			if can {
				o, err := ident("owner", e.Owner)
				if err != nil {
					return nil, fail(err)
				}
				q = "SET LOCAL ROLE " + o + ";\n" + q + ";\nSET LOCAL ROLE " + quoteRole(runner)
				creator = e.Owner
			} else {
				res.Warnings = append(res.Warnings, fmt.Sprintf("extension %q was owned by %q, which %q cannot act as; it now belongs to %q", e.Name, e.Owner, runner, runner))
			}
		}
		if p.defaultACL {
			// The extension's own functions get the ACL its script gives
			// them, not the default privileges of the role running it.
			suspend, restore, err := suspendDefaultFunctionACLs(ctx, tx, creator)
			if err != nil {
				return nil, fail(err)
			}
			if len(suspend) > 0 {
				q = strings.Join(suspend, ";\n") + ";\n" + q + ";\n" + strings.Join(restore, ";\n")
			}
		}
		if _, err := tx.Exec(ctx, q); err != nil {
			return nil, fail(fmt.Errorf("creating extension %q version %q: %w", e.Name, ep.TargetVersion, explain(err)))
		}
		res.Upgraded = append(res.Upgraded, VersionChange{Name: e.Name, From: ep.InstalledVersion, To: ep.TargetVersion})
	}
	n, err := execSection(ctx, tx, stmts, sectionLanguage, runner)
	if err != nil {
		return nil, fail(err)
	}
	res.Statements += n
	if err := step(StepCreated, pid); err != nil {
		return nil, fail(err)
	}

	current = StepFunctions
	if n, err = execSection(ctx, tx, stmts, sectionFunction, runner); err != nil {
		return nil, fail(err)
	}
	res.Statements += n
	if err := step(StepFunctions, pid); err != nil {
		return nil, fail(err)
	}

	current = StepTriggers
	for _, sec := range []string{sectionDefault, sectionTrigger} {
		if n, err = execSection(ctx, tx, stmts, sec, runner); err != nil {
			return nil, fail(err)
		}
		res.Statements += n
	}
	if err := step(StepTriggers, pid); err != nil {
		return nil, fail(err)
	}

	// 4. Verify.
	current = StepVerified
	after, err := collect(ctx, tx, upgrading, false)
	if err != nil {
		return nil, fail(err)
	}
	if len(after.others) > 0 {
		return nil, fail(fmt.Errorf("after recreation, objects the upgrade does not manage depend on the extensions: %v", after.others))
	}
	if diffs := diffSnapshots(p.Before, after.snap, len(res.Warnings) == 0); len(diffs) > 0 {
		return nil, fail(&VerificationError{When: "after recreation", Differences: diffs})
	}
	if err := step(StepVerified, pid); err != nil {
		return nil, fail(err)
	}
	if err := ts.restore(ctx, tx); err != nil {
		return nil, fail(err)
	}
	committed = true // from here on, never roll back: the server decides
	if err := tx.Commit(ctx); err != nil {
		unknown := isConnError(err) || tx.Conn().IsClosed()
		return nil, &UpgradeError{Step: "commit", CommitUnknown: unknown, RolledBack: !unknown, Err: err}
	}
	res.Functions = len(p.Before.Functions)
	res.Triggers = len(p.Before.Triggers)
	res.Elapsed = time.Since(start)
	return res, nil
}

// txSettings are the transaction-local settings the language operations
// use, and the values they replaced.
type txSettings struct {
	pid  uint32
	user string
	old  [4]string
}

// setTxSettings makes the transaction schema-qualify every definition
// (search_path = pg_catalog, pg_temp), skip function body checks, stay
// quiet below WARNING and, when lockTimeout is set, bound lock waits. The
// settings are transaction-local; restore puts the previous values back
// before a commit, for callers whose transaction outlives ours (a pgx.Tx,
// where ours is a savepoint).
func setTxSettings(ctx context.Context, tx pgx.Tx, lockTimeout string) (*txSettings, error) {
	ts := &txSettings{}
	// One round trip: read the current values, then set ours (a
	// lock_timeout of '' keeps the current one).
	var b pgx.Batch
	b.Queue(`SELECT pg_catalog.pg_backend_pid(), current_user::text, current_setting('search_path'),
       current_setting('check_function_bodies'), current_setting('client_min_messages'), current_setting('lock_timeout')`).
		QueryRow(func(r pgx.Row) error {
			return r.Scan(&ts.pid, &ts.user, &ts.old[0], &ts.old[1], &ts.old[2], &ts.old[3])
		})
	b.Queue(`SELECT pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true),
       pg_catalog.set_config('check_function_bodies', 'off', true),
       pg_catalog.set_config('client_min_messages', 'warning', true),
       pg_catalog.set_config('lock_timeout', coalesce(nullif($1, ''), current_setting('lock_timeout')), true)`, lockTimeout)
	if err := tx.SendBatch(ctx, &b).Close(); err != nil {
		return nil, fmt.Errorf("setting up the transaction: %w", err)
	}
	return ts, nil
}

func (ts *txSettings) restore(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `SELECT pg_catalog.set_config('search_path', $1, true),
       pg_catalog.set_config('check_function_bodies', $2, true),
       pg_catalog.set_config('client_min_messages', $3, true),
       pg_catalog.set_config('lock_timeout', $4, true)`, ts.old[0], ts.old[1], ts.old[2], ts.old[3])
	if err != nil {
		return fmt.Errorf("restoring the session settings: %w", err)
	}
	return nil
}

// quoteRole quotes a role name read from the server (always valid).
func quoteRole(name string) string {
	q, err := ident("role", name)
	if err != nil {
		return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
	}
	return q
}

func isConnError(err error) bool {
	if err == nil {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// 57P01 admin_shutdown (pg_terminate_backend), 57P02, 57P03 and the
		// connection exception class 08.
		return strings.HasPrefix(pe.Code, "57P") || strings.HasPrefix(pe.Code, "08")
	}
	return pgconn.SafeToRetry(err) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		strings.Contains(err.Error(), "conn closed") || strings.Contains(err.Error(), "unexpected EOF")
}

// execSection runs the statements of one section, skipping ALTER ...
// OWNER TO the running role (a no-op), and returns how many ran.
func execSection(ctx context.Context, tx pgx.Tx, stmts []stmt, section, runner string) (int, error) {
	var sel []stmt
	for _, s := range stmts {
		if s.Section == section && !s.backupOnly && (s.owner == "" || s.owner != runner) {
			sel = append(sel, s)
		}
	}
	return len(sel), execPipelined(ctx, tx, sel)
}

// execPipelined runs statements as multi-statement simple queries of up to
// a few hundred statements each (one round trip per chunk) and, on error,
// names the statement that failed: the server returns one result per
// statement, so the failing one is the first without a clean result.
func execPipelined(ctx context.Context, tx pgx.Tx, sel []stmt) error {
	const chunkBytes = 256 << 10
	conn := tx.Conn().PgConn()
	for len(sel) > 0 {
		n, size := 0, 0
		for n < len(sel) && (n == 0 || size+len(sel[n].SQL) < chunkBytes) {
			size += len(sel[n].SQL) + 2
			n++
		}
		var b strings.Builder
		b.Grow(size)
		for _, s := range sel[:n] {
			b.WriteString(s.SQL)
			b.WriteString(";\n")
		}
		mrr := conn.Exec(ctx, b.String())
		i := 0
		var firstErr error
		for mrr.NextResult() {
			if _, err := mrr.ResultReader().Close(); err != nil && firstErr == nil {
				firstErr = stmtError(sel, min(i, n-1), err)
			}
			i++
		}
		if err := mrr.Close(); err != nil && firstErr == nil {
			firstErr = stmtError(sel, min(i, n-1), err)
		}
		if firstErr != nil {
			return firstErr
		}
		sel = sel[n:]
	}
	return nil
}

func stmtError(sel []stmt, i int, err error) error {
	s := sel[i]
	what := s.Section
	if s.Key != "" {
		what += " " + strconv.Quote(s.Key)
	}
	return fmt.Errorf("%s: %s: %w", what, firstLine(s.SQL), explain(err))
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i] + " ..."
	}
	if len(s) > 160 {
		s = s[:160] + "..."
	}
	return s
}

// SnapshotLanguages takes the LanguageSnapshot of the named installed
// extensions now: what an upgrade of them would drop and recreate. Compare
// it with a plan's Before (or an earlier snapshot) to see what changed.
func SnapshotLanguages(ctx context.Context, db pgaurora.Querier, exts []string) (*LanguageSnapshot, error) {
	for i, e := range exts {
		if _, err := ident(fmt.Sprintf("extension %d", i), e); err != nil {
			return nil, err
		}
	}
	tx, err := db.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("extensions: snapshot: starting a transaction: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, `SELECT pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true)`); err != nil {
		return nil, fmt.Errorf("extensions: snapshot: %w", err)
	}
	c, err := collect(ctx, tx, exts, false)
	if err != nil {
		return nil, fmt.Errorf("extensions: snapshot: %w", err)
	}
	return &c.snap, nil
}

// Equal reports whether two snapshots describe the same objects.
func (s LanguageSnapshot) Equal(o LanguageSnapshot) bool { return len(diffSnapshots(s, o, true)) == 0 }

// Diff lists the differences from s to o, one line each; nil when equal.
func (s LanguageSnapshot) Diff(o LanguageSnapshot) []string { return diffSnapshots(s, o, true) }

func diffSnapshots(want, got LanguageSnapshot, extOwners bool) []string {
	var out []string
	{
		w := map[string]ExtensionState{}
		for _, e := range want.Extensions {
			w[e.Name] = e
		}
		g := map[string]ExtensionState{}
		for _, e := range got.Extensions {
			g[e.Name] = e
			if x, ok := w[e.Name]; !ok {
				out = append(out, fmt.Sprintf("extension %q is new", e.Name))
			} else {
				if x.Schema != e.Schema {
					out = append(out, fmt.Sprintf("extension %q: schema %q, was %q", e.Name, e.Schema, x.Schema))
				}
				if extOwners && x.Owner != e.Owner {
					out = append(out, fmt.Sprintf("extension %q: owner %q, was %q", e.Name, e.Owner, x.Owner))
				}
			}
		}
		for _, e := range want.Extensions {
			if _, ok := g[e.Name]; !ok {
				out = append(out, fmt.Sprintf("extension %q is missing", e.Name))
			}
		}
	}
	out = append(out, diffKeyed(want.Languages, got.Languages, "language", func(l LanguageState) string { return l.Name },
		func(d []string, a, b LanguageState) []string {
			d = differ(d, "owner", a.Owner, b.Owner)
			d = differList(d, "privileges", a.ACL, b.ACL)
			return differ(d, "comment", a.Comment, b.Comment)
		})...)
	out = append(out, diffKeyed(want.Functions, got.Functions, "function", FunctionState.Key,
		func(d []string, a, b FunctionState) []string {
			if a.Definition != b.Definition {
				d = append(d, "definition differs")
			}
			d = differ(d, "language", a.Language, b.Language)
			d = differ(d, "kind", a.Kind, b.Kind)
			d = differ(d, "owner", a.Owner, b.Owner)
			d = differList(d, "privileges", a.ACL, b.ACL)
			d = differ(d, "comment", a.Comment, b.Comment)
			return differList(d, "extension dependencies", a.DependsOnExtensions, b.DependsOnExtensions)
		})...)
	out = append(out, diffKeyed(want.Defaults, got.Defaults, "column default", ColumnDefaultState.Key,
		func(d []string, a, b ColumnDefaultState) []string {
			return differ(d, "expression", a.Expression, b.Expression)
		})...)
	out = append(out, diffKeyed(want.Triggers, got.Triggers, "trigger", TriggerState.Key,
		func(d []string, a, b TriggerState) []string {
			d = differ(d, "definition", a.Definition, b.Definition)
			d = differ(d, "enabled", a.Enabled, b.Enabled)
			d = differ(d, "comment", a.Comment, b.Comment)
			d = differ(d, "cloned", a.Cloned, b.Cloned)
			return differList(d, "extension dependencies", a.DependsOnExtensions, b.DependsOnExtensions)
		})...)
	return out
}

// differ appends "what new, was old" when the values differ, formatting
// (and allocating) only then: strings quoted, booleans bare.
func differ[T string | bool](d []string, what string, old, new T) []string {
	if old != new {
		d = append(d, fmt.Sprintf("%s %#v, was %#v", what, new, old))
	}
	return d
}

// differList appends "what new, were old" when the lists differ.
func differList(d []string, what string, old, new []string) []string {
	if !equalStrings(old, new) {
		d = append(d, fmt.Sprintf("%s %v, were %v", what, new, old))
	}
	return d
}

// diffKeyed compares two lists of objects matched by key: cmp appends
// the differences of one pair (nothing, and no allocation, when equal).
// Each key is computed once.
func diffKeyed[T any](want, got []T, kind string, key func(T) string, cmp func(d []string, a, b T) []string) []string {
	var out []string
	wantAt := make(map[string]int, len(want))
	for i, x := range want {
		wantAt[key(x)] = i
	}
	seen := make([]bool, len(want))
	var d []string
	for _, y := range got {
		k := key(y)
		i, ok := wantAt[k]
		if !ok {
			out = append(out, fmt.Sprintf("%s %s is new", kind, k))
			continue
		}
		seen[i] = true
		d = cmp(d[:0], want[i], y)
		for _, x := range d {
			out = append(out, kind+" "+k+": "+x)
		}
	}
	for i, x := range want {
		if !seen[i] {
			out = append(out, fmt.Sprintf("%s %s is missing", kind, key(x)))
		}
	}
	return out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
