package aurora_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pgaurora/pgaurora/aurora"
)

// smRecorder counts the Secrets Manager operations sent through it, by
// their X-Amz-Target header.
type smRecorder struct {
	base aws.HTTPClient
	mu   sync.Mutex
	ops  map[string]int
}

func (r *smRecorder) Do(req *http.Request) (*http.Response, error) {
	if op, ok := strings.CutPrefix(req.Header.Get("X-Amz-Target"), "secretsmanager."); ok {
		r.mu.Lock()
		r.ops[op]++
		r.mu.Unlock()
	}
	return r.base.Do(req)
}

func (r *smRecorder) count(op string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ops[op]
}

// secretsClient returns a Secrets Manager client on the emulator whose
// calls rec counts.
func secretsClient(rec *smRecorder) *secretsmanager.Client {
	cfg := emu.AWSConfig()
	rec.base, rec.ops = http.DefaultClient, map[string]int{}
	cfg.HTTPClient = rec
	return secretsmanager.NewFromConfig(cfg)
}

// syncBuffer is a bytes.Buffer that a slog handler and the test share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// frozenSecret serves the first value it read forever, as a secret
// would whose rotation the caller cannot see.
type frozenSecret struct {
	api aurora.SecretsManagerAPI
	mu  sync.Mutex
	out *secretsmanager.GetSecretValueOutput
}

func (f *frozenSecret) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.out == nil {
		out, err := f.api.GetSecretValue(ctx, in, opts...)
		if err != nil {
			return nil, err
		}
		f.out = out
	}
	return f.out, nil
}

// TestSecretsManagerCredentialsRotation connects with the cluster's
// RDS-managed secret, rotates it through Secrets Manager, and checks that
// new connections succeed because the credentials read the secret again
// after the server refused the old password, on every pool entry point;
// and that no password reaches the log or an error.
func TestSecretsManagerCredentialsRotation(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rec := &smRecorder{}
	sm := secretsClient(rec)
	// A user finds the managed secret through Describe.
	plain, err := aurora.New(secretClusterID, aurora.WithAWSConfig(emu.AWSConfig()))
	if err != nil {
		t.Fatal(err)
	}
	d, err := plain.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	arn := d.MasterUserSecretARN
	if arn == "" || arn != emu.MasterUserSecretARN(secretClusterID) {
		t.Fatalf("Describe reports master user secret %q; the emulator made %q", arn, emu.MasterUserSecretARN(secretClusterID))
	}
	var logs syncBuffer
	creds := aurora.SecretsManagerSecret(sm, arn)
	c := openCluster(t, secretClusterID, nil, aurora.WithCredentials(creds),
		aurora.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	passwords := []string{emu.MasterPassword(secretClusterID)}

	w, err := c.Writer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var user string
	if err := w.QueryRow(ctx, "SELECT current_user").Scan(&user); err != nil || user != "postgres" {
		t.Fatalf("first query through the secret: %q, %v", user, err)
	}
	if n := rec.count("GetSecretValue"); n != 1 {
		t.Fatalf("GetSecretValue called %d times for the first connection, want 1", n)
	}

	// Each entry point of the pool, after a rotation that leaves the
	// credentials' copy stale and with no connection left in the pool.
	entries := []struct {
		name string
		run  func() error
	}{
		{"QueryRow", func() error {
			var one int
			return w.QueryRow(ctx, "SELECT 1").Scan(&one)
		}},
		{"Exec", func() error { _, err := w.Exec(ctx, "SELECT 1"); return err }},
		{"Begin", func() error {
			tx, err := w.Begin(ctx)
			if err != nil {
				return err
			}
			return tx.Rollback(ctx)
		}},
		{"Ping", func() error { return w.Ping(ctx) }},
	}
	for i, e := range entries {
		if _, err := sm.RotateSecret(ctx, &secretsmanager.RotateSecretInput{SecretId: aws.String(arn)}); err != nil {
			t.Fatalf("RotateSecret: %v", err)
		}
		passwords = append(passwords, emu.MasterPassword(secretClusterID))
		w.PGXPool().Reset()
		if err := e.run(); err != nil {
			t.Fatalf("%s after rotation %d: %v", e.name, i+1, err)
		}
		if n, want := rec.count("GetSecretValue"), i+2; n != want {
			t.Errorf("%s after rotation %d: GetSecretValue called %d times in all, want %d (one refresh per rotation)", e.name, i+1, n, want)
		}
	}
	if n := strings.Count(logs.String(), "refreshing credentials"); n != len(entries) {
		t.Errorf("the log reports %d credential refreshes, want %d:\n%s", n, len(entries), logs.String())
	}

	// A fresh handle with short-lived connections: the pool replaces its
	// connections on its own and each new one authenticates with the
	// current secret.
	fresh := openCluster(t, secretClusterID, nil, aurora.WithCredentials(aurora.SecretsManagerSecret(sm, arn)),
		aurora.WithPoolConfig(func(pc *pgxpool.Config) { pc.MaxConnLifetime, pc.MaxConnLifetimeJitter = 50*time.Millisecond, 0 }))
	fw, err := fresh.Writer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := fw.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	before := rec.count("GetSecretValue")
	if err := emu.RotateMasterPassword(ctx, secretClusterID); err != nil {
		t.Fatal(err)
	}
	passwords = append(passwords, emu.MasterPassword(secretClusterID))
	time.Sleep(100 * time.Millisecond) // past MaxConnLifetime: the pooled connection is not reused
	if err := fw.Ping(ctx); err != nil {
		t.Fatalf("a new connection of the fresh handle after the rotation: %v", err)
	}
	if rec.count("GetSecretValue") <= before {
		t.Error("the fresh handle did not read the secret again after the rotation")
	}

	// Credentials that cannot see the rotation fail with the server's
	// refusal, and the error holds no password.
	frozen := openCluster(t, secretClusterID, nil, aurora.WithCredentials(aurora.SecretsManagerSecret(&frozenSecret{api: sm}, arn)))
	fz, err := frozen.Writer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := fz.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if err := emu.RotateMasterPassword(ctx, secretClusterID); err != nil {
		t.Fatal(err)
	}
	passwords = append(passwords, emu.MasterPassword(secretClusterID))
	fz.PGXPool().Reset()
	staleErr := fz.Ping(ctx)
	var pgErr *pgconn.PgError
	if !errors.As(staleErr, &pgErr) || pgErr.Code != "28P01" || errors.Is(staleErr, aurora.ErrRetryable) {
		t.Errorf("a connection with a stale secret: %v; want SQLSTATE 28P01, not retryable", staleErr)
	}

	// A secret that does not exist: the error names it.
	missing := openCluster(t, secretClusterID, nil, aurora.WithCredentials(aurora.SecretsManagerSecret(sm, arn+"-gone")))
	mw, err := missing.Writer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	missingErr := mw.Ping(ctx)
	if missingErr == nil || !strings.Contains(missingErr.Error(), arn+"-gone") || !strings.Contains(missingErr.Error(), "ResourceNotFoundException") {
		t.Errorf("a missing secret: %v", missingErr)
	}

	// No password in the log, the errors or the descriptions.
	texts := map[string]string{"log": logs.String(), "stale error": errText(staleErr), "missing error": errText(missingErr),
		"handle": c.String(), "credentials": creds.String()}
	for what, text := range texts {
		for i, pw := range passwords {
			if strings.Contains(text, pw) {
				t.Errorf("the %s holds password %d", what, i)
			}
		}
	}
	if !strings.Contains(creds.String(), arn) {
		t.Errorf("credentials describe themselves as %q; want the secret's ARN", creds.String())
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
