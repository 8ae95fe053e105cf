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
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kodomohub/kodomohub/fhir"
	"github.com/kodomohub/kodomohub/fhir/search"
	"github.com/kodomohub/kodomohub/store"
)

// Run checks a backend against the contract in package store. newData prepares an empty data
// set (no tenants, no secrets) and returns the Opener of stores on it: each case opens one
// store, and the Shared cases (shared.go) open several on one data set, as separate processes
// would. Run closes the stores at the end of each subtest.
func Run(t *testing.T, newData func(t *testing.T) Opener) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, store.Store)
	}{
		{"Tenants/CreateListGet", testTenants},
		{"Tenants/DuplicateIsErrExists", testTenantExists},
		{"Tenants/UnknownIsErrNotFound", testUnknownTenant},
		{"Tenants/InvalidIDOrIntegrityIsRefused", testTenantInvalid},
		{"Commit/CreateThenRead", testCreateRead},
		{"Commit/StampedMeta", testStampedMeta},
		{"Commit/VersionsNumberedPerResource", testVersionNumbering},
		{"Commit/SameResourceTwiceInOneCommit", testTwiceInCommit},
		{"Commit/UpdateOfMissingCreates", testUpdateCreates},
		{"Commit/CreateOfTakenIDIsErrExists", testCreateExists},
		{"Commit/IfMatchMismatchIsErrVersionConflict", testIfMatch},
		{"Commit/DeleteIsAVersionAndReadIsErrGone", testDelete},
		{"Commit/DeleteOfMissingOrDeletedIsNoop", testDeleteNoop},
		{"Commit/UpdateAfterDeleteRecreates", testUpdateAfterDelete},
		{"Commit/FailingWriteLeavesNothing", testAtomic},
		{"Commit/EmptyIsNoop", testEmptyCommit},
		{"Commit/MalformedWriteIsRefusedWhole", testMalformedWrite},
		{"VRead/OldAndDeletedVersions", testVRead},
		{"History/InstanceTypeSystemNewestFirst", testHistoryOrder},
		{"History/UnknownInstanceIsErrNotFound", testHistoryUnknown},
		{"Tenants/Update", testUpdateTenant},
		{"History/Since", testHistorySince},
		{"History/At", testHistoryAt},
		{"History/KeepsEachRequest", testHistoryRequests},
		{"History/PagingWithoutDriftWhileWriting", testHistoryPaging},
		{"Events/StrictlyIncreasingAndComplete", testEvents},
		{"Integrity/StrictRejectsUnresolved", testIntegrityStrict},
		{"Integrity/StrictResolvesWithinCommit", testIntegritySameCommit},
		{"Integrity/OffAcceptsUnresolved", testIntegrityOff},
		{"Isolation/TenantsNeverCross", testIsolation},
		{"Concurrency/IfMatchLosesNoUpdate", testConcurrentIfMatch},
		{"Concurrency/ManyCommitsUniqueSeqs", testConcurrentCommits},
		{"Secrets/LoadOrStore", testSecrets},
		{"Ping/OK", testPing},
		{"Search/ParameterTypesPrefixesModifiers", testSearchTable},
		{"Search/Sort", testSearchSort},
		{"Search/PagingWhileWriting", testSearchPagingWhileWriting},
		{"Search/Total", testSearchTotal},
		{"Search/IncludeRevinclude", testSearchIncludes},
		{"Search/Compartment", testSearchCompartment},
		{"Search/TenantIsolation", testSearchIsolation},
		{"Search/CursorBoundAndValidated", testSearchCursor},
		{"Search/Oracle", testSearchOracle},
		// The hub's own parts of the contract (admin.go); skipped until the store implements them.
		{"Audit/AppendNumbersAndChains", as(testAuditAppend)},
		{"Audit/ConcurrentAppendsOneChain", as(testAuditConcurrent)},
		{"Audit/TenantsNeverCross", as(testAuditIsolation)},
		{"Audit/SearchFiltersNewestFirstPaged", as(testAuditSearch)},
		{"Audit/SearchBefore", as(testAuditSearchBefore)},
		{"Audit/SealOfAStoreWithoutKeyIsTheHeadUnsealed", as(testAuditSealNoKey)},
		{"Audit/IndexAgreesWithTrailIndexedOrNot", as(testAuditIndexAgrees)},
		{"Records/PutGetReplaceListDelete", as(testRecords)},
		{"Records/TenantsNeverCross", as(testRecordsIsolation)},
		{"Records/OnceFirstFalseThenTrue", as(testOnce)},
		{"Records/OnceConcurrentExactlyOneFalse", as(testOnceConcurrent)},
		{"Records/OnceExpiredIsFalseAgain", as(testOnceExpired)},
		{"Leases/ClaimAckReclaimLimit", as(testLeaseClaimAck)},
		{"Leases/HeldIsErrLeaseHeld", as(testLeaseHeld)},
		{"Leases/AckNeverBackwards", as(testLeaseAckForward)},
		{"Leases/ExpiredIsTakenOverFromLastAck", as(testLeaseExpiry)},
		{"Leases/ReleaseFreesAtOnce", as(testLeaseRelease)},
		{"Leases/ConcurrentClaimsOneOwner", as(testLeaseConcurrentClaims)},
		{"Leases/ConsumersAndTenantsIndependent", as(testLeaseIsolation)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newData(t)(t, nil)
			defer s.Close()
			tc.fn(t, s)
		})
	}
	for _, tc := range sharedCases {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, closing(newData(t))) })
	}
}

// ---- helpers ----

var ctx = context.Background()

func mustTenant(t testing.TB, s store.Store, id, integrity string) {
	t.Helper()
	if err := s.CreateTenant(ctx, store.Tenant{ID: id, Name: "Town " + id, ReferentialIntegrity: integrity}); err != nil {
		t.Fatalf("CreateTenant(%s): %v", id, err)
	}
}

func patient(family string) []byte {
	return []byte(`{"resourceType":"Patient","name":[{"family":"` + family + `"}]}`)
}

func observation(subject string) []byte {
	return []byte(`{"resourceType":"Observation","status":"final","subject":{"reference":"` + subject + `"}}`)
}

func entries(family string) []search.Entry {
	return []search.Entry{
		{Code: "family", Type: search.String, Value: family},
		{Code: "name", Type: search.String, Value: family},
		{Code: "identifier", Type: search.Token, System: "urn:town", Value: family},
		{Code: "birthdate", Type: search.Date, Low: 0, High: 86400000},
	}
}

func create(typ, id string, body []byte) store.Write {
	return store.Write{Type: typ, ID: id, Action: store.Create, Resource: body, Index: entries(id)}
}

func update(typ, id string, body []byte) store.Write {
	return store.Write{Type: typ, ID: id, Action: store.Update, Resource: body, Index: entries(id)}
}

func del(typ, id string) store.Write { return store.Write{Type: typ, ID: id, Action: store.Delete} }

func mustCommit(t testing.TB, s store.Store, tenant string, writes ...store.Write) []store.Result {
	t.Helper()
	res, err := s.Commit(ctx, tenant, writes)
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if len(res) != len(writes) {
		t.Fatalf("Commit: %d results for %d writes", len(res), len(writes))
	}
	return res
}

// wantWriteError checks that err is a *store.WriteError for write index that wraps sentinel.
func wantWriteError(t testing.TB, err error, index int, key store.Key, sentinel error) {
	t.Helper()
	var we *store.WriteError
	if !errors.As(err, &we) {
		t.Fatalf("err = %v, want *store.WriteError wrapping %v", err, sentinel)
	}
	if we.Index != index || we.Key != key || !errors.Is(err, sentinel) {
		t.Fatalf("err = %v (index %d, key %s), want write %d (%s): %v", err, we.Index, we.Key, index, key, sentinel)
	}
}

func mustRead(t testing.TB, s store.Store, tenant, typ, id string) fhir.Resource {
	t.Helper()
	r, err := s.Read(ctx, tenant, typ, id)
	if err != nil {
		t.Fatalf("Read(%s/%s): %v", typ, id, err)
	}
	return r
}

func mustHistory(t testing.TB, s store.Store, tenant string, q store.HistoryQuery) store.HistoryPage {
	t.Helper()
	p, err := s.History(ctx, tenant, q)
	if err != nil {
		t.Fatalf("History(%+v): %v", q, err)
	}
	if len(p.Seqs) != len(p.Versions) || len(p.Requests) != len(p.Versions) {
		t.Fatalf("History: %d seqs and %d requests for %d versions", len(p.Seqs), len(p.Requests), len(p.Versions))
	}
	return p
}

// allHistory pages through the whole history of q.
func allHistory(t testing.TB, s store.Store, tenant string, q store.HistoryQuery) ([]fhir.Resource, []int64) {
	t.Helper()
	var vs []fhir.Resource
	var seqs []int64
	for {
		p := mustHistory(t, s, tenant, q)
		vs, seqs = append(vs, p.Versions...), append(seqs, p.Seqs...)
		if p.Next == 0 {
			return vs, seqs
		}
		q.Before = p.Next
	}
}

func allEvents(t testing.TB, s store.Store, tenant string) []store.Event {
	t.Helper()
	return eventsAfter(t, s, tenant, 0)
}

// eventsAfter reads every event after seq after, in pages of 7.
func eventsAfter(t testing.TB, s store.Store, tenant string, after int64) []store.Event {
	t.Helper()
	var evs []store.Event
	for {
		page, err := s.Events(ctx, tenant, after, 7)
		if err != nil {
			t.Fatalf("Events: %v", err)
		}
		if len(page) == 0 {
			return evs
		}
		evs = append(evs, page...)
		after = page[len(page)-1].Seq
	}
}

// meta decodes the meta element of raw.
func meta(t testing.TB, raw []byte) map[string]any {
	t.Helper()
	var v struct {
		ResourceType string         `json:"resourceType"`
		ID           string         `json:"id"`
		Meta         map[string]any `json:"meta"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("stored JSON %s: %v", raw, err)
	}
	v.Meta["resourceType"], v.Meta["id"] = v.ResourceType, v.ID
	return v.Meta
}

// checkStamped checks that r.Raw carries r's id, version and lastUpdated.
func checkStamped(t testing.TB, r fhir.Resource) {
	t.Helper()
	m := meta(t, r.Raw)
	if m["resourceType"] != r.Type || m["id"] != r.ID || m["versionId"] != r.VersionID() ||
		m["lastUpdated"] != fhir.FormatInstant(r.LastUpdated) {
		t.Fatalf("%s/%s v%d at %s: stored JSON says %v", r.Type, r.ID, r.Version, fhir.FormatInstant(r.LastUpdated), m)
	}
	if !r.LastUpdated.Equal(r.LastUpdated.Truncate(time.Millisecond)) {
		t.Fatalf("LastUpdated %v has sub-millisecond precision", r.LastUpdated)
	}
}

func sameVersion(t testing.TB, got, want fhir.Resource) {
	t.Helper()
	if got.Type != want.Type || got.ID != want.ID || got.Version != want.Version || got.Deleted != want.Deleted ||
		!got.LastUpdated.Equal(want.LastUpdated) || !bytes.Equal(got.Raw, want.Raw) {
		t.Fatalf("got %s/%s v%d deleted=%v at %v %s\nwant %s/%s v%d deleted=%v at %v %s",
			got.Type, got.ID, got.Version, got.Deleted, got.LastUpdated, got.Raw,
			want.Type, want.ID, want.Version, want.Deleted, want.LastUpdated, want.Raw)
	}
}

// ---- tenants ----

func testTenants(t *testing.T, s store.Store) {
	if err := s.CreateTenant(ctx, store.Tenant{ID: "misato", Name: "美郷町"}); err != nil {
		t.Fatal(err)
	}
	mustTenant(t, s, "kawajima", store.IntegrityOff)
	got, err := s.Tenant(ctx, "misato")
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "美郷町" || got.ReferentialIntegrity != store.IntegrityStrict || got.Created.IsZero() {
		t.Fatalf("Tenant = %+v, want name 美郷町, strict by default, Created set", got)
	}
	if got, _ := s.Tenant(ctx, "kawajima"); got.ReferentialIntegrity != store.IntegrityOff {
		t.Fatalf("Tenant(kawajima).ReferentialIntegrity = %q", got.ReferentialIntegrity)
	}
	ts, err := s.Tenants(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, x := range ts {
		ids = append(ids, x.ID)
	}
	if !slices.Equal(ids, []string{"kawajima", "misato"}) {
		t.Fatalf("Tenants = %v, want [kawajima misato] in id order", ids)
	}
}

func testTenantExists(t *testing.T, s store.Store) {
	mustTenant(t, s, "misato", "")
	err := s.CreateTenant(ctx, store.Tenant{ID: "misato", Name: "again"})
	if !errors.Is(err, store.ErrExists) {
		t.Fatalf("CreateTenant twice: %v, want ErrExists", err)
	}
	if got, _ := s.Tenant(ctx, "misato"); got.Name != "Town misato" {
		t.Fatalf("the failed create changed the tenant: %+v", got)
	}
}

func testTenantInvalid(t *testing.T, s store.Store) {
	bad := []string{"", "Misato", "a_b", "../x", "misato/fhir", "misato ", "みさと", "ｍｉｓａｔｏ",
		"abcdefghijklmnopqrstuvwxyz0123456"}
	good := []string{"a", "0", "-", "town-01", "abcdefghijklmnopqrstuvwxyz012345"}
	for _, id := range bad {
		if store.ValidTenantID(id) {
			t.Errorf("store.ValidTenantID(%q) = true, want false", id)
		}
	}
	for _, id := range good {
		if !store.ValidTenantID(id) {
			t.Errorf("store.ValidTenantID(%q) = false, want true", id)
		}
	}
	// The store applies that one rule: it refuses what ValidTenantID refuses and takes the rest.
	for _, id := range append(bad, good...) {
		err := s.CreateTenant(ctx, store.Tenant{ID: id, Name: "Town " + id})
		switch {
		case store.ValidTenantID(id) && err != nil:
			t.Errorf("CreateTenant(%q): %v, want it created", id, err)
		case !store.ValidTenantID(id) && (err == nil || errors.Is(err, store.ErrExists)):
			t.Errorf("CreateTenant(%q): %v, want it refused", id, err)
		}
	}
	for _, ri := range []string{"loose", "Strict", "none"} {
		if err := s.CreateTenant(ctx, store.Tenant{ID: "x", ReferentialIntegrity: ri}); err == nil {
			t.Errorf("CreateTenant with referential integrity %q accepted", ri)
		}
	}
	ts, err := s.Tenants(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, x := range ts {
		ids = append(ids, x.ID)
	}
	if want := slices.Sorted(slices.Values(good)); !slices.Equal(ids, want) {
		t.Fatalf("Tenants = %v, want only the valid ids %v: a refused create left a tenant", ids, want)
	}
	for _, id := range bad {
		if _, err := s.Tenant(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Tenant(%q) after a refused create: %v, want ErrNotFound", id, err)
		}
	}
}

func testUnknownTenant(t *testing.T, s store.Store) {
	mustTenant(t, s, "misato", "")
	for name, err := range map[string]error{
		"Tenant": func() error { _, err := s.Tenant(ctx, "nowhere"); return err }(),
		"Commit": func() error {
			_, err := s.Commit(ctx, "nowhere", []store.Write{create("Patient", "p1", patient("A"))})
			return err
		}(),
		"Read":    func() error { _, err := s.Read(ctx, "nowhere", "Patient", "p1"); return err }(),
		"VRead":   func() error { _, err := s.VRead(ctx, "nowhere", "Patient", "p1", 1); return err }(),
		"History": func() error { _, err := s.History(ctx, "nowhere", store.HistoryQuery{}); return err }(),
		"Events":  func() error { _, err := s.Events(ctx, "nowhere", 0, 10); return err }(),
	} {
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s on an unknown tenant: %v, want ErrNotFound", name, err)
		}
	}
}

// ---- commit ----

func testCreateRead(t *testing.T, s store.Store) {
	mustTenant(t, s, "misato", "")
	body := []byte("{ \"resourceType\": \"Patient\",\n  \"name\": [ { \"family\": \"山田\" } ] }")
	res := mustCommit(t, s, "misato", store.Write{Type: "Patient", ID: "p1", Action: store.Create, Resource: body,
		Index: entries("yamada")})
	r := res[0]
	if !r.Created || r.Noop || r.Resource.Version != 1 || r.Resource.Deleted || r.Resource.Type != "Patient" || r.Resource.ID != "p1" {
		t.Fatalf("Result = %+v, want created Patient/p1 v1", r)
	}
	checkStamped(t, r.Resource)
	var compact bytes.Buffer
	json.Compact(&compact, r.Resource.Raw)
	if !bytes.Equal(compact.Bytes(), r.Resource.Raw) || !bytes.Contains(r.Resource.Raw, []byte(`"name":[{"family":"山田"}]`)) {
		t.Fatalf("stored JSON %s: want compacted, with its elements kept", r.Resource.Raw)
	}
	sameVersion(t, mustRead(t, s, "misato", "Patient", "p1"), r.Resource)
	if _, err := s.Read(ctx, "misato", "Patient", "p2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Read of a missing resource: %v, want ErrNotFound", err)
	}
	if _, err := s.Read(ctx, "misato", "Observation", "p1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Read of the same id under another type: %v, want ErrNotFound", err)
	}
}

func testStampedMeta(t *testing.T, s store.Store) {
	mustTenant(t, s, "misato", "")
	body := []byte(`{"resourceType":"Patient","id":"wrong","meta":{"versionId":"99","lastUpdated":"2001-01-01T00:00:00Z",` +
		`"profile":["http://example.org/p"],"security":[{"code":"R"}]},"active":true}`)
	before := time.Now().Add(-time.Minute)
	res := mustCommit(t, s, "misato", store.Write{Type: "Patient", ID: "p1", Action: store.Update, Resource: body})
	r := res[0].Resource
	checkStamped(t, r)
	m := meta(t, r.Raw)
	if m["id"] != "p1" || m["versionId"] != "1" {
		t.Fatalf("meta = %v: want the store's id and version, not the client's", m)
	}
	if fmt.Sprint(m["profile"]) != "[http://example.org/p]" || fmt.Sprint(m["security"]) != "[map[code:R]]" {
		t.Fatalf("meta = %v: other meta elements must be kept", m)
	}
	if r.LastUpdated.Before(before) || r.LastUpdated.After(time.Now().Add(time.Minute)) {
		t.Fatalf("LastUpdated = %v, want about now", r.LastUpdated)
	}
	res = mustCommit(t, s, "misato", update("Patient", "p1", body))
	checkStamped(t, res[0].Resource)
	if res[0].Resource.LastUpdated.Before(r.LastUpdated) {
		t.Fatalf("version 2 lastUpdated %v is before version 1's %v", res[0].Resource.LastUpdated, r.LastUpdated)
	}
}

func testVersionNumbering(t *testing.T, s store.Store) {
	mustTenant(t, s, "misato", "")
	mustCommit(t, s, "misato", create("Patient", "p1", patient("A")))
	for want := int64(2); want <= 4; want++ {
		r := mustCommit(t, s, "misato", update("Patient", "p1", patient(fmt.Sprint("A", want))))[0]
		if r.Resource.Version != want || r.Created {
			t.Fatalf("update %d: %+v, want version %d, not created", want, r, want)
		}
		checkStamped(t, r.Resource)
	}
	if r := mustCommit(t, s, "misato", create("Patient", "p2", patient("B")))[0]; r.Resource.Version != 1 {
		t.Fatalf("another resource starts at version %d, want 1", r.Resource.Version)
	}
	if r := mustCommit(t, s, "misato", create("Observation", "p1", observation("Patient/p1")))[0]; r.Resource.Version != 1 {
		t.Fatalf("same id, other type: version %d, want 1", r.Resource.Version)
	}
	if got := mustRead(t, s, "misato", "Patient", "p1"); got.Version != 4 || !bytes.Contains(got.Raw, []byte(`"A4"`)) {
		t.Fatalf("Read = v%d %s, want v4 with family A4", got.Version, got.Raw)
	}
}

func testTwiceInCommit(t *testing.T, s store.Store) {
	mustTenant(t, s, "misato", "")
	res := mustCommit(t, s, "misato", create("Patient", "p1", patient("A")), update("Patient", "p1", patient("B")),
		store.Write{Type: "Patient", ID: "p1", Action: store.Update, IfMatch: 2, Resource: patient("C")})
	for i, r := range res {
		if r.Resource.Version != int64(i+1) || r.Created != (i == 0) {
			t.Fatalf("write %d: %+v, want version %d", i, r, i+1)
		}
	}
	if got := mustRead(t, s, "misato", "Patient", "p1"); got.Version != 3 || !bytes.Contains(got.Raw, []byte(`"C"`)) {
		t.Fatalf("Read = v%d %s, want v3 family C", got.Version, got.Raw)
	}
}

func testUpdateCreates(t *testing.T, s store.Store) {
	mustTenant(t, s, "misato", "")
	r := mustCommit(t, s, "misato", update("Patient", "p1", patient("A")))[0]
	if !r.Created || r.Resource.Version != 1 {
		t.Fatalf("update of a missing resource: %+v, want created v1", r)
	}
	r = mustCommit(t, s, "misato", update("Patient", "p1", patient("B")))[0]
	if r.Created || r.Resource.Version != 2 {
		t.Fatalf("second update: %+v, want v2, not created", r)
	}
}

func testCreateExists(t *testing.T, s store.Store) {
	mustTenant(t, s, "misato", "")
	mustCommit(t, s, "misato", create("Patient", "p1", patient("A")))
	_, err := s.Commit(ctx, "misato", []store.Write{create("Patient", "p1", patient("B"))})
	wantWriteError(t, err, 0, store.Key{Type: "Patient", ID: "p1"}, store.ErrExists)
	mustCommit(t, s, "misato", del("Patient", "p1"))
	_, err = s.Commit(ctx, "misato", []store.Write{create("Patient", "p1", patient("C"))})
	wantWriteError(t, err, 0, store.Key{Type: "Patient", ID: "p1"}, store.ErrExists) // a deleted id stays taken
	_, err = s.Commit(ctx, "misato", []store.Write{create("Patient", "p2", patient("D")), create("Patient", "p2", patient("E"))})
	wantWriteError(t, err, 1, store.Key{Type: "Patient", ID: "p2"}, store.ErrExists)
}

func testIfMatch(t *testing.T, s store.Store) {
	mustTenant(t, s, "misato", "")
	mustCommit(t, s, "misato", create("Patient", "p1", patient("A")), create("Patient", "p2", patient("A")))
	mustCommit(t, s, "misato", update("Patient", "p1", patient("B")))
	w := update("Patient", "p1", patient("C"))
	w.IfMatch = 1
	_, err := s.Commit(ctx, "misato", []store.Write{update("Patient", "p2", patient("Z")), w})
	wantWriteError(t, err, 1, store.Key{Type: "Patient", ID: "p1"}, store.ErrVersionConflict)
	if got := mustRead(t, s, "misato", "Patient", "p2"); got.Version != 1 {
		t.Fatalf("the other write of the failed Commit was applied: v%d", got.Version)
	}
	w.IfMatch = 2
	if r := mustCommit(t, s, "misato", w)[0]; r.Resource.Version != 3 {
		t.Fatalf("IfMatch current: %+v, want v3", r)
	}
	missing := update("Patient", "p9", patient("A"))
	missing.IfMatch = 1
	_, err = s.Commit(ctx, "misato", []store.Write{missing})
	wantWriteError(t, err, 0, store.Key{Type: "Patient", ID: "p9"}, store.ErrVersionConflict)
	d := del("Patient", "p1")
	d.IfMatch = 2
	_, err = s.Commit(ctx, "misato", []store.Write{d})
	wantWriteError(t, err, 0, store.Key{Type: "Patient", ID: "p1"}, store.ErrVersionConflict)
}

func testDelete(t *testing.T, s store.Store) {
	mustTenant(t, s, "misato", "")
	v1 := mustCommit(t, s, "misato", create("Patient", "p1", patient("A")))[0].Resource
	r := mustCommit(t, s, "misato", del("Patient", "p1"))[0]
	if r.Noop || r.Created || r.Resource.Version != 2 || !r.Resource.Deleted || r.Resource.Raw != nil || r.Resource.LastUpdated.IsZero() {
		t.Fatalf("delete: %+v, want version 2, Deleted, no body", r)
	}
	got, err := s.Read(ctx, "misato", "Patient", "p1")
	if !errors.Is(err, store.ErrGone) {
		t.Fatalf("Read after delete: %v, want ErrGone", err)
	}
	sameVersion(t, got, r.Resource)
	old, err := s.VRead(ctx, "misato", "Patient", "p1", 1)
	if err != nil {
		t.Fatal(err)
	}
	sameVersion(t, old, v1)
}

func testDeleteNoop(t *testing.T, s store.Store) {
	mustTenant(t, s, "misato", "")
	r := mustCommit(t, s, "misato", del("Patient", "p1"))[0]
	if !r.Noop || r.Created || r.Resource.Version != 0 || !r.Resource.Deleted {
		t.Fatalf("delete of a missing resource: %+v, want Noop, Deleted, version 0", r)
	}
	mustCommit(t, s, "misato", create("Patient", "p2", patient("A")))
	mustCommit(t, s, "misato", del("Patient", "p2"))
	n := len(allEvents(t, s, "misato"))
	r = mustCommit(t, s, "misato", del("Patient", "p2"))[0]
	if !r.Noop || r.Resource.Version != 0 || !r.Resource.Deleted {
		t.Fatalf("delete of a deleted resource: %+v, want Noop", r)
	}
	if got := len(allEvents(t, s, "misato")); got != n {
		t.Fatalf("a no-op delete wrote %d events", got-n)
	}
	if _, err := s.VRead(ctx, "misato", "Patient", "p2", 3); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a no-op delete wrote a version: %v", err)
	}
	if _, err := s.History(ctx, "misato", store.HistoryQuery{Type: "Patient", ID: "p1"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a no-op delete of a missing resource made it exist: %v", err)
	}
}

func testUpdateAfterDelete(t *testing.T, s store.Store) {
	mustTenant(t, s, "misato", "")
	mustCommit(t, s, "misato", create("Patient", "p1", patient("A")))
	mustCommit(t, s, "misato", del("Patient", "p1"))
	r := mustCommit(t, s, "misato", update("Patient", "p1", patient("B")))[0]
	if !r.Created || r.Resource.Version != 3 || r.Resource.Deleted {
		t.Fatalf("update after delete: %+v, want created v3", r)
	}
	sameVersion(t, mustRead(t, s, "misato", "Patient", "p1"), r.Resource)
}

func testAtomic(t *testing.T, s store.Store) {
	mustTenant(t, s, "misato", "")
	mustCommit(t, s, "misato", create("Patient", "c", patient("C")))
	evs := allEvents(t, s, "misato")
	hist, _ := allHistory(t, s, "misato", store.HistoryQuery{})
	bundle := []store.Write{
		create("Patient", "a", patient("A")),
		update("Patient", "c", patient("C2")),
		create("Patient", "c", patient("again")),
		create("Patient", "b", patient("B")),
	}
	_, err := s.Commit(ctx, "misato", bundle)
	wantWriteError(t, err, 2, store.Key{Type: "Patient", ID: "c"}, store.ErrExists)
	for _, id := range []string{"a", "b"} {
		if _, err := s.Read(ctx, "misato", "Patient", id); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Read(%s) after a failed Commit: %v, want ErrNotFound", id, err)
		}
	}
	if got := mustRead(t, s, "misato", "Patient", "c"); got.Version != 1 {
		t.Fatalf("Patient/c is at v%d after a failed Commit, want 1", got.Version)
	}
	if got := allEvents(t, s, "misato"); !slices.Equal(got, evs) {
		t.Fatalf("events after a failed Commit: %v, want %v", got, evs)
	}
	if got, _ := allHistory(t, s, "misato", store.HistoryQuery{}); len(got) != len(hist) {
		t.Fatalf("history has %d versions after a failed Commit, want %d", len(got), len(hist))
	}
	// The same writes, minus the bad one, now succeed with the numbers they would have had.
	res := mustCommit(t, s, "misato", bundle[0], bundle[1], bundle[3])
	if res[0].Resource.Version != 1 || res[1].Resource.Version != 2 || res[2].Resource.Version != 1 {
		t.Fatalf("after the failed Commit: %+v", res)
	}
	got := allEvents(t, s, "misato")
	if len(got) != len(evs)+3 || got[len(evs)].Seq <= evs[len(evs)-1].Seq {
		t.Fatalf("events %v: want 3 new ones after %v", got, evs)
	}
}

func testEmptyCommit(t *testing.T, s store.Store) {
	mustTenant(t, s, "misato", "")
	res, err := s.Commit(ctx, "misato", nil)
	if err != nil || len(res) != 0 {
		t.Fatalf("empty Commit: %v, %v", res, err)
	}
	if evs := allEvents(t, s, "misato"); len(evs) != 0 {
		t.Fatalf("empty Commit wrote events %v", evs)
	}
}

// testMalformedWrite: a write the store cannot take (store.CheckWrite) fails its Commit with a
// WriteError at its index, and nothing of the Commit is written.
func testMalformedWrite(t *testing.T, s store.Store) {
	mustTenant(t, s, "misato", "")
	good := create("Patient", "a", patient("A"))
	nested := create("Observation", "o", []byte(`{"resourceType":"Observation","status":"final"}`))
	nested.Index = []search.Entry{{Code: "combo", Type: search.Composite, Parts: []search.Entry{{Type: search.Composite}}}}
	for _, tc := range []struct {
		name string
		w    store.Write
	}{
		{"unknown type", create("Child", "x", []byte(`{"resourceType":"Child"}`))},
		{"invalid id", create("Patient", "a b", patient("B"))},
		{"unknown action", store.Write{Type: "Patient", ID: "b", Action: "merge", Resource: patient("B")}},
		{"body of another type", create("Patient", "b", []byte(`{"resourceType":"Observation","status":"final"}`))},
		{"body not JSON", create("Patient", "b", []byte(`{"resourceType":`))},
		{"composite in a composite", nested},
	} {
		_, err := s.Commit(ctx, "misato", []store.Write{good, tc.w})
		var we *store.WriteError
		if !errors.As(err, &we) || we.Index != 1 || we.Key != (store.Key{Type: tc.w.Type, ID: tc.w.ID}) {
			t.Errorf("%s: Commit: %v, want a WriteError at write 1", tc.name, err)
		}
		if _, err := s.Read(ctx, "misato", "Patient", "a"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("%s: Read(Patient/a) after the refused Commit: %v, want ErrNotFound", tc.name, err)
		}
	}
	if evs := allEvents(t, s, "misato"); len(evs) != 0 {
		t.Fatalf("refused Commits wrote events %v", evs)
	}
}

// ---- vread ----

func testVRead(t *testing.T, s store.Store) {
	mustTenant(t, s, "misato", "")
	var vs []fhir.Resource
	vs = append(vs, mustCommit(t, s, "misato", create("Patient", "p1", patient("A")))[0].Resource)
	vs = append(vs, mustCommit(t, s, "misato", update("Patient", "p1", patient("B")))[0].Resource)
	vs = append(vs, mustCommit(t, s, "misato", del("Patient", "p1"))[0].Resource)
	for _, want := range vs[:2] {
		got, err := s.VRead(ctx, "misato", "Patient", "p1", want.Version)
		if err != nil {
			t.Fatalf("VRead v%d: %v", want.Version, err)
		}
		sameVersion(t, got, want)
		checkStamped(t, got)
	}
	got, err := s.VRead(ctx, "misato", "Patient", "p1", 3)
	if !errors.Is(err, store.ErrGone) {
		t.Fatalf("VRead of the delete version: %v, want ErrGone", err)
	}
	sameVersion(t, got, vs[2])
	for _, v := range []int64{4, 0, -1} {
		if _, err := s.VRead(ctx, "misato", "Patient", "p1", v); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("VRead v%d: %v, want ErrNotFound", v, err)
		}
	}
	if _, err := s.VRead(ctx, "misato", "Patient", "nope", 1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("VRead of a missing resource: %v, want ErrNotFound", err)
	}
}

// ---- history ----

// seedHistory writes a mix of versions and returns them in write order.
func seedHistory(t *testing.T, s store.Store, tenant string) []fhir.Resource {
	var all []fhir.Resource
	add := func(res []store.Result) {
		for _, r := range res {
			if !r.Noop {
				all = append(all, r.Resource)
			}
		}
	}
	add(mustCommit(t, s, tenant, create("Patient", "p1", patient("A")), create("Patient", "p2", patient("B"))))
	add(mustCommit(t, s, tenant, create("Observation", "o1", observation("Patient/p1"))))
	add(mustCommit(t, s, tenant, update("Patient", "p1", patient("A2"))))
	add(mustCommit(t, s, tenant, del("Patient", "p2"), update("Observation", "o1", observation("Patient/p1"))))
	add(mustCommit(t, s, tenant, update("Patient", "p1", patient("A3"))))
	return all
}

func newestFirst(vs []fhir.Resource, keep func(fhir.Resource) bool) []fhir.Resource {
	var out []fhir.Resource
	for i := len(vs) - 1; i >= 0; i-- {
		if keep(vs[i]) {
			out = append(out, vs[i])
		}
	}
	return out
}

func filter(vs []fhir.Resource, keep func(fhir.Resource) bool) []fhir.Resource {
	var out []fhir.Resource
	for _, v := range vs {
		if keep(v) {
			out = append(out, v)
		}
	}
	return out
}

func sameVersions(t *testing.T, what string, got, want []fhir.Resource) {
	t.Helper()
	key := func(vs []fhir.Resource) []string {
		var ks []string
		for _, v := range vs {
			ks = append(ks, fmt.Sprintf("%s/%s/_history/%d", v.Type, v.ID, v.Version))
		}
		return ks
	}
	if !slices.Equal(key(got), key(want)) {
		t.Fatalf("%s:\n got %v\nwant %v", what, key(got), key(want))
	}
	for i := range got {
		sameVersion(t, got[i], want[i])
	}
}

func testHistoryOrder(t *testing.T, s store.Store) {
	mustTenant(t, s, "misato", "")
	all := seedHistory(t, s, "misato")
	for _, tc := range []struct {
		name string
		q    store.HistoryQuery
		keep func(fhir.Resource) bool
	}{
		{"system", store.HistoryQuery{}, func(fhir.Resource) bool { return true }},
		{"type", store.HistoryQuery{Type: "Patient"}, func(r fhir.Resource) bool { return r.Type == "Patient" }},
		{"instance", store.HistoryQuery{Type: "Patient", ID: "p1"}, func(r fhir.Resource) bool { return r.Type == "Patient" && r.ID == "p1" }},
		{"deleted instance", store.HistoryQuery{Type: "Patient", ID: "p2"}, func(r fhir.Resource) bool { return r.Type == "Patient" && r.ID == "p2" }},
	} {
		p := mustHistory(t, s, "misato", tc.q)
		sameVersions(t, tc.name, p.Versions, newestFirst(all, tc.keep))
		if p.Next != 0 {
			t.Fatalf("%s: Next = %d on the only page", tc.name, p.Next)
		}
		for i := 1; i < len(p.Seqs); i++ {
			if p.Seqs[i] >= p.Seqs[i-1] {
				t.Fatalf("%s: seqs %v not strictly decreasing", tc.name, p.Seqs)
			}
		}
	}
	// Seqs are the change events' seqs.
	evs := allEvents(t, s, "misato")
	p := mustHistory(t, s, "misato", store.HistoryQuery{})
	for i, e := range evs {
		v, seq := p.Versions[len(evs)-1-i], p.Seqs[len(evs)-1-i]
		if e.Seq != seq || e.Type != v.Type || e.ID != v.ID || e.Version != v.Version {
			t.Fatalf("event %+v does not match history entry %d %s/%s v%d", e, seq, v.Type, v.ID, v.Version)
		}
	}
}

// testHistoryRequests: each version keeps the method of the write that made it and whether it
// made the resource exist, for its history entry.
func testHistoryRequests(t *testing.T, s store.Store) {
	mustTenant(t, s, "misato", "")
	with := func(w store.Write, method string) store.Write { w.Method = method; return w }
	mustCommit(t, s, "misato", with(update("Patient", "p1", []byte(`{"resourceType":"Patient","id":"p1"}`)), "PUT"))
	mustCommit(t, s, "misato", with(update("Patient", "p1", []byte(`{"resourceType":"Patient","id":"p1","gender":"male"}`)), "PATCH"))
	mustCommit(t, s, "misato", with(del("Patient", "p1"), "DELETE"))
	mustCommit(t, s, "misato", with(update("Patient", "p1", []byte(`{"resourceType":"Patient","id":"p1"}`)), "PUT"),
		update("Patient", "p2", []byte(`{"resourceType":"Patient","id":"p2"}`))) // no method: as versions written before
	p := mustHistory(t, s, "misato", store.HistoryQuery{Type: "Patient", ID: "p1"})
	want := []store.VersionRequest{{Method: "PUT", Created: true}, {Method: "DELETE", Created: false}, {Method: "PATCH", Created: false}, {Method: "PUT", Created: true}}
	if !slices.Equal(p.Requests, want) {
		t.Errorf("p1's requests, newest first: %+v, want %+v", p.Requests, want)
	}
	p = mustHistory(t, s, "misato", store.HistoryQuery{Type: "Patient", ID: "p2"})
	if !slices.Equal(p.Requests, []store.VersionRequest{{Created: true}}) {
		t.Errorf("p2's requests: %+v, want one without a method that created it", p.Requests)
	}
}

// testUpdateTenant: a tenant's settings change, checked as at creation; id and creation
// time stay; an unknown tenant is ErrNotFound.
func testUpdateTenant(t *testing.T, s store.Store) {
	mustTenant(t, s, "misato", "")
	before, err := s.Tenant(ctx, "misato")
	if err != nil || before.LGCode != "" {
		t.Fatalf("Tenant: %+v %v", before, err)
	}
	upd := before
	upd.Name, upd.LGCode = "美里町", "113816"
	if err := s.UpdateTenant(ctx, upd); err != nil {
		t.Fatal(err)
	}
	got, err := s.Tenant(ctx, "misato")
	if err != nil || got.Name != "美里町" || got.LGCode != "113816" || !got.Created.Equal(before.Created) ||
		got.ReferentialIntegrity != before.ReferentialIntegrity {
		t.Fatalf("after UpdateTenant: %+v %v (before %+v)", got, err, before)
	}
	if ts, err := s.Tenants(ctx); err != nil || len(ts) != 1 || ts[0].LGCode != "113816" {
		t.Fatalf("Tenants: %+v %v", ts, err)
	}
	for _, bad := range []string{"113817", "11381", "11381x"} {
		upd.LGCode = bad
		if err := s.UpdateTenant(ctx, upd); err == nil {
			t.Errorf("local government code %q accepted", bad)
		}
	}
	if err := s.UpdateTenant(ctx, store.Tenant{ID: "nowhere"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateTenant(nowhere) = %v, want ErrNotFound", err)
	}
	if err := s.CreateTenant(ctx, store.Tenant{ID: "kawajima", LGCode: "113468"}); err != nil {
		t.Fatal(err)
	}
	if k, err := s.Tenant(ctx, "kawajima"); err != nil || k.LGCode != "113468" {
		t.Fatalf("created with a code: %+v %v", k, err)
	}
}

func testHistoryUnknown(t *testing.T, s store.Store) {
	mustTenant(t, s, "misato", "")
	_, err := s.History(ctx, "misato", store.HistoryQuery{Type: "Patient", ID: "nope"})
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("instance history of a missing resource: %v, want ErrNotFound", err)
	}
	if p := mustHistory(t, s, "misato", store.HistoryQuery{Type: "Patient"}); len(p.Versions) != 0 || p.Next != 0 {
		t.Fatalf("type history of an empty tenant: %+v", p)
	}
}

// seedOverTime writes versions in several steps a few milliseconds apart.
func seedOverTime(t *testing.T, s store.Store, tenant string) []fhir.Resource {
	var all []fhir.Resource
	steps := [][]store.Write{
		{create("Patient", "p1", patient("A")), create("Patient", "p2", patient("B"))},
		{update("Patient", "p1", patient("A2"))},
		{del("Patient", "p2"), create("Patient", "p3", patient("C"))},
		{update("Patient", "p1", patient("A3")), update("Patient", "p3", patient("C2"))},
		{update("Patient", "p2", patient("B2"))},
	}
	for _, w := range steps {
		for _, r := range mustCommit(t, s, tenant, w...) {
			all = append(all, r.Resource)
		}
		time.Sleep(3 * time.Millisecond)
	}
	return all
}

func testHistorySince(t *testing.T, s store.Store) {
	mustTenant(t, s, "misato", "")
	all := seedOverTime(t, s, "misato")
	for _, since := range []time.Time{all[0].LastUpdated, all[3].LastUpdated, all[len(all)-1].LastUpdated,
		all[len(all)-1].LastUpdated.Add(time.Millisecond)} {
		want := newestFirst(all, func(r fhir.Resource) bool { return !r.LastUpdated.Before(since) })
		got, _ := allHistory(t, s, "misato", store.HistoryQuery{Since: since, Count: 2})
		sameVersions(t, "since "+fhir.FormatInstant(since), got, want)
		got, _ = allHistory(t, s, "misato", store.HistoryQuery{Type: "Patient", ID: "p1", Since: since})
		sameVersions(t, "instance since "+fhir.FormatInstant(since), got,
			filter(want, func(r fhir.Resource) bool { return r.ID == "p1" }))
	}
}

func testHistoryAt(t *testing.T, s store.Store) {
	mustTenant(t, s, "misato", "")
	all := seedOverTime(t, s, "misato")
	for _, r := range all {
		at := r.LastUpdated
		current := map[string]fhir.Resource{} // the last version with lastUpdated <= at, per resource
		for _, v := range all {
			if !v.LastUpdated.After(at) {
				current[v.ID] = v
			}
		}
		want := newestFirst(all, func(v fhir.Resource) bool { c, ok := current[v.ID]; return ok && c.Version == v.Version })
		got, _ := allHistory(t, s, "misato", store.HistoryQuery{At: at})
		sameVersions(t, "at "+fhir.FormatInstant(at), got, want)
		got, _ = allHistory(t, s, "misato", store.HistoryQuery{Type: "Patient", ID: "p2", At: at})
		sameVersions(t, "instance at "+fhir.FormatInstant(at), got,
			filter(want, func(v fhir.Resource) bool { return v.ID == "p2" }))
	}
	if got, _ := allHistory(t, s, "misato", store.HistoryQuery{At: all[0].LastUpdated.Add(-time.Hour)}); len(got) != 0 {
		t.Fatalf("at an instant before any write: %d versions", len(got))
	}
}

func testHistoryPaging(t *testing.T, s store.Store) {
	mustTenant(t, s, "misato", "")
	var want []fhir.Resource
	for i := range 25 {
		r := mustCommit(t, s, "misato", update("Patient", fmt.Sprint("p", i%4), patient(fmt.Sprint("N", i))))[0]
		want = append(want, r.Resource)
	}
	want = newestFirst(want, func(fhir.Resource) bool { return true })
	q := store.HistoryQuery{Count: 10}
	var got []fhir.Resource
	var seqs []int64
	for page := 0; ; page++ {
		p := mustHistory(t, s, "misato", q)
		if len(p.Versions) > 10 {
			t.Fatalf("page of %d versions with Count 10", len(p.Versions))
		}
		got, seqs = append(got, p.Versions...), append(seqs, p.Seqs...)
		// Writes continue between pages; they must not shift the listing.
		mustCommit(t, s, "misato", update("Patient", "p0", patient(fmt.Sprint("during", page))), create("Patient", fmt.Sprint("new", page), patient("X")))
		if p.Next == 0 {
			break
		}
		if p.Next != p.Seqs[len(p.Seqs)-1] && p.Next > p.Seqs[len(p.Seqs)-1] {
			t.Fatalf("Next %d would repeat entries of a page ending at %d", p.Next, p.Seqs[len(p.Seqs)-1])
		}
		q.Before = p.Next
	}
	sameVersions(t, "paged history", got, want)
	for i := 1; i < len(seqs); i++ {
		if seqs[i] >= seqs[i-1] {
			t.Fatalf("seqs across pages %v not strictly decreasing", seqs)
		}
	}
}

// ---- events ----

func testEvents(t *testing.T, s store.Store) {
	mustTenant(t, s, "misato", "")
	type ev struct {
		typ, id string
		ver     int64
		act     store.Action
	}
	var want []ev
	for _, w := range [][]store.Write{
		{create("Patient", "p1", patient("A")), update("Patient", "p2", patient("B"))},
		{update("Patient", "p1", patient("A2")), del("Patient", "p9")},
		{del("Patient", "p2")},
		{update("Patient", "p2", patient("B2")), create("Observation", "o1", observation("Patient/p1"))},
	} {
		for _, r := range mustCommit(t, s, "misato", w...) {
			if r.Noop {
				continue
			}
			act := store.Update
			switch {
			case r.Resource.Deleted:
				act = store.Delete
			case r.Created:
				act = store.Create
			}
			want = append(want, ev{r.Resource.Type, r.Resource.ID, r.Resource.Version, act})
		}
	}
	evs := allEvents(t, s, "misato")
	var got []ev
	for i, e := range evs {
		got = append(got, ev{e.Type, e.ID, e.Version, e.Action})
		if i > 0 && e.Seq <= evs[i-1].Seq {
			t.Fatalf("seqs not strictly increasing: %v", evs)
		}
		if e.Seq <= 0 || e.Time.IsZero() {
			t.Fatalf("event %+v: want a positive Seq and a Time", e)
		}
		if v, err := s.VRead(ctx, "misato", e.Type, e.ID, e.Version); !e.Time.Equal(v.LastUpdated) {
			t.Fatalf("event %+v: time differs from the version's lastUpdated %v (%v)", e, v.LastUpdated, err)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("events:\n got %v\nwant %v (an update that creates is a create)", got, want)
	}
	last := evs[len(evs)-1].Seq
	if more, err := s.Events(ctx, "misato", last, 10); err != nil || len(more) != 0 {
		t.Fatalf("Events after the last: %v, %v", more, err)
	}
	if two, err := s.Events(ctx, "misato", evs[1].Seq, 2); err != nil || len(two) != 2 || two[0] != evs[2] || two[1] != evs[3] {
		t.Fatalf("Events(after %d, 2) = %v, %v; want %v", evs[1].Seq, two, err, evs[2:4])
	}
}

// ---- referential integrity ----

func withRefs(w store.Write, refs ...store.Key) store.Write { w.Refs = refs; return w }

func testIntegrityStrict(t *testing.T, s store.Store) {
	mustTenant(t, s, "misato", store.IntegrityStrict)
	p1 := store.Key{Type: "Patient", ID: "p1"}
	o1 := store.Key{Type: "Observation", ID: "o1"}
	_, err := s.Commit(ctx, "misato", []store.Write{withRefs(create("Observation", "o1", observation("Patient/p1")), p1)})
	wantWriteError(t, err, 0, o1, store.ErrReference)
	mustCommit(t, s, "misato", create("Patient", "p1", patient("A")))
	mustCommit(t, s, "misato", withRefs(create("Observation", "o1", observation("Patient/p1")), p1))
	mustCommit(t, s, "misato", del("Patient", "p1"))
	_, err = s.Commit(ctx, "misato", []store.Write{create("Patient", "p5", patient("E")),
		withRefs(update("Observation", "o1", observation("Patient/p1")), p1)})
	wantWriteError(t, err, 1, o1, store.ErrReference) // a deleted target does not resolve
	if _, err := s.Read(ctx, "misato", "Patient", "p5"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the Commit that failed on a reference wrote its other writes: %v", err)
	}
	_, err = s.Commit(ctx, "misato", []store.Write{withRefs(update("Observation", "o1", observation("Patient/p1")), store.Key{Type: "Observation", ID: "p1"})})
	wantWriteError(t, err, 0, o1, store.ErrReference) // the type is part of the reference
}

func testIntegritySameCommit(t *testing.T, s store.Store) {
	mustTenant(t, s, "misato", "")
	p := func(id string) store.Key { return store.Key{Type: "Patient", ID: id} }
	mustCommit(t, s, "misato",
		create("Patient", "early", patient("A")),
		withRefs(create("Observation", "o1", observation("Patient/early")), p("early"), p("late"), p("upd")),
		create("Patient", "late", patient("B")),
		update("Patient", "upd", patient("C")),
	)
	mustCommit(t, s, "misato", create("Patient", "gone", patient("D")))
	_, err := s.Commit(ctx, "misato", []store.Write{
		withRefs(create("Observation", "o2", observation("Patient/gone")), p("gone")),
		del("Patient", "gone"),
	})
	wantWriteError(t, err, 0, store.Key{Type: "Observation", ID: "o2"}, store.ErrReference)
	mustCommit(t, s, "misato", withRefs(create("Observation", "o3", observation("Patient/gone")), p("gone")))
}

func testIntegrityOff(t *testing.T, s store.Store) {
	mustTenant(t, s, "kawajima", store.IntegrityOff)
	r := mustCommit(t, s, "kawajima", withRefs(create("Observation", "o1", observation("Patient/nobody")),
		store.Key{Type: "Patient", ID: "nobody"}))
	if r[0].Resource.Version != 1 {
		t.Fatalf("%+v", r)
	}
}

// ---- isolation ----

func testIsolation(t *testing.T, s store.Store) {
	mustTenant(t, s, "misato", "")
	mustTenant(t, s, "kawajima", "")
	a := mustCommit(t, s, "misato", create("Patient", "p1", patient("Misato")), create("Patient", "only-m", patient("M")))
	b := mustCommit(t, s, "kawajima", create("Patient", "p1", patient("Kawajima")))
	mustCommit(t, s, "kawajima", update("Patient", "p1", patient("Kawajima2")))
	sameVersion(t, mustRead(t, s, "misato", "Patient", "p1"), a[0].Resource)
	if got := mustRead(t, s, "kawajima", "Patient", "p1"); got.Version != 2 || bytes.Contains(got.Raw, []byte("Misato")) {
		t.Fatalf("kawajima Patient/p1 = v%d %s", got.Version, got.Raw)
	}
	if _, err := s.VRead(ctx, "misato", "Patient", "p1", 2); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("misato sees kawajima's version 2: %v", err)
	}
	sameVersion(t, mustVRead(t, s, "kawajima", "Patient", "p1", 1), b[0].Resource)
	if _, err := s.Read(ctx, "kawajima", "Patient", "only-m"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("kawajima reads misato's resource: %v", err)
	}
	if _, err := s.Commit(ctx, "kawajima", []store.Write{withRefs(create("Observation", "o", observation("Patient/only-m")),
		store.Key{Type: "Patient", ID: "only-m"})}); !errors.Is(err, store.ErrReference) {
		t.Fatalf("a reference resolved in another tenant: %v", err)
	}
	for tenant, want := range map[string]int{"misato": 2, "kawajima": 2} {
		hist, _ := allHistory(t, s, tenant, store.HistoryQuery{})
		evs := allEvents(t, s, tenant)
		if len(hist) != want || len(evs) != want {
			t.Fatalf("%s: %d versions, %d events, want %d", tenant, len(hist), len(evs), want)
		}
		for _, v := range hist {
			if bytes.Contains(v.Raw, []byte(map[string]string{"misato": "Kawajima", "kawajima": "Misato"}[tenant])) {
				t.Fatalf("%s history holds the other town's %s", tenant, v.Raw)
			}
		}
	}
}

func mustVRead(t testing.TB, s store.Store, tenant, typ, id string, v int64) fhir.Resource {
	t.Helper()
	r, err := s.VRead(ctx, tenant, typ, id, v)
	if err != nil {
		t.Fatalf("VRead(%s/%s v%d): %v", typ, id, v, err)
	}
	return r
}

// ---- concurrency ----

func testConcurrentIfMatch(t *testing.T, s store.Store) {
	mustTenant(t, s, "misato", "")
	mustCommit(t, s, "misato", create("Basic", "counter", []byte(`{"resourceType":"Basic","n":0}`)))
	countConcurrently(t, []store.Store{s}, "counter", 6, 8)
}

// countConcurrently has workers goroutines (taking the stores in turns) each add 1, each
// times, to the counter Basic/id of misato by read and If-Match update, retrying on
// ErrVersionConflict; then checks that no update was lost.
func countConcurrently(t *testing.T, stores []store.Store, id string, workers, each int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		s := stores[w%len(stores)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; {
				cur, err := s.Read(ctx, "misato", "Basic", id)
				if err != nil {
					errs <- err
					return
				}
				var v struct{ N int }
				json.Unmarshal(cur.Raw, &v)
				body := fmt.Appendf(nil, `{"resourceType":"Basic","n":%d,"by":%d}`, v.N+1, w)
				_, err = s.Commit(ctx, "misato", []store.Write{{Type: "Basic", ID: id, Action: store.Update,
					IfMatch: cur.Version, Resource: body}})
				switch {
				case errors.Is(err, store.ErrVersionConflict):
				case err != nil:
					errs <- err
					return
				default:
					i++
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := mustRead(t, stores[0], "misato", "Basic", id)
	var v struct{ N int }
	json.Unmarshal(got.Raw, &v)
	if got.Version != int64(1+workers*each) || v.N != workers*each {
		t.Fatalf("counter at v%d n=%d, want v%d n=%d: an update was lost", got.Version, v.N, 1+workers*each, workers*each)
	}
}

func testConcurrentCommits(t *testing.T, s store.Store) {
	mustTenant(t, s, "misato", "")
	mustTenant(t, s, "kawajima", "")
	const workers, commits = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, 2*workers)
	for w := range workers {
		for _, tenant := range []string{"misato", "kawajima"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for c := range commits {
					id := fmt.Sprintf("w%d-c%d", w, c)
					ws := []store.Write{create("Patient", id, patient(id)), update("Patient", "shared", patient(id))}
					if c%3 == 2 {
						ws = append(ws, create("Patient", id, patient("dup"))) // fails: must leave nothing
					}
					_, err := s.Commit(ctx, tenant, ws)
					if (err != nil) != (c%3 == 2) || (err != nil && !errors.Is(err, store.ErrExists)) {
						errs <- fmt.Errorf("%s commit %s: %v", tenant, id, err)
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	ok := 0
	for c := range commits {
		if c%3 != 2 {
			ok++
		}
	}
	for _, tenant := range []string{"misato", "kawajima"} {
		evs := allEvents(t, s, tenant)
		if len(evs) != 2*workers*ok {
			t.Fatalf("%s: %d events, want %d", tenant, len(evs), 2*workers*ok)
		}
		seen := map[string]bool{}
		for i, e := range evs {
			if i > 0 && e.Seq <= evs[i-1].Seq {
				t.Fatalf("%s: seqs not strictly increasing at %d: %d after %d", tenant, i, e.Seq, evs[i-1].Seq)
			}
			k := fmt.Sprint(e.Type, e.ID, e.Version)
			if seen[k] {
				t.Fatalf("%s: two events for %s", tenant, k)
			}
			seen[k] = true
		}
		if got := mustRead(t, s, tenant, "Patient", "shared"); got.Version != int64(workers*ok) {
			t.Fatalf("%s: Patient/shared at v%d, want v%d", tenant, got.Version, workers*ok)
		}
	}
}

// ---- secrets, ping ----

func testSecrets(t *testing.T, s store.Store) {
	got, err := s.LoadOrStoreSecret(ctx, "signing", []byte("first"))
	if err != nil || string(got) != "first" {
		t.Fatalf("first LoadOrStoreSecret = %q, %v; want the value stored", got, err)
	}
	got, err = s.LoadOrStoreSecret(ctx, "signing", []byte("second"))
	if err != nil || string(got) != "first" {
		t.Fatalf("second LoadOrStoreSecret = %q, %v; want the first value", got, err)
	}
	if got, _ := s.LoadOrStoreSecret(ctx, "other", []byte("x")); string(got) != "x" {
		t.Fatalf("another name = %q, want its own value", got)
	}
	var wg sync.WaitGroup
	vals := make([][]byte, 8)
	for i := range vals {
		wg.Add(1)
		go func() {
			defer wg.Done()
			vals[i], _ = s.LoadOrStoreSecret(ctx, "race", []byte{byte('a' + i)})
		}()
	}
	wg.Wait()
	for _, v := range vals {
		if len(v) != 1 || v[0] != vals[0][0] {
			t.Fatalf("concurrent LoadOrStoreSecret disagree: %q", vals)
		}
	}
}

func testPing(t *testing.T, s store.Store) {
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}
