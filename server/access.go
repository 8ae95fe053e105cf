package server

import (
	"bytes"
	"encoding/json"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/kodomohub/kodomohub/auth"
	"github.com/kodomohub/kodomohub/fhir"
	"github.com/kodomohub/kodomohub/fhir/fhirpath"
	"github.com/kodomohub/kodomohub/fhir/search"
)

// Access control of one request. Every resource a request touches is decided by the Policy
// with what the resource says about itself: the patients it is about (through the Patient
// compartment of the R4 CompartmentDefinition), its meta.security labels, and for SMART
// scopes restricted by ?param=value whether it matches the restriction. The patients and
// the decisions go to the request's audit record.
//
// Callers declare a purpose of use and invoke break-glass with request headers:
//
//	X-Purpose-Of-Use: TREAT               a v3 ActReason code, recorded
//	X-Break-Glass-Reason: 緊急の安否確認     the reason; reaches labels the role does not hold

// Request headers of the access policy.
const (
	HeaderPurposeOfUse = "X-Purpose-Of-Use"
	HeaderBreakGlass   = "X-Break-Glass-Reason"
)

// about is what a resource says about itself for the policy.
type about struct {
	patients []string
	security []auth.Coding
	decoded  any // the decoded resource, nil until needed
	raw      []byte
	typ      string
}

// patientCompartment is the Patient CompartmentDefinition: type → parameters.
var patientCompartment, _ = search.Compartment("Patient")

// aboutIndex returns what a body about to be written says about itself, from its index
// entries (already extracted for the write).
func aboutIndex(typ, id string, raw []byte, index []search.Entry) *about {
	a := &about{raw: raw, typ: typ, security: securityLabels(raw)}
	if typ == "Patient" && id != "" {
		a.patients = []string{"Patient/" + id}
	}
	params := patientCompartment[typ]
	for _, e := range index {
		if slices.Contains(params, e.Code) {
			a.patients = appendPatient(a.patients, e)
		}
	}
	return a
}

// appendPatient adds the patient an index entry of a Patient-compartment parameter refers
// to, if it is a local reference to a Patient.
func appendPatient(list []string, e search.Entry) []string {
	if e.Kind == search.KindValue && e.System == "Patient" && e.Value != "" {
		return appendUnique(list, "Patient/"+e.Value)
	}
	return list
}

// aboutCache remembers the patients of stored versions: reads of the same versions repeat,
// and the compartment extraction decodes the whole resource.
type aboutCache struct {
	m    sync.Map // tenant/Type/id/version → []string
	size atomic.Int64
}

const aboutCacheMax = 100_000

// aboutStored returns what a stored version says about itself, for a caller whose decisions
// do not depend on the patients (they go to the audit record only): every patient the
// resource references, found by a scan of its bytes. Callers decided by patient (a facility's
// roster, a patient/ scope) get the exact Patient-compartment membership instead
// (aboutStoredExact): rc.aboutOf chooses.
func (s *Server) aboutStored(tenant string, res fhir.Resource) *about {
	a := &about{raw: res.Raw, typ: res.Type}
	if res.Deleted || len(res.Raw) == 0 {
		return a
	}
	a.security = securityLabels(res.Raw)
	if res.Type == "Patient" {
		a.patients = []string{"Patient/" + res.ID}
	}
	a.patients = referencedPatients(res.Raw, a.patients)
	return a
}

// aboutStoredExact is aboutStored with the patients of the Patient compartment (the R4
// CompartmentDefinition's parameters, evaluated on the resource), cached per version.
func (s *Server) aboutStoredExact(tenant string, res fhir.Resource) *about {
	a := &about{raw: res.Raw, typ: res.Type}
	if res.Deleted || len(res.Raw) == 0 {
		return a
	}
	a.security = securityLabels(res.Raw)
	key := tenant + "/" + res.Type + "/" + res.ID + "/" + res.VersionID()
	if v, ok := s.abouts.m.Load(key); ok {
		a.patients = v.([]string)
		return a
	}
	if res.Type == "Patient" {
		a.patients = []string{"Patient/" + res.ID}
	}
	if params := patientCompartment[res.Type]; len(params) > 0 && bytes.Contains(res.Raw, []byte("Patient/")) {
		if decoded := a.decode(); decoded != nil {
			for _, code := range params {
				p, ok := s.registry.Lookup(res.Type, code)
				if !ok {
					continue
				}
				es, _ := s.registry.ExtractParam(p, decoded)
				for _, e := range es {
					a.patients = appendPatient(a.patients, e)
				}
			}
		}
	}
	if s.abouts.size.Add(1) > aboutCacheMax {
		s.abouts.m.Clear()
		s.abouts.size.Store(1)
	}
	s.abouts.m.Store(key, a.patients)
	return a
}

// aboutOf returns what a stored version says about itself, exactly when this request's
// decisions depend on the patients.
func (rc *reqContext) aboutOf(res fhir.Resource) *about {
	if rc.patientDecided() {
		return rc.aboutStoredExact(rc.tenant.ID, res)
	}
	return rc.aboutStored(rc.tenant.ID, res)
}

// patientDecided reports whether the principal's access depends on which patients a
// resource is about: a facility-bound principal (roster) or a patient/ scope.
func (rc *reqContext) patientDecided() bool {
	p := auth.PrincipalFrom(rc.c.Request.Context())
	if p == nil {
		return false
	}
	if p.Facility != "" || p.Role == auth.RoleFacility {
		return true
	}
	for _, sc := range p.Scopes {
		if sc.Context == "patient" {
			return true
		}
	}
	return false
}

// referencedPatients appends to list every "Patient/ID" that a compact resource references
// ("reference":"Patient/ID" or an absolute URL ending in Patient/ID).
func referencedPatients(raw []byte, list []string) []string {
	const key = `"reference":"`
	for {
		i := bytes.Index(raw, []byte(key))
		if i < 0 {
			return list
		}
		raw = raw[i+len(key):]
		end := bytes.IndexByte(raw, '"')
		if end < 0 {
			return list
		}
		ref := raw[:end]
		raw = raw[end:]
		j := bytes.LastIndex(ref, []byte("Patient/"))
		if j < 0 || (j > 0 && ref[j-1] != '/') {
			continue
		}
		id := ref[j+len("Patient/"):]
		if len(id) == 0 || bytes.IndexByte(id, '/') >= 0 {
			continue
		}
		list = appendUnique(list, "Patient/"+string(id))
	}
}

func (a *about) decode() any {
	if a.decoded == nil && len(a.raw) > 0 {
		a.decoded, _ = fhirpath.Decode(a.raw)
	}
	return a.decoded
}

// matcher returns the Access.Matches of the resource: whether it matches a scope restriction.
func (a *about) matcher(reg *search.Registry) func(string) (bool, error) {
	return func(query string) (bool, error) {
		v, err := url.ParseQuery(query)
		if err != nil {
			return false, err
		}
		q, err := reg.ParseQuery(a.typ, v, search.ParseOptions{})
		if err != nil {
			return false, err
		}
		decoded := a.decode()
		if decoded == nil {
			return false, nil
		}
		return reg.Match(q, decoded, nil)
	}
}

// securityLabels returns the meta.security codings of raw.
func securityLabels(raw []byte) []auth.Coding {
	if !bytes.Contains(raw, []byte(`"security"`)) {
		return nil
	}
	var r struct {
		Meta struct {
			Security []auth.Coding `json:"security"`
		} `json:"meta"`
	}
	if json.Unmarshal(raw, &r) != nil {
		return nil
	}
	return r.Meta.Security
}

func appendUnique(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// access returns the policy's Access for op on typ/id of this request.
func (rc *reqContext) access(op auth.Op, typ, id string) auth.Access {
	return auth.Access{Op: op, Type: typ, ID: id, Tenant: rc.tenant.ID,
		Purpose:    rc.c.GetHeader(HeaderPurposeOfUse),
		BreakGlass: rc.c.GetHeader(HeaderBreakGlass)}
}

// decide decides op on a resource: once for every patient it is about (all must be
// allowed), once when it is about no one. The patients go to the audit record.
func (rc *reqContext) decide(op auth.Op, typ, id string, a *about) auth.Decision {
	ctx := rc.c.Request.Context()
	p := auth.PrincipalFrom(ctx)
	acc := rc.access(op, typ, id)
	if a == nil {
		return rc.policy.Decide(ctx, p, acc)
	}
	acc.Security = a.security
	acc.Matches = a.matcher(rc.registry)
	patients := a.patients
	if len(patients) == 0 {
		patients = []string{""}
	}
	var d auth.Decision
	for _, pt := range patients {
		acc.Patient = pt
		d = rc.policy.Decide(ctx, p, acc)
		if !d.Allowed || d.Err != nil {
			return d
		}
	}
	return d
}

// authorize decides a type-level access (a search, a create before its body is read, an
// operation on typ/id before the resource is read) and records a denial.
func (rc *reqContext) authorize(op auth.Op, typ, id string) error {
	d := rc.decide(op, typ, id, nil)
	rc.audit.decided(d)
	return d.AsError(auth.PrincipalFrom(rc.c.Request.Context()))
}

// authorizeResource decides op on one resource the request itself names (a read, a write,
// a bundle entry): the decision and the resource's patients go to the audit record, a
// denial is the request's error, a break-glass access raises an alert.
func (rc *reqContext) authorizeResource(op auth.Op, typ, id string, a *about) error {
	d := rc.decide(op, typ, id, a)
	rc.audit.decided(d)
	if err := d.AsError(auth.PrincipalFrom(rc.c.Request.Context())); err != nil {
		return err
	}
	rc.accessed(a, typ, id, d)
	return nil
}

// accessed records an allowed access to a resource: its patients in the audit record, and the
// alert of a break-glass access.
func (rc *reqContext) accessed(a *about, typ, id string, d auth.Decision) {
	rc.audit.touched(a.patients)
	if d.BreakGlass {
		rc.breakGlass(typ, id, d)
	}
}

// visible decides whether a resource found by a search, include or history may be shown;
// what may not is left out silently and counted in the audit record.
func (rc *reqContext) visible(op auth.Op, a *about, typ, id string) bool {
	d := rc.decide(op, typ, id, a)
	if !d.Allowed || d.Err != nil {
		rc.audit.filtered++
		return false
	}
	rc.accessed(a, typ, id, d)
	return true
}

// breakGlass raises the alert of a break-glass access: a warning in the log, the metric
// kodomohub_break_glass_total, and the audit record (purpose of use BTG).
func (rc *reqContext) breakGlass(typ, id string, d auth.Decision) {
	p := auth.PrincipalFrom(rc.c.Request.Context())
	rc.audit.breakGlass = rc.c.GetHeader(HeaderBreakGlass)
	rc.metrics.breakGlass.Inc()
	rc.log.Warn("break-glass access", "tenant", rc.tenant.ID, "subject", p.Subject, "role", p.Role,
		"resource", typ+"/"+id, "reason", d.Reason)
}

// auditState collects what a request touched, for its audit record.
type auditState struct {
	mu         sync.Mutex
	tenant     string
	principal  *auth.Principal
	typ, id    string
	vid        string
	patients   []string
	decision   string
	breakGlass string
	filtered   int
	done       bool
}

func (st *auditState) decided(d auth.Decision) {
	if st == nil {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.decision == "" || !d.Allowed {
		st.decision = d.Reason
	}
}

func (st *auditState) touched(patients []string) {
	if st == nil {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, p := range patients {
		st.patients = appendUnique(st.patients, p)
	}
}
