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

// Package outbox runs consumers of the store's change events: named consumers with a durable
// position per tenant, shared by every hub process on the same data through leases. The risk
// engine, identity linkage and subscription delivery react to changes through it; nothing
// polls resource tables.
//
// # Contract
//
// A Loop is one named consumer (Config.Name) in one process (Config.Owner). For every tenant
// of the store it runs claim → handle → acknowledge:
//
//   - claim: it looks at the tenant's lease of Name (store.Leases.ReadLease, a read) and at the
//     events after its position (store.Store.Events); only when there are some and no other
//     owner holds an unexpired lease does it claim the lease (ClaimLease, a write). An idle or
//     refused consumer writes nothing.
//   - handle: it calls the Handler with each event after the position, in Seq order, one at a
//     time. Before each event it renews the lease when less than half of Config.LeaseTTL is
//     left, and the handler's context ends LeaseTTL/10 before the lease does: a handler never
//     runs while another owner may hold the lease, when the hub clocks agree to well within
//     that margin. Events of one tenant are handled in order; tenants are independent.
//   - acknowledge: it moves the durable position (AckEvents) up to the last event handled,
//     every Config.AckEvery events, at the end of a batch, before it stops for a failure and
//     when it stops. When caught up it releases the lease, so that any process can take the
//     next events.
//
// Delivery is at least once, never less: an event is handled again when its handler ran but
// its acknowledgement did not persist (the process died, the lease ran out, the store was
// unreachable): at most the events since the last acknowledgement, which Config.AckEvery
// bounds. No event after the position is ever skipped: the position only moves to an event
// that was handled, and Events never passes an event that may still appear (store.Store).
// Beyond that, two processes never both handle an event: one owner holds a tenant's lease at a
// time, an owner whose lease ran out (or was taken over) finds its renewal or acknowledgement
// refused (store.ErrLeaseHeld) and drops the rest of its batch, and an owner that finds the
// position moved past what it acknowledged starts again from the stored position. A handler
// must therefore tolerate seeing an event twice (be idempotent, or count at least once).
//
// A handler error (or panic) stops the tenant at that event: the events before it are
// acknowledged, the position does not pass it, and the loop keeps the lease and retries the
// same event after a backoff that doubles from Config.MinBackoff up to Config.MaxBackoff, with
// jitter (a delay d is drawn from [d/2, d]), for as long as it fails: a failing event holds
// back its tenant's later events, never those of other tenants or other consumers. The clock
// (Config.Now) and the randomness of the jitter and of the owner name (Config.Rand) are inputs,
// so tests pin both.
//
// A consumer that has never run starts at the tenant's first event. Consumer names are
// [a-z0-9-]: the store's leases are also used as locks under names with a "/"
// ("conditional/N"), which a consumer name can never meet.
//
// # Consumers
//
// Changes is the first consumer: a count of changes per tenant, resource type and action, which
// serve exposes on /metrics.
package outbox
