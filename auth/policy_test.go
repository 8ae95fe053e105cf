package auth

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/kodomohub/kodomohub/fhir"
)

// rosterOf is a Roster from a fixed map facility → patients.
type rosterOf map[string][]string

func (r rosterOf) OnRoster(_ context.Context, tenant, facility, patient string) (bool, error) {
	if tenant != "misato" {
		return false, nil
	}
	for _, p := range r[facility] {
		if p == patient {
			return true, nil
		}
	}
	return false, nil
}

type brokenRoster struct{}

func (brokenRoster) OnRoster(context.Context, string, string, string) (bool, error) {
	return false, errors.New("store down")
}

func principal(t *testing.T, role, scope string, mod ...func(*Principal)) *Principal {
	t.Helper()
	ss, err := ParseScopes(scope)
	if err != nil {
		t.Fatal(err)
	}
	p := &Principal{Subject: "u1", Tenant: "misato", Role: role, Scopes: ss}
	for _, m := range mod {
		m(p)
	}
	return p
}

func atFacility(org, kind string) func(*Principal) {
	return func(p *Principal) { p.Facility, p.FacilityKind = org, kind }
}

func TestAccessPolicy(t *testing.T) {
	ctx := context.Background()
	ap := &AccessPolicy{Roster: rosterOf{
		"Organization/nursery-1": {"Patient/child-1"},
		"Organization/jisou":     {"Patient/child-1", "Patient/child-2"},
	}}
	yotaikyo := []Coding{{System: SecurityCategorySystem, Code: SecurityYotaikyoCase}}
	abuse := []Coding{{System: SecurityCategorySystem, Code: SecurityAbuseReport}}
	veryRestricted := []Coding{{System: ConfidentialitySystem, Code: ConfidentialityV}}
	normal := []Coding{{System: ConfidentialitySystem, Code: "N"}, {System: "http://example.org/tags", Code: "x"}}

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
	noRole := principal(t, "", "user/*.cruds")
	otherRole := principal(t, "mayor", "user/*.cruds")

	obs := func(op Op, patient string, sec []Coding) Access {
		return Access{Op: op, Type: "Observation", ID: "o1", Patient: patient, Security: sec}
	}
	for _, c := range []struct {
		name   string
		p      *Principal
		a      Access
		allow  bool
		reason string // substring of the decision's reason
	}{
		// Staff.
		{"OKStaffReadsObservation", staff, obs(OpRead, "Patient/child-9", nil), true, "role municipal-staff"},
		{"OKStaffReadsYotaikyoCase", staff, obs(OpRead, "Patient/child-9", yotaikyo), true, ""},
		{"OKOrdinaryLabelsRestrictNothing", nursery, obs(OpRead, "Patient/child-1", normal), true, ""},
		{"ErrStaffBeyondScopes", staffReadOnly, obs(OpUpdate, "Patient/child-9", nil), false, "scopes do not allow update"},
		{"ErrStaffVeryRestricted", staff, obs(OpRead, "Patient/child-9", veryRestricted), false, "labelled V"},
		{"OKStaffBreakGlass", staff, func() Access {
			a := obs(OpRead, "Patient/child-9", veryRestricted)
			a.BreakGlass = "緊急: 一時保護の判断"
			return a
		}(), true, "break-glass by u1"},
		{"ErrBreakGlassBlankReason", staff, func() Access {
			a := obs(OpRead, "Patient/child-9", veryRestricted)
			a.BreakGlass = "   "
			return a
		}(), false, "needs a reason"},
		{"ErrBreakGlassBeyondScopes", staffReadOnly, func() Access {
			a := obs(OpDelete, "Patient/child-9", veryRestricted)
			a.BreakGlass = "emergency"
			return a
		}(), false, "scopes"},
		{"ErrAdminSensitive", admin, obs(OpRead, "Patient/child-9", yotaikyo), false, "does not hold"},
		{"OKAdminBreakGlass", admin, func() Access {
			a := obs(OpRead, "Patient/child-9", yotaikyo)
			a.BreakGlass = "case conference"
			return a
		}(), true, "break-glass"},
		{"ErrOtherTenant", staff, func() Access { a := obs(OpRead, "", nil); a.Tenant = "kawajima"; return a }(), false, "another tenant"},
		{"ErrNoRole", noRole, obs(OpRead, "", nil), false, "no hub role"},
		{"ErrUnknownRole", otherRole, obs(OpRead, "", nil), false, "unknown role"},

		// Facilities and the roster.
		{"OKNurseryReadsRosterChild", nursery, obs(OpRead, "Patient/child-1", nil), true, "on the roster of Organization/nursery-1"},
		{"OKNurseryReadsRosterPatientResource", nursery, Access{Op: OpRead, Type: "Patient", ID: "child-1"}, true, ""},
		{"ErrNurseryOffRoster", nursery, obs(OpRead, "Patient/child-2", nil), false, "not on the roster"},
		{"ErrNurseryOffRosterPatientResource", nursery, Access{Op: OpRead, Type: "Patient", ID: "child-2"}, false, "not on the roster"},
		{"ErrNurseryWritesOffRoster", nursery, obs(OpCreate, "Patient/child-2", nil), false, "not on the roster"},
		{"OKNurseryTypeSearch", nursery, Access{Op: OpSearch, Type: "Observation"}, true, ""},
		{"ErrNurseryReadWithoutPatient", nursery, obs(OpRead, "", nil), false, "names no patient"},
		{"ErrNurseryCreateWithoutPatient", nursery, Access{Op: OpCreate, Type: "Observation"}, false, "names no patient"},
		{"OKNurseryReadsOrganization", nursery, Access{Op: OpRead, Type: "Organization", ID: "x"}, true, ""},
		{"ErrFacilityWithoutFacility", noFacility, obs(OpRead, "Patient/child-1", nil), false, "names no facility"},
		{"ErrNurseryAbuseReportRead", nursery, obs(OpRead, "Patient/child-1", abuse), false, "abuse-report"},
		{"OKNurseryFilesAbuseReport", nursery, obs(OpCreate, "Patient/child-1", abuse), true, ""},
		{"ErrNurseryYotaikyoCase", nursery, obs(OpRead, "Patient/child-1", yotaikyo), false, "yotaikyo-case"},
		{"ErrNurseryBreakGlass", nursery, func() Access {
			a := obs(OpRead, "Patient/child-1", yotaikyo)
			a.BreakGlass = "please"
			return a
		}(), false, "may not invoke break-glass"},
		{"OKChildGuidanceYotaikyoCase", jisou, obs(OpRead, "Patient/child-2", yotaikyo), true, ""},
		{"ErrChildGuidanceOffRoster", jisou, obs(OpRead, "Patient/child-3", yotaikyo), false, "not on the roster"},
		{"ErrHospitalOffRoster", hospital, obs(OpRead, "Patient/child-1", nil), false, "not on the roster"},

		// Vendor systems.
		{"OKVendorWrites", vendor, Access{Op: OpCreate, Type: "Observation"}, true, ""},
		{"OKVendorReadsAnyChild", vendor, obs(OpRead, "Patient/child-7", nil), true, ""},
		{"ErrVendorSensitive", vendor, obs(OpRead, "Patient/child-7", yotaikyo), false, "does not hold"},
		{"ErrBoundVendorOffRoster", boundVendor, obs(OpRead, "Patient/child-7", nil), false, "not on the roster"},
		{"OKBoundVendorOnRoster", boundVendor, obs(OpRead, "Patient/child-1", nil), true, ""},

		// Auditor.
		{"OKAuditorSearchesAuditEvent", auditor, Access{Op: OpSearch, Type: "AuditEvent"}, true, ""},
		{"OKAuditorReadsAuditEvent", auditor, Access{Op: OpRead, Type: "AuditEvent", ID: "a1", Patient: "Patient/child-1"}, true, ""},
		{"ErrAuditorReadsPatient", auditor, Access{Op: OpRead, Type: "Patient", ID: "child-1"}, false, "may not access Patient"},
		{"ErrAuditorWritesAuditEvent", principal(t, RoleAuditor, "user/*.cruds"), Access{Op: OpUpdate, Type: "AuditEvent", ID: "a1"}, false, "may not update"},

		// Researcher.
		{"OKResearcherReadsMeasureReport", researcher, Access{Op: OpSearch, Type: "MeasureReport"}, true, ""},
		{"ErrResearcherSearchesPatients", researcher, Access{Op: OpSearch, Type: "Patient"}, false, "about a person"},
		{"ErrResearcherReadsObservation", researcher, obs(OpRead, "", nil), false, "about a person"},
		{"ErrResearcherIndividualMeasureReport", researcher, Access{Op: OpRead, Type: "MeasureReport", ID: "m", Patient: "Patient/child-1"}, false, "about a person"},
		{"ErrResearcherWrites", principal(t, RoleResearcher, "user/*.cruds"), Access{Op: OpCreate, Type: "MeasureReport"}, false, "may not create"},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := ap.Decide(ctx, c.p, c.a)
			if d.Err != nil {
				t.Fatal(d.Err)
			}
			if d.Allowed != c.allow || !strings.Contains(d.Reason, c.reason) || d.Reason == "" {
				t.Fatalf("decision %+v, want allowed %v with reason ~%q", d, c.allow, c.reason)
			}
			if d.BreakGlass != (d.Allowed && c.a.BreakGlass != "" && strings.HasPrefix(d.Reason, "break-glass")) {
				t.Fatalf("break-glass flag %v on %q", d.BreakGlass, d.Reason)
			}
			err := ap.Authorize(ctx, c.p, c.a)
			if fe := fhir.AsError(err); c.allow && err != nil || !c.allow && (fe == nil || fe.Status != http.StatusForbidden) {
				t.Fatalf("Authorize: %v", err)
			}
		})
	}
	t.Run("BreakGlassNotFlaggedWhenNotNeeded", func(t *testing.T) {
		a := obs(OpRead, "Patient/child-9", nil)
		a.BreakGlass = "habit"
		if d := ap.Decide(ctx, staff, a); !d.Allowed || d.BreakGlass {
			t.Fatalf("%+v", d)
		}
	})
	t.Run("ErrRosterDown", func(t *testing.T) {
		ap := &AccessPolicy{Roster: brokenRoster{}}
		a := obs(OpRead, "Patient/child-1", nil)
		if d := ap.Decide(ctx, nursery, a); d.Allowed || d.Err == nil {
			t.Fatalf("%+v", d)
		}
		err := ap.Authorize(ctx, nursery, a)
		if err == nil || fhir.AsError(err) != nil {
			t.Fatalf("err %v, want an internal error", err)
		}
	})
	t.Run("ErrNoPrincipal", func(t *testing.T) {
		wantStatus(t, ap.Authorize(ctx, nil, obs(OpRead, "", nil)), http.StatusUnauthorized)
	})
}
