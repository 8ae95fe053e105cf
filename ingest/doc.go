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

// Package ingest is the hub's one write path: every resource written to a town, by the REST
// API, a transaction or batch Bundle, an adapter import, linkage, the risk engine or a
// handover, goes through an Ingester and then one store.Commit.
//
// # Contract
//
// Input: a Request (the tenant, the principal with what it declared, the tenant's FHIR base)
// and one of
//
//   - a resource body: Create (with an optional If-None-Exist search), Update (by id, or
//     conditional on criteria), Patch (JSON Patch, by id or criteria), Delete (by id or
//     criteria);
//   - a Bundle's entries: Transaction (all or nothing) or Batch (each entry on its own).
//
// Output: what was stored, per operation or entry (Outcome: the version written, the
// resource a conditional create found, a no-op delete, a read), or the error. Errors are
// *fhir.Error values carrying the status and issues a FHIR client gets (Error maps the store's
// sentinels the same way); in a transaction the issues name the entry at fault
// (Bundle.entry[i]) and nothing is written. ingest imports no gin and no net/http.
//
// For each write, in this order:
//
//  1. Access: the guard (Guard, which *auth.Guard satisfies, or the Request's View) decides
//     the type-level operation, then the stored version a write replaces or deletes, then
//     the body about to be written (auth.Body, with its index entries). Every entry of a
//     bundle is decided before anything is stored. A denial that depends on the resource is
//     answered as "not found" (a delete of it is a no-op), any other is 403.
//  2. Parse once: fhir.Parse scans the bytes (well-formed JSON, depth limit, resourceType
//     and id), then the body is decoded once into a tree that conditional-reference
//     resolution, urn:uuid replacement (applied to the bytes and the tree alike), reference
//     scanning and index extraction share.
//  3. Validate: the Validator (conformance) checks the body against the R4 definitions,
//     including the target type of each literal reference (Observation.subject may not be an
//     Organization) — 422.
//  4. References: in a transaction, urn:uuid references to entries' fullUrls and
//     conditional references (exactly one match the caller may see, else 412) are replaced
//     by Type/id. A urn:uuid reference left unresolved (in a transaction, or in any plain
//     write) is refused (422): it can never resolve. On a tenant with strict referential
//     integrity a reference to a version (Patient/p1/_history/2) must name a version that
//     exists and is not a delete (422); that the referenced resources exist is checked by
//     the store inside the commit (store.Write.Refs).
//  5. Index: the search index entries are extracted from the tree (fhir/search).
//  6. Conditional locks: creates, updates and transactions with criteria hold the
//     conditional-write stripe locks (in-process mutexes and store leases across processes)
//     from their search until their commit, so two of them never both find nothing and both
//     create.
//  7. Delete on a strict tenant: a resource that live resources reference (found through the
//     reference search parameters of every type that may point to it) is not deleted: 409,
//     naming the referrers the caller may read. Referrers the same transaction deletes or
//     rewrites do not count.
//  8. Commit: one store.Commit for the operation or the whole transaction.
//
// # Audit
//
// Each decision goes to the Request's Recorder, and the caller writes the audit record (the
// REST server's record covers its HTTP request). Without a Recorder, ingest appends one
// record per call to Config.Audit with the fields the REST server writes for the same
// interaction (create, update, update-conditional, patch, delete, bundle …; the action C, U,
// D or E; the status REST would answer; the principal; the policy's reason; the patients
// touched), so a write through ingest is decided and audited exactly as one through REST.
// A record that cannot be appended fails the call.
//
// # What the caller provides
//
// Searching is the REST server's (chains, _has, the caller's narrowing), so a Request may
// carry Matches, the search of conditional criteria as the caller; without it ingest searches
// the store itself, as the caller, and refuses chained and _has criteria. GET Type?params
// entries of a bundle need a SearchEntry; GET Type/id entries are read by ingest.
package ingest
