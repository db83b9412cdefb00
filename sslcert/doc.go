// Package sslcert makes Aurora PostgreSQL CA rotations safe.
//
// Aurora signs each DB instance's server certificate with an RDS
// certificate authority chosen per instance (rds-ca-rsa2048-g1,
// rds-ca-rsa4096-g1, rds-ca-ecc384-g1; rds-ca-2019 expired on 22 August
// 2024). Clients that verify the server (sslmode=verify-ca or verify-full)
// break the moment their instance switches to a CA their trust store does
// not hold. The documented procedure is: update the clients' trust stores
// first, keeping the old CAs; make sure connections use TLS at all; rotate
// the instances; verify. This package provides each step.
//
// # CA catalog
//
// DefaultCatalog lists the documented CAs with key algorithm, signing
// algorithm and validity. RefreshCatalog reads DescribeCertificates (through
// the one-method DescribeCertificatesAPI, satisfied by *rds.Client) for the
// exact thumbprints and dates of the account's Region, the default CA for
// new launches and any customer override. A catalog also recognises which
// RDS CA a certificate belongs to (Catalog.Identify), by thumbprint or by
// the documented common names.
//
// # Trust stores
//
// ParsePEM reads a PEM bundle such as the RDS global-bundle.pem into a
// TrustStore, skipping (and counting) blocks that are not certificates and
// rejecting malformed input with an error naming the line. A TrustStore
// lists its CAs (List: subject, key type and size, validity, SHA-1
// thumbprint), answers whether it trusts an RDS CA (TrustsCA) or a
// certificate (Trusts, VerifyChain), merges with another bundle keeping old
// and new CAs without duplicates (Merge), reports CAs that expire before a
// date (ExpiringBefore), and is written back as PEM (PEM, WriteTo,
// WriteFile for libpq's and pgx's sslrootcert) or used directly
// (TLSConfig, ConfigurePGX for verify-full with pgx).
//
// # Server check
//
// CheckServer connects to host:port, performs PostgreSQL's SSLRequest and
// a TLS handshake, and reports the chain the server presents, the RDS CA
// that issued it, its expiry, and whether it verifies against a trust store
// with hostname verification — without logging in.
//
// # Client audit
//
// AuditSessions lists the server's client sessions from pg_stat_ssl joined
// with pg_stat_activity: user, application, client address, and whether
// each uses TLS, with protocol version and cipher.
//
// # Rotation
//
// NewPlan is a pure function from a cluster's instances (current CA, server
// certificate expiry, pending ca-certificate-rotation maintenance), a target
// CA and the clients' trust store to a Plan: the instances to rotate,
// readers first and the writer last, and whether the trust store survives
// the rotation. A plan the trust store would not survive is refused with
// ErrUnsafePlan unless forced. PlanRotation gathers those facts through the
// RDS API (Discover) and plans. Execute carries a plan out with
// ModifyDBInstance (CACertificateIdentifier, ApplyImmediately,
// CertificateRotationRestart), one instance at a time: it waits for the
// instance to be available with the new CA, checks the server with
// CheckServer, reports progress through a callback, and stops at the first
// failure with a *RotationError saying which instances were rotated.
//
// The RDS calls go through narrow interfaces (ReadAPI, RotationAPI) that
// *rds.Client satisfies; SQL goes through a pgaurora.Querier (*pgx.Conn,
// pgx.Tx, *pgxpool.Pool, *aurora.Pool).
package sslcert
