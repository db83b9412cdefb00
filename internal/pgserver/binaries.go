package pgserver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// EnvBinDir names the environment variable that, when set, points at the
// directory holding initdb, postgres and pg_basebackup. It wins over every
// other way of finding them.
const EnvBinDir = "PGAURORA_PG_BINDIR"

// ErrNoBinaries is returned (wrapped) when no PostgreSQL server binaries can
// be found. Run `make deps` to install them.
var ErrNoBinaries = errors.New("pgserver: PostgreSQL server binaries not found (run `make deps`, or set " + EnvBinDir + ")")

// Binaries is where a PostgreSQL installation's programs live.
type Binaries struct {
	// Dir is the directory holding initdb, postgres and pg_basebackup.
	Dir string
	// Major is the server's major version, for example 15.
	Major int
}

// Path returns the full path of the named program.
func (b Binaries) Path(prog string) string { return filepath.Join(b.Dir, prog) }

var (
	findOnce sync.Once
	found    Binaries
	findErr  error
)

// FindBinaries locates the PostgreSQL server binaries: the directory named by
// PGAURORA_PG_BINDIR, else `pg_config --bindir`, else the newest
// /usr/lib/postgresql/*/bin. The answer is cached for the process.
func FindBinaries() (Binaries, error) {
	findOnce.Do(func() { found, findErr = findBinaries() })
	return found, findErr
}

func findBinaries() (Binaries, error) {
	var candidates []string
	if d := os.Getenv(EnvBinDir); d != "" {
		candidates = append(candidates, d)
	} else {
		if out, err := newCommand(context.Background(), false, "pg_config", "--bindir").Output(); err == nil {
			candidates = append(candidates, strings.TrimSpace(string(out)))
		}
		dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
		sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
		candidates = append(candidates, dirs...)
	}
	for _, d := range candidates {
		if !isExecutable(filepath.Join(d, "postgres")) || !isExecutable(filepath.Join(d, "initdb")) {
			continue
		}
		out, err := newCommand(context.Background(), false, filepath.Join(d, "postgres"), "--version").Output()
		if err != nil {
			continue
		}
		major, err := parseMajor(string(out))
		if err != nil {
			return Binaries{}, fmt.Errorf("pgserver: reading the version of %s: %w", d, err)
		}
		return Binaries{Dir: d, Major: major}, nil
	}
	if d := os.Getenv(EnvBinDir); d != "" {
		return Binaries{}, fmt.Errorf("%w: %s=%s has no postgres and initdb", ErrNoBinaries, EnvBinDir, d)
	}
	return Binaries{}, ErrNoBinaries
}

// versionOf extracts the major version from /usr/lib/postgresql/<v>/bin.
func versionOf(dir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return v
}

// parseMajor reads "postgres (PostgreSQL) 15.18 (Debian ...)".
func parseMajor(version string) (int, error) {
	f := strings.Fields(version)
	for i, w := range f {
		if w == "(PostgreSQL)" && i+1 < len(f) {
			num := f[i+1]
			if dot := strings.IndexByte(num, '.'); dot > 0 {
				num = num[:dot]
			}
			return strconv.Atoi(num)
		}
	}
	return 0, fmt.Errorf("unrecognized version output %q", strings.TrimSpace(version))
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

var (
	describeOnce sync.Once
	describeSet  map[string]bool
)

// HasSetting reports whether this PostgreSQL build knows the named server
// setting (from `postgres --describe-config`). Some builds add settings of
// their own, such as output_plugin_libraries, which restricts the logical
// decoding output plugins a server will load.
func HasSetting(b Binaries, name string) bool {
	describeOnce.Do(func() {
		describeSet = map[string]bool{}
		out, err := newCommand(context.Background(), true, b.Path("postgres"), "--describe-config").Output()
		if err != nil {
			return
		}
		for _, line := range strings.Split(string(out), "\n") {
			if tab := strings.IndexByte(line, '\t'); tab > 0 {
				describeSet[line[:tab]] = true
			}
		}
	})
	return describeSet[name]
}
