// Package conninfo is the SDK's one implementation of libpq connection
// strings, shared by pgaurora.ConnString and pgaurora.ConnString.
//
// An [Info] holds keyword/value pairs in a canonical order (host, hostaddr,
// port, dbname, user, password, then the rest alphabetically). [New] builds
// one from a map and [Parse] reads libpq's keyword/value form (single quotes,
// backslash escapes) and its postgresql:// URI form. Keywords must be
// libpq's; values may hold any UTF-8 text but NUL.
//
// Three renderings exist: [Info.Reveal] with every secret (password,
// sslpassword), [Info.String] with each secret replaced by REDACTED, and
// [Info.Public] with the secret keywords left out. Values are quoted with
// [Quote], which pgconn's and libpq's parsers read back exactly. Errors
// from this package never quote the string parsed, which may hold a
// password.
//
// [Redact], [ScrubPgError] and [ScrubError] take secrets, and anything that
// looks like a password in a connection string, out of error text, so that
// a server repeating a connection string in an error cannot leak it.
//
// Errors are plain descriptions of bad input; the public packages wrap them
// in their own ErrInvalid.
package conninfo
