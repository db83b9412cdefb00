package auroratest

import (
	"bufio"
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// IAM database authentication, checked by the servers themselves. When a
// cluster has IAMDatabaseAuthenticationEnabled, every instance's
// pg_hba.conf sends the logins of members of rds_iam (over TLS; without
// TLS they are refused) to LDAP simple-bind authentication against a small
// LDAP server the emulator runs on 127.0.0.1: PostgreSQL binds as
// "instance=<id>;user=<role>" with the password the client sent, and the
// verifier accepts the bind only when that password is a valid IAM
// authentication token for the role and the instance (see checkIAMToken).
// PostgreSQL runs this for every connection, direct or through an
// endpoint, so nothing gets around it; a password of an rds_iam member no
// longer logs in, as on Aurora. A refusal is PostgreSQL's "LDAP
// authentication failed for user" (SQLSTATE 28000), where Aurora says PAM;
// the emulator logs why it refused (never the token). The master user
// keeps its password even if granted rds_iam: the emulator manages the
// servers as the master user.

// iamVerifier is the emulator's LDAP server.
type iamVerifier struct {
	ln    net.Listener
	check func(instanceID, user, token string) error
	log   func(instanceID, user string, err error)

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// startIAMVerifier opens the verifier on a free port of 127.0.0.1.
func startIAMVerifier(check func(instanceID, user, token string) error, log func(string, string, error)) (*iamVerifier, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("auroratest: listening for IAM authentication: %w", err)
	}
	v := &iamVerifier{ln: ln, check: check, log: log, conns: map[net.Conn]struct{}{}}
	v.wg.Add(1)
	go v.serve()
	return v, nil
}

func (v *iamVerifier) port() int { return v.ln.Addr().(*net.TCPAddr).Port }

func (v *iamVerifier) serve() {
	defer v.wg.Done()
	for {
		conn, err := v.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		v.mu.Lock()
		if v.closed {
			v.mu.Unlock()
			conn.Close()
			return
		}
		v.conns[conn] = struct{}{}
		v.mu.Unlock()
		v.wg.Add(1)
		go func() {
			defer v.wg.Done()
			v.handle(conn)
			v.mu.Lock()
			delete(v.conns, conn)
			v.mu.Unlock()
			conn.Close()
		}()
	}
}

func (v *iamVerifier) close() {
	v.mu.Lock()
	v.closed = true
	for c := range v.conns {
		c.Close()
	}
	v.mu.Unlock()
	v.ln.Close()
	v.wg.Wait()
}

// LDAP, as little of it as PostgreSQL's simple bind uses (RFC 4511):
// BindRequest with simple authentication, answered by a BindResponse, and
// UnbindRequest. Anything else is answered with protocolError and the
// connection closes.
const (
	berSequence    = 0x30
	berInteger     = 0x02
	berOctetString = 0x04
	berEnumerated  = 0x0a
	ldapBindReq    = 0x60 // [APPLICATION 0], constructed
	ldapBindResp   = 0x61 // [APPLICATION 1], constructed
	ldapUnbindReq  = 0x42 // [APPLICATION 2], primitive
	ldapSimpleAuth = 0x80 // [0], primitive

	ldapSuccess            = 0
	ldapProtocolError      = 2
	ldapInvalidCredentials = 49

	maxLDAPMessage = 64 << 10
)

func (v *iamVerifier) handle(conn net.Conn) {
	r := bufio.NewReader(conn)
	for {
		_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		tag, msg, err := readBER(r)
		if err != nil || tag != berSequence {
			return
		}
		id, op, err := splitLDAPMessage(msg)
		if err != nil {
			_, _ = conn.Write(bindResponse(0, ldapProtocolError, "malformed LDAP message"))
			return
		}
		switch op.tag {
		case ldapUnbindReq:
			return
		case ldapBindReq:
			code, text := v.bind(op.content)
			if _, err := conn.Write(bindResponse(id, code, text)); err != nil {
				return
			}
		default:
			_, _ = conn.Write(bindResponse(id, ldapProtocolError, "auroratest's IAM verifier only binds"))
			return
		}
	}
}

// bind checks one BindRequest: the name PostgreSQL made from its
// ldapprefix and the user, the token as the simple password.
func (v *iamVerifier) bind(content []byte) (int, string) {
	fields, err := berFields(content)
	if err != nil || len(fields) < 3 || fields[0].tag != berInteger || fields[1].tag != berOctetString || fields[2].tag != ldapSimpleAuth {
		return ldapProtocolError, "only simple binds are supported"
	}
	instanceID, user, ok := parseBindName(string(fields[1].content))
	if !ok {
		return ldapInvalidCredentials, "unknown bind name"
	}
	if err := v.check(instanceID, user, string(fields[2].content)); err != nil {
		v.log(instanceID, user, err)
		return ldapInvalidCredentials, "invalid IAM authentication token"
	}
	return ldapSuccess, ""
}

// bindName is the bind name the pg_hba.conf line of an instance makes
// PostgreSQL use: this prefix, then the user name.
func bindNamePrefix(instanceID string) string { return "instance=" + instanceID + ";user=" }

func parseBindName(name string) (instanceID, user string, ok bool) {
	rest, ok := strings.CutPrefix(name, "instance=")
	if !ok {
		return "", "", false
	}
	instanceID, user, ok = strings.Cut(rest, ";user=")
	return instanceID, user, ok && instanceID != "" && user != ""
}

type berField struct {
	tag     byte
	content []byte
}

// readBER reads one BER element with a definite length.
func readBER(r *bufio.Reader) (byte, []byte, error) {
	tag, err := r.ReadByte()
	if err != nil {
		return 0, nil, err
	}
	n, err := readBERLength(r)
	if err != nil {
		return 0, nil, err
	}
	content := make([]byte, n)
	if _, err := io.ReadFull(r, content); err != nil {
		return 0, nil, err
	}
	return tag, content, nil
}

func readBERLength(r io.ByteReader) (int, error) {
	b, err := r.ReadByte()
	if err != nil {
		return 0, err
	}
	if b < 0x80 {
		return int(b), nil
	}
	octets := int(b & 0x7f)
	if octets == 0 || octets > 4 {
		return 0, errors.New("unsupported BER length")
	}
	n := 0
	for i := 0; i < octets; i++ {
		b, err := r.ReadByte()
		if err != nil {
			return 0, err
		}
		n = n<<8 | int(b)
	}
	if n > maxLDAPMessage {
		return 0, errors.New("LDAP message too long")
	}
	return n, nil
}

// berFields splits the content of a constructed element into its
// elements.
func berFields(b []byte) ([]berField, error) {
	var out []berField
	r := bufio.NewReader(strings.NewReader(string(b)))
	for {
		tag, content, err := readBER(r)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, berField{tag, content})
	}
}

// splitLDAPMessage reads an LDAPMessage's message ID and operation.
func splitLDAPMessage(msg []byte) (int, berField, error) {
	fields, err := berFields(msg)
	if err != nil || len(fields) < 2 || fields[0].tag != berInteger || len(fields[0].content) == 0 || len(fields[0].content) > 4 {
		return 0, berField{}, errors.New("malformed LDAPMessage")
	}
	id := 0
	for _, b := range fields[0].content {
		id = id<<8 | int(b)
	}
	return id, fields[1], nil
}

func berElement(tag byte, content []byte) []byte {
	n := len(content)
	var head []byte
	switch {
	case n < 0x80:
		head = []byte{tag, byte(n)}
	case n < 0x100:
		head = []byte{tag, 0x81, byte(n)}
	default:
		head = []byte{tag, 0x82, byte(n >> 8), byte(n)}
	}
	return append(head, content...)
}

func berInt(tag byte, n int) []byte {
	b := []byte{byte(n)}
	for n >>= 8; n > 0; n >>= 8 {
		b = append([]byte{byte(n)}, b...)
	}
	if b[0]&0x80 != 0 {
		b = append([]byte{0}, b...)
	}
	return berElement(tag, b)
}

func bindResponse(id, code int, text string) []byte {
	op := berElement(ldapBindResp, slices.Concat(berInt(berEnumerated, code), berElement(berOctetString, nil), berElement(berOctetString, []byte(text))))
	return berElement(berSequence, slices.Concat(berInt(berInteger, id), op))
}

// iamTokenLifetime is how long an IAM authentication token is valid
// after it was signed.
const iamTokenLifetime = 15 * time.Minute

// iamKeys are the credentials IAM tokens must be signed with.
type iamKeys struct {
	accessKeyID, secretAccessKey, region string
}

// checkIAMToken checks an IAM database authentication token as
// feature/rds/auth.BuildAuthToken makes it: a SigV4-presigned
// "host:port?Action=connect&DBUser=user&X-Amz-..." for service rds-db,
// signed with keys, for user, for one of endpoints (host:port), and at
// most iamTokenLifetime old at now. The errors say what is wrong, never
// the token.
func checkIAMToken(token, user string, endpoints []string, keys iamKeys, now time.Time) error {
	// BuildAuthToken's URL has no path ("host:port?..."); SigV4 signs an
	// empty path as "/", which a token may also spell out.
	hostPort, rawQuery, ok := strings.Cut(token, "?")
	hostPort = strings.TrimSuffix(hostPort, "/")
	if !ok || hostPort == "" || strings.Contains(hostPort, "/") {
		return errors.New("the password is not an IAM authentication token")
	}
	if !slices.Contains(endpoints, hostPort) {
		return fmt.Errorf("the token was made for %s, which is not an endpoint of this instance (%s)", hostPort, strings.Join(endpoints, ", "))
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return errors.New("the token's query does not parse")
	}
	one := func(k string) string {
		if len(q[k]) != 1 {
			return ""
		}
		return q[k][0]
	}
	for k := range q {
		if len(q[k]) != 1 {
			return fmt.Errorf("the token has %s %d times", k, len(q[k]))
		}
	}
	if one("Action") != "connect" {
		return errors.New("the token is not for Action=connect")
	}
	if got := one("DBUser"); got != user {
		return fmt.Errorf("the token is for user %q, not %q", got, user)
	}
	if one("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" || one("X-Amz-SignedHeaders") != "host" {
		return errors.New("the token is not signed with AWS4-HMAC-SHA256 over the host header")
	}
	cred := strings.Split(one("X-Amz-Credential"), "/")
	if len(cred) != 5 || cred[3] != "rds-db" || cred[4] != "aws4_request" {
		return errors.New("the token's credential scope is not for rds-db")
	}
	if cred[0] != keys.accessKeyID {
		return fmt.Errorf("the token is signed with access key %s, which the emulated account does not have", cred[0])
	}
	if cred[2] != keys.region {
		return fmt.Errorf("the token is for Region %s, not %s", cred[2], keys.region)
	}
	amzDate := one("X-Amz-Date")
	signed, err := time.Parse("20060102T150405Z", amzDate)
	if err != nil || cred[1] != signed.Format("20060102") {
		return errors.New("the token's date does not parse or does not match its credential scope")
	}
	expires, err := strconv.Atoi(one("X-Amz-Expires"))
	if err != nil || expires <= 0 {
		return errors.New("the token has no valid X-Amz-Expires")
	}
	lifetime := min(time.Duration(expires)*time.Second, iamTokenLifetime)
	switch {
	case now.Before(signed.Add(-5 * time.Minute)):
		return fmt.Errorf("the token was signed at %s, in the future", signed.Format(time.RFC3339))
	case now.After(signed.Add(lifetime)):
		return fmt.Errorf("the token expired at %s (signed at %s)", signed.Add(lifetime).Format(time.RFC3339), signed.Format(time.RFC3339))
	}
	// Signed again with aws-sdk-go-v2's signer, as BuildAuthToken signs
	// it: GET https://host:port with no path and an empty payload.
	req := &http.Request{Method: http.MethodGet, URL: &url.URL{Scheme: "https", Host: hostPort, RawQuery: rawQuery},
		Host: hostPort, Header: http.Header{}}
	creds := aws.Credentials{AccessKeyID: keys.accessKeyID, SecretAccessKey: keys.secretAccessKey, SessionToken: one("X-Amz-Security-Token")}
	want, err := presignedSignature(context.Background(), req, creds, emptyPayloadHash, "rds-db", keys.region, signed)
	if err != nil {
		return fmt.Errorf("signing the token again: %w", err)
	}
	if !hmac.Equal([]byte(one("X-Amz-Signature")), []byte(want)) {
		return errors.New("the token's signature does not match the emulated account's credentials")
	}
	return nil
}

// checkIAMLogin is the verifier's check: the instance exists and its
// cluster has IAM authentication on, and the token is valid for the user
// and for one of the addresses that reach the instance (its own, and its
// cluster's writer, reader and custom endpoints), on the cluster's port.
func (e *Emulator) checkIAMLogin(instanceID, user, token string) error {
	st := e.lock()
	in, ok := st.instances[instanceID]
	var endpoints []string
	enabled := false
	if ok {
		c := in.cluster
		enabled = c.iamAuth
		endpoints = []string{hostPort(in.address, c.port), hostPort(writerEndpointHost, c.port), hostPort(readerEndpointHost, c.port)}
		for _, ep := range c.endpoints {
			endpoints = append(endpoints, hostPort(ep.address, c.port))
		}
	}
	st.unlock()
	switch {
	case !ok:
		return fmt.Errorf("no DB instance %s", instanceID)
	case !enabled:
		return errors.New("IAM database authentication is off for the cluster")
	}
	return checkIAMToken(token, user, endpoints, iamKeys{accessKeyID, secretAccessKey, e.region}, time.Now())
}

// iamHBA are the pg_hba.conf lines of an instance whose cluster has IAM
// authentication on: the master user keeps its password; other members of
// rds_iam log in over TLS with a token the verifier checks, and not
// without TLS.
func iamHBA(master, instanceID string, verifierPort int) []string {
	return []string{
		"host all " + hbaQuote(master) + " all scram-sha-256",
		"hostnossl all +rds_iam all reject",
		fmt.Sprintf(`hostssl all +rds_iam all ldap ldapserver=127.0.0.1 ldapport=%d ldapprefix=%s ldapsuffix=""`,
			verifierPort, hbaQuote(bindNamePrefix(instanceID))),
	}
}

// hbaQuote quotes a pg_hba.conf token. pg_hba.conf has no escape for a
// double quote inside one; the names it quotes (master users, instance
// identifiers) cannot hold one.
func hbaQuote(s string) string { return `"` + s + `"` }
