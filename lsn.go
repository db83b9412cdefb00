package pgaurora

import (
	"database/sql/driver"
	"fmt"
	"strconv"
	"strings"
)

// LSN is a PostgreSQL write-ahead log position (pg_lsn), written as
// PostgreSQL writes it: "16/B374D848". The zero LSN is 0/0, which
// PostgreSQL uses for "none".
//
// An LSN scans from a pg_lsn or text column (NULL scans as 0/0) and is
// sent as text, so $1::pg_lsn takes it as a bind parameter.
type LSN uint64

// ParseLSN parses PostgreSQL's form of an LSN: two hexadecimal numbers of
// up to 8 digits each, separated by a slash.
func ParseLSN(s string) (LSN, error) {
	hi, lo, ok := strings.Cut(s, "/")
	if !ok || hi == "" || lo == "" || len(hi) > 8 || len(lo) > 8 {
		return 0, fmt.Errorf("invalid LSN %q: want two hexadecimal numbers separated by a slash, such as 16/B374D848", s)
	}
	h, err1 := strconv.ParseUint(hi, 16, 32)
	l, err2 := strconv.ParseUint(lo, 16, 32)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("invalid LSN %q: want two hexadecimal numbers separated by a slash, such as 16/B374D848", s)
	}
	return LSN(h<<32 | l), nil
}

// String writes the LSN as PostgreSQL does.
func (l LSN) String() string { return fmt.Sprintf("%X/%X", uint64(l)>>32, uint32(l)) }

// Scan reads an LSN from the database: text (a pg_lsn in text form) or
// NULL, which is 0/0.
func (l *LSN) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*l = 0
		return nil
	case string:
		p, err := ParseLSN(v)
		*l = p
		return err
	case []byte:
		p, err := ParseLSN(string(v))
		*l = p
		return err
	}
	return fmt.Errorf("cannot scan %T into an LSN", src)
}

// Value sends the LSN as text.
func (l LSN) Value() (driver.Value, error) { return l.String(), nil }

// MarshalText writes the LSN as PostgreSQL does, for JSON and other text
// encodings.
func (l LSN) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText parses PostgreSQL's form; empty text is 0/0.
func (l *LSN) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*l = 0
		return nil
	}
	p, err := ParseLSN(string(b))
	*l = p
	return err
}
