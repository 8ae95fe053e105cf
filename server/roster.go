package server

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/kodomohub/kodomohub/auth"
	"github.com/kodomohub/kodomohub/fhir/search"
	"github.com/kodomohub/kodomohub/store"
)

// StoreRoster answers the access policy's roster question from the town's own records: a
// child is on a facility's roster when an EpisodeOfCare of the child managed by the facility
// is active (status active, period covering now), or when the child is an active member of a
// Group managed by the facility (member.inactive not true, member.period covering now).
// Answers are kept for TTL, so an enrolment or a withdrawal takes effect within TTL.
type StoreRoster struct {
	Store    store.Store
	Registry *search.Registry
	TTL      time.Duration
	Now      func() time.Time

	mu    sync.Mutex
	cache map[string]rosterAnswer
}

type rosterAnswer struct {
	on      bool
	expires time.Time
}

const rosterCacheMax = 100_000

var _ auth.Roster = (*StoreRoster)(nil)

// OnRoster implements auth.Roster.
func (r *StoreRoster) OnRoster(ctx context.Context, tenant, facility, patient string) (bool, error) {
	now := time.Now()
	if r.Now != nil {
		now = r.Now()
	}
	key := tenant + " " + facility + " " + patient
	r.mu.Lock()
	if a, ok := r.cache[key]; ok && now.Before(a.expires) {
		r.mu.Unlock()
		return a.on, nil
	}
	r.mu.Unlock()
	on, err := r.lookup(ctx, tenant, facility, patient, now)
	if err != nil {
		return false, err
	}
	ttl := r.TTL
	if ttl <= 0 {
		ttl = 10 * time.Second
	}
	r.mu.Lock()
	if r.cache == nil || len(r.cache) >= rosterCacheMax {
		r.cache = map[string]rosterAnswer{}
	}
	r.cache[key] = rosterAnswer{on: on, expires: now.Add(ttl)}
	r.mu.Unlock()
	return on, nil
}

func (r *StoreRoster) lookup(ctx context.Context, tenant, facility, patient string, now time.Time) (bool, error) {
	reg := r.Registry
	if reg == nil {
		reg = search.Default()
	}
	find := func(typ string, params url.Values) ([][]byte, error) {
		q, err := reg.ParseQuery(typ, params, search.ParseOptions{})
		if err != nil {
			return nil, err
		}
		q.Count = 100
		var out [][]byte
		for {
			page, err := r.Store.Search(ctx, tenant, q, store.SearchOptions{})
			if err != nil {
				return nil, err
			}
			for _, res := range page.Resources {
				out = append(out, res.Raw)
			}
			if page.Next == "" || len(out) >= 1000 {
				return out, nil
			}
			q.Cursor = page.Next
		}
	}
	episodes, err := find("EpisodeOfCare", url.Values{"patient": {patient}, "organization": {facility}, "status": {"active"}})
	if err != nil {
		return false, err
	}
	for _, raw := range episodes {
		var e struct {
			Period period `json:"period"`
		}
		if json.Unmarshal(raw, &e) == nil && e.Period.covers(now) {
			return true, nil
		}
	}
	groups, err := find("Group", url.Values{"member": {patient}, "managing-entity": {facility}})
	if err != nil {
		return false, err
	}
	for _, raw := range groups {
		var g struct {
			Active *bool `json:"active"`
			Member []struct {
				Entity   struct{ Reference string } `json:"entity"`
				Period   period                     `json:"period"`
				Inactive bool                       `json:"inactive"`
			} `json:"member"`
		}
		if json.Unmarshal(raw, &g) != nil || (g.Active != nil && !*g.Active) {
			continue
		}
		for _, m := range g.Member {
			ref := m.Entity.Reference
			if (ref == patient || strings.HasSuffix(ref, "/"+patient)) && !m.Inactive && m.Period.covers(now) {
				return true, nil
			}
		}
	}
	return false, nil
}

// period is a FHIR Period; open ends are unbounded.
type period struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

func (p period) covers(t time.Time) bool {
	ms := t.UnixMilli()
	if p.Start != "" {
		lo, _, err := search.DateRange(p.Start, search.JST)
		if err != nil || ms < lo {
			return false
		}
	}
	if p.End != "" {
		_, hi, err := search.DateRange(p.End, search.JST)
		if err != nil || ms >= hi {
			return false
		}
	}
	return true
}

// Patients implements auth.Roster (uncached; replaced by auth.StoreRoster).
func (r *StoreRoster) Patients(ctx context.Context, tenant, facility string) (auth.RosterSet, error) {
	now := time.Now()
	if r.Now != nil {
		now = r.Now()
	}
	reg := r.Registry
	if reg == nil {
		reg = search.Default()
	}
	var ids []string
	for _, typ := range []string{"EpisodeOfCare", "Group"} {
		params := url.Values{"organization": {facility}, "status": {"active"}}
		if typ == "Group" {
			params = url.Values{"managing-entity": {facility}}
		}
		q, err := reg.ParseQuery(typ, params, search.ParseOptions{})
		if err != nil {
			return auth.RosterSet{}, err
		}
		q.Count = 500
		for {
			page, err := r.Store.Search(ctx, tenant, q, store.SearchOptions{})
			if err != nil {
				return auth.RosterSet{}, err
			}
			for _, res := range page.Resources {
				var x struct {
					Patient struct{ Reference string } `json:"patient"`
					Period  period                     `json:"period"`
					Active  *bool                      `json:"active"`
					Member  []struct {
						Entity   struct{ Reference string } `json:"entity"`
						Period   period                     `json:"period"`
						Inactive bool                       `json:"inactive"`
					} `json:"member"`
				}
				if json.Unmarshal(res.Raw, &x) != nil {
					continue
				}
				if typ == "EpisodeOfCare" && x.Period.covers(now) {
					ids = append(ids, x.Patient.Reference)
				}
				if typ == "Group" && (x.Active == nil || *x.Active) {
					for _, m := range x.Member {
						if !m.Inactive && m.Period.covers(now) && strings.HasPrefix(m.Entity.Reference, "Patient/") {
							ids = append(ids, m.Entity.Reference)
						}
					}
				}
			}
			if page.Next == "" {
				break
			}
			q.Cursor = page.Next
		}
	}
	return auth.NewRosterSet(ids...), nil
}
