package extensions

import (
	"fmt"
	"slices"
	"sort"

	"github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/pgaurora/pgaurora/params"
)

// preloadLibraries maps an extension (or loadable module) to the library
// it needs in shared_preload_libraries before it works.
var preloadLibraries = map[string]string{
	"auto_explain":       "auto_explain", // a module: there is no CREATE EXTENSION
	"pg_cron":            "pg_cron",
	"pg_stat_statements": "pg_stat_statements",
	"pg_tle":             "pg_tle",
	"pgaudit":            "pgaudit",
	"pglogical":          "pglogical",
	"plrust":             "plrust",
}

// PreloadLibrary returns the library the extension (or module, such as
// auto_explain) needs in shared_preload_libraries, and whether it needs
// one at all.
func PreloadLibrary(extension string) (string, bool) {
	lib, ok := preloadLibraries[extension]
	return lib, ok
}

// PreloadExtensions lists the extensions and modules PreloadLibrary knows,
// sorted.
func PreloadExtensions() []string {
	out := make([]string, 0, len(preloadLibraries))
	for k := range preloadLibraries {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// PreloadChanges returns the parameter changes that make the named
// extensions work: shared_preload_libraries with their libraries added to
// current (the value in the parameter group now, "" when unset), applied
// at the next reboot, as RDS requires for this static parameter. Libraries
// already listed are kept where they are; extensions that need no preload
// library add nothing. The result is empty when nothing needs to change.
// An extension name PreloadLibrary does not know is not an error: it needs
// no library. Names are checked (ErrInvalid) before anything else.
//
// The list is edited with params.PreloadChange, so quoting and duplicate
// rules are the ones the params package applies everywhere.
func PreloadChanges(current string, extensions ...string) ([]params.Change, error) {
	var libs []string
	for i, e := range extensions {
		if e == "" {
			return nil, invalidf("extension %d is empty", i)
		}
		if lib, ok := preloadLibraries[e]; ok && !slices.Contains(libs, lib) {
			libs = append(libs, lib)
		}
	}
	if len(libs) == 0 {
		return nil, nil
	}
	c, changed, err := params.PreloadChange(current, libs, nil)
	if err != nil {
		return nil, fmt.Errorf("extensions: shared_preload_libraries for %v: %w", extensions, err)
	}
	if !changed {
		return nil, nil
	}
	c.Method = types.ApplyMethodPendingReboot
	return []params.Change{c}, nil
}
