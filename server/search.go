package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/kodomohub/kodomohub/auth"
	"github.com/kodomohub/kodomohub/conformance"
	"github.com/kodomohub/kodomohub/fhir"
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
		return nil, fhir.Errorf(http.StatusUnsupportedMediaType, fhir.IssueNotSupported,
			"POST _search takes application/x-www-form-urlencoded parameters")
	}
	rc.c.Request.Body = http.MaxBytesReader(rc.c.Writer, rc.c.Request.Body, rc.limits.MaxBodyBytes)
	if err := rc.c.Request.ParseForm(); err != nil {
		return nil, fhir.Wrap(err, http.StatusBadRequest, fhir.IssueStructure, "cannot read the form parameters: %v", err)
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
		if err := rc.authorize(auth.OpSearch, typ, ""); err != nil {
			rc.fail(err)
			return
		}
	}
	q, err := rc.parseQuery(typ, params)
	if err != nil {
		rc.fail(err)
		return
	}
	if err := rc.authorizeClauses(q.Clauses); err != nil {
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

func (rc *reqContext) searchBundle(q *search.Query, comp *store.Compartment, path string) (*fhir.Bundle, error) {
	pages, err := decodePageCursor(q.Cursor)
	if err != nil {
		return nil, err
	}
	q.Cursor = pages.current()
	page, err := rc.store.Search(rc.c.Request.Context(), rc.tenant.ID, q, store.SearchOptions{Count: rc.limits.DefaultCount, Compartment: comp})
	if err != nil {
		return nil, err
	}
	b := &fhir.Bundle{ResourceType: "Bundle", ID: rc.newID(), Type: "searchset", Timestamp: fhir.FormatInstant(rc.now())}
	if page.Total >= 0 {
		total := int(page.Total)
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
	if page.Next != "" {
		next := cloneValues(self)
		next.Set("_cursor", pages.push(page.Next).encode())
		link("next", next)
	}
	add := func(res fhir.Resource, mode string, op auth.Op) error {
		if !rc.visible(op, rc.aboutOf(res), res.Type, res.ID) {
			return nil // what the caller may not see is left out, never reported
		}
		raw, err := conformance.Default().Subset(res.Raw, q.Summary, q.Elements)
		if err != nil {
			return err
		}
		b.Entry = append(b.Entry, fhir.BundleEntry{FullURL: rc.base + "/" + res.Type + "/" + res.ID,
			Resource: raw, Search: &fhir.BundleSearch{Mode: mode}})
		return nil
	}
	for _, res := range page.Resources {
		if err := add(res, "match", auth.OpSearch); err != nil {
			return nil, err
		}
	}
	for _, res := range page.Included {
		if err := add(res, "include", auth.OpRead); err != nil {
			return nil, err
		}
	}
	if b.Total != nil && (rc.audit.filtered > 0 || rc.filteredPerResource()) {
		// The count would tell what the caller may not see.
		b.Total = nil
	}
	return b, nil
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// authorizeClauses decides the searches that chains and _has run on other types: a caller
// may not learn through a chain what it may not search itself.
func (rc *reqContext) authorizeClauses(clauses []*search.Clause) error {
	for _, c := range clauses {
		switch {
		case c.Chain != nil:
			targets := c.Param.Targets
			if c.TargetType != "" {
				targets = []string{c.TargetType}
			}
			for _, t := range targets {
				if err := rc.authorize(auth.OpSearch, t, ""); err != nil {
					return err
				}
			}
			if err := rc.authorizeClauses([]*search.Clause{c.Chain}); err != nil {
				return err
			}
		case c.Has != nil:
			if err := rc.authorize(auth.OpSearch, c.Has.Type, ""); err != nil {
				return err
			}
			if err := rc.authorizeClauses([]*search.Clause{c.Has.Clause}); err != nil {
				return err
			}
		}
	}
	return nil
}

// authorizeOwner reads a compartment's owner and decides whether the caller may read it.
func (rc *reqContext) authorizeOwner(owner, id string) error {
	if err := rc.precheck(auth.OpRead, owner); err != nil {
		return err
	}
	res, err := rc.store.Read(rc.c.Request.Context(), rc.tenant.ID, owner, id)
	if err != nil {
		return err
	}
	return rc.authorizeResource(auth.OpRead, owner, id, rc.aboutOf(res))
}

// compartmentSearch serves GET [base]/{Owner}/{id}/{Type} and …/{Owner}/{id}/*.
func (rc *reqContext) compartmentSearch(owner, id, typ string) {
	params, ok := search.Compartment(owner)
	if !ok {
		rc.fail(fhir.Errorf(http.StatusNotFound, fhir.IssueNotSupported, "%s has no compartment", owner))
		return
	}
	if err := rc.authorizeOwner(owner, id); err != nil {
		rc.fail(err)
		return
	}
	comp := &store.Compartment{Type: owner, ID: id, Params: params}
	query := rc.c.Request.URL.Query()
	path := owner + "/" + id + "/" + typ
	if typ == "*" {
		rc.search("", query, comp, path)
		return
	}
	if _, in := params[typ]; !in {
		rc.fail(fhir.Errorf(http.StatusBadRequest, fhir.IssueNotSupported, "%s is not in the %s compartment", typ, owner))
		return
	}
	rc.search(typ, query, comp, path)
}

// everything serves Patient/{id}/$everything (and Encounter/…): the owner and every
// resource in its compartment, with _since, _type and _count.
func (rc *reqContext) everything(owner, id string) {
	params, ok := search.Compartment(owner)
	if !ok || (owner != "Patient" && owner != "Encounter") {
		rc.fail(fhir.Errorf(http.StatusNotFound, fhir.IssueNotSupported, "$everything is defined for Patient and Encounter, not %s", owner))
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
			rc.fail(fhir.Errorf(http.StatusNotImplemented, fhir.IssueNotSupported, "$everything %s is not supported; use _since", k))
			return
		case "_format", "_pretty":
		default:
			if rc.prefer.Handling != "lenient" {
				rc.fail(fhir.Errorf(http.StatusBadRequest, fhir.IssueNotSupported, "unknown parameter %q for $everything", k))
				return
			}
		}
	}
	q, err := rc.parseQuery("", query)
	if err != nil {
		rc.fail(err)
		return
	}
	comp := &store.Compartment{Type: owner, ID: id, Params: params, IncludeOwner: true}
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
// DELETE with criteria, conditional references) and returns up to two matches.
func (rc *reqContext) conditionalMatches(ctx context.Context, typ, criteria string) ([]fhir.Resource, error) {
	params, err := url.ParseQuery(criteria)
	if err != nil {
		return nil, fhir.Wrap(err, http.StatusBadRequest, fhir.IssueInvalid, "invalid search criteria %q", criteria)
	}
	q, err := rc.registry.ParseQuery(typ, params, search.ParseOptions{Now: rc.now(), BaseURL: rc.base})
	if err != nil {
		return nil, err
	}
	if len(q.Clauses) == 0 {
		return nil, fhir.Errorf(http.StatusPreconditionFailed, fhir.IssueInvalid, "conditional criteria %q select nothing specific", criteria)
	}
	if err := rc.authorize(auth.OpSearch, typ, ""); err != nil {
		return nil, err
	}
	q.Count, q.Total, q.Include, q.RevInclude, q.Sort = 2, "", nil, nil, nil
	page, err := rc.store.Search(ctx, rc.tenant.ID, q, store.SearchOptions{Count: 2})
	if err != nil {
		return nil, err
	}
	return page.Resources, nil
}

func multipleMatches(typ, criteria string, n int) error {
	return fhir.Errorf(http.StatusPreconditionFailed, fhir.IssueMultiple,
		"%s?%s matches more than one resource (%d or more); make the criteria more selective", typ, criteria, n)
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
		return pc, fhir.Errorf(http.StatusBadRequest, fhir.IssueInvalid, "invalid _cursor; start the search again")
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
