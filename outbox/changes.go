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

package outbox

import (
	"cmp"
	"context"
	"slices"
	"sync"

	"github.com/kodomohub/kodomohub/store"
)

// ChangesName is the consumer name serve runs Changes under.
const ChangesName = "changes"

// Changes is a Handler that counts change events per tenant, resource type and action: the
// write activity of each town, for /metrics. It counts what this process handled, at least
// once (an event handled again after a crash or a lease takeover counts again), from when the
// process started; processes sharing a store share the events, so the sum over them is the
// town's count. A consumer that never ran starts at a tenant's first event: its first process
// counts the history once. The zero value is ready to use.
type Changes struct {
	mu sync.Mutex
	n  map[ChangeKey]uint64
}

// ChangeKey is what Changes counts by.
type ChangeKey struct {
	Tenant, Type string
	Action       store.Action
}

// Change is one count of Changes.
type Change struct {
	ChangeKey
	N uint64
}

// Handle implements Handler.
func (c *Changes) Handle(_ context.Context, tenant string, e store.Event) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[ChangeKey]uint64{}
	}
	c.n[ChangeKey{tenant, e.Type, e.Action}]++
	return nil
}

// Counts returns the counts, by tenant, type and action.
func (c *Changes) Counts() []Change {
	c.mu.Lock()
	out := make([]Change, 0, len(c.n))
	for k, n := range c.n {
		out = append(out, Change{k, n})
	}
	c.mu.Unlock()
	slices.SortFunc(out, func(a, b Change) int {
		return cmp.Or(cmp.Compare(a.Tenant, b.Tenant), cmp.Compare(a.Type, b.Type), cmp.Compare(a.Action, b.Action))
	})
	return out
}
