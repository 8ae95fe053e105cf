// Package sqlite provides the embedded default store.Store: a data directory of SQLite
// databases, written with the pure-Go driver modernc.org/sqlite (no cgo).
//
// # Files
//
//	DIR/catalog.db          tenants and secrets (shared by every process using DIR)
//	DIR/tenants/<id>.db     one database per tenant: a town's data is its own file
//
// Every database runs in WAL mode with a busy timeout and foreign keys off. A tenant's write
// connection has its own, larger page cache (Options.WriterCacheKiB, 32 MiB) and checkpoints
// every Options.WALAutoCheckpoint pages (10,000); Options.MmapBytes maps tenant databases
// (off by default: mapped pages count in the RSS). Its schema is
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
//	param    (pid PK, type, code, ptype, kind, span, multi) search parameters seen: UNIQUE (type, code,
//	                                ptype, kind). span: the largest hi - lo of the param's sp_date
//	                                rows (MaxInt64 once one is open-ended); multi: 1 once a resource
//	                                had two rows of it. Both only grow (the writer keeps them). Common parameters (codes starting with "_") have
//	                                type '' (one range for every type). kind is the search.Kind of
//	                                the rows (value, identifier, of-type, URL), 8 for the text of
//	                                token entries (:text), 16+4*i+kind for part i of composites.
//	sp_str   (pid, val, sys, txt, rid) PK all, WITHOUT ROWID: string, token, reference, uri;
//	                                INDEX sp_str_rid (rid, pid)
//	sp_date  (pid, lo, hi, rid)        PK all, WITHOUT ROWID: dates as [lo, hi) Unix ms;
//	                                INDEX sp_date_rid (rid, pid)
//	sp_num   (pid, num, sys, val, txt, rid) PK all, WITHOUT ROWID: numbers, quantities (system,
//	                                code, human unit); INDEX sp_num_rid (rid, pid)
//	counts   (type PK, n)              live resources per type, kept by the writer (_total)
//
// resource also has INDEX resource_live (type, deleted): a type's live resources in rid order.
//
// The hub's own tables (store/admin.go, migration 4) live in the tenant database too:
//
//	audit    (seq PK, hash, ts, record, agent, patients, etype, entity, action, outcome)
//	                                the audit trail (store.AuditLog), one row per entry: seq 1, 2,
//	                                3 … without gaps; hash = store.AuditLink(previous hash, seq,
//	                                record); ts Unix ms; record the caller's bytes as given;
//	                                patients a JSON array (NULL when none); etype the entity's type.
//	                                INDEX audit_agent (agent), audit_etype (etype), audit_entity
//	                                (entity): each ends with the rowid, so a filter's rows come in seq order.
//	audit_patient (patient, seq) PK both, WITHOUT ROWID: one row per patient of an entry, for
//	                                SearchAudit by patient.
//	audit_head (id PK = 1, seq, hash) the last entry appended, kept apart from the entries so
//	                                that removing the newest entries breaks the chain too.
//	record   (kind, id, data) PK (kind, id), WITHOUT ROWID: small documents (store.Records),
//	                                e.g. kind "client": SMART client registrations.
//	once     (key PK, until_ms) WITHOUT ROWID: one-time keys (Once, JWT jti) until their expiry;
//	                                INDEX once_until (until_ms): expired keys are deleted at most
//	                                once a minute per tenant, by a later Once.
//	lease    (consumer PK, owner, until_ms, pos) WITHOUT ROWID: who consumes a tenant's change
//	                                events (store.Leases), until when (0 once released), and the
//	                                last event seq acknowledged.
//
// AppendAudit goes through the tenant's writer like a Commit (see Writes): the writer keeps the
// chain head (seq, hash) in memory, gives the entries of every AppendAudit of a group
// transaction their seqs and hashes in queue order, inserts their rows in a few multi-row
// INSERTs with one update of audit_head, and answers once the transaction has committed (a
// failed transaction fails all its appends; nothing of them is written). The head is read
// from audit_head again whenever another process wrote the database (PRAGMA data_version),
// inside BEGIN IMMEDIATE: appends of several processes share one chain, and audit.seq being
// the primary key turns a stale head into an error, never a fork. SearchAudit walks the rows
// of its most selective indexed filter newest first (patient, then agent or entity, else the
// table) and tests the others, Since and Until included, on the rows walked: a query bounded by
// time alone also reads every entry newer than its window. Once, PutRecord, DeleteRecord, ClaimEvents, AckEvents
// and ReleaseLease also run on the writer, each in its own savepoint of the group
// transaction, so that their check and write are one step for all processes; their reads
// (GetRecord, ListRecords, the events of a claim, the audit reads) use the read pool. The
// clock of leases and one-time keys is Options.Now, to the millisecond.
//
// The sp_* tables hold the index entries of current, non-deleted versions only (history is
// in version): a search scans one parameter's value range and gets resource keys. An update
// deletes the rows of the previous version that changed (found through resource.ix) and
// inserts the new ones. What each row holds, by search.Entry type:
//
//	string     val Normalize(s); txt the text as written when it differs from val (:exact), else ''
//	token      val code, sys system; of-type rows: txt the identifier value; a token entry
//	           with Text (display, CodeableConcept.text) adds a kind-8 row with val = Text
//	reference  val id, sys target type (kind 0); URL rows: val URL; identifier rows: sys|val
//	uri        val
//	date       lo, hi (open ends: math.MinInt64, math.MaxInt64)
//	number     num
//	quantity   num, sys unit system, val unit code, txt human unit
//	composite  one row per part, in the part's table, param kind 16+4*i+part kind, and
//	           rid<<12|n in the rid column, n numbering the resource's composite entries
//	           (at most 4095; later ones are not indexed): parts of one entry join on rid.
//
// _id and _lastUpdated entries are not stored: they come from resource.id and resource.ts.
// Migration 2 converted the tables of migration 1 (kind 0, txt ”); rows are never
// re-extracted by the store (the server computes Write.Index).
//
// # Search
//
// Search runs in one read transaction. Each clause of a query.go Query has two SQL forms,
// built from bound parameters only (values are never written into the SQL text):
//
//   - a test on a resource row r: EXISTS (SELECT 1 FROM sp_x x WHERE x.rid = r.rid AND
//     x.pid = ? AND <value conditions, ORed>), a seek on sp_x_rid. :not is NOT EXISTS;
//     :missing is [NOT] EXISTS over every pid of the parameter; a chain joins the
//     reference rows to resource (type, id) and tests the target (nested chains nest);
//     _has finds reference rows (pid, val = r.id, sys = r.type) and tests their owner;
//     composites join their part rows on the shared rid<<12|n; _id and _lastUpdated are
//     conditions on r.id and r.ts.
//   - a driver: the rids that match, from the value-ordered primary keys (token
//     "pid = ? AND val = ? AND sys = ?", string prefix "val >= ? AND val < ?||x'ff'", date
//     "lo >= ? AND lo < ? AND hi <= ?", chain: driver of the inner clause → resource →
//     reference rows (pid, val = id, sys = type); _has: inner driver → reference rows by
//     sp_str_rid → resource (type, id); _id: resource_key).
//
// One driver starts the search: the clause of best rank (_id; full-key token/reference;
// other equality; prefix; range), the smallest by a count capped at 300 rows when several
// share the best rank; when every one of them reaches the cap, the bounded candidates of lower
// ranks (down to range) are counted too and the smallest wins (when they reach the cap as
// well, the capped ones are counted again up to 5,000); the compartment's reference
// rows when no clause is as selective. Date clauses of one parameter make one range
// driver "pid = ? AND lo >= L AND lo < U AND <each clause>" when their values bound lo on both
// sides: a bound on hi (gt, ge, ap) gives one on lo through param.span (lo >= hi - span), and
// the clauses are ANDed on one row only when param.multi is 0 (else each clause alone). An
// open-ended row makes span infinite: such a parameter's ge/gt bounds do not drive.
// Every other clause (and the compartment) is a test. A driver whose single value fixes
// pid, val, sys and txt yields its rows in rid order: the page query then reads them as
// the outer loop of a join and stops at the page's end; other drivers are an "r.rid IN
// (…)" list. Without a driver the search walks resource_live (or the rid order of
// resource for a system-level search).
//
// Order and paging: without _sort, rid order. With _sort, a MATERIALIZED CTE computes each
// match's keys once (correlated min/max over the key parameter's rows, NULL when none) and
// orders by "k IS NULL, k [DESC], …, rid". Pages are keysets, never offsets: the cursor
// carries the last row's keys and rid, and the next page asks for rows after them, so writes
// between pages cannot shift unchanged rows. A cursor is HMAC-SHA256-signed with a key kept
// in the catalog (secret table) over the tenant and the query's clauses, types, sort and
// compartment; any other cursor is store.ErrCursor (400).
//
// _total=accurate|estimate is a COUNT over the same filter, or counts when the search has
// no clause and no compartment, or a COUNT of the index rows alone when the search is one
// full-key clause (pid, val, sys, txt fixed: at most one row per resource, rows exist only for
// live current versions) of a parameter of the search's type, with no compartment. _include and _revinclude read the reference rows of the
// page's resources (sp_str_rid) or point at them (primary key), :iterate up to 3 rounds,
// at most 1000 resources a page.
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
