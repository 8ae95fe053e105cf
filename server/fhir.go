package server

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/kodomohub/kodomohub/auth"
	"github.com/kodomohub/kodomohub/fhir"
	"github.com/kodomohub/kodomohub/fhir/fhirpath"
	"github.com/kodomohub/kodomohub/store"
)

// fhir dispatches every request under /{tenant}/fhir. Paths are parsed here rather than by
// the router so that all FHIR URL shapes (Type/id/_history/vid, _history, metadata, …) are
// handled in one place, and every miss is an OperationOutcome.
func (s *Server) fhir(c *gin.Context) {
	setInteraction(c, "unknown")
	if len(c.Request.RequestURI) > s.limits.MaxURLBytes {
		s.writeError(c, fhir.Errorf(http.StatusRequestURITooLong, fhir.IssueTooCostly,
			"the request URL has %d bytes; at most %d are accepted (POST a search as a form to _search)", len(c.Request.RequestURI), s.limits.MaxURLBytes))
		return
	}
	if _, ok := negotiate(c.Request); !ok {
		s.writeError(c, fhir.Errorf(http.StatusNotAcceptable, fhir.IssueNotSupported,
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
	if len(segs) > 0 && segs[0] == "AuditEvent" {
		rc.auditEvents(method, segs[1:])
		return
	}

	switch n := len(segs); {
	case n == 0:
		switch method {
		case http.MethodPost:
			setInteraction(c, "bundle")
			rc.bundle()
		case http.MethodGet:
			setInteraction(c, "search-system")
			rc.search("", c.Request.URL.Query(), nil, "")
		default:
			s.writeError(c, methodNotAllowed(method, "the base URL"))
		}
	case n == 1 && segs[0] == "_search":
		setInteraction(c, "search-system")
		if method != http.MethodPost {
			s.writeError(c, methodNotAllowed(method, "_search"))
			return
		}
		if params, err := rc.searchParams(true); err != nil {
			rc.fail(err)
		} else {
			rc.search("", params, nil, "")
		}
	case n == 1 && segs[0] == "_history":
		setInteraction(c, "history-system")
		if method != http.MethodGet {
			s.writeError(c, methodNotAllowed(method, "_history"))
			return
		}
		rc.history("", "")
	case !fhir.IsResourceType(segs[0]):
		s.writeError(c, fhir.Errorf(http.StatusNotFound, fhir.IssueNotSupported, "unknown resource type %q", segs[0]))
	case n == 1:
		typ := segs[0]
		switch method {
		case http.MethodPost:
			setInteraction(c, "create")
			rc.create(typ)
		case http.MethodGet:
			setInteraction(c, "search-type")
			rc.search(typ, c.Request.URL.Query(), nil, typ)
		case http.MethodPut:
			setInteraction(c, "update-conditional")
			rc.update(typ, "")
		case http.MethodPatch:
			setInteraction(c, "patch-conditional")
			rc.patch(typ, "")
		case http.MethodDelete:
			setInteraction(c, "delete-conditional")
			rc.delete(typ, "")
		default:
			s.writeError(c, methodNotAllowed(method, typ))
		}
	case n == 2 && segs[1] == "_search":
		setInteraction(c, "search-type")
		if method != http.MethodPost {
			s.writeError(c, methodNotAllowed(method, "_search"))
			return
		}
		if params, err := rc.searchParams(true); err != nil {
			rc.fail(err)
		} else {
			rc.search(segs[0], params, nil, segs[0])
		}
	case n == 2 && segs[1] == "_history":
		setInteraction(c, "history-type")
		if method != http.MethodGet {
			s.writeError(c, methodNotAllowed(method, "_history"))
			return
		}
		rc.history(segs[0], "")
	case !fhir.ValidID(segs[1]):
		s.writeError(c, fhir.Errorf(http.StatusBadRequest, fhir.IssueValue, "%q is not a valid resource id", segs[1]))
	case n == 2:
		typ, id := segs[0], segs[1]
		switch method {
		case http.MethodGet:
			setInteraction(c, "read")
			rc.read(typ, id)
		case http.MethodPut:
			setInteraction(c, "update")
			rc.update(typ, id)
		case http.MethodPatch:
			setInteraction(c, "patch")
			rc.patch(typ, id)
		case http.MethodDelete:
			setInteraction(c, "delete")
			rc.delete(typ, id)
		default:
			s.writeError(c, methodNotAllowed(method, typ+"/"+id))
		}
	case n == 3 && segs[2] == "_history":
		setInteraction(c, "history-instance")
		if method != http.MethodGet {
			s.writeError(c, methodNotAllowed(method, "_history"))
			return
		}
		rc.history(segs[0], segs[1])
	case n == 3 && segs[2] == "$everything":
		setInteraction(c, "everything")
		if method != http.MethodGet {
			s.writeError(c, methodNotAllowed(method, "$everything"))
			return
		}
		rc.everything(segs[0], segs[1])
	case n == 3 && (segs[2] == "*" || fhir.IsResourceType(segs[2])):
		setInteraction(c, "search-compartment")
		if method != http.MethodGet {
			s.writeError(c, methodNotAllowed(method, "a compartment"))
			return
		}
		rc.compartmentSearch(segs[0], segs[1], segs[2])
	case n == 4 && segs[2] == "_history":
		setInteraction(c, "vread")
		if method != http.MethodGet {
			s.writeError(c, methodNotAllowed(method, "_history"))
			return
		}
		rc.vread(segs[0], segs[1], segs[3])
	default:
		s.writeError(c, fhir.Errorf(http.StatusNotFound, fhir.IssueNotSupported, "no FHIR interaction at %s", c.Request.URL.Path))
	}
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
		s.writeError(c, fhir.Errorf(http.StatusNotFound, fhir.IssueNotFound, "no such endpoint: %s", c.Request.URL.Path))
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
var errUnauthenticated = fhir.Errorf(http.StatusUnauthorized, fhir.IssueLogin,
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
			if fe := fhir.AsError(aerr); fe == nil || fe.Status != http.StatusUnauthorized {
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
	s.writeError(c, fhir.Errorf(http.StatusTooManyRequests, fhir.IssueThrottled,
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
	return fhir.Errorf(http.StatusMethodNotAllowed, fhir.IssueNotSupported, "%s is not supported on %s", method, what)
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
		if cur, cerr = rc.lastBody(typ, id); cerr != nil {
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
	rc.writeResource(http.StatusOK, res, false)
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
	w, err := rc.prepare(typ, rc.newID(), store.Create, body, rc.base, true)
	if err != nil {
		rc.fail(err)
		return
	}
	if err := rc.allowBody(auth.OpCreate, w); err != nil {
		rc.fail(err)
		return
	}
	ctx := rc.c.Request.Context()
	if criteria := conditionalCriteria(typ, rc.c.GetHeader("If-None-Exist")); criteria != "" {
		unlock, err := rc.conditionalLock(ctx, typ, criteria)
		if err != nil {
			rc.fail(err)
			return
		}
		defer unlock()
		matches, err := rc.conditionalMatches(ctx, typ, criteria)
		switch {
		case err != nil:
			rc.fail(err)
			return
		case len(matches) > 1:
			rc.fail(multipleMatches(typ, criteria, len(matches)))
			return
		case len(matches) == 1:
			rc.writeResource(http.StatusOK, matches[0], true) // exists already: nothing written
			return
		}
	}
	results, err := rc.store.Commit(ctx, rc.tenant.ID, []store.Write{w})
	if err != nil {
		rc.fail(err)
		return
	}
	rc.writeResource(http.StatusCreated, results[0].Resource, true)
}

// allowBody decides the body about to be written: a refusal is a 403 with the reason, which
// speaks of what the caller sent.
func (rc *reqContext) allowBody(op auth.Op, w store.Write) error {
	d := rc.view.Decide(op, auth.Body{Type: w.Type, ID: w.ID, Raw: w.Resource, Index: w.Index})
	rc.audit.decided(d)
	switch {
	case d.Err != nil:
		return d.Err
	case !d.Allowed:
		return fhir.Errorf(http.StatusForbidden, fhir.IssueForbidden, "%s", d.Reason)
	}
	rc.accessed(auth.Body{Type: w.Type, ID: w.ID}, d)
	return nil
}

// conditionalCriteria returns the search part of an If-None-Exist value or a conditional
// URL ("identifier=x" from "identifier=x", "Patient?identifier=x" or "?identifier=x"),
// without the parameters that only format the response.
func conditionalCriteria(typ, s string) string {
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
	ctx := rc.c.Request.Context()
	conditional := id == ""
	if conditional {
		criteria := conditionalCriteria(typ, rc.c.Request.URL.RawQuery)
		if criteria == "" {
			rc.fail(fhir.Errorf(http.StatusBadRequest, fhir.IssueRequired, "PUT %s needs an id or search criteria", typ))
			return
		}
		unlock, err := rc.conditionalLock(ctx, typ, criteria)
		if err != nil {
			rc.fail(err)
			return
		}
		defer unlock()
		matches, err := rc.conditionalMatches(ctx, typ, criteria)
		if err != nil {
			rc.fail(err)
			return
		}
		head, err := fhir.Parse(body, fhir.Limits{MaxDepth: rc.limits.MaxDepth})
		if err != nil {
			rc.fail(err)
			return
		}
		switch len(matches) {
		case 0:
			id = head.ID
			if id == "" {
				id = rc.newID()
			}
		case 1:
			id = matches[0].ID
			if head.HasID && head.ID != id {
				rc.fail(fhir.ErrorAt(http.StatusBadRequest, fhir.IssueInvalid, typ+".id",
					"the id in the body (%q) is not the id of the resource the criteria select (%q)", head.ID, id))
				return
			}
			if ifMatch == 0 {
				ifMatch = matches[0].Version // fail rather than overwrite a concurrent change
			}
		default:
			rc.fail(multipleMatches(typ, criteria, len(matches)))
			return
		}
	}
	w, err := rc.prepare(typ, id, store.Update, body, rc.base, conditional)
	if err != nil {
		rc.fail(err)
		return
	}
	if err := rc.allowStoredWrite(auth.OpUpdate, typ, id); err != nil {
		rc.fail(err)
		return
	}
	if err := rc.allowBody(auth.OpUpdate, w); err != nil {
		rc.fail(err)
		return
	}
	w.IfMatch = ifMatch
	results, err := rc.store.Commit(ctx, rc.tenant.ID, []store.Write{w})
	if err != nil {
		rc.fail(err)
		return
	}
	status := http.StatusOK
	if results[0].Created {
		status = http.StatusCreated
	}
	rc.writeResource(status, results[0].Resource, true)
}

// allowStoredWrite decides op on the current version of typ/id when there is one: an update
// must not take over a resource the caller may not touch.
func (rc *reqContext) allowStoredWrite(op auth.Op, typ, id string) error {
	cur, err := rc.store.Read(rc.c.Request.Context(), rc.tenant.ID, typ, id)
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrGone):
		return nil
	case err != nil:
		return err
	}
	return rc.allowWrite(op, cur)
}

// resolveConditional finds the one resource that the criteria of a conditional patch or
// delete select among those the caller may see: ok false when none does.
func (rc *reqContext) resolveConditional(typ string) (res fhir.Resource, ok bool, err error) {
	criteria := conditionalCriteria(typ, rc.c.Request.URL.RawQuery)
	if criteria == "" {
		return res, false, fhir.Errorf(http.StatusBadRequest, fhir.IssueRequired, "%s on %s needs an id or search criteria", rc.c.Request.Method, typ)
	}
	matches, err := rc.conditionalMatches(rc.c.Request.Context(), typ, criteria)
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

// patch serves PATCH Type/id, and PATCH Type?criteria when id is "". A patch reads the
// resource as well as writing it (a "test" operation, or a failing path, tells what it
// holds), so it needs both.
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
	if id == "" {
		match, ok, err := rc.resolveConditional(typ)
		if err != nil {
			rc.fail(err)
			return
		}
		if !ok {
			rc.fail(fhir.Errorf(http.StatusNotFound, fhir.IssueNotFound, "no %s matches the criteria", typ))
			return
		}
		id = match.ID
	}
	body, err := rc.readBody(rc.c)
	if err != nil {
		rc.fail(err)
		return
	}
	res, err := rc.applyPatch(typ, id, body, ifMatch)
	if err != nil {
		rc.fail(err)
		return
	}
	rc.writeResource(http.StatusOK, res, true)
}

// applyPatch applies a JSON Patch to the current version and stores the result. Without an
// If-Match the patch is retried when another write slips in between read and commit.
func (rc *reqContext) applyPatch(typ, id string, patch []byte, ifMatch int64) (fhir.Resource, error) {
	ctx := rc.c.Request.Context()
	for attempt := 0; ; attempt++ {
		cur, err := rc.store.Read(ctx, rc.tenant.ID, typ, id)
		if err != nil {
			if errors.Is(err, store.ErrGone) {
				err = rc.goneOrHidden(cur)
			}
			return fhir.Resource{}, err
		}
		if err := rc.allow(auth.OpRead, auth.Stored{Resource: cur}); err != nil {
			return fhir.Resource{}, err
		}
		if err := rc.allowWrite(auth.OpUpdate, cur); err != nil {
			return fhir.Resource{}, err
		}
		if ifMatch != 0 && cur.Version != ifMatch {
			return fhir.Resource{}, store.ErrVersionConflict
		}
		patched, err := applyJSONPatch(cur.Raw, patch)
		if err != nil {
			return fhir.Resource{}, err
		}
		w, err := rc.prepare(typ, id, store.Update, patched, rc.base, false)
		if err != nil {
			return fhir.Resource{}, err
		}
		if err := rc.allowBody(auth.OpUpdate, w); err != nil {
			return fhir.Resource{}, err
		}
		w.IfMatch = cur.Version
		results, err := rc.store.Commit(ctx, rc.tenant.ID, []store.Write{w})
		if errors.Is(err, store.ErrVersionConflict) && ifMatch == 0 && attempt < 3 {
			continue
		}
		if err != nil {
			return fhir.Resource{}, err
		}
		return results[0].Resource, nil
	}
}

// goneOrHidden is the error for a deleted resource: gone when the caller could see what it
// was, not found otherwise.
func (rc *reqContext) goneOrHidden(deletion fhir.Resource) error {
	cur, err := rc.lastBody(deletion.Type, deletion.ID)
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
	if err := rc.allow(auth.OpDelete, auth.Type(typ)); err != nil {
		rc.fail(err)
		return
	}
	if id == "" {
		match, ok, err := rc.resolveConditional(typ)
		if err != nil {
			rc.fail(err)
			return
		}
		if !ok {
			rc.deleted(typ, "", store.Result{Noop: true})
			return
		}
		id = match.ID
		if ifMatch == 0 {
			ifMatch = match.Version
		}
	}
	cur, err := rc.store.Read(rc.c.Request.Context(), rc.tenant.ID, typ, id)
	switch {
	case err == nil:
		if err := rc.allow(auth.OpDelete, auth.Stored{Resource: cur}); errors.Is(err, store.ErrNotFound) {
			rc.deleted(typ, id, store.Result{Noop: true})
			return
		} else if err != nil {
			rc.fail(err)
			return
		}
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrGone):
		rc.deleted(typ, id, store.Result{Noop: true})
		return
	default:
		rc.fail(err)
		return
	}
	results, err := rc.store.Commit(rc.c.Request.Context(), rc.tenant.ID,
		[]store.Write{{Type: typ, ID: id, Action: store.Delete, IfMatch: ifMatch}})
	if err != nil {
		rc.fail(err)
		return
	}
	rc.deleted(typ, id, results[0])
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

// prepare checks a body for a create or update of typ/id and returns the write. base is the
// tenant's FHIR base, so absolute references to this server count as local.
//
// idOptional lets an update body leave out the id (conditional update); a create always
// may, as the server assigns the id.
func (s *Server) prepare(typ, id string, action store.Action, body []byte, base string, idOptional bool) (store.Write, error) {
	head, err := fhir.Parse(body, fhir.Limits{MaxDepth: s.limits.MaxDepth})
	if err != nil {
		return store.Write{}, err
	}
	if head.ResourceType != typ {
		return store.Write{}, fhir.ErrorAt(http.StatusBadRequest, fhir.IssueInvalid, "resourceType",
			"the resource is a %s but the URL names %s", head.ResourceType, typ)
	}
	if action == store.Update && !(idOptional && !head.HasID) {
		if !head.HasID {
			return store.Write{}, fhir.ErrorAt(http.StatusBadRequest, fhir.IssueRequired, typ+".id", "an update must carry the resource id")
		}
		if head.ID != id {
			return store.Write{}, fhir.ErrorAt(http.StatusBadRequest, fhir.IssueInvalid, typ+".id",
				"the id in the body (%q) differs from the id in the URL (%q)", head.ID, id)
		}
	}
	if err := s.validator.Validate(body); err != nil {
		return store.Write{}, err
	}
	decoded, err := fhirpath.Decode(body)
	if err != nil {
		return store.Write{}, fhir.Wrap(err, http.StatusBadRequest, fhir.IssueStructure, "the body is not valid JSON")
	}
	refs := localRefs(decoded, base)
	index, err := s.registry.Extract(decoded)
	if err != nil {
		// A parameter whose expression fails on this resource gets no entries; the resource
		// is valid, so it is stored and the failure is logged for the maintainers.
		s.log.Warn("search index extraction incomplete", "type", typ, "err", err)
	}
	return store.Write{Type: typ, ID: id, Action: action, Resource: body, Index: index, Refs: refs}, nil
}

func httpDate(t time.Time) string { return t.UTC().Format(http.TimeFormat) }

// rawJSON is a helper for building bundles with raw resources.
type rawJSON = json.RawMessage
