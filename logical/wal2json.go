package logical

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"strconv"
	"time"

	"github.com/pgaurora/pgaurora"
)

// ChangeKind is the kind of a decoded change.
type ChangeKind string

// Kinds of decoded changes. wal2json's format-version 2 action codes are
// I, U, D, T, M, B and C.
const (
	KindInsert   ChangeKind = "insert"
	KindUpdate   ChangeKind = "update"
	KindDelete   ChangeKind = "delete"
	KindTruncate ChangeKind = "truncate"
	// KindMessage is a logical decoding message
	// (pg_logical_emit_message).
	KindMessage ChangeKind = "message"
	// KindBegin and KindCommit delimit a transaction.
	KindBegin  ChangeKind = "begin"
	KindCommit ChangeKind = "commit"
)

// Value is a column value as wal2json wrote it: raw JSON. Numbers stay
// numbers without losing precision (numeric, bigint), booleans are
// booleans, NULL is null, and every other type is a JSON string holding
// PostgreSQL's text form (timestamps, arrays, jsonb, bytea in hex without
// the \x prefix).
type Value []byte

// IsNull reports whether the value is SQL NULL. A Value absent from the
// record (a primary key entry has no value) is null too.
func (v Value) IsNull() bool { return len(v) == 0 || string(v) == "null" }

// Text returns the value in PostgreSQL's text form (a string unquoted, a
// number or boolean as written) and false for NULL.
func (v Value) Text() (string, bool) {
	if v.IsNull() {
		return "", false
	}
	if v[0] == '"' {
		if bytes.IndexByte(v, '\\') < 0 {
			return string(v[1 : len(v)-1]), true
		}
		var s string
		if err := json.Unmarshal(v, &s); err == nil {
			return s, true
		}
	}
	return string(v), true
}

// Int64 returns the value as an integer. It fails for NULL, non-numbers
// and numbers with a fraction or out of range.
func (v Value) Int64() (int64, error) {
	s, ok := v.Text()
	if !ok {
		return 0, errors.New("logical: value is NULL")
	}
	return strconv.ParseInt(s, 10, 64)
}

// Float64 returns the value as a floating-point number.
func (v Value) Float64() (float64, error) {
	s, ok := v.Text()
	if !ok {
		return 0, errors.New("logical: value is NULL")
	}
	return strconv.ParseFloat(s, 64)
}

// Bool returns a boolean value.
func (v Value) Bool() (bool, error) {
	switch string(v) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("logical: value %s is not a boolean", string(v))
}

// String returns the raw JSON.
func (v Value) String() string {
	if len(v) == 0 {
		return "null"
	}
	return string(v)
}

// Column is one column of a decoded row.
type Column struct {
	// Name and Type are the column's name and type (format_type's
	// spelling, such as "character varying(20)" or "integer[]").
	Name, Type string
	// TypeOID is the type's OID.
	TypeOID uint32
	// Value is the column's value.
	Value Value
}

// DataChange is one decoded change from a wal2json slot (format-version
// 2).
type DataChange struct {
	// Kind is what happened.
	Kind ChangeKind
	// LSN is the change's WAL position (for begin and commit records,
	// the transaction's commit position).
	LSN pgaurora.LSN
	// XID is the transaction ID.
	XID uint32
	// CommitTime is the transaction's commit time; zero when the record
	// does not say.
	CommitTime time.Time
	// Schema and Table name the table changed (insert, update, delete,
	// truncate).
	Schema, Table string
	// Columns is the new row (insert, update).
	Columns []Column
	// OldKeys is the old row's replica identity (update, delete): its
	// primary key or replica identity index columns, or every column
	// with REPLICA IDENTITY FULL. For an update that kept its key
	// (PostgreSQL then logs no old key) wal2json takes it from the new
	// row.
	OldKeys []Column
	// PrimaryKey names the table's primary key columns, when the
	// record lists them (values are in Columns and OldKeys).
	PrimaryKey []string
	// Transactional, Prefix and Content describe a message.
	Transactional bool
	Prefix        string
	Content       string
}

// Column returns the named column of the new row and whether it is there.
func (c DataChange) Column(name string) (Column, bool) {
	for _, col := range c.Columns {
		if col.Name == name {
			return col, true
		}
	}
	return Column{}, false
}

// OldKey returns the named column of the old key and whether it is there.
func (c DataChange) OldKey(name string) (Column, bool) {
	for _, col := range c.OldKeys {
		if col.Name == name {
			return col, true
		}
	}
	return Column{}, false
}

// w2jRecord is wal2json's format-version 2 record, as the scanner reads
// it.
type w2jRecord struct {
	Action, Timestamp, LSN, Schema, Table string
	XID                                   uint32
	Columns, Identity, PK                 []Column
	Transactional                         bool
	Prefix, Content                       string
}

// ParseWal2JSON parses one wal2json format-version 2 record (one row of
// pg_logical_slot_peek_changes or one line of pg_recvlogical's output).
// The result does not keep a reference to data.
func ParseWal2JSON(data []byte) (DataChange, error) {
	var s w2jScanner
	return s.parseRecord(bytes.Clone(data))
}

func (r *w2jRecord) change() (DataChange, error) {
	c := DataChange{XID: r.XID, Schema: r.Schema, Table: r.Table}
	if r.LSN != "" {
		lsn, err := pgaurora.ParseLSN(r.LSN)
		if err != nil {
			return DataChange{}, fmt.Errorf("wal2json record: %w", err)
		}
		c.LSN = lsn
	}
	switch r.Action {
	case "I":
		c.Kind = KindInsert
	case "U":
		c.Kind = KindUpdate
	case "D":
		c.Kind = KindDelete
	case "T":
		c.Kind = KindTruncate
	case "M":
		c.Kind = KindMessage
		c.Transactional, c.Prefix, c.Content = r.Transactional, r.Prefix, r.Content
	case "B":
		c.Kind = KindBegin
	case "C":
		c.Kind = KindCommit
	case "":
		return DataChange{}, errors.New("logical: parsing a wal2json record: no action (is it format-version 2?)")
	default:
		return DataChange{}, fmt.Errorf("logical: parsing a wal2json record: unknown action %q", r.Action)
	}
	switch c.Kind {
	case KindInsert, KindUpdate, KindDelete, KindTruncate:
		if r.Schema == "" || r.Table == "" {
			return DataChange{}, fmt.Errorf("logical: parsing a wal2json %s record: no schema or table", c.Kind)
		}
	}
	if r.Timestamp != "" {
		t, err := parseTimestamp(r.Timestamp)
		if err != nil {
			return DataChange{}, fmt.Errorf("logical: parsing a wal2json record: timestamp %q: %w", r.Timestamp, err)
		}
		c.CommitTime = t
	}
	if len(r.Columns) > 0 {
		c.Columns = r.Columns
	}
	if len(r.Identity) > 0 {
		c.OldKeys = r.Identity
	}
	if len(r.PK) > 0 {
		c.PrimaryKey = make([]string, len(r.PK))
		for i, k := range r.PK {
			c.PrimaryKey[i] = k.Name
		}
	}
	return c, nil
}

// parseTimestamp reads a timestamptz as PostgreSQL writes it in ISO
// style: 2024-05-01 12:34:56.789012+00, or +05:30 for zones off the hour.
func parseTimestamp(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02 15:04:05.999999999-07", "2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999-07:00:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("not an ISO timestamp with time zone")
}

// Wal2JSONChanges reads a stream of wal2json format-version 2 records, as
// pg_recvlogical writes them: one JSON object per line (several on a line,
// separated by whitespace, are accepted too; an object may not span
// lines). It yields each change in order. A record that fails to parse
// ends the stream with its error, and so does a read error. Stopping the
// loop stops reading.
func Wal2JSONChanges(r io.Reader) iter.Seq2[DataChange, error] {
	return func(yield func(DataChange, error) bool) {
		br := bufio.NewReaderSize(r, 64<<10)
		s := w2jScanner{intern: map[string]string{}}
		n := 0
		var long []byte
		for {
			line, err := br.ReadSlice('\n')
			if err == bufio.ErrBufferFull {
				long = append(long, line...)
				continue
			}
			if long != nil {
				line = append(long, line...)
				long = nil
			} else {
				line = bytes.Clone(line) // values alias it
			}
			s.b, s.i = line, 0
			for {
				s.ws()
				if s.i >= len(s.b) {
					break
				}
				n++
				var rec w2jRecord
				if perr := s.record(&rec); perr != nil {
					yield(DataChange{}, fmt.Errorf("logical: reading wal2json record %d: %w", n, perr))
					return
				}
				c, cerr := rec.change()
				if cerr != nil {
					yield(DataChange{}, fmt.Errorf("record %d: %w", n, cerr))
					return
				}
				if !yield(c, nil) {
					return
				}
			}
			if err == io.EOF {
				return
			}
			if err != nil {
				yield(DataChange{}, fmt.Errorf("logical: reading wal2json records: %w", err))
				return
			}
		}
	}
}
