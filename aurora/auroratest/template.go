package auroratest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora/internal/pgserver"
	"github.com/pgaurora/pgaurora/internal/scram"
	"github.com/pgaurora/pgaurora/internal/sqlquote"
)

// Fresh clusters from a template. initdb and what Aurora prepares on a
// new cluster (the rds_* roles, the topology functions, the extension
// guard) take seconds; so a new cluster's first writer, and the readers
// that start with it, start on copies of a template data directory that
// has them. The template is made once per machine and kept in the user's
// cache directory (os.UserCacheDir()/pgaurora, else the temporary
// directory), one per PostgreSQL installation, recipe and master user
// name (the bootstrap superuser's name is in the data); a template that
// is missing or unreadable is made again. A copy starts with the
// template's own random superuser password, which the writer replaces
// with the cluster's master password (its SCRAM verifier, with statement
// logging off) before it is reported available.
//
// A copy of the template is also a valid base for the cluster's WAL: the
// writer continues the template's WAL on timeline 1, so the readers a new
// cluster starts with are copies too, streaming from the writer without a
// base backup (the writer keeps that WAL: wal_keep_size).

// templateRecipe names what prepareTemplate makes; change it whenever that
// changes, so that old templates are not used.
const templateRecipe = "auroratest-2"

// dataTemplate is one template data directory: data/ under dir, cleanly
// stopped, never changed once made.
type dataTemplate struct {
	dir      string
	user     string // its bootstrap superuser
	password string // that user's password in the template: a secret of the template only
}

func (t *dataTemplate) dataDir() string { return filepath.Join(t.dir, "data") }

type templateMeta struct {
	Recipe   string `json:"recipe"`
	User     string `json:"user"`
	Password string `json:"password"`
}

var templates struct {
	mu     sync.Mutex
	byUser map[string]*dataTemplate
}

// loadTemplate returns the template for clusters whose master user is
// user, making it (in scratch, then in the cache) when the cache has none.
func loadTemplate(ctx context.Context, user, scratch string) (*dataTemplate, error) {
	templates.mu.Lock()
	defer templates.mu.Unlock()
	if t := templates.byUser[user]; t != nil {
		return t, nil
	}
	bin, err := pgserver.FindBinaries()
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(templateRecipe + "\x00" + bin.Dir + "\x00" + strconv.Itoa(bin.Major) + "\x00" + user))
	root, err := os.UserCacheDir()
	if err != nil {
		root = os.TempDir()
	}
	parent := filepath.Join(root, "pgaurora")
	final := filepath.Join(parent, "auroratest-template-"+hex.EncodeToString(sum[:8]))
	t, err := readTemplate(final, user)
	if err != nil {
		if t, err = makeTemplate(ctx, user, scratch, parent, final); err != nil {
			return nil, fmt.Errorf("auroratest: making the template data directory: %w", err)
		}
	}
	if templates.byUser == nil {
		templates.byUser = map[string]*dataTemplate{}
	}
	templates.byUser[user] = t
	return t, nil
}

// readTemplate reads a template made earlier.
func readTemplate(dir, user string) (*dataTemplate, error) {
	b, err := os.ReadFile(filepath.Join(dir, "template.json"))
	if err != nil {
		return nil, err
	}
	var m templateMeta
	if err := json.Unmarshal(b, &m); err != nil || m.Recipe != templateRecipe || m.User != user || m.Password == "" {
		return nil, errors.New("not a template of this recipe")
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "PG_VERSION")); err != nil {
		return nil, err
	}
	return &dataTemplate{dir: dir, user: user, password: m.Password}, nil
}

// makeTemplate makes a template in scratch (initdb, start, prepare, stop)
// and moves it into the cache at final, where another process may have
// put one meanwhile: then that one is used.
func makeTemplate(ctx context.Context, user, scratch, parent, final string) (*dataTemplate, error) {
	password := randomString(32)
	build := filepath.Join(scratch, "template-"+randomString(6))
	defer os.RemoveAll(build)
	srv, err := pgserver.Start(ctx, pgserver.Config{Dir: build, Superuser: user, Password: password, WALSegmentSize: 1})
	if err != nil {
		return nil, err
	}
	err = prepareTemplate(ctx, srv, user)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if serr := srv.Stop(sctx); err == nil {
		err = serr
	}
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(parent, ".building-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if err := pgserver.CopyTree(ctx, srv.DataDir(), filepath.Join(tmp, "data")); err != nil {
		return nil, err
	}
	meta, _ := json.Marshal(templateMeta{Recipe: templateRecipe, User: user, Password: password})
	if err := os.WriteFile(filepath.Join(tmp, "template.json"), meta, 0o600); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, final); err != nil {
		// Another process made it first, or a broken one is in the way.
		if t, rerr := readTemplate(final, user); rerr == nil {
			return t, nil
		}
		if err := os.RemoveAll(final); err != nil {
			return nil, err
		}
		if err := os.Rename(tmp, final); err != nil {
			return nil, err
		}
	}
	return &dataTemplate{dir: final, user: user, password: password}, nil
}

// prepareTemplate makes what Aurora has on a new cluster: the roles
// rds_superuser and rds_replication (granted to the master user) and
// rds_iam, and in every database, template0 included (so databases
// created from either template have them), the topology functions and the
// guard that enforces rds.allowed_extensions.
func prepareTemplate(ctx context.Context, srv *pgserver.Server, user string) error {
	master, err := sqlquote.Ident(user)
	if err != nil {
		return err
	}
	perDB := append(append([]string{}, topologySQL...), extensionGuardSQL...)
	err = execAll(ctx, srv, "postgres", append([]string{
		"CREATE ROLE rds_superuser NOLOGIN",
		"CREATE ROLE rds_replication NOLOGIN",
		"CREATE ROLE rds_iam NOLOGIN",
		"GRANT rds_superuser TO " + master + " WITH ADMIN OPTION",
		"GRANT rds_replication TO " + master + " WITH ADMIN OPTION",
		"ALTER DATABASE template0 ALLOW_CONNECTIONS true",
	}, perDB...))
	if err != nil {
		return err
	}
	if err := execAll(ctx, srv, "template1", perDB); err != nil {
		return fmt.Errorf("in template1: %w", err)
	}
	if err := execAll(ctx, srv, "template0", append(perDB, "VACUUM FREEZE")); err != nil {
		return fmt.Errorf("in template0: %w", err)
	}
	return execAll(ctx, srv, "postgres", []string{"ALTER DATABASE template0 ALLOW_CONNECTIONS false", "CHECKPOINT"})
}

// execAll runs statements in one database.
func execAll(ctx context.Context, srv *pgserver.Server, db string, stmts []string) error {
	conn, err := srv.Connect(ctx, db)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("%.60s...: %w", s, err)
		}
	}
	return nil
}

// prepareCopy makes a writer started on a copy of the template its
// cluster's: the master password replaces the template's (before anybody
// but the emulator can log in with it) and the cluster's database, when
// it names one, is created.
func prepareCopy(ctx context.Context, srv *pgserver.Server, master, password, dbName string) error {
	conn, err := srv.Connect(ctx, "postgres")
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := setPassword(ctx, conn, master, password); err != nil {
		return fmt.Errorf("setting the master password: %w", err)
	}
	if err := srv.SetPassword(password); err != nil {
		return err
	}
	if dbName != "" {
		db, err := sqlquote.Ident(dbName)
		if err != nil {
			return err
		}
		// FILE_COPY copies template1's files: much less WAL than the
		// default, which writes every page.
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+db+" STRATEGY FILE_COPY"); err != nil {
			return fmt.Errorf("creating database %s: %w", dbName, err)
		}
	}
	return nil
}

// setPassword sets a role's password to the SCRAM-SHA-256 verifier of
// password, without statement logging, so that no log holds it.
func setPassword(ctx context.Context, conn *pgx.Conn, user, password string) error {
	verifier, err := scram.Verifier(password, nil, scram.DefaultIterations)
	if err != nil {
		return err
	}
	stmt, err := alterPasswordSQL(user, verifier)
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		for _, s := range []string{"SET LOCAL log_statement = 'none'", stmt} {
			if _, err := tx.Exec(ctx, s); err != nil {
				return err
			}
		}
		return nil
	})
}
