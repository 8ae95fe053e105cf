package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/kodomohub/kodomohub/auth"
	"github.com/kodomohub/kodomohub/fhir"
	"github.com/kodomohub/kodomohub/fhir/fhirpath"
	"github.com/kodomohub/kodomohub/fhir/search"
	"github.com/kodomohub/kodomohub/store"
)

// entryOp is one bundle entry turned into an interaction.
type entryOp struct {
	index   int
	method  string
	typ, id string
	vid     int64
	fullURL string
	body    []byte // resource for POST/PUT, patch document for PATCH
	ifMatch int64
	// criteria are the search criteria of a conditional entry (ifNoneExist of a POST, the
	// query of a PUT, PATCH or DELETE url); search is the query of a GET search entry.
	criteria string
	search   url.Values
	// existing is the match of a conditional create (nothing is written); noop marks a
	// conditional delete that matched nothing.
	existing *fhir.Resource
	noop     bool
}

// bundle processes a transaction or batch posted to the base URL.
func (rc *reqContext) bundle() {
	if err := checkContentType(rc.c.Request, mimeFHIRJSON, mimeJSON); err != nil {
		rc.fail(err)
		return
	}
	body, err := rc.readBody(rc.c)
	if err != nil {
		rc.fail(err)
		return
	}
	head, err := fhir.Parse(body, fhir.Limits{MaxDepth: rc.limits.MaxDepth})
	if err != nil {
		rc.fail(err)
		return
	}
	if head.ResourceType != "Bundle" {
		rc.fail(fhir.ErrorAt(http.StatusBadRequest, fhir.IssueInvalid, "resourceType",
			"the base URL accepts a transaction or batch Bundle, not a %s", head.ResourceType))
		return
	}
	var b fhir.Bundle
	if err := json.Unmarshal(body, &b); err != nil {
		rc.fail(fhir.Wrap(err, http.StatusBadRequest, fhir.IssueStructure, "invalid Bundle: %v", err))
		return
	}
	if len(b.Entry) > rc.limits.MaxBundleEntries {
		rc.fail(fhir.ErrorAt(http.StatusRequestEntityTooLarge, fhir.IssueTooCostly, "Bundle.entry",
			"the bundle has %d entries; at most %d are accepted", len(b.Entry), rc.limits.MaxBundleEntries))
		return
	}
	// Every entry is a request for the rate limit (the bundle itself counted as one).
	if p := rc.view.Principal(); len(b.Entry) > 1 {
		if ok, wait := rc.limiter.AllowN(p.RateKey(), p.Rate, len(b.Entry)-1); !ok {
			rc.metrics.rateLimited.Inc()
			rc.audit.decided(auth.Decision{Reason: "rate limit exceeded by the bundle's entries"})
			rc.tooMany(rc.c, wait, fmt.Sprintf("the bundle's %d entries exceed this client's request rate", len(b.Entry)))
			return
		}
	}
	switch b.Type {
	case "transaction":
		ops, err := rc.parseEntries(b.Entry)
		if err != nil {
			rc.fail(err)
			return
		}
		entries, err := rc.transaction(ops)
		if err != nil {
			rc.fail(err)
			return
		}
		rc.writeBundle(&fhir.Bundle{ResourceType: "Bundle", ID: rc.newID(),
			Type: "transaction-response", Timestamp: fhir.FormatInstant(rc.now()), Entry: entries})
	case "batch":
		out := make([]fhir.BundleEntry, len(b.Entry))
		for i, e := range b.Entry {
			ops, err := rc.parseEntries([]fhir.BundleEntry{e})
			var entries []fhir.BundleEntry
			if err == nil {
				ops[0].index = i
				entries, err = rc.transaction(ops)
			}
			if err != nil {
				out[i] = errorEntry(err)
				continue
			}
			out[i] = entries[0]
		}
		rc.writeBundle(&fhir.Bundle{ResourceType: "Bundle", ID: rc.newID(),
			Type: "batch-response", Timestamp: fhir.FormatInstant(rc.now()), Entry: out})
	default:
		rc.fail(fhir.ErrorAt(http.StatusBadRequest, fhir.IssueInvalid, "Bundle.type",
			"the base URL accepts Bundle.type transaction or batch, not %q", b.Type))
	}
}

func errorEntry(err error) fhir.BundleEntry {
	status, oo := fhir.Outcome(storeError(err))
	return fhir.BundleEntry{Response: &fhir.BundleResponse{
		Status: statusLine(status), Outcome: fhir.MarshalOutcome(oo)}}
}

func statusLine(code int) string { return strconv.Itoa(code) + " " + http.StatusText(code) }

// parseEntries reads the request of each entry.
func (rc *reqContext) parseEntries(entries []fhir.BundleEntry) ([]entryOp, error) {
	ops := make([]entryOp, len(entries))
	for i, e := range entries {
		at := fmt.Sprintf("Bundle.entry[%d]", i)
		if e.Request == nil {
			return nil, fhir.ErrorAt(http.StatusBadRequest, fhir.IssueRequired, at+".request", "every entry needs a request")
		}
		op := entryOp{index: i, method: e.Request.Method, fullURL: e.FullURL}
		u, err := url.Parse(e.Request.URL)
		if err != nil || e.Request.URL == "" {
			return nil, fhir.ErrorAt(http.StatusBadRequest, fhir.IssueValue, at+".request.url", "invalid request url %q", e.Request.URL)
		}
		path := u.Path
		if u.IsAbs() {
			rel, ok := strings.CutPrefix(e.Request.URL, rc.base+"/")
			if !ok {
				return nil, fhir.ErrorAt(http.StatusBadRequest, fhir.IssueValue, at+".request.url", "%q is not on this server", e.Request.URL)
			}
			path = rel
		}
		segs := splitPath(path)
		if len(segs) == 0 || !fhir.IsResourceType(segs[0]) {
			return nil, fhir.ErrorAt(http.StatusBadRequest, fhir.IssueValue, at+".request.url", "%q does not name a resource type", e.Request.URL)
		}
		op.typ = segs[0]
		if len(segs) > 1 {
			op.id = segs[1]
			if !fhir.ValidID(op.id) {
				return nil, fhir.ErrorAt(http.StatusBadRequest, fhir.IssueValue, at+".request.url", "%q is not a valid id", op.id)
			}
		}
		if e.Request.IfNoneExist != "" {
			if op.method != http.MethodPost {
				return nil, fhir.ErrorAt(http.StatusBadRequest, fhir.IssueInvalid, at+".request.ifNoneExist", "ifNoneExist is for POST entries")
			}
			op.criteria = conditionalCriteria(op.typ, e.Request.IfNoneExist)
		}
		want := 2
		if u.RawQuery != "" {
			switch op.method {
			case http.MethodGet, http.MethodHead:
				op.search = u.Query()
			case http.MethodPut, http.MethodPatch, http.MethodDelete:
				op.criteria = conditionalCriteria(op.typ, u.RawQuery)
			default:
				return nil, fhir.ErrorAt(http.StatusBadRequest, fhir.IssueInvalid, at+".request.url",
					"a POST url takes no query; use request.ifNoneExist for a conditional create")
			}
			want = 1
		}
		switch op.method {
		case http.MethodPost:
			want = 1
		case http.MethodGet, http.MethodHead:
			op.method = http.MethodGet
			if op.search != nil {
				break
			}
			if len(segs) == 4 && segs[2] == "_history" {
				op.vid, err = strconv.ParseInt(segs[3], 10, 64)
				if err != nil || op.vid < 1 {
					return nil, fhir.ErrorAt(http.StatusBadRequest, fhir.IssueValue, at+".request.url", "invalid version in %q", e.Request.URL)
				}
				want = 4
			}
		case http.MethodPut, http.MethodDelete, http.MethodPatch:
		default:
			return nil, fhir.ErrorAt(http.StatusBadRequest, fhir.IssueValue, at+".request.method", "unsupported method %q", op.method)
		}
		if op.method == http.MethodGet && len(segs) == 1 && op.search == nil {
			op.search = url.Values{} // GET Type: search without criteria
			want = 1
		}
		if len(segs) != want {
			return nil, fhir.ErrorAt(http.StatusBadRequest, fhir.IssueValue, at+".request.url", "%s needs a url of the form %s", op.method, urlShape(op.method))
		}
		if e.Request.IfMatch != "" {
			if op.ifMatch, err = fhir.ParseETag(e.Request.IfMatch); err != nil {
				return nil, atEntry(err, i)
			}
		}
		switch op.method {
		case http.MethodPost, http.MethodPut:
			if len(e.Resource) == 0 {
				return nil, fhir.ErrorAt(http.StatusBadRequest, fhir.IssueRequired, at+".resource", "%s needs a resource", op.method)
			}
			op.body = e.Resource
		case http.MethodPatch:
			if op.body, err = patchFromBinary(e.Resource); err != nil {
				return nil, atEntry(err, i)
			}
		}
		ops[i] = op
	}
	return ops, nil
}

func urlShape(method string) string {
	switch method {
	case http.MethodPost:
		return "Type"
	case http.MethodGet:
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
	if err := json.Unmarshal(raw, &bin); err != nil || bin.ResourceType != "Binary" || bin.ContentType != mimeJSONPatch {
		return nil, fhir.ErrorAt(http.StatusBadRequest, fhir.IssueNotSupported, "resource",
			"a PATCH entry carries a Binary with contentType %s", mimeJSONPatch)
	}
	b, err := base64.StdEncoding.DecodeString(bin.Data)
	if err != nil {
		return nil, fhir.ErrorAt(http.StatusBadRequest, fhir.IssueValue, "resource.data", "Binary.data is not base64")
	}
	return b, nil
}

// atEntry rewrites err's issues to point into Bundle.entry[i].
func atEntry(err error, i int) error {
	err = storeError(err)
	fe := fhir.AsError(err)
	if fe == nil {
		return err
	}
	out := &fhir.Error{Status: fe.Status, Err: fe.Err}
	prefix := fmt.Sprintf("Bundle.entry[%d]", i)
	for _, is := range fe.Issues {
		is.Diagnostics = prefix + ": " + is.Diagnostics
		exprs := make([]string, 0, len(is.Expression))
		for _, e := range is.Expression {
			if strings.HasPrefix(e, "Bundle.entry[") {
				exprs = append(exprs, e)
				continue
			}
			if _, rest, ok := strings.Cut(e, "."); ok && len(e) > 0 && e[0] >= 'A' && e[0] <= 'Z' {
				e = rest
			}
			exprs = append(exprs, prefix+".resource."+e)
		}
		is.Expression = exprs
		out.Issues = append(out.Issues, is)
	}
	return out
}

// transaction runs ops all or nothing in the FHIR processing order (DELETE, POST, PUT and
// PATCH, then GET) and returns the response entries in the order of ops.
func (rc *reqContext) transaction(ops []entryOp) ([]fhir.BundleEntry, error) {
	ctx := rc.c.Request.Context()
	var criteria []string
	for _, op := range ops {
		if op.criteria != "" {
			criteria = append(criteria, op.typ, op.criteria)
		}
	}
	if len(criteria) > 0 {
		unlock, err := rc.conditionalLock(ctx, criteria...)
		if err != nil {
			return nil, err
		}
		defer unlock()
	}
	if err := rc.resolveConditionals(ctx, ops); err != nil {
		return nil, err
	}
	// Assign ids and map fullUrls to the resources they become.
	repl := map[string]string{}
	touched := map[store.Key]int{}
	for i := range ops {
		op := &ops[i]
		if op.method == http.MethodPost && op.existing == nil {
			op.id = rc.newID()
		}
		if op.method != http.MethodGet && op.existing == nil && !op.noop {
			k := store.Key{Type: op.typ, ID: op.id}
			if j, dup := touched[k]; dup {
				return nil, fhir.ErrorAt(http.StatusBadRequest, fhir.IssueDuplicate, fmt.Sprintf("Bundle.entry[%d]", op.index),
					"%s is also changed by Bundle.entry[%d]; a transaction may change a resource once", k, ops[j].index)
			}
			touched[k] = i
		}
		if op.fullURL != "" && (op.method == http.MethodPost || op.method == http.MethodPut) {
			repl[op.fullURL] = op.typ + "/" + op.id
		}
	}
	if err := rc.resolveConditionalRefs(ctx, ops, repl); err != nil {
		return nil, err
	}

	// Authorize and prepare every write before anything is stored.
	var writes []store.Write
	var writeOp []int // writes[k] comes from ops[writeOp[k]]
	results := make([]fhir.BundleEntry, len(ops))
	for _, pass := range []string{http.MethodDelete, http.MethodPost, http.MethodPut, http.MethodPatch} {
		for i, op := range ops {
			if op.method != pass {
				continue
			}
			if op.existing != nil {
				results[i] = rc.existingEntry(*op.existing)
				continue
			}
			if op.noop {
				results[i] = fhir.BundleEntry{Response: &fhir.BundleResponse{Status: "204 No Content"}}
				continue
			}
			w, noop, err := rc.entryWrite(op, repl)
			if err != nil {
				return nil, atEntry(err, op.index)
			}
			if noop {
				results[i] = fhir.BundleEntry{Response: &fhir.BundleResponse{Status: "204 No Content"}}
				continue
			}
			writes = append(writes, w)
			writeOp = append(writeOp, i)
		}
	}
	// Reads of resources the transaction does not change are done before the commit, so a
	// failing read fails the whole transaction without anything written; reads of resources it
	// writes are answered from the commit below. Searches come last, as FHIR orders them, and
	// see the transaction's writes: they are checked and authorized here, and run after the
	// commit.
	searches := make([]*search.Query, len(ops)) // by op
	for i, op := range ops {
		if op.method != http.MethodGet {
			continue
		}
		if op.search != nil {
			q, err := rc.prepareSearchEntry(op)
			if err != nil {
				return nil, atEntry(err, op.index)
			}
			searches[i] = q
			continue
		}
		if err := rc.allow(auth.OpRead, auth.Type(op.typ)); err != nil {
			return nil, atEntry(err, op.index)
		}
		if _, changed := touched[store.Key{Type: op.typ, ID: op.id}]; changed && op.vid == 0 {
			continue // answered from the commit, whose writes were decided above
		}
		res, err := rc.readVersion(op)
		if err != nil {
			return nil, atEntry(err, op.index)
		}
		results[i] = readEntry(res)
	}

	if len(writes) > 0 {
		stored, err := rc.store.Commit(ctx, rc.tenant.ID, writes)
		if err != nil {
			var we *store.WriteError
			if errors.As(err, &we) && we.Index >= 0 && we.Index < len(writeOp) {
				return nil, atEntry(err, ops[writeOp[we.Index]].index)
			}
			return nil, err
		}
		current := map[store.Key]fhir.Resource{}
		for k, r := range stored {
			op := ops[writeOp[k]]
			results[writeOp[k]] = rc.writeEntry(r)
			current[store.Key{Type: op.typ, ID: op.id}] = r.Resource
		}
		for i, op := range ops {
			if op.method != http.MethodGet || op.vid != 0 || op.search != nil {
				continue
			}
			if r, ok := current[store.Key{Type: op.typ, ID: op.id}]; ok {
				if r.Deleted {
					results[i] = errorEntry(fhir.Errorf(http.StatusGone, fhir.IssueDeleted, "%s/%s was deleted by this transaction", op.typ, op.id))
				} else {
					results[i] = readEntry(r)
				}
			}
		}
	}
	for i, q := range searches {
		if q == nil {
			continue
		}
		entry, err := rc.searchEntry(ops[i], q)
		if err != nil {
			// The writes are committed: the transaction can no longer fail as a whole. The
			// entry says what went wrong (the store became unavailable, say).
			rc.log.Warn("a search entry of a committed transaction failed", "tenant", rc.tenant.ID, "entry", ops[i].index, "err", err)
			entry = errorEntry(err)
		}
		results[i] = entry
	}
	return results, nil
}

// readVersion reads the version a GET entry names and decides it as a read or vread is
// decided (answerRead): what the caller may not see is "not found".
func (rc *reqContext) readVersion(op entryOp) (fhir.Resource, error) {
	ctx := rc.c.Request.Context()
	var res fhir.Resource
	var err error
	if op.vid != 0 {
		res, err = rc.store.VRead(ctx, rc.tenant.ID, op.typ, op.id, op.vid)
	} else {
		res, err = rc.store.Read(ctx, rc.tenant.ID, op.typ, op.id)
	}
	if err != nil && !errors.Is(err, store.ErrGone) {
		return res, err
	}
	var cur *fhir.Resource
	if op.vid != 0 || err != nil {
		var cerr error
		if cur, cerr = rc.lastBody(op.typ, op.id); cerr != nil {
			return res, cerr
		}
	}
	if aerr := rc.allow(auth.OpRead, auth.Stored{Resource: res, Current: cur}); aerr != nil {
		return res, aerr
	}
	return res, err
}

// entryWrite authorizes and prepares the write of one entry, with bundle references resolved:
// the resource as stored now (a write must not take over what the caller may not touch) and
// the body to store are both decided. A delete of a resource the caller may not see is a
// no-op (noop true), as for one that does not exist.
func (rc *reqContext) entryWrite(op entryOp, repl map[string]string) (w store.Write, noop bool, err error) {
	ctx := rc.c.Request.Context()
	switch op.method {
	case http.MethodDelete:
		if err := rc.allow(auth.OpDelete, auth.Type(op.typ)); err != nil {
			return w, false, err
		}
		cur, err := rc.store.Read(ctx, rc.tenant.ID, op.typ, op.id)
		switch {
		case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrGone):
			return w, true, nil
		case err != nil:
			return w, false, err
		}
		if err := rc.allow(auth.OpDelete, auth.Stored{Resource: cur}); errors.Is(err, store.ErrNotFound) {
			return w, true, nil
		} else if err != nil {
			return w, false, err
		}
		return store.Write{Type: op.typ, ID: op.id, Action: store.Delete, IfMatch: op.ifMatch}, false, nil
	case http.MethodPost:
		if err := rc.allow(auth.OpCreate, auth.Type(op.typ)); err != nil {
			return w, false, err
		}
		w, err := rc.prepare(op.typ, op.id, store.Create, replaceStrings(op.body, repl), rc.base, true)
		if err != nil {
			return w, false, err
		}
		return w, false, rc.allowBody(auth.OpCreate, w)
	case http.MethodPut:
		if err := rc.allow(auth.OpUpdate, auth.Type(op.typ)); err != nil {
			return w, false, err
		}
		w, err := rc.prepare(op.typ, op.id, store.Update, replaceStrings(op.body, repl), rc.base, op.criteria != "")
		if err != nil {
			return w, false, err
		}
		w.IfMatch = op.ifMatch
		if err := rc.allowStoredWrite(auth.OpUpdate, op.typ, op.id); err != nil {
			return w, false, err
		}
		return w, false, rc.allowBody(auth.OpUpdate, w)
	case http.MethodPatch:
		for _, o := range []auth.Op{auth.OpUpdate, auth.OpRead} {
			if err := rc.allow(o, auth.Type(op.typ)); err != nil {
				return w, false, err
			}
		}
		cur, err := rc.store.Read(ctx, rc.tenant.ID, op.typ, op.id)
		if errors.Is(err, store.ErrGone) {
			err = rc.goneOrHidden(cur)
		}
		if err != nil {
			return w, false, err
		}
		if err := rc.allow(auth.OpRead, auth.Stored{Resource: cur}); err != nil {
			return w, false, err
		}
		if err := rc.allowWrite(auth.OpUpdate, cur); err != nil {
			return w, false, err
		}
		if op.ifMatch != 0 && op.ifMatch != cur.Version {
			return w, false, store.ErrVersionConflict
		}
		patched, err := applyJSONPatch(cur.Raw, op.body)
		if err != nil {
			return w, false, err
		}
		w, err := rc.prepare(op.typ, op.id, store.Update, replaceStrings(patched, repl), rc.base, false)
		if err != nil {
			return w, false, err
		}
		w.IfMatch = cur.Version
		return w, false, rc.allowBody(auth.OpUpdate, w)
	}
	return w, false, fmt.Errorf("server: no write for method %s", op.method)
}

func readEntry(r fhir.Resource) fhir.BundleEntry {
	return fhir.BundleEntry{Resource: r.Raw, Response: &fhir.BundleResponse{
		Status: "200 OK", Etag: r.ETag(), LastModified: fhir.FormatInstant(r.LastUpdated)}}
}

// writeEntry is the response entry of a stored write, with the resource or an outcome as the
// client's Prefer header asks.
func (rc *reqContext) writeEntry(r store.Result) fhir.BundleEntry {
	res := r.Resource
	e := fhir.BundleEntry{Response: &fhir.BundleResponse{}}
	switch {
	case r.Noop:
		e.Response.Status = "204 No Content"
		return e
	case res.Deleted:
		e.Response.Status = "204 No Content"
		e.Response.Etag = res.ETag()
		return e
	case r.Created:
		e.Response.Status = "201 Created"
	default:
		e.Response.Status = "200 OK"
	}
	e.FullURL = rc.base + "/" + res.Type + "/" + res.ID
	e.Response.Location = res.Type + "/" + res.ID + "/_history/" + res.VersionID()
	e.Response.Etag = res.ETag()
	e.Response.LastModified = fhir.FormatInstant(res.LastUpdated)
	switch rc.prefer.Return {
	case "representation":
		if rc.view.Decide(auth.OpRead, auth.Stored{Resource: res}).Allowed {
			e.Resource = res.Raw
		}
	case "OperationOutcome":
		e.Response.Outcome = fhir.MarshalOutcome(fhir.Info("stored " + res.Type + "/" + res.ID))
	}
	return e
}

// resolveConditionals runs the searches of conditional entries and turns each into a plain
// one: a conditional create that matches becomes a reference to the existing resource, a
// conditional update or patch gets the matching id (or, for an update without a match, the
// body's id or a new one), a conditional delete without a match becomes a no-op. More than
// one match fails the transaction (412).
func (rc *reqContext) resolveConditionals(ctx context.Context, ops []entryOp) error {
	for i := range ops {
		op := &ops[i]
		if op.criteria == "" {
			continue
		}
		matches, err := rc.conditionalMatches(ctx, op.typ, op.criteria)
		if err != nil {
			return atEntry(err, op.index)
		}
		if len(matches) > 1 {
			return atEntry(multipleMatches(op.typ, op.criteria, len(matches)), op.index)
		}
		var match *fhir.Resource
		if len(matches) == 1 {
			match = &matches[0]
		}
		switch op.method {
		case http.MethodPost:
			if match != nil {
				op.existing, op.id = match, match.ID
			}
		case http.MethodPut:
			if match != nil {
				op.id = match.ID
				if op.ifMatch == 0 {
					op.ifMatch = match.Version
				}
				break
			}
			head, err := fhir.Parse(op.body, fhir.Limits{MaxDepth: rc.limits.MaxDepth})
			if err != nil {
				return atEntry(err, op.index)
			}
			if op.id = head.ID; op.id == "" {
				op.id = rc.newID()
			}
		case http.MethodPatch:
			if match == nil {
				return atEntry(fhir.Errorf(http.StatusNotFound, fhir.IssueNotFound, "no %s matches %s", op.typ, op.criteria), op.index)
			}
			op.id = match.ID
		case http.MethodDelete:
			if match == nil {
				if err := rc.allow(auth.OpDelete, auth.Type(op.typ)); err != nil {
					return atEntry(err, op.index)
				}
				op.noop = true
				break
			}
			op.id = match.ID
			if op.ifMatch == 0 {
				op.ifMatch = match.Version
			}
		}
	}
	return nil
}

// resolveConditionalRefs finds conditional references ("Patient?identifier=…") in the
// resources of the entries and maps each to the one resource it selects (412 when none or
// several do), by adding to repl.
func (rc *reqContext) resolveConditionalRefs(ctx context.Context, ops []entryOp, repl map[string]string) error {
	for _, op := range ops {
		if op.method != http.MethodPost && op.method != http.MethodPut {
			continue
		}
		decoded, err := fhirpath.Decode(op.body)
		if err != nil {
			return atEntry(fhir.Wrap(err, http.StatusBadRequest, fhir.IssueStructure, "invalid JSON"), op.index)
		}
		for _, ref := range conditionalRefs(decoded) {
			if _, done := repl[ref]; done {
				continue
			}
			typ, criteria, _ := strings.Cut(ref, "?")
			if !fhir.IsResourceType(typ) {
				return atEntry(fhir.Errorf(http.StatusBadRequest, fhir.IssueInvalid, "conditional reference %q does not start with a resource type", ref), op.index)
			}
			matches, err := rc.conditionalMatches(ctx, typ, criteria)
			if err != nil {
				return atEntry(err, op.index)
			}
			if len(matches) != 1 {
				return atEntry(fhir.Errorf(http.StatusPreconditionFailed, fhir.IssueNotFound,
					"conditional reference %q matches %d resources; it must match exactly one", ref, len(matches)), op.index)
			}
			repl[ref] = typ + "/" + matches[0].ID
		}
	}
	return nil
}

// conditionalRefs returns the reference values of a resource that are searches.
func conditionalRefs(decoded any) []string {
	var out []string
	var walk func(any)
	walk = func(x any) {
		switch x := x.(type) {
		case map[string]any:
			for k, v := range x {
				if s, ok := v.(string); ok && k == "reference" && strings.Contains(s, "?") && !strings.Contains(s, "://") {
					out = append(out, s)
					continue
				}
				walk(v)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(decoded)
	return out
}

// existingEntry is the response entry of a conditional create that found its resource.
func (rc *reqContext) existingEntry(res fhir.Resource) fhir.BundleEntry {
	e := fhir.BundleEntry{FullURL: rc.base + "/" + res.Type + "/" + res.ID, Response: &fhir.BundleResponse{
		Status: "200 OK", Location: res.Type + "/" + res.ID + "/_history/" + res.VersionID(),
		Etag: res.ETag(), LastModified: fhir.FormatInstant(res.LastUpdated)}}
	if rc.prefer.Return == "representation" && rc.view.Decide(auth.OpRead, auth.Stored{Resource: res}).Allowed {
		e.Resource = res.Raw
	}
	return e
}

// prepareSearchEntry authorizes and parses the search of a GET Type?params entry.
func (rc *reqContext) prepareSearchEntry(op entryOp) (*search.Query, error) {
	if err := rc.allow(auth.OpSearch, auth.Type(op.typ)); err != nil {
		return nil, err
	}
	q, err := rc.parseQuery(op.typ, op.search)
	if err != nil {
		return nil, err
	}
	if _, err := decodePageCursor(q.Cursor); err != nil {
		return nil, err
	}
	return q, nil
}

// searchEntry runs the search q of a GET Type?params entry (prepareSearchEntry); the
// searchset is its resource.
func (rc *reqContext) searchEntry(op entryOp, q *search.Query) (fhir.BundleEntry, error) {
	b, err := rc.searchBundle(q, nil, op.typ)
	if err != nil {
		return fhir.BundleEntry{}, err
	}
	return fhir.BundleEntry{Resource: b.Encode(), Response: &fhir.BundleResponse{Status: "200 OK"}}, nil
}
