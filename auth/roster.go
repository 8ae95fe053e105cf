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

package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kodomohub/kodomohub/fhir"
	"github.com/kodomohub/kodomohub/fhir/search"
	"github.com/kodomohub/kodomohub/store"
)

// Facility rosters, kept exactly fresh.
//
// A facility sees only the children on its roster, and the town changes rosters all the time
// (an enrolment, a withdrawal, a class list). A cache that expires after a while lets a nursery
// see a withdrawn child, or not see a new one, for that while; a request that starts after a
// write committed must be decided on it. So the cache is driven by the change events that
// every write stores atomically with its resource, not by a TTL:
//
//   - Before answering, a request reads the tenant's events after the last sequence number
//     seen (one Events query that returns nothing when nothing changed). Requests that come
//     while a read is running wait for the next read, which starts after they came and serves
//     them all: concurrency does not multiply the queries, and no request is answered from a
//     read that started before it.
//   - An EpisodeOfCare or Group event drops every cached roster of the tenant: an event names
//     the resource, not the facilities it was and is about (an episode can move from one
//     organization to another), and finding them would cost reads on every event.
//   - Each roster remembers the last sequence number read before it was computed (its base).
//     A roster whose base is below the latest roster event is stale; this keeps a computation
//     that was running when the event was read out of the cache.
//   - A roster also depends on the clock: an enrolment that starts tomorrow or ends tonight.
//     A roster holds between the period boundaries around the instant it was computed, among
//     the records it read, and is computed again outside them without any event.
//
// Patient events are not roster events: a roster is computed from EpisodeOfCare and Group
// resources alone, with their patient references as written, so no Patient write can change
// it. Following Patient.link (a merge) would be a fact of its own, with its own events;
// flushing every roster of the town at each Patient write would make the cache useless during
// an import, when patients are most of the writes.

// Roster is the facility roster as the access guard needs it: a child is on a
// facility's roster when an EpisodeOfCare of the child managed by the facility is active now,
// or when the child is an active member of a Group the facility manages, as the town keeps
// them. It is Roster with whole rosters, so that the guard can decide many resources without
// I/O and narrow a search to the roster.
type Roster interface {
	// OnRoster reports whether patient ("Patient/ID") is on facility's ("Organization/ID")
	// roster in tenant now.
	OnRoster(ctx context.Context, tenant, facility, patient string) (bool, error)
	// Patients returns facility's ("Organization/ID") whole roster in tenant now.
	Patients(ctx context.Context, tenant, facility string) (RosterSet, error)
}

// RosterSet is a facility's roster at one instant: the patients on it, as "Patient/ID". The
// zero value is the empty roster. A RosterSet never changes, so goroutines share it freely.
type RosterSet struct {
	ids []string // sorted, without duplicates
}

// NewRosterSet returns the roster of patients ("Patient/ID"); a duplicate counts once.
func NewRosterSet(patients ...string) RosterSet {
	ids := slices.Clone(patients)
	slices.Sort(ids)
	return RosterSet{ids: slices.Compact(ids)}
}

// Has reports whether patient ("Patient/ID") is on the roster.
func (s RosterSet) Has(patient string) bool {
	_, ok := slices.BinarySearch(s.ids, patient)
	return ok
}

// IDs returns the patients on the roster ("Patient/ID"), sorted, in a slice of the caller's.
func (s RosterSet) IDs() []string { return slices.Clone(s.ids) }

// Len returns the number of patients on the roster.
func (s RosterSet) Len() int { return len(s.ids) }

// RosterStore is what StoreRoster reads from the store (both are methods of store.Store).
// A page of Events shorter than the limit asked for must be the last one.
type RosterStore interface {
	Search(ctx context.Context, tenant string, q *search.Query, opts store.SearchOptions) (store.SearchPage, error)
	Events(ctx context.Context, tenant string, after int64, limit int) ([]store.Event, error)
}

// StoreRoster's default bounds, and its page sizes.
const (
	defaultRosterFacilities = 1024
	defaultRosterTenants    = 256
	defaultRosterRecords    = 500_000

	rosterSearchPage = 1000
	rosterEventPage  = 1000
	// rosterEventPages is how many full pages of events a request reads before it stops
	// reading the backlog (a process idle while an import ran) and starts over from the
	// latest event, dropping every roster of the tenant.
	rosterEventPages = 4
)

// StoreRoster is the Roster of the town's own records in a store (see the top of this
// file): a facility's roster is the patients of its EpisodeOfCare resources with status active
// and a period covering now, and the members of the Groups it manages (Group.active not false)
// that are not inactive and whose period covers now. Periods are closed at both ends at their
// precision (an end of "2026-03-31" runs through that day), an absent end is unbounded, and a
// date without a zone is taken in the registry's zone (JST). Only local references
// ("Patient/ID") name a patient: an absolute URL names one of another server.
//
// A roster is cached per tenant and facility and is exactly fresh: a request that starts after
// a write committed, in this process or in another on the same store, is answered with it.
// When nothing changed, a call costs one Events query. The requests that need a roster while
// it is being computed wait for that computation instead of starting their own, unless a
// roster event read meanwhile made it stale.
//
// The zero value is not usable: set Store. StoreRoster is safe for concurrent use.
type StoreRoster struct {
	Store RosterStore
	// Registry parses the searches; search.Default() when nil. Its zone reads dates.
	Registry *search.Registry
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// MaxFacilities bounds the rosters kept per tenant (1024 when zero), and MaxTenants the
	// tenants whose rosters are kept (256 when zero); the least recently used go first.
	MaxFacilities, MaxTenants int
	// MaxRecords bounds the episodes and group members read for one roster (500,000 when
	// zero). A larger roster is an error, never a truncated one.
	MaxRecords int

	mu      sync.Mutex
	tenants map[string]*rosterTenant
	tick    uint64 // the recency of uses, for eviction
}

var _ Roster = (*StoreRoster)(nil)

// rosterTenant is the state of one tenant, guarded by StoreRoster.mu.
type rosterTenant struct {
	known   bool  // seen is set: the first read found the latest event
	seen    int64 // every event up to seen has been read
	changed int64 // the sequence number of the latest roster event read
	// running is the read of events in progress; next the one that starts after it, which
	// the requests that came during running wait for.
	running, next *eventRead
	sets          map[string]*rosterEntry
	used          uint64
}

type eventRead struct {
	done chan struct{}
	err  error // set before done is closed
}

// rosterEntry is one facility's roster, computed or being computed. The fields after done
// are set before done is closed and never change after.
type rosterEntry struct {
	base int64 // every event up to base had been read when the computation started
	used uint64

	done        chan struct{}
	set         RosterSet
	from, until int64 // the roster holds for clock times in [from, until), Unix ms
	err         error
}

// OnRoster implements Roster and Roster, from Patients. Each call reads the change
// events: to decide many resources of one request, take Patients once.
func (r *StoreRoster) OnRoster(ctx context.Context, tenant, facility, patient string) (bool, error) {
	set, err := r.Patients(ctx, tenant, facility)
	return set.Has(patient), err
}

// Patients implements Roster.
func (r *StoreRoster) Patients(ctx context.Context, tenant, facility string) (RosterSet, error) {
	if id, ok := strings.CutPrefix(facility, "Organization/"); !ok || !fhir.ValidID(id) {
		// Also keeps a "," (an OR in a search value) out of the searches below.
		return RosterSet{}, fmt.Errorf("auth: roster: facility %q is not Organization/ID", facility)
	}
	t, err := r.catchUp(ctx, tenant)
	if err != nil {
		return RosterSet{}, fmt.Errorf("auth: roster: change events of %s: %w", tenant, err)
	}
	return r.roster(ctx, t, tenant, facility)
}

func (r *StoreRoster) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *StoreRoster) registry() *search.Registry {
	if r.Registry != nil {
		return r.Registry
	}
	return search.Default()
}

// tenantState returns tenant's state, made on first use. r.mu is held.
func (r *StoreRoster) tenantState(tenant string) *rosterTenant {
	t := r.tenants[tenant]
	if t == nil {
		if r.tenants == nil {
			r.tenants = map[string]*rosterTenant{}
		}
		if len(r.tenants) >= positive(r.MaxTenants, defaultRosterTenants) {
			delete(r.tenants, leastUsed(r.tenants, func(t *rosterTenant) uint64 { return t.used }))
		}
		t = &rosterTenant{sets: map[string]*rosterEntry{}}
		r.tenants[tenant] = t
	}
	r.tick++
	t.used = r.tick
	return t
}

// catchUp returns tenant's state once every event committed before the call has been read
// and its roster events applied. A state evicted meanwhile is still returned, and serves
// this request.
func (r *StoreRoster) catchUp(ctx context.Context, tenant string) (*rosterTenant, error) {
	r.mu.Lock()
	t := r.tenantState(tenant)
	if t.next == nil {
		t.next = &eventRead{done: make(chan struct{})}
	}
	read := t.next // starts after this call began: the running one may not have seen our writes
	for {
		select {
		case <-read.done:
			r.mu.Unlock()
			if isContextErr(read.err) && ctx.Err() == nil {
				return r.catchUp(ctx, tenant) // the request that ran it went away; read again
			}
			return t, read.err
		default:
		}
		if t.running == nil {
			t.running, t.next = read, nil
			known, after := t.known, t.seen
			r.mu.Unlock()
			seen, changed, err := r.readEvents(ctx, tenant, known, after)
			r.mu.Lock()
			if err == nil {
				t.apply(seen, changed)
			}
			read.err = err
			close(read.done)
			t.running = nil
			r.mu.Unlock()
			return t, err
		}
		running := t.running.done
		r.mu.Unlock()
		select {
		case <-running:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		r.mu.Lock()
	}
}

// apply records that the events up to seen were read, the latest roster event among them
// being changed, and drops the rosters that were computed before it. r.mu is held.
func (t *rosterTenant) apply(seen, changed int64) {
	t.known = true
	t.seen = max(t.seen, seen)
	if changed > t.changed {
		t.changed = changed
		for f, e := range t.sets {
			if e.base < changed {
				delete(t.sets, f)
			}
		}
	}
}

// readEvents reads the events after after and returns the last sequence number read and
// that of the last roster event among them. The first read of a tenant (known false) looks
// for its latest event instead: no roster is kept yet, so nothing before it matters. So does
// a read that finds a long backlog, and it reports that everything changed.
func (r *StoreRoster) readEvents(ctx context.Context, tenant string, known bool, after int64) (seen, changed int64, err error) {
	if !known {
		head, err := r.head(ctx, tenant, 0)
		return head, 0, err
	}
	seen = after
	for range rosterEventPages {
		evs, err := r.Store.Events(ctx, tenant, seen, rosterEventPage)
		if err != nil {
			return 0, 0, err
		}
		for _, e := range evs {
			if e.Type == "EpisodeOfCare" || e.Type == "Group" {
				changed = e.Seq
			}
		}
		if len(evs) > 0 {
			seen = evs[len(evs)-1].Seq
		}
		if len(evs) < rosterEventPage {
			return seen, changed, nil
		}
	}
	head, err := r.head(ctx, tenant, seen)
	return head, head, err
}

// head returns the sequence number of tenant's latest event (0 when none) with some
// 2·log2(head-from) reads of one event, instead of reading all of them. from is 0 or the
// number of an event.
func (r *StoreRoster) head(ctx context.Context, tenant string, from int64) (int64, error) {
	// first returns the first event after after.
	first := func(after int64) (int64, bool, error) {
		evs, err := r.Store.Events(ctx, tenant, after, 1)
		if err != nil || len(evs) == 0 {
			return 0, false, err
		}
		return evs[0].Seq, true, nil
	}
	// lo is 0 or the number of an event, so head >= lo; hi, once set, has no event after
	// it, so head <= hi.
	lo, hi := from, int64(-1)
	for step := int64(0); hi < 0; step = max(1, 2*step) {
		s, ok, err := first(lo + step)
		switch {
		case err != nil:
			return 0, err
		case ok:
			lo = s
		default:
			hi = lo + step
		}
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		s, ok, err := first(mid)
		switch {
		case err != nil:
			return 0, err
		case ok:
			lo = s
		default:
			hi = mid
		}
	}
	return lo, nil
}

// roster returns facility's roster now, from the cache of t or computed. t is caught up
// with the events committed before the request began.
func (r *StoreRoster) roster(ctx context.Context, t *rosterTenant, tenant, facility string) (RosterSet, error) {
	for {
		now := r.now().UnixMilli()
		r.mu.Lock()
		e := t.sets[facility]
		if e != nil && (e.base < t.changed || isDone(e) && (e.err != nil || now < e.from || now >= e.until)) {
			delete(t.sets, facility)
			e = nil
		}
		if e == nil {
			e = &rosterEntry{base: t.seen, done: make(chan struct{})}
			r.put(t, facility, e)
			r.mu.Unlock()
			e.set, e.from, e.until, e.err = r.compute(ctx, tenant, facility, now)
			r.mu.Lock()
			if e.err != nil && t.sets[facility] == e {
				delete(t.sets, facility)
			}
			close(e.done)
			r.mu.Unlock()
			return e.set, e.err
		}
		r.tick++
		e.used = r.tick
		r.mu.Unlock()
		select {
		case <-e.done:
		case <-ctx.Done():
			return RosterSet{}, ctx.Err()
		}
		switch {
		case e.err == nil && now >= e.from && now < e.until:
			return e.set, nil
		case e.err != nil && !(isContextErr(e.err) && ctx.Err() == nil):
			return RosterSet{}, e.err
		}
		// Computed for another instant (a boundary passed meanwhile), or the request that
		// computed it went away: again.
	}
}

// put caches e as facility's roster, evicting the least recently used one when t is full.
// r.mu is held.
func (r *StoreRoster) put(t *rosterTenant, facility string, e *rosterEntry) {
	if len(t.sets) >= positive(r.MaxFacilities, defaultRosterFacilities) {
		delete(t.sets, leastUsed(t.sets, func(e *rosterEntry) uint64 { return e.used }))
	}
	r.tick++
	e.used = r.tick
	t.sets[facility] = e
}

// compute reads facility's roster at now (Unix ms) from the store, with the period
// boundaries around now among the records read.
func (r *StoreRoster) compute(ctx context.Context, tenant, facility string, now int64) (set RosterSet, from, until int64, err error) {
	loc := r.registry().Location()
	w := window{now: now, from: math.MinInt64, until: math.MaxInt64}
	var ids []string
	limit, read := positive(r.MaxRecords, defaultRosterRecords), 0
	count := func(n int) error {
		if read += n; read > limit {
			return fmt.Errorf("auth: roster of %s in %s: more than %d episodes and group members (StoreRoster.MaxRecords)",
				facility, tenant, limit)
		}
		return nil
	}
	err = r.each(ctx, tenant, "EpisodeOfCare", url.Values{"organization": {facility}, "status": {"active"}}, func(raw []byte) error {
		if err := count(1); err != nil {
			return err
		}
		var e struct {
			Patient struct{ Reference string } `json:"patient"`
			Period  period                     `json:"period"`
		}
		// The write path validated the resource; one that does not decode names no one.
		if json.Unmarshal(raw, &e) == nil && e.Period.covers(loc, &w) {
			ids = appendRosterPatient(ids, e.Patient.Reference)
		}
		return nil
	})
	if err != nil {
		return RosterSet{}, 0, 0, err
	}
	err = r.each(ctx, tenant, "Group", url.Values{"managing-entity": {facility}}, func(raw []byte) error {
		var g struct {
			Active *bool `json:"active"`
			Member []struct {
				Entity   struct{ Reference string } `json:"entity"`
				Period   period                     `json:"period"`
				Inactive bool                       `json:"inactive"`
			} `json:"member"`
		}
		if json.Unmarshal(raw, &g) != nil || g.Active != nil && !*g.Active {
			return nil
		}
		if err := count(len(g.Member)); err != nil {
			return err
		}
		for _, m := range g.Member {
			if !m.Inactive && m.Period.covers(loc, &w) {
				ids = appendRosterPatient(ids, m.Entity.Reference)
			}
		}
		return nil
	})
	if err != nil {
		return RosterSet{}, 0, 0, err
	}
	slices.Sort(ids)
	return RosterSet{ids: slices.Compact(ids)}, w.from, w.until, nil
}

// each calls f with every resource of typ in tenant that matches params, page by page.
func (r *StoreRoster) each(ctx context.Context, tenant, typ string, params url.Values, f func(raw []byte) error) error {
	q, err := r.registry().ParseQuery(typ, params, search.ParseOptions{})
	if err != nil {
		return fmt.Errorf("auth: roster: %s search: %w", typ, err)
	}
	q.Count = rosterSearchPage
	for {
		page, err := r.Store.Search(ctx, tenant, q, store.SearchOptions{})
		if err != nil {
			return fmt.Errorf("auth: roster: %s search in %s: %w", typ, tenant, err)
		}
		for _, res := range page.Resources {
			if err := f(res.Raw); err != nil {
				return err
			}
		}
		if page.Next == "" {
			return nil
		}
		q.Cursor = page.Next
	}
}

// appendRosterPatient appends the patient ref names, when it is a local reference to a Patient.
func appendRosterPatient(ids []string, ref string) []string {
	p, ok := fhir.ParseReference(ref)
	if !ok || !p.IsLocal() || p.Type != "Patient" {
		return ids
	}
	return append(ids, "Patient/"+p.ID)
}

// window narrows to the period boundaries nearest to now on either side: [from, until)
// holds no boundary but from.
type window struct{ now, from, until int64 }

func (w *window) boundary(ms int64) {
	if ms <= w.now {
		w.from = max(w.from, ms)
	} else {
		w.until = min(w.until, ms)
	}
}

// period is a FHIR Period; open ends are unbounded.
type period struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// covers reports whether p covers w.now, and narrows w to p's boundaries. A date that does not
// parse covers nothing, at any time.
func (p period) covers(loc *time.Location, w *window) bool {
	var lo, hi int64 = math.MinInt64, math.MaxInt64
	var err error
	if p.Start != "" {
		if lo, _, err = search.DateRange(p.Start, loc); err != nil {
			return false
		}
	}
	if p.End != "" {
		if _, hi, err = search.DateRange(p.End, loc); err != nil {
			return false
		}
	}
	if p.Start != "" {
		w.boundary(lo)
	}
	if p.End != "" {
		w.boundary(hi)
	}
	return lo <= w.now && w.now < hi
}

func isDone(e *rosterEntry) bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

func positive(n, otherwise int) int {
	if n > 0 {
		return n
	}
	return otherwise
}

// leastUsed returns the key of m whose use is the oldest.
func leastUsed[V any](m map[string]V, used func(V) uint64) string {
	var key string
	oldest := uint64(math.MaxUint64)
	for k, v := range m {
		if u := used(v); u < oldest {
			key, oldest = k, u
		}
	}
	return key
}
