// Package pgaurora holds the few types every package of the SDK shares:
// the database-access contract ([Querier]), how long operations wait
// ([Wait]) and report progress ([Event], [ProgressFunc]), and the [Ptr]
// helper for optional fields.
//
// The SDK itself lives in the packages below it: aurora (the cluster
// handle and the workflows), params, pgaudit, pglogical, logical,
// extensions, sslcert, and aurora/auroratest (a local Aurora emulator).
// This package imports nothing of theirs, so each of them can use it.
package pgaurora
