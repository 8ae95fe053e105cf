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

package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kodomohub/kodomohub/store"
)

// The promises between processes: several stores opened on one data set, as two hub
// processes, or a server and the admin CLI beside it, hold it. store.Store: a tenant created
// by another process is visible without a restart, and writes of both are numbered as one
// (versions, event seqs). store.AuditLog: appends "also from several processes" never share a
// seq or fork the chain. store.Records: a record written by one process is visible to every
// other at once, and of concurrent Once calls from any process exactly one sees false.
// store.Leases: one owner at a time across processes, taken over from the last ack.

// sharedCases open their own stores, two or more on one data set.
var sharedCases = []struct {
	name string
	fn   func(*testing.T, opener)
}{
	{"Shared/TenantCreatedElsewhereSeenWithoutRestart", testSharedTenant},
	{"Shared/RecordsWrittenElsewhereSeenAtOnce", testSharedRecords},
	{"Shared/WritesOfBothNumberedAsOne", testSharedWrites},
	{"Shared/IfMatchAcrossStoresLosesNoUpdate", testSharedIfMatch},
	{"Shared/AuditOneChainOneOnceOneLeaseOwner", testSharedAudit},
	{"Shared/LeaseTakenOverFromTheLastAck", testSharedLeaseTakeover},
	{"Shared/ExpiredOnceKeyTakenByOne", testSharedOnceExpired},
}

// opener opens another store on a case's data set, with the default clock.
type opener func(t *testing.T) store.Store

// closing returns an opener of open's data set with the default clock whose stores are
// closed at the end of the test (a case may close one earlier).
func closing(open Opener) opener {
	return func(t *testing.T) store.Store {
		t.Helper()
		s := open(t, nil)
		t.Cleanup(func() { s.Close() })
		return s
	}
}

// twoStores opens two stores on one data set with tenant misato (created through the first).
func twoStores(t *testing.T, open opener) (a, b store.Store) {
	t.Helper()
	a, b = open(t), open(t)
	mustTenant(t, a, "misato", "")
	return a, b
}

// testSharedTenant: a tenant and a secret the admin CLI creates are seen by a running server
// without a restart, and the server writes to that tenant at once.
func testSharedTenant(t *testing.T, open opener) {
	server := open(t)
	if _, err := server.Tenant(ctx, "kawajima"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Tenant before the create: %v, want ErrNotFound", err)
	}
	admin := open(t) // the admin CLI, another process
	if err := admin.CreateTenant(ctx, store.Tenant{ID: "kawajima", Name: "川島町", ReferentialIntegrity: store.IntegrityOff}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.LoadOrStoreSecret(ctx, "jwks", []byte("admin")); err != nil {
		t.Fatal(err)
	}
	admin.Close()
	got, err := server.Tenant(ctx, "kawajima")
	if err != nil || got.Name != "川島町" || got.ReferentialIntegrity != store.IntegrityOff {
		t.Fatalf("the server sees %+v, %v; want 川島町 with integrity off", got, err)
	}
	if v, err := server.LoadOrStoreSecret(ctx, "jwks", []byte("server")); err != nil || string(v) != "admin" {
		t.Fatalf("the server's secret = %q, %v; want the admin's", v, err)
	}
	if err := server.CreateTenant(ctx, store.Tenant{ID: "kawajima", Name: "again"}); !errors.Is(err, store.ErrExists) {
		t.Fatalf("CreateTenant of the id the admin took: %v, want ErrExists", err)
	}
	mustCommit(t, server, "kawajima", create("Patient", "p", patient("P")))
	ts, err := server.Tenants(ctx)
	if err != nil || len(ts) != 1 || ts[0].ID != "kawajima" {
		t.Fatalf("Tenants = %+v, %v; want [kawajima]", ts, err)
	}
	// And the other way: what the server wrote, a new process reads.
	later := open(t)
	sameVersion(t, mustRead(t, later, "kawajima", "Patient", "p"), mustRead(t, server, "kawajima", "Patient", "p"))
}

// testSharedRecords: records (client registrations) written, replaced and deleted through one
// store are seen so through the other at once.
func testSharedRecords(t *testing.T, open opener) {
	a, b := twoStores(t, open)
	if err := a.PutRecord(ctx, "misato", "client", "app", []byte("v1")); err != nil {
		t.Fatal(err)
	}
	if got, err := b.GetRecord(ctx, "misato", "client", "app"); err != nil || string(got) != "v1" {
		t.Fatalf("GetRecord through the other store = %q, %v; want v1", got, err)
	}
	if err := b.PutRecord(ctx, "misato", "client", "app", []byte("v2")); err != nil {
		t.Fatal(err)
	}
	if err := b.PutRecord(ctx, "misato", "client", "other", []byte("o")); err != nil {
		t.Fatal(err)
	}
	if got, err := a.GetRecord(ctx, "misato", "client", "app"); err != nil || string(got) != "v2" {
		t.Fatalf("GetRecord after the other store replaced it = %q, %v; want v2", got, err)
	}
	if rs, err := a.ListRecords(ctx, "misato", "client"); err != nil || len(rs) != 2 || rs[0].ID != "app" || rs[1].ID != "other" {
		t.Fatalf("ListRecords = %+v, %v; want app and other", rs, err)
	}
	if err := a.DeleteRecord(ctx, "misato", "client", "app"); err != nil {
		t.Fatal(err)
	}
	if got, err := b.GetRecord(ctx, "misato", "client", "app"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetRecord after the other store deleted it = %q, %v; want ErrNotFound", got, err)
	}
}

// testSharedWrites: writes through two stores in turns continue each other's version
// numbers and change events.
func testSharedWrites(t *testing.T, open opener) {
	a, b := twoStores(t, open)
	for i, s := range []store.Store{a, b, a, b} {
		r := mustCommit(t, s, "misato", update("Patient", "p", patient(fmt.Sprint("P", i))))[0]
		if r.Resource.Version != int64(i+1) {
			t.Fatalf("write %d through store %d: version %d, want %d", i, i%2, r.Resource.Version, i+1)
		}
	}
	evs := allEvents(t, b, "misato")
	if len(evs) != 4 {
		t.Fatalf("%d events, want 4: %v", len(evs), evs)
	}
	for i, e := range evs {
		if e.Version != int64(i+1) || i > 0 && e.Seq <= evs[i-1].Seq {
			t.Fatalf("events %v: want versions 1 to 4 with increasing seqs", evs)
		}
	}
	if got := mustRead(t, a, "misato", "Patient", "p"); got.Version != 4 || !bytes.Contains(got.Raw, []byte(`"P3"`)) {
		t.Fatalf("Read = v%d %s, want v4 written through the other store", got.Version, got.Raw)
	}
}

// testSharedIfMatch runs concurrent If-Match updates of one resource through two stores: no
// update is lost, and the events' seqs stay unique and increasing.
func testSharedIfMatch(t *testing.T, open opener) {
	a, b := twoStores(t, open)
	mustCommit(t, b, "misato", create("Basic", "c", []byte(`{"resourceType":"Basic","n":0}`)))
	const workers, each = 4, 5
	countConcurrently(t, []store.Store{a, b}, "c", workers, each)
	evs := allEvents(t, b, "misato")
	if len(evs) != 1+workers*each {
		t.Fatalf("%d events, want %d", len(evs), 1+workers*each)
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].Seq <= evs[i-1].Seq {
			t.Fatalf("seqs not increasing: %v", evs)
		}
	}
}

// testSharedAudit appends audit entries from two stores, in turns and then from several
// goroutines each, which also take a one-time key and claim a lease: one chain without forks
// or reused seqs, read alike through either store, each store's SearchAudit finds the other's
// entries, one Once call sees false and one claim wins. A store opened after both are closed
// continues the chain.
func testSharedAudit(t *testing.T, open opener) {
	a, b := twoStores(t, open)
	stores := []store.Store{a, b}
	// In turns first: each append must see the other store's head.
	var returned []store.AuditEntry
	for i := range 6 {
		got, err := stores[i%2].AppendAudit(ctx, "misato", []store.AuditEntry{{Time: time.Now(), Record: fmt.Appendf(nil, "turn %d", i)}})
		if err != nil {
			t.Fatalf("turn %d: %v", i, err)
		}
		if got[0].Seq != int64(i+1) {
			t.Fatalf("turn %d through store %d: seq %d, want %d", i, i%2, got[0].Seq, i+1)
		}
		returned = append(returned, got...)
	}
	const workers, each = 4, 8
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		fresh  int                // Once calls that saw false
		owners int                // successful claims
		agents = map[string]int{} // entries appended per store
		errs   = make(chan error, 2*workers)
	)
	for si, s := range stores {
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				agent := fmt.Sprint("store-", si)
				for i := range each {
					batch := make([]store.AuditEntry, 1+(w+i)%3)
					for k := range batch {
						batch[k] = store.AuditEntry{Time: time.Now(), Record: fmt.Appendf(nil, "s%d-w%d-i%d-k%d", si, w, i, k),
							Agent: agent, Patients: []string{"Patient/p1"}, Entity: "Patient/p1", Action: "R", Outcome: "0"}
					}
					got, err := s.AppendAudit(ctx, "misato", batch)
					if err == nil && len(got) != len(batch) {
						err = fmt.Errorf("%d entries returned for %d", len(got), len(batch))
					}
					for k := 1; err == nil && k < len(got); k++ {
						if got[k].Seq != got[0].Seq+int64(k) {
							err = fmt.Errorf("one append got seqs %d and %d", got[k-1].Seq, got[k].Seq)
						}
					}
					if err != nil {
						errs <- fmt.Errorf("store %d worker %d append %d: %w", si, w, i, err)
						return
					}
					mu.Lock()
					returned = append(returned, got...)
					agents[agent] += len(got)
					mu.Unlock()
				}
				seen, err := s.Once(ctx, "misato", "jti-shared", time.Now().Add(time.Hour))
				if err != nil {
					errs <- err
					return
				}
				_, _, err = s.ClaimEvents(ctx, "misato", "subs", fmt.Sprint("s", si, "w", w), time.Hour, 10)
				if err != nil && !errors.Is(err, store.ErrLeaseHeld) {
					errs <- err
					return
				}
				mu.Lock()
				if !seen {
					fresh++
				}
				if err == nil {
					owners++
				}
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if fresh != 1 || owners != 1 {
		t.Fatalf("across two stores: %d Once calls saw false, %d claims won; want 1 and 1", fresh, owners)
	}
	var all []store.AuditEntry
	for i, s := range stores {
		got := verifyChain(t, s, "misato")
		if i > 0 && len(got) != len(all) {
			t.Fatalf("store %d reads %d entries, store 0 %d", i, len(got), len(all))
		}
		all = got
	}
	if len(all) != len(returned) {
		t.Fatalf("%d entries stored, %d returned: a seq was given twice", len(all), len(returned))
	}
	for _, r := range returned {
		if r.Seq < 1 || r.Seq > int64(len(all)) || !bytes.Equal(all[r.Seq-1].Record, r.Record) || !bytes.Equal(all[r.Seq-1].Hash, r.Hash) {
			t.Fatalf("returned entry %d %q is not the stored one", r.Seq, r.Record)
		}
	}
	for i, s := range stores {
		for agent, n := range agents {
			var es []store.AuditEntry
			for q := (store.AuditQuery{Agent: agent, Count: 50}); ; {
				page, next, err := s.SearchAudit(ctx, "misato", q)
				if err != nil {
					t.Fatalf("SearchAudit(agent %s) through store %d: %v", agent, i, err)
				}
				es = append(es, page...)
				if next == 0 {
					break
				}
				q.Before = next
			}
			if len(es) != n || !slices.IsSortedFunc(es, func(x, y store.AuditEntry) int { return int(y.Seq - x.Seq) }) {
				t.Fatalf("SearchAudit(agent %s) through store %d: %d entries, want the %d appended, newest first", agent, i, len(es), n)
			}
		}
	}
	a.Close()
	b.Close()
	c := open(t)
	got, err := c.AppendAudit(ctx, "misato", []store.AuditEntry{{Time: time.Now(), Record: []byte("after reopen")}})
	if err != nil {
		t.Fatal(err)
	}
	if last := all[len(all)-1]; got[0].Seq != last.Seq+1 || !bytes.Equal(got[0].Hash, store.AuditLink(last.Hash, last.Seq+1, got[0].Record)) {
		t.Fatalf("after a reopen: entry %d %x, want %d chained to %x", got[0].Seq, got[0].Hash, last.Seq+1, last.Hash)
	}
	verifyChain(t, c, "misato")
}

// testSharedLeaseTakeover: a lease claimed through one store is held against the other until
// it runs out; then the other takes over at the last acknowledged position, and the first
// one's acks are refused. Concurrent claims through both stores have one winner.
func testSharedLeaseTakeover(t *testing.T, open opener) {
	a, b := twoStores(t, open)
	evs := seedEvents(t, a, "misato", 4)
	// Two seconds: hub-a's ack and hub-b's first claim must both come before the lease ends,
	// also on a loaded machine.
	la, got := mustClaim(t, a, "misato", "subs", "hub-a", 2*time.Second, 2)
	sameEvents(t, "claim by hub-a", got, evs[:2])
	mustAck(t, a, "subs", "hub-a", evs[1].Seq)
	_, _, err := b.ClaimEvents(ctx, "misato", "subs", "hub-b", time.Minute, 10)
	wantHeld(t, "ClaimEvents by hub-b while hub-a holds the lease", err)
	time.Sleep(time.Until(la.Until) + 50*time.Millisecond) // hub-a dies: its lease runs out
	lb, rest := mustClaim(t, b, "misato", "subs", "hub-b", time.Minute, 10)
	if lb.Position != evs[1].Seq {
		t.Fatalf("hub-b took over at position %d, want hub-a's last ack %d", lb.Position, evs[1].Seq)
	}
	sameEvents(t, "hub-b's events after the takeover", rest, evs[2:])
	wantHeld(t, "AckEvents by hub-a after the takeover", a.AckEvents(ctx, "misato", "subs", "hub-a", evs[3].Seq))
	var wg sync.WaitGroup
	won := make(chan string, 8)
	for i := range 8 {
		s := []store.Store{a, b}[i%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			owner := fmt.Sprint("owner", i)
			_, _, err := s.ClaimEvents(ctx, "misato", "other", owner, time.Minute, 1)
			switch {
			case err == nil:
				won <- owner
			case !errors.Is(err, store.ErrLeaseHeld):
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	close(won)
	if n := len(won); n != 1 {
		t.Fatalf("%d of 8 concurrent claims through two stores won, want 1", n)
	}
}

// testSharedOnceExpired: an expired one-time key is taken again by exactly one of several
// concurrent callers through two stores.
func testSharedOnceExpired(t *testing.T, open opener) {
	a, b := twoStores(t, open)
	if seen, err := a.Once(ctx, "misato", "jti", time.Now().Add(-time.Second)); err != nil || seen {
		t.Fatalf("first Once = %v, %v; want false", seen, err)
	}
	var wg sync.WaitGroup
	fresh := make(chan bool, 8)
	for i := range 8 {
		s := []store.Store{a, b}[i%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			seen, err := s.Once(ctx, "misato", "jti", time.Now().Add(time.Hour))
			if err != nil {
				t.Error(err)
			}
			if !seen {
				fresh <- true
			}
		}()
	}
	wg.Wait()
	close(fresh)
	if n := len(fresh); n != 1 {
		t.Fatalf("%d of 8 calls on an expired key saw false, want exactly 1", n)
	}
}
