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

package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kodomohub/kodomohub/auth"
	"github.com/kodomohub/kodomohub/fhir/fhirpath"
	"github.com/kodomohub/kodomohub/fhir/search"
	"github.com/kodomohub/kodomohub/store"
	"github.com/kodomohub/kodomohub/store/sqlite"
)

var ctx = context.Background()

const (
	town    = "misato"
	nursery = "Organization/nursery-1"
	school  = "Organization/school-1"
)

// april10 is the pinned clock of most tests: 10:00 JST on 10 April 2026.
var april10 = time.Date(2026, 4, 10, 10, 0, 0, 0, search.JST)

func mustOpen(tb testing.TB, dir string) *sqlite.Store {
	tb.Helper()
	s, err := sqlite.Open(dir, sqlite.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// mustTown opens a store in a new directory with the tenants misato and kawajima.
func mustTown(tb testing.TB) (*sqlite.Store, string) {
	tb.Helper()
	dir := tb.TempDir()
	s := mustOpen(tb, dir)
	for _, id := range []string{town, "kawajima"} {
		if err := s.CreateTenant(ctx, store.Tenant{ID: id, Name: id, ReferentialIntegrity: store.IntegrityOff}); err != nil {
			tb.Fatal(err)
		}
	}
	return s, dir
}

// put is an update (create or replace) of a resource, with the index entries the server
// extracts.
func put(tb testing.TB, typ, id string, resource map[string]any) store.Write {
	tb.Helper()
	resource["resourceType"] = typ
	raw, err := json.Marshal(resource)
	if err != nil {
		tb.Fatal(err)
	}
	v, err := fhirpath.Decode(raw)
	if err != nil {
		tb.Fatal(err)
	}
	index, err := search.Default().Extract(v)
	if err != nil {
		tb.Fatal(err)
	}
	return store.Write{Type: typ, ID: id, Action: store.Update, Resource: raw, Index: index}
}

func del(typ, id string) store.Write { return store.Write{Type: typ, ID: id, Action: store.Delete} }

func mustCommit(tb testing.TB, s store.Store, tenant string, writes ...store.Write) {
	tb.Helper()
	if _, err := s.Commit(ctx, tenant, writes); err != nil {
		tb.Fatal(err)
	}
}

func ref(r string) map[string]any { return map[string]any{"reference": r} }

// period is a FHIR Period; "" leaves an end open.
func period(start, end string) map[string]any {
	p := map[string]any{}
	if start != "" {
		p["start"] = start
	}
	if end != "" {
		p["end"] = end
	}
	return p
}

func episode(tb testing.TB, id, patient, org, status string, p map[string]any) store.Write {
	tb.Helper()
	e := map[string]any{"status": status, "patient": ref(patient), "managingOrganization": ref(org)}
	if len(p) > 0 {
		e["period"] = p
	}
	return put(tb, "EpisodeOfCare", id, e)
}

type member struct {
	patient  string
	period   map[string]any
	inactive bool
}

func group(tb testing.TB, id, org string, active bool, members ...member) store.Write {
	tb.Helper()
	var ms []any
	for _, m := range members {
		e := map[string]any{"entity": ref(m.patient)}
		if len(m.period) > 0 {
			e["period"] = m.period
		}
		if m.inactive {
			e["inactive"] = true
		}
		ms = append(ms, e)
	}
	return put(tb, "Group", id, map[string]any{"type": "person", "actual": true, "active": active,
		"managingEntity": ref(org), "member": ms})
}

// counting counts the store queries of a StoreRoster; afterSearch, when set, runs after each
// search.
type counting struct {
	auth.RosterStore
	searches, events atomic.Int64
	afterSearch      func(q *search.Query)
}

func (c *counting) Search(ctx context.Context, tenant string, q *search.Query, opts store.SearchOptions) (store.SearchPage, error) {
	c.searches.Add(1)
	p, err := c.RosterStore.Search(ctx, tenant, q, opts)
	if c.afterSearch != nil {
		c.afterSearch(q)
	}
	return p, err
}

func (c *counting) Events(ctx context.Context, tenant string, after int64, limit int) ([]store.Event, error) {
	c.events.Add(1)
	return c.RosterStore.Events(ctx, tenant, after, limit)
}

// queries returns the searches and event reads since the last call.
func (c *counting) queries() (searches, events int64) {
	return c.searches.Swap(0), c.events.Swap(0)
}

func mustPatients(tb testing.TB, r *auth.StoreRoster, tenant, facility string) auth.RosterSet {
	tb.Helper()
	set, err := r.Patients(ctx, tenant, facility)
	if err != nil {
		tb.Fatalf("Patients(%s, %s): %v", tenant, facility, err)
	}
	return set
}

func wantRoster(tb testing.TB, r *auth.StoreRoster, facility string, want ...string) {
	tb.Helper()
	got := mustPatients(tb, r, town, facility).IDs()
	if want == nil {
		want = []string{}
	}
	if got == nil {
		got = []string{}
	}
	if !slices.Equal(got, want) {
		tb.Fatalf("roster of %s = %q, want %q", facility, got, want)
	}
	for _, p := range want {
		if on, err := r.OnRoster(ctx, town, facility, p); !on || err != nil {
			tb.Fatalf("OnRoster(%s, %s) = %v, %v; want true", facility, p, on, err)
		}
	}
}

func pinned(now *time.Time) func() time.Time { return func() time.Time { return *now } }

func TestRosterSet(t *testing.T) {
	s := auth.NewRosterSet("Patient/b", "Patient/a", "Patient/b")
	if s.Len() != 2 || !s.Has("Patient/a") || !s.Has("Patient/b") || s.Has("Patient/c") {
		t.Fatalf("set %q", s.IDs())
	}
	ids := s.IDs()
	ids[0] = "Patient/z"
	if !slices.Equal(s.IDs(), []string{"Patient/a", "Patient/b"}) {
		t.Fatalf("IDs = %q: sorted, and not the set's own slice", s.IDs())
	}
	var zero auth.RosterSet
	if zero.Len() != 0 || zero.Has("Patient/a") || len(zero.IDs()) != 0 {
		t.Fatal("the zero RosterSet is not empty")
	}
}

func TestStoreRosterEnrolmentIsSeenAtOnce(t *testing.T) {
	st, _ := mustTown(t)
	now := april10
	r := &auth.StoreRoster{Store: st, Now: pinned(&now)}
	wantRoster(t, r, nursery) // cached, empty

	mustCommit(t, st, town, episode(t, "e1", "Patient/child-1", nursery, "active", period("2026-04-01", "")))
	wantRoster(t, r, nursery, "Patient/child-1")

	mustCommit(t, st, town, group(t, "g1", nursery, true, member{patient: "Patient/child-2"},
		member{patient: "Practitioner/teacher-1"}))
	wantRoster(t, r, nursery, "Patient/child-1", "Patient/child-2")
	wantRoster(t, r, school)

	t.Run("OnlyLocalPatientReferences", func(t *testing.T) {
		mustCommit(t, st, town,
			episode(t, "e-abs", "https://other.example/fhir/Patient/child-9", nursery, "active", nil),
			episode(t, "e-cont", "#child", nursery, "active", nil),
			episode(t, "e-ver", "Patient/child-3/_history/2", nursery, "active", nil))
		wantRoster(t, r, nursery, "Patient/child-1", "Patient/child-2", "Patient/child-3")
	})
	t.Run("NotActiveStatusesDoNotEnrol", func(t *testing.T) {
		mustCommit(t, st, town,
			episode(t, "e-planned", "Patient/child-4", nursery, "planned", nil),
			episode(t, "e-waitlist", "Patient/child-5", nursery, "waitlist", nil))
		wantRoster(t, r, nursery, "Patient/child-1", "Patient/child-2", "Patient/child-3")
	})
	t.Run("TenantsNeverCross", func(t *testing.T) {
		if set := mustPatients(t, r, "kawajima", nursery); set.Len() != 0 {
			t.Fatalf("kawajima's roster of %s = %q", nursery, set.IDs())
		}
		mustCommit(t, st, "kawajima", episode(t, "k1", "Patient/k-child", nursery, "active", nil))
		if set := mustPatients(t, r, "kawajima", nursery); !slices.Equal(set.IDs(), []string{"Patient/k-child"}) {
			t.Fatalf("kawajima's roster of %s = %q", nursery, set.IDs())
		}
		wantRoster(t, r, nursery, "Patient/child-1", "Patient/child-2", "Patient/child-3")
	})
}

func TestStoreRosterWithdrawalIsSeenAtOnce(t *testing.T) {
	for _, tc := range []struct {
		name     string
		enrol    func(t *testing.T) store.Write
		withdraw func(t *testing.T) store.Write
	}{
		{"EpisodeFinished",
			func(t *testing.T) store.Write {
				return episode(t, "e1", "Patient/child-1", nursery, "active", period("2026-04-01", ""))
			},
			func(t *testing.T) store.Write {
				return episode(t, "e1", "Patient/child-1", nursery, "finished", period("2026-04-01", "2026-04-09"))
			}},
		{"EpisodePeriodEnded", // the end written in the past, status left active
			func(t *testing.T) store.Write {
				return episode(t, "e1", "Patient/child-1", nursery, "active", period("2026-04-01", ""))
			},
			func(t *testing.T) store.Write {
				return episode(t, "e1", "Patient/child-1", nursery, "active", period("2026-04-01", "2026-04-09"))
			}},
		{"EpisodeMovedToAnotherFacility",
			func(t *testing.T) store.Write {
				return episode(t, "e1", "Patient/child-1", nursery, "active", nil)
			},
			func(t *testing.T) store.Write { return episode(t, "e1", "Patient/child-1", school, "active", nil) }},
		{"EpisodeDeleted",
			func(t *testing.T) store.Write {
				return episode(t, "e1", "Patient/child-1", nursery, "active", nil)
			},
			func(*testing.T) store.Write { return del("EpisodeOfCare", "e1") }},
		{"GroupMemberInactive",
			func(t *testing.T) store.Write {
				return group(t, "g1", nursery, true, member{patient: "Patient/child-1"})
			},
			func(t *testing.T) store.Write {
				return group(t, "g1", nursery, true, member{patient: "Patient/child-1", inactive: true})
			}},
		{"GroupMemberPeriodEnded",
			func(t *testing.T) store.Write {
				return group(t, "g1", nursery, true, member{patient: "Patient/child-1", period: period("2025-04-01", "")})
			},
			func(t *testing.T) store.Write {
				return group(t, "g1", nursery, true, member{patient: "Patient/child-1", period: period("2025-04-01", "2026-03-31")})
			}},
		{"GroupMemberRemoved",
			func(t *testing.T) store.Write {
				return group(t, "g1", nursery, true, member{patient: "Patient/child-1"})
			},
			func(t *testing.T) store.Write { return group(t, "g1", nursery, true) }},
		{"GroupInactive",
			func(t *testing.T) store.Write {
				return group(t, "g1", nursery, true, member{patient: "Patient/child-1"})
			},
			func(t *testing.T) store.Write {
				return group(t, "g1", nursery, false, member{patient: "Patient/child-1"})
			}},
		{"GroupDeleted",
			func(t *testing.T) store.Write {
				return group(t, "g1", nursery, true, member{patient: "Patient/child-1"})
			},
			func(*testing.T) store.Write { return del("Group", "g1") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, _ := mustTown(t)
			now := april10
			r := &auth.StoreRoster{Store: st, Now: pinned(&now)}
			mustCommit(t, st, town, tc.enrol(t))
			wantRoster(t, r, nursery, "Patient/child-1")
			mustCommit(t, st, town, tc.withdraw(t))
			wantRoster(t, r, nursery)
			if on, err := r.OnRoster(ctx, town, nursery, "Patient/child-1"); on || err != nil {
				t.Fatalf("OnRoster = %v, %v after the withdrawal", on, err)
			}
		})
	}
}

// Another process (an admin command, a second server) writes through its own handle on the
// same data directory.
func TestStoreRosterSeesWritesOfAnotherHandle(t *testing.T) {
	st, dir := mustTown(t)
	other := mustOpen(t, dir)
	now := april10
	r := &auth.StoreRoster{Store: st, Now: pinned(&now)}
	wantRoster(t, r, nursery)

	mustCommit(t, other, town, episode(t, "e1", "Patient/child-1", nursery, "active", nil))
	wantRoster(t, r, nursery, "Patient/child-1")
	mustCommit(t, other, town, del("EpisodeOfCare", "e1"))
	wantRoster(t, r, nursery)
}

func TestStoreRosterPeriodBoundaryPassesWithoutEvents(t *testing.T) {
	st, _ := mustTown(t)
	c := &counting{RosterStore: st}
	now := time.Date(2026, 3, 31, 23, 59, 59, 0, search.JST)
	r := &auth.StoreRoster{Store: c, Now: pinned(&now)}
	mustCommit(t, st, town,
		episode(t, "starts", "Patient/child-1", nursery, "active", period("2026-04-01", "")),
		episode(t, "ends", "Patient/child-2", nursery, "active", period("2025-04-01", "2026-03-31")),
		episode(t, "far", "Patient/child-4", nursery, "active", period("2026-05-01", "")),
		group(t, "g1", nursery, true, member{patient: "Patient/child-3", period: period("2026-04-01T00:00:00+09:00", "")}))

	wantRoster(t, r, nursery, "Patient/child-2")
	c.queries()
	now = now.Add(500 * time.Millisecond) // still 31 March
	wantRoster(t, r, nursery, "Patient/child-2")
	if s, e := c.queries(); s != 0 {
		t.Fatalf("%d searches, %d event reads before the boundary; want no search", s, e)
	}

	now = time.Date(2026, 4, 1, 0, 0, 0, 0, search.JST)
	wantRoster(t, r, nursery, "Patient/child-1", "Patient/child-3")
	s, e := c.queries()
	if s == 0 {
		t.Fatal("the roster was not computed again when the boundary passed")
	}
	if evs, _ := st.Events(ctx, town, 0, 100); len(evs) != 4 {
		t.Fatalf("%d events; the boundary must pass without any", len(evs))
	}
	t.Logf("at the boundary: %d searches, %d event reads", s, e)

	now = time.Date(2026, 4, 30, 23, 0, 0, 0, search.JST) // no boundary in between
	wantRoster(t, r, nursery, "Patient/child-1", "Patient/child-3")
	if s, _ := c.queries(); s != 0 {
		t.Fatalf("%d searches between two boundaries", s)
	}
	now = time.Date(2026, 5, 1, 0, 0, 0, 0, search.JST)
	wantRoster(t, r, nursery, "Patient/child-1", "Patient/child-3", "Patient/child-4")

	now = time.Date(2026, 3, 31, 12, 0, 0, 0, search.JST) // a clock set back
	wantRoster(t, r, nursery, "Patient/child-2")
}

func TestStoreRosterUnchangedCostsOneEventsQuery(t *testing.T) {
	st, _ := mustTown(t)
	c := &counting{RosterStore: st}
	now := april10
	r := &auth.StoreRoster{Store: c, Now: pinned(&now)}
	mustCommit(t, st, town,
		episode(t, "e1", "Patient/child-1", nursery, "active", nil),
		episode(t, "e2", "Patient/child-2", school, "active", nil))
	wantRoster(t, r, nursery, "Patient/child-1")
	wantRoster(t, r, school, "Patient/child-2")
	c.queries()

	check := func(what string, wantSearches int64) {
		t.Helper()
		for range 3 {
			if _, err := r.Patients(ctx, town, nursery); err != nil {
				t.Fatal(err)
			}
			if s, e := c.queries(); s != wantSearches || e != 1 {
				t.Fatalf("%s: %d searches and %d event reads, want %d and 1", what, s, e, wantSearches)
			}
			wantSearches = 0 // the next calls find it cached
		}
	}
	check("nothing changed", 0)

	mustCommit(t, st, town, put(t, "Patient", "child-1", map[string]any{"name": []any{map[string]any{"family": "山田"}}}),
		put(t, "Observation", "o1", map[string]any{"status": "final", "code": map[string]any{"text": "体重"},
			"subject": ref("Patient/child-1")}))
	check("a Patient and an Observation written", 0)

	mustCommit(t, st, town, episode(t, "e3", "Patient/child-3", school, "active", nil))
	check("an EpisodeOfCare of another facility written", 2) // one page of EpisodeOfCare, one of Group
	wantRoster(t, r, school, "Patient/child-2", "Patient/child-3")
}

func TestStoreRosterReadsAllOf5000Enrolments(t *testing.T) {
	st, _ := mustTown(t)
	var writes []store.Write
	var want []string
	for i := range 5000 {
		p := fmt.Sprintf("Patient/child-%04d", i)
		writes = append(writes, episode(t, fmt.Sprintf("e%d", i), p, "Organization/hospital", "active", nil))
		want = append(want, p)
	}
	mustCommit(t, st, town, writes...)
	r := &auth.StoreRoster{Store: st}
	set := mustPatients(t, r, town, "Organization/hospital")
	if set.Len() != 5000 || !slices.Equal(set.IDs(), want) {
		t.Fatalf("%d patients on the roster, want all 5000", set.Len())
	}

	t.Run("LargerThanMaxRecordsIsAnError", func(t *testing.T) {
		r := &auth.StoreRoster{Store: st, MaxRecords: 4999}
		set, err := r.Patients(ctx, town, "Organization/hospital")
		if err == nil || !strings.Contains(err.Error(), "MaxRecords") || set.Len() != 0 {
			t.Fatalf("Patients = %d patients, %v; want an error naming MaxRecords and no roster", set.Len(), err)
		}
		if on, err := r.OnRoster(ctx, town, "Organization/hospital", "Patient/child-0001"); on || err == nil {
			t.Fatalf("OnRoster = %v, %v; want an error", on, err)
		}
	})
}

// observations writes n Observations (no index: only their events matter here).
func observations(prefix string, n int) []store.Write {
	writes := make([]store.Write, n)
	for i := range writes {
		writes[i] = store.Write{Type: "Observation", ID: fmt.Sprintf("%s%d", prefix, i), Action: store.Update,
			Resource: []byte(`{"resourceType":"Observation","status":"final","code":{"text":"体重"}}`)}
	}
	return writes
}

// A process that meets a tenant with a long history finds its latest event without reading
// all of them.
func TestStoreRosterFirstUseOfATenantWithHistory(t *testing.T) {
	st, _ := mustTown(t)
	const n = 3000
	mustCommit(t, st, town, observations("o", n)...)
	mustCommit(t, st, town, episode(t, "e1", "Patient/child-1", nursery, "active", nil))

	c := &counting{RosterStore: st}
	r := &auth.StoreRoster{Store: c}
	wantRoster(t, r, nursery, "Patient/child-1")
	if _, e := c.queries(); e > int64(2*bits.Len(n)+2) {
		t.Fatalf("%d event reads to find the latest of %d events", e, n+1)
	} else {
		t.Logf("%d event reads to find the latest of %d events", e, n+1)
	}
	mustCommit(t, st, town, episode(t, "e2", "Patient/child-2", nursery, "active", nil))
	if set := mustPatients(t, r, town, nursery); set.Len() != 2 {
		t.Fatalf("roster %q after a second enrolment", set.IDs())
	}
	if _, e := c.queries(); e != 1 {
		t.Fatalf("%d event reads after the first use, want 1", e)
	}
}

// A request that finds thousands of events since the last one (the process was idle during an
// import) stops reading them, starts over from the latest and drops the tenant's rosters.
func TestStoreRosterLongBacklog(t *testing.T) {
	st, _ := mustTown(t)
	c := &counting{RosterStore: st}
	r := &auth.StoreRoster{Store: c}
	wantRoster(t, r, nursery)
	mustCommit(t, st, town, observations("a", 2500)...)
	mustCommit(t, st, town, episode(t, "e1", "Patient/child-1", nursery, "active", nil))
	mustCommit(t, st, town, observations("b", 2500)...)
	c.queries()
	if set := mustPatients(t, r, town, nursery); !slices.Equal(set.IDs(), []string{"Patient/child-1"}) {
		t.Fatalf("roster %q after the backlog", set.IDs())
	}
	if s, e := c.queries(); s != 2 || e > 4+2*13 {
		t.Fatalf("%d searches and %d event reads after a backlog of 5001 events", s, e)
	}
	mustPatients(t, r, town, nursery)
	if s, e := c.queries(); s != 0 || e != 1 {
		t.Fatalf("%d searches and %d event reads after the backlog was read; want 0 and 1", s, e)
	}
}

// A roster whose computation read the store before a write committed must not answer a
// request that began after it, nor stay in the cache.
func TestStoreRosterComputationOverlappingAWrite(t *testing.T) {
	st, _ := mustTown(t)
	c := &counting{RosterStore: st}
	r := &auth.StoreRoster{Store: c}
	wantRoster(t, r, nursery) // the tenant's events are known

	searched, release := make(chan struct{}), make(chan struct{})
	var first atomic.Bool
	c.afterSearch = func(q *search.Query) {
		if first.CompareAndSwap(false, true) { // the first search, of request A: it has read the store
			close(searched)
			<-release
		}
	}
	// A roster change elsewhere drops the cached roster: request A computes it.
	mustCommit(t, st, town, episode(t, "e0", "Patient/child-0", school, "active", nil))
	type answer struct {
		set auth.RosterSet
		err error
	}
	a := make(chan answer)
	go func() {
		set, err := r.Patients(ctx, town, nursery)
		a <- answer{set, err}
	}()
	<-searched
	mustCommit(t, st, town, episode(t, "e1", "Patient/child-1", nursery, "active", nil))

	tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	set, err := r.Patients(tctx, town, nursery) // B began after the write
	if err != nil || !set.Has("Patient/child-1") {
		t.Fatalf("request B: %q, %v; want the enrolment committed before it began", set.IDs(), err)
	}
	close(release)
	if got := <-a; got.err != nil || got.set.Has("Patient/child-1") {
		t.Fatalf("request A: %q, %v; want the roster before the write", got.set.IDs(), got.err)
	}
	wantRoster(t, r, nursery, "Patient/child-1")
}

func TestStoreRosterConcurrent(t *testing.T) {
	facilities := []string{nursery, school, "Organization/hospital", "Organization/jisou"}

	t.Run("OneComputationPerFacility", func(t *testing.T) {
		st, _ := mustTown(t)
		mustCommit(t, st, town, episode(t, "e0", "Patient/child-0", nursery, "active", nil))
		c := &counting{RosterStore: st}
		r := &auth.StoreRoster{Store: c}
		start := make(chan struct{})
		var wg sync.WaitGroup
		for range 32 {
			wg.Go(func() {
				<-start
				if set, err := r.Patients(ctx, town, nursery); err != nil || !set.Has("Patient/child-0") {
					t.Errorf("Patients = %q, %v", set.IDs(), err)
				}
			})
		}
		close(start)
		wg.Wait()
		if s, e := c.queries(); s != 2 || e > 32+20 {
			t.Fatalf("32 requests made %d searches and %d event reads; want 2 searches (one computation)", s, e)
		}
	})

	t.Run("EveryCommittedEnrolmentIsSeen", func(t *testing.T) {
		st, _ := mustTown(t)
		r := &auth.StoreRoster{Store: st, MaxFacilities: 3}
		const enrolments = 40
		var committed [4]atomic.Int64 // per facility: enrolments committed
		done := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			defer close(done)
			for i := range enrolments {
				f := i % len(facilities)
				mustCommit(t, st, town, episode(t, fmt.Sprintf("c%d", i), fmt.Sprintf("Patient/c-%d", i), facilities[f], "active", nil))
				committed[f].Add(1)
			}
		})
		for g := range 8 {
			wg.Go(func() {
				for i := 0; ; i++ {
					select {
					case <-done:
						return
					default:
					}
					f := (g + i) % len(facilities)
					n := int(committed[f].Load()) // committed before this request begins
					set, err := r.Patients(ctx, town, facilities[f])
					if err != nil {
						t.Error(err)
						return
					}
					for k := range n {
						if p := fmt.Sprintf("Patient/c-%d", f+k*len(facilities)); !set.Has(p) {
							t.Errorf("%s committed before the request, missing from the roster of %s", p, facilities[f])
							return
						}
					}
				}
			})
		}
		wg.Wait()
		for _, f := range facilities {
			if n := mustPatients(t, r, town, f).Len(); n != enrolments/len(facilities) {
				t.Errorf("%s: %d on the roster, want %d", f, n, enrolments/len(facilities))
			}
		}
	})
}

func TestStoreRosterBoundsTheCache(t *testing.T) {
	st, _ := mustTown(t)
	c := &counting{RosterStore: st}
	r := &auth.StoreRoster{Store: c, MaxFacilities: 2, MaxTenants: 1}
	mustCommit(t, st, town, episode(t, "e1", "Patient/child-1", nursery, "active", nil))
	for _, f := range []string{nursery, school, "Organization/hospital"} {
		mustPatients(t, r, town, f)
	}
	c.queries()
	wantRoster(t, r, nursery, "Patient/child-1") // the least recently used, evicted
	if s, _ := c.queries(); s != 2 {
		t.Fatalf("%d searches for an evicted roster, want 2", s)
	}
	mustPatients(t, r, "kawajima", nursery) // evicts misato
	wantRoster(t, r, nursery, "Patient/child-1")
	mustCommit(t, st, town, episode(t, "e2", "Patient/child-2", nursery, "active", nil))
	wantRoster(t, r, nursery, "Patient/child-1", "Patient/child-2")
}

func TestStoreRosterErrors(t *testing.T) {
	st, _ := mustTown(t)
	r := &auth.StoreRoster{Store: st}
	for _, f := range []string{"", "Organization/", "Organization/a,Organization/b", "Practitioner/p1",
		"https://hub.example/fhir/Organization/a", "Organization/a/_history/1"} {
		if _, err := r.Patients(ctx, town, f); err == nil {
			t.Errorf("Patients(%q): no error", f)
		}
	}
	if _, err := r.Patients(ctx, "nowhere", nursery); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown tenant: %v, want store.ErrNotFound", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := r.Patients(cctx, town, nursery); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled request: %v", err)
	}
	wantRoster(t, r, nursery) // a cancelled request leaves nothing behind
}
