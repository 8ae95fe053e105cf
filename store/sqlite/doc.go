// Copyright 2026 The kodomohub Authors
//
// Licensed under the Apache License, Version 2.0 (the "License");
// you may not use this file except in compliance with the License.
// You may obtain a copy of the License at
//
//     http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing, software
// distributed under the License is distributed on an "AS IS" BASIS,
// WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
// See the License for the specific language governing permissions and
// limitations under the License.

// Package sqlite provides the embedded default store.Store: a data directory of SQLite
// databases, written with the pure-Go driver modernc.org/sqlite (no cgo).
//
// # Files
//
//	DIR/catalog.db                tenants and secrets (shared by every process using DIR)
//	DIR/tenants/<id>.db           one database per tenant: a town's data is its own file
//	DIR/tenants/<id>.audit        the tenant's audit trail: an append-only log (see Audit trail)
//	DIR/tenants/<id>.audit-head   the trail's head, kept apart from the log
//	DIR/tenants/<id>.audit-index.db  the trail's index for SearchAudit, built from the log
//
// Every database runs in WAL mode with a busy timeout and foreign keys off. A tenant's write
// connection has its own, larger page cache (Options.WriterCacheKiB, 32 MiB), keeps its
// savepoint and statement journals in memory (temp_store MEMORY: past 64 KiB they spilled to a
// temporary file, a pwrite per page) and checkpoints every Options.WALAutoCheckpoint pages
// (10,000); Options.MmapBytes maps tenant databases
// (off by default: mapped pages count in the RSS). Its schema is
// versioned by PRAGMA user_version and built by an ordered list of migrations (schema.go),
// applied at Open for the catalog and at the first use of each tenant database.
// Options.Synchronous is NORMAL by default: a Commit that returned survives a crash of the
// process (not a power loss; FULL covers that).
//
// # Tables of a tenant database
//
//	resource (rid PK, type, id, ver, seq, deleted, ts)  current version of each resource;
//	                                UNIQUE INDEX resource_key (type, id). Kept small (≈ 40 bytes a
//	                                row): every read and search result looks it up by rid.
//	resource_ix (rid PK, ix)         the encoded index rows of each resource's current version
//	                                (none when it has no index rows).
//	version  (seq PK, rid, type, ver, action, ts, raw, method)  every version, keyed by its
//	                                change sequence: it is also the outbox (Events reads it in
//	                                seq order). raw is the stamped JSON, NULL for a delete;
//	                                method the request's (store.Write.Method), NULL if none.
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
// The hub's own tables (store/admin.go, migration 4) live in the tenant database too (the audit
// index that migrations 5 and 6 kept there moved to a database of its own: migration 7 dropped
// it; see Audit trail):
//
//	record   (kind, id, data) PK (kind, id), WITHOUT ROWID: small documents (store.Records),
//	                                e.g. kind "client": SMART client registrations.
//	once     (key PK, until_ms) WITHOUT ROWID: one-time keys (Once, JWT jti) until their expiry;
//	                                INDEX once_until (until_ms): expired keys are deleted at most
//	                                once a minute per tenant, by a later Once.
//	lease    (consumer PK, owner, until_ms, pos) WITHOUT ROWID: who consumes a tenant's change
//	                                events (store.Leases), until when (0 once released), and the
//	                                last event seq acknowledged.
//
// Once, PutRecord, DeleteRecord, ClaimLease (and ClaimEvents), AckEvents and ReleaseLease run
// on the writer (see Writes), each in its own savepoint of the group transaction, so that their
// check and write are one step for all processes; their reads (GetRecord, ListRecords,
// ReadLease, the events of a claim) use the read pool. The clock of leases and one-time keys is Options.Now, to the
// millisecond. The audit trail does not go through the writer: see Audit trail.
//
// The sp_* tables hold the index entries of current, non-deleted versions only (history is
// in version): a search scans one parameter's value range and gets resource keys. An update
// deletes the rows of the previous version that changed (found through resource_ix) and
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
// queued request (up to Options.MaxBatch writes), runs them in one transaction, using
// multi-row INSERTs with prepared statements, and answers each caller once the transaction
// has committed. The Commits of a batch run without savepoints; when one fails, the whole
// transaction is rolled back and the batch runs again with each request in its own SAVEPOINT,
// so a failing Commit fails alone (a savepoint makes SQLite copy every page it changes). The
// WAL is copied into the database by a checkpointer on a connection of its own, every
// Options.WALAutoCheckpoint pages, while the writer goes on (checkpoint.go). meta.lastUpdated
// is Options.Now() at the start of the transaction, truncated to ms and never earlier than
// the previous transaction's. Another process writing the same tenant database is noticed
// through PRAGMA data_version and the writer's counters are reloaded.
//
// # Audit trail
//
// The server appends one audit entry per request and answers only once it is stored, so an
// append must be cheap and must not wait for a SQLite commit. A tenant's trail (store.AuditLog)
// is therefore an append-only file, tenants/<id>.audit, which is authoritative: AuditEntries and
// AuditHead read it; tenants/<id>.audit-index.db is only an index for SearchAudit, built from it.
//
//	log    = "khaudit" 0x01, then frames
//	frame  = len:u32 crc:u32 body               big-endian; len = len(body), crc = CRC-32C(body)
//	body   = seq:u64 ts:i64 hash:[32] flags:u8 agent entity action outcome npatients:uvarint
//	         patient* record [seal]              strings are uvarint length + bytes; record is the
//	                                             rest: the caller's bytes as given; ts Unix ms;
//	                                             flags 1: the last entry of its AppendAudit, 2: the
//	                                             body ends with seal = time:i64 mac:[32]
//	head   = two slots of 128 bytes, each "khah" crc:u32 gen:u64 seq:u64 off:u64 end:u64 hash:[32]
//	         (crc = CRC-32C of gen…hash), or sealed "khas" … hash:[32] time:i64 from:u64
//	         fromTime:i64 mac:[32] (crc of gen…mac); the valid slot of the higher gen is the head:
//	         the last entry committed (seq, hash) and its frame's bounds in the log (off, end)
//
// hash is store.AuditLink(previous hash, seq, record). The head is the commit point: readers
// read frames up to head.end only, so they never see a frame being written, and an update
// writes gen+1 into the other slot, so a torn or concurrent head write leaves the previous head
// readable. The head lives apart from the log so that cutting entries off the log is noticed.
//
// Appends. AppendAudit encodes the frames on the caller's goroutine (no JSON) and queues them.
// When no caller is writing, this one leads: it takes every queued append (up to 4,096 entries)
// and, under an exclusive flock on the log (held by every process appending to it, waited for up
// to Options.BusyTimeout), stats the log and, when it no longer ends where this process left it,
// reads the head and takes the one another process wrote (its last frame must be in the log
// where it says); gives the entries their seqs and hashes after the head; writes all their
// frames with one pwrite at the head's end; fdatasyncs the log when Options.Synchronous is FULL;
// writes the new head (a store to a shared mapping of the head file: the kernel writes the page
// back as after a pwrite; pwrite where mmap is missing); releases the lock and answers them. Appends queued meanwhile form the next
// group: the leader writes up to 4 more, then hands the lead to the first caller waiting. An
// append that finds nobody leading so costs no goroutine switch (a dedicated appender goroutine
// took 100 µs to wake its callers under load). A failed write or head update cuts the log back
// and fails the whole group. The syscalls (flock twice, fstat, pwrite of the frames) are per
// group; per entry there is a SHA-256 and a CRC and the encoding: 5-7 µs of CPU
// for an append alone (bench auth), less per entry in bigger groups. A sealed trail adds one
// HMAC-SHA256 per group (≈ 0.6-1 µs; BenchmarkAppendAudit sealed and unsealed: no difference
// beyond noise).
//
// Crashes. Frames beyond the head were written by an appender that stopped before its head
// update (or whose head update a power loss lost: with FULL the frames were synced, and were
// acknowledged). The next appender, or the first opening of the log in a process, keeps those
// that are whole, pass their CRC and continue the chain, up to the last one ending an
// AppendAudit (the head moves to it), and cuts off the rest: a torn frame, or the first frames of
// an append written in part (a warning is logged either way).
//
// Cuts. A log shorter than its head, or than this process last saw, a head that went back, a
// head file removed while the log holds entries, or (checked once a second) a log or head file
// replaced under an open process, or a head file shorter than its two slots (a fault of the
// mapping is an error, never a crash) means that entries were removed: the process logs it as an
// error and refuses every later append (ErrUnavailable; the server then answers 503 and carries
// out nothing) until an operator has looked; readers still return what is stored, so
// audit.VerifyLog reports where the chain breaks. A frame whose CRC fails below the head
// is returned as stored (its hash then fails verification); one that does not decode ends what
// readers return. With Synchronous NORMAL nothing is fsynced, and a power loss can leave the
// log shorter than a head that reached the disk: the trail then counts as cut (use FULL where
// audit appends must survive a power loss).
//
// Seals. With Options.AuditKey (store.AuditSeal), every head written is sealed: mac is
// store.AuditKey.MAC of (seq, hash, time, from, fromTime), and the group's last frame ends with
// the same seal (time, mac), so one HMAC per group is the whole cost. Frames past a sealed head
// are adopted only up to a frame whose seal verifies; a frame with a seal that does not verify
// breaks the log (left as found), and whole frames without one are cut off like a torn append.
// A head read from the file (at the first opening, or written by another process) must verify,
// else the log is broken. The first opening with a key of a trail whose head is not sealed
// seals it (from = its seq, fromTime = now), unless the log holds a sealed frame (the seal was
// removed: the log is broken instead). A store without a key leaves a sealed trail as it finds
// it: no adoption, no cut, no append. AuditSeal reads the head slot and counts the whole frames
// past it that continue the chain (the log is read past the head only when it is longer).
//
// Reads. AuditHead reads the head (through its mapping). AuditEntries finds the frame of after+1
// (the head's last frame, the end of the previous AuditEntries call, or the index: its block and
// the frame lengths it keeps, or a scan on from the end of the last block) and reads on
// sequentially in 256 KiB chunks up to the head: verifying a trail of millions of entries reads
// the file once.
//
// Index. tenants/<id>.audit-index.db (auditlog_index.go) is a database of its own, so that its
// commits and checkpoints never touch the town's WAL, which every read of the town searches. It
// holds nothing the log does not: a missing file, or one SQLite reports corrupt or not a
// database, is (removed and) built again from the log. Its tables:
//
//	block   (lo PK, hi, off, endoff, tmin, tmax, sizes)  one row per catch-up transaction: entries
//	                                lo…hi, their frames' bounds in the log, the earliest and latest
//	                                of their times (Unix ms) and each frame's length (uvarints)
//	posting (key, lo, refs) PK (key, lo), WITHOUT ROWID: for each agent ('a'), entity type ('t')
//	                                and patient ('p') of block lo, the seqs and offsets of its
//	                                entries (uvarint deltas)
//
// A block holds up to 65,536 entries. The indexer goroutine catches up in the background, once
// 65,536 entries this process appended wait or 30 s after the first, and SearchAudit before
// it queries (so a search sees every entry appended before it). The entries of one agent or type
// share one posting row per block, so an entry costs SQLite about one row (its patient's), where
// the index in the tenant database cost five B-tree inserts. The last block, read inside the
// transaction (BEGIN IMMEDIATE), says where to go on, so several processes index each entry
// once. SearchAudit walks the postings of its patient, else of its agent, else of its entity's
// type, newest block first, and reads their frames from the log by offset; a query naming none
// of them walks the blocks newest first, reading their frames backwards in chunks. Blocks whose
// times lie outside Since and Until are skipped (appends need not come in time order: a block's
// range bounds it); every filter is tested on the frames read.
//
// VerifyAuditIndex compares, in one read transaction of the index, every block with the frames
// it covers (their bounds, lengths and time range) and its posting rows with those the frames
// make (the block's own derivation, shared with the indexer), reading the log once and the
// posting rows in block order.
//
// Migration 5 kept the trail of migration 4 (in the tenant database) as audit_v4 and
// audit_head_v4; the first opening of the log copies its entries into the empty log as stored
// (hashes copied, not recomputed), provided the table ends at its head, then drops both tables.
//
// # Tenants
//
// Tenant answers from memory; it asks the catalog whether another process changed it
// (PRAGMA data_version) at most once a second, and re-reads it at once for an unknown id.
package sqlite
