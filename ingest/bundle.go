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
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/kodomohub/kodomohub/auth"
	"github.com/kodomohub/kodomohub/fhir"
	"github.com/kodomohub/kodomohub/store"
)

// The methods of bundle entries.
const (
	MethodGet    = "GET"
	MethodPost   = "POST"
	MethodPut    = "PUT"
	MethodPatch  = "PATCH"
	MethodDelete = "DELETE"
)

// MediaJSONPatch is the content type of a JSON Patch, also inside a PATCH entry's Binary.
const MediaJSONPatch = "application/json-patch+json"

// Entry is one bundle entry's request, parsed (ParseEntries).
type Entry struct {
	// Index is the entry's position in its Bundle, for the expressions of its errors.
	Index   int
	Method  string // MethodGet … MethodDelete
	Type    string
	ID      string
	Version int64 // a GET of one version
	FullURL string
	// Body is the resource of a POST or PUT, the JSON Patch of a PATCH.
	Body    []byte
	IfMatch int64
	// Criteria are the search criteria of a conditional entry (ifNoneExist of a POST, the
	// query of a PUT, PATCH or DELETE url); Search is the query of a GET search entry.
	Criteria string
	Search   url.Values

	// Resolution state of a transaction.
	existing *fhir.Resource // the match of a conditional create: nothing is written
	noop     bool           // a conditional delete that matched nothing
	body     *body          // Body read, for POST and PUT
}

// SearchEntry prepares the search of a GET Type?params entry, as the caller: it authorizes
// and parses the search before anything is written (its error fails a transaction) and
// returns the search's run, called after the commit, which returns the searchset Bundle.
// Searching is the REST server's; without a SearchEntry such entries are refused.
type SearchEntry func(e Entry) (run func() ([]byte, error), err error)

// ParseEntries reads the request of each entry. base is the tenant's FHIR base: an absolute
// request url must start with it.
func ParseEntries(entries []fhir.BundleEntry, base string) ([]Entry, error) {
	ops := make([]Entry, len(entries))
	for i, e := range entries {
		op, err := parseEntry(i, e, base)
		if err != nil {
			return nil, err
		}
		ops[i] = op
	}
	return ops, nil
}

func parseEntry(i int, e fhir.BundleEntry, base string) (Entry, error) {
	at := fmt.Sprintf("Bundle.entry[%d]", i)
	if e.Request == nil {
		return Entry{}, fhir.ErrorAt(fhir.KindInvalid, fhir.IssueRequired, at+".request", "every entry needs a request")
	}
	op := Entry{Index: i, Method: e.Request.Method, FullURL: e.FullURL}
	u, err := url.Parse(e.Request.URL)
	if err != nil || e.Request.URL == "" {
		return Entry{}, fhir.ErrorAt(fhir.KindInvalid, fhir.IssueValue, at+".request.url", "invalid request url %q", e.Request.URL)
	}
	path := u.Path
	if u.IsAbs() {
		rel, ok := strings.CutPrefix(e.Request.URL, base+"/")
		if !ok {
			return Entry{}, fhir.ErrorAt(fhir.KindInvalid, fhir.IssueValue, at+".request.url", "%q is not on this server", e.Request.URL)
		}
		path = rel
	}
	segs := splitPath(path)
	if len(segs) == 0 || !fhir.IsResourceType(segs[0]) {
		return Entry{}, fhir.ErrorAt(fhir.KindInvalid, fhir.IssueValue, at+".request.url", "%q does not name a resource type", e.Request.URL)
	}
	op.Type = segs[0]
	if len(segs) > 1 {
		op.ID = segs[1]
		if !fhir.ValidID(op.ID) {
			return Entry{}, fhir.ErrorAt(fhir.KindInvalid, fhir.IssueValue, at+".request.url", "%q is not a valid id", op.ID)
		}
	}
	if e.Request.IfNoneExist != "" {
		if op.Method != MethodPost {
			return Entry{}, fhir.ErrorAt(fhir.KindInvalid, fhir.IssueInvalid, at+".request.ifNoneExist", "ifNoneExist is for POST entries")
		}
		op.Criteria = Criteria(op.Type, e.Request.IfNoneExist)
	}
	want := 2
	if u.RawQuery != "" {
		switch op.Method {
		case MethodGet, "HEAD":
			op.Search = u.Query()
		case MethodPut, MethodPatch, MethodDelete:
			op.Criteria = Criteria(op.Type, u.RawQuery)
		default:
			return Entry{}, fhir.ErrorAt(fhir.KindInvalid, fhir.IssueInvalid, at+".request.url",
				"a POST url takes no query; use request.ifNoneExist for a conditional create")
		}
		want = 1
	}
	switch op.Method {
	case MethodPost:
		want = 1
	case MethodGet, "HEAD":
		op.Method = MethodGet
		if op.Search != nil {
			break
		}
		if len(segs) == 4 && segs[2] == "_history" {
			op.Version, err = strconv.ParseInt(segs[3], 10, 64)
			if err != nil || op.Version < 1 {
				return Entry{}, fhir.ErrorAt(fhir.KindInvalid, fhir.IssueValue, at+".request.url", "invalid version in %q", e.Request.URL)
			}
			want = 4
		}
	case MethodPut, MethodDelete, MethodPatch:
	default:
		return Entry{}, fhir.ErrorAt(fhir.KindInvalid, fhir.IssueValue, at+".request.method", "unsupported method %q", op.Method)
	}
	if op.Method == MethodGet && len(segs) == 1 && op.Search == nil {
		op.Search = url.Values{} // GET Type: search without criteria
		want = 1
	}
	if len(segs) != want {
		return Entry{}, fhir.ErrorAt(fhir.KindInvalid, fhir.IssueValue, at+".request.url", "%s needs a url of the form %s", op.Method, urlShape(op.Method))
	}
	if e.Request.IfMatch != "" {
		if op.IfMatch, err = fhir.ParseETag(e.Request.IfMatch); err != nil {
			return Entry{}, AtEntry(err, i)
		}
	}
	switch op.Method {
	case MethodPost, MethodPut:
		if len(e.Resource) == 0 {
			return Entry{}, fhir.ErrorAt(fhir.KindInvalid, fhir.IssueRequired, at+".resource", "%s needs a resource", op.Method)
		}
		op.Body = e.Resource
	case MethodPatch:
		if op.Body, err = patchFromBinary(e.Resource); err != nil {
			return Entry{}, AtEntry(err, i)
		}
	}
	return op, nil
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

func urlShape(method string) string {
	switch method {
	case MethodPost:
		return "Type"
	case MethodGet:
		return "Type?params, Type/id or Type/id/_history/vid"
	}
	return "Type/id or Type?criteria"
}

// patchFromBinary reads a JSON Patch carried as a Binary resource, as FHIR bundles do.
func patchFromBinary(raw json.RawMessage) ([]byte, error) {
	var bin struct {
		ResourceType string `json:"resourceType"`
		ContentType  string `json:"contentType"`
		Data         string `json:"data"`
	}
	if err := json.Unmarshal(raw, &bin); err != nil || bin.ResourceType != "Binary" || bin.ContentType != MediaJSONPatch {
		return nil, fhir.ErrorAt(fhir.KindInvalid, fhir.IssueNotSupported, "resource",
			"a PATCH entry carries a Binary with contentType %s", MediaJSONPatch)
	}
	b, err := base64.StdEncoding.DecodeString(bin.Data)
	if err != nil {
		return nil, fhir.ErrorAt(fhir.KindInvalid, fhir.IssueValue, "resource.data", "Binary.data is not base64")
	}
	return b, nil
}

// Transaction runs the entries of a transaction Bundle all or nothing, in the FHIR
// processing order (DELETE, POST, PUT and PATCH, then GET), and returns the outcome of each
// entry in the order of entries. An error fails the whole transaction (nothing is written)
// and names the entry at fault in its issues.
//
// Every entry is decided by the guard before anything is stored; urn:uuid references to
// the entries' fullUrls and conditional references ("Patient?identifier=…", which must
// select exactly one resource the caller may see) are resolved; conditional entries are
// serialised with the conditional-write locks; everything is committed in one store.Commit.
// GET Type?params entries run after the commit through search (nil refuses them).
func (in *Ingester) Transaction(ctx context.Context, req *Request, entries []fhir.BundleEntry, search SearchEntry) ([]Outcome, error) {
	c := in.start(ctx, req)
	out, err := c.transactionEntries(entries, search)
	status := statusOK
	if err != nil {
		status = statusOf(Outcome{}, err)
	}
	return out, c.finish(what{interaction: "bundle"}, status, err)
}

// Batch runs each entry of a batch Bundle on its own, as a transaction of one entry: the
// outcome of a failed entry carries its error (Outcome.Err). The error is the call's own
// failure (its audit record could not be written).
func (in *Ingester) Batch(ctx context.Context, req *Request, entries []fhir.BundleEntry, search SearchEntry) ([]Outcome, error) {
	c := in.start(ctx, req)
	out := make([]Outcome, len(entries))
	for i, e := range entries {
		op, err := parseEntry(i, e, req.Base)
		var res []Outcome
		if err == nil {
			res, err = c.transaction([]Entry{op}, search)
		}
		if err != nil {
			out[i] = Outcome{Err: err}
			continue
		}
		out[i] = res[0]
	}
	return out, c.finish(what{interaction: "bundle"}, statusOK, nil)
}

func (c *call) transactionEntries(entries []fhir.BundleEntry, search SearchEntry) ([]Outcome, error) {
	ops, err := ParseEntries(entries, c.req.Base)
	if err != nil {
		return nil, err
	}
	return c.transaction(ops, search)
}

// transaction runs parsed entries all or nothing (Transaction).
func (c *call) transaction(ops []Entry, search SearchEntry) ([]Outcome, error) {
	var criteria []string
	for _, op := range ops {
		if op.Criteria != "" {
			criteria = append(criteria, op.Type, op.Criteria)
		}
	}
	if len(criteria) > 0 {
		unlock, err := c.conditionalLock(c.ctx, criteria...)
		if err != nil {
			return nil, err
		}
		defer unlock()
	}
	if err := c.resolveConditionals(ops); err != nil {
		return nil, err
	}
	// Assign ids and map fullUrls to the resources they become.
	repl := map[string]string{}
	touched := map[store.Key]int{}
	for i := range ops {
		op := &ops[i]
		if op.Method == MethodPost && op.existing == nil {
			op.ID = c.newID()
		}
		if op.Method != MethodGet && op.existing == nil && !op.noop {
			k := store.Key{Type: op.Type, ID: op.ID}
			if j, dup := touched[k]; dup {
				return nil, fhir.ErrorAt(fhir.KindInvalid, fhir.IssueDuplicate, fmt.Sprintf("Bundle.entry[%d]", op.Index),
					"%s is also changed by Bundle.entry[%d]; a transaction may change a resource once", k, ops[j].Index)
			}
			touched[k] = i
		}
		if op.FullURL != "" && (op.Method == MethodPost || op.Method == MethodPut) {
			repl[op.FullURL] = op.Type + "/" + op.ID
		}
	}
	if err := c.resolveConditionalRefs(ops, repl); err != nil {
		return nil, err
	}
	written := func(k store.Key) bool { _, ok := touched[k]; return ok }

	// Authorize and prepare every write before anything is stored.
	var writes []store.Write
	var writeOp []int                        // writes[k] comes from ops[writeOp[k]]
	current := map[store.Key]fhir.Resource{} // what the transaction leaves current, for its reads
	results := make([]Outcome, len(ops))
	for _, pass := range []string{MethodDelete, MethodPost, MethodPut, MethodPatch} {
		for i, op := range ops {
			if op.Method != pass {
				continue
			}
			if op.existing != nil {
				results[i] = Outcome{Resource: *op.existing, Existing: true}
				continue
			}
			if op.noop {
				results[i] = Outcome{Noop: true}
				continue
			}
			p, noop, err := c.entryWrite(op, repl, written)
			if err != nil {
				return nil, AtEntry(err, op.Index)
			}
			if noop {
				results[i] = Outcome{Noop: true}
				continue
			}
			if p.unchanged != nil {
				results[i] = Outcome{Resource: *p.unchanged, Unchanged: true}
				current[store.Key{Type: op.Type, ID: op.ID}] = *p.unchanged
				continue
			}
			writes = append(writes, p.w)
			writeOp = append(writeOp, i)
		}
	}
	// Reads of resources the transaction does not change are done before the commit, so a
	// failing read fails the whole transaction without anything written; reads of resources it
	// writes are answered from the commit below. Searches come last, as FHIR orders them, and
	// see the transaction's writes: they are checked and authorized here, and run after the
	// commit.
	searches := make([]func() ([]byte, error), len(ops)) // by op
	for i, op := range ops {
		if op.Method != MethodGet {
			continue
		}
		if op.Search != nil {
			if search == nil {
				return nil, AtEntry(fhir.Errorf(fhir.KindInvalid, fhir.IssueNotSupported, "search entries are not supported here"), op.Index)
			}
			run, err := search(op)
			if err != nil {
				return nil, AtEntry(err, op.Index)
			}
			searches[i] = run
			continue
		}
		if err := c.allow(auth.OpRead, auth.Type(op.Type)); err != nil {
			return nil, AtEntry(err, op.Index)
		}
		if written(store.Key{Type: op.Type, ID: op.ID}) && op.Version == 0 {
			continue // answered from the commit, whose writes were decided above
		}
		res, err := c.readVersion(op)
		if err != nil {
			return nil, AtEntry(err, op.Index)
		}
		results[i] = Outcome{Resource: res, Read: true}
	}

	if len(writes) > 0 || len(current) > 0 {
		var stored []store.Result
		var err error
		switch {
		case len(writes) > 0 && c.req.DryRun:
			for _, w := range writes {
				stored = append(stored, store.Result{Resource: fhir.Resource{Type: w.Type, ID: w.ID, Raw: w.Resource, Deleted: w.Action == store.Delete}})
			}
		case len(writes) > 0:
			stored, err = c.store.Commit(c.ctx, c.tenant(), writes)
		}
		if err != nil {
			var we *store.WriteError
			if errors.As(err, &we) && we.Index >= 0 && we.Index < len(writeOp) {
				return nil, AtEntry(err, ops[writeOp[we.Index]].Index)
			}
			return nil, err
		}
		for k, r := range stored {
			op := ops[writeOp[k]]
			results[writeOp[k]] = Outcome{Resource: r.Resource, Created: r.Created, Noop: r.Noop}
			current[store.Key{Type: op.Type, ID: op.ID}] = r.Resource
		}
		for i, op := range ops {
			if op.Method != MethodGet || op.Version != 0 || op.Search != nil {
				continue
			}
			if r, ok := current[store.Key{Type: op.Type, ID: op.ID}]; ok {
				if r.Deleted {
					results[i] = Outcome{Read: true, Err: fhir.Errorf(fhir.KindGone, fhir.IssueDeleted, "%s/%s was deleted by this transaction", op.Type, op.ID)}
				} else {
					results[i] = Outcome{Resource: r, Read: true}
				}
			}
		}
	}
	for i, run := range searches {
		if run == nil {
			continue
		}
		b, err := run()
		if err != nil {
			// The writes are committed: the transaction can no longer fail as a whole. The
			// entry says what went wrong (the store became unavailable, say).
			c.log.Warn("a search entry of a committed transaction failed", "tenant", c.tenant(), "entry", ops[i].Index, "err", err)
			results[i] = Outcome{Err: err}
			continue
		}
		results[i] = Outcome{Searchset: b}
	}
	return results, nil
}

// readVersion reads the version a GET entry names and decides it as a read or vread is
// decided: what the caller may not see is "not found".
func (c *call) readVersion(op Entry) (fhir.Resource, error) {
	var res fhir.Resource
	var err error
	if op.Version != 0 {
		res, err = c.store.VRead(c.ctx, c.tenant(), op.Type, op.ID, op.Version)
	} else {
		res, err = c.store.Read(c.ctx, c.tenant(), op.Type, op.ID)
	}
	if err != nil && !errors.Is(err, store.ErrGone) {
		return res, err
	}
	var cur *fhir.Resource
	if op.Version != 0 || err != nil {
		var cerr error
		if cur, cerr = store.LastWithBody(c.ctx, c.store, c.tenant(), op.Type, op.ID); cerr != nil {
			return res, cerr
		}
	}
	if aerr := c.allow(auth.OpRead, auth.Stored{Resource: res, Current: cur}); aerr != nil {
		return res, aerr
	}
	return res, err
}

// entryWrite authorizes and prepares the write of one entry, with bundle references resolved:
// the resource as stored now (a write must not take over what the caller may not touch) and
// the body to store are both decided. A delete of a resource the caller may not see is a
// no-op (noop true), as for one that does not exist. written tells the resources the
// transaction writes: they do not count as referrers of a delete, nor are their versions
// looked up.
func (c *call) entryWrite(op Entry, repl map[string]string, written func(store.Key) bool) (p prepared, noop bool, err error) {
	switch op.Method {
	case MethodDelete:
		if err := c.allow(auth.OpDelete, auth.Type(op.Type)); err != nil {
			return p, false, err
		}
		w, noop, err := c.prepareDelete(op.Type, op.ID, op.IfMatch)
		if err != nil || noop {
			return p, noop, err
		}
		if err := c.checkReferrers(op.Type, op.ID, written); err != nil {
			return p, false, err
		}
		return prepared{w: w}, false, nil
	case MethodPost:
		if err := c.allow(auth.OpCreate, auth.Type(op.Type)); err != nil {
			return p, false, err
		}
		p, err := c.prepare(op.Type, op.ID, MethodPost, op.body.replace(repl), true)
		if err != nil {
			return p, false, err
		}
		if err := c.allowBody(auth.OpCreate, p.w); err != nil {
			return p, false, err
		}
		return p, false, c.checkVersions(p, written)
	case MethodPut:
		if err := c.allow(auth.OpUpdate, auth.Type(op.Type)); err != nil {
			return p, false, err
		}
		p, err := c.prepare(op.Type, op.ID, MethodPut, op.body.replace(repl), op.Criteria != "")
		if err != nil {
			return p, false, err
		}
		p.w.IfMatch = op.IfMatch
		cur, err := c.allowStoredWrite(auth.OpUpdate, op.Type, op.ID)
		if err != nil {
			return p, false, err
		}
		if err := c.allowBody(auth.OpUpdate, p.w); err != nil {
			return p, false, err
		}
		p.unchanged = unchangedBy(cur, p.w)
		return p, false, c.checkVersions(p, written)
	case MethodPatch:
		for _, o := range []auth.Op{auth.OpUpdate, auth.OpRead} {
			if err := c.allow(o, auth.Type(op.Type)); err != nil {
				return p, false, err
			}
		}
		p, err := c.preparePatch(op.Type, op.ID, op.Body, op.IfMatch, repl)
		if err != nil {
			return p, false, err
		}
		return p, false, c.checkVersions(p, written)
	}
	return p, false, fmt.Errorf("ingest: no write for method %s", op.Method)
}

// resolveConditionals runs the searches of conditional entries and turns each into a plain
// one: a conditional create that matches becomes a reference to the existing resource, a
// conditional update or patch gets the matching id (or, for an update without a match, the
// body's id or a new one), a conditional delete without a match becomes a no-op. More than
// one match fails the transaction (412).
func (c *call) resolveConditionals(ops []Entry) error {
	for i := range ops {
		op := &ops[i]
		if op.Criteria == "" {
			continue
		}
		matches, err := c.matches(op.Type, op.Criteria)
		if err != nil {
			return AtEntry(err, op.Index)
		}
		if len(matches) > 1 {
			return AtEntry(multipleMatches(op.Type, op.Criteria, len(matches)), op.Index)
		}
		var match *fhir.Resource
		if len(matches) == 1 {
			match = &matches[0]
		}
		switch op.Method {
		case MethodPost:
			if match != nil {
				op.existing, op.ID = match, match.ID
			}
		case MethodPut:
			if match != nil {
				op.ID = match.ID
				if op.IfMatch == 0 {
					op.IfMatch = match.Version
				}
				break
			}
			b, err := c.entryBody(op)
			if err != nil {
				return err
			}
			if op.ID = b.head.ID; op.ID == "" {
				op.ID = c.newID()
			}
		case MethodPatch:
			if match == nil {
				return AtEntry(fhir.Errorf(fhir.KindNotFound, fhir.IssueNotFound, "no %s matches %s", op.Type, op.Criteria), op.Index)
			}
			op.ID = match.ID
		case MethodDelete:
			if match == nil {
				if err := c.allow(auth.OpDelete, auth.Type(op.Type)); err != nil {
					return AtEntry(err, op.Index)
				}
				op.noop = true
				break
			}
			op.ID = match.ID
			if op.IfMatch == 0 {
				op.IfMatch = match.Version
			}
		}
	}
	return nil
}

// entryBody reads the body of a POST or PUT entry, once.
func (c *call) entryBody(op *Entry) (*body, error) {
	if op.body == nil {
		b, err := c.parse(op.Body)
		if err != nil {
			return nil, AtEntry(err, op.Index)
		}
		op.body = &b
	}
	return op.body, nil
}

// resolveConditionalRefs finds conditional references ("Patient?identifier=…") in the
// resources of the entries and maps each to the one resource it selects (412 when none or
// several do), by adding to repl.
func (c *call) resolveConditionalRefs(ops []Entry, repl map[string]string) error {
	for i := range ops {
		op := &ops[i]
		if op.Method != MethodPost && op.Method != MethodPut {
			continue
		}
		b, err := c.entryBody(op)
		if err != nil {
			return err
		}
		for _, ref := range scanRefs(b.tree, c.req.Base).conditional {
			if _, done := repl[ref.ref]; done {
				continue
			}
			typ, criteria, _ := strings.Cut(ref.ref, "?")
			if !fhir.IsResourceType(typ) {
				return AtEntry(fhir.Errorf(fhir.KindInvalid, fhir.IssueInvalid, "conditional reference %q does not start with a resource type", ref.ref), op.Index)
			}
			matches, err := c.matches(typ, criteria)
			if err != nil {
				return AtEntry(err, op.Index)
			}
			if len(matches) != 1 {
				return AtEntry(fhir.Errorf(fhir.KindPreconditionFailed, fhir.IssueNotFound,
					"conditional reference %q matches %d resources; it must match exactly one", ref.ref, len(matches)), op.Index)
			}
			repl[ref.ref] = typ + "/" + matches[0].ID
		}
	}
	return nil
}
