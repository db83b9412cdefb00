package pgserver

import (
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// EnvBinDir names the environment variable that, when set, points at the
// directory holding initdb, postgres and pg_basebackup. It wins over every
// other way of finding them.
const EnvBinDir = "PGAURORA_PG_BINDIR"

// EnvBinDirs names the environment variable that lists installations of
// other major versions, as major=bindir pairs separated by commas, for
// example "16=/opt/pg16/bin,17=/opt/pg17/bin". BinariesFor looks there
// first, then in Debian's /usr/lib/postgresql/<major>/bin.
// internal/pgserver/fetch-majors.sh installs PostgreSQL 16 and 17 server
// binaries and prints the value to set.
const EnvBinDirs = "PGAURORA_PG_BINDIRS"

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
		b, ok, err := probe(d)
		if err != nil {
			return Binaries{}, err
		}
		if ok {
			return b, nil
		}
	}
	if d := os.Getenv(EnvBinDir); d != "" {
		return Binaries{}, fmt.Errorf("%w: %s=%s has no postgres and initdb", ErrNoBinaries, EnvBinDir, d)
	}
	return Binaries{}, ErrNoBinaries
}

// probe reads the installation in dir: false when it has no postgres and
// initdb or postgres does not run.
func probe(dir string) (Binaries, bool, error) {
	if !isExecutable(filepath.Join(dir, "postgres")) || !isExecutable(filepath.Join(dir, "initdb")) {
		return Binaries{}, false, nil
	}
	out, err := newCommand(context.Background(), false, filepath.Join(dir, "postgres"), "--version").Output()
	if err != nil {
		return Binaries{}, false, nil
	}
	major, err := parseMajor(string(out))
	if err != nil {
		return Binaries{}, false, fmt.Errorf("pgserver: reading the version of %s: %w", dir, err)
	}
	return Binaries{Dir: dir, Major: major}, true, nil
}

var (
	majorsMu sync.Mutex
	majors   = map[int]Binaries{}
)

// BinariesFor locates the server binaries of the given major version: the
// installation FindBinaries finds when it is of that major, else the
// directory PGAURORA_PG_BINDIRS names for it, else
// /usr/lib/postgresql/<major>/bin. Whatever it finds must report that
// major. Answers are cached for the process; a miss wraps ErrNoBinaries.
func BinariesFor(major int) (Binaries, error) {
	majorsMu.Lock()
	defer majorsMu.Unlock()
	if b, ok := majors[major]; ok {
		return b, nil
	}
	if def, err := FindBinaries(); err == nil && def.Major == major {
		majors[major] = def
		return def, nil
	}
	dirs, err := listedBinDirs(os.Getenv(EnvBinDirs))
	if err != nil {
		return Binaries{}, err
	}
	var candidates []string
	if d, ok := dirs[major]; ok {
		candidates = append(candidates, d)
	}
	candidates = append(candidates, filepath.Join("/usr/lib/postgresql", strconv.Itoa(major), "bin"))
	for _, d := range candidates {
		b, ok, err := probe(d)
		if err != nil {
			return Binaries{}, err
		}
		if !ok {
			continue
		}
		if b.Major != major {
			return Binaries{}, fmt.Errorf("pgserver: %s holds PostgreSQL %d, not %d", d, b.Major, major)
		}
		majors[major] = b
		return b, nil
	}
	return Binaries{}, fmt.Errorf("%w: none of PostgreSQL %d (looked in %s); internal/pgserver/fetch-majors.sh installs them and prints the %s to set",
		ErrNoBinaries, major, strings.Join(candidates, ", "), EnvBinDirs)
}

// listedBinDirs parses PGAURORA_PG_BINDIRS: "16=/opt/pg16/bin,17=/opt/pg17/bin".
func listedBinDirs(v string) (map[int]string, error) {
	dirs := map[int]string{}
	for _, item := range strings.Split(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		k, d, ok := strings.Cut(item, "=")
		major, err := strconv.Atoi(strings.TrimSpace(k))
		if !ok || err != nil || major <= 0 || strings.TrimSpace(d) == "" {
			return nil, fmt.Errorf("pgserver: %s: %q is not major=bindir (for example 16=/opt/pg16/bin)", EnvBinDirs, item)
		}
		dirs[major] = strings.TrimSpace(d)
	}
	return dirs, nil
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
	describeMu   sync.Mutex
	describeSets = map[string]map[string]bool{}
)

// HasSetting reports whether this PostgreSQL build knows the named server
// setting (from `postgres --describe-config`). Some builds add settings of
// their own, such as output_plugin_libraries, which restricts the logical
// decoding output plugins a server will load; and settings come and go
// between major versions.
func HasSetting(b Binaries, name string) bool {
	return b.settings()[name]
}

// settings is the set of settings the build knows; empty when
// --describe-config fails.
func (b Binaries) settings() map[string]bool {
	describeMu.Lock()
	defer describeMu.Unlock()
	if set, ok := describeSets[b.Dir]; ok {
		return set
	}
	set := map[string]bool{}
	out, err := newCommand(context.Background(), true, b.Path("postgres"), "--describe-config").Output()
	if err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			if tab := strings.IndexByte(line, '\t'); tab > 0 {
				set[line[:tab]] = true
			}
		}
	}
	describeSets[b.Dir] = set
	return set
}

// knowsSetting reports whether a server of these binaries can start with
// the setting in its configuration file: a setting of its own, or a
// custom (dotted) one, which any server accepts as a placeholder. Unknown
// to a build whose settings cannot be listed means known.
func (b Binaries) knowsSetting(name string) bool {
	set := b.settings()
	return len(set) == 0 || set[name] || strings.Contains(name, ".")
}

// shareDir and pkgLibDir are where the installation keeps extension
// control and SQL files and loadable modules: pg_config's answer when the
// installation has one, else the relocatable layout (bin/../share/postgresql,
// bin/../lib/postgresql).
func (b Binaries) shareDir() string  { return b.configDir("--sharedir", "share") }
func (b Binaries) pkgLibDir() string { return b.configDir("--pkglibdir", "lib") }

func (b Binaries) configDir(flag, sub string) string {
	if cfg := b.Path("pg_config"); isExecutable(cfg) {
		if out, err := newCommand(context.Background(), false, cfg, flag).Output(); err == nil {
			return strings.TrimSpace(string(out))
		}
	}
	return filepath.Join(filepath.Dir(b.Dir), sub, "postgresql")
}

// CheckExtension returns nil when CREATE EXTENSION name can work on these
// binaries: the installation ships the extension's control file and, when
// the extension has a loadable module (module_pathname), CheckLibrary
// accepts it. Otherwise the error says what is missing.
func (b Binaries) CheckExtension(name string) error {
	control, err := os.ReadFile(filepath.Join(b.shareDir(), "extension", name+".control"))
	if err != nil {
		return fmt.Errorf("PostgreSQL %d has no extension %s", b.Major, name)
	}
	for _, line := range strings.Split(string(control), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(k) != "module_pathname" {
			continue
		}
		lib := strings.Trim(strings.TrimSpace(v), "'")
		lib = strings.TrimPrefix(lib, "$libdir/")
		if err := b.CheckLibrary(lib); err != nil {
			return fmt.Errorf("extension %s: %w", name, err)
		}
	}
	return nil
}

// CheckLibrary returns nil when the installation has the named loadable
// module (as shared_preload_libraries names it) and, where ldd can tell,
// every shared library the module needs exists on this machine (a
// relocatable build's plperl may need a libperl this machine lacks).
// Otherwise the error says what is missing.
func (b Binaries) CheckLibrary(name string) error {
	path := filepath.Join(b.pkgLibDir(), strings.TrimSuffix(name, ".so")+".so")
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("PostgreSQL %d has no library %s", b.Major, name)
	}
	out, err := newCommand(context.Background(), false, "ldd", path).Output()
	if err != nil {
		return nil // no ldd: the file has to do
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "not found") {
			return fmt.Errorf("PostgreSQL %d's library %s cannot load here: %s", b.Major, name, strings.TrimSpace(line))
		}
	}
	return nil
}

// SupportsLDAP reports whether the server was built with LDAP
// authentication (pg_hba.conf's ldap method), which some builds lack.
func (b Binaries) SupportsLDAP() bool {
	f, err := elf.Open(b.Path("postgres"))
	if err != nil {
		return true // not an ELF file this can read: assume the usual build
	}
	defer f.Close()
	libs, err := f.ImportedLibraries()
	if err != nil {
		return true
	}
	return slices.ContainsFunc(libs, func(l string) bool { return strings.HasPrefix(l, "libldap") })
}
