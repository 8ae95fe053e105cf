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
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/kodomohub/kodomohub/auth"
	"github.com/kodomohub/kodomohub/fhir"
	"github.com/kodomohub/kodomohub/store"
)

// history serves instance (typ and id), type (typ) and system (neither) history. Every
// version is decided with its own facts and those of its resource's current version (a
// resource labelled later hides its earlier versions too), and a page holds only versions the
// caller may see: it is filled from further versions when some are left out, and it has a
// next link only when a further version the caller may see exists.
func (rc *reqContext) history(typ, id string) {
	var err error
	switch {
	case id != "":
		err = rc.allow(auth.OpRead, auth.Type(typ))
	case typ != "":
		err = rc.allow(auth.OpSearch, auth.Type(typ))
	}
	if err != nil {
		rc.fail(err)
		return
	}
	q, err := rc.historyQuery(typ, id)
	if err != nil {
		rc.fail(err)
		return
	}
	ctx := rc.c.Request.Context()
	currents := map[string]*fhir.Resource{}
	current := func(v fhir.Resource) (*fhir.Resource, error) {
		k := v.Type + "/" + v.ID
		if c, ok := currents[k]; ok {
			return c, nil
		}
		c, err := store.LastWithBody(rc.c.Request.Context(), rc.store, rc.tenant.ID, v.Type, v.ID)
		currents[k] = c
		return c, err
	}
	if id != "" {
		// An instance's history is about what the resource is about: one the caller may not
		// see has no history for it, as one that never existed.
		cur, err := store.LastWithBody(rc.c.Request.Context(), rc.store, rc.tenant.ID, typ, id)
		if err == nil && cur == nil {
			_, err = rc.store.VRead(ctx, rc.tenant.ID, typ, id, 1)
		}
		if err == nil && cur != nil {
			err = rc.allow(auth.OpRead, auth.Stored{Resource: *cur})
		}
		if err != nil {
			rc.fail(err)
			return
		}
		currents[typ+"/"+id] = cur
	}
	want := q.Count
	var shown []fhir.Resource
	var requests []store.VersionRequest // how each version shown was written
	var next, last int64                // last: the change sequence of the last version shown
	for want > 0 {
		q.Count = want - len(shown) + 1
		page, err := rc.store.History(ctx, rc.tenant.ID, q)
		if err != nil {
			rc.fail(err)
			return
		}
		full := false
		for i, v := range page.Versions {
			cur, err := current(v)
			if err != nil {
				rc.fail(err)
				return
			}
			if d := rc.view.Decide(auth.OpRead, auth.Stored{Resource: v, Current: cur}); !d.Allowed || d.Err != nil {
				if d.Err != nil {
					rc.fail(d.Err)
					return
				}
				rc.audit.withheld()
				continue
			}
			if len(shown) == want {
				full = true // a further version the caller may see: there is a next page
				break
			}
			rc.shown(auth.OpRead, auth.Stored{Resource: v, Current: cur})
			shown = append(shown, v)
			requests = append(requests, page.Requests[i])
			last = page.Seqs[i]
		}
		if full {
			next = last
			break
		}
		if page.Next == 0 {
			break
		}
		q.Before = page.Next
	}
	b := fhir.Bundle{ResourceType: "Bundle", ID: rc.newID(), Type: "history",
		Timestamp: fhir.FormatInstant(rc.now())}
	for i, v := range shown {
		b.Entry = append(b.Entry, rc.historyEntry(v, requests[i]))
	}
	b.Link = append(b.Link, fhir.BundleLink{Relation: "self", URL: rc.selfURL(nil)})
	if next != 0 {
		b.Link = append(b.Link, fhir.BundleLink{Relation: "next",
			URL: rc.selfURL(map[string]string{"_cursor": strconv.FormatInt(next, 10)})})
	}
	rc.writeBundle(&b)
}

// historyEntry is the entry of version v, written by the request req: its method as the
// client sent it (a create by PUT is a PUT, a PATCH a PATCH) and the status it was answered.
// Versions written before the stores kept the method show POST for a first version and PUT
// for the others.
func (rc *reqContext) historyEntry(v fhir.Resource, req store.VersionRequest) fhir.BundleEntry {
	e := fhir.BundleEntry{FullURL: rc.base + "/" + v.Type + "/" + v.ID}
	e.Response = &fhir.BundleResponse{Etag: v.ETag(), LastModified: fhir.FormatInstant(v.LastUpdated)}
	method := req.Method
	switch {
	case v.Deleted:
		method = http.MethodDelete
	case method == "" && v.Version == 1:
		method = http.MethodPost
	case method == "":
		method = http.MethodPut
	}
	url := v.Type + "/" + v.ID
	if method == http.MethodPost {
		url = v.Type
	}
	e.Request = &fhir.BundleRequest{Method: method, URL: url}
	switch {
	case v.Deleted:
		e.Response.Status = "200 OK" // what a DELETE answers (204 only when return=minimal asked)
	case req.Created:
		e.Response.Status = "201 Created"
		e.Resource = v.Raw
	default:
		e.Response.Status = "200 OK"
		e.Resource = v.Raw
	}
	return e
}

func (rc *reqContext) historyQuery(typ, id string) (store.HistoryQuery, error) {
	q := store.HistoryQuery{Type: typ, ID: id, Count: rc.limits.DefaultCount}
	for k, vals := range rc.c.Request.URL.Query() {
		v := vals[len(vals)-1]
		var err error
		switch k {
		case "_count":
			n, perr := strconv.Atoi(v)
			if perr != nil || n < 0 {
				return q, fhir.Errorf(fhir.KindInvalid, fhir.IssueValue, "_count must be a non-negative integer, not %q", v)
			}
			q.Count = min(n, rc.limits.MaxCount)
		case "_since":
			q.Since, err = parseInstant(k, v)
		case "_at":
			q.At, err = parseInstant(k, v)
		case "_cursor":
			q.Before, err = strconv.ParseInt(v, 10, 64)
			if err != nil || q.Before < 1 {
				err = fhir.Errorf(fhir.KindInvalid, fhir.IssueValue, "invalid paging cursor %q", v)
			}
		case "_format", "_pretty":
		default:
			if rc.prefer.Handling != "lenient" {
				err = fhir.Errorf(fhir.KindInvalid, fhir.IssueNotSupported, "unknown parameter %q for history", k)
			}
		}
		if err != nil {
			return q, err
		}
	}
	return q, nil
}

// parseInstant reads a FHIR dateTime with a time zone, or a date (taken as midnight UTC).
func parseInstant(name, v string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00", "2006-01-02", "2006-01", "2006"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fhir.Errorf(fhir.KindInvalid, fhir.IssueValue,
		"%s must be a FHIR instant such as 2026-04-01T09:00:00+09:00, not %q", name, v)
}

// selfURL is the request URL on the public base, with set overriding query parameters.
func (rc *reqContext) selfURL(set map[string]string) string {
	q := url.Values{}
	for k, vs := range rc.c.Request.URL.Query() {
		if _, over := set[k]; over {
			continue
		}
		q[k] = vs
	}
	for k, v := range set {
		q.Set(k, v)
	}
	path := strings.TrimPrefix(rc.c.Param("path"), "/")
	u := rc.base
	if path != "" {
		u += "/" + path
	}
	if enc := q.Encode(); enc != "" {
		u += "?" + enc
	}
	return u
}
