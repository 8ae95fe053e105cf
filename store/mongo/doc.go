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

// Package mongo implements store.Store on MongoDB with the official v2 driver, for
// deployments that outgrow one machine: a replica set or a sharded cluster, with any number
// of hub processes on one database. It needs neither multi-document transactions nor change
// streams: the conformance suite runs it against FerretDB 1.24 (SQLite handler), which has
// neither.
//
// # Collections (one database; every document of a town carries its tenant id t)
//
//	tenants    {_id: tenant id, name, ri: integrity, created: ms}
//	secrets    {_id: name, value: bytes}                      LoadOrStoreSecret (cursor key, …)
//	counters   {_id: tenant, n: last seq}                     sequence numbers
//	open       {_id: tx, t, lo, la}                           a transaction's block of sequence
//	           numbers, from its allocation until it rolled forward (or was aborted)
//	locks      {_id: "t/Type/id" or "#seq/t", t, tx, la}      lock documents: a transaction
//	           holds a resource (or the tenant's counter) while its lock document exists
//	txns       {_id: tx, t, st, at}                           transaction records: st "c"
//	           committed, "f" rolled forward, "d" versions cleaned, "a" aborted
//	resources  {_id: "t/Type/id", t, ty, id, v, live, del, seq, ts, r, raw, ik, ix, sk,
//	           lk, la}  the current committed version of each resource: v its version (0 for
//	           a placeholder), live = committed and not deleted, r the resource's stable
//	           order (seq of its first version: the search tiebreak), raw the stamped JSON,
//	           ik the index keys, ix the index entries, sk the sort keys; lk/la mark the
//	           transaction writing it (a hint for readers; the lock is the lock document)
//	versions   {_id: "t/Type/id/v", t, ty, id, v, seq, ts, act, raw, r, [tx, la, ik, ix, sk]}
//	           every version; it is also the outbox (Events reads it by seq). tx marks a
//	           version pending under a transaction (with the index it gives the resource)
//
// The hub's own data (store.AuditLog, store.Records, store.Leases; see the sections below):
//
//	audit      {_id: "t/seq", t, seq, ts, rec, h, ag, pa, en, ety, ac, oc, bl, [tx, la]}
//	           audit entries: ts the time (ms), rec the record's bytes, h its chain hash,
//	           ag pa en ac oc the search fields (pa omitted when empty), ety the type part of
//	           en, bl the seq of the last entry of the append it came in; tx and la mark it
//	           pending under an append (la: when inserted, ms) until the append is tidied
//	audithead  {_id: t, seq, h}                           a tenant's head: the last entry
//	audittx    {_id: append id, t, st, at, [hi, h]}       append records: st "c" committed
//	           (entries up to hi, the last one's hash h), "a" aborted
//	records    {_id: "t/kind/id", t, k, id, d}            store.Records (a kind has no "/")
//	once       {_id: "t/key", t, exp: date}               one-time keys
//	leases     {_id: "t/consumer", t, c, o, u, p}         leases: owner o, held while u (ms)
//	           > now, acknowledged position p
//	locks      also {_id: "#lease/t/consumer"} and {_id: "#once/t/key"}: exclusive sections
//	           on FerretDB only (below)
//
// # Indexes (created at Open; CreateMany is idempotent on MongoDB)
//
//	resources  {t, ty, live, r}    a type's live resources in order (searches without a
//	                               selective clause, _total of a bare type)
//	           {t, live, r}        system-level searches
//	           {t, ty, id}         _id, chains' targets
//	           {t, ty, ik}         every search clause: multikey over the index keys
//	           {t, ik}             system-level clauses (_tag, _profile, compartments)
//	           {lk} sparse         recovery: locked documents
//	versions   {t, seq}            Events, system history
//	           {t, ty, seq}        type history
//	           {t, ty, id, v}      instance history
//	           {tx} sparse         recovery: pending versions
//	txns       {at}                recovery: old records
//	open       {t, lo}             Events: the lowest open block of a tenant
//	locks      {tx}                releasing a transaction's locks
//	audit      {t, seq}            AuditEntries, SearchAudit without a field condition
//	           {t, ag, seq}        SearchAudit by agent (newest first, Before on seq)
//	           {t, pa, seq}        … by patient (multikey)
//	           {t, en, seq}        … by entity "Type/id"
//	           {t, ety, seq}       … by entity "Type" (with or without an id: no regex)
//	           {t, ac, seq}        … by action
//	           {t, oc, seq}        … by outcome
//	           {t, ts}             … by time alone
//	           {tx} sparse         recovery and aborts: pending entries of an append
//	audittx    {st, at}            recovery: committed records to tidy, old aborted ones
//	records    {t, k, id}          ListRecords in id order
//	once       {exp} TTL           expired keys deleted by MongoDB (expireAfterSeconds 0);
//	                               a plain index on FerretDB, which has no TTL indexes
//
// Everything else (the audit head and records, single records, keys and leases) is read and
// written by _id.
//
// Shard key (sharded clusters): resources and versions on {t: 1, _id: 1} (a town's data
// stays in key ranges of its own; _id is unique by construction, so uniqueness holds per
// shard), and audit likewise; counters, txns, tenants, secrets, audithead, audittx, records,
// once and leases are small and stay unsharded on the primary shard. See
// docs/deploy-mongodb.md.
//
// # Index keys
//
// Each search.Entry becomes a few strings in ik, "code\x00tag\x00fields…", so that every
// search value is an equality, an $in list or one range over one multikey index:
//
//	m  code present (one per code: :missing)      s  string: value \x00 text (prefix, :exact)
//	t  token: code \x00 system                    T  token: system \x00 code ("system|")
//	e  token text (:text, prefix)                 o  of-type: system \x00 code \x00 value
//	r  reference: id \x00 type                    u  uri, absolute reference, canonical
//	i  identifier: value \x00 system              I  identifier: system \x00 value
//	L  date: enc(low) enc(high)                   H  date: enc(high) enc(low)
//	n  number/quantity: enc(num)                  q  quantity: system \x00 code \x00 enc(num)
//	Q  quantity: code or unit \x00 enc(num)       C  composite: part 0's value \x00 system
//
// enc is an order-preserving fixed-width hex form (int64 with the sign bit flipped; float64
// bits with the sign rules of IEEE order), so that ranges of keys are ranges of values. A
// range is written {ik: {$elemMatch: {$gte: a, $lt: b}}}: on MongoDB both bounds apply to
// one key (one index range). _id and _lastUpdated use the id and ts fields.
//
// ix keeps the entries themselves (short field names) and sk the sort keys: for each code
// {p: 1, a: lowest value, d: highest value} (date: low and high; reference "Type/id"), so
// that _sort is a sort on sk.code.p descending (resources without a value last) then
// sk.code.a or sk.code.d, then r.
//
// # Search
//
// A query is one find on resources: {t, ty, live: true, $and: [clause…]}, sorted, limit
// page+1. Plain clauses are ORs of key conditions; :not is $nor of the positive condition;
// :missing tests the m key. Chains and _has are semi-joins with a cap: the inner query runs
// first (at most 1000 matches, else a too-costly error), and its ids become
// an $in of keys (chain: r keys of the targets) or of ids (_has) in the outer query; nested
// chains nest. Compartments are an $in of the r keys of the compartment's parameters.
// Paging is keyset-based on (sort keys, r), with the HMAC-signed cursor of store/sqlite.
// _total is a count of the same filter. _include reads ix of the page's resources and
// fetches the targets by _id; _revinclude is an $in of r keys.
//
// A few conditions are wider than the clause and the hub checks the candidates against the
// entries in ix with search.MatchEntry (the oracle's own matcher): date eq/ge/le/ap (the
// range is on low; high is checked), number ap (float rounding), :contains (an index scan
// of the parameter's string keys: there is no substring index, and no regex is ever sent),
// and composites (candidates by their first part). On FerretDB 1.24, whose filters test
// each operator of an $elemMatch against the whole array rather than one element, every
// value clause is checked that way (and :not is decided in the hub); Open asks the server
// (buildInfo) which it is talking to. FerretDB also reads documents by index only for a
// filter on _id alone, so the store addresses single documents by _id where it can.
//
// # Writes: atomic without multi-document transactions
//
// A Commit (every write of a transaction bundle) is made visible by one single-document
// write, the insert of its transaction record:
//
//  1. read the current documents; a lock of a live transaction is waited for, one held
//     past the lease (Options.Lease, 30s) is settled (below); plan the versions (IfMatch,
//     create-exists, deletes, references on strict tenants) and stamp the JSON
//  2. lock: insert one lock document per resource (unique _id: one transaction wins; an
//     insert is atomic on FerretDB too, whose conditional updates are read-modify-write
//     and not atomic across clients), insert a placeholder for each new resource, then
//     check that each resource is at the version planned (optimistic locking across
//     processes: any difference releases the locks and starts again), and mark them lk
//  3. take a block of sequence numbers under the tenant's counter lock document: insert
//     the open block {lo}, then move the counter (Events reads them in the other order)
//  4. insert the versions, pending (tx, with the index they give the resource)
//  5. commit point: insert {_id: tx, st: "c"} into txns. Recovery aborts a stale
//     transaction by inserting {_id: tx, st: "a"}: the unique _id lets exactly one win
//  6. roll forward: replace each resource document with its new state (on MongoDB only
//     while it still carries the mark), delete the lock documents and the open block,
//     mark the record "f". The pending marks of the versions are removed later, in bulk,
//     by the recovery pass. A Commit whose roll forward would start after half its lease
//     leaves it to recovery.
//
// Readers never see a partial Commit: Read of a document locked by a committed transaction
// returns that transaction's version; versions under a transaction that is not committed
// are skipped by VRead, History and Events; Events stop below the first sequence number of
// any open block (so a consumer never passes an event that may still appear). Search reads
// the resource documents, which change at step 6: between the commit point and the roll
// forward (milliseconds; after a crash, until recovery) a search may see some resources of
// the Commit at their old version.
//
// Recovery (at Open and every Options.RecoverEvery, in every process; idempotent) settles
// every transaction whose open block, lock or pending versions are older than the lease:
// committed ones are rolled forward from their pending versions, others are aborted (record
// "a") and their versions, placeholders, locks and block removed. Aborted records are kept
// a day so that a late commit attempt of the transaction fails.
//
// In one process, writers of the same resources queue on in-process lock stripes before
// going to the server. Sequence numbers are unique and increasing per tenant across
// processes (the counter lock); a Commit holds its resource locks while taking them, so the
// versions of one resource get increasing numbers.
//
// Limits: on FerretDB the roll forward replaces a document by _id alone (a conditional
// one scans the collection there), so a Commit paused for longer than half its lease
// between the commit point and the roll forward could overwrite a later transaction's
// state; on MongoDB the replacement is conditional.
//
// # Audit trail: appends that commit with one insert
//
// A tenant's audit entries are numbered 1, 2, 3 … and chained (store.AuditLink). An
// AppendAudit is one append, all or none:
//
//  1. find the tail: the head document, then the slot after it (entry "t/seq+1", by _id): an
//     entry of a committed append moves the tail to that append's end (its record's hi and
//     h, or, once tidied, its entry bl), an aborted one's entries are deleted, a pending one
//     within its lease means wait (below), one past its lease is aborted
//  2. number and hash the entries after the tail and insert them, in order, pending under
//     the append's id (tx, la); their unique _ids "t/seq" make one append win the slots
//     after a tail: a duplicate key on the first means another append took them (find the
//     tail again); on a later one, a leftover of an aborted append whose cleanup was
//     interrupted, which is deleted
//  3. commit point: insert {_id: append id, st: "c", hi, h} into audittx. Another process
//     aborts a stale append by inserting {_id: append id, st: "a"}: exactly one of the two
//     inserts wins, so an append that was aborted never commits (it starts again)
//  4. move the head document to (hi, h), never backwards (filtered on seq < hi, upsert)
//  5. tidy, in the recovery pass: the head is moved again, the pending marks of the
//     committed appends' entries are removed and their records deleted; aborted records
//     are kept a day
//
// Readers (AuditHead, AuditEntries, SearchAudit) find the tail first (step 1) and read
// entries with seq ≤ tail only. Every entry up to the tail belongs to a committed append:
// appends commit in seq order, since an append starts after the tail and waits while the
// slot after it is pending. So a reader never sees an entry that is not in the chain, and a
// crash leaves neither a gap nor a fork: before step 3 the entries are pending and are
// aborted and replaced once their lease (Options.Lease, at most 5s) has passed; after it the
// append is in the chain, the head document catching up at the next append, the next read or
// the recovery pass. The head is kept apart from the entries: deleting the newest entries
// leaves a head that the entries do not reach.
//
// In one process the appends of a tenant are grouped: concurrent AppendAudit calls queue, and
// one leader appends everything queued (up to 256 entries, a call's entries never split) as
// one append, then the next group. The leader keeps the tail it appended at, so a group costs
// three round trips (insert entries, insert the record, move the head) and reads the head
// only after another process appended.
//
// # Sealed heads
//
// With Options.AuditKey (store.AuditSeal), an append's last entry, its audittx record and the
// head document carry the seal of the head the append makes, {ts, from, fts, mac}: one HMAC per
// group. On a trail whose head document has a seal, the tail extends (step 1) only through
// appends that carry one, verified when the store has the key; an append after the tail without
// a valid seal stops the extension and blocks appends (ErrUnavailable), not readers, and
// AuditSeal counts the entries past the tail that no live append holds (Past). With the key, the
// tail's seal must verify, else appends are blocked. A store with the key that finds a head
// document without a seal seals it at the tail (from = the tail, fts = now), unless some entry
// of the tenant carries a seal (the head's seal was removed: blocked instead). A store without
// the key refuses to append to a sealed trail. VerifyAuditIndex reads the tenant's entries in
// seq order (_id, seq, en, ety) and reports a second document of one seq, an ety that is not
// the type of en, and entries past the tail.
//
// # Records and one-time keys
//
// PutRecord replaces the record by _id (upsert). Once inserts "t/key" with its expiry: a
// successful insert is a new key, and of concurrent callers exactly one insert succeeds. A
// key found unexpired is seen (and keeps the later expiry). An expired one counts as absent
// whether or not the TTL monitor has deleted it yet: it is replaced by an update filtered
// on the expiry that was read, so one of several callers replaces it.
//
// # Leases
//
// A lease is one document per (tenant, consumer). ClaimLease is a findOneAndUpdate with
// upsert, filtered on {_id, $or: [{o: owner}, {u: {$lte: now}}]}, setting o and u = now+ttl
// (p is 0 on insert): it renews the owner's lease or takes a free or run-out one, and when
// another owner holds it the filter misses, the upsert's insert meets the existing _id, and
// the duplicate key is store.ErrLeaseHeld. ClaimEvents is ClaimLease and then the events
// after p, from Events. ReadLease finds the document by _id and changes nothing.
// AckEvents is an update filtered on {_id, o: owner, u > now} with $max on p (never
// backwards; no match is ErrLeaseHeld); ReleaseLease sets u to 0 when o is the owner, so
// the next claim takes it at once, from p. Delivery is at least once: an owner whose lease
// ran out while it worked finds its acks refused, and the next owner redoes the events
// after the last acknowledged one. Times are Options.Now in milliseconds, in every process:
// hub clocks must agree to well within the ttl.
//
// # FerretDB: exclusive sections
//
// MongoDB applies a single-document update with its filter atomically; FerretDB 1.24 reads
// the matching documents, then writes them back by _id, so two clients can both pass a
// filter. The lease operations and the replacement of an expired one-time key therefore run
// inside a lock document on FerretDB (insert {_id: "#lease/…"} or "#once/…" into locks,
// delete it afterwards; a lock left by a crash is settled after Options.Lease like a
// transaction's). The audit trail needs none: its decisions are unique inserts. The head
// document's "never backwards" is the one conditional update it makes; on FerretDB two
// concurrent moves can leave the older value, and step 1 moves it forward again.
// Expired one-time keys are deleted by the recovery pass there (an hour after expiry).
//
// # Availability
//
// Driver errors are store.ErrUnavailable (503 at the server); Ping asks the primary. The
// driver reconnects by itself when the server returns. Write concern, read concern,
// timeouts and pool size are Options.
package mongo
