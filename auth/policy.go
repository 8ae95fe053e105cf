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
	"fmt"
	"slices"
	"strings"

	"github.com/kodomohub/kodomohub/audit"
)

// Hub roles, carried by tokens (the role claim) and client registrations.
const (
	// RoleMunicipalStaff is a town's child & family support staff member.
	RoleMunicipalStaff = "municipal-staff"
	// RoleMunicipalAdmin administers the town's tenant: clients, configuration, registers.
	RoleMunicipalAdmin = "municipal-admin"
	// RoleFacility is a hospital, nursery, school or child guidance centre (FacilityKind),
	// acting for the Organization in Principal.Facility.
	RoleFacility = "facility"
	// RoleVendorSystem is a municipal or vendor system that feeds or reads data as a whole;
	// bound to a facility (Principal.Facility set), it is held to that facility's roster.
	RoleVendorSystem = "vendor-system"
	// RoleAuditor reads the audit trail, nothing else.
	RoleAuditor = "auditor"
	// RoleResearcher reads nothing that identifies a person.
	RoleResearcher = "researcher"
)

// Facility kinds (Principal.FacilityKind).
const (
	FacilityHospital      = "hospital"
	FacilityNursery       = "nursery"
	FacilitySchool        = "school"
	FacilityChildGuidance = "child-guidance-centre" // 児童相談所
)

var facilityKinds = []string{FacilityHospital, FacilityNursery, FacilitySchool, FacilityChildGuidance}

func knownFacilityKind(k string) bool { return slices.Contains(facilityKinds, k) }

// Security labels (meta.security) that mark sensitive categories.
//
// The hub's own categories use the code system SecurityCategorySystem:
//
//	yotaikyo-case  要保護児童対策地域協議会 (要対協) case records: the council's case files,
//	               meeting records and support plans
//	abuse-report   虐待通告 / 相談: reports and consultations about suspected abuse
//	dv             domestic-violence related records (e.g. DV support measures on a household)
//
// and HL7 v3 Confidentiality (ConfidentialitySystem) codes R (restricted) and V (very
// restricted) are honoured as well: R needs a role holding "R", V is never granted by role,
// only by break-glass. Other labels (N, M, L, U, purpose-of-use tags…) restrict nothing.
const (
	SecurityCategorySystem = "https://kodomohub.jp/fhir/CodeSystem/security-category"
	ConfidentialitySystem  = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"

	SecurityYotaikyoCase = "yotaikyo-case"
	SecurityAbuseReport  = "abuse-report"
	SecurityDV           = "dv"
	ConfidentialityR     = "R"
	ConfidentialityV     = "V"
)

// Purpose-of-use codes (v3 ActReason) the hub uses in audit records (package audit's).
const (
	PurposeOfUseSystem = audit.PurposeOfUseSystem
	PurposeBreakGlass  = audit.PurposeBreakGlass
)

// rule is one role's row of the policy table.
type rule struct {
	// types the role may touch at all: "*" for every type; nil for none.
	types []string
	// ops the role may perform (a subset of "cruds").
	ops string
	// roster: accesses about a patient need the patient on the principal's facility roster.
	roster bool
	// person: the role may see resources about a person. Without it, only resource types in
	// nonPersonTypes are reachable.
	person bool
	// holds are the sensitive labels (system|code) the role may read and write.
	holds []string
	// reports are sensitive labels the role may create but not read back (a duty to report).
	reports []string
	// breakGlass: the role may invoke break-glass to reach what it does not hold.
	breakGlass bool
}

func label(system, code string) string { return system + "|" + code }

var (
	yotaikyo    = label(SecurityCategorySystem, SecurityYotaikyoCase)
	abuseReport = label(SecurityCategorySystem, SecurityAbuseReport)
	dvLabel     = label(SecurityCategorySystem, SecurityDV)
	restricted  = label(ConfidentialitySystem, ConfidentialityR)
	veryRestr   = label(ConfidentialitySystem, ConfidentialityV)
)

// sensitiveLabels are the labels that restrict access; all others restrict nothing.
var sensitiveLabels = []string{yotaikyo, abuseReport, dvLabel, restricted, veryRestr}

// roles is the access policy, one row per role. SMART scopes are an upper bound on top of
// it for everyone: a role never grants what the token's scopes do not.
//
//	role             types            ops    about a person       sensitive labels held        break-glass
//	municipal-staff  all              cruds  yes                  要対協, abuse, DV, R         yes
//	municipal-admin  all              cruds  yes                  none (R, V … by break-glass) yes
//	facility         all              cruds  only roster children child-guidance-centre:       no
//	                                                              要対協, abuse, R; others may
//	                                                              create abuse reports
//	vendor-system    all              cruds  yes; roster children none; may create abuse       no
//	                                         only when bound to   reports
//	                                         a facility
//	auditor          AuditEvent       rs     (AuditEvent only)    none                         no
//	researcher       non-person types rs     no                   none                         no
//
// A resource labelled V (very restricted) is reached only by break-glass.
var roles = map[string]rule{
	RoleMunicipalStaff: {types: []string{"*"}, ops: "cruds", person: true,
		holds: []string{yotaikyo, abuseReport, dvLabel, restricted}, breakGlass: true},
	RoleMunicipalAdmin: {types: []string{"*"}, ops: "cruds", person: true, breakGlass: true},
	RoleFacility: {types: []string{"*"}, ops: "cruds", person: true, roster: true,
		reports: []string{abuseReport}},
	RoleVendorSystem: {types: []string{"*"}, ops: "cruds", person: true, reports: []string{abuseReport}},
	RoleAuditor:      {types: []string{"AuditEvent"}, ops: "rs", person: true},
	RoleResearcher:   {types: []string{"*"}, ops: "rs"},
}

// childGuidanceHolds are the labels a child guidance centre holds for children on its roster.
var childGuidanceHolds = []string{yotaikyo, abuseReport, restricted}

// nonPersonTypes are the resource types that are never about a patient: organisations,
// places, definitions, terminology and population-level reports. A researcher reaches only
// these; a facility reaches them without a roster check.
var nonPersonTypes = map[string]bool{
	"Organization": true, "OrganizationAffiliation": true, "Location": true, "HealthcareService": true,
	"Endpoint": true, "CapabilityStatement": true, "StructureDefinition": true, "SearchParameter": true,
	"OperationDefinition": true, "CodeSystem": true, "ValueSet": true, "ConceptMap": true,
	"NamingSystem": true, "Questionnaire": true, "PlanDefinition": true, "ActivityDefinition": true,
	"Library": true, "Measure": true, "MeasureReport": true, "SubscriptionTopic": true,
	"ImplementationGuide": true, "StructureMap": true, "GraphDefinition": true, "CompartmentDefinition": true,
}

// AboutNoOne reports whether resources of typ are never about a person (organisations,
// places, definitions, terminology, population-level reports): a facility sees them whatever
// its roster, a researcher sees only them.
func AboutNoOne(typ string) bool { return nonPersonTypes[typ] }

// hubOnlyTypes are written by the hub alone and never served from the resource store: the
// audit trail is read as AuditEvent through its own path (AuditTrail, AuditEntry targets).
var hubOnlyTypes = map[string]bool{"AuditEvent": true}

// ownedTypes are the non-person types a facility may write, and how a resource of each names
// the Organization it belongs to: a facility changes its own organisation and what hangs off
// it (departments partOf it, its locations, services and endpoints), never another
// facility's, and never the town's definitions and terminology.
var ownedTypes = map[string]func(r ownerFields) []string{
	"Organization":            func(r ownerFields) []string { return []string{r.self, r.PartOf.Reference} },
	"Location":                func(r ownerFields) []string { return []string{r.ManagingOrganization.Reference} },
	"Endpoint":                func(r ownerFields) []string { return []string{r.ManagingOrganization.Reference} },
	"HealthcareService":       func(r ownerFields) []string { return []string{r.ProvidedBy.Reference} },
	"OrganizationAffiliation": func(r ownerFields) []string { return []string{r.Organization.Reference} },
}

type ownerFields struct {
	self                 string
	PartOf               struct{ Reference string } `json:"partOf"`
	ManagingOrganization struct{ Reference string } `json:"managingOrganization"`
	ProvidedBy           struct{ Reference string } `json:"providedBy"`
	Organization         struct{ Reference string } `json:"organization"`
}

// decideAccess decides one access about at most one patient (a.Patient) with the role
// table, the scopes, the labels and the roster. The principal is known to be valid for the
// view's tenant and to have a known role (View checks both once).
func (v *View) decideAccess(a Access) Decision {
	p, r := v.p, v.rule
	a = withPatient(a)
	// 1. SMART scopes bound everything.
	if !p.Scopes.Grants(a, p.Patient) {
		return deny("the token's scopes do not allow %s on %s", opName(a.Op), a.Type)
	}
	// 2. The role's types and operations.
	if !slices.Contains(r.types, "*") && !slices.Contains(r.types, a.Type) {
		return deny("role %s may not access %s", p.Role, a.Type)
	}
	if !strings.ContainsRune(r.ops, rune(a.Op)) {
		return deny("role %s may not %s", p.Role, opName(a.Op))
	}
	// 3. Person-level data.
	personal := a.Patient != "" || !nonPersonTypes[a.Type]
	if personal && !r.person {
		return deny("role %s may not access data about a person", p.Role)
	}
	// 4. Sensitive labels.
	var missing []string
	for _, l := range a.Security {
		key := label(l.System, l.Code)
		if !slices.Contains(sensitiveLabels, key) || slices.Contains(v.held, key) {
			continue
		}
		if a.Op == OpCreate && slices.Contains(r.reports, key) {
			continue // a duty to report: create, not read back
		}
		missing = append(missing, l.Code)
	}
	breakGlass := false
	if len(missing) > 0 {
		what := strings.Join(missing, ", ")
		switch {
		case v.decl.BreakGlass == "":
			return deny("the resource is labelled %s, which role %s does not hold", what, p.Role)
		case !r.breakGlass:
			return deny("role %s may not invoke break-glass", p.Role)
		case strings.TrimSpace(v.decl.BreakGlass) == "":
			return deny("break-glass needs a reason")
		}
		breakGlass = true
	}
	// 5. The facility roster.
	if v.rostered && personal {
		switch {
		case p.Facility == "":
			return deny("the token names no facility")
		case a.Patient != "":
			if v.err != nil {
				return Decision{Err: v.err}
			}
			if !v.roster.Has(a.Patient) {
				return deny("%s is not on the roster of %s", a.Patient, p.Facility)
			}
		case a.ID == "" && a.Op == OpSearch:
			// A type-level search may run; each result is decided with its patient.
		default:
			return deny("%s access to %s that names no patient on the roster of %s", opName(a.Op), a.Type, p.Facility)
		}
	}
	if breakGlass {
		return Decision{Allowed: true, BreakGlass: true,
			Reason: fmt.Sprintf("break-glass by %s (%s): %s", p.Subject, p.Role, strings.TrimSpace(v.decl.BreakGlass))}
	}
	reason := fmt.Sprintf("role %s with scopes allowing %s on %s", p.Role, opName(a.Op), a.Type)
	if v.rostered && a.Patient != "" {
		reason += fmt.Sprintf("; %s on the roster of %s", a.Patient, p.Facility)
	}
	return Decision{Allowed: true, Reason: reason}
}

func deny(format string, args ...any) Decision {
	return Decision{Reason: fmt.Sprintf(format, args...)}
}
