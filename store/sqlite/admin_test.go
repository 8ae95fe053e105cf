package sqlite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kodomohub/kodomohub/store"
)

// TestTwoStoresShareAuditOnceLeases opens one data directory twice, as a server and the admin
// CLI would, and appends, claims one-time keys and leases from both at once: one chain
// without forks, one false per key, one lease owner. After a reopen the chain continues.
func TestTwoStoresShareAuditOnceLeases(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var stores [2]*Store
	for i := range stores {
		s, err := Open(dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores[i] = s
	}
	if err := stores[0].CreateTenant(ctx, store.Tenant{ID: "misato"}); err != nil {
		t.Fatal(err)
	}
	// In turns first: each append must see the other store's head. Concurrent appends of the
	// two stores interleave only by chance (a waiting appender polls the log's lock).
	var returned []store.AuditEntry
	for i := range 6 {
		got, err := stores[i%2].AppendAudit(ctx, "misato", []store.AuditEntry{{Time: time.Now(), Record: fmt.Appendf(nil, "turn %d", i)}})
		if err != nil {
			t.Fatalf("turn %d: %v", i, err)
		}
		if got[0].Seq != int64(i+1) {
			t.Fatalf("turn %d: seq %d, want %d", i, got[0].Seq, i+1)
		}
		returned = append(returned, got...)
	}
	const workers, each = 6, 15
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		fresh  int // Once calls that saw false
		owners int // successful claims
		errs   = make(chan error, 2*workers)
	)
	for si, s := range stores {
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					batch := make([]store.AuditEntry, 1+i%2)
					for k := range batch {
						batch[k] = store.AuditEntry{Time: time.Now(), Record: fmt.Appendf(nil, "s%d-w%d-i%d-k%d", si, w, i, k),
							Agent: fmt.Sprint("s", si), Patients: []string{"Patient/p1"}, Entity: "Patient/p1", Action: "R", Outcome: "0"}
					}
					got, err := s.AppendAudit(ctx, "misato", batch)
					if err != nil {
						errs <- err
						return
					}
					mu.Lock()
					returned = append(returned, got...)
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
	all := checkChain(t, stores[1], "misato")
	if len(all) != len(returned) {
		t.Fatalf("%d entries stored, %d returned", len(all), len(returned))
	}
	for _, r := range returned {
		if r.Seq < 1 || r.Seq > int64(len(all)) || !bytes.Equal(all[r.Seq-1].Record, r.Record) || !bytes.Equal(all[r.Seq-1].Hash, r.Hash) {
			t.Fatalf("returned entry %d %q is not the stored one", r.Seq, r.Record)
		}
	}
	for _, s := range stores {
		s.Close()
	}
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.AppendAudit(ctx, "misato", []store.AuditEntry{{Time: time.Now(), Record: []byte("after reopen")}})
	if err != nil {
		t.Fatal(err)
	}
	if last := all[len(all)-1]; got[0].Seq != last.Seq+1 || !bytes.Equal(got[0].Hash, store.AuditLink(last.Hash, last.Seq+1, got[0].Record)) {
		t.Fatalf("after a reopen: entry %d %x, want %d chained to %x", got[0].Seq, got[0].Hash, last.Seq+1, last.Hash)
	}
	checkChain(t, s, "misato")
}

// checkChain reads a tenant's trail and checks its numbering, hashes and head.
func checkChain(t *testing.T, s *Store, tenant string) []store.AuditEntry {
	t.Helper()
	ctx := context.Background()
	all, err := s.AuditEntries(ctx, tenant, 0, maxEvents)
	if err != nil {
		t.Fatal(err)
	}
	prev := store.AuditGenesis
	for i, e := range all {
		if e.Seq != int64(i+1) || !bytes.Equal(e.Hash, store.AuditLink(prev, e.Seq, e.Record)) {
			t.Fatalf("entry %d: seq %d hash %x: the chain is broken", i+1, e.Seq, e.Hash)
		}
		prev = e.Hash
	}
	seq, hash, err := s.AuditHead(ctx, tenant)
	if err != nil || seq != int64(len(all)) || !bytes.Equal(hash, prev) {
		t.Fatalf("AuditHead = %d %x, %v; want %d %x", seq, hash, err, len(all), prev)
	}
	return all
}

// TestAuditSearchUsesIndexes checks the plans of SearchAudit's queries of the index: a posting
// key's rows by its primary key with each block by its rowid, the blocks by rowid, and none sorts
// (both walks are in seq order already).
func TestAuditSearchUsesIndexes(t *testing.T) {
	ctx := context.Background()
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.CreateTenant(ctx, store.Tenant{ID: "misato"}); err != nil {
		t.Fatal(err)
	}
	al, _, err := s.auditHead(ctx, "misato")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		sql  string
		want []string // in the plan
	}{
		{postingsSQL + " AND b.tmax >= ? AND b.tmin < ? ORDER BY p.lo DESC",
			[]string{"SEARCH p USING PRIMARY KEY (key=? AND lo<?)", "SEARCH b USING INTEGER PRIMARY KEY (rowid=?)"}},
		{blocksSQL + " AND b.tmin < ? ORDER BY b.lo DESC",
			[]string{"SEARCH b USING INTEGER PRIMARY KEY (rowid<?)"}},
		{blockOfSQL,
			[]string{"SEARCH block USING INTEGER PRIMARY KEY (rowid<?)"}},
	} {
		args := make([]any, strings.Count(c.sql, "?"))
		for i := range args {
			args[i] = int64(1)
		}
		p := strings.Join(queryPlan(t, al.ix.r, c.sql, args...), "; ")
		for _, w := range c.want {
			if !strings.Contains(p, w) || strings.Contains(p, "TEMP B-TREE") {
				t.Errorf("%s: plan %q, want %q and no sort", c.sql, p, w)
			}
		}
	}
}
