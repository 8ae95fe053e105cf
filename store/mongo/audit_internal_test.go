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

package mongo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	mongodrv "go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/kodomohub/kodomohub/store"
	"github.com/kodomohub/kodomohub/store/mongo/mongotest"
)

// These tests build the states a crash leaves in the database by hand (pending entries
// without a record, a record without the head move, half-deleted aborted entries, a head left
// behind) and check that readers see only the chain and that the next append continues it
// without a fork or a gap.

var bg = context.Background()

// mustOpenTenant opens a Store on a fresh database with tenant "misato" and no background
// recovery (the tests run it when they mean to).
func mustOpenTenant(t *testing.T, opts Options) *Store {
	t.Helper()
	opts.Database, opts.RecoverEvery = mongotest.DBName(), -1
	if opts.Timeout == 0 {
		opts.Timeout = time.Minute
	}
	s, err := Open(bg, mongotest.URI(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.DropDatabase(bg)
		s.Close()
	})
	if err := s.CreateTenant(bg, store.Tenant{ID: "misato"}); err != nil {
		t.Fatal(err)
	}
	return s
}

func entries(prefix string, n int) []store.AuditEntry {
	es := make([]store.AuditEntry, n)
	for i := range es {
		es[i] = store.AuditEntry{Time: time.Now(), Record: fmt.Appendf(nil, "%s-%d", prefix, i), Agent: prefix, Entity: "Patient/p1", Action: "R", Outcome: "0"}
	}
	return es
}

func mustAppend(t *testing.T, s *Store, es []store.AuditEntry) []store.AuditEntry {
	t.Helper()
	got, err := s.AppendAudit(bg, "misato", es)
	if err != nil {
		t.Fatalf("AppendAudit: %v", err)
	}
	return got
}

// verifyTrail checks that the trail is 1…n without gaps, chained, with the head at its last
// entry, and that every record starts with one of the prefixes expected; it returns n.
func verifyTrail(t *testing.T, s *Store) int64 {
	t.Helper()
	prev, n := store.AuditGenesis, int64(0)
	for {
		page, err := s.AuditEntries(bg, "misato", n, 5)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			if n++; e.Seq != n {
				t.Fatalf("entry %d has seq %d", n, e.Seq)
			}
			if h := store.AuditLink(prev, e.Seq, e.Record); !bytes.Equal(h, e.Hash) {
				t.Fatalf("entry %d (%s): the chain is broken", e.Seq, e.Record)
			}
			prev = e.Hash
		}
	}
	seq, hash, err := s.AuditHead(bg, "misato")
	if err != nil || seq != n || !bytes.Equal(hash, prev) {
		t.Fatalf("head %d %x (%v), want the last entry %d %x", seq, hash, err, n, prev)
	}
	return n
}

// pendingAppend inserts the entries of an append after (seq, hash) as a process that died
// before its commit point would leave them, pending since la.
func pendingAppend(t *testing.T, s *Store, seq int64, hash []byte, es []store.AuditEntry, la time.Time) (string, []store.AuditEntry) {
	t.Helper()
	tx := newTxID()
	out, docs := chainAudit("misato", seq, hash, es, tx, la.UnixMilli())
	if _, err := s.audit.InsertMany(bg, docs); err != nil {
		t.Fatal(err)
	}
	return tx, out
}

func head(t *testing.T, s *Store) (int64, []byte) {
	t.Helper()
	seq, hash, err := s.AuditHead(bg, "misato")
	if err != nil {
		t.Fatal(err)
	}
	return seq, hash
}

func count(t *testing.T, c *mongodrv.Collection, f bson.D) int64 {
	t.Helper()
	n, err := c.CountDocuments(bg, f)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestAuditCrashBeforeCommit: entries of an append that died before inserting its record
// are never read, and the next append, once their lease has passed, aborts them and takes
// their seqs.
func TestAuditCrashBeforeCommit(t *testing.T) {
	s := mustOpenTenant(t, Options{})
	mustAppend(t, s, entries("a", 2))
	seq, hash := head(t, s)
	tx, _ := pendingAppend(t, s, seq, hash, entries("dead", 3), time.Now().Add(-time.Hour))
	if got, _ := head(t, s); got != 2 {
		t.Fatalf("head %d with a dead append pending, want 2", got)
	}
	if es, err := s.AuditEntries(bg, "misato", 0, 100); err != nil || len(es) != 2 {
		t.Fatalf("AuditEntries = %d entries (%v), want the 2 committed ones", len(es), err)
	}
	got := mustAppend(t, s, entries("b", 2))
	if got[0].Seq != 3 {
		t.Fatalf("the append after the dead one starts at %d, want 3", got[0].Seq)
	}
	if n := verifyTrail(t, s); n != 4 {
		t.Fatalf("%d entries, want 4", n)
	}
	if n := count(t, s.audit, bson.D{{Key: "tx", Value: tx}}); n != 0 {
		t.Fatalf("%d entries of the aborted append left", n)
	}
	// Its process wakes up and tries to commit: the abort record wins.
	_, err := s.auditTx.InsertOne(bg, auditTxDoc{ID: tx, T: "misato", St: "c"})
	if !mongodrv.IsDuplicateKeyError(err) {
		t.Fatalf("a late commit of an aborted append: %v, want a duplicate key", err)
	}
}

// TestAuditWaitsForLiveAppend: a pending append within its lease holds the slots; an append
// from another process waits, then aborts it once the lease has passed, and the slow
// appender's commit fails.
func TestAuditWaitsForLiveAppend(t *testing.T) {
	s := mustOpenTenant(t, Options{Lease: 700 * time.Millisecond})
	seq, hash := head(t, s)
	tx, _ := pendingAppend(t, s, seq, hash, entries("slow", 2), time.Now())
	start := time.Now()
	got := mustAppend(t, s, entries("b", 1))
	if waited := time.Since(start); waited < 400*time.Millisecond {
		t.Fatalf("the append took %v: it did not wait for the live pending append", waited)
	}
	if got[0].Seq != 1 {
		t.Fatalf("seq %d, want 1", got[0].Seq)
	}
	if _, err := s.auditTx.InsertOne(bg, auditTxDoc{ID: tx, T: "misato", St: "c"}); !mongodrv.IsDuplicateKeyError(err) {
		t.Fatalf("the slow append's commit: %v, want a duplicate key", err)
	}
	verifyTrail(t, s)
}

// TestAuditCrashAfterCommit: an append whose record is in but whose head did not move is
// part of the chain at once: the head, the entries and the next append all continue it.
func TestAuditCrashAfterCommit(t *testing.T) {
	s := mustOpenTenant(t, Options{})
	mustAppend(t, s, entries("a", 1))
	seq, hash := head(t, s)
	tx, out := pendingAppend(t, s, seq, hash, entries("c", 3), time.Now().Add(-time.Hour))
	last := out[len(out)-1]
	if _, err := s.auditTx.InsertOne(bg, auditTxDoc{ID: tx, T: "misato", St: "c", At: time.Now().Add(-time.Hour).UnixMilli(), Hi: last.Seq, H: last.Hash}); err != nil {
		t.Fatal(err)
	}
	if got, h := head(t, s); got != 4 || !bytes.Equal(h, last.Hash) {
		t.Fatalf("head %d, want the committed append's last entry 4", got)
	}
	var hd auditHeadDoc
	if err := s.auditHead.FindOne(bg, bson.D{{Key: "_id", Value: "misato"}}).Decode(&hd); err != nil || hd.Seq != 4 {
		t.Fatalf("head document at %d (%v): the reader did not move it", hd.Seq, err)
	}
	mustAppend(t, s, entries("b", 2))
	if n := verifyTrail(t, s); n != 6 {
		t.Fatalf("%d entries, want 6", n)
	}
	// The recovery pass tidies: no pending marks, no records of committed appends.
	if err := s.Recover(bg); err != nil {
		t.Fatal(err)
	}
	if n := count(t, s.audit, bson.D{{Key: "tx", Value: bson.D{{Key: "$exists", Value: true}}}}); n != 0 {
		t.Fatalf("%d entries still marked pending after recovery", n)
	}
	if n := count(t, s.auditTx, bson.D{{Key: "st", Value: "c"}}); n != 0 {
		t.Fatalf("%d commit records left after recovery", n)
	}
	verifyTrail(t, s)
}

// TestAuditLeftoverOfAbortedAppend: an aborted append whose entries were only partly
// deleted leaves entries further on; an append over them removes them.
func TestAuditLeftoverOfAbortedAppend(t *testing.T) {
	s := mustOpenTenant(t, Options{})
	seq, hash := head(t, s)
	tx, _ := pendingAppend(t, s, seq, hash, entries("dead", 4), time.Now().Add(-time.Hour))
	if _, err := s.auditTx.InsertOne(bg, auditTxDoc{ID: tx, T: "misato", St: "a", At: time.Now().UnixMilli()}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.audit.DeleteOne(bg, bson.D{{Key: "_id", Value: auditKey("misato", 1)}}); err != nil {
		t.Fatal(err)
	}
	got := mustAppend(t, s, entries("b", 5))
	if got[0].Seq != 1 || got[4].Seq != 5 {
		t.Fatalf("seqs %d…%d, want 1…5", got[0].Seq, got[4].Seq)
	}
	if n := verifyTrail(t, s); n != 5 {
		t.Fatalf("%d entries, want 5", n)
	}
	es, _ := s.AuditEntries(bg, "misato", 0, 10)
	for _, e := range es {
		if !bytes.HasPrefix(e.Record, []byte("b-")) {
			t.Fatalf("entry %d is %s: a leftover of the aborted append", e.Seq, e.Record)
		}
	}
}

// TestAuditHeadBehind: a head document behind tidied appends (two concurrent head moves on
// FerretDB can leave the older one) is moved forward by the next reader, through the
// appends' last entries.
func TestAuditHeadBehind(t *testing.T) {
	s := mustOpenTenant(t, Options{})
	first := mustAppend(t, s, entries("a", 2))
	mustAppend(t, s, entries("b", 3))
	mustAppend(t, s, entries("c", 1))
	if err := s.Recover(bg); err != nil {
		t.Fatal(err)
	}
	if n := count(t, s.audit, bson.D{{Key: "tx", Value: bson.D{{Key: "$exists", Value: true}}}}); n != 0 {
		t.Fatalf("%d entries still marked", n)
	}
	if _, err := s.auditHead.UpdateOne(bg, bson.D{{Key: "_id", Value: "misato"}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "seq", Value: first[1].Seq}, {Key: "h", Value: first[1].Hash}}}}); err != nil {
		t.Fatal(err)
	}
	if seq, _ := head(t, s); seq != 6 {
		t.Fatalf("head %d, want 6", seq)
	}
	s2, err := Open(bg, mongotest.URI(t), Options{Database: s.opts.Database, RecoverEvery: -1, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if _, err := s.auditHead.UpdateOne(bg, bson.D{{Key: "_id", Value: "misato"}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "seq", Value: first[0].Seq}, {Key: "h", Value: first[0].Hash}}}}); err != nil {
		t.Fatal(err)
	}
	// Another process (no tail in memory) appends after the head it reads: it finds the rest.
	if got := mustAppend(t, s2, entries("d", 1)); got[0].Seq != 7 {
		t.Fatalf("seq %d, want 7", got[0].Seq)
	}
	if n := verifyTrail(t, s); n != 7 {
		t.Fatalf("%d entries, want 7", n)
	}
}

// TestAuditRemovedNewestEntryDetected: the head is kept apart from the entries, so deleting
// the newest entry leaves a head that no entry matches.
func TestAuditRemovedNewestEntryDetected(t *testing.T) {
	s := mustOpenTenant(t, Options{})
	mustAppend(t, s, entries("a", 3))
	if _, err := s.audit.DeleteOne(bg, bson.D{{Key: "_id", Value: auditKey("misato", 3)}}); err != nil {
		t.Fatal(err)
	}
	es, err := s.AuditEntries(bg, "misato", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if seq, hash := head(t, s); seq != 3 || len(es) != 2 || bytes.Equal(hash, es[1].Hash) {
		t.Fatalf("head %d after deleting entry 3 of 3 (%d entries left): want 3, unmatched", seq, len(es))
	}
}

// TestExclusiveSerializes: on FerretDB the lock document lets one holder in at a time, across
// Stores; on MongoDB exclusive runs at once (nothing to check there).
func TestExclusiveSerializes(t *testing.T) {
	a := mustOpenTenant(t, Options{})
	if a.Exact() {
		t.Skip("MongoDB: single-document updates are atomic, exclusive takes no lock")
	}
	b, err := Open(bg, mongotest.URI(t), Options{Database: a.opts.Database, RecoverEvery: -1, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var holders atomic.Int32
	done := make(chan error, 4)
	for _, s := range []*Store{a, b, a, b} {
		go func() {
			done <- s.exclusive(bg, "misato", "test/x", func() error {
				defer holders.Add(-1)
				if holders.Add(1) > 1 {
					return errors.New("two holders at once")
				}
				time.Sleep(50 * time.Millisecond)
				return nil
			})
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// TestAuditCallerGivesUp: callers whose context ends at random moments, before or while
// their group is appended, leave each of their appends wholly in the chain or wholly out.
func TestAuditCallerGivesUp(t *testing.T) {
	s := mustOpenTenant(t, Options{})
	const calls = 24
	done := make(chan struct{}, calls)
	for i := range calls {
		go func() {
			defer func() { done <- struct{}{} }()
			ctx, cancel := context.WithTimeout(bg, time.Duration(i%6)*time.Millisecond)
			defer cancel()
			s.AppendAudit(ctx, "misato", entries(fmt.Sprint("c", i), 3))
		}()
	}
	for range calls {
		<-done
	}
	for idle := false; !idle; time.Sleep(10 * time.Millisecond) { // the leader finishes what it took
		q := s.auditQueue("misato")
		q.mu.Lock()
		idle = !q.running
		q.mu.Unlock()
	}
	n := verifyTrail(t, s)
	es, err := s.AuditEntries(bg, "misato", 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	byCall := map[string]int{}
	for _, e := range es {
		call, _, _ := bytes.Cut(e.Record, []byte("-"))
		byCall[string(call)]++
	}
	for call, k := range byCall {
		if k != 3 {
			t.Fatalf("call %s has %d of its 3 entries in the trail", call, k)
		}
	}
	t.Logf("%d of %d appends made it (%d entries)", len(byCall), calls, n)
}
