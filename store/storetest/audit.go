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
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kodomohub/kodomohub/store"
)

// as adapts a test of an optional part of the contract (store.AuditLog, store.Records,
// store.Leases) to Run's table: the test is skipped when s does not implement I.
func as[I any](fn func(*testing.T, store.Store, I)) func(*testing.T, store.Store) {
	return func(t *testing.T, s store.Store) {
		x, ok := s.(I)
		if !ok {
			t.Skipf("%T does not implement %T", s, (*I)(nil))
		}
		fn(t, s, x)
	}
}

// auditAt is the time of the test's audit entries: whole milliseconds, as every backend
// keeps them.
var auditAt = time.Date(2025, 4, 1, 9, 0, 0, 0, time.UTC)

// auditEntry builds an entry whose Record names n and holds bytes that are not UTF-8 (kept
// byte for byte).
func auditEntry(n string, agent, entity, action, outcome string, at time.Time, patients ...string) store.AuditEntry {
	rec := fmt.Appendf(nil, `{"n":%q,"agent":%q,"entity":%q}`, n, agent, entity)
	rec = append(rec, 0, 0xff, '\n')
	return store.AuditEntry{Time: at, Record: rec, Agent: agent, Patients: patients, Entity: entity, Action: action, Outcome: outcome}
}

func sameEntry(t testing.TB, what string, got, want store.AuditEntry) {
	t.Helper()
	if got.Seq != want.Seq || !got.Time.Equal(want.Time) || !bytes.Equal(got.Record, want.Record) ||
		!bytes.Equal(got.Hash, want.Hash) || got.Agent != want.Agent || got.Entity != want.Entity ||
		got.Action != want.Action || got.Outcome != want.Outcome || !slices.Equal(got.Patients, want.Patients) &&
		(len(got.Patients) != 0 || len(want.Patients) != 0) {
		t.Fatalf("%s:\n got seq %d at %v %q hash %x agent %q patients %q entity %q action %q outcome %q\n"+
			"want seq %d at %v %q hash %x agent %q patients %q entity %q action %q outcome %q", what,
			got.Seq, got.Time, got.Record, got.Hash, got.Agent, got.Patients, got.Entity, got.Action, got.Outcome,
			want.Seq, want.Time, want.Record, want.Hash, want.Agent, want.Patients, want.Entity, want.Action, want.Outcome)
	}
}

// verifyChain reads a tenant's whole audit trail in pages and checks that it is numbered 1, 2, 3 …,
// that each Hash is store.AuditLink over the stored bytes and the previous Hash, and that the
// head is the last entry. It returns the entries.
func verifyChain(t testing.TB, al store.AuditLog, tenant string) []store.AuditEntry {
	t.Helper()
	var all []store.AuditEntry
	prev := store.AuditGenesis
	for {
		page, err := al.AuditEntries(ctx, tenant, int64(len(all)), 7)
		if err != nil {
			t.Fatalf("AuditEntries(%s, after %d): %v", tenant, len(all), err)
		}
		if len(page) > 7 {
			t.Fatalf("AuditEntries(limit 7) returned %d entries", len(page))
		}
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			if want := int64(len(all) + 1); e.Seq != want {
				t.Fatalf("%s: entry %d has Seq %d: seqs must be 1, 2, 3 … without gaps", tenant, want, e.Seq)
			}
			if h := store.AuditLink(prev, e.Seq, e.Record); !bytes.Equal(h, e.Hash) {
				t.Fatalf("%s: entry %d: Hash %x, want AuditLink(previous, seq, record) = %x: the chain is broken",
					tenant, e.Seq, e.Hash, h)
			}
			prev = e.Hash
			all = append(all, e)
		}
	}
	seq, hash, err := al.AuditHead(ctx, tenant)
	if err != nil {
		t.Fatalf("AuditHead(%s): %v", tenant, err)
	}
	if seq != int64(len(all)) || !bytes.Equal(hash, prev) {
		t.Fatalf("%s: AuditHead = %d %x, want the last entry %d %x", tenant, seq, hash, len(all), prev)
	}
	return all
}

func testAuditAppend(t *testing.T, s store.Store, al store.AuditLog) {
	mustTenant(t, s, "misato", "")
	if seq, hash, err := al.AuditHead(ctx, "misato"); err != nil || seq != 0 || !bytes.Equal(hash, store.AuditGenesis) {
		t.Fatalf("AuditHead of an empty trail = %d %x, %v; want 0 and AuditGenesis", seq, hash, err)
	}
	if got, err := al.AuditEntries(ctx, "misato", 0, 10); err != nil || len(got) != 0 {
		t.Fatalf("AuditEntries of an empty trail = %v, %v", got, err)
	}
	same := auditEntry("same", "dr-sato", "Patient/p1", "R", "0", auditAt, "Patient/p1")
	batches := [][]store.AuditEntry{
		{auditEntry("1", "dr-sato", "Patient/p1", "R", "0", auditAt, "Patient/p1")},
		{
			auditEntry("2", "nurse-kato", "Observation", "E", "0", auditAt.Add(time.Second), "Patient/p1", "Patient/p2"),
			auditEntry("3", "client-app", "Immunization/i1", "C", "4", auditAt.Add(2*time.Second)),
			auditEntry("4", "dr-sato", "Observation/o1", "U", "8", auditAt.Add(time.Second+time.Millisecond), "Patient/p2"),
		},
		{same, same}, // the same bytes twice: the seq makes the hashes differ
		{auditEntry("7", "", "", "", "", auditAt.Add(time.Minute))},
	}
	var want []store.AuditEntry
	prev := store.AuditGenesis
	for _, batch := range batches {
		got, err := al.AppendAudit(ctx, "misato", batch)
		if err != nil {
			t.Fatalf("AppendAudit: %v", err)
		}
		if len(got) != len(batch) {
			t.Fatalf("AppendAudit of %d entries returned %d", len(batch), len(got))
		}
		for i, w := range batch {
			w.Seq = int64(len(want) + 1)
			w.Hash = store.AuditLink(prev, w.Seq, w.Record)
			sameEntry(t, fmt.Sprintf("AppendAudit returned entry %d", w.Seq), got[i], w)
			prev = w.Hash
			w.Record = slices.Clone(w.Record)
			want = append(want, w)
		}
		batch[0].Record[0] = 'X' // the store keeps its own copy
	}
	if bytes.Equal(want[4].Hash, want[5].Hash) {
		t.Fatal("two entries with the same record have the same hash")
	}
	all := verifyChain(t, al, "misato")
	if len(all) != len(want) {
		t.Fatalf("%d entries stored, want %d", len(all), len(want))
	}
	for i := range all {
		sameEntry(t, fmt.Sprintf("AuditEntries entry %d", i+1), all[i], want[i])
	}
	got, err := al.AuditEntries(ctx, "misato", 2, 2)
	if err != nil || len(got) != 2 || got[0].Seq != 3 || got[1].Seq != 4 {
		t.Fatalf("AuditEntries(after 2, limit 2) = %d entries %v, want seqs 3 and 4", len(got), err)
	}
	if got, err := al.AuditEntries(ctx, "misato", int64(len(want)), 10); err != nil || len(got) != 0 {
		t.Fatalf("AuditEntries after the last = %d entries, %v", len(got), err)
	}
}

// testAuditConcurrent appends from many goroutines at once, in batches of 1 to 3: no two
// entries may share a seq, a batch's entries are consecutive, and the whole chain verifies.
func testAuditConcurrent(t *testing.T, s store.Store, al store.AuditLog) {
	mustTenant(t, s, "misato", "")
	const workers, each = 16, 12
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		returned []store.AuditEntry
		errs     = make(chan error, workers)
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				batch := make([]store.AuditEntry, 1+(w+i)%3)
				for k := range batch {
					n := fmt.Sprintf("w%d-i%d-k%d", w, i, k)
					batch[k] = auditEntry(n, fmt.Sprint("agent", w), "Patient/"+n, "R", "0",
						auditAt.Add(time.Duration(i)*time.Millisecond), "Patient/"+n)
				}
				got, err := al.AppendAudit(ctx, "misato", batch)
				if err == nil && len(got) != len(batch) {
					err = fmt.Errorf("%d entries returned for %d", len(got), len(batch))
				}
				for k := 1; err == nil && k < len(got); k++ {
					if got[k].Seq != got[0].Seq+int64(k) {
						err = fmt.Errorf("one batch got seqs %d and %d: a batch is appended as a whole", got[k-1].Seq, got[k].Seq)
					}
				}
				if err != nil {
					errs <- fmt.Errorf("worker %d append %d: %w", w, i, err)
					return
				}
				mu.Lock()
				returned = append(returned, got...)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	all := verifyChain(t, al, "misato")
	if len(all) != len(returned) {
		t.Fatalf("%d entries stored, %d returned", len(all), len(returned))
	}
	seen := map[int64]bool{}
	for _, r := range returned {
		if seen[r.Seq] {
			t.Fatalf("seq %d returned twice", r.Seq)
		}
		seen[r.Seq] = true
		if r.Seq < 1 || r.Seq > int64(len(all)) {
			t.Fatalf("returned seq %d outside 1…%d", r.Seq, len(all))
		}
		sameEntry(t, fmt.Sprintf("entry %d as returned vs stored", r.Seq), all[r.Seq-1], r)
	}
}

func testAuditIsolation(t *testing.T, s store.Store, al store.AuditLog) {
	mustTenant(t, s, "misato", "")
	mustTenant(t, s, "kawajima", "")
	for i := range 3 {
		for _, tenant := range []string{"misato", "kawajima", "misato"} {
			e := auditEntry(tenant+fmt.Sprint(i), "agent-"+tenant, "Patient/p1", "R", "0", auditAt, "Patient/p1")
			if _, err := al.AppendAudit(ctx, tenant, []store.AuditEntry{e}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for tenant, n := range map[string]int{"misato": 6, "kawajima": 3} {
		all := verifyChain(t, al, tenant) // each tenant numbers its own entries from 1, from AuditGenesis
		if len(all) != n {
			t.Fatalf("%s has %d entries, want %d", tenant, len(all), n)
		}
		for _, e := range all {
			if e.Agent != "agent-"+tenant || !bytes.Contains(e.Record, []byte(tenant)) {
				t.Fatalf("%s holds %s", tenant, e.Record)
			}
		}
		other := map[string]string{"misato": "kawajima", "kawajima": "misato"}[tenant]
		for _, q := range []store.AuditQuery{{}, {Patient: "Patient/p1"}, {Agent: "agent-" + other}} {
			got, _ := mustSearchAudit(t, al, tenant, q)
			for _, e := range got {
				if e.Agent != "agent-"+tenant {
					t.Fatalf("SearchAudit(%s, %+v) found an entry of %s", tenant, q, other)
				}
			}
			if q.Agent == "" && len(got) != n {
				t.Fatalf("SearchAudit(%s, %+v) found %d entries, want %d", tenant, q, len(got), n)
			}
		}
	}
	for name, err := range map[string]error{
		"AppendAudit": func() error {
			_, err := al.AppendAudit(ctx, "nowhere", []store.AuditEntry{auditEntry("x", "a", "Patient", "R", "0", auditAt)})
			return err
		}(),
		"AuditEntries": func() error { _, err := al.AuditEntries(ctx, "nowhere", 0, 10); return err }(),
		"AuditHead":    func() error { _, _, err := al.AuditHead(ctx, "nowhere"); return err }(),
		"SearchAudit":  func() error { _, _, err := al.SearchAudit(ctx, "nowhere", store.AuditQuery{}); return err }(),
	} {
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s on an unknown tenant: %v, want ErrNotFound", name, err)
		}
	}
}

func mustSearchAudit(t testing.TB, al store.AuditLog, tenant string, q store.AuditQuery) ([]store.AuditEntry, int64) {
	t.Helper()
	got, next, err := al.SearchAudit(ctx, tenant, q)
	if err != nil {
		t.Fatalf("SearchAudit(%+v): %v", q, err)
	}
	return got, next
}

// AuditMatch is the meaning of q for one entry (Count aside), as store.AuditQuery documents
// it: the brute-force filter that backends' audit searches are checked against.
func AuditMatch(e store.AuditEntry, q store.AuditQuery) bool {
	switch {
	case !q.Since.IsZero() && e.Time.Before(q.Since), !q.Until.IsZero() && !e.Time.Before(q.Until),
		q.Agent != "" && e.Agent != q.Agent, q.Action != "" && e.Action != q.Action,
		q.Outcome != "" && e.Outcome != q.Outcome, q.Patient != "" && !slices.Contains(e.Patients, q.Patient),
		q.Before > 0 && e.Seq >= q.Before:
		return false
	case q.Entity == "":
		return true
	case strings.Contains(q.Entity, "/"):
		return e.Entity == q.Entity
	}
	return e.Entity == q.Entity || strings.HasPrefix(e.Entity, q.Entity+"/")
}

// seedAudit appends a small trail with look-alike values (Patient/p1 and Patient/p10,
// Observation and ObservationDefinition, dr-sato and dr-sato2) and times that are not in
// seq order.
func seedAudit(t *testing.T, al store.AuditLog, tenant string) []store.AuditEntry {
	t.Helper()
	at := func(min int) time.Time { return auditAt.Add(time.Duration(min) * time.Minute) }
	seed := []store.AuditEntry{
		auditEntry("a", "dr-sato", "Patient/p1", "R", "0", at(0), "Patient/p1"),
		auditEntry("b", "dr-sato", "Observation/o1", "R", "0", at(1), "Patient/p1"),
		auditEntry("c", "nurse-kato", "Observation", "E", "0", at(2), "Patient/p1", "Patient/p10"),
		auditEntry("d", "client-app", "Observation/o2", "C", "4", at(3), "Patient/p10"),
		auditEntry("e", "dr-sato", "ObservationDefinition/od1", "R", "0", at(4)),
		auditEntry("f", "nurse-kato", "Immunization/i1", "U", "0", at(4), "Patient/p2"),
		auditEntry("g", "dr-sato", "Observation/o1", "D", "8", at(3), "Patient/p1"), // earlier than its predecessors
		auditEntry("h", "client-app", "Patient", "E", "12", at(6), "Patient/p1", "Patient/p2"),
		auditEntry("i", "dr-sato", "Observation/o10", "R", "0", at(7), "Patient/p2"),
		auditEntry("j", "dr-sato2", "Immunization", "E", "0", at(8)),
		auditEntry("k", "dr-sato", "Observation/o1", "R", "0", at(8), "Patient/p1"),
		auditEntry("l", "nurse-kato", "Patient/p10", "R", "4", at(9), "Patient/p10"),
	}
	var all []store.AuditEntry
	for i := 0; i < len(seed); i += 5 {
		got, err := al.AppendAudit(ctx, tenant, seed[i:min(i+5, len(seed))])
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, got...)
	}
	return all
}

func testAuditSearch(t *testing.T, s store.Store, al store.AuditLog) {
	mustTenant(t, s, "misato", "")
	all := seedAudit(t, al, "misato")
	at := func(min int) time.Time { return auditAt.Add(time.Duration(min) * time.Minute) }
	for _, q := range []store.AuditQuery{
		{},
		{Agent: "dr-sato"},
		{Agent: "dr-sato2"},
		{Agent: "nobody"},
		{Patient: "Patient/p1"},
		{Patient: "Patient/p10"},
		{Patient: "Patient/p3"},
		{Entity: "Observation"}, // type only: with or without an id, not ObservationDefinition
		{Entity: "Observation/o1"},
		{Entity: "Patient"},
		{Entity: "Immunization"},
		{Action: "R"},
		{Outcome: "0"},
		{Outcome: "12"},
		{Since: at(3)},
		{Until: at(4)},
		{Since: at(3), Until: at(4)},
		{Since: at(4), Until: at(4)},
		{Since: at(8)},
		{Agent: "dr-sato", Patient: "Patient/p1", Action: "R"},
		{Patient: "Patient/p1", Entity: "Observation", Since: at(1)},
		{Patient: "Patient/p2", Until: at(7)},
		{Agent: "dr-sato", Entity: "Observation", Outcome: "0"},
		{Agent: "nurse-kato", Entity: "Patient/p10", Outcome: "4", Patient: "Patient/p10", Since: at(9), Until: at(10)},
	} {
		var want []store.AuditEntry
		for i := len(all) - 1; i >= 0; i-- {
			if AuditMatch(all[i], q) {
				want = append(want, all[i])
			}
		}
		for _, count := range []int{0, 1, 2, 5} {
			q := q
			q.Count = count
			name := fmt.Sprintf("%+v", q)
			var got []store.AuditEntry
			for pages := 0; ; pages++ {
				if pages > len(all) {
					t.Fatalf("%s: paging does not end", name)
				}
				page, next := mustSearchAudit(t, al, "misato", q)
				if count > 0 && len(page) > count {
					t.Fatalf("%s: a page of %d entries", name, len(page))
				}
				if next != 0 && len(page) < max(count, 1) {
					t.Fatalf("%s: a page of %d entries with a next page (%d)", name, len(page), next)
				}
				got = append(got, page...)
				if next == 0 {
					break
				}
				if len(got) >= len(want) {
					t.Fatalf("%s: Next %d after the last match: want 0 at the end", name, next)
				}
				q.Before = next
			}
			if len(got) != len(want) {
				t.Fatalf("%s: found seqs %v, want %v (newest first)", name, seqsOf(got), seqsOf(want))
			}
			for i := range got {
				if got[i].Seq != want[i].Seq {
					t.Fatalf("%s: found seqs %v, want %v (newest first)", name, seqsOf(got), seqsOf(want))
				}
				sameEntry(t, name, got[i], want[i])
			}
		}
	}
}

func testAuditSearchBefore(t *testing.T, s store.Store, al store.AuditLog) {
	mustTenant(t, s, "misato", "")
	all := seedAudit(t, al, "misato")
	for _, before := range []int64{1, 2, 6, 12, 13, 1000} {
		got, next := mustSearchAudit(t, al, "misato", store.AuditQuery{Before: before, Count: 100})
		var want []int64
		for i := len(all) - 1; i >= 0; i-- {
			if all[i].Seq < before {
				want = append(want, all[i].Seq)
			}
		}
		if !slices.Equal(seqsOf(got), want) || next != 0 {
			t.Fatalf("Before %d: seqs %v next %d, want %v next 0", before, seqsOf(got), next, want)
		}
	}
	got, _ := mustSearchAudit(t, al, "misato", store.AuditQuery{Before: 8, Patient: "Patient/p1", Count: 2})
	if !slices.Equal(seqsOf(got), []int64{7, 3}) {
		t.Fatalf("Patient/p1 before 8, count 2: seqs %v, want [7 3]", seqsOf(got))
	}
}

func seqsOf(es []store.AuditEntry) []int64 {
	seqs := make([]int64, len(es))
	for i, e := range es {
		seqs[i] = e.Seq
	}
	return seqs
}

// testAuditSealNoKey: a store opened without an audit key (as Run's are) writes heads without
// a seal, and AuditSeal says so; the sealed heads are RunAuditIntegrity's.
func testAuditSealNoKey(t *testing.T, s store.Store, al store.AuditLog) {
	mustTenant(t, s, "misato", "")
	seal, err := al.AuditSeal(ctx, "misato")
	if err != nil || seal.Seq != 0 || !bytes.Equal(seal.Hash, store.AuditGenesis) || seal.MAC != nil || seal.Past != 0 {
		t.Fatalf("AuditSeal of an empty trail = %+v, %v; want entry 0, AuditGenesis, no MAC", seal, err)
	}
	all := seedAudit(t, al, "misato")
	seal, err = al.AuditSeal(ctx, "misato")
	last := all[len(all)-1]
	if err != nil || seal.Seq != last.Seq || !bytes.Equal(seal.Hash, last.Hash) || seal.MAC != nil || seal.Past != 0 {
		t.Fatalf("AuditSeal = %+v, %v; want the last entry %d without a MAC", seal, err, last.Seq)
	}
	if _, err := al.AuditSeal(ctx, "nowhere"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("AuditSeal of an unknown tenant: %v, want ErrNotFound", err)
	}
}

// testAuditIndexAgrees: VerifyAuditIndex finds nothing to report on a trail that no one
// damaged, whether its index has caught up (after a search) or not (right after the appends),
// and across appends of several calls.
func testAuditIndexAgrees(t *testing.T, s store.Store, al store.AuditLog) {
	mustTenant(t, s, "misato", "")
	if err := al.VerifyAuditIndex(ctx, "misato"); err != nil {
		t.Fatalf("VerifyAuditIndex of an empty trail: %v", err)
	}
	seedAudit(t, al, "misato")
	if err := al.VerifyAuditIndex(ctx, "misato"); err != nil {
		t.Fatalf("VerifyAuditIndex before a search: %v", err)
	}
	mustSearchAudit(t, al, "misato", store.AuditQuery{Patient: "Patient/p1"})
	seedAudit(t, al, "misato")
	mustSearchAudit(t, al, "misato", store.AuditQuery{})
	if err := al.VerifyAuditIndex(ctx, "misato"); err != nil {
		t.Fatalf("VerifyAuditIndex after searches: %v", err)
	}
	if err := al.VerifyAuditIndex(ctx, "nowhere"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("VerifyAuditIndex of an unknown tenant: %v, want ErrNotFound", err)
	}
}
