package auroratest

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/internal/scram"
	"github.com/pgaurora/pgaurora/internal/sqlquote"
	"github.com/pgaurora/pgaurora/internal/wait"
)

// AWS Secrets Manager, on the same endpoint as the RDS API: the awsJson1.1
// protocol (POST /, X-Amz-Target: secretsmanager.<Action>, a JSON body;
// JSON results; errors {"__type": code, "Message": text} with HTTP 400, or
// 500 for InternalServiceError), as aws-sdk-go-v2/service/secretsmanager
// writes and reads it.
//
// A cluster created with ClusterConfig.ManageMasterUserPassword has a
// secret that RDS manages: its value holds the master user's name and
// password, DescribeDBClusters reports it as MasterUserSecret, and
// rotating it (RotateSecret, or the RotateMasterPassword hook) gives the
// master user a new random password on the cluster's servers before the
// secret's value changes. CreateSecret makes plain secrets, for tests of
// code that reads secrets of its own.

const (
	stageCurrent  = "AWSCURRENT"
	stagePrevious = "AWSPREVIOUS"
	stagePending  = "AWSPENDING"

	// secretStatusActive and secretStatusRotating are the
	// MasterUserSecret.SecretStatus values the emulator reports.
	secretStatusActive   = "active"
	secretStatusRotating = "rotating"

	// managedRotationDays is the rotation schedule RDS gives the secrets
	// it manages.
	managedRotationDays = 7
	// rotationTimeout bounds one rotation (the ALTER ROLE and the wait for
	// the readers to replay it).
	rotationTimeout = 30 * time.Second
)

// secret is one emulated secret. Fields are guarded by Emulator.mu.
type secret struct {
	arn, name, description string
	cluster                *cluster // the cluster whose master user RDS manages with it; nil for CreateSecret's
	created                time.Time
	lastChanged            time.Time
	lastRotated            time.Time // zero until the first rotation
	lastAccessed           time.Time // zero until the first GetSecretValue
	current                secretVersion
	previous               *secretVersion // AWSPREVIOUS after a rotation
}

// secretVersion is one version of a secret's value.
type secretVersion struct {
	id      string
	value   string
	created time.Time
}

func smInvalidParameter(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "InvalidParameterException", fmt.Sprintf(format, args...)}
}

func smInvalidRequest(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "InvalidRequestException", fmt.Sprintf(format, args...)}
}

func smNotFound(message string) *apiError {
	return &apiError{http.StatusBadRequest, "ResourceNotFoundException", message}
}

var errSecretNotFound = smNotFound("Secrets Manager can't find the specified secret.")

// secretsManager is the Secrets Manager service: its actions, each with
// the request members it reads.
func (e *Emulator) secretsManager() *jsonService {
	return &jsonService{
		name:        "Secrets Manager",
		prefix:      "secretsmanager.",
		contentType: "application/x-amz-json-1.1",
		actions: map[string]jsonAction{
			"GetSecretValue": {[]string{"SecretId", "VersionId", "VersionStage"}, e.smGetSecretValue},
			"DescribeSecret": {[]string{"SecretId"}, e.smDescribeSecret},
			"RotateSecret":   {[]string{"SecretId", "ClientRequestToken", "RotateImmediately"}, e.smRotateSecret},
			"CreateSecret":   {[]string{"Name", "SecretString", "Description", "ClientRequestToken"}, e.smCreateSecret},
		},
	}
}

// lookupSecret finds a secret by name, ARN, or ARN without the six
// random characters Secrets Manager appends to the name, answering as
// Secrets Manager does when id is empty or names no secret.
func (e *Emulator) lookupSecret(st *state, id string) (*secret, error) {
	if id == "" {
		return nil, smInvalidParameter("You must provide a SecretId.")
	}
	for _, s := range st.secrets {
		if id == s.name || id == s.arn || id == s.arn[:len(s.arn)-7] {
			return s, nil
		}
	}
	return nil, errSecretNotFound
}

func (e *Emulator) secretARN(name string) string {
	return "arn:aws:secretsmanager:" + e.region + ":" + e.account + ":secret:" + name + "-" + randomString(6)
}

// newUUID returns a random version 4 UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// managedSecretValue is the SecretString of a cluster's managed secret.
func managedSecretValue(c *cluster, password string) string {
	b, _ := json.Marshal(struct {
		Username            string `json:"username"`
		Password            string `json:"password"`
		Engine              string `json:"engine"`
		Host                string `json:"host"`
		Port                int    `json:"port"`
		DBClusterIdentifier string `json:"dbClusterIdentifier"`
	}{c.masterUser, password, "postgres", writerEndpointHost, c.port, c.id})
	return string(b)
}

// createManagedSecret gives a cluster the secret RDS creates for
// ManageMasterUserPassword, named rds!cluster-<uuid>. The cluster's port
// must be known.
func (e *Emulator) createManagedSecret(st *state, c *cluster) {
	now := time.Now().UTC()
	name := "rds!cluster-" + newUUID()
	s := &secret{
		arn: e.secretARN(name), name: name, cluster: c, created: now, lastChanged: now,
		description: "Secret associated with primary RDS DB cluster: " + e.arn("cluster", c.id),
		current:     secretVersion{id: newUUID(), value: managedSecretValue(c, c.masterPassword), created: now},
	}
	st.secrets = append(st.secrets, s)
	c.secret = s
	c.secretStatus = secretStatusActive
}

// MasterUserSecretARN returns the ARN of the Secrets Manager secret that
// holds the master user's password of a cluster created with
// ManageMasterUserPassword, as DescribeDBClusters reports it in
// MasterUserSecret.SecretArn; "" for other or unknown clusters.
func (e *Emulator) MasterUserSecretARN(clusterID string) string {
	st := e.lock()
	defer st.unlock()
	if c, ok := st.cluster(e, clusterID); ok && c.secret != nil {
		return c.secret.arn
	}
	return ""
}

// xMasterUserSecret is the cluster's MasterUserSecret; nil when RDS
// does not manage its password.
func (e *Emulator) xMasterUserSecret(c *cluster) *xMasterUserSecret {
	if c.secret == nil {
		return nil
	}
	return &xMasterUserSecret{SecretArn: c.secret.arn, SecretStatus: c.secretStatus, KmsKeyId: e.kmsKeyARN}
}

type jGetSecretValueInput struct {
	SecretId     string
	VersionId    string
	VersionStage string
}

type jGetSecretValueOutput struct {
	ARN           string
	Name          string
	VersionId     string
	SecretString  string
	VersionStages []string
	CreatedDate   epoch
}

func (e *Emulator) smGetSecretValue(_ context.Context, body []byte) (any, error) {
	var in jGetSecretValueInput
	if err := decodeMembers(body, &in); err != nil {
		return nil, err
	}
	st := e.lock()
	defer st.unlock()
	s, err := e.lookupSecret(st, in.SecretId)
	if err != nil {
		return nil, err
	}
	type staged struct {
		v     secretVersion
		stage string
	}
	versions := []staged{{s.current, stageCurrent}}
	if s.previous != nil {
		versions = append(versions, staged{*s.previous, stagePrevious})
	}
	stage := in.VersionStage
	if stage == "" && in.VersionId == "" {
		stage = stageCurrent
	}
	for _, v := range versions {
		if (in.VersionId == "" || in.VersionId == v.v.id) && (stage == "" || stage == v.stage) {
			s.lastAccessed = time.Now().UTC()
			return jGetSecretValueOutput{
				ARN: s.arn, Name: s.name, VersionId: v.v.id, SecretString: v.v.value,
				VersionStages: []string{v.stage}, CreatedDate: epoch(v.v.created),
			}, nil
		}
	}
	switch {
	case in.VersionId != "" && stage != "":
		return nil, smNotFound(fmt.Sprintf("Secrets Manager can't find the specified secret value for VersionId: %s and staging label: %s", in.VersionId, stage))
	case in.VersionId != "":
		return nil, smNotFound("Secrets Manager can't find the specified secret value for VersionId: " + in.VersionId)
	default:
		return nil, smNotFound("Secrets Manager can't find the specified secret value for staging label: " + stage)
	}
}

type jRotationRules struct {
	AutomaticallyAfterDays int64
}

type jTag struct {
	Key, Value string
}

type jDescribeSecretOutput struct {
	ARN                string
	Name               string
	Description        string          `json:",omitempty"`
	KmsKeyId           string          `json:",omitempty"`
	RotationEnabled    bool            `json:",omitempty"`
	RotationRules      *jRotationRules `json:",omitempty"`
	LastRotatedDate    *epoch          `json:",omitempty"`
	LastChangedDate    *epoch          `json:",omitempty"`
	LastAccessedDate   *epoch          `json:",omitempty"`
	NextRotationDate   *epoch          `json:",omitempty"`
	Tags               []jTag          `json:",omitempty"`
	VersionIdsToStages map[string][]string
	OwningService      string `json:",omitempty"`
	CreatedDate        epoch
}

func (e *Emulator) smDescribeSecret(_ context.Context, body []byte) (any, error) {
	var in struct{ SecretId string }
	if err := decodeMembers(body, &in); err != nil {
		return nil, err
	}
	st := e.lock()
	defer st.unlock()
	s, err := e.lookupSecret(st, in.SecretId)
	if err != nil {
		return nil, err
	}
	out := jDescribeSecretOutput{
		ARN: s.arn, Name: s.name, Description: s.description,
		LastChangedDate: epochPtr(s.lastChanged), LastRotatedDate: epochPtr(s.lastRotated),
		LastAccessedDate:   epochPtr(s.lastAccessed.Truncate(24 * time.Hour)), // Secrets Manager keeps the day only
		VersionIdsToStages: map[string][]string{s.current.id: {stageCurrent}},
		CreatedDate:        epoch(s.created),
	}
	if s.previous != nil {
		out.VersionIdsToStages[s.previous.id] = []string{stagePrevious}
	}
	if c := s.cluster; c != nil {
		last := s.lastRotated
		if last.IsZero() {
			last = s.created
		}
		out.KmsKeyId = e.kmsKeyARN
		out.RotationEnabled = true
		out.RotationRules = &jRotationRules{AutomaticallyAfterDays: managedRotationDays}
		out.NextRotationDate = epochPtr(last.Add(managedRotationDays * 24 * time.Hour))
		out.OwningService = "rds"
		out.Tags = []jTag{
			{"aws:rds:primaryDBClusterArn", e.arn("cluster", c.id)},
			{"aws:secretsmanager:owningService", "rds"},
		}
	}
	return out, nil
}

type jVersionOutput struct {
	ARN       string
	Name      string
	VersionId string
}

// validToken checks a ClientRequestToken, which becomes a version ID.
func validToken(tok string) error {
	if tok != "" && (len(tok) < 32 || len(tok) > 64) {
		return smInvalidParameter("ClientRequestToken must be 32 to 64 characters long.")
	}
	return nil
}

func (e *Emulator) smRotateSecret(ctx context.Context, body []byte) (any, error) {
	var in struct {
		SecretId           string
		ClientRequestToken string
		RotateImmediately  *bool
	}
	if err := decodeMembers(body, &in); err != nil {
		return nil, err
	}
	st := e.lock()
	s, err := e.lookupSecret(st, in.SecretId)
	if err != nil {
		st.unlock()
		return nil, err
	}
	c := s.cluster
	st.unlock()
	if err := validToken(in.ClientRequestToken); err != nil {
		return nil, err
	}
	if in.RotateImmediately != nil && !*in.RotateImmediately {
		return nil, smInvalidParameter("auroratest rotates only immediately: RotateImmediately false (rotation at the next scheduled window) is not emulated.")
	}
	if c == nil {
		return nil, smInvalidRequest("No Lambda rotation function ARN is associated with this secret (auroratest rotates only the secrets RDS manages).")
	}
	rctx, cancel := context.WithTimeout(ctx, rotationTimeout)
	defer cancel()
	id, err := e.rotateMasterPassword(rctx, c, in.ClientRequestToken)
	if err != nil {
		return nil, err
	}
	return jVersionOutput{ARN: s.arn, Name: s.name, VersionId: id}, nil
}

// secretNameRE is what Secrets Manager accepts as a secret name.
var secretNameRE = regexp.MustCompile(`^[A-Za-z0-9/_+=.@-]{1,512}$`)

func (e *Emulator) smCreateSecret(_ context.Context, body []byte) (any, error) {
	var in struct {
		Name               string
		SecretString       *string
		Description        string
		ClientRequestToken string
	}
	if err := decodeMembers(body, &in); err != nil {
		return nil, err
	}
	if !secretNameRE.MatchString(in.Name) {
		return nil, smInvalidParameter("Invalid name %q: use 1 to 512 letters, digits and /_+=.@- characters.", in.Name)
	}
	if in.SecretString == nil {
		return nil, smInvalidParameter("auroratest needs a SecretString: secrets without a value, and SecretBinary, are not emulated.")
	}
	if len(*in.SecretString) > 65536 {
		return nil, smInvalidParameter("The SecretString is longer than 65536 bytes.")
	}
	if err := validToken(in.ClientRequestToken); err != nil {
		return nil, err
	}
	version := in.ClientRequestToken
	if version == "" {
		version = newUUID()
	}
	st := e.lock()
	defer st.unlock()
	for _, s := range st.secrets {
		if s.name == in.Name {
			return nil, &apiError{http.StatusBadRequest, "ResourceExistsException", "The operation failed because the secret " + in.Name + " already exists."}
		}
	}
	now := time.Now().UTC()
	s := &secret{
		arn: e.secretARN(in.Name), name: in.Name, description: in.Description, created: now, lastChanged: now,
		current: secretVersion{id: version, value: *in.SecretString, created: now},
	}
	st.secrets = append(st.secrets, s)
	return jVersionOutput{ARN: s.arn, Name: s.name, VersionId: version}, nil
}

// RotateMasterPassword gives a cluster's master user a new random password,
// as the rotation of an RDS-managed secret does (Secrets Manager's
// RotateSecret on MasterUserSecretARN does the same): the password is
// changed on the writer with ALTER ROLE ... PASSWORD carrying its
// SCRAM-SHA-256 verifier (so no log line holds the password), the readers
// replay the change, and then the cluster's secret (when it has one) and
// MasterPassword return the new password. Connections made before stay
// open; new ones need the new password. The cluster and every instance
// must be available. ctx bounds the rotation.
func (e *Emulator) RotateMasterPassword(ctx context.Context, clusterID string) error {
	st := e.lock()
	c, ok := st.cluster(e, clusterID)
	st.unlock()
	if !ok {
		return fmt.Errorf("auroratest: no DB cluster %q", clusterID)
	}
	_, err := e.rotateMasterPassword(ctx, c, "")
	return err
}

// rotateMasterPassword rotates the master password of c and returns the
// new version ID of its secret (token when given). A token naming a version
// the secret already has makes the call a repeat: nothing changes.
func (e *Emulator) rotateMasterPassword(ctx context.Context, c *cluster, token string) (string, error) {
	return e.setMasterPassword(ctx, c, generatePassword(), token, statusAvailable)
}

// setMasterPassword gives the master user of c a new password, as
// rotateMasterPassword describes, while c is in the given status
// (available for a rotation, modifying for ModifyDBCluster's
// MasterUserPassword).
func (e *Emulator) setMasterPassword(ctx context.Context, c *cluster, password, token, during string) (string, error) {
	unlock := e.lockMembers(c)
	defer unlock()

	st := e.lock()
	if st.closed {
		st.unlock()
		return "", errors.New("auroratest: the emulator is closed")
	}
	if s := c.secret; s != nil && token != "" && (token == s.current.id || s.previous != nil && token == s.previous.id) {
		st.unlock()
		return token, nil
	}
	if c.status != during {
		st.unlock()
		return "", smInvalidRequest("DB cluster %s is %s: its master user password can be rotated only while it is available.", c.id, c.status)
	}
	for _, in := range c.members {
		if s := in.busyStatus(statusAvailable); s != "" || in.server == nil || !in.server.Running() {
			if s == "" {
				s = in.status
			}
			st.unlock()
			return "", smInvalidRequest("DB instance %s is %s: the master user password can be rotated only while every instance of cluster %s is available.", in.id, s, c.id)
		}
	}
	w := c.writer()
	writer := w.server
	readers := c.readers()
	members := slices.Clone(c.members)
	user := c.masterUser
	if c.secret != nil {
		c.secretStatus = secretStatusRotating
	}
	st.unlock()
	defer func() {
		st = e.lock()
		if c.secret != nil {
			c.secretStatus = secretStatusActive
		}
		st.unlock()
	}()

	verifier, err := scram.Verifier(password, nil, scram.DefaultIterations)
	if err != nil {
		return "", fmt.Errorf("auroratest: rotating the master password of %s: %w", c.id, err)
	}
	stmt, err := alterPasswordSQL(user, verifier)
	if err != nil {
		return "", fmt.Errorf("auroratest: rotating the master password of %s: %w", c.id, err)
	}
	// Sessions on the readers, opened with the current password, watch
	// the change replay.
	watch := make([]*pgx.Conn, 0, len(readers))
	defer func() {
		for _, conn := range watch {
			conn.Close(context.WithoutCancel(ctx))
		}
	}()
	for _, in := range readers {
		conn, err := pgx.Connect(ctx, in.server.ConnString("postgres"))
		if err != nil {
			return "", fmt.Errorf("auroratest: rotating the master password of %s: connecting to reader %s: %w", c.id, in.id, err)
		}
		watch = append(watch, conn)
	}
	lsn, err := alterPassword(ctx, writer.ConnString("postgres"), stmt)
	if err != nil {
		return "", fmt.Errorf("auroratest: rotating the master password of %s on writer %s: %w", c.id, w.id, err)
	}

	// The writer has the new password: from here on it is the truth,
	// whatever else fails.
	var errs []error
	for _, in := range members {
		if err := in.server.SetPassword(password); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", in.id, err))
		}
	}
	version := token
	if version == "" {
		version = newUUID()
	}
	st = e.lock()
	c.masterPassword = password
	if s := c.secret; s != nil {
		now := time.Now().UTC()
		prev := s.current
		s.previous = &prev
		s.current = secretVersion{id: version, value: managedSecretValue(c, password), created: now}
		s.lastChanged, s.lastRotated = now, now
	}
	st.unlock()

	// The readers' WAL receivers use the new password the next time they
	// connect (SetPassword); new sessions on a reader need it once the
	// reader has replayed the change.
	for i, in := range readers {
		if err := waitReplay(ctx, watch[i], lsn); err != nil {
			errs = append(errs, fmt.Errorf("reader %s replaying the new password: %w", in.id, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		e.log.Error("auroratest: the master password changed, but not everywhere", "cluster", c.id, "error", err)
		return "", fmt.Errorf("auroratest: rotating the master password of %s: the writer has the new password, but: %w", c.id, err)
	}
	e.log.Info("auroratest: master password rotated", "cluster", c.id)
	return version, nil
}

// alterPasswordSQL is ALTER ROLE user PASSWORD 'verifier'. ALTER ROLE
// takes no bind parameter, so the verifier is a quoted literal.
func alterPasswordSQL(user, verifier string) (string, error) {
	role, err := sqlquote.Ident(user)
	if err != nil {
		return "", err
	}
	lit, err := sqlquote.Literal(verifier)
	if err != nil {
		return "", err
	}
	return "ALTER ROLE " + role + " PASSWORD " + lit, nil
}

// alterPassword runs the ALTER ROLE on the writer, durably and without
// statement logging, and returns the WAL position the readers must replay
// to have it.
func alterPassword(ctx context.Context, connString, stmt string) (string, error) {
	conn, err := pgx.Connect(ctx, connString)
	if err != nil {
		return "", err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		for _, s := range []string{"SET LOCAL log_statement = 'none'", "SET LOCAL synchronous_commit = on", stmt} {
			if _, err := tx.Exec(ctx, s); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	// The commit was flushed (synchronous_commit on): the flush position
	// is past it. The insert position may be past a page header that no
	// record follows yet, which a reader would not replay until the
	// writer writes again.
	var lsn string
	err = conn.QueryRow(ctx, "SELECT pg_current_wal_flush_lsn()::text").Scan(&lsn)
	return lsn, err
}

// waitReplay waits until a reader has replayed the WAL up to lsn.
func waitReplay(ctx context.Context, conn *pgx.Conn, lsn string) error {
	return wait.Until(ctx, pgaurora.Wait{}, pollServer, func(ctx context.Context) (bool, error) {
		var done bool
		err := conn.QueryRow(ctx, "SELECT coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false)", lsn).Scan(&done)
		return done, err
	})
}

// generatePassword returns a random password of 32 characters of the kind
// RDS generates: letters, digits and punctuation other than / " @ ' \ `
// and space.
func generatePassword() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&()*+,-.:;<=>?[]^_{|}~"
	const limit = 256 - 256%len(alphabet) // rejection sampling: no character is likelier than another
	out := make([]byte, 0, 32)
	var b [64]byte
	for len(out) < cap(out) {
		_, _ = rand.Read(b[:])
		for _, x := range b {
			if int(x) < limit && len(out) < cap(out) {
				out = append(out, alphabet[int(x)%len(alphabet)])
			}
		}
	}
	return string(out)
}
