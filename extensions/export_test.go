package extensions

import "io"

// WriteBackupForFuzz writes a backup of the given snapshot and statements
// (section, key, SQL), for seeding the backup reader's fuzz test without
// a database.
func WriteBackupForFuzz(w io.Writer, snap LanguageSnapshot, stmts [][3]string) error {
	p := &LanguagePlan{Before: snap, database: "fuzz"}
	var st []stmt
	for _, s := range stmts {
		st = append(st, stmt{Section: s[0], Key: s[1], SQL: s[2]})
	}
	return writeBackup(w, p, st)
}

// The statement builders, for the exact-SQL tests.
var (
	CreateSQL        = createSQL
	UpdateSQL        = updateSQL
	DropSQL          = dropSQL
	OrafceSQL        = orafceSQL
	LanguageUsageSQL = languageUsageSQL
	RepackSQL        = repackSQL
	InstallTLESQL    = installTLESQL
	UninstallTLESQL  = uninstallTLESQL
	TLEExtensionsSQL = tleExtensionsSQL
)
