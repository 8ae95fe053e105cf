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

// Package store defines the storage contract of the hub: tenants, versioned resources with
// their search index entries, history, and the change events (outbox) written atomically with
// every version. Backends live in sub-packages; store/storetest is the conformance suite each
// of them runs.
//
// The contract, for every backend:
//
//   - Every key carries the tenant. A tenant's data is invisible to every other tenant.
//   - Commit applies a list of writes all or nothing. Each write stores a new immutable version
//     (deletes are versions too), its index entries and one change event, together.
//   - Versions of one resource are numbered 1, 2, 3…; change event sequence numbers are
//     strictly increasing per tenant and have no gaps visible to readers once committed.
//   - A Commit that returns nil is durable: a crash afterwards does not lose it. A Commit
//     that returns an error wrote nothing.
package store
