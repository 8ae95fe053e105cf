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

package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/kodomohub/kodomohub/audit"
	"github.com/kodomohub/kodomohub/fhir"
	"github.com/kodomohub/kodomohub/fhir/search"
	"github.com/kodomohub/kodomohub/store"
)

// The guard is the hub's one access decision. Every path that reveals or changes a town's
// data asks it before it answers: REST reads and writes, searches and their includes, counts
// and paging, history, bundles, conditional operations, the audit trail, the admin API, and
// the features that come after the FHIR server (adapters, linkage, risk, subscriptions,
// handover, export). It is callable without HTTP.
//
// A decision reads the principal (role, scopes, facility, patient context), the declared
// purpose and break-glass reason, and the facts of the resource: the patients it is about,
// its meta.security labels, the facility roster, and for an older version the facts of the
// resource's current version as well (a version stays as hidden as the resource became).
// The facts are computed here (facts.go), not by the callers.
//
// The rule callers must keep (docs/security.md): an answer that depends on a resource the
// caller may not read must be the answer it would get if that resource did not exist. A
// denial that depends on the resource is therefore marked Hidden, and callers answer it as
// "not found"; only denials that depend on the caller alone (its scopes, its role) are 403.

// Guard decides accesses. The zero value decides with the default search registry and no
// roster (facility principals are then denied everything about a person, with an error).
type Guard struct {
	// Roster answers the facility rosters; it must see a change on the very next call.
	Roster Roster
	// Registry evaluates compartments and scope restrictions; nil means search.Default().
	Registry *search.Registry
	// NoPolicy allows everything. It exists for `kodomohub bench auth`, which measures what
	// the policy costs against nothing; serve never sets it.
	NoPolicy bool

	facts factsCache
}

func (g *Guard) registry() *search.Registry {
	if g.Registry != nil {
		return g.Registry
	}
	return search.Default()
}

// Declared is what a caller declared for its request.
type Declared struct {
	// Purpose is the purpose of use (a v3 ActReason code such as TREAT); recorded, not
	// enforced.
	Purpose string
	// BreakGlass is the reason given for break-glass; empty when not invoked.
	BreakGlass string
}

// Action is one access asked of the guard: an operation in a town, with what the caller
// declared.
type Action struct {
	Op     Op
	Tenant string // the town; "" means the principal's
	Declared
}

// Target is what a decision is about: one of Type, Stored, Body, AuditTrail, AuditEntry and
// ClientGrant.
type Target interface{ isTarget() }

// Type is a type-level access: whether the caller may do the operation on some resources of
// the type at all (a search, a create before its body is read, an interaction before its
// resource is read). Each resource is decided again on its own.
type Type string

// Stored is a stored version: read, vread, a history entry, a search result or include, the
// current version a write would replace.
type Stored struct {
	Resource fhir.Resource
	// Current is the resource's current version with a body (its last one before a delete),
	// when Resource is an older version or a delete: the older version is decided with the
	// current version's facts as well as its own.
	Current *fhir.Resource
}

// Body is a resource about to be written, with the index entries extracted from it.
type Body struct {
	Type, ID string
	Raw      []byte
	Index    []search.Entry
}

// AuditTrail is a search of the town's audit trail.
type AuditTrail struct{}

// AuditEntry is one record of the audit trail.
type AuditEntry struct{ Record audit.Record }

// ClientGrant is the registration (or the disabling, or the listing) of a SMART backend
// services client by an admin: the privileges the client would hold.
type ClientGrant struct {
	Role, Facility, FacilityKind string
	Scopes                       Scopes
}

func (Type) isTarget()        {}
func (Stored) isTarget()      {}
func (Body) isTarget()        {}
func (AuditTrail) isTarget()  {}
func (AuditEntry) isTarget()  {}
func (ClientGrant) isTarget() {}

// Decision is the guard's answer for one access, with the reason recorded in the audit trail
// for allowed and denied accesses alike.
type Decision struct {
	Allowed bool
	Reason  string
	// BreakGlass is true when the access was allowed only because the caller invoked
	// break-glass: the caller must raise an alert and record the reason.
	BreakGlass bool
	// Hidden marks a denial that depends on the resource (its patients, its labels, the
	// roster) rather than on the caller's rights on its type: the caller must be answered as
	// if the resource did not exist, and never told the reason.
	Hidden bool
	// Patients are the patients the resource is about, for the audit record.
	Patients []string
	// Err is set when the decision could not be made (the roster could not be read); the
	// access is denied and the failure is internal, not a refusal.
	Err error
}

// Denial is the error of a decision: nil when allowed. A Hidden denial is store.ErrNotFound
// (the answer for a resource that does not exist), any other a forbidden error with the
// reason, and a decision that could not be made its internal error.
func (d Decision) Denial() error {
	switch {
	case d.Err != nil:
		return d.Err
	case d.Allowed:
		return nil
	case d.Hidden:
		return store.ErrNotFound
	}
	return fhir.Errorf(fhir.KindForbidden, fhir.IssueForbidden, "%s", d.Reason)
}

// Decide decides one access. It is View(ctx, p, action).Decide(action.Op, t); callers that
// decide many resources for one request keep the View.
func (g *Guard) Decide(ctx context.Context, p *Principal, act Action, t Target) Decision {
	return g.View(ctx, p, act.Tenant, act.Declared).Decide(act.Op, t)
}

// View is what one principal may see of one town, for one request: the facts that do not
// change from resource to resource (role, held labels, the facility roster) computed once,
// so that deciding a resource costs no I/O and can run inside a store's scan.
type View struct {
	g      *Guard
	p      *Principal
	tenant string
	decl   Declared
	rule   rule
	held   []string
	// rostered: accesses about a patient need the patient on the principal's facility roster.
	rostered bool
	roster   RosterSet
	// denied, when set, denies everything (no principal, another town, no or unknown role).
	denied string
	err    error
}

// View returns the principal's view of tenant ("" means the principal's own) for a request
// with the given declarations. A facility's roster is read here.
func (g *Guard) View(ctx context.Context, p *Principal, tenant string, decl Declared) *View {
	v := &View{g: g, p: p, tenant: tenant, decl: decl}
	if g.NoPolicy {
		return v
	}
	switch r, ok := roles[roleOf(p)]; {
	case p == nil:
		v.denied = "authentication required"
	case tenant != "" && tenant != p.Tenant:
		v.denied = "the token is for another tenant"
	case p.Role == "":
		v.denied = "the token carries no hub role"
	case !ok:
		v.denied = fmt.Sprintf("unknown role %q", p.Role)
	default:
		v.tenant, v.rule, v.held = p.Tenant, r, r.holds
		if p.Role == RoleFacility && p.FacilityKind == FacilityChildGuidance {
			v.held = childGuidanceHolds
		}
		v.rostered = r.roster || (p.Role == RoleVendorSystem && p.Facility != "")
		if v.rostered && p.Facility != "" {
			if g.Roster == nil {
				v.err = fmt.Errorf("auth: no roster configured")
			} else if v.roster, v.err = g.Roster.Patients(ctx, p.Tenant, p.Facility); v.err != nil {
				v.err = fmt.Errorf("auth: roster of %s: %w", p.Facility, v.err)
			}
		}
	}
	return v
}

func roleOf(p *Principal) string {
	if p == nil {
		return ""
	}
	return p.Role
}

// Principal returns the principal the view is for.
func (v *View) Principal() *Principal { return v.p }

// Declared returns what the caller declared.
func (v *View) Declared() Declared { return v.decl }

// PatientDecided reports whether the view's decisions depend on which patients a resource is
// about: a facility roster, a patient/ scope, or a role that may see no person's data. Then
// the patients are computed exactly (the Patient compartment), otherwise by a cheaper scan
// that only feeds the audit record.
func (v *View) PatientDecided() bool {
	if v.g.NoPolicy || v.p == nil {
		return false
	}
	if v.rostered || !v.rule.person {
		return true
	}
	return slices.ContainsFunc(v.p.Scopes, func(sc Scope) bool { return sc.Context == "patient" })
}

// Decide decides op on t.
func (v *View) Decide(op Op, t Target) Decision {
	if v.g.NoPolicy {
		d := Decision{Allowed: true, Reason: "no policy"}
		if s, ok := t.(Stored); ok {
			d.Patients = v.g.storedFacts(v.tenant, s.Resource, false).Patients
		}
		return d
	}
	if v.denied != "" {
		return deny("%s", v.denied)
	}
	switch t := t.(type) {
	case Type:
		return v.decideType(op, string(t))
	case Stored:
		return v.decideStored(op, t, v.PatientDecided())
	case Body:
		return v.decideResource(op, t.Type, t.ID, bodyFacts(t), t.Raw)
	case AuditTrail:
		return v.decideAuditTrail(op)
	case AuditEntry:
		return v.decideAuditEntry(op, t.Record)
	case ClientGrant:
		return v.decideGrant(op, t)
	}
	return Decision{Err: fmt.Errorf("auth: unknown target %T", t)}
}

// Visible returns the decision of op on stored versions as a predicate, for a store to apply
// while it reads (store.SearchOptions.Visible): it does no I/O, and for a view whose
// decisions do not depend on patients it reads only the labels.
func (v *View) Visible(op Op) func(fhir.Resource) bool {
	exact := v.PatientDecided()
	return func(res fhir.Resource) bool {
		if v.g.NoPolicy {
			return true
		}
		if v.denied != "" {
			return false
		}
		return v.decideStored(op, Stored{Resource: res}, exact).Allowed
	}
}

// decideType decides whether op may be done on some resources of typ.
func (v *View) decideType(op Op, typ string) Decision {
	p, r := v.p, v.rule
	switch {
	case hubOnlyTypes[typ] && strings.IndexByte("cud", byte(op)) >= 0:
		return deny("%s is written by the hub only", typ)
	case hubOnlyTypes[typ]:
		return deny("%s is read through the audit trail only", typ)
	case !p.Scopes.Covers(typ, op) || !v.scopesMayGrant(typ, op):
		return deny("the token's scopes do not allow %s on %s", opName(op), typ)
	case !slices.Contains(r.types, "*") && !slices.Contains(r.types, typ):
		return deny("role %s may not access %s", p.Role, typ)
	case !strings.ContainsRune(r.ops, rune(op)):
		return deny("role %s may not %s", p.Role, opName(op))
	case !nonPersonTypes[typ] && !r.person:
		return deny("role %s may not access data about a person", p.Role)
	case v.rostered && p.Facility == "":
		return deny("the token names no facility")
	case v.rostered && nonPersonTypes[typ] && strings.IndexByte("cud", byte(op)) >= 0 && ownedTypes[typ] == nil:
		return deny("%s resources are kept by the town; a facility may not %s them", typ, opName(op))
	}
	return Decision{Allowed: true, Reason: fmt.Sprintf("role %s with scopes allowing %s on %s", p.Role, opName(op), typ)}
}

// scopesMayGrant reports whether some scope that covers op on typ can grant anything: a
// patient/ scope grants nothing without a patient in context.
func (v *View) scopesMayGrant(typ string, op Op) bool {
	for _, s := range v.p.Scopes {
		if s.covers(typ, op) && (s.Context != "patient" || v.p.Patient != "") {
			return true
		}
	}
	return false
}

// decideStored decides op on a stored version, with its current version's facts too.
func (v *View) decideStored(op Op, s Stored, exact bool) Decision {
	res := s.Resource
	if hubOnlyTypes[res.Type] {
		return Decision{Reason: res.Type + " resources are served by the audit trail only", Hidden: true}
	}
	var d Decision
	if !res.Deleted || s.Current == nil {
		d = v.decideResource(op, res.Type, res.ID, v.g.storedFacts(v.tenant, res, exact), res.Raw)
		if !d.Allowed {
			return d
		}
	}
	if cur := s.Current; cur != nil && !cur.Deleted && (cur.Version != res.Version || res.Deleted) {
		dc := v.decideResource(op, cur.Type, cur.ID, v.g.storedFacts(v.tenant, *cur, exact), cur.Raw)
		if !dc.Allowed {
			return dc
		}
		if d.Reason == "" {
			return dc
		}
		d.BreakGlass = d.BreakGlass || dc.BreakGlass
		for _, pt := range dc.Patients {
			d.Patients = appendUnique(d.Patients, pt)
		}
	}
	return d
}

// decideResource decides op on one version of typ/id with its facts: once for every patient
// it is about (all must be allowed), once when it is about no one; then a facility's writes
// of non-person types must be its own.
func (v *View) decideResource(op Op, typ, id string, f Facts, raw []byte) Decision {
	if td := v.decideType(op, typ); !td.Allowed {
		return td
	}
	acc := Access{Op: op, Type: typ, ID: id, Tenant: v.tenant, Security: f.Labels,
		Purpose: v.decl.Purpose, BreakGlass: v.decl.BreakGlass, Matches: matcher(v.g.registry(), typ, raw)}
	patients := f.Patients
	if len(patients) == 0 {
		patients = []string{""}
	}
	var d Decision
	for _, pt := range patients {
		acc.Patient = pt
		if d = v.decideAccess(acc); !d.Allowed || d.Err != nil {
			d.Hidden = d.Err == nil
			d.Patients = f.Patients
			return d
		}
	}
	if v.rostered && nonPersonTypes[typ] && strings.IndexByte("cud", byte(op)) >= 0 {
		if owner := v.ownerDenial(typ, id, raw); owner != "" {
			return Decision{Reason: owner, Patients: f.Patients}
		}
	}
	d.Patients = f.Patients
	return d
}

// ownerDenial returns why a facility may not write typ/id with body raw ("" when it may):
// the resource must belong to the facility's own organisation.
func (v *View) ownerDenial(typ, id string, raw []byte) string {
	owners := ownedTypes[typ]
	if owners == nil {
		return fmt.Sprintf("%s resources are kept by the town; a facility may not change them", typ)
	}
	var r ownerFields
	if len(raw) > 0 && json.Unmarshal(raw, &r) != nil {
		return "the resource is not readable JSON"
	}
	if typ == "Organization" && id != "" {
		r.self = "Organization/" + id
	}
	if slices.Contains(owners(r), v.p.Facility) {
		return ""
	}
	return fmt.Sprintf("%s/%s does not belong to %s; a facility changes only its own organisation", typ, id, v.p.Facility)
}

// decideAuditTrail decides a search or read of the audit trail: a role that may read
// AuditEvent at all; what it then sees is decided per record (decideAuditEntry).
func (v *View) decideAuditTrail(op Op) Decision {
	p := v.p
	if op != OpRead && op != OpSearch {
		return deny("the audit trail is append-only: AuditEvent is written by the hub only")
	}
	if !p.Scopes.Allows("AuditEvent", op) && !p.Scopes.Covers("AuditEvent", op) {
		return deny("the token's scopes do not allow %s on AuditEvent", opName(op))
	}
	if p.Role == RoleAuditor {
		return Decision{Allowed: true, Reason: "auditor reads the town's audit trail"}
	}
	return Decision{Allowed: true, Reason: fmt.Sprintf("role %s reads the audit records of its own requests", p.Role)}
}

// AuditAgent is the agent an audit trail search of this view must be narrowed to: "" for
// an auditor (the whole trail), the principal's subject otherwise.
func (v *View) AuditAgent() string {
	if v.p == nil || v.p.Role == RoleAuditor || v.g.NoPolicy {
		return ""
	}
	return v.p.Subject
}

// decideAuditEntry decides one record of the audit trail: an auditor reads every record, any
// other role only the records of its own requests (same subject and issuer).
func (v *View) decideAuditEntry(op Op, r audit.Record) Decision {
	if d := v.decideAuditTrail(op); !d.Allowed {
		return d
	}
	if v.p.Role == RoleAuditor {
		return Decision{Allowed: true, Reason: "auditor reads the town's audit trail", Patients: r.Patients}
	}
	if r.Subject == v.p.Subject && r.Issuer == v.p.Issuer && r.Subject != "" {
		return Decision{Allowed: true, Reason: "the record of the caller's own request"}
	}
	return Decision{Reason: "the record is of another caller's request", Hidden: true}
}

// HiddenLabels are the sensitive labels this view may not see (none when the caller invoked
// break-glass and its role may): a search's total counts only resources without them.
func (v *View) HiddenLabels() []Coding {
	if v.g.NoPolicy || v.p == nil {
		return nil
	}
	if v.rule.breakGlass && strings.TrimSpace(v.decl.BreakGlass) != "" {
		return nil
	}
	var out []Coding
	for _, l := range sensitiveLabels {
		if !slices.Contains(v.held, l) {
			sys, code, _ := strings.Cut(l, "|")
			out = append(out, Coding{System: sys, Code: code})
		}
	}
	return out
}

// Narrowing is how a search of one type can be narrowed in the store to what the view may
// see, so that the store reads mostly visible resources and counts can be exact.
type Narrowing struct {
	// Patients, when Narrowed, are the patients a resource must be about to be visible (a
	// facility's roster, the patient in context): the Patient compartments of these patients.
	// Resources of types that are about no one (AboutNoOne) are not narrowed by them.
	Patients []string
	Narrowed bool
	// Restriction is a SMART scope restriction ("category=laboratory") every visible
	// resource matches, to be added to the query; "" for none.
	Restriction string
	// Exact says that the store's answer, so narrowed, less the resources carrying a label of
	// HiddenLabels, is exactly what the view may see: a total may then be given. When false,
	// visibility also depends on facts the store cannot filter on (which patients each
	// resource is about), and totals must be left out.
	Exact bool
}

// Narrow returns the narrowing of op on typ.
func (v *View) Narrow(typ string, op Op) Narrowing {
	var n Narrowing
	if v.g.NoPolicy || v.p == nil || v.denied != "" {
		n.Exact = v.g.NoPolicy
		return n
	}
	n.Exact = true
	personal := !nonPersonTypes[typ]
	if !v.rule.person {
		n.Exact = false // a non-person type may still be about someone (an individual report)
	}
	if v.rostered && personal {
		n.Patients, n.Narrowed, n.Exact = v.roster.IDs(), true, false
	}
	// The scopes that grant op on typ: their union is what the view may see of it.
	var unrestricted, withPatient, withoutPatient bool
	var queries []string
	for _, s := range v.p.Scopes {
		if !s.covers(typ, op) {
			continue
		}
		if s.Context == "patient" {
			withPatient = true
		} else {
			withoutPatient = true
			unrestricted = unrestricted || s.Query == ""
		}
		if !slices.Contains(queries, s.Query) {
			queries = append(queries, s.Query)
		}
	}
	switch {
	case unrestricted:
		// some scope grants every resource of typ: nothing to narrow
	case withPatient && withoutPatient:
		n.Exact = false // a union of a compartment and a restriction: no one query
	case len(queries) > 1:
		n.Exact = false // a union of restrictions: no one query
	default:
		if len(queries) == 1 {
			n.Restriction = queries[0]
		}
		if withPatient && personal && v.p.Patient != "" {
			if !n.Narrowed || v.roster.Has(v.p.Patient) {
				n.Patients = []string{v.p.Patient}
			} else {
				n.Patients = []string{}
			}
			n.Narrowed, n.Exact = true, false
		}
	}
	return n
}
