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

package ingest

import (
	"context"
	"errors"
	"hash/fnv"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/kodomohub/kodomohub/fhir"
	"github.com/kodomohub/kodomohub/store"
)

// Conditional creates and updates (If-None-Exist, PUT ?criteria, and their entries in a
// transaction) search and then write; two of them with the same criteria must not both find
// nothing and both create. They are serialised by stripe (a hash of tenant, type and criteria):
// inside a server by a mutex per stripe, and across the processes sharing the store (several
// serve on one MongoDB, or an admin command beside serve) by a lease per stripe (store.Leases,
// consumer "conditional/N"), held from the search until the write has committed. Leases of a
// process that died expire after condLeaseTTL. A fixed number of stripes keeps the memory and the
// leases bounded whatever the criteria; unrelated criteria in one stripe merely wait for each other.
const (
	condStripes  = 64
	condLeaseTTL = 30 * time.Second
	condWait     = 10 * time.Second // then 503
)

type condLocks struct {
	mu    [condStripes]sync.Mutex
	owner string // this server's lease owner
}

func condStripe(tenant, typ, criteria string) int {
	h := fnv.New32a()
	h.Write([]byte(tenant + "\x00" + typ + "\x00" + criteria))
	return int(h.Sum32() % condStripes)
}

// conditionalLock takes the stripes of the given criteria (type and query, pairwise) in
// tenant, in order, and returns their release.
func (c *call) conditionalLock(ctx context.Context, typeCriteria ...string) (func(), error) {
	s, tenant := c.Ingester, c.tenant()
	var stripes []int
	for i := 0; i+1 < len(typeCriteria); i += 2 {
		stripes = append(stripes, condStripe(tenant, typeCriteria[i], typeCriteria[i+1]))
	}
	slices.Sort(stripes)
	stripes = slices.Compact(stripes)
	var held []int
	release := func() {
		for _, n := range slices.Backward(held) {
			if err := s.store.ReleaseLease(context.Background(), tenant, condConsumer(n), s.cond.owner); err != nil {
				s.log.Warn("releasing a conditional lock (it expires on its own)", "tenant", tenant, "stripe", n, "err", err)
			}
			s.cond.mu[n].Unlock()
		}
	}
	deadline := time.Now().Add(condWait)
	for _, n := range stripes {
		s.cond.mu[n].Lock()
		if err := s.claimStripe(ctx, tenant, n, deadline); err != nil {
			s.cond.mu[n].Unlock()
			release()
			return nil, err
		}
		held = append(held, n)
	}
	return release, nil
}

func condConsumer(n int) string { return "conditional/" + strconv.Itoa(n) }

// claimStripe takes the lease of stripe n, waiting while another process holds it.
func (s *Ingester) claimStripe(ctx context.Context, tenant string, n int, deadline time.Time) error {
	wait := time.Millisecond
	for {
		// A lease without events: the stripe is a lock, nothing is consumed.
		_, err := s.store.ClaimLease(ctx, tenant, condConsumer(n), s.cond.owner, condLeaseTTL)
		switch {
		case err == nil:
			return nil
		case !errors.Is(err, store.ErrLeaseHeld):
			return err
		case time.Now().After(deadline):
			return fhir.Errorf(fhir.KindUnavailable, fhir.IssueTransient,
				"another conditional write with criteria like these is still running; try again")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 50*time.Millisecond)
	}
}
