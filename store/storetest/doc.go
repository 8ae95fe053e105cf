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

// Package storetest provides the conformance suite of the storage contract in package store:
// Run checks any store.Store against every promise of that contract, so backends cannot drift
// apart. A backend is done when its test calls Run and passes.
//
// Run is given data sets, not stores: an Opener opens any number of stores on one data set
// (a data directory, a database), as RunOutbox's do. Most cases use one; the Shared cases
// (shared.go) open two or more, as two hub processes or a server and the admin CLI do, and check the promises between
// processes: a tenant created elsewhere seen without a restart, records seen at once, versions
// and event seqs numbered as one, one audit chain, one Once winner, lease takeover.
//
// The suite checks behaviour visible through store.Store only. Search is checked twice:
// by table-driven cases on a small hand-written town (every parameter type, prefix and
// modifier, chains, _has, sort, paging while writing, totals, includes, compartments,
// tenant isolation, cursors), and by an oracle that compares Search (paging through every
// page) with the brute-force search.Registry.Match over every stored resource, on random
// queries built from the data's own values over a synthetic town (Town) and a sample of the
// official R4 examples. Writes carry the entries search.Default().Extract computes
// (IndexedWrite), as the server's do.
//
// The hub's own parts of the contract (store/admin.go: store.AuditLog, store.Records,
// store.Leases) are checked in audit.go, records.go and leases.go: hash chains recomputed
// with store.AuditLink over the stored bytes, concurrent appends, one-time keys and lease
// takeover. Run skips them for a store that does not implement an interface.
//
// RunAuditIntegrity is a suite of its own for the sealed audit head and the audit index check
// (integrity.go): it needs stores opened with an audit key on one data set, and a backend's
// AuditData that damages that data set as someone who can write it (but not read the key)
// would: a cut tail under a rewritten head, a replayed head, forged entries, a damaged index.
package storetest
