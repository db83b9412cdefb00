package logical

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/pgaurora/pgaurora"
)

// SequenceState is a sequence's position as read from one server.
type SequenceState struct {
	// Sequence is the sequence's schema-qualified name.
	Sequence TableName
	// Next is the value nextval would return next (last_value, plus the
	// increment once is_called), unless Exhausted.
	Next int64
	// Exhausted is true when the sequence has handed out its last value
	// (nextval would fail).
	Exhausted bool
	// Increment, Min and Max are the sequence's parameters.
	Increment, Min, Max int64
}

// SequenceAction is what SyncSequences did, or would do, to one sequence.
type SequenceAction string

// Sequence sync actions.
const (
	// SequenceSet: the subscriber's sequence was moved forward.
	SequenceSet SequenceAction = "set"
	// SequenceAhead: the subscriber's sequence is already at or past the
	// publisher's; it is never moved backwards.
	SequenceAhead SequenceAction = "already-ahead"
	// SequenceMissing: the subscriber has no sequence of that name.
	SequenceMissing SequenceAction = "missing"
	// SequenceMismatch: the two sequences count in opposite directions,
	// so there is no safe value to copy.
	SequenceMismatch SequenceAction = "increment-mismatch"
)

// SequenceSync reports one sequence of SyncSequences.
type SequenceSync struct {
	// Sequence is the sequence.
	Sequence TableName
	// Publisher and Subscriber are the positions read before the sync
	// (Subscriber is zero when Action is SequenceMissing).
	Publisher, Subscriber SequenceState
	// Target is the value the subscriber's next nextval returns after
	// the sync (for SequenceSet), or would return.
	Target int64
	// TargetExhausted is true when the target is the sequence's limit
	// and it is exhausted, as on the publisher.
	TargetExhausted bool
	// Action is what was done.
	Action SequenceAction
}

// SequenceSyncOptions tunes SyncSequences. A nil *SequenceSyncOptions
// syncs every sequence of the publisher's database outside the system
// schemas, with no headroom.
type SequenceSyncOptions struct {
	// Sequences limits the sync to these sequences.
	Sequences []TableName
	// Headroom moves the subscriber this many increments past the
	// publisher's next value: room for values the publisher hands out
	// between the read and the cutover (for example 1000 while the
	// publisher still takes writes). Zero or more.
	Headroom int64
	// DryRun computes the plan without changing the subscriber.
	DryRun bool
}

// SyncSequences copies sequence positions from the publisher to the
// subscriber, for cutover or failover to the subscriber: logical
// replication copies the rows that sequences numbered but not the
// sequences themselves.
//
// Each subscriber sequence is moved so that its next nextval returns the
// publisher's next value (plus Headroom increments), with setval. A
// sequence is never moved backwards: one already at or past the target,
// in the direction of its increment (descending sequences count down),
// is left alone. Targets beyond the sequence's limit stop at the limit.
// Sequences missing on the subscriber, or counting the other way there,
// are reported and skipped.
//
// Run it when writes to the publisher have stopped, or with Headroom.
// Moving forward is checked and done in one statement per sequence, but
// nextval calls racing on the subscriber can still consume values in
// between; the subscriber should not be taking writes yet.
func SyncSequences(ctx context.Context, publisher, subscriber pgaurora.Querier, opts *SequenceSyncOptions) ([]SequenceSync, error) {
	if opts == nil {
		opts = &SequenceSyncOptions{}
	}
	if opts.Headroom < 0 {
		return nil, invalid("Headroom is %d; it must be zero or more", opts.Headroom)
	}
	for i, s := range opts.Sequences {
		if _, err := s.Ident(); err != nil {
			return nil, invalid("Sequences[%d]: %v", i, err)
		}
	}
	names := opts.Sequences
	if len(names) == 0 {
		var err error
		names, err = listSequences(ctx, publisher)
		if err != nil {
			return nil, fmt.Errorf("logical: syncing sequences: listing the publisher's sequences: %w", err)
		}
	}
	pub, err := readSequences(ctx, publisher, names)
	if err != nil {
		return nil, fmt.Errorf("logical: syncing sequences: reading the publisher: %w", err)
	}
	var present []TableName
	for i, p := range pub {
		if p == nil {
			return nil, fmt.Errorf("logical: syncing sequences: %s: %w on the publisher", names[i], ErrNotFound)
		}
		present = append(present, p.Sequence)
	}
	sub, err := readSequences(ctx, subscriber, present)
	if err != nil {
		return nil, fmt.Errorf("logical: syncing sequences: reading the subscriber: %w", err)
	}
	var plan []SequenceSync
	for i := range present {
		plan = append(plan, PlanSequenceSync(*pub[i], sub[i], opts.Headroom))
	}
	if opts.DryRun {
		return plan, nil
	}
	for i := range plan {
		p := &plan[i]
		if p.Action != SequenceSet {
			continue
		}
		id, err := p.Sequence.Ident()
		if err != nil {
			return plan[:i], err
		}
		// Move forward only: compare with the subscriber's position at
		// the moment of the setval (in numeric, so that nothing
		// overflows at the limits).
		var moved bool
		err = subscriber.QueryRow(ctx, `SELECT CASE WHEN (CASE WHEN x.inc > 0 THEN x.pos >= x.want ELSE x.pos <= x.want END)
				THEN false ELSE setval($1::regclass, $2::bigint, $3::bool) IS NOT NULL END
			FROM (SELECT q.inc,
				s.last_value::numeric + CASE WHEN s.is_called THEN q.inc ELSE 0 END AS pos,
				$2::bigint::numeric + CASE WHEN $3::bool THEN q.inc ELSE 0 END AS want
				FROM `+id+` s, (SELECT seqincrement AS inc FROM pg_sequence WHERE seqrelid = $1::regclass) q) x`,
			id, p.Target, p.TargetExhausted).Scan(&moved)
		if err != nil {
			return plan[:i], fmt.Errorf("logical: syncing sequence %s (the earlier ones in the result were synced): %w", p.Sequence, classify(err, "setval"))
		}
		if !moved {
			p.Action = SequenceAhead
		}
	}
	return plan, nil
}

// PlanSequenceSync decides what SyncSequences does to one sequence, given
// its publisher state, its subscriber state (nil when missing) and the
// headroom in increments. It is pure.
func PlanSequenceSync(pub SequenceState, sub *SequenceState, headroom int64) SequenceSync {
	out := SequenceSync{Sequence: pub.Sequence, Publisher: pub}
	if sub == nil {
		out.Action = SequenceMissing
		return out
	}
	out.Subscriber = *sub
	if pub.Increment == 0 || sub.Increment == 0 || (pub.Increment > 0) != (sub.Increment > 0) {
		out.Action = SequenceMismatch
		return out
	}
	up := sub.Increment > 0
	// The target next value, within the subscriber's bounds.
	target, exhausted := pub.Next, pub.Exhausted
	if exhausted {
		if up {
			target = pub.Max
		} else {
			target = pub.Min
		}
	} else if headroom > 0 {
		step, ok := mulInt64(headroom, pub.Increment)
		if !ok {
			exhausted = true
		} else if t, ok := addInt64(target, step); !ok {
			exhausted = true
		} else {
			target = t
		}
	}
	limit := sub.Max
	if !up {
		limit = sub.Min
	}
	if exhausted || (up && target > sub.Max) || (!up && target < sub.Min) {
		target, exhausted = limit, true
	}
	out.Target, out.TargetExhausted = target, exhausted
	// Never backwards: compare positions in the direction of counting.
	switch {
	case sub.Exhausted:
		out.Action = SequenceAhead
	case exhausted:
		out.Action = SequenceSet
	case up && sub.Next >= target, !up && sub.Next <= target:
		out.Action = SequenceAhead
	default:
		out.Action = SequenceSet
	}
	return out
}

func addInt64(a, b int64) (int64, bool) {
	s := a + b
	if (b > 0 && s < a) || (b < 0 && s > a) {
		return 0, false
	}
	return s, true
}

func mulInt64(a, b int64) (int64, bool) {
	if a == 0 || b == 0 {
		return 0, true
	}
	if (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64) {
		return 0, false
	}
	p := a * b
	if p/b != a {
		return 0, false
	}
	return p, true
}

func listSequences(ctx context.Context, q pgaurora.Querier) ([]TableName, error) {
	return listRelations(ctx, q, `c.relkind = 'S' AND n.nspname NOT LIKE 'pg_temp%'`)
}

// readSequences reads each named sequence's state; nil entries are
// sequences that do not exist.
func readSequences(ctx context.Context, q pgaurora.Querier, names []TableName) ([]*SequenceState, error) {
	out := make([]*SequenceState, len(names))
	for i, n := range names {
		id, err := n.Ident()
		if err != nil {
			return nil, err
		}
		var st SequenceState
		var found bool
		err = q.QueryRow(ctx, `SELECT n.nspname, c.relname, s.seqincrement, s.seqmin, s.seqmax, true
			FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_sequence s ON s.seqrelid = c.oid
			WHERE c.oid = to_regclass($1) AND c.relkind = 'S'`, id).
			Scan(&st.Sequence.Schema, &st.Sequence.Name, &st.Increment, &st.Min, &st.Max, &found)
		if isNoRows(err) {
			continue
		}
		if err != nil {
			return nil, classify(err, "reading sequence "+n.String())
		}
		var last int64
		var called bool
		if err := q.QueryRow(ctx, "SELECT last_value, is_called FROM "+sqlIdentOf(st.Sequence)).Scan(&last, &called); err != nil {
			return nil, classify(err, "reading sequence "+st.Sequence.String())
		}
		st.Next = last
		if called {
			next, ok := addInt64(last, st.Increment)
			if !ok || next > st.Max || next < st.Min {
				st.Next, st.Exhausted = last, true
			} else {
				st.Next = next
			}
		}
		out[i] = &st
	}
	return out, nil
}

// sqlIdentOf quotes a name read from the catalog.
func sqlIdentOf(t TableName) string {
	id, err := t.Ident()
	if err != nil {
		// Catalog names are valid identifiers.
		panic(err)
	}
	return id
}

// String formats the result on one line.
func (s SequenceSync) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", s.Sequence, s.Action)
	switch s.Action {
	case SequenceSet, SequenceAhead:
		fmt.Fprintf(&b, " (publisher next %d, subscriber next %d, target %d", s.Publisher.Next, s.Subscriber.Next, s.Target)
		if s.TargetExhausted {
			b.WriteString(", exhausted")
		}
		b.WriteByte(')')
	}
	return b.String()
}
