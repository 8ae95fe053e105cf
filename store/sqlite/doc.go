// Package sqlite provides the embedded default store.Store: a data directory of SQLite
// databases, written with the pure-Go driver modernc.org/sqlite (no cgo).
//
// # Files
//
//	DIR/catalog.db          tenants and secrets (shared by every process using DIR)
//	DIR/tenants/<id>.db     one database per tenant: a town's data is its own file
//
// Every database runs in WAL mode with a busy timeout and foreign keys off. Its schema is
// versioned by PRAGMA user_version and built by an ordered list of migrations (schema.go),
// applied at Open for the catalog and at the first use of each tenant database.
// Options.Synchronous is NORMAL by default: a Commit that returned survives a crash of the
// process (not a power loss; FULL covers that).
//
// # Tables of a tenant database
//
//	resource (rid PK, type, id, ver, seq, deleted, ts, ix)  current version of each resource;
//	                                UNIQUE INDEX resource_key (type, id). ix holds the
//	                                encoded index rows of the current version.
//	version  (seq PK, rid, type, ver, action, ts, raw)      every version, keyed by its change
//	                                sequence: it is also the outbox (Events reads it in seq
//	                                order). raw is the stamped JSON, NULL for a delete.
//	                                UNIQUE INDEX version_rid (rid, ver); INDEX version_type (type, seq).
//	param    (pid PK, type, code, ptype)                    search parameters seen, per type.
//	sp_str   (pid, val, sys, rid)      PK all, WITHOUT ROWID: string, token, reference, uri
//	sp_date  (pid, lo, hi, rid)        PK all, WITHOUT ROWID: dates as [lo, hi) Unix ms
//	sp_num   (pid, num, sys, val, rid) PK all, WITHOUT ROWID: numbers, quantities
//
// The sp_* tables hold the index entries of current, non-deleted versions only (history is
// in version): a search scans one parameter's value range and gets resource keys. An update
// deletes the rows of the previous version that changed (found through resource.ix, so no
// second index on rid is needed) and inserts the new ones.
//
// # Writes
//
// Each tenant has one writer goroutine that owns the write connection. Commit stamps the JSON
// (fhir.Stamp) on the caller's goroutine and queues the request; the writer takes every
// queued request (up to Options.MaxBatch writes), runs them in one transaction, each in its
// own SAVEPOINT (a failing Commit rolls back only itself), using multi-row INSERTs with
// prepared statements, and answers each caller once the transaction has committed. meta.lastUpdated
// is Options.Now() at the start of the transaction, truncated to ms and never earlier than
// the previous transaction's. Another process writing the same tenant database is noticed
// through PRAGMA data_version and the writer's counters are reloaded.
//
// # Tenants
//
// Tenant answers from memory; it asks the catalog whether another process changed it
// (PRAGMA data_version) at most once a second, and re-reads it at once for an unknown id.
package sqlite
