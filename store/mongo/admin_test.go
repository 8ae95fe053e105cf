package mongo_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kodomohub/kodomohub/store"
	"github.com/kodomohub/kodomohub/store/mongo"
	"github.com/kodomohub/kodomohub/store/mongo/mongotest"
)

var ctx = context.Background()

// mustTwoStores opens two Stores on one database (as two hub processes would) with tenant
// "misato".
func mustTwoStores(t *testing.T) (a, b *mongo.Store) {
	t.Helper()
	uri, db := mongotest.URI(t), mongotest.DBName()
	a = mustOpen(t, uri, mongo.Options{Database: db, Timeout: time.Minute})
	b = mustOpen(t, uri, mongo.Options{Database: db, Timeout: time.Minute})
	if err := a.CreateTenant(ctx, store.Tenant{ID: "misato"}); err != nil {
		t.Fatal(err)
	}
	return a, b
}

// TestTwoStoresAuditOneChain appends from two Stores at once, several goroutines each: every
// append gets consecutive seqs, no seq is given twice, and the trail read through either
// Store is one chain ending at the head.
func TestTwoStoresAuditOneChain(t *testing.T) {
	a, b := mustTwoStores(t)
	const workers, each = 6, 8
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		seqs = map[int64]string{}
		errs = make(chan error, workers)
	)
	for w := range workers {
		s := []*mongo.Store{a, b}[w%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				batch := make([]store.AuditEntry, 1+(w+i)%3)
				for k := range batch {
					batch[k] = store.AuditEntry{Time: time.Now(), Record: fmt.Appendf(nil, "w%d-i%d-k%d", w, i, k), Agent: fmt.Sprint("w", w)}
				}
				got, err := s.AppendAudit(ctx, "misato", batch)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				for k, e := range got {
					if e.Seq != got[0].Seq+int64(k) {
						errs <- fmt.Errorf("one append got seqs %d and %d", got[0].Seq, e.Seq)
					}
					if other, dup := seqs[e.Seq]; dup {
						errs <- fmt.Errorf("seq %d given to %s and %s", e.Seq, other, e.Record)
					}
					seqs[e.Seq] = string(e.Record)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, s := range []*mongo.Store{a, b} {
		prev := store.AuditGenesis
		es, err := s.AuditEntries(ctx, "misato", 0, 10000)
		if err != nil {
			t.Fatal(err)
		}
		if len(es) != len(seqs) {
			t.Fatalf("%d entries stored, %d returned", len(es), len(seqs))
		}
		for i, e := range es {
			if e.Seq != int64(i+1) || string(e.Record) != seqs[e.Seq] {
				t.Fatalf("entry %d: seq %d %s, want %s", i+1, e.Seq, e.Record, seqs[int64(i+1)])
			}
			if !bytes.Equal(e.Hash, store.AuditLink(prev, e.Seq, e.Record)) {
				t.Fatalf("entry %d: the chain is broken", e.Seq)
			}
			prev = e.Hash
		}
		if seq, hash, err := s.AuditHead(ctx, "misato"); err != nil || seq != int64(len(es)) || !bytes.Equal(hash, prev) {
			t.Fatalf("head %d (%v), want %d and the last entry's hash", seq, err, len(es))
		}
	}
}

// TestTwoStoresLeaseTakeover: a lease claimed through one Store is held against the other
// until it runs out; then the other takes over at the last acknowledged position, and the
// first one's acks are refused. Concurrent claims through both Stores have one winner.
func TestTwoStoresLeaseTakeover(t *testing.T) {
	a, b := mustTwoStores(t)
	for i := range 4 {
		if _, err := a.Commit(ctx, "misato", []store.Write{{Type: "Basic", ID: fmt.Sprint("b", i), Action: store.Create,
			Resource: []byte(`{"resourceType":"Basic"}`)}}); err != nil {
			t.Fatal(err)
		}
	}
	la, evs, err := a.ClaimEvents(ctx, "misato", "subs", "hub-a", 300*time.Millisecond, 2)
	if err != nil || len(evs) != 2 {
		t.Fatalf("claim by hub-a: %d events, %v", len(evs), err)
	}
	if err := a.AckEvents(ctx, "misato", "subs", "hub-a", evs[1].Seq); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.ClaimEvents(ctx, "misato", "subs", "hub-b", time.Minute, 10); !errors.Is(err, store.ErrLeaseHeld) {
		t.Fatalf("claim by hub-b while hub-a holds it: %v, want ErrLeaseHeld", err)
	}
	time.Sleep(time.Until(la.Until) + 50*time.Millisecond)
	lb, rest, err := b.ClaimEvents(ctx, "misato", "subs", "hub-b", time.Minute, 10)
	if err != nil || lb.Position != evs[1].Seq || len(rest) != 2 {
		t.Fatalf("takeover by hub-b: position %d, %d events, %v; want %d and 2 events", lb.Position, len(rest), err, evs[1].Seq)
	}
	if err := a.AckEvents(ctx, "misato", "subs", "hub-a", rest[1].Seq); !errors.Is(err, store.ErrLeaseHeld) {
		t.Fatalf("ack by hub-a after the takeover: %v, want ErrLeaseHeld", err)
	}
	var wg sync.WaitGroup
	won := make(chan string, 8)
	for i := range 8 {
		s := []*mongo.Store{a, b}[i%2]
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
		t.Fatalf("%d of 8 concurrent claims through two Stores won, want 1", n)
	}
}

// TestTwoStoresOnceExpiredKey: an expired one-time key is replaced by exactly one of several
// concurrent callers through two Stores (on FerretDB inside the lock document).
func TestTwoStoresOnceExpiredKey(t *testing.T) {
	a, b := mustTwoStores(t)
	if seen, err := a.Once(ctx, "misato", "jti", time.Now().Add(-time.Second)); err != nil || seen {
		t.Fatalf("Once = %v, %v", seen, err)
	}
	var wg sync.WaitGroup
	fresh := make(chan bool, 8)
	for i := range 8 {
		s := []*mongo.Store{a, b}[i%2]
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
