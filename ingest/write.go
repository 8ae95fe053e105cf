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

package ingest

import (
	"context"
	"errors"
	"net/url"
	"strings"

	"github.com/kodomohub/kodomohub/auth"
	"github.com/kodomohub/kodomohub/fhir"
	"github.com/kodomohub/kodomohub/fhir/search"
	"github.com/kodomohub/kodomohub/store"
)

// Create writes body as a new typ with an id ingest assigns. ifNoneExist, when not empty, is
// the search of a conditional create ("identifier=x", "Patient?identifier=x"): when it
// selects one resource the caller may see, nothing is written and the Outcome is Existing;
// more than one is 412.
func (in *Ingester) Create(ctx context.Context, req *Request, typ string, raw []byte, ifNoneExist string) (Outcome, error) {
	c := in.start(ctx, req)
	o, err := c.create(typ, raw, Criteria(typ, ifNoneExist))
	return o, c.finish(what{interaction: "create", typ: typ}, statusOf(o, err), err)
}

// Update writes body as typ/id (creating it when it does not exist). With id "" it is a
// conditional update on criteria: no match creates (with the body's id or a new one), one
// match the caller may see is updated (at the version found, unless ifMatch names one),
// more than one is 412. ifMatch, when not zero, is the version the current one must be.
func (in *Ingester) Update(ctx context.Context, req *Request, typ, id string, raw []byte, criteria string, ifMatch int64) (Outcome, error) {
	c := in.start(ctx, req)
	w := what{interaction: "update", typ: typ, id: id}
	if id == "" {
		w.interaction, w.query = "update-conditional", criteria
	}
	o, err := c.update(typ, id, raw, Criteria(typ, criteria), ifMatch)
	return o, c.finish(w, statusOf(o, err), err)
}

// Patch applies a JSON Patch (RFC 6902) to the current version of typ/id, or of the one
// resource criteria select when id is "" (404 when none does). Without ifMatch the patch is
// retried when another write slips in between read and commit.
func (in *Ingester) Patch(ctx context.Context, req *Request, typ, id string, patch []byte, criteria string, ifMatch int64) (Outcome, error) {
	c := in.start(ctx, req)
	w := what{interaction: "patch", typ: typ, id: id}
	if id == "" {
		w.interaction, w.query = "patch-conditional", criteria
	}
	o, err := c.patch(typ, id, patch, Criteria(typ, criteria), ifMatch)
	return o, c.finish(w, statusOf(o, err), err)
}

// Delete deletes typ/id, or the one resource criteria select when id is "" (more than one
// is 412). Deleting what does not exist, or what the caller may not see, is a Noop. On a
// tenant with strict referential integrity a resource that others reference is not deleted:
// 409, naming the referrers the caller may read.
func (in *Ingester) Delete(ctx context.Context, req *Request, typ, id, criteria string, ifMatch int64) (Outcome, error) {
	c := in.start(ctx, req)
	w := what{interaction: "delete", typ: typ, id: id}
	if id == "" {
		w.interaction, w.query = "delete-conditional", criteria
	}
	o, err := c.delete(typ, id, Criteria(typ, criteria), ifMatch)
	return o, c.finish(w, statusOf(o, err), err)
}

// Criteria returns the search part of an If-None-Exist value or a conditional URL
// ("identifier=x" from "identifier=x", "Patient?identifier=x" or "?identifier=x"), without
// the parameters that only format a response.
func Criteria(typ, s string) string {
	s = strings.TrimPrefix(strings.TrimPrefix(s, typ), "?")
	if s == "" {
		return ""
	}
	v, err := url.ParseQuery(s)
	if err != nil {
		return s // let the search parser report it
	}
	v.Del("_format")
	v.Del("_pretty")
	return v.Encode()
}

// allow decides op on t and records the decision. An allowed access to a resource is
// recorded as accessed (its patients, a break-glass).
func (c *call) allow(op auth.Op, t auth.Target) error {
	d := c.view.Decide(op, t)
	c.rec.Decided(d)
	if err := d.Denial(); err != nil {
		return err
	}
	c.rec.Accessed(t, d)
	return nil
}

// allowBody decides the body about to be written: a refusal is a 403 with the reason, which
// speaks of what the caller sent.
func (c *call) allowBody(op auth.Op, w store.Write) error {
	d := c.view.Decide(op, auth.Body{Type: w.Type, ID: w.ID, Raw: w.Resource, Index: w.Index})
	c.rec.Decided(d)
	switch {
	case d.Err != nil:
		return d.Err
	case !d.Allowed:
		return fhir.Errorf(fhir.KindForbidden, fhir.IssueForbidden, "%s", d.Reason)
	}
	c.rec.Accessed(auth.Body{Type: w.Type, ID: w.ID}, d)
	return nil
}

// allowWrite decides a write of op on the stored version it replaces or deletes: a version
// the caller may not see is not written, and the caller is told no more than that it may not
// write that id (whether it exists is all a write by id can learn).
func (c *call) allowWrite(op auth.Op, res fhir.Resource) error {
	err := c.allow(op, auth.Stored{Resource: res})
	if errors.Is(err, store.ErrNotFound) {
		return fhir.Errorf(fhir.KindForbidden, fhir.IssueForbidden, "this token may not %s %s/%s", opVerb(op), res.Type, res.ID)
	}
	return err
}

func opVerb(op auth.Op) string {
	switch op {
	case auth.OpCreate:
		return "create"
	case auth.OpUpdate:
		return "update"
	case auth.OpDelete:
		return "delete"
	}
	return "read"
}

// allowStoredWrite decides op on the current version of typ/id when there is one: an update
// must not take over a resource the caller may not touch.
func (c *call) allowStoredWrite(op auth.Op, typ, id string) (*fhir.Resource, error) {
	cur, err := c.store.Read(c.ctx, c.tenant(), typ, id)
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrGone):
		return nil, nil
	case err != nil:
		return nil, err
	}
	return &cur, c.allowWrite(op, cur)
}

// goneOrHidden is the error for a deleted resource: gone when the caller could see what it
// was, not found otherwise.
func (c *call) goneOrHidden(deletion fhir.Resource) error {
	cur, err := store.LastWithBody(c.ctx, c.store, c.tenant(), deletion.Type, deletion.ID)
	if err != nil {
		return err
	}
	if err := c.allow(auth.OpRead, auth.Stored{Resource: deletion, Current: cur}); err != nil {
		return err
	}
	return store.ErrGone
}

// matches runs the search of a conditional operation as the caller: up to two matches it may
// see (a match it may not see does not count).
func (c *call) matches(typ, criteria string) ([]fhir.Resource, error) {
	if c.req.Matches != nil {
		return c.req.Matches(c.ctx, typ, criteria)
	}
	params, err := url.ParseQuery(criteria)
	if err != nil {
		return nil, fhir.Wrap(err, fhir.KindInvalid, fhir.IssueInvalid, "invalid search criteria %q", criteria)
	}
	q, err := c.registry.ParseQuery(typ, params, search.ParseOptions{Now: c.now(), BaseURL: c.req.Base})
	if err != nil {
		return nil, err
	}
	if len(q.Clauses) == 0 {
		return nil, fhir.Errorf(fhir.KindPreconditionFailed, fhir.IssueInvalid, "conditional criteria %q select nothing specific", criteria)
	}
	for _, cl := range q.Clauses {
		if cl.Chain != nil || cl.Has != nil {
			return nil, fhir.Errorf(fhir.KindInvalid, fhir.IssueNotSupported,
				"conditional criteria %q: chained and _has parameters are searched by the REST server only", criteria)
		}
	}
	if err := c.allow(auth.OpSearch, auth.Type(typ)); err != nil {
		return nil, err
	}
	q.Total, q.Include, q.RevInclude, q.Sort, q.Summary = "", nil, nil, nil, ""
	opts := store.SearchOptions{Visible: c.view.Visible(auth.OpSearch)}
	var out []fhir.Resource
	for pages := 0; ; pages++ {
		q.Count = 50
		page, err := c.store.Search(c.ctx, c.tenant(), q, opts)
		if err != nil {
			return nil, err
		}
		for _, res := range page.Resources {
			d := c.view.Decide(auth.OpSearch, auth.Stored{Resource: res})
			if !d.Allowed || d.Err != nil {
				continue
			}
			c.rec.Accessed(auth.Stored{Resource: res}, d)
			if out = append(out, res); len(out) == 2 {
				return out, nil
			}
		}
		if page.Next == "" {
			return out, nil
		}
		if pages == 20 {
			return nil, fhir.Errorf(fhir.KindTooCostly, fhir.IssueTooCostly,
				"conditional criteria %q: too many matches this caller may not see; make them more selective", criteria)
		}
		q.Cursor = page.Next
	}
}

func (c *call) create(typ string, raw []byte, criteria string) (Outcome, error) {
	if err := c.allow(auth.OpCreate, auth.Type(typ)); err != nil {
		return Outcome{}, err
	}
	b, err := c.parse(raw)
	if err != nil {
		return Outcome{}, err
	}
	p, err := c.prepare(typ, c.newID(), MethodPost, b, true)
	if err != nil {
		return Outcome{}, err
	}
	if err := c.allowBody(auth.OpCreate, p.w); err != nil {
		return Outcome{}, err
	}
	if criteria != "" {
		unlock, err := c.conditionalLock(c.ctx, typ, criteria)
		if err != nil {
			return Outcome{}, err
		}
		defer unlock()
		matches, err := c.matches(typ, criteria)
		switch {
		case err != nil:
			return Outcome{}, err
		case len(matches) > 1:
			return Outcome{}, multipleMatches(typ, criteria, len(matches))
		case len(matches) == 1:
			return Outcome{Resource: matches[0], Existing: true}, nil // exists already: nothing written
		}
	}
	return c.commitOne(p, nil)
}

// commitOne checks the versions p references and commits it alone.
func (c *call) commitOne(p prepared, written func(store.Key) bool) (Outcome, error) {
	if err := c.checkVersions(p, written); err != nil {
		return Outcome{}, err
	}
	if p.unchanged != nil {
		return Outcome{Resource: *p.unchanged, Unchanged: true}, nil
	}
	if c.req.DryRun {
		return Outcome{Resource: fhir.Resource{Type: p.w.Type, ID: p.w.ID, Raw: p.w.Resource}}, nil
	}
	results, err := c.store.Commit(c.ctx, c.tenant(), []store.Write{p.w})
	if err != nil {
		return Outcome{}, err
	}
	return Outcome{Resource: results[0].Resource, Created: results[0].Created, Noop: results[0].Noop}, nil
}

func (c *call) update(typ, id string, raw []byte, criteria string, ifMatch int64) (Outcome, error) {
	if err := c.allow(auth.OpUpdate, auth.Type(typ)); err != nil {
		return Outcome{}, err
	}
	conditional := id == ""
	var b body
	if conditional {
		if criteria == "" {
			return Outcome{}, fhir.Errorf(fhir.KindInvalid, fhir.IssueRequired, "PUT %s needs an id or search criteria", typ)
		}
		unlock, err := c.conditionalLock(c.ctx, typ, criteria)
		if err != nil {
			return Outcome{}, err
		}
		defer unlock()
		matches, err := c.matches(typ, criteria)
		if err != nil {
			return Outcome{}, err
		}
		if b, err = c.parse(raw); err != nil {
			return Outcome{}, err
		}
		switch len(matches) {
		case 0:
			if id = b.head.ID; id == "" {
				id = c.newID()
			}
		case 1:
			id = matches[0].ID
			if b.head.HasID && b.head.ID != id {
				return Outcome{}, fhir.ErrorAt(fhir.KindInvalid, fhir.IssueInvalid, typ+".id",
					"the id in the body (%q) is not the id of the resource the criteria select (%q)", b.head.ID, id)
			}
			if ifMatch == 0 {
				ifMatch = matches[0].Version // fail rather than overwrite a concurrent change
			}
		default:
			return Outcome{}, multipleMatches(typ, criteria, len(matches))
		}
	} else {
		var err error
		if b, err = c.parse(raw); err != nil {
			return Outcome{}, err
		}
	}
	p, err := c.prepare(typ, id, MethodPut, b, conditional)
	if err != nil {
		return Outcome{}, err
	}
	cur, err := c.allowStoredWrite(auth.OpUpdate, typ, id)
	if err != nil {
		return Outcome{}, err
	}
	if err := c.allowBody(auth.OpUpdate, p.w); err != nil {
		return Outcome{}, err
	}
	p.w.IfMatch = ifMatch
	p.unchanged = unchangedBy(cur, p.w)
	return c.commitOne(p, nil)
}

// resolveConditional finds the one resource that the criteria of a conditional patch or
// delete select among those the caller may see: ok false when none does.
func (c *call) resolveConditional(method, typ, criteria string) (res fhir.Resource, ok bool, err error) {
	if criteria == "" {
		return res, false, fhir.Errorf(fhir.KindInvalid, fhir.IssueRequired, "%s on %s needs an id or search criteria", method, typ)
	}
	matches, err := c.matches(typ, criteria)
	switch {
	case err != nil:
		return res, false, err
	case len(matches) > 1:
		return res, false, multipleMatches(typ, criteria, len(matches))
	case len(matches) == 0:
		return res, false, nil
	}
	return matches[0], true, nil
}

// patch: a patch reads the resource as well as writing it (a "test" operation, or a failing
// path, tells what it holds), so it needs both.
func (c *call) patch(typ, id string, patch []byte, criteria string, ifMatch int64) (Outcome, error) {
	for _, op := range []auth.Op{auth.OpUpdate, auth.OpRead} {
		if err := c.allow(op, auth.Type(typ)); err != nil {
			return Outcome{}, err
		}
	}
	if id == "" {
		match, ok, err := c.resolveConditional("PATCH", typ, criteria)
		if err != nil {
			return Outcome{}, err
		}
		if !ok {
			return Outcome{}, fhir.Errorf(fhir.KindNotFound, fhir.IssueNotFound, "no %s matches the criteria", typ)
		}
		id = match.ID
	}
	for attempt := 0; ; attempt++ {
		p, err := c.preparePatch(typ, id, patch, ifMatch, nil)
		if err != nil {
			return Outcome{}, err
		}
		o, err := c.commitOne(p, nil)
		if errors.Is(err, store.ErrVersionConflict) && ifMatch == 0 && attempt < 3 {
			continue
		}
		return o, err
	}
}

// preparePatch reads the current version of typ/id, decides it, applies the patch and
// prepares the write of the result at the version read.
func (c *call) preparePatch(typ, id string, patch []byte, ifMatch int64, repl map[string]string) (prepared, error) {
	cur, err := c.store.Read(c.ctx, c.tenant(), typ, id)
	if err != nil {
		if errors.Is(err, store.ErrGone) {
			err = c.goneOrHidden(cur)
		}
		return prepared{}, err
	}
	if err := c.allow(auth.OpRead, auth.Stored{Resource: cur}); err != nil {
		return prepared{}, err
	}
	if err := c.allowWrite(auth.OpUpdate, cur); err != nil {
		return prepared{}, err
	}
	if ifMatch != 0 && cur.Version != ifMatch {
		return prepared{}, store.ErrVersionConflict
	}
	patched, err := applyJSONPatch(cur.Raw, patch)
	if err != nil {
		return prepared{}, err
	}
	b, err := c.parse(replaceStrings(patched, repl))
	if err != nil {
		return prepared{}, err
	}
	p, err := c.prepare(typ, id, MethodPatch, b, false)
	if err != nil {
		return prepared{}, err
	}
	if err := c.allowBody(auth.OpUpdate, p.w); err != nil {
		return prepared{}, err
	}
	p.w.IfMatch = cur.Version
	p.unchanged = unchangedBy(&cur, p.w)
	return p, nil
}

func (c *call) delete(typ, id, criteria string, ifMatch int64) (Outcome, error) {
	if err := c.allow(auth.OpDelete, auth.Type(typ)); err != nil {
		return Outcome{}, err
	}
	if id == "" {
		match, ok, err := c.resolveConditional("DELETE", typ, criteria)
		if err != nil {
			return Outcome{}, err
		}
		if !ok {
			return Outcome{Resource: fhir.Resource{Type: typ, Deleted: true}, Noop: true}, nil
		}
		id = match.ID
		if ifMatch == 0 {
			ifMatch = match.Version
		}
	}
	w, noop, err := c.prepareDelete(typ, id, ifMatch)
	switch {
	case err != nil:
		return Outcome{}, err
	case noop:
		return Outcome{Resource: fhir.Resource{Type: typ, ID: id, Deleted: true}, Noop: true}, nil
	}
	if err := c.checkReferrers(typ, id, nil); err != nil {
		return Outcome{}, err
	}
	return c.commitOne(prepared{w: w}, nil)
}

// prepareDelete decides the delete of typ/id: noop when there is nothing the caller may see
// to delete (the answer for an id that does not exist).
func (c *call) prepareDelete(typ, id string, ifMatch int64) (store.Write, bool, error) {
	cur, err := c.store.Read(c.ctx, c.tenant(), typ, id)
	switch {
	case err == nil:
		if err := c.allow(auth.OpDelete, auth.Stored{Resource: cur}); errors.Is(err, store.ErrNotFound) {
			return store.Write{}, true, nil
		} else if err != nil {
			return store.Write{}, false, err
		}
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrGone):
		return store.Write{}, true, nil
	default:
		return store.Write{}, false, err
	}
	return store.Write{Type: typ, ID: id, Action: store.Delete, IfMatch: ifMatch, Method: MethodDelete}, false, nil
}
