package aurora

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/rds/auth"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/pgaurora/pgaurora/internal/redact"
)

// Credentials supply the user name and password for each new database
// connection. Make them with StaticPassword, SecretsManagerSecret or
// IAMAuth. They are asked once per new connection, never cached across a
// failed authentication, and never printed: String returns a description
// without the secret.
type Credentials interface {
	// String describes the credentials without their secret.
	String() string
	// credentials returns the user and password for a connection to
	// host:port.
	credentials(ctx context.Context, host string, port int) (user, password string, err error)
	// authFailed tells the credentials that the server refused them, so
	// the next call fetches fresh ones.
	authFailed()
}

type staticCredentials struct{ user, password string }

// StaticPassword authenticates as user with a fixed password.
func StaticPassword(user, password string) Credentials {
	return &staticCredentials{user: user, password: password}
}

func (s *staticCredentials) String() string {
	return "static password for user " + strconv.Quote(s.user)
}

// Format, GoString and LogValue print String, for every verb, so that
// no way of printing the credentials shows the password.
func (s *staticCredentials) Format(f fmt.State, verb rune) {
	redact.Format(f, verb, s.String(), s.GoString())
}
func (s *staticCredentials) GoString() string {
	return redact.GoString("aurora.Credentials", s.String())
}
func (s *staticCredentials) LogValue() slog.Value { return slog.StringValue(s.String()) }
func (s *staticCredentials) credentials(context.Context, string, int) (string, string, error) {
	return s.user, s.password, nil
}
func (s *staticCredentials) authFailed() {}

// SecretsManagerAPI is the part of the AWS Secrets Manager client that
// SecretsManagerSecret calls. *secretsmanager.Client satisfies it.
type SecretsManagerAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

type secretCredentials struct {
	api      SecretsManagerAPI
	secretID string

	mu       sync.Mutex
	user     string
	password string
	fetched  bool
}

// SecretsManagerSecret reads the user and password from an AWS Secrets
// Manager secret in the JSON form RDS manages ({"username": ..., "password":
// ...}). The secret is read when the first connection is made and read
// again after the server refuses it, which is what happens once the secret
// has been rotated.
func SecretsManagerSecret(api SecretsManagerAPI, secretID string) Credentials {
	return &secretCredentials{api: api, secretID: secretID}
}

func (s *secretCredentials) String() string {
	return "AWS Secrets Manager secret " + strconv.Quote(s.secretID)
}

func (s *secretCredentials) Format(f fmt.State, verb rune) {
	redact.Format(f, verb, s.String(), s.GoString())
}
func (s *secretCredentials) GoString() string {
	return redact.GoString("aurora.Credentials", s.String())
}
func (s *secretCredentials) LogValue() slog.Value { return slog.StringValue(s.String()) }

func (s *secretCredentials) credentials(ctx context.Context, _ string, _ int) (string, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fetched {
		return s.user, s.password, nil
	}
	out, err := s.api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(s.secretID)})
	if err != nil {
		return "", "", fmt.Errorf("aurora: reading secret %q: %w", s.secretID, err)
	}
	var v struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	// The secret's text is never quoted in an error: it is the secret.
	if out.SecretString == nil || json.Unmarshal([]byte(*out.SecretString), &v) != nil {
		return "", "", fmt.Errorf("aurora: secret %q is not a JSON object with username and password", s.secretID)
	}
	if v.Username == "" || v.Password == "" {
		return "", "", fmt.Errorf("aurora: secret %q lacks a username or a password", s.secretID)
	}
	s.user, s.password, s.fetched = v.Username, v.Password, true
	return s.user, s.password, nil
}

func (s *secretCredentials) authFailed() {
	s.mu.Lock()
	s.fetched = false
	s.mu.Unlock()
}

// TokenBuilder mints an IAM authentication token for user at endpoint
// (host:port) in region. auth.BuildAuthToken is the real one.
type TokenBuilder func(ctx context.Context, endpoint, region, user string, creds aws.CredentialsProvider) (string, error)

type iamCredentials struct {
	user   string
	region string
	creds  aws.CredentialsProvider
	build  TokenBuilder
}

// IAMAuth authenticates as user with IAM database authentication: a fresh
// token, signed with the AWS credentials of cfg, is minted for every new
// connection (tokens live 15 minutes, and a pool's connections outlive
// that, so a cached token would fail). The instance must have IAM
// authentication enabled and the user must be granted rds_iam
// (Cluster.EnableIAMAuth does both); IAM authentication requires TLS. build may be nil for auth.BuildAuthToken.
func IAMAuth(cfg aws.Config, user string, build TokenBuilder) Credentials {
	if build == nil {
		build = func(ctx context.Context, endpoint, region, user string, creds aws.CredentialsProvider) (string, error) {
			return auth.BuildAuthToken(ctx, endpoint, region, user, creds)
		}
	}
	return &iamCredentials{user: user, region: cfg.Region, creds: cfg.Credentials, build: build}
}

func (c *iamCredentials) String() string {
	return "IAM authentication for user " + strconv.Quote(c.user) + " in " + c.region
}

func (c *iamCredentials) Format(f fmt.State, verb rune) {
	redact.Format(f, verb, c.String(), c.GoString())
}
func (c *iamCredentials) GoString() string     { return redact.GoString("aurora.Credentials", c.String()) }
func (c *iamCredentials) LogValue() slog.Value { return slog.StringValue(c.String()) }

func (c *iamCredentials) credentials(ctx context.Context, host string, port int) (string, string, error) {
	if c.creds == nil || c.region == "" {
		return "", "", errors.New("aurora: IAM authentication needs an aws.Config with a region and credentials")
	}
	tok, err := c.build(ctx, net.JoinHostPort(host, strconv.Itoa(port)), c.region, c.user, c.creds)
	if err != nil {
		return "", "", fmt.Errorf("aurora: minting an IAM authentication token for %q: %w", c.user, err)
	}
	return c.user, tok, nil
}

func (c *iamCredentials) authFailed() {}
