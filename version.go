package pgaurora

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Engine is the RDS engine name of Aurora PostgreSQL, as the API takes and
// reports it.
const Engine = "aurora-postgresql"

// EngineVersion is an RDS or Aurora PostgreSQL engine version as the RDS
// API and the documentation write it: "15.4", "15.2-R2" (RDS minor
// revision 2), "11.9" or "9.6.22"; the SDK's one version type, also for
// a server's server_version_num (ServerVersion).
type EngineVersion struct {
	// Major and Minor are the PostgreSQL version numbers ("15.4" is 15, 4).
	// Before PostgreSQL 10, Major is the first two parts times ten plus
	// the second ("9.6.22" is 96) and Minor the third.
	Major, Minor int
	// Revision is the RDS revision ("-R2" is 2); 1 when the string has
	// none, since the first release of a minor version is its R1.
	Revision int
}

// String formats the version as RDS writes it: "15.2" for revision 1,
// "15.2-R2" otherwise.
func (v EngineVersion) String() string {
	var s string
	if v.Major >= 90 && v.Major < 100 {
		s = fmt.Sprintf("%d.%d.%d", v.Major/10, v.Major%10, v.Minor)
	} else {
		s = fmt.Sprintf("%d.%d", v.Major, v.Minor)
	}
	if v.Revision > 1 {
		s += fmt.Sprintf("-R%d", v.Revision)
	}
	return s
}

// ServerVersion converts a server's server_version_num (150004 for 15.4,
// 90622 for 9.6.22) to an EngineVersion of revision 1.
func ServerVersion(num int) EngineVersion {
	if num >= 100000 {
		return EngineVersion{Major: num / 10000, Minor: num % 10000, Revision: 1}
	}
	return EngineVersion{Major: num/10000*10 + num/100%100, Minor: num % 100, Revision: 1}
}

// Family is the parameter group family of the version:
// "aurora-postgresql15".
func (v EngineVersion) Family() string {
	if v.Major >= 90 && v.Major < 100 {
		return fmt.Sprintf("aurora-postgresql%d.%d", v.Major/10, v.Major%10)
	}
	return fmt.Sprintf("aurora-postgresql%d", v.Major)
}

// IsZero reports whether v is the zero EngineVersion (no version).
func (v EngineVersion) IsZero() bool { return v == EngineVersion{} }

// Compare returns -1, 0 or +1 as v is older than, equal to or newer than o.
func (v EngineVersion) Compare(o EngineVersion) int {
	for _, d := range [][2]int{{v.Major, o.Major}, {v.Minor, o.Minor}, {v.Revision, o.Revision}} {
		if d[0] != d[1] {
			if d[0] < d[1] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// ErrEngineVersion is matched (errors.Is) by errors from
// ParseEngineVersion.
var ErrEngineVersion = errors.New("not an RDS PostgreSQL engine version")

// ParseEngineVersion reads an RDS or Aurora PostgreSQL engine version:
// MAJOR.MINOR with an optional RDS revision suffix "-R<n>" (case
// insensitive), a major version alone ("16", minor 0), or, before
// PostgreSQL 10, 9.X.MINOR. Surrounding spaces are ignored; anything else
// is an error matching ErrEngineVersion.
func ParseEngineVersion(s string) (EngineVersion, error) {
	bad := func(why string) (EngineVersion, error) {
		return EngineVersion{}, fmt.Errorf("%w: %q: %s (want e.g. \"15.4\" or \"15.2-R2\")", ErrEngineVersion, s, why)
	}
	t := strings.TrimSpace(s)
	v := EngineVersion{Revision: 1}
	i := strings.IndexByte(t, '-')
	if i >= 0 {
		rev := t[i+1:]
		t = t[:i]
		if len(rev) < 2 || (rev[0] != 'R' && rev[0] != 'r') {
			return bad("the suffix is not -R<revision>")
		}
		n, ok := number(rev[1:])
		if !ok || n < 1 {
			return bad("the revision is not a positive number")
		}
		v.Revision = n
	}
	parts := strings.Split(t, ".")
	nums := make([]int, len(parts))
	for i, p := range parts {
		n, ok := number(p)
		if !ok {
			return bad("a version part is not a number")
		}
		nums[i] = n
	}
	switch {
	case len(nums) == 2 && nums[0] >= 10:
		v.Major, v.Minor = nums[0], nums[1]
	case len(nums) == 1 && nums[0] >= 10 && i < 0:
		v.Major = nums[0]
	case len(nums) == 3 && nums[0] == 9:
		v.Major, v.Minor = 90+nums[1], nums[2]
		if nums[1] > 9 {
			return bad("9.x versions have a one-digit x")
		}
	default:
		return bad("want MAJOR.MINOR (10 and later), MAJOR, or 9.X.MINOR")
	}
	return v, nil
}

// number parses a decimal without sign of at most six digits.
func number(s string) (int, bool) {
	if s == "" || len(s) > 6 {
		return 0, false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}
