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

// Package audit is the audit trail: the record of one audited access (Record, record.go), its
// canonical bytes and its R4 AuditEvent form, the per-tenant hash chain that links the
// records (NextLink, Chain, VerifyChain), the Sink that takes them (StoreSink over a store's
// audit log, MemSink for tests), and what makes the trail checkable by someone who does not
// trust the store it is kept in: signed checkpoints of its hash chain, kept in the store and
// elsewhere, the background Checkpointer that makes them while a server runs, the key files,
// and Verify, which checks a trail against its sealed head, every checkpoint it is given and
// its search index.
//
// # Why
//
// Each entry of a trail is chained to the one before it (store.AuditLink), so a changed,
// inserted or removed entry breaks the chain at that entry. The end of the chain is only as
// trustworthy as the head that names it: an outside test cut the newest entries off a log and
// rewrote its head with a fresh checksum (no secret), and `audit verify` said "intact". Three
// things now stand behind the end of the chain, each against a stronger intruder:
//
//  1. The sealed head (store.AuditSeal): the store MACs every head it writes with
//     HMAC-SHA256 under a key from a key file (store.AuditKey), one MAC per append group. A
//     head rewritten after a cut no longer verifies.
//  2. Signed checkpoints: every Checkpointer.Every entries or Checkpointer.Interval while a
//     server runs, and at its clean shutdown, the Checkpointer signs {tenant, seq, hash, time}
//     with an Ed25519 key. Checkpoints are kept in the store (store.Records, kind
//     CheckpointKind), exported with `kodomohub audit checkpoints`, and appended as they are
//     made to a directory outside the data (audit.checkpointDir). A checkpoint beyond the head
//     is a cut; one whose hash the chain does not hold is rewritten history. The public key
//     travels with every checkpoint; a verifier pins the one it trusts.
//  3. The index: SearchAudit reads an index that is not chained. VerifyAuditIndex re-derives it
//     from the entries, so that an access hidden from the auditors' searches is found.
//
// # Threat model
//
// The intruder can read and write the data directory (or the MongoDB database) at will, but
// cannot read the key files: the head key and the signing key live outside it (a secrets mount,
// another user's file), which the default embedded setup does not do (it creates both, 0600, in
// the data directory, where an intruder who reads the directory reads them too: use only for
// development). Against that intruder:
//
//   - changing, inserting or removing entries inside the chain: the chain (any verifier);
//   - cutting the tail and rewriting the head: the head's MAC (a verifier with the head key);
//   - removing the head's seal so that a store seals the cut head again: refused by the store
//     once any entry of the trail is sealed; before that, the seal's From and FromTime tell the
//     auditor since when the end of the trail is covered;
//   - putting back an earlier genuine state (an old head with the entries up to it, copied
//     before): the MAC verifies, and only a checkpoint newer than that state, kept where the
//     intruder cannot write (the checkpoint directory, an auditor's copy), reveals it;
//   - forging checkpoints: the signature, checked against the pinned public key;
//   - adding entries after the head: the store never takes them into the chain without a seal,
//     and Verify reports them (AuditSeal.Past);
//   - damaging the search index: VerifyAuditIndex.
//
// What no one can check: that entries were never written (a hub that does not audit), and, with
// the head key, anything the key's holder writes. Appends stay cheap: one HMAC per group of
// appends; no append reads the log.
package audit
