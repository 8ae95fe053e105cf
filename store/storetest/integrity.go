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
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kodomohub/kodomohub/store"
)

// The integrity of the audit trail against someone who can write the store but not read the
// audit key (store/admin.go, "Sealing the head"): RunAuditIntegrity damages a backend's data
// the way such an intruder would, through the backend's own AuditData, and checks what the
// contract promises a verifier and the next append.

// Cut is how an intruder rewrites a trail's head after cutting entries off its end.
type Cut int

const (
	// CutStaleSeal: the head names the new last entry, with a valid checksum, and keeps the
	// seal it had (the intruder cannot compute one).
	CutStaleSeal Cut = iota
	// CutNoSeal: the head names the new last entry, written as a store without the key
	// writes one.
	CutNoSeal
	// CutReplay: the head is the genuine sealed head the trail had when the new last entry was
	// its last (a copy taken before): only a checkpoint kept elsewhere reveals the cut.
	CutReplay
)

// AuditData is one data set of a backend (a data directory, a database), on which stores are
// opened and which the backend's test damages with its knowledge of the storage format. The
// methods that damage it are called while no store is open on it.
type AuditData interface {
	// Open opens a store on the data set with the audit key (nil: without one). The test
	// closes it.
	Open(t *testing.T, key *store.AuditKey) store.Store
	// Cut removes the entries of tenant's trail after entry keep and rewrites its head as how
	// says. For CutReplay keep is the last entry of an AppendAudit.
	Cut(t *testing.T, tenant string, keep int64, how Cut)
	// Rewind sets tenant's head back to its genuine sealed head at entry to (the last entry of
	// an AppendAudit), leaving the entries after it where they are.
	Rewind(t *testing.T, tenant string, to int64)
	// Forge appends n entries to tenant's trail after its head that continue the chain
	// (SHA-256 needs no key) but carry no valid seal.
	Forge(t *testing.T, tenant string, n int)
	// IndexDamages names ways to damage the index of tenant's trail that SearchAudit reads so
	// that entry seq is missing from it, filed under a key it does not name, or held by it
	// though the trail does not hold it; the entries AuditEntries returns stay as they were.
	// Each returns the entry VerifyAuditIndex must then name (seq, or the one it made up). A
	// backend lists those its index allows.
	IndexDamages() map[string]func(t *testing.T, tenant string, seq int64) (reported int64)
}

// NewAuditKey returns a store.AuditKey of a fresh random secret.
func NewAuditKey(t testing.TB) *store.AuditKey {
	t.Helper()
	secret := make([]byte, store.MinAuditKeySize)
	rand.Read(secret)
	k, err := store.NewAuditKey(secret)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// RunAuditIntegrity checks the sealed head and the index check of a backend's audit trail.
// newData returns an empty data set.
func RunAuditIntegrity(t *testing.T, newData func(t *testing.T) AuditData) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, AuditData)
	}{
		{"Seal/EveryHeadSealedFromTheFirst", testSealEveryHead},
		{"Seal/TwoStoresOneKey", testSealTwoStores},
		{"Seal/CutWithStaleSealFailsTheMAC", testSealCutStale},
		{"Seal/CutWithoutSealIsNotSealedAgain", testSealCutUnsealed},
		{"Seal/ReplayedHeadVerifies", testSealReplay},
		{"Seal/RewoundHeadIsTakenForward", testSealRewind},
		{"Seal/ForgedEntriesNeverJoinTheChain", testSealForged},
		{"Seal/UnsealedTrailSealedOnceFromItsHead", testSealMigration},
		{"Seal/WithoutTheKeyNoAppendToASealedTrail", testSealKeyless},
		{"Seal/WrongKeyRefusesAppends", testSealWrongKey},
		{"Index/DamageIsReported", testIndexDamage},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newData(t)) })
	}
}

// appendN appends n entries in one AppendAudit and returns them.
func appendN(t testing.TB, s store.Store, tenant string, n int) []store.AuditEntry {
	t.Helper()
	batch := make([]store.AuditEntry, n)
	for i := range batch {
		who := fmt.Sprintf("staff-%d", i%3)
		batch[i] = auditEntry(fmt.Sprint(time.Now().UnixNano(), i), who, fmt.Sprintf("Observation/o%d", i), "R", "0",
			auditAt.Add(time.Duration(i)*time.Second), fmt.Sprintf("Patient/p%d", i%4))
	}
	got, err := s.AppendAudit(ctx, tenant, batch)
	if err != nil {
		t.Fatalf("AppendAudit: %v", err)
	}
	return got
}

func mustSeal(t testing.TB, s store.Store, tenant string) store.AuditSeal {
	t.Helper()
	seal, err := s.AuditSeal(ctx, tenant)
	if err != nil {
		t.Fatalf("AuditSeal(%s): %v", tenant, err)
	}
	return seal
}

// wantSealed checks that the head is the last entry and is sealed under key.
func wantSealed(t testing.TB, s store.Store, key *store.AuditKey, last store.AuditEntry) store.AuditSeal {
	t.Helper()
	seal := mustSeal(t, s, "misato")
	if seal.Seq != last.Seq || !bytes.Equal(seal.Hash, last.Hash) || seal.Past != 0 {
		t.Fatalf("AuditSeal = seq %d hash %x past %d, want the last entry %d %x, past 0", seal.Seq, seal.Hash, seal.Past, last.Seq, last.Hash)
	}
	if !key.Verify("misato", seal) {
		t.Fatalf("AuditSeal of entry %d (time %v, from %d at %v, MAC %x) does not verify under the store's key",
			seal.Seq, seal.Time, seal.From, seal.FromTime, seal.MAC)
	}
	return seal
}

func wantAppendRefused(t testing.TB, s store.Store, what string) {
	t.Helper()
	_, err := s.AppendAudit(ctx, "misato", []store.AuditEntry{auditEntry("refused", "x", "Patient", "R", "0", auditAt)})
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("AppendAudit %s: %v, want ErrUnavailable", what, err)
	}
}

// newSealedTrail appends batches of 3, 4 and 3 entries with key and closes the store; it
// returns the entries.
func newSealedTrail(t *testing.T, d AuditData, key *store.AuditKey) []store.AuditEntry {
	t.Helper()
	s := d.Open(t, key)
	defer s.Close()
	mustTenant(t, s, "misato", "")
	var all []store.AuditEntry
	for _, n := range []int{3, 4, 3} {
		all = append(all, appendN(t, s, "misato", n)...)
	}
	wantSealed(t, s, key, all[len(all)-1])
	return all
}

func testSealEveryHead(t *testing.T, d AuditData) {
	key := NewAuditKey(t)
	s := d.Open(t, key)
	defer s.Close()
	mustTenant(t, s, "misato", "")
	before := time.Now().Add(-time.Second)
	seal := mustSeal(t, s, "misato")
	if seal.Seq != 0 || !bytes.Equal(seal.Hash, store.AuditGenesis) || seal.From != 0 || !key.Verify("misato", seal) {
		t.Fatalf("AuditSeal of a new trail = %+v, want entry 0 sealed from 0", seal)
	}
	var last store.AuditEntry
	for _, n := range []int{1, 5, 2} {
		es := appendN(t, s, "misato", n)
		last = es[len(es)-1]
		seal = wantSealed(t, s, key, last)
		if seal.From != 0 || seal.FromTime.Before(before) || seal.Time.Before(seal.FromTime) {
			t.Fatalf("AuditSeal %+v: want From 0 since the trail began (after %v), sealed at or after it", seal, before)
		}
	}
	if NewAuditKey(t).Verify("misato", seal) {
		t.Fatal("the seal verifies under another key")
	}
	if key.Verify("kawajima", seal) {
		t.Fatal("the seal verifies for another tenant")
	}
	changed := seal
	changed.Seq--
	if key.Verify("misato", changed) {
		t.Fatal("the seal verifies for another seq")
	}
	if _, err := s.AuditSeal(ctx, "nowhere"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("AuditSeal of an unknown tenant: %v, want ErrNotFound", err)
	}
	verifyChain(t, s, "misato")
}

func testSealTwoStores(t *testing.T, d AuditData) {
	key := NewAuditKey(t)
	a, b := d.Open(t, key), d.Open(t, key)
	defer a.Close()
	defer b.Close()
	mustTenant(t, a, "misato", "")
	var last store.AuditEntry
	for i := range 6 {
		s := []store.Store{a, b}[i%2]
		es := appendN(t, s, "misato", 1+i%3)
		last = es[len(es)-1]
		wantSealed(t, a, key, last)
		wantSealed(t, b, key, last)
	}
	verifyChain(t, a, "misato")
}

func testSealCutStale(t *testing.T, d AuditData) {
	key := NewAuditKey(t)
	all := newSealedTrail(t, d, key)
	d.Cut(t, "misato", 5, CutStaleSeal) // inside the second append
	s := d.Open(t, nil)
	got := verifyChain(t, s, "misato") // the chain alone cannot tell: this was the attack
	if len(got) != 5 {
		t.Fatalf("%d entries after the cut, want 5", len(got))
	}
	seal := mustSeal(t, s, "misato")
	if seal.Seq != 5 || !bytes.Equal(seal.Hash, all[4].Hash) {
		t.Fatalf("AuditSeal after the cut = %d %x, want the forged head 5 %x", seal.Seq, seal.Hash, all[4].Hash)
	}
	if key.Verify("misato", seal) {
		t.Fatal("the forged head's seal verifies")
	}
	s.Close()
	s = d.Open(t, key)
	defer s.Close()
	wantAppendRefused(t, s, "with the key after the cut")
	if got := verifyChain(t, s, "misato"); len(got) != 5 {
		t.Fatalf("readers of a store with the key return %d entries, want the 5 stored", len(got))
	}
}

func testSealCutUnsealed(t *testing.T, d AuditData) {
	key := NewAuditKey(t)
	newSealedTrail(t, d, key)
	d.Cut(t, "misato", 5, CutNoSeal)
	s := d.Open(t, key)
	defer s.Close()
	wantAppendRefused(t, s, "after the head's seal was removed")
	if seal := mustSeal(t, s, "misato"); seal.Seq != 5 || key.Verify("misato", seal) {
		t.Fatalf("AuditSeal %+v: want entry 5, not sealed again", seal)
	}
}

func testSealReplay(t *testing.T, d AuditData) {
	key := NewAuditKey(t)
	all := newSealedTrail(t, d, key)
	d.Cut(t, "misato", 7, CutReplay) // back to the end of the second append
	s := d.Open(t, key)
	defer s.Close()
	seal := mustSeal(t, s, "misato")
	if seal.Seq != 7 || !bytes.Equal(seal.Hash, all[6].Hash) || !key.Verify("misato", seal) || seal.Past != 0 {
		t.Fatalf("AuditSeal %+v: want the replayed genuine head of entry 7", seal)
	}
	// Nothing in the store tells; the next append continues from the replayed head, and a
	// checkpoint of entry 10 kept elsewhere is what reveals the cut.
	if es := appendN(t, s, "misato", 1); es[0].Seq != 8 {
		t.Fatalf("the append after the replay got seq %d, want 8", es[0].Seq)
	}
}

func testSealRewind(t *testing.T, d AuditData) {
	key := NewAuditKey(t)
	all := newSealedTrail(t, d, key)
	d.Rewind(t, "misato", 3)
	s := d.Open(t, nil)
	if seal := mustSeal(t, s, "misato"); seal.Seq+seal.Past != 10 || !key.Verify("misato", seal) {
		t.Fatalf("AuditSeal without the key after the rewind = seq %d past %d: want the 10 entries as head and past, sealed", seal.Seq, seal.Past)
	}
	s.Close()
	s = d.Open(t, key)
	defer s.Close()
	wantSealed(t, s, key, all[9]) // the genuine appends after the rewound head are taken back
	appendN(t, s, "misato", 1)
	verifyChain(t, s, "misato")
}

func testSealForged(t *testing.T, d AuditData) {
	key := NewAuditKey(t)
	all := newSealedTrail(t, d, key)
	d.Forge(t, "misato", 2)
	s := d.Open(t, nil)
	if seal := mustSeal(t, s, "misato"); seal.Seq != 10 || seal.Past != 2 {
		t.Fatalf("AuditSeal without the key = seq %d past %d, want 10 with 2 past it", seal.Seq, seal.Past)
	}
	s.Close()
	s = d.Open(t, key)
	defer s.Close()
	if seal := mustSeal(t, s, "misato"); seal.Seq != 10 || !bytes.Equal(seal.Hash, all[9].Hash) {
		t.Fatalf("AuditSeal with the key = seq %d: the forged entries joined the chain", seal.Seq)
	}
	// A store with the key cuts them off (as a torn append) or refuses to append after them.
	got, err := s.AppendAudit(ctx, "misato", []store.AuditEntry{auditEntry("after", "x", "Patient", "R", "0", auditAt)})
	switch {
	case errors.Is(err, store.ErrUnavailable):
	case err != nil:
		t.Fatalf("AppendAudit after forged entries: %v", err)
	case got[0].Seq != 11:
		t.Fatalf("AppendAudit after forged entries got seq %d, want 11", got[0].Seq)
	default:
		if es := verifyChain(t, s, "misato"); !bytes.Equal(es[9].Hash, all[9].Hash) {
			t.Fatal("entry 10 changed")
		}
	}
}

func testSealMigration(t *testing.T, d AuditData) {
	s := d.Open(t, nil)
	mustTenant(t, s, "misato", "")
	appendN(t, s, "misato", 2)
	es := appendN(t, s, "misato", 3)
	if seal := mustSeal(t, s, "misato"); seal.Seq != 5 || seal.MAC != nil {
		t.Fatalf("AuditSeal of a store without a key = %+v, want entry 5 without a seal", seal)
	}
	s.Close()
	key := NewAuditKey(t)
	before := time.Now().Add(-time.Second)
	s = d.Open(t, key)
	seal := wantSealed(t, s, key, es[2])
	after := time.Now().Add(time.Second)
	if seal.From != 5 || seal.FromTime.Before(before) || seal.FromTime.After(after) {
		t.Fatalf("AuditSeal %+v: want sealed from entry 5, between %v and %v", seal, before, after)
	}
	es = appendN(t, s, "misato", 2)
	if seal := wantSealed(t, s, key, es[1]); seal.From != 5 {
		t.Fatalf("From %d after an append, want 5", seal.From)
	}
	s.Close()
	s = d.Open(t, key)
	defer s.Close()
	if seal := wantSealed(t, s, key, es[1]); seal.From != 5 || seal.FromTime.After(after) {
		t.Fatalf("AuditSeal after reopening = %+v: sealed again", seal)
	}
	verifyChain(t, s, "misato")
}

func testSealKeyless(t *testing.T, d AuditData) {
	key := NewAuditKey(t)
	all := newSealedTrail(t, d, key)
	s := d.Open(t, nil)
	defer s.Close()
	wantAppendRefused(t, s, "without the key to a sealed trail")
	wantSealed(t, s, key, all[9])
	if got := verifyChain(t, s, "misato"); len(got) != 10 {
		t.Fatalf("%d entries read without the key, want 10", len(got))
	}
	if got, _ := mustSearchAudit(t, s, "misato", store.AuditQuery{Count: 100}); len(got) != 10 {
		t.Fatalf("SearchAudit without the key found %d entries, want 10", len(got))
	}
}

func testSealWrongKey(t *testing.T, d AuditData) {
	newSealedTrail(t, d, NewAuditKey(t))
	s := d.Open(t, NewAuditKey(t))
	defer s.Close()
	wantAppendRefused(t, s, "under another key")
}

func testIndexDamage(t *testing.T, d AuditData) {
	damages := d.IndexDamages()
	if len(damages) == 0 {
		t.Skip("the backend lists no way to damage its audit index")
	}
	names := slices.Sorted(maps.Keys(damages))
	for i, name := range names {
		damage := damages[name]
		t.Run(name, func(t *testing.T) {
			tenant := fmt.Sprintf("damage-%d", i) // one data set: a tenant each
			s := d.Open(t, nil)
			mustTenant(t, s, tenant, "")
			all := seedAudit(t, s, tenant)
			mustSearchAudit(t, s, tenant, store.AuditQuery{}) // indexes every entry
			if err := s.VerifyAuditIndex(ctx, tenant); err != nil {
				t.Fatalf("VerifyAuditIndex before the damage: %v", err)
			}
			s.Close()
			named := damage(t, tenant, 3)
			s = d.Open(t, nil)
			defer s.Close()
			err := s.VerifyAuditIndex(ctx, tenant)
			var ie *store.AuditIndexError
			if !errors.As(err, &ie) || !strings.Contains(err.Error(), fmt.Sprintf("entry %d:", named)) {
				t.Fatalf("VerifyAuditIndex after the damage: %v, want an *AuditIndexError naming entry %d", err, named)
			}
			got := verifyChain(t, s, tenant)
			for i := range got {
				sameEntry(t, fmt.Sprintf("entry %d after the index was damaged", i+1), got[i], all[i])
			}
		})
	}
}
