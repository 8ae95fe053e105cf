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
	"cmp"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kodomohub/kodomohub/fhir"
	"github.com/kodomohub/kodomohub/fhir/fhirpath"
	"github.com/kodomohub/kodomohub/fhir/search"
	"github.com/kodomohub/kodomohub/store"
)

var reg = search.Default()

// parseNow is the instant "ap" dates are relative to in the suite.
var parseNow = time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC)

// mustQuery parses a search on typ ("" for system level) written as a query string.
func mustQuery(t testing.TB, typ, qs string) *search.Query {
	t.Helper()
	q, err := parseQuery(typ, qs)
	if err != nil {
		t.Fatalf("ParseQuery(%s?%s): %v", typ, qs, err)
	}
	return q
}

func parseQuery(typ, qs string) (*search.Query, error) {
	v, err := url.ParseQuery(qs)
	if err != nil {
		return nil, err
	}
	return reg.ParseQuery(typ, v, search.ParseOptions{Now: parseNow})
}

// searchAll pages through every result of q (pageSize per page), checking that no resource
// shows up twice, and returns the matches and the included resources of every page.
func searchAll(t testing.TB, s store.Store, tenant string, q *search.Query, opts store.SearchOptions) (all, included []fhir.Resource) {
	t.Helper()
	seen := map[string]bool{}
	for pages := 0; ; pages++ {
		if pages > 10000 {
			t.Fatalf("Search: more than 10000 pages")
		}
		p, err := s.Search(ctx, tenant, q, opts)
		if err != nil {
			t.Fatalf("Search(%s %v) page %d: %v", q.Type, q.SelfParams(), pages, err)
		}
		for _, r := range p.Resources {
			k := r.Type + "/" + r.ID
			if seen[k] {
				t.Fatalf("Search(%s %v): %s on two pages", q.Type, q.SelfParams(), k)
			}
			seen[k] = true
		}
		all = append(all, p.Resources...)
		included = append(included, p.Included...)
		if p.Next == "" {
			break
		}
		q.Cursor = p.Next
	}
	q.Cursor = ""
	return all, included
}

func keys(rs []fhir.Resource) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Type + "/" + r.ID
	}
	return out
}

func sortedKeys(rs []fhir.Resource) []string {
	k := keys(rs)
	slices.Sort(k)
	return k
}

// corpus is a tenant's current resources, decoded, for search.Match.
type corpus struct {
	byType map[string]map[string]any
	order  map[string][]string // ids per type in write order
	res    map[string]fhir.Resource
}

func newCorpus() *corpus {
	return &corpus{byType: map[string]map[string]any{}, order: map[string][]string{}, res: map[string]fhir.Resource{}}
}

func (c *corpus) put(r fhir.Resource) {
	m := c.byType[r.Type]
	if m == nil {
		m = map[string]any{}
		c.byType[r.Type] = m
	}
	if r.Deleted {
		delete(m, r.ID)
		delete(c.res, r.Type+"/"+r.ID)
		return
	}
	v, err := fhirpath.Decode(r.Raw)
	if err != nil {
		panic(err)
	}
	if _, ok := m[r.ID]; !ok {
		c.order[r.Type] = append(c.order[r.Type], r.ID)
	}
	m[r.ID] = v
	c.res[r.Type+"/"+r.ID] = r
}

func (c *corpus) Get(typ, id string) (any, bool) {
	v, ok := c.byType[typ][id]
	return v, ok
}

func (c *corpus) All(typ string) []any {
	var out []any
	for _, id := range c.order[typ] {
		if v, ok := c.byType[typ][id]; ok {
			out = append(out, v)
		}
	}
	return out
}

func (c *corpus) types() []string {
	var ts []string
	for t, m := range c.byType {
		if len(m) > 0 {
			ts = append(ts, t)
		}
	}
	slices.Sort(ts)
	return ts
}

// match returns the keys of the resources of c that q matches by brute force, sorted, or
// an error from Match.
func (c *corpus) match(q *search.Query, comp *store.Compartment) ([]string, error) {
	var out []string
	types := c.types()
	for _, typ := range types {
		if q.Type != "" && typ != q.Type || len(q.Types) > 0 && !slices.Contains(q.Types, typ) {
			continue
		}
		for _, id := range c.order[typ] {
			v, ok := c.byType[typ][id]
			if !ok {
				continue
			}
			ok, err := reg.Match(q, v, c)
			if err != nil {
				return nil, fmt.Errorf("%s/%s: %w", typ, id, err)
			}
			if ok && comp != nil {
				if ok, err = inCompartment(comp, typ, id, v); err != nil {
					return nil, err
				}
			}
			if ok {
				out = append(out, typ+"/"+id)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// inCompartment is the brute-force compartment membership of store.SearchOptions.
func inCompartment(comp *store.Compartment, typ, id string, v any) (bool, error) {
	if comp.IncludeOwner && typ == comp.Type && slices.Contains(comp.IDs, id) {
		return true, nil
	}
	for _, code := range comp.Params[typ] {
		p, ok := reg.Lookup(typ, code)
		if !ok {
			continue
		}
		es, err := reg.ExtractParam(p, v)
		if err != nil {
			return false, err
		}
		for _, e := range es {
			if e.Kind == search.KindValue && e.System == comp.Type && slices.Contains(comp.IDs, e.Value) {
				return true, nil
			}
		}
	}
	return false, nil
}

// sortValue is the brute-force sort key of resource r for k (query.go, Results): nil
// when it has no entry.
func sortValue(k search.SortKey, r fhir.Resource, v any) (any, error) {
	switch k.Param.Code {
	case "_id":
		return r.ID, nil
	case "_lastUpdated":
		return r.LastUpdated.UnixMilli(), nil
	}
	es, err := reg.ExtractParam(k.Param, v)
	if err != nil {
		return nil, err
	}
	var best any
	better := func(a, b any) bool { // a before b in this direction
		c := compareAny(a, b)
		if k.Desc {
			return c > 0
		}
		return c < 0
	}
	for _, e := range es {
		if e.Kind != search.KindValue {
			continue
		}
		var x any
		switch k.Param.Type {
		case search.Date:
			x = e.Low
			if k.Desc {
				x = e.High
			}
		case search.Number, search.Quantity:
			x = e.Num
		case search.Reference:
			x = e.System + "/" + e.Value
		default:
			x = e.Value
		}
		if best == nil || better(x, best) {
			best = x
		}
	}
	return best, nil
}

func compareAny(a, b any) int {
	switch a := a.(type) {
	case string:
		return strings.Compare(a, b.(string))
	case int64:
		return cmp.Compare(a, b.(int64))
	case float64:
		return cmp.Compare(a, b.(float64))
	}
	return 0
}

// checkOrder verifies that rs is in the order of q.Sort (missing values last), by brute force.
func (c *corpus) checkOrder(q *search.Query, rs []fhir.Resource) error {
	var prev []any
	for i, r := range rs {
		v, _ := c.Get(r.Type, r.ID)
		cur := make([]any, len(q.Sort))
		for j, k := range q.Sort {
			x, err := sortValue(k, c.res[r.Type+"/"+r.ID], v)
			if err != nil {
				return err
			}
			cur[j] = x
		}
		if i > 0 {
			for j, k := range q.Sort {
				a, b := prev[j], cur[j]
				var d int
				switch {
				case a == nil && b == nil:
				case a == nil:
					d = 1
				case b == nil:
					d = -1
				default:
					d = compareAny(a, b)
					if k.Desc {
						d = -d
					}
				}
				if d < 0 {
					break
				}
				if d > 0 {
					return fmt.Errorf("result %d (%s/%s, keys %v) sorts before result %d (keys %v)", i, r.Type, r.ID, cur, i-1, prev)
				}
			}
		}
		prev = cur
	}
	return nil
}

// escapeValue escapes a search value's separators.
func escapeValue(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `,`, `\,`, `|`, `\|`, `$`, `\$`)
	return r.Replace(s)
}
