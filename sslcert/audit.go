package sslcert

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora"
)

// Session is one client session and how it is encrypted.
type Session struct {
	// PID is the backend process ID.
	PID int32
	// User and Database are who is connected to what.
	User, Database string
	// Application is the session's application_name.
	Application string
	// ClientAddr is the client's IP address, "local" for a Unix-socket
	// session, "" when the auditing role may not see it.
	ClientAddr string
	// ClientPort is the client's TCP port (-1 for Unix sockets, 0 when
	// hidden).
	ClientPort int32
	// SSL says the session uses TLS.
	SSL bool
	// Version, Cipher and Bits describe the TLS session ("TLSv1.3",
	// "TLS_AES_256_GCM_SHA384", 256); empty without TLS.
	Version, Cipher string
	Bits            int32
	// Self marks the session running the audit.
	Self bool
}

// Audit is the result of AuditSessions.
type Audit struct {
	// Sessions are the client sessions, ordered by user, application and
	// PID.
	Sessions []Session
}

// Encrypted returns the sessions that use TLS.
func (a *Audit) Encrypted() []Session { return a.filter(true) }

// Unencrypted returns the sessions that do not use TLS: the ones to fix
// before requiring TLS (rds.force_ssl) or before relying on verify-full.
func (a *Audit) Unencrypted() []Session { return a.filter(false) }

func (a *Audit) filter(ssl bool) []Session {
	var out []Session
	for _, s := range a.Sessions {
		if s.SSL == ssl {
			out = append(out, s)
		}
	}
	return out
}

// AuditOptions configures AuditSessions.
type AuditOptions struct {
	// ExcludeSelf leaves out the session running the audit.
	ExcludeSelf bool
}

const auditSQL = `
SELECT a.pid,
       coalesce(a.usename::text, ''),
       coalesce(a.datname::text, ''),
       coalesce(a.application_name, ''),
       CASE WHEN a.client_port = -1 THEN 'local'
            ELSE coalesce(host(a.client_addr), '') END,
       coalesce(a.client_port, 0),
       coalesce(s.ssl, false),
       coalesce(s.version, ''),
       coalesce(s.cipher, ''),
       coalesce(s.bits, 0),
       a.pid = pg_backend_pid()
FROM pg_catalog.pg_stat_activity AS a
JOIN pg_catalog.pg_stat_ssl AS s ON s.pid = a.pid
WHERE a.backend_type = 'client backend'
  AND ($1::boolean = false OR a.pid <> pg_backend_pid())
ORDER BY 2, 4, 1`

// AuditSessions lists the server's client sessions from pg_stat_ssl joined
// with pg_stat_activity: who is connected (user, database, application,
// client address) and whether the session uses TLS, with the protocol
// version and cipher. It is the documented "determine whether your
// connections use SSL/TLS" step before a CA rotation or before requiring
// TLS.
//
// Only sessions of the auditing role are shown in full unless it may read
// all statistics (pg_read_all_stats, which rds_superuser has); for other
// sessions PostgreSQL hides the client address and the audit reports "".
// Background workers and replication connections are not listed.
func AuditSessions(ctx context.Context, q pgaurora.Querier, opts *AuditOptions) (*Audit, error) {
	if opts == nil {
		opts = &AuditOptions{}
	}
	rows, err := q.Query(ctx, auditSQL, opts.ExcludeSelf)
	if err != nil {
		return nil, fmt.Errorf("sslcert: audit sessions: query pg_stat_ssl: %w", err)
	}
	sessions, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Session, error) {
		var s Session
		err := r.Scan(&s.PID, &s.User, &s.Database, &s.Application, &s.ClientAddr, &s.ClientPort,
			&s.SSL, &s.Version, &s.Cipher, &s.Bits, &s.Self)
		return s, err
	})
	if err != nil {
		return nil, fmt.Errorf("sslcert: audit sessions: read pg_stat_ssl: %w", err)
	}
	return &Audit{Sessions: sessions}, nil
}
