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
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/kodomohub/kodomohub/audit"
	"github.com/kodomohub/kodomohub/fhir"
	"github.com/kodomohub/kodomohub/fhir/fhirpath"
	"github.com/kodomohub/kodomohub/fhir/search"
)

// rosterOf is a Roster from a fixed map facility → patients (town misato only).
type rosterOf map[string][]string

func (r rosterOf) OnRoster(ctx context.Context, tenant, facility, patient string) (bool, error) {
	set, err := r.Patients(ctx, tenant, facility)
	return set.Has(patient), err
}

func (r rosterOf) Patients(_ context.Context, tenant, facility string) (RosterSet, error) {
	if tenant != "misato" {
		return NewRosterSet(), nil
	}
	return NewRosterSet(r[facility]...), nil
}

type brokenRoster struct{}

func (brokenRoster) OnRoster(context.Context, string, string, string) (bool, error) {
	return false, errors.New("store down")
}

func (brokenRoster) Patients(context.Context, string, string) (RosterSet, error) {
	return RosterSet{}, errors.New("store down")
}

func principal(t *testing.T, role, scope string, mod ...func(*Principal)) *Principal {
	t.Helper()
	ss, err := ParseScopes(scope)
	if err != nil {
		t.Fatal(err)
	}
	p := &Principal{Subject: "u1", Issuer: "idp", Tenant: "misato", Role: role, Scopes: ss}
	for _, m := range mod {
		m(p)
	}
	return p
}

func atFacility(org, kind string) func(*Principal) {
	return func(p *Principal) { p.Facility, p.FacilityKind = org, kind }
}

var (
	yotaikyoL = []Coding{{System: SecurityCategorySystem, Code: SecurityYotaikyoCase}}
	abuseL    = []Coding{{System: SecurityCategorySystem, Code: SecurityAbuseReport}}
	veryRL    = []Coding{{System: ConfidentialitySystem, Code: ConfidentialityV}}
	normalL   = []Coding{{System: ConfidentialitySystem, Code: "N"}, {System: "http://example.org/tags", Code: "x"}}
)

// stored builds a stored version of typ/id from JSON fields (without braces).
func stored(typ, id string, version int64, fields string) fhir.Resource {
	raw := fmt.Sprintf(`{"resourceType":%q,"id":%q%s}`, typ, id, fields)
	return fhir.Resource{Type: typ, ID: id, Version: version, Raw: []byte(raw)}
}

// obs is an Observation about patient (none when ""), labelled labels.
func obs(patient string, labels []Coding) fhir.Resource {
	f := `,"status":"final","code":{"text":"体重"}`
	if patient != "" {
		f += fmt.Sprintf(`,"subject":{"reference":%q}`, patient)
	}
	if labels != nil {
		b, _ := json.Marshal(labels)
		f += `,"meta":{"security":` + string(b) + `}`
	}
	obsN++ // a version's facts are cached by id and version: every example its own id
	return stored("Observation", fmt.Sprintf("o%d", obsN), 1, f)
}

var obsN int

// body turns a stored version into a body about to be written, with its index entries.
func body(t *testing.T, r fhir.Resource) Body {
	t.Helper()
	decoded, err := fhirpath.Decode(r.Raw)
	if err != nil {
		t.Fatal(err)
	}
	index, err := search.Default().Extract(decoded)
	if err != nil {
		t.Fatal(err)
	}
	return Body{Type: r.Type, ID: r.ID, Raw: r.Raw, Index: index}
}

func TestGuard(t *testing.T) {
	ctx := context.Background()
	g := &Guard{Roster: rosterOf{
		"Organization/nursery-1": {"Patient/child-1"},
		"Organization/jisou":     {"Patient/child-1", "Patient/child-2"},
	}}
	staff := principal(t, RoleMunicipalStaff, "user/*.cruds")
	staffReadOnly := principal(t, RoleMunicipalStaff, "user/*.rs")
	admin := principal(t, RoleMunicipalAdmin, "user/*.cruds")
	nursery := principal(t, RoleFacility, "system/*.cruds", atFacility("Organization/nursery-1", FacilityNursery))
	jisou := principal(t, RoleFacility, "system/*.cruds", atFacility("Organization/jisou", FacilityChildGuidance))
	hospital := principal(t, RoleFacility, "system/*.cruds", atFacility("Organization/hospital", FacilityHospital))
	noFacility := principal(t, RoleFacility, "system/*.cruds")
	vendor := principal(t, RoleVendorSystem, "system/*.cruds")
	boundVendor := principal(t, RoleVendorSystem, "system/*.cruds", atFacility("Organization/nursery-1", ""))
	auditor := principal(t, RoleAuditor, "user/*.rs")
	researcher := principal(t, RoleResearcher, "user/*.rs")
	patientApp := principal(t, RoleVendorSystem, "patient/*.rs", func(p *Principal) { p.Patient = "Patient/child-1" })
	labOnly := principal(t, RoleMunicipalStaff, "user/Observation.rs?code=http://loinc.org|29463-7")

	type tc struct {
		name   string
		p      *Principal
		op     Op
		target Target
		decl   Declared
		allow  bool
		hidden bool
		reason string // substring of the decision's reason
	}
	cur := obs("Patient/child-1", abuseL)
	cur.Version = 2
	old := func() fhir.Resource { o := obs("Patient/child-1", nil); o.ID = cur.ID; return o }
	cases := []tc{
		// Staff.
		{"OKStaffReadsObservation", staff, OpRead, Stored{Resource: obs("Patient/child-9", nil)}, Declared{}, true, false, "role municipal-staff"},
		{"OKStaffReadsYotaikyoCase", staff, OpRead, Stored{Resource: obs("Patient/child-9", yotaikyoL)}, Declared{}, true, false, ""},
		{"OKOrdinaryLabelsRestrictNothing", nursery, OpRead, Stored{Resource: obs("Patient/child-1", normalL)}, Declared{}, true, false, ""},
		{"ErrStaffBeyondScopes", staffReadOnly, OpUpdate, Stored{Resource: obs("Patient/child-9", nil)}, Declared{}, false, false, "scopes do not allow update"},
		{"ErrStaffVeryRestrictedIsHidden", staff, OpRead, Stored{Resource: obs("Patient/child-9", veryRL)}, Declared{}, false, true, "labelled V"},
		{"OKStaffBreakGlass", staff, OpRead, Stored{Resource: obs("Patient/child-9", veryRL)}, Declared{BreakGlass: "緊急: 一時保護の判断"}, true, false, "break-glass by u1"},
		{"ErrBreakGlassBlankReason", staff, OpRead, Stored{Resource: obs("Patient/child-9", veryRL)}, Declared{BreakGlass: "   "}, false, true, "needs a reason"},
		{"ErrAdminSensitive", admin, OpRead, Stored{Resource: obs("Patient/child-9", yotaikyoL)}, Declared{}, false, true, "does not hold"},
		{"OKAdminBreakGlass", admin, OpRead, Stored{Resource: obs("Patient/child-9", yotaikyoL)}, Declared{BreakGlass: "case conference"}, true, false, "break-glass"},
		{"ErrNoRole", principal(t, "", "user/*.cruds"), OpRead, Type("Observation"), Declared{}, false, false, "no hub role"},
		{"ErrUnknownRole", principal(t, "mayor", "user/*.cruds"), OpRead, Type("Observation"), Declared{}, false, false, "unknown role"},

		// Older versions are as hidden as the resource became.
		{"ErrOldVersionOfLabelledResource", nursery, OpRead, Stored{Resource: old(), Current: &cur}, Declared{}, false, true, "abuse-report"},
		{"OKOldVersionForStaff", staff, OpRead, Stored{Resource: old(), Current: &cur}, Declared{}, true, false, ""},
		{"ErrDeletedResourceDecidedOnLastBody", nursery, OpRead, Stored{Resource: fhir.Resource{Type: "Observation", ID: cur.ID, Version: 3, Deleted: true}, Current: &cur}, Declared{}, false, true, "abuse-report"},

		// Facilities and the roster.
		{"OKNurseryReadsRosterChild", nursery, OpRead, Stored{Resource: obs("Patient/child-1", nil)}, Declared{}, true, false, "on the roster of Organization/nursery-1"},
		{"OKNurseryReadsRosterPatientResource", nursery, OpRead, Stored{Resource: stored("Patient", "child-1", 1, "")}, Declared{}, true, false, ""},
		{"ErrNurseryOffRosterIsHidden", nursery, OpRead, Stored{Resource: obs("Patient/child-2", nil)}, Declared{}, false, true, "not on the roster"},
		{"ErrNurseryOffRosterPatientResource", nursery, OpRead, Stored{Resource: stored("Patient", "child-2", 1, "")}, Declared{}, false, true, "not on the roster"},
		{"ErrNurseryWritesOffRoster", nursery, OpCreate, body(t, obs("Patient/child-2", nil)), Declared{}, false, true, "not on the roster"},
		{"OKNurseryTypeSearch", nursery, OpSearch, Type("Observation"), Declared{}, true, false, ""},
		{"OKNurseryTypeCreate", nursery, OpCreate, Type("Observation"), Declared{}, true, false, ""},
		{"ErrNurseryReadWithoutPatient", nursery, OpRead, Stored{Resource: obs("", nil)}, Declared{}, false, true, "names no patient"},
		{"OKNurseryReadsOrganization", nursery, OpRead, Stored{Resource: stored("Organization", "x", 1, "")}, Declared{}, true, false, ""},
		{"ErrFacilityWithoutFacility", noFacility, OpRead, Type("Observation"), Declared{}, false, false, "names no facility"},
		{"ErrNurseryAbuseReportRead", nursery, OpRead, Stored{Resource: obs("Patient/child-1", abuseL)}, Declared{}, false, true, "abuse-report"},
		{"OKNurseryFilesAbuseReport", nursery, OpCreate, body(t, obs("Patient/child-1", abuseL)), Declared{}, true, false, ""},
		{"ErrNurseryYotaikyoCase", nursery, OpRead, Stored{Resource: obs("Patient/child-1", yotaikyoL)}, Declared{}, false, true, "yotaikyo-case"},
		{"ErrNurseryBreakGlass", nursery, OpRead, Stored{Resource: obs("Patient/child-1", yotaikyoL)}, Declared{BreakGlass: "please"}, false, true, "may not invoke break-glass"},
		{"OKChildGuidanceYotaikyoCase", jisou, OpRead, Stored{Resource: obs("Patient/child-2", yotaikyoL)}, Declared{}, true, false, ""},
		{"ErrChildGuidanceOffRoster", jisou, OpRead, Stored{Resource: obs("Patient/child-3", yotaikyoL)}, Declared{}, false, true, "not on the roster"},
		{"ErrHospitalOffRoster", hospital, OpRead, Stored{Resource: obs("Patient/child-1", nil)}, Declared{}, false, true, "not on the roster"},
		{"ErrNurseryObservationAboutTwoChildren", nursery, OpRead, Stored{Resource: stored("Observation", "o9", 1,
			`,"status":"final","code":{"text":"x"},"subject":{"reference":"Patient/child-1"},"performer":[{"reference":"Patient/child-2"}]}`)}, Declared{}, false, true, "child-2 is not on the roster"},

		// A facility writes only its own organisation; the town keeps definitions.
		{"OKNurseryUpdatesItsOrganization", nursery, OpUpdate, body(t, stored("Organization", "nursery-1", 1, `,"name":"みさと保育園"`)), Declared{}, true, false, ""},
		{"OKNurseryCreatesItsDepartment", nursery, OpCreate, body(t, stored("Organization", "", 1, `,"partOf":{"reference":"Organization/nursery-1"}`)), Declared{}, true, false, ""},
		{"ErrNurseryUpdatesAnotherOrganization", nursery, OpUpdate, Stored{Resource: stored("Organization", "hospital", 1, `,"name":"病院"`)}, Declared{}, false, false, "does not belong to Organization/nursery-1"},
		{"ErrNurseryDeletesAnotherOrganization", nursery, OpDelete, Stored{Resource: stored("Organization", "hospital", 1, "")}, Declared{}, false, false, "does not belong"},
		{"OKBodyPartOfItsOrganization", nursery, OpUpdate, body(t, stored("Organization", "hospital", 1, `,"partOf":{"reference":"Organization/nursery-1"}`)), Declared{}, true, false, ""},
		{"ErrNurseryWritesCodeSystem", nursery, OpCreate, Type("CodeSystem"), Declared{}, false, false, "kept by the town"},
		{"OKStaffWritesAnyOrganization", staff, OpDelete, Stored{Resource: stored("Organization", "hospital", 1, "")}, Declared{}, true, false, ""},

		// The audit trail is the hub's.
		{"ErrStaffWritesAuditEvent", staff, OpCreate, Type("AuditEvent"), Declared{}, false, false, "written by the hub only"},
		{"ErrStaffReadsStoredAuditEvent", staff, OpRead, Stored{Resource: stored("AuditEvent", "a1", 1, "")}, Declared{}, false, true, "audit trail"},
		{"OKAuditorSearchesTrail", auditor, OpSearch, AuditTrail{}, Declared{}, true, false, "auditor"},
		{"OKAuditorReadsAnyRecord", auditor, OpRead, AuditEntry{Record: audit.Record{Subject: "someone", Issuer: "idp"}}, Declared{}, true, false, ""},
		{"OKNurseryReadsItsOwnRecord", nursery, OpRead, AuditEntry{Record: audit.Record{Subject: "u1", Issuer: "idp"}}, Declared{}, true, false, "own request"},
		{"ErrNurseryReadsOthersRecord", nursery, OpRead, AuditEntry{Record: audit.Record{Subject: "u2", Issuer: "idp"}}, Declared{}, false, true, "another caller"},
		{"ErrSameSubjectOtherIssuer", nursery, OpRead, AuditEntry{Record: audit.Record{Subject: "u1", Issuer: "other"}}, Declared{}, false, true, "another caller"},
		{"ErrAnonymousRecords", nursery, OpRead, AuditEntry{Record: audit.Record{}}, Declared{}, false, true, ""},
		{"ErrAuditorReadsPatient", auditor, OpRead, Type("Patient"), Declared{}, false, false, "may not access Patient"},

		// Vendors, patient apps, restricted scopes, researchers.
		{"OKVendorWrites", vendor, OpCreate, body(t, obs("Patient/child-7", nil)), Declared{}, true, false, ""},
		{"ErrVendorSensitive", vendor, OpRead, Stored{Resource: obs("Patient/child-7", yotaikyoL)}, Declared{}, false, true, "does not hold"},
		{"ErrBoundVendorOffRoster", boundVendor, OpRead, Stored{Resource: obs("Patient/child-7", nil)}, Declared{}, false, true, "not on the roster"},
		{"OKBoundVendorOnRoster", boundVendor, OpRead, Stored{Resource: obs("Patient/child-1", nil)}, Declared{}, true, false, ""},
		{"OKPatientAppOwnData", patientApp, OpRead, Stored{Resource: obs("Patient/child-1", nil)}, Declared{}, true, false, ""},
		{"ErrPatientAppOtherChild", patientApp, OpRead, Stored{Resource: obs("Patient/child-2", nil)}, Declared{}, false, true, "scopes"},
		{"OKRestrictedScopeMatch", labOnly, OpRead, Stored{Resource: stored("Observation", "w", 1, `,"status":"final","code":{"coding":[{"system":"http://loinc.org","code":"29463-7"}]}`)}, Declared{}, true, false, ""},
		{"ErrRestrictedScopeOther", labOnly, OpRead, Stored{Resource: obs("Patient/child-1", nil)}, Declared{}, false, true, "scopes"},
		{"OKResearcherSearchesMeasureReport", researcher, OpSearch, Type("MeasureReport"), Declared{}, true, false, ""},
		{"ErrResearcherSearchesPatients", researcher, OpSearch, Type("Patient"), Declared{}, false, false, "about a person"},
		{"ErrResearcherIndividualMeasureReport", researcher, OpRead, Stored{Resource: stored("MeasureReport", "m", 1, `,"subject":{"reference":"Patient/child-1"}`)}, Declared{}, false, true, "about a person"},
		{"ErrResearcherWrites", principal(t, RoleResearcher, "user/*.cruds"), OpCreate, Type("MeasureReport"), Declared{}, false, false, "may not create"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := g.Decide(ctx, c.p, Action{Op: c.op, Declared: c.decl}, c.target)
			if d.Err != nil {
				t.Fatal(d.Err)
			}
			if d.Allowed != c.allow || !strings.Contains(d.Reason, c.reason) || d.Reason == "" {
				t.Fatalf("decision %+v, want allowed %v with reason ~%q", d, c.allow, c.reason)
			}
			if !d.Allowed && d.Hidden != c.hidden {
				t.Fatalf("hidden %v, want %v (%s)", d.Hidden, c.hidden, d.Reason)
			}
			if d.BreakGlass != (d.Allowed && strings.HasPrefix(d.Reason, "break-glass")) {
				t.Fatalf("break-glass flag %v on %q", d.BreakGlass, d.Reason)
			}
		})
	}
	t.Run("VisibleAgreesWithDecide", func(t *testing.T) {
		for _, c := range cases {
			s, ok := c.target.(Stored)
			if !ok || s.Current != nil || (c.op != OpRead && c.op != OpSearch) {
				continue
			}
			v := g.View(ctx, c.p, "", c.decl)
			if got, want := v.Visible(c.op)(s.Resource), v.Decide(c.op, s).Allowed; got != want {
				t.Errorf("%s: Visible %v, Decide %v", c.name, got, want)
			}
		}
	})
	t.Run("PatientsForTheAuditRecord", func(t *testing.T) {
		d := g.Decide(ctx, staff, Action{Op: OpRead}, Stored{Resource: obs("Patient/child-9", nil)})
		if !slices.Equal(d.Patients, []string{"Patient/child-9"}) {
			t.Fatalf("patients %v", d.Patients)
		}
	})
	t.Run("BreakGlassNotFlaggedWhenNotNeeded", func(t *testing.T) {
		d := g.Decide(ctx, staff, Action{Op: OpRead, Declared: Declared{BreakGlass: "habit"}}, Stored{Resource: obs("Patient/child-9", nil)})
		if !d.Allowed || d.BreakGlass {
			t.Fatalf("%+v", d)
		}
	})
	t.Run("ErrOtherTenant", func(t *testing.T) {
		d := g.Decide(ctx, staff, Action{Op: OpRead, Tenant: "kawajima"}, Type("Observation"))
		if d.Allowed || !strings.Contains(d.Reason, "another tenant") {
			t.Fatalf("%+v", d)
		}
	})
	t.Run("ErrRosterDown", func(t *testing.T) {
		g := &Guard{Roster: brokenRoster{}}
		d := g.Decide(ctx, nursery, Action{Op: OpRead}, Stored{Resource: obs("Patient/child-1", nil)})
		if d.Allowed || d.Err == nil || d.Hidden {
			t.Fatalf("%+v", d)
		}
	})
	t.Run("ErrNoPrincipal", func(t *testing.T) {
		if d := g.Decide(ctx, nil, Action{Op: OpRead}, Type("Patient")); d.Allowed || d.Reason != "authentication required" {
			t.Fatalf("%+v", d)
		}
	})
}

func TestGuardNarrow(t *testing.T) {
	ctx := context.Background()
	g := &Guard{Roster: rosterOf{"Organization/nursery-1": {"Patient/child-2", "Patient/child-1"}}}
	for _, c := range []struct {
		name string
		p    *Principal
		typ  string
		want Narrowing
	}{
		{"StaffNothingButLabels", principal(t, RoleMunicipalStaff, "user/*.rs"), "Observation", Narrowing{Exact: true}},
		{"NurseryRoster", principal(t, RoleFacility, "system/*.rs", atFacility("Organization/nursery-1", FacilityNursery)), "Observation",
			Narrowing{Patients: []string{"Patient/child-1", "Patient/child-2"}, Narrowed: true}},
		{"NurseryOrganizationsAreOpen", principal(t, RoleFacility, "system/*.rs", atFacility("Organization/nursery-1", FacilityNursery)), "Organization",
			Narrowing{Exact: true}},
		{"PatientApp", principal(t, RoleVendorSystem, "patient/Observation.rs", func(p *Principal) { p.Patient = "Patient/child-9" }), "Observation",
			Narrowing{Patients: []string{"Patient/child-9"}, Narrowed: true}},
		{"OneRestriction", principal(t, RoleMunicipalStaff, "user/Observation.rs?category=laboratory"), "Observation",
			Narrowing{Restriction: "category=laboratory", Exact: true}},
		{"TwoRestrictions", principal(t, RoleMunicipalStaff, "user/Observation.rs?category=laboratory user/Observation.rs?category=vital-signs"), "Observation",
			Narrowing{}},
		{"RestrictionAndUnrestricted", principal(t, RoleMunicipalStaff, "user/Observation.rs?category=laboratory user/*.rs"), "Observation",
			Narrowing{Exact: true}},
		{"ResearcherNeverExact", principal(t, RoleResearcher, "user/*.rs"), "MeasureReport", Narrowing{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := g.View(ctx, c.p, "", Declared{}).Narrow(c.typ, OpSearch)
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Fatalf("%+v, want %+v", got, c.want)
			}
		})
	}
	staff := g.View(ctx, principal(t, RoleMunicipalStaff, "user/*.rs"), "", Declared{})
	if got := staff.HiddenLabels(); len(got) != 1 || got[0].Code != ConfidentialityV {
		t.Errorf("staff hidden labels %v, want V only", got)
	}
	if got := g.View(ctx, principal(t, RoleMunicipalStaff, "user/*.rs"), "", Declared{BreakGlass: "緊急"}).HiddenLabels(); len(got) != 0 {
		t.Errorf("break-glass hidden labels %v, want none", got)
	}
}

func TestGuardClientGrant(t *testing.T) {
	ctx := context.Background()
	g := &Guard{}
	scopes := func(s string) Scopes {
		ss, err := ParseScopes(s)
		if err != nil {
			t.Fatal(err)
		}
		return ss
	}
	orgAdmin := principal(t, RoleMunicipalAdmin, "user/Organization.rs")
	fullAdmin := principal(t, RoleMunicipalAdmin, "user/*.cruds")
	for _, c := range []struct {
		name   string
		p      *Principal
		op     Op
		grant  ClientGrant
		allow  bool
		reason string
	}{
		{"ErrScopeBeyondAdmin", orgAdmin, OpCreate, ClientGrant{Role: RoleVendorSystem, Scopes: scopes("system/*.cruds")}, false, "beyond the admin's own"},
		{"ErrChildGuidanceLabels", fullAdmin, OpCreate, ClientGrant{Role: RoleFacility, Facility: "Organization/j", FacilityKind: FacilityChildGuidance, Scopes: scopes("system/Observation.rs")}, false, "holds the label"},
		{"ErrStaffClient", fullAdmin, OpCreate, ClientGrant{Role: RoleMunicipalStaff, Scopes: scopes("system/Observation.rs")}, false, "holds the label"},
		{"ErrAuditorClient", fullAdmin, OpCreate, ClientGrant{Role: RoleAuditor, Scopes: scopes("system/AuditEvent.rs")}, false, "only an auditor"},
		{"ErrWiderOps", orgAdmin, OpCreate, ClientGrant{Role: RoleVendorSystem, Scopes: scopes("system/Organization.cruds")}, false, "does not allow cud"},
		{"ErrOtherRestriction", principal(t, RoleMunicipalAdmin, "user/Observation.rs?category=laboratory"), OpCreate,
			ClientGrant{Role: RoleVendorSystem, Scopes: scopes("system/Observation.rs")}, false, "restricted"},
		{"OKNarrowerScopes", orgAdmin, OpCreate, ClientGrant{Role: RoleVendorSystem, Scopes: scopes("system/Organization.r")}, true, ""},
		{"OKNurseryClient", fullAdmin, OpCreate, ClientGrant{Role: RoleFacility, Facility: "Organization/n", FacilityKind: FacilityNursery, Scopes: scopes("system/Observation.cruds")}, true, ""},
		{"OKResearcher", fullAdmin, OpCreate, ClientGrant{Role: RoleResearcher, Scopes: scopes("system/MeasureReport.rs")}, true, ""},
		{"ErrDisableStaffClient", fullAdmin, OpDelete, ClientGrant{Role: RoleMunicipalStaff, Scopes: scopes("system/Observation.rs")}, false, "holds the label"},
		{"ErrNotAdmin", principal(t, RoleMunicipalStaff, "user/*.cruds"), OpRead, ClientGrant{}, false, "admin API"},
		{"OKList", orgAdmin, OpRead, ClientGrant{}, true, "lists"},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := g.Decide(ctx, c.p, Action{Op: c.op}, c.grant)
			if d.Allowed != c.allow || !strings.Contains(d.Reason, c.reason) {
				t.Fatalf("%+v, want allowed %v with reason ~%q", d, c.allow, c.reason)
			}
		})
	}
}
