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
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/kodomohub/kodomohub/auth"
	"github.com/kodomohub/kodomohub/conformance"
	"github.com/kodomohub/kodomohub/fhir"
	"github.com/kodomohub/kodomohub/ingest"
	"github.com/kodomohub/kodomohub/server/httpstatus"
	"github.com/kodomohub/kodomohub/store"
)

// fhir dispatches every request under /{tenant}/fhir. Paths are parsed here rather than by
// the router so that all FHIR URL shapes (Type/id/_history/vid, _history, metadata, …) are
// handled in one place, and every miss is an OperationOutcome.
func (s *Server) fhir(c *gin.Context) {
	setInteraction(c, "unknown")
	if len(c.Request.RequestURI) > s.limits.MaxURLBytes {
		s.writeError(c, fhir.Errorf(fhir.KindURITooLong, fhir.IssueTooCostly,
			"the request URL has %d bytes; at most %d are accepted (POST a search as a form to _search)", len(c.Request.RequestURI), s.limits.MaxURLBytes))
		return
	}
	if n := headerBytes(c.Request); n > s.limits.MaxHeaderBytes {
		s.writeError(c, fhir.Errorf(fhir.KindHeadersTooLarge, fhir.IssueTooCostly,
			"the request's header fields have %d bytes; at most %d are accepted", n, s.limits.MaxHeaderBytes))
		return
	}
	if c.Request.ContentLength != 0 {
		// The body must arrive within BodyTimeout (a connection that does not support
		// deadlines, as in some tests, goes without).
		_ = http.NewResponseController(c.Writer).SetReadDeadline(time.Now().Add(s.limits.BodyTimeout))
	}
	if _, ok := negotiate(c.Request); !ok {
		s.writeError(c, fhir.Errorf(fhir.KindNotAcceptable, fhir.IssueNotSupported,
			"this server produces application/fhir+json and application/json only"))
		return
	}
	tenant, known, ok := s.tenantOf(c)
	if !ok {
		return
	}
	segs := splitPath(c.Param("path"))
	method := c.Request.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}

	if len(segs) == 1 && segs[0] == "metadata" {
		setInteraction(c, "capabilities")
		if method != http.MethodGet {
			s.writeError(c, methodNotAllowed(method, "metadata"))
			return
		}
		s.metadata(c, tenant)
		return
	}

	if len(segs) == 2 && segs[0] == ".well-known" && segs[1] == "smart-configuration" {
		setInteraction(c, "smart-configuration")
		s.smartConfiguration(c, tenant)
		return
	}

	var st *auditState
	if known {
		st = s.startAudit(c, tenant.ID)
	}
	p, ok := s.authenticate(c, tenant.ID, known, st)
	if !ok {
		return
	}
	ctx := auth.WithPrincipal(c.Request.Context(), p)
	if reads(method, segs) {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, s.limits.ReadTimeout, errReadBudget)
		defer cancel()
	}
	c.Request = c.Request.WithContext(ctx)
	rc := &reqContext{Server: s, c: c, tenant: tenant, base: s.baseURL(c.Request, tenant.ID),
		prefer: parsePrefer(c.Request.Header.Values("Prefer")), audit: st,
		view: s.guard.View(c.Request.Context(), p, tenant.ID, declared(c))}
	if len(segs) > 0 {
		st.typ = segs[0]
		if len(segs) > 1 && fhir.ValidID(segs[1]) {
			st.id = segs[1]
		}
		if len(segs) == 4 && segs[2] == "_history" {
			st.vid = segs[3]
		}
	}
	r, m, err := dispatch(method, segs)
	if err != nil {
		s.writeError(c, err)
		return
	}
	setInteraction(c, r.interaction)
	r.serve(rc, m)
}

// postSearch serves POST [type]/_search: the parameters of the form and of the URL.
func (rc *reqContext) postSearch(typ string) {
	params, err := rc.searchParams(true)
	if err != nil {
		rc.fail(err)
		return
	}
	rc.search(typ, params, nil, typ)
}

// headerBytes is the size of r's header fields as sent ("Name: value\r\n" each).
func headerBytes(r *http.Request) int {
	n := 0
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}

// unsupportedOperation is the answer to an operation the hub does not have.
func unsupportedOperation(op string) error {
	return fhir.Errorf(fhir.KindNotImplemented, fhir.IssueNotSupported,
		"operation %s is not supported here; the CapabilityStatement (GET metadata) lists the operations", op)
}

// errReadBudget is the cause of a read's context when its budget (Limits.ReadTimeout) ran out.
var errReadBudget = errors.New("server: the read's time budget ran out")

// reads reports whether a request only reads (reads, searches, history, operations that
// read): those run within the read budget. Writes are never stopped half-way by a budget.
func reads(method string, segs []string) bool {
	switch method {
	case http.MethodGet:
		return true
	case http.MethodPost:
		return len(segs) > 0 && segs[len(segs)-1] == "_search"
	}
	return false
}

// tenantOf returns the tenant named in the URL. known is false for a well-formed id that no
// town has: such a request is answered exactly as a town answers a request without a valid
// token (the public documents served, everything else 401), so that town names cannot be
// probed. An id no town can have is a 404; a store failure answers the request (ok false).
func (s *Server) tenantOf(c *gin.Context) (t store.Tenant, known, ok bool) {
	id := c.Param("tenant")
	if !store.ValidTenantID(id) {
		s.writeError(c, fhir.Errorf(fhir.KindNotFound, fhir.IssueNotFound, "no such endpoint: %s", c.Request.URL.Path))
		return t, false, false
	}
	t, err := s.store.Tenant(c.Request.Context(), id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.Tenant{ID: id}, false, true
	case err != nil:
		s.writeError(c, err)
		return t, false, false
	}
	return t, true, true
}

// errUnauthenticated is the one answer to a request without a valid token, whatever was
// wrong with it and whether the town exists: the reason goes to the audit record and the
// debug log, not to the caller.
var errUnauthenticated = fhir.Errorf(fhir.KindUnauthenticated, fhir.IssueLogin,
	"authentication failed: this request needs a valid bearer token issued for this town")

// authenticate verifies the request's token for tenant and applies the principal's rate
// limit; it records the principal in the audit state, or answers the request (401, 429) and
// returns false. Failed authentications are limited per client address, for known and
// unknown towns alike.
func (s *Server) authenticate(c *gin.Context, tenant string, known bool, st *auditState) (*auth.Principal, bool) {
	var p *auth.Principal
	err := errUnauthenticated
	if known {
		var aerr error
		if p, aerr = s.authn.Authenticate(c.Request.Context(), tenant, c.Request); aerr != nil {
			if fe := fhir.AsError(aerr); fe == nil || fe.Kind != fhir.KindUnauthenticated {
				s.writeError(c, aerr) // not a refusal: the verifier failed (503, 500)
				return nil, false
			}
			st.decision = "authentication failed: " + aerr.Error()
			s.log.Debug("authentication failed", "tenant", tenant, "err", aerr)
			p = nil
		}
	}
	if p == nil {
		if ok, wait := s.failLimiter.Allow("auth-failed "+c.ClientIP(), auth.Rate{}); !ok {
			s.metrics.rateLimited.Inc()
			if st != nil {
				st.decision = "too many failed authentications from " + c.ClientIP()
			}
			s.tooMany(c, wait, "too many failed authentications from this address")
			return nil, false
		}
		if st != nil && st.decision == "" {
			st.decision = "authentication failed"
		}
		s.writeError(c, err)
		return nil, false
	}
	st.principal = p
	if ok, wait := s.limiter.Allow(p.RateKey(), p.Rate); !ok {
		s.metrics.rateLimited.Inc()
		st.decision = "rate limit exceeded"
		s.tooMany(c, wait, "too many requests from this client")
		return nil, false
	}
	return p, true
}

// tooMany answers 429 with Retry-After.
func (s *Server) tooMany(c *gin.Context, wait time.Duration, what string) {
	c.Header("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
	s.writeError(c, fhir.Errorf(fhir.KindThrottled, fhir.IssueThrottled,
		"%s; retry after %s", what, wait.Round(time.Second)))
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

func methodNotAllowed(method, what string) error {
	return fhir.Errorf(fhir.KindMethodNotAllowed, fhir.IssueNotSupported, "%s is not supported on %s", method, what)
}

// baseURL is the FHIR base of a tenant as the client sees it.
func (s *Server) baseURL(r *http.Request, tenant string) string {
	if s.publicURL != "" || !s.trustHost {
		return strings.TrimSuffix(s.publicURL, "/") + "/" + tenant + "/fhir"
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/" + tenant + "/fhir"
}

// reqContext carries one request through its interaction.
type reqContext struct {
	*Server
	c      *gin.Context
	tenant store.Tenant
	base   string
	prefer prefer
	audit  *auditState
	view   *auth.View
}

func (rc *reqContext) fail(err error) { rc.writeError(rc.c, err) }

func (rc *reqContext) read(typ, id string) {
	if err := rc.allow(auth.OpRead, auth.Type(typ)); err != nil {
		rc.fail(err)
		return
	}
	res, err := rc.store.Read(rc.c.Request.Context(), rc.tenant.ID, typ, id)
	rc.answerRead(typ, id, res, err, err == nil)
}

// answerRead answers a read or vread of typ/id that the store answered with res, err: a
// version the caller may see, its deletion (410, with its version headers), or the error. A
// version is decided with the facts of the resource's current version too, and a deletion
// with those of the last version before it: what the caller may not see is "not found",
// exactly as an id that never existed.
//
// current says that res is known to be the current version (a read that found it).
func (rc *reqContext) answerRead(typ, id string, res fhir.Resource, err error, current bool) {
	if err != nil && !errors.Is(err, store.ErrGone) {
		rc.fail(err)
		return
	}
	var cur *fhir.Resource
	if !current {
		var cerr error
		if cur, cerr = store.LastWithBody(rc.c.Request.Context(), rc.store, rc.tenant.ID, typ, id); cerr != nil {
			rc.fail(cerr)
			return
		}
	}
	if aerr := rc.allow(auth.OpRead, auth.Stored{Resource: res, Current: cur}); aerr != nil {
		rc.fail(aerr)
		return
	}
	if err != nil {
		rc.versionHeaders(res)
		rc.fail(err)
		return
	}
	if res.Raw, err = rc.subset(res.Raw); err != nil {
		rc.fail(err)
		return
	}
	rc.writeResource(http.StatusOK, res, false)
}

// subset applies the read's _summary and _elements to raw (R4 §3.1.1.5.7, as a search
// does to its matches); without them raw is returned as it is.
func (rc *reqContext) subset(raw []byte) ([]byte, error) {
	q := rc.c.Request.URL.Query()
	summary := q.Get("_summary")
	var elements []string
	for _, v := range q["_elements"] {
		for _, e := range strings.Split(v, ",") {
			if e = strings.TrimSpace(e); e != "" {
				elements = append(elements, e)
			}
		}
	}
	switch summary {
	case "", "true", "text", "data", "false":
	default:
		return nil, fhir.Errorf(fhir.KindInvalid, fhir.IssueInvalid, "_summary=%s is not one of true, text, data, false on a read", summary)
	}
	if (summary == "" || summary == "false") && len(elements) == 0 {
		return raw, nil
	}
	if summary == "false" {
		summary = ""
	}
	return conformance.Default().Subset(raw, summary, elements)
}

func (rc *reqContext) vread(typ, id, vid string) {
	if err := rc.allow(auth.OpRead, auth.Type(typ)); err != nil {
		rc.fail(err)
		return
	}
	v, err := strconv.ParseInt(vid, 10, 64)
	if err != nil || v < 1 {
		rc.fail(store.ErrNotFound)
		return
	}
	res, err := rc.store.VRead(rc.c.Request.Context(), rc.tenant.ID, typ, id, v)
	rc.answerRead(typ, id, res, err, false)
}

// The write interactions parse the request, call the one write path (package ingest) and
// render its outcome. A type-level decision is asked before the body is read, so that a
// caller who may not write a type gets its 403 without the server reading the body; ingest
// decides it again, with everything else.

// ingestRequest is this request for the write path: its view, its audit record (the
// request's), and the server's search for conditional criteria.
func (rc *reqContext) ingestRequest() *ingest.Request {
	return &ingest.Request{Tenant: rc.tenant, Principal: rc.view.Principal(), Declared: rc.view.Declared(),
		Base: rc.base, View: rc.view, Recorder: rc, Matches: rc.conditionalMatches}
}

// Decided records a decision of the write path in the request's audit record
// (ingest.Recorder).
func (rc *reqContext) Decided(d auth.Decision) { rc.audit.decided(d) }

// Accessed records an allowed access of the write path (ingest.Recorder).
func (rc *reqContext) Accessed(t auth.Target, d auth.Decision) { rc.accessed(t, d) }

func (rc *reqContext) create(typ string) {
	if err := checkContentType(rc.c.Request, mimeFHIRJSON, mimeJSON); err != nil {
		rc.fail(err)
		return
	}
	if err := rc.allow(auth.OpCreate, auth.Type(typ)); err != nil {
		rc.fail(err)
		return
	}
	body, err := rc.readBody(rc.c)
	if err != nil {
		rc.fail(err)
		return
	}
	o, err := rc.ingest.Create(rc.c.Request.Context(), rc.ingestRequest(), typ, body, rc.c.GetHeader("If-None-Exist"))
	switch {
	case err != nil:
		rc.fail(err)
	case o.Existing:
		rc.writeResource(http.StatusOK, o.Resource, true) // exists already: nothing written
	default:
		rc.writeResource(http.StatusCreated, o.Resource, true)
	}
}

// validate serves POST Type/$validate and Type/id/$validate: the body (a resource, or a
// Parameters with a "resource" parameter) is validated as a write of typ would be, nothing
// is stored, and the answer is 200 with an OperationOutcome listing the issues (R4
// Resource-validate). Only a caller that may create typ may ask.
func (rc *reqContext) validate(typ string) {
	if err := checkContentType(rc.c.Request, mimeFHIRJSON, mimeJSON); err != nil {
		rc.fail(err)
		return
	}
	if err := rc.allow(auth.OpCreate, auth.Type(typ)); err != nil {
		rc.fail(err)
		return
	}
	body, err := rc.readBody(rc.c)
	if err != nil {
		rc.fail(err)
		return
	}
	var head struct {
		ResourceType string `json:"resourceType"`
		Parameter    []struct {
			Name     string          `json:"name"`
			Resource json.RawMessage `json:"resource"`
		} `json:"parameter"`
	}
	if json.Unmarshal(body, &head) == nil && head.ResourceType == "Parameters" && typ != "Parameters" {
		body = nil
		for _, p := range head.Parameter {
			if p.Name == "resource" && len(p.Resource) > 0 {
				body = p.Resource
				break
			}
		}
		if body == nil {
			rc.fail(fhir.ErrorAt(fhir.KindInvalid, fhir.IssueRequired, "Parameters.parameter", "$validate needs a parameter named resource"))
			return
		}
		if err := json.Unmarshal(body, &head); err != nil {
			head.ResourceType = ""
		}
	}
	var verr error
	switch {
	case head.ResourceType != typ:
		verr = fhir.ErrorAt(fhir.KindUnprocessable, fhir.IssueInvalid, "resourceType", "the resource is a %q, not a %s", head.ResourceType, typ)
	default:
		verr = rc.validator.Validate(body)
	}
	if verr == nil {
		rc.writeJSON(rc.c, http.StatusOK, fhir.Info("no issues: the "+typ+" is valid"))
		return
	}
	status, oo := httpstatus.Outcome(verr)
	if status != http.StatusBadRequest && status != http.StatusUnprocessableEntity {
		rc.fail(verr)
		return
	}
	rc.writeJSON(rc.c, http.StatusOK, oo)
}

// update serves PUT Type/id, and PUT Type?criteria when id is "".
func (rc *reqContext) update(typ, id string) {
	if err := checkContentType(rc.c.Request, mimeFHIRJSON, mimeJSON); err != nil {
		rc.fail(err)
		return
	}
	ifMatch, err := rc.ifMatch()
	if err != nil {
		rc.fail(err)
		return
	}
	if err := rc.allow(auth.OpUpdate, auth.Type(typ)); err != nil {
		rc.fail(err)
		return
	}
	body, err := rc.readBody(rc.c)
	if err != nil {
		rc.fail(err)
		return
	}
	o, err := rc.ingest.Update(rc.c.Request.Context(), rc.ingestRequest(), typ, id, body, rc.criteria(id), ifMatch)
	if err != nil {
		rc.fail(err)
		return
	}
	status := http.StatusOK
	if o.Created {
		status = http.StatusCreated
	}
	rc.writeResource(status, o.Resource, true)
}

// criteria is the query of a conditional interaction (no id in the URL).
func (rc *reqContext) criteria(id string) string {
	if id != "" {
		return ""
	}
	return rc.c.Request.URL.RawQuery
}

// patch serves PATCH Type/id, and PATCH Type?criteria when id is "". A patch reads the
// resource as well as writing it, so it needs both.
func (rc *reqContext) patch(typ, id string) {
	if err := checkContentType(rc.c.Request, mimeJSONPatch); err != nil {
		rc.fail(err)
		return
	}
	ifMatch, err := rc.ifMatch()
	if err != nil {
		rc.fail(err)
		return
	}
	for _, op := range []auth.Op{auth.OpUpdate, auth.OpRead} {
		if err := rc.allow(op, auth.Type(typ)); err != nil {
			rc.fail(err)
			return
		}
	}
	body, err := rc.readBody(rc.c)
	if err != nil {
		rc.fail(err)
		return
	}
	o, err := rc.ingest.Patch(rc.c.Request.Context(), rc.ingestRequest(), typ, id, body, rc.criteria(id), ifMatch)
	if err != nil {
		rc.fail(err)
		return
	}
	rc.writeResource(http.StatusOK, o.Resource, true)
}

// goneOrHidden is the error for a deleted resource: gone when the caller could see what it
// was, not found otherwise.
func (rc *reqContext) goneOrHidden(deletion fhir.Resource) error {
	cur, err := store.LastWithBody(rc.c.Request.Context(), rc.store, rc.tenant.ID, deletion.Type, deletion.ID)
	if err != nil {
		return err
	}
	if err := rc.allow(auth.OpRead, auth.Stored{Resource: deletion, Current: cur}); err != nil {
		return err
	}
	return store.ErrGone
}

// delete serves DELETE Type/id, and DELETE Type?criteria (one match at most) when id is "".
// A resource the caller may not see is not deleted, and the answer is the one for an id that
// does not exist.
func (rc *reqContext) delete(typ, id string) {
	ifMatch, err := rc.ifMatch()
	if err != nil {
		rc.fail(err)
		return
	}
	o, err := rc.ingest.Delete(rc.c.Request.Context(), rc.ingestRequest(), typ, id, rc.criteria(id), ifMatch)
	if err != nil {
		rc.fail(err)
		return
	}
	rc.deleted(typ, o.Resource.ID, store.Result{Resource: o.Resource, Noop: o.Noop})
}

func (rc *reqContext) deleted(typ, id string, r store.Result) {
	if !r.Noop {
		rc.versionHeaders(r.Resource)
	}
	if rc.prefer.Return == "minimal" {
		rc.writeEmpty(rc.c, http.StatusNoContent)
		return
	}
	msg := "deleted " + typ + "/" + id
	switch {
	case r.Noop && id == "":
		msg = "no " + typ + " matches the criteria: nothing deleted"
	case r.Noop:
		msg = typ + "/" + id + " did not exist or was deleted already"
	}
	rc.writeJSON(rc.c, http.StatusOK, fhir.Info(msg))
}

func (rc *reqContext) ifMatch() (int64, error) {
	h := rc.c.GetHeader("If-Match")
	if h == "" {
		return 0, nil
	}
	return fhir.ParseETag(h)
}

// versionHeaders sets ETag and Last-Modified for a version (also a delete version).
func (rc *reqContext) versionHeaders(res fhir.Resource) {
	if res.Version == 0 {
		return
	}
	rc.c.Header("ETag", res.ETag())
	rc.c.Header("Last-Modified", res.LastUpdated.UTC().Format(http.TimeFormat))
}

// writeResource renders a version honouring Prefer: return=…. The version written by a
// request (written) is shown only to a caller that may read it: one that may only write gets
// an OperationOutcome instead.
func (rc *reqContext) writeResource(status int, res fhir.Resource, written bool) {
	rc.versionHeaders(res)
	if written {
		rc.c.Header("Location", rc.base+"/"+res.Type+"/"+res.ID+"/_history/"+res.VersionID())
		switch {
		case rc.prefer.Return == "minimal":
			rc.writeEmpty(rc.c, status)
			return
		case rc.prefer.Return == "OperationOutcome" || !rc.view.Decide(auth.OpRead, auth.Stored{Resource: res}).Allowed:
			rc.writeJSON(rc.c, status, fhir.Info("stored "+res.Type+"/"+res.ID+" version "+res.VersionID()))
			return
		}
	}
	rc.write(rc.c, status, res.Raw)
}

func httpDate(t time.Time) string { return t.UTC().Format(http.TimeFormat) }

// rawJSON is a helper for building bundles with raw resources.
type rawJSON = json.RawMessage
