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

package server

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/kodomohub/kodomohub/auth"
	"github.com/kodomohub/kodomohub/conformance"
	"github.com/kodomohub/kodomohub/fhir"
	"github.com/kodomohub/kodomohub/fhir/fhirpath"
	"github.com/kodomohub/kodomohub/fhir/search"
	"github.com/kodomohub/kodomohub/store"
)

// searchParams returns the search parameters of the request: the URL query and, for
// POST …/_search, the form body as well.
func (rc *reqContext) searchParams(post bool) (url.Values, error) {
	params := rc.c.Request.URL.Query()
	if !post {
		return params, nil
	}
	ct := rc.c.Request.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); ct != "" && (err != nil || mt != "application/x-www-form-urlencoded") {
		return nil, fhir.Errorf(fhir.KindUnsupportedMediaType, fhir.IssueNotSupported,
			"POST _search takes application/x-www-form-urlencoded parameters")
	}
	rc.c.Request.Body = http.MaxBytesReader(rc.c.Writer, rc.c.Request.Body, rc.limits.MaxBodyBytes)
	if err := rc.c.Request.ParseForm(); err != nil {
		return nil, fhir.Wrap(err, fhir.KindInvalid, fhir.IssueStructure, "cannot read the form parameters: %v", err)
	}
	for k, vs := range rc.c.Request.PostForm {
		params[k] = append(params[k], vs...)
	}
	return params, nil
}

// parseQuery parses search parameters for typ ("" for system-level search).
func (rc *reqContext) parseQuery(typ string, params url.Values) (*search.Query, error) {
	q, err := rc.registry.ParseQuery(typ, params, search.ParseOptions{
		Lenient: rc.prefer.Handling == "lenient", Now: rc.now(), BaseURL: rc.base})
	if err != nil {
		return nil, err
	}
	if q.Count > rc.limits.MaxCount {
		q.Count = rc.limits.MaxCount
	}
	if q.Summary == "count" && q.Total == "" {
		q.Total = search.TotalAccurate
	}
	return q, nil
}

// search answers a type-level (typ set), system-level (typ "") or compartment search.
// path is the request path below the base, for the links.
func (rc *reqContext) search(typ string, params url.Values, comp *store.Compartment, path string) {
	if typ != "" {
		if err := rc.allow(auth.OpSearch, auth.Type(typ)); err != nil {
			rc.fail(err)
			return
		}
	}
	q, err := rc.parseQuery(typ, params)
	if err != nil {
		rc.fail(err)
		return
	}
	b, err := rc.searchBundle(q, comp, path)
	if err != nil {
		rc.fail(err)
		return
	}
	rc.writeBundle(b)
}

// searchBundle runs q as the caller (see find) and renders its page. Everything in it
// depends only on what the caller may see: the entries, the includes, the total (given only
// when it can be exact for the caller) and the paging links.
func (rc *reqContext) searchBundle(q *search.Query, comp *store.Compartment, path string) (*fhir.Bundle, error) {
	pages, err := decodePageCursor(q.Cursor)
	if err != nil {
		return nil, err
	}
	q.Cursor = pages.current()
	sq, empty, err := rc.storeQuery(q)
	if err != nil {
		return nil, err
	}
	count := q.Count
	if count < 0 {
		count = rc.limits.DefaultCount
	}
	if q.Summary == "count" {
		count = 0
	}
	var f found
	f.total = -1
	if !empty {
		if f, err = rc.find(sq, rc.searchOptions(sq, comp), count); err != nil {
			return nil, err
		}
	} else if sq.Total != "" || q.Summary == "count" {
		f.total = 0
	}
	if f.total >= 0 || q.Summary == "count" {
		if f.total, err = rc.visibleTotal(sq, comp, f.total, empty); err != nil {
			return nil, err
		}
	}
	b := &fhir.Bundle{ResourceType: "Bundle", ID: rc.newID(), Type: "searchset", Timestamp: fhir.FormatInstant(rc.now())}
	if f.total >= 0 {
		total := int(f.total)
		b.Total = &total
	}
	q.Cursor = ""
	self := q.SelfParams()
	if len(pages.Stack) > 0 {
		self.Set("_cursor", pages.encode())
	}
	link := func(rel string, params url.Values) {
		u := rc.base + "/" + path
		if enc := params.Encode(); enc != "" {
			u += "?" + enc
		}
		b.Link = append(b.Link, fhir.BundleLink{Relation: rel, URL: u})
	}
	link("self", self)
	if len(pages.Stack) > 0 {
		first := cloneValues(self)
		first.Del("_cursor")
		link("first", first)
		if prev, ok := pages.previous(); ok {
			p := cloneValues(self)
			if len(prev.Stack) == 0 {
				p.Del("_cursor")
			} else {
				p.Set("_cursor", prev.encode())
			}
			link("previous", p)
		}
	}
	if f.next != "" {
		next := cloneValues(self)
		next.Set("_cursor", pages.push(f.next).encode())
		link("next", next)
	}
	add := func(res fhir.Resource, mode string) error {
		raw, err := conformance.Default().Subset(res.Raw, q.Summary, q.Elements)
		if err != nil {
			return err
		}
		b.Entry = append(b.Entry, fhir.BundleEntry{FullURL: rc.base + "/" + res.Type + "/" + res.ID,
			Resource: raw, Search: &fhir.BundleSearch{Mode: mode}})
		return nil
	}
	for _, res := range f.matches {
		if err := add(res, "match"); err != nil {
			return nil, err
		}
	}
	for _, res := range f.included {
		if err := add(res, "include"); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// found is what find brings back: the page of matches the caller may see and what they
// include, the store cursor of the next page (only when a further match the caller may see
// exists), and the store's total (-1 when not asked).
type found struct {
	matches, included []fhir.Resource
	next              string
	total             int64
}

// sortIncluded puts the included resources in type and id order: the order the store brings
// them in depends on how its pages fell, and so on the hidden matches that filled them.
func (f *found) sortIncluded() {
	slices.SortFunc(f.included, func(a, b fhir.Resource) int {
		return cmp.Or(cmp.Compare(a.Type, b.Type), cmp.Compare(a.ID, b.ID))
	})
}

// find runs q in the store and returns up to count matches the caller may see. The store
// leaves out what the view refuses (SearchOptions.Visible) and follows includes only from
// and to what it may see; when that leaves a page short, find reads on, and it reports a
// next page only when a further match the caller may see exists, so neither a short page
// nor a next link tells of hidden matches.
func (rc *reqContext) find(q *search.Query, opts store.SearchOptions, count int) (found, error) {
	ctx := rc.c.Request.Context()
	f := found{total: -1}
	decide := rc.view.Visible(auth.OpSearch)
	visible := func(res fhir.Resource) bool {
		if decide(res) {
			return true
		}
		rc.audit.withheld()
		return false
	}
	opts.Visible = visible
	seen := map[string]bool{}
	cursor := q.Cursor
	for first := true; ; first = false {
		sq := *q
		sq.Cursor, sq.Count = cursor, count-len(f.matches)
		if !first {
			sq.Total = ""
		}
		page, err := rc.store.Search(ctx, rc.tenant.ID, &sq, opts)
		if err != nil {
			return f, err
		}
		if first {
			f.total = page.Total
		}
		for _, res := range page.Resources {
			if rc.shown(auth.OpSearch, auth.Stored{Resource: res}) {
				f.matches = append(f.matches, res)
				seen[res.Type+"/"+res.ID] = true
			}
		}
		for _, res := range page.Included {
			if k := res.Type + "/" + res.ID; !seen[k] && rc.shown(auth.OpRead, auth.Stored{Resource: res}) {
				seen[k] = true
				f.included = append(f.included, res)
			}
		}
		if page.Next == "" || count == 0 || q.Summary == "count" {
			f.sortIncluded()
			return f, nil
		}
		if len(f.matches) >= count {
			more := page.NextVisible
			if !more {
				if more, err = rc.visibleAfter(q, page.Next, opts); err != nil {
					return f, err
				}
			}
			if more {
				f.next = page.Next
			}
			f.sortIncluded()
			return f, nil
		}
		cursor = page.Next
	}
}

// visibleAfter reports whether a match the caller may see follows the store cursor.
func (rc *reqContext) visibleAfter(q *search.Query, cursor string, opts store.SearchOptions) (bool, error) {
	sq := *q
	sq.Include, sq.RevInclude, sq.Total = nil, nil, ""
	for cursor != "" {
		sq.Cursor, sq.Count = cursor, 50
		page, err := rc.store.Search(rc.c.Request.Context(), rc.tenant.ID, &sq, opts)
		if err != nil {
			return false, err
		}
		for _, res := range page.Resources {
			if opts.Visible(res) {
				return true, nil
			}
		}
		if page.NextVisible {
			return true, nil
		}
		cursor = page.Next
	}
	return false, nil
}

// searchOptions are the store options of a search: the page size and the compartment asked
// for or, when none is and the caller sees only what is about some patients (a facility's
// roster, the patient in context), the union of those patients' compartments. The guard
// still decides each match; the compartment lets the store skip what could never be shown,
// so a nursery's search reads its children's records, not the whole town's.
func (rc *reqContext) searchOptions(q *search.Query, comp *store.Compartment) store.SearchOptions {
	if comp == nil && q.Type != "" && auth.InPatientCompartment(q.Type) {
		if n := rc.view.Narrow(q.Type, auth.OpSearch); n.Narrowed {
			ids := make([]string, 0, len(n.Patients))
			for _, p := range n.Patients {
				if id, ok := strings.CutPrefix(p, "Patient/"); ok {
					ids = append(ids, id)
				}
			}
			slices.Sort(ids)
			comp = &store.Compartment{Type: "Patient", IDs: slices.Compact(ids), Params: patientCompartment,
				IncludeOwner: true, Narrowing: true}
		}
	}
	return store.SearchOptions{Count: rc.limits.DefaultCount, Compartment: comp}
}

// patientCompartment is the Patient CompartmentDefinition: type → parameters.
var patientCompartment, _ = search.Compartment("Patient")

// visibleTotal turns the store's total into the caller's: when every type searched is one
// whose visible resources the store can count (auth.Narrowing.Exact), the total less the
// matches that carry a label the caller may not see; otherwise -1 (no total), and a
// _summary=count is refused, whatever the data: a count would tell what the caller may not
// see.
func (rc *reqContext) visibleTotal(q *search.Query, comp *store.Compartment, total int64, empty bool) (int64, error) {
	types := q.Types
	if q.Type != "" {
		types = []string{q.Type}
	}
	for _, t := range types {
		if !rc.view.Narrow(t, auth.OpSearch).Exact {
			if q.Summary == "count" {
				return -1, fhir.Errorf(fhir.KindForbidden, fhir.IssueForbidden,
					"counts are not given to a caller whose access is decided record by record (a facility roster, a patient context or several restricted scopes): page through the results instead")
			}
			return -1, nil
		}
	}
	hidden := rc.view.HiddenLabels()
	if empty || total <= 0 || len(hidden) == 0 {
		return total, nil
	}
	vals := make([]string, len(hidden))
	for i, l := range hidden {
		vals[i] = l.System + "|" + l.Code
	}
	lq, err := rc.registry.ParseQuery(q.Type, url.Values{"_security": {strings.Join(vals, ",")}}, search.ParseOptions{Limits: search.NoLimits})
	if err != nil {
		return -1, err
	}
	cq := *q
	cq.Clauses = append(slices.Clone(q.Clauses), lq.Clauses...)
	cq.Summary, cq.Total, cq.Count, cq.Cursor, cq.Include, cq.RevInclude, cq.Sort = "count", search.TotalAccurate, 0, "", nil, nil, nil
	page, err := rc.store.Search(rc.c.Request.Context(), rc.tenant.ID, &cq, store.SearchOptions{Compartment: comp})
	if err != nil {
		return -1, err
	}
	return max(total-page.Total, 0), nil
}

// allowedIncludes are the _include and _revinclude of q the caller may get anything from:
// an _include whose target types, or a _revinclude whose type, it may read none of is left
// out, and counted as withheld in the request's audit record. That depends on the caller's
// scopes and role alone, so leaving it out tells nothing of the data, and the store does
// not follow references to resources that could never be shown.
func (rc *reqContext) allowedIncludes(q *search.Query) (inc, rev []search.Include) {
	readable := func(t string) bool { return rc.view.Decide(auth.OpRead, auth.Type(t)).Allowed }
	for _, in := range q.Include {
		var targets []string
		switch {
		case in.Target != "":
			targets = []string{in.Target}
		case in.Param != nil && !slices.Contains(in.Param.Targets, "Resource"):
			targets = in.Param.Targets
		default:
			inc = append(inc, in) // every type, or every reference parameter: decided per resource
			continue
		}
		if slices.ContainsFunc(targets, readable) {
			inc = append(inc, in)
		} else {
			rc.audit.withheld()
		}
	}
	for _, in := range q.RevInclude {
		if readable(in.Type) {
			rev = append(rev, in)
		} else {
			rc.audit.withheld()
		}
	}
	return inc, rev
}

// storeQuery is q as the store runs it for the caller: a system-level search narrowed to the
// types the caller may search, chains and _has resolved over what the caller may see, and a
// scope's restriction added. empty reports that nothing can match (a chain that selects
// nothing the caller may see). The links are rendered from q, which is not changed.
func (rc *reqContext) storeQuery(q *search.Query) (sq *search.Query, empty bool, err error) {
	c := *q
	sq = &c
	if q.Type == "" {
		if len(q.Types) > 0 {
			for _, t := range q.Types {
				if err := rc.allow(auth.OpSearch, auth.Type(t)); err != nil {
					return nil, false, err
				}
			}
		} else {
			for _, t := range fhir.ResourceTypes {
				if rc.view.Decide(auth.OpSearch, auth.Type(t)).Allowed {
					sq.Types = append(sq.Types, t)
				}
			}
			if len(sq.Types) == 0 {
				return sq, true, nil
			}
		}
	}
	sq.Include, sq.RevInclude = rc.allowedIncludes(q)
	if sq.Clauses, empty, err = rc.resolveClauses(q.Type, q.Clauses); err != nil || empty {
		return sq, empty, err
	}
	if q.Type != "" {
		if r := rc.view.Narrow(q.Type, auth.OpSearch).Restriction; r != "" {
			v, err := url.ParseQuery(r)
			if err != nil {
				return nil, false, err
			}
			rq, err := rc.registry.ParseQuery(q.Type, v, search.ParseOptions{Now: rc.now(), BaseURL: rc.base, Limits: search.NoLimits})
			if err != nil {
				return nil, false, fmt.Errorf("server: the scope restriction %q does not parse: %w", r, err)
			}
			sq.Clauses = append(sq.Clauses, rq.Clauses...)
		}
	}
	return sq, false, nil
}

// maxChainTargets bounds the resources a chain or a _has may cross: they are resolved as the
// caller (only what it may see counts), and beyond this many the search is refused as too
// costly.
const maxChainTargets = 1000

// resolveClauses rewrites the chained and _has clauses of a search of typ into plain clauses
// over the resources the caller may see: "subject:Patient.name=山田" becomes
// "subject:Patient=<the ids of the Patients named 山田 the caller may see>", and
// "_has:Observation:subject:code=x" becomes "_id=<the subjects of the Observations with code x
// the caller may see>". A chain through a resource the caller may not read so cannot tell
// anything about it. The rewritten clauses keep their Key and Raw, so links and cursors name
// what the client asked. empty reports a clause that can match nothing.
func (rc *reqContext) resolveClauses(typ string, clauses []*search.Clause) (out []*search.Clause, empty bool, err error) {
	out = clauses
	for i, c := range clauses {
		var target string
		var ids []string
		switch {
		case c.Chain != nil:
			target = c.TargetType
			if target == "" && len(c.Param.Targets) == 1 {
				target = c.Param.Targets[0]
			}
			if target == "" {
				return nil, false, fhir.Errorf(fhir.KindInvalid, fhir.IssueInvalid, "%s: name the type the chain goes through (%s:Type.…)", c.Key, c.Param.Code)
			}
			ids, err = rc.crossed(target, c.Chain, c.Key, func(res fhir.Resource) []string { return []string{res.ID} })
		case c.Has != nil:
			target = c.Has.Type
			has := c.Has
			ids, err = rc.crossed(target, has.Clause, c.Key, func(res fhir.Resource) []string {
				return rc.referencedIDs(res, has.Param, typ)
			})
		default:
			continue
		}
		if err != nil {
			return nil, false, err
		}
		if len(ids) == 0 {
			return nil, true, nil
		}
		key, value := "_id", strings.Join(ids, ",")
		if c.Chain != nil {
			key = c.Param.Code + ":" + target
		}
		rq, err := rc.registry.ParseQuery(typ, url.Values{key: {value}}, search.ParseOptions{Limits: search.NoLimits})
		if err != nil {
			return nil, false, err
		}
		nc := *rq.Clauses[0]
		nc.Key, nc.Raw = c.Key, c.Raw
		if len(out) > 0 && &out[0] == &clauses[0] {
			out = slices.Clone(clauses)
		}
		out[i] = &nc
	}
	return out, false, nil
}

// crossed runs the inner clause of a chain or _has on typ as the caller and returns what
// pick takes from every match the caller may see, each value once.
func (rc *reqContext) crossed(typ string, inner *search.Clause, key string, pick func(fhir.Resource) []string) ([]string, error) {
	if err := rc.allow(auth.OpSearch, auth.Type(typ)); err != nil {
		return nil, err
	}
	clauses, empty, err := rc.resolveClauses(typ, []*search.Clause{inner})
	if err != nil || empty {
		return nil, err
	}
	q := &search.Query{Type: typ, Clauses: clauses, Count: maxChainTargets + 1}
	opts := rc.searchOptions(q, nil)
	opts.Count = 0
	f, err := rc.find(q, opts, maxChainTargets+1)
	if err != nil {
		return nil, err
	}
	if len(f.matches) > maxChainTargets {
		return nil, fhir.Errorf(fhir.KindTooCostly, fhir.IssueTooCostly,
			"%s goes through more than %d %s resources; make it more selective", key, maxChainTargets, typ)
	}
	var ids []string
	for _, res := range f.matches {
		for _, id := range pick(res) {
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// referencedIDs returns the ids of the typ resources that res references through p.
func (rc *reqContext) referencedIDs(res fhir.Resource, p *search.Param, typ string) []string {
	decoded, err := fhirpath.Decode(res.Raw)
	if err != nil {
		return nil
	}
	es, _ := rc.registry.ExtractParam(p, decoded)
	var ids []string
	for _, e := range es {
		if e.Kind == search.KindValue && e.System == typ && e.Value != "" {
			ids = append(ids, e.Value)
		}
	}
	return ids
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// authorizeOwner reads a compartment's owner and decides whether the caller may read it: an
// owner it may not see is "not found", as one that does not exist.
func (rc *reqContext) authorizeOwner(owner, id string) error {
	if err := rc.allow(auth.OpRead, auth.Type(owner)); err != nil {
		return err
	}
	res, err := rc.store.Read(rc.c.Request.Context(), rc.tenant.ID, owner, id)
	if errors.Is(err, store.ErrGone) {
		return rc.goneOrHidden(res)
	}
	if err != nil {
		return err
	}
	return rc.allow(auth.OpRead, auth.Stored{Resource: res})
}

// compartmentSearch serves GET [base]/{Owner}/{id}/{Type} and …/{Owner}/{id}/*.
func (rc *reqContext) compartmentSearch(owner, id, typ string) {
	params, ok := search.Compartment(owner)
	if !ok {
		rc.fail(fhir.Errorf(fhir.KindNotFound, fhir.IssueNotSupported, "%s has no compartment", owner))
		return
	}
	if err := rc.authorizeOwner(owner, id); err != nil {
		rc.fail(err)
		return
	}
	comp := &store.Compartment{Type: owner, IDs: []string{id}, Params: params}
	query := rc.c.Request.URL.Query()
	path := owner + "/" + id + "/" + typ
	if typ == "*" {
		rc.search("", query, comp, path)
		return
	}
	if _, in := params[typ]; !in {
		rc.fail(fhir.Errorf(fhir.KindInvalid, fhir.IssueNotSupported, "%s is not in the %s compartment", typ, owner))
		return
	}
	rc.search(typ, query, comp, path)
}

// everything serves Patient/{id}/$everything (and Encounter/…): the owner and every
// resource in its compartment, with _since, _type and _count.
func (rc *reqContext) everything(owner, id string) {
	params, ok := search.Compartment(owner)
	if !ok || (owner != "Patient" && owner != "Encounter") {
		rc.fail(fhir.Errorf(fhir.KindNotFound, fhir.IssueNotSupported, "$everything is defined for Patient and Encounter, not %s", owner))
		return
	}
	if err := rc.authorizeOwner(owner, id); err != nil {
		rc.fail(err)
		return
	}
	in := rc.c.Request.URL.Query()
	query := url.Values{}
	for k, vs := range in {
		v := vs[len(vs)-1]
		switch k {
		case "_since":
			if _, err := parseInstant(k, v); err != nil {
				rc.fail(err)
				return
			}
			query.Set("_lastUpdated", "ge"+v)
		case "_type", "_count", "_cursor", "_elements", "_summary":
			query[k] = vs
		case "start", "end":
			rc.fail(fhir.Errorf(fhir.KindNotImplemented, fhir.IssueNotSupported, "$everything %s is not supported; use _since", k))
			return
		case "_format", "_pretty":
		default:
			if rc.prefer.Handling != "lenient" {
				rc.fail(fhir.Errorf(fhir.KindInvalid, fhir.IssueNotSupported, "unknown parameter %q for $everything", k))
				return
			}
		}
	}
	q, err := rc.parseQuery("", query)
	if err != nil {
		rc.fail(err)
		return
	}
	comp := &store.Compartment{Type: owner, IDs: []string{id}, Params: params, IncludeOwner: true}
	b, err := rc.searchBundle(q, comp, owner+"/"+id+"/$everything")
	if err != nil {
		rc.fail(err)
		return
	}
	// The links carry the query in search form; $everything takes _since, so rewrite it back.
	for i, l := range b.Link {
		b.Link[i].URL = strings.Replace(l.URL, "_lastUpdated=ge", "_since=", 1)
	}
	rc.writeBundle(b)
}

// conditionalMatches runs the search of a conditional interaction (If-None-Exist, PUT or
// DELETE with criteria, conditional references) as the caller and returns up to two of the
// matches it may see: a match it may not see does not count, so the outcome is the one it
// would get if that resource did not exist.
func (rc *reqContext) conditionalMatches(ctx context.Context, typ, criteria string) ([]fhir.Resource, error) {
	params, err := url.ParseQuery(criteria)
	if err != nil {
		return nil, fhir.Wrap(err, fhir.KindInvalid, fhir.IssueInvalid, "invalid search criteria %q", criteria)
	}
	q, err := rc.registry.ParseQuery(typ, params, search.ParseOptions{Now: rc.now(), BaseURL: rc.base})
	if err != nil {
		return nil, err
	}
	if len(q.Clauses) == 0 {
		return nil, fhir.Errorf(fhir.KindPreconditionFailed, fhir.IssueInvalid, "conditional criteria %q select nothing specific", criteria)
	}
	if err := rc.allow(auth.OpSearch, auth.Type(typ)); err != nil {
		return nil, err
	}
	q.Count, q.Total, q.Include, q.RevInclude, q.Sort, q.Summary = 2, "", nil, nil, nil, ""
	sq, empty, err := rc.storeQuery(q)
	if err != nil || empty {
		return nil, err
	}
	f, err := rc.find(sq, rc.searchOptions(sq, nil), 2)
	return f.matches, err
}

// pageCursor is the _cursor of the paging links: the store cursors of the pages before
// this one (the last one selects this page), so that "previous" needs no reverse search in
// the store. Only the latest maxPageStack are kept; Truncated says older ones were dropped,
// and then the earliest page kept has no previous link rather than a wrong one.
type pageCursor struct {
	Stack     []string `json:"c"`
	Truncated bool     `json:"t,omitempty"`
}

const maxPageStack = 8

func decodePageCursor(s string) (pageCursor, error) {
	var pc pageCursor
	if s == "" {
		return pc, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &pc)
	}
	if err != nil || len(pc.Stack) == 0 || len(pc.Stack) > maxPageStack {
		return pc, fhir.Errorf(fhir.KindInvalid, fhir.IssueInvalid, "invalid _cursor; start the search again")
	}
	return pc, nil
}

func (pc pageCursor) encode() string {
	b, _ := json.Marshal(pc)
	return base64.RawURLEncoding.EncodeToString(b)
}

// current is the store cursor of this page ("" for the first page).
func (pc pageCursor) current() string {
	if len(pc.Stack) == 0 {
		return ""
	}
	return pc.Stack[len(pc.Stack)-1]
}

func (pc pageCursor) push(next string) pageCursor {
	out := pageCursor{Stack: append(slices.Clone(pc.Stack), next), Truncated: pc.Truncated}
	if len(out.Stack) > maxPageStack {
		out.Stack, out.Truncated = out.Stack[1:], true
	}
	return out
}

// previous is the cursor of the page before; ok is false when it is no longer known.
func (pc pageCursor) previous() (pageCursor, bool) {
	if len(pc.Stack) == 0 || (pc.Truncated && len(pc.Stack) == 1) {
		return pageCursor{}, false
	}
	return pageCursor{Stack: pc.Stack[:len(pc.Stack)-1], Truncated: pc.Truncated}, true
}
