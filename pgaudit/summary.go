package pgaudit

import (
	"cmp"
	"errors"
	"iter"
	"slices"
	"strings"
	"time"
)

// Counts maps a key (a class, command, user or object) to how many entries
// had it.
type Counts map[string]int

// Count is one key of Counts with its count.
type Count struct {
	Key   string
	Count int
}

// Sorted returns the counts, largest first, ties by key.
func (c Counts) Sorted() []Count {
	out := make([]Count, 0, len(c))
	for k, n := range c {
		out = append(out, Count{k, n})
	}
	slices.SortFunc(out, func(a, b Count) int {
		if a.Count != b.Count {
			return cmp.Compare(b.Count, a.Count)
		}
		return strings.Compare(a.Key, b.Key)
	})
	return out
}

// Summary aggregates audit entries. The zero value is empty and ready; add
// entries with Add or build one with Summarize.
type Summary struct {
	// Entries is the number of entries added.
	Entries int
	// Malformed is the number of *ParseError results Summarize saw.
	Malformed int
	// First and Last are the earliest and latest entry times.
	First, Last time.Time
	// ByClass counts entries per class as logged (READ, WRITE, ...).
	ByClass Counts
	// ByCommand counts entries per command tag.
	ByCommand Counts
	// ByUser counts entries per user.
	ByUser Counts
	// ByObject counts entries per object, keyed "TYPE name" (for example
	// "TABLE public.account"); entries without an object are not counted.
	ByObject Counts
	// ByType counts SESSION and OBJECT entries.
	ByType Counts
}

// incr counts key, copying the key the first time so the summary does not
// keep a whole entry's text alive.
func incr(m *Counts, key string) {
	if *m == nil {
		*m = make(Counts)
	}
	if n, ok := (*m)[key]; ok {
		(*m)[key] = n + 1
		return
	}
	(*m)[strings.Clone(key)] = 1
}

// Add counts one entry.
func (s *Summary) Add(e *Entry) {
	s.Entries++
	if !e.Time.IsZero() {
		if s.First.IsZero() || e.Time.Before(s.First) {
			s.First = e.Time
		}
		if e.Time.After(s.Last) {
			s.Last = e.Time
		}
	}
	class, _ := classLogName(e.Class)
	incr(&s.ByClass, class)
	incr(&s.ByCommand, e.Command)
	incr(&s.ByUser, e.User)
	incr(&s.ByType, string(e.Type))
	if e.ObjectName != "" {
		if s.ByObject == nil {
			s.ByObject = make(Counts)
		}
		key := e.ObjectType + " " + e.ObjectName
		s.ByObject[key]++
	}
}

// Summarize adds every entry of seq (for example Entries(r, nil)) to a new
// Summary. Malformed entries are counted and skipped; another error stops
// it and is returned with the summary so far.
func Summarize(seq iter.Seq2[Entry, error]) (*Summary, error) {
	s := &Summary{}
	for e, err := range seq {
		if err != nil {
			var pe *ParseError
			if errors.As(err, &pe) {
				s.Malformed++
				continue
			}
			return s, err
		}
		s.Add(&e)
	}
	return s, nil
}
