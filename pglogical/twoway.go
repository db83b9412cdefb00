package pglogical

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/internal/sqlquote"
	"github.com/pgaurora/pgaurora/internal/wait"
	"github.com/pgaurora/pgaurora/params"
)

// Peer is one side of a two-way replication.
type Peer struct {
	// Client is connected to the peer's database.
	Client *Client
	// Node is the peer's node name; the node is created when the
	// database has none.
	Node string
	// DSN is how the other peer connects to this one (the provider DSN of
	// the other side's subscription, and this node's interface).
	DSN pgaurora.ConnString
}

// TwoWayOptions tune SetupTwoWay.
type TwoWayOptions struct {
	// ConflictResolution is how each side resolves a conflicting change
	// from the other; required. The timestamp-based ones need
	// track_commit_timestamp on both servers, which is checked first.
	ConflictResolution ConflictResolution
	// SetResolutionOnDatabase also runs ALTER DATABASE ... SET
	// pglogical.conflict_resolution on both databases, so the apply
	// workers use it without a parameter-group change. This needs a role
	// allowed to set it (a superuser); on Aurora and RDS apply
	// TwoWay.Changes to the parameter groups instead.
	SetResolutionOnDatabase bool
	// Schemas are the schemas whose tables are added to the default
	// replication set on both sides; empty means public.
	Schemas []string
	// ReplicationSets are the sets each side subscribes to; empty means
	// DefaultReplicationSets. DefaultInsertOnlySet is added when missing,
	// because the probe table lives there.
	ReplicationSets []string
	// SynchronizeDataFromA copies A's existing rows to B when B
	// subscribes (an initial load one way). The reverse subscription
	// never copies data.
	SynchronizeDataFromA bool
	// ProbeSchema is the schema of the probe table Check writes to; empty
	// means "pglogical_probe". The schema and table are created on both
	// sides when missing.
	ProbeSchema string
	// Wait tunes the waits for the two initial syncs.
	Wait *WaitOptions
}

// TwoWay is a two-way replication between two peers, as SetupTwoWay made
// it.
type TwoWay struct {
	// A and B are the peers.
	A, B Peer
	// SubscriptionOnB is B's subscription to A; SubscriptionOnA is A's
	// subscription to B.
	SubscriptionOnA, SubscriptionOnB string
	// Probe is the probe table.
	Probe Table
	// Changes are the parameter-group changes the conflict resolution
	// needs on both clusters (pglogical.conflict_resolution, and
	// track_commit_timestamp when required).
	Changes []params.Change
	// Steps are the steps SetupTwoWay took.
	Steps []string
}

const probeTable = "two_way_probe"

// TwoWaySubscriptionName is the name SetupTwoWay gives the subscription on
// node local to node remote: "<local>_from_<remote>".
func TwoWaySubscriptionName(local, remote string) string { return local + "_from_" + remote }

// SetupTwoWay makes two databases replicate to each other with pglogical:
// each side gets a node (unless it has one), the tables of opts.Schemas in
// its default replication set, and a subscription to the other side with
// forward_origins '{}' (ForwardNone), so a change made on one side is
// applied on the other once and not sent back. It waits for both
// subscriptions' initial syncs. Inputs are checked before anything
// changes; what exists already is kept, so it can be run again. A failure
// part way returns a *StepError listing the steps taken.
func SetupTwoWay(ctx context.Context, a, b Peer, opts *TwoWayOptions) (TwoWay, error) {
	var o TwoWayOptions
	if opts != nil {
		o = *opts
	}
	tw := TwoWay{A: a, B: b}
	for _, p := range []struct {
		label string
		peer  Peer
	}{{"A", a}, {"B", b}} {
		if p.peer.Client == nil {
			return tw, invalid("peer %s: Client is nil", p.label)
		}
		if err := checkName("peer "+p.label+" node name", p.peer.Node); err != nil {
			return tw, err
		}
		if p.peer.DSN.IsZero() {
			return tw, invalid("peer %s: DSN is empty", p.label)
		}
	}
	if a.Node == b.Node {
		return tw, invalid("peers A and B have the same node name %q; each side needs its own", a.Node)
	}
	if o.ConflictResolution == "" {
		return tw, invalid("TwoWayOptions.ConflictResolution is empty; allowed values are %s", joinStrings(conflictResolutions))
	}
	if err := o.ConflictResolution.Validate(); err != nil {
		return tw, err
	}
	if len(o.Schemas) == 0 {
		o.Schemas = []string{"public"}
	}
	if err := checkNames("TwoWayOptions.Schemas", o.Schemas); err != nil {
		return tw, err
	}
	sets := slices.Clone(o.ReplicationSets)
	if len(sets) == 0 {
		sets = slices.Clone(DefaultReplicationSets)
	}
	if !slices.Contains(sets, DefaultInsertOnlySet) {
		sets = append(sets, DefaultInsertOnlySet)
	}
	if err := checkNames("TwoWayOptions.ReplicationSets", sets); err != nil {
		return tw, err
	}
	if o.ProbeSchema == "" {
		o.ProbeSchema = "pglogical_probe"
	}
	if err := checkName("TwoWayOptions.ProbeSchema", o.ProbeSchema); err != nil {
		return tw, err
	}
	if slices.Contains(o.Schemas, o.ProbeSchema) {
		return tw, invalid("TwoWayOptions.Schemas holds the probe schema %q; its table has no primary key and cannot be in the default set", o.ProbeSchema)
	}
	tw.Probe = Table{Schema: o.ProbeSchema, Name: probeTable}
	tw.SubscriptionOnA = TwoWaySubscriptionName(a.Node, b.Node)
	tw.SubscriptionOnB = TwoWaySubscriptionName(b.Node, a.Node)
	for _, n := range []string{tw.SubscriptionOnA, tw.SubscriptionOnB} {
		if err := checkName("two-way subscription name (from the node names)", n); err != nil {
			return tw, err
		}
	}
	tw.Changes = (Settings{ConflictResolution: o.ConflictResolution}).changes()

	// Server checks, before any change.
	for _, p := range []Peer{a, b} {
		pre, err := p.Client.Prerequisites(ctx)
		if err != nil {
			return tw, err
		}
		if err := pre.Check(); err != nil {
			return tw, fmt.Errorf("pglogical: two-way setup, node %q: %w", p.Node, err)
		}
		if o.ConflictResolution.NeedsCommitTimestamps() && !pre.TrackCommitTimestamp {
			return tw, invalid("conflict resolution %s needs track_commit_timestamp=on, and node %q's server has it off; apply TwoWay.Changes (or Parameters) and reboot first",
				o.ConflictResolution, p.Node)
		}
	}

	op := fmt.Sprintf("set up two-way replication between %q and %q", a.Node, b.Node)
	do := func(name string, fn func() error) error {
		if err := fn(); err != nil {
			return &StepError{Op: op, Applied: slices.Clone(tw.Steps), Failed: name, Err: err}
		}
		tw.Steps = append(tw.Steps, name)
		return nil
	}
	for _, p := range []Peer{a, b} {
		if err := setupPeer(ctx, p, o, tw.Probe, do); err != nil {
			return tw, err
		}
	}
	for _, s := range []struct {
		on, to  Peer
		name    string
		syncDat bool
	}{{b, a, tw.SubscriptionOnB, o.SynchronizeDataFromA}, {a, b, tw.SubscriptionOnA, false}} {
		if _, err := s.on.Client.Subscription(ctx, s.name); err == nil {
			continue
		} else if !errors.Is(err, ErrNotFound) {
			return tw, err
		}
		spec := SubscriptionSpec{Name: s.name, Provider: s.to.DSN, ReplicationSets: sets,
			SynchronizeData: s.syncDat, ForwardOrigins: ForwardNone}
		if err := do(fmt.Sprintf("create subscription %q on %q", s.name, s.on.Node), func() error {
			_, err := s.on.Client.CreateSubscription(ctx, spec)
			return err
		}); err != nil {
			return tw, err
		}
		if err := do(fmt.Sprintf("wait for the sync of %q", s.name), func() error {
			return s.on.Client.WaitForSync(ctx, s.name, o.Wait)
		}); err != nil {
			return tw, err
		}
	}
	return tw, nil
}

func setupPeer(ctx context.Context, p Peer, o TwoWayOptions, probe Table, do func(string, func() error) error) error {
	c := p.Client
	if _, err := c.Install(ctx); err != nil {
		return err
	}
	node, err := c.LocalNode(ctx)
	switch {
	case errors.Is(err, ErrNoLocalNode):
		if err := do(fmt.Sprintf("create node %q", p.Node), func() error {
			_, err := c.CreateNode(ctx, p.Node, p.DSN)
			return err
		}); err != nil {
			return err
		}
	case err != nil:
		return err
	case node.Name != p.Node:
		return fmt.Errorf("pglogical: two-way setup: the database already has local node %q, not %q", node.Name, p.Node)
	}
	if o.SetResolutionOnDatabase {
		if err := do(fmt.Sprintf("set pglogical.conflict_resolution=%s on %q's database", o.ConflictResolution, p.Node), func() error {
			return c.setDatabaseSetting(ctx, SettingConflictResolution, string(o.ConflictResolution))
		}); err != nil {
			return err
		}
	}
	if err := do(fmt.Sprintf("add the tables of %v to %q on %q", o.Schemas, DefaultSet, p.Node), func() error {
		return c.AddAllTables(ctx, DefaultSet, o.Schemas, false)
	}); err != nil {
		return err
	}
	schema := sqlquote.MustIdent(probe.Schema)
	table := sqlquote.MustIdent(probe.Schema, probe.Name)
	if err := do(fmt.Sprintf("ensure probe table %s on %q", probe, p.Node), func() error {
		_, err := c.q.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+schema+"; CREATE TABLE IF NOT EXISTS "+table+
			" (token text NOT NULL, written_on text NOT NULL, written_at timestamptz NOT NULL DEFAULT now())")
		return wrap("creating the probe table", err)
	}); err != nil {
		return err
	}
	sets, err := c.ReplicationSets(ctx)
	if err != nil {
		return err
	}
	in := slices.ContainsFunc(sets, func(s ReplicationSet) bool {
		return s.Name == DefaultInsertOnlySet && slices.ContainsFunc(s.Tables, func(t SetTable) bool { return t.Table == probe })
	})
	if !in {
		if err := do(fmt.Sprintf("add probe table to %q on %q", DefaultInsertOnlySet, p.Node), func() error {
			return c.AddTable(ctx, DefaultInsertOnlySet, probe, nil)
		}); err != nil {
			return err
		}
	}
	return nil
}

// setDatabaseSetting runs ALTER DATABASE <current> SET name = value. The
// value is quoted by sqlquote.Literal: ALTER DATABASE takes no parameters.
func (c *Client) setDatabaseSetting(ctx context.Context, name, value string) error {
	var db string
	if err := c.q.QueryRow(ctx, "SELECT current_database()::text").Scan(&db); err != nil {
		return wrap("reading the database name", err)
	}
	ident, err := sqlquote.Ident(db)
	if err != nil {
		return fmt.Errorf("pglogical: database name: %w", err)
	}
	lit, err := sqlquote.Literal(value)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrInvalid, name, err)
	}
	// name is one of this package's setting constants.
	if _, err := c.q.Exec(ctx, "ALTER DATABASE "+ident+" SET "+name+" = "+lit); err != nil {
		return wrap(fmt.Sprintf("ALTER DATABASE ... SET %s", name), err)
	}
	return nil
}

// CheckOptions tune TwoWay.Check.
type CheckOptions struct {
	// Wait says how Check polls for the rows; its MaxWait bounds the wait
	// for both rows to arrive. Zero fields mean 50 ms, 200 ms and 30
	// seconds.
	Wait pgaurora.Wait
	// Settle is how long Check waits after both rows arrived before
	// counting again, to catch a row that comes back a second time; zero
	// means 500 ms.
	Settle time.Duration
}

// checkWait is how Check polls by default.
var checkWait = pgaurora.Wait{MinDelay: 50 * time.Millisecond, MaxDelay: 200 * time.Millisecond, MaxWait: 30 * time.Second}

// CheckResult is what TwoWay.Check measured.
type CheckResult struct {
	// AToB and BToA are how long each row took to arrive on the other
	// side (at the polling resolution).
	AToB, BToA time.Duration
}

// Check writes one probe row on each side and verifies that each arrives
// on the other side exactly once: it waits until each row is there, waits
// opts.Settle more, and counts again. A row that never arrives, or arrives
// twice (a replication loop), fails with ErrReplicationCheck. The probe
// rows are deleted afterwards on both sides (the probe set does not
// replicate deletes).
func (tw TwoWay) Check(ctx context.Context, opts *CheckOptions) (CheckResult, error) {
	var o CheckOptions
	if opts != nil {
		o = *opts
	}
	o.Wait = o.Wait.Or(checkWait)
	if o.Settle <= 0 {
		o.Settle = 500 * time.Millisecond
	}
	table, err := sqlquote.Ident(tw.Probe.Schema, tw.Probe.Name)
	if err != nil {
		return CheckResult{}, fmt.Errorf("%w: probe table: %v", ErrInvalid, err)
	}
	tokA, tokB := newToken(), newToken()
	defer func() {
		for _, p := range []Peer{tw.A, tw.B} {
			p.Client.q.Exec(context.WithoutCancel(ctx), "DELETE FROM "+table+" WHERE token = ANY($1)", []string{tokA, tokB})
		}
	}()
	insert := "INSERT INTO " + table + " (token, written_on) VALUES ($1, $2)"
	start := time.Now()
	if _, err := tw.A.Client.q.Exec(ctx, insert, tokA, tw.A.Node); err != nil {
		return CheckResult{}, wrap(fmt.Sprintf("check: writing the probe row on %q", tw.A.Node), err)
	}
	startB := time.Now()
	if _, err := tw.B.Client.q.Exec(ctx, insert, tokB, tw.B.Node); err != nil {
		return CheckResult{}, wrap(fmt.Sprintf("check: writing the probe row on %q", tw.B.Node), err)
	}
	count := func(p Peer, tok string) (int, error) {
		var n int
		err := p.Client.q.QueryRow(ctx, "SELECT count(*) FROM "+table+" WHERE token = $1", tok).Scan(&n)
		return n, wrap(fmt.Sprintf("check: counting probe rows on %q", p.Node), err)
	}
	var res CheckResult
	err = wait.Until(ctx, o.Wait, checkWait, func(context.Context) (bool, error) {
		if res.AToB == 0 {
			n, err := count(tw.B, tokA)
			if err != nil {
				return false, err
			}
			if n > 0 {
				res.AToB = time.Since(start)
			}
		}
		if res.BToA == 0 {
			n, err := count(tw.A, tokB)
			if err != nil {
				return false, err
			}
			if n > 0 {
				res.BToA = time.Since(startB)
			}
		}
		return res.AToB != 0 && res.BToA != 0, nil
	})
	switch {
	case err != nil && ctx.Err() != nil:
		return res, fmt.Errorf("pglogical: two-way check: %w", ctx.Err())
	case errors.Is(err, context.DeadlineExceeded):
		var missing []string
		if res.AToB == 0 {
			missing = append(missing, fmt.Sprintf("the row written on %q did not reach %q", tw.A.Node, tw.B.Node))
		}
		if res.BToA == 0 {
			missing = append(missing, fmt.Sprintf("the row written on %q did not reach %q", tw.B.Node, tw.A.Node))
		}
		return res, fmt.Errorf("pglogical: two-way check: %w: %v within %v", ErrReplicationCheck, missing, o.Wait.MaxWait)
	case err != nil:
		return res, err
	}
	if err := wait.Sleep(ctx, o.Settle); err != nil {
		return res, fmt.Errorf("pglogical: two-way check: %w", err)
	}
	for _, c := range []struct {
		p        Peer
		tok, src string
	}{{tw.A, tokA, tw.A.Node}, {tw.B, tokA, tw.A.Node}, {tw.A, tokB, tw.B.Node}, {tw.B, tokB, tw.B.Node}} {
		n, err := count(c.p, c.tok)
		if err != nil {
			return res, err
		}
		if n != 1 {
			return res, fmt.Errorf("pglogical: two-way check: %w: the row written on %q is on %q %d times, want exactly once",
				ErrReplicationCheck, c.src, c.p.Node, n)
		}
	}
	return res, nil
}

func newToken() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
