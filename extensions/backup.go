package extensions

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pgaurora/pgaurora/internal/jsontext"

	"github.com/pgaurora/pgaurora"
)

// The backup format.
//
// A backup is a SQL script that psql can run in one transaction
// (psql -X -1 -v ON_ERROR_STOP=1 -f backup.sql) and that
// RestoreLanguageBackup reads exactly. Everything that is not SQL is on
// comment lines, and every value on a comment line is JSON-encoded, so no
// name, comment or definition can end a comment line early:
//
//	-- pgaurora language backup, format 1 ...   (human-readable lines)
//	-- pgaurora:snapshot {...}                  (the LanguageSnapshot, JSON)
//	-- pgaurora:stmt {"section":"function","key":"...","bytes":123}
//	<exactly 123 bytes of SQL>;
//	...
//	-- pgaurora:end {"statements":N,"sha256":"..."}
//
// The byte count makes the reader immune to anything inside function
// bodies; the SHA-256 (over the snapshot line and every statement) and the
// end line catch a truncated or edited file before anything runs.
const (
	backupFormat  = 1
	markSnapshot  = "-- pgaurora:snapshot "
	markStatement = "-- pgaurora:stmt "
	markEnd       = "-- pgaurora:end "
	markHeader    = "-- pgaurora language backup, format "
)

type backupStmtMeta struct {
	Section string `json:"section"`
	Key     string `json:"key,omitempty"`
	Bytes   int    `json:"bytes"`
}

type backupEnd struct {
	Statements int    `json:"statements"`
	SHA256     string `json:"sha256"`
}

type backupSnapshot struct {
	Created  time.Time        `json:"created"`
	Database string           `json:"database"`
	Versions []VersionChange  `json:"versions"`
	Snapshot LanguageSnapshot `json:"snapshot"`
}

func jsonLine(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	// json.Marshal escapes control characters (\n, \r) and U+2028/9, so
	// the value stays on its comment line.
	return string(b), nil
}

// appendSnapshotJSON appends json.Marshal(bs) to dst: the same bytes
// (TestSnapshotJSONMatchesMarshal holds it to that), with the functions
// and triggers, the bulk of a snapshot, encoded without reflection.
func appendSnapshotJSON(dst []byte, bs *backupSnapshot) ([]byte, error) {
	size := 4096
	for i := range bs.Snapshot.Functions {
		f := &bs.Snapshot.Functions[i]
		size += 160 + len(f.Definition) + len(f.Definition)/8 + 2*(len(f.Schema)+len(f.Name)+len(f.IdentityArgs)+len(f.Comment)) + 32*len(f.ACL)
	}
	for i := range bs.Snapshot.Triggers {
		t := &bs.Snapshot.Triggers[i]
		size += 160 + len(t.Definition) + len(t.Definition)/8 + 2*(len(t.Schema)+len(t.Table)+len(t.Name)+len(t.Comment))
	}
	dst = slices.Grow(dst, size)
	marshal := func(name string, v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		dst = append(dst, name...)
		dst = append(dst, b...)
		return nil
	}
	if err := marshal(`{"created":`, bs.Created); err != nil {
		return nil, err
	}
	dst = append(dst, `,"database":`...)
	dst = appendJSONString(dst, bs.Database)
	s := &bs.Snapshot
	if err := marshal(`,"versions":`, bs.Versions); err != nil {
		return nil, err
	}
	if err := marshal(`,"snapshot":{"Extensions":`, s.Extensions); err != nil {
		return nil, err
	}
	if err := marshal(`,"Languages":`, s.Languages); err != nil {
		return nil, err
	}
	dst = append(dst, `,"Functions":`...)
	if s.Functions == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i := range s.Functions {
			f := &s.Functions[i]
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"Schema":`...)
			dst = appendJSONString(dst, f.Schema)
			dst = append(dst, `,"Name":`...)
			dst = appendJSONString(dst, f.Name)
			dst = append(dst, `,"IdentityArgs":`...)
			dst = appendJSONString(dst, f.IdentityArgs)
			dst = append(dst, `,"Language":`...)
			dst = appendJSONString(dst, f.Language)
			dst = append(dst, `,"Kind":`...)
			dst = appendJSONString(dst, f.Kind)
			dst = append(dst, `,"Definition":`...)
			dst = appendJSONString(dst, f.Definition)
			dst = append(dst, `,"Owner":`...)
			dst = appendJSONString(dst, f.Owner)
			dst = append(dst, `,"ACL":`...)
			dst = appendJSONStrings(dst, f.ACL)
			dst = append(dst, `,"Comment":`...)
			dst = appendJSONString(dst, f.Comment)
			dst = append(dst, `,"DependsOnExtensions":`...)
			dst = appendJSONStrings(dst, f.DependsOnExtensions)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	dst = append(dst, `,"Triggers":`...)
	if s.Triggers == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i := range s.Triggers {
			t := &s.Triggers[i]
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"Schema":`...)
			dst = appendJSONString(dst, t.Schema)
			dst = append(dst, `,"Table":`...)
			dst = appendJSONString(dst, t.Table)
			dst = append(dst, `,"Name":`...)
			dst = appendJSONString(dst, t.Name)
			dst = append(dst, `,"Definition":`...)
			dst = appendJSONString(dst, t.Definition)
			dst = append(dst, `,"Enabled":`...)
			dst = appendJSONString(dst, t.Enabled)
			dst = append(dst, `,"Comment":`...)
			dst = appendJSONString(dst, t.Comment)
			dst = append(dst, `,"Cloned":`...)
			dst = strconv.AppendBool(dst, t.Cloned)
			dst = append(dst, `,"DependsOnExtensions":`...)
			dst = appendJSONStrings(dst, t.DependsOnExtensions)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	if err := marshal(`,"Defaults":`, s.Defaults); err != nil {
		return nil, err
	}
	return append(dst, "}}"...), nil
}

func appendJSONStrings(dst []byte, ss []string) []byte {
	if ss == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '[')
	for i, s := range ss {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, s)
	}
	return append(dst, ']')
}

// appendStmtMeta appends m as json.Marshal writes it.
func appendStmtMeta(dst []byte, m backupStmtMeta) []byte {
	dst = append(dst, `{"section":`...)
	dst = appendJSONString(dst, m.Section)
	if m.Key != "" {
		dst = append(dst, `,"key":`...)
		dst = appendJSONString(dst, m.Key)
	}
	dst = append(dst, `,"bytes":`...)
	dst = strconv.AppendInt(dst, int64(m.Bytes), 10)
	return append(dst, '}')
}

// appendJSONString appends s as encoding/json writes a string (with <, >
// and & escaped).
func appendJSONString(dst []byte, s string) []byte { return jsontext.AppendString(dst, s, true) }

func writeBackup(w io.Writer, p *LanguagePlan, stmts []stmt) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	h := sha256.New()
	var versions []VersionChange
	for _, e := range p.Extensions {
		if e.Upgrade {
			versions = append(versions, VersionChange{Name: e.Name, From: e.InstalledVersion, To: e.TargetVersion})
		}
	}
	db, _ := jsonLine(p.database)
	vs, _ := jsonLine(versions)
	fmt.Fprintf(bw, "%s%d\n", markHeader, backupFormat)
	fmt.Fprintf(bw, "-- Written by extensions.UpgradeLanguages before DROP EXTENSION ... CASCADE.\n")
	fmt.Fprintf(bw, "-- database: %s; extensions (name, from, to): %s\n", db, vs)
	fmt.Fprintf(bw, "-- functions: %d; triggers: %d; languages: %d\n", len(p.Before.Functions), len(p.Before.Triggers), len(p.Before.Languages))
	fmt.Fprintf(bw, "-- Restore with extensions.RestoreLanguageBackup, or: psql -X -1 -v ON_ERROR_STOP=1 -d <database> -f <this file>\n")
	// The snapshot line, hashed as written.
	line, err := appendSnapshotJSON([]byte(markSnapshot), &backupSnapshot{Created: time.Now().UTC().Truncate(time.Second), Database: p.database, Versions: versions, Snapshot: p.Before})
	if err != nil {
		return err
	}
	line = append(line, '\n')
	h.Write(line)
	bw.Write(line)
	var buf []byte
	n := 0
	for _, s := range stmts {
		if s.upgradeOnly {
			continue
		}
		n++
		buf = appendStmtMeta(append(buf[:0], markStatement...), backupStmtMeta{Section: s.Section, Key: s.Key, Bytes: len(s.SQL)})
		bw.Write(append(buf, '\n'))
		bw.WriteString(s.SQL)
		bw.WriteString(";\n")
		buf = append(buf[:0], s.SQL...)
		h.Write(buf)
	}
	end, _ := jsonLine(backupEnd{Statements: n, SHA256: hex.EncodeToString(h.Sum(nil))})
	bw.WriteString(markEnd + end + "\n")
	return bw.Flush()
}

// ErrBadBackup is matched (errors.Is) by errors about a backup that is
// not one UpgradeLanguages wrote, or that is truncated or was edited.
var ErrBadBackup = errors.New("extensions: not a valid language backup")

// LanguageBackup is a parsed backup.
type LanguageBackup struct {
	// Created is when the backup was written (UTC, whole seconds).
	Created time.Time
	// Database is the database it was taken from.
	Database string
	// Versions are the upgrades it was written for.
	Versions []VersionChange
	// Snapshot is the state the backup restores.
	Snapshot LanguageSnapshot

	stmts []stmt
}

// Statements counts the backup's SQL statements.
func (b *LanguageBackup) Statements() int { return len(b.stmts) }

// ReadLanguageBackup parses and checks a backup written by
// UpgradeLanguages. It fails with ErrBadBackup when the input is not a
// backup, is truncated, or does not match its checksum.
func ReadLanguageBackup(r io.Reader) (*LanguageBackup, error) {
	if r == nil {
		return nil, fmt.Errorf("%w: ReadLanguageBackup: the reader is nil", ErrInvalid)
	}
	br := bufio.NewReaderSize(r, 64<<10)
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrBadBackup}, args...)...)
	}
	readLine := func() (string, error) {
		l, err := br.ReadString('\n')
		if err != nil {
			if errors.Is(err, io.EOF) {
				return "", bad("unexpected end of input (truncated?)")
			}
			return "", err
		}
		return strings.TrimSuffix(l, "\n"), nil
	}
	first, err := readLine()
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(first, markHeader) {
		return nil, bad("the first line is not %q", markHeader+"N")
	}
	if v, err := strconv.Atoi(strings.TrimPrefix(first, markHeader)); err != nil || v != backupFormat {
		return nil, bad("unsupported format %q (this version reads format %d)", strings.TrimPrefix(first, markHeader), backupFormat)
	}
	h := sha256.New()
	b := &LanguageBackup{}
	var line string
	for {
		if line, err = readLine(); err != nil {
			return nil, err
		}
		if strings.HasPrefix(line, markSnapshot) {
			break
		}
		if !strings.HasPrefix(line, "--") {
			return nil, bad("unexpected line before the snapshot")
		}
	}
	h.Write([]byte(line + "\n"))
	var bs backupSnapshot
	if err := json.Unmarshal([]byte(strings.TrimPrefix(line, markSnapshot)), &bs); err != nil {
		return nil, bad("snapshot line: %v", err)
	}
	b.Created, b.Database, b.Versions, b.Snapshot = bs.Created, bs.Database, bs.Versions, bs.Snapshot
	for {
		if line, err = readLine(); err != nil {
			return nil, err
		}
		if strings.HasPrefix(line, markEnd) {
			var end backupEnd
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, markEnd)), &end); err != nil {
				return nil, bad("end line: %v", err)
			}
			if end.Statements != len(b.stmts) {
				return nil, bad("the end line counts %d statements, the file holds %d", end.Statements, len(b.stmts))
			}
			if sum := hex.EncodeToString(h.Sum(nil)); sum != end.SHA256 {
				return nil, bad("checksum mismatch: the file was changed after it was written")
			}
			return b, nil
		}
		if !strings.HasPrefix(line, markStatement) {
			return nil, bad("expected a statement marker after statement %d", len(b.stmts))
		}
		var meta backupStmtMeta
		if err := json.Unmarshal([]byte(strings.TrimPrefix(line, markStatement)), &meta); err != nil {
			return nil, bad("statement marker %d: %v", len(b.stmts)+1, err)
		}
		if meta.Bytes < 0 || meta.Bytes > 1<<30 {
			return nil, bad("statement %d: implausible length %d", len(b.stmts)+1, meta.Bytes)
		}
		switch meta.Section {
		case sectionSetup, sectionExtension, sectionLanguage, sectionFunction, sectionDefault, sectionTrigger:
		default:
			return nil, bad("statement %d: unknown section %q", len(b.stmts)+1, meta.Section)
		}
		// Copy rather than allocate the announced size up front: a
		// damaged marker must not make us allocate a gigabyte.
		var sb bytes.Buffer
		if n, err := io.CopyN(&sb, br, int64(meta.Bytes)+2); err != nil {
			return nil, bad("statement %d: %d of %d bytes (truncated?)", len(b.stmts)+1, n, meta.Bytes)
		}
		buf := sb.Bytes()
		if string(buf[meta.Bytes:]) != ";\n" {
			return nil, bad("statement %d does not end where its marker says", len(b.stmts)+1)
		}
		sql := string(buf[:meta.Bytes])
		h.Write(buf[:meta.Bytes])
		b.stmts = append(b.stmts, stmt{Section: meta.Section, Key: meta.Key, SQL: sql})
	}
}

// RestoreResult reports a finished RestoreLanguageBackup.
type RestoreResult struct {
	// Functions and Triggers count the objects the backup restored.
	Functions, Triggers int
	// Statements counts the statements run.
	Statements int
	// Extra lists objects in the database that the backup does not hold
	// (created after it was written); they are left alone.
	Extra []string
}

// RestoreLanguageBackup replays a backup written by UpgradeLanguages in
// one transaction, for disaster recovery: after an upgrade done by other
// means lost functions, or to return to the state of the backup. It
// creates the extensions when missing (at their default version), then
// recreates every language setting, function (CREATE OR REPLACE) and
// trigger (CREATE OR REPLACE TRIGGER, PostgreSQL 14+) with owners, grants
// and comments, revoking first any grant a function or language in the
// backup has gained since, and finally checks that every object of the backup is
// back exactly as recorded. Any error or difference rolls everything
// back. The backup is read and checked in full before anything runs.
func RestoreLanguageBackup(ctx context.Context, db pgaurora.Querier, r io.Reader) (*RestoreResult, error) {
	b, err := ReadLanguageBackup(r)
	if err != nil {
		return nil, err
	}
	tx, err := db.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("extensions: restoring the language backup: starting a transaction: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	fail := func(what string, err error) error {
		return fmt.Errorf("extensions: restoring the language backup (rolled back, nothing changed): %s: %w", what, err)
	}
	ts, err := setTxSettings(ctx, tx, "")
	if err != nil {
		return nil, fail("setting up the transaction", err)
	}
	var exts []string
	for _, e := range b.Snapshot.Extensions {
		exts = append(exts, e.Name)
	}
	var run []stmt
	for _, s := range b.stmts {
		if s.Section == sectionExtension {
			run = append(run, s)
		}
	}
	if err := execPipelined(ctx, tx, run); err != nil {
		return nil, fail("creating the extensions", err)
	}
	// Functions that exist already may have gained grants since the
	// backup: revoke those so the ACLs come back exactly.
	revokes, err := extraGrantRevokes(ctx, tx, b.Snapshot.Functions)
	if err != nil {
		return nil, fail("reading current function privileges", err)
	}
	langRevokes, err := extraLanguageGrantRevokes(ctx, tx, b.Snapshot.Languages)
	if err != nil {
		return nil, fail("reading current language privileges", err)
	}
	run = append(langRevokes, revokes...)
	for _, s := range b.stmts {
		if s.Section == sectionLanguage || s.Section == sectionFunction || s.Section == sectionDefault || s.Section == sectionTrigger {
			run = append(run, s)
		}
	}
	if err := execPipelined(ctx, tx, run); err != nil {
		return nil, fail("replaying the backup", err)
	}
	now, err := collect(ctx, tx, exts, false)
	if err != nil {
		return nil, fail("verifying", err)
	}
	res := &RestoreResult{Functions: len(b.Snapshot.Functions), Triggers: len(b.Snapshot.Triggers), Statements: len(run)}
	var missing []string
	for _, d := range diffSnapshots(b.Snapshot, now.snap, false) {
		if strings.HasSuffix(d, " is new") {
			res.Extra = append(res.Extra, strings.TrimSuffix(d, " is new"))
			continue
		}
		missing = append(missing, d)
	}
	if len(missing) > 0 {
		return nil, fail("verifying", &VerificationError{When: "after restore", Differences: missing})
	}
	if err := ts.restore(ctx, tx); err != nil {
		return nil, fail("finishing", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("extensions: restoring the language backup: COMMIT: %w", err)
	}
	return res, nil
}

// extraLanguageGrantRevokes is extraGrantRevokes for the languages.
func extraLanguageGrantRevokes(ctx context.Context, q pgaurora.Querier, langs []LanguageState) ([]stmt, error) {
	names := make([]string, len(langs))
	for i, l := range langs {
		names[i] = l.Name
	}
	rows, err := q.Query(ctx, `SELECT DISTINCT l.lanname::text, pg_catalog.pg_get_userbyid(a.grantee)::text
FROM pg_catalog.pg_language l CROSS JOIN LATERAL pg_catalog.aclexplode(l.lanacl) a
WHERE l.lanname = ANY($1::text[]) AND a.grantee <> 0 AND a.grantee <> l.lanowner
ORDER BY 1, 2`, names)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []stmt
	for rows.Next() {
		var lang, grantee string
		if err := rows.Scan(&lang, &grantee); err != nil {
			return nil, err
		}
		l, err := ident("language", lang)
		if err != nil {
			return nil, err
		}
		g, err := ident("grantee", grantee)
		if err != nil {
			return nil, err
		}
		out = append(out, stmt{Section: sectionLanguage, Key: lang, SQL: "REVOKE ALL ON LANGUAGE " + l + " FROM " + g + " CASCADE"})
	}
	return out, rows.Err()
}

// extraGrantRevokes returns, for the backup's functions that exist now,
// REVOKE ... CASCADE statements for every grantee other than PUBLIC and
// the owner (those are revoked by the backup's own statements).
func extraGrantRevokes(ctx context.Context, q pgaurora.Querier, fns []FunctionState) ([]stmt, error) {
	if len(fns) == 0 {
		return nil, nil
	}
	schemas := make([]string, len(fns))
	names := make([]string, len(fns))
	args := make([]string, len(fns))
	for i, f := range fns {
		schemas[i], names[i], args[i] = f.Schema, f.Name, f.IdentityArgs
	}
	rows, err := q.Query(ctx, `SELECT DISTINCT u.ord, pg_catalog.pg_get_userbyid(a.grantee)::text
FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY u(nsp, name, args, ord)
JOIN pg_catalog.pg_namespace n ON n.nspname = u.nsp
JOIN pg_catalog.pg_proc p ON p.pronamespace = n.oid AND p.proname = u.name
  AND pg_catalog.pg_get_function_identity_arguments(p.oid) = u.args
CROSS JOIN LATERAL pg_catalog.aclexplode(p.proacl) a
WHERE a.grantee <> 0 AND a.grantee <> p.proowner
ORDER BY 1, 2`, schemas, names, args)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []stmt
	for rows.Next() {
		var ord int
		var grantee string
		if err := rows.Scan(&ord, &grantee); err != nil {
			return nil, err
		}
		f := fns[ord-1]
		kw := "FUNCTION"
		if f.Kind == "p" {
			kw = "PROCEDURE"
		}
		name, err := ident("function", f.Schema, f.Name)
		if err != nil {
			return nil, err
		}
		g, err := ident("grantee", grantee)
		if err != nil {
			return nil, err
		}
		out = append(out, stmt{Section: sectionFunction, Key: f.Key(),
			SQL: "REVOKE ALL ON " + kw + " " + name + "(" + f.IdentityArgs + ") FROM " + g + " CASCADE"})
	}
	return out, rows.Err()
}
