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
	"net/http"
	"strings"
)

// Principal is the verified identity behind a request.
type Principal struct {
	// Subject is the token's sub: a staff member's login or a client id.
	Subject string
	// Tenant is the tenant the token was issued for.
	Tenant string
	// ClientID is the OAuth client that obtained the token, when known.
	ClientID string
	// Role is the hub role (municipal-staff, facility, …), empty when the token carries none.
	Role string
	// Facility is the Organization reference of a facility token, e.g. "Organization/123".
	Facility string
	// Scopes are the granted SMART scopes.
	Scopes Scopes
	// Issuer is the token's iss: the identity provider or the hub's token service.
	Issuer string
	// Rate is the request rate of the principal's client registration; zero means the
	// server's default.
	Rate Rate
	// Patient is the patient in context ("Patient/ID") of a token with patient/ scopes (the
	// SMART launch context claim "patient"); empty otherwise.
	Patient string
	// FacilityKind says what kind of facility a facility principal is (FacilityHospital,
	// FacilityNursery, FacilitySchool, FacilityChildGuidance), when known.
	FacilityKind string
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal in ctx, or nil.
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// Authenticator verifies a request's credentials for one tenant.
type Authenticator interface {
	// Authenticate returns the principal, or a *fhir.Error with status 401.
	Authenticate(ctx context.Context, tenant string, r *http.Request) (*Principal, error)
}

// Op is what an access does to a resource, in SMART v2 terms.
type Op byte

// SMART v2 operations.
const (
	OpCreate Op = 'c'
	OpRead   Op = 'r'
	OpUpdate Op = 'u'
	OpDelete Op = 'd'
	OpSearch Op = 's'
)

// Access describes one access to data that the policy decides on.
type Access struct {
	Op   Op
	Type string // resource type; "*" for system-wide operations
	ID   string // empty for type-level operations

	// Tenant is the tenant of the URL; when set it must equal the principal's tenant.
	Tenant string
	// Patient is the patient the resource is about, as "Patient/ID" (the resource itself
	// for a Patient), empty when the resource is about no one or the caller does not know
	// yet (a type-level search whose results are checked one by one).
	Patient string
	// Security holds the resource's meta.security labels.
	Security []Coding
	// Purpose is the purpose of use the caller declared (a v3 ActReason code such as TREAT
	// or PUBHLTH, or a hub code); it is recorded, not enforced.
	Purpose string
	// BreakGlass is the reason the caller gave when invoking break-glass; empty otherwise.
	BreakGlass string
	// Matches, when the access is to a concrete resource, reports whether that resource
	// matches a search restriction ("category=laboratory") of a SMART scope. Nil for
	// type-level accesses.
	Matches func(query string) (bool, error)
}

// Coding is a code from a code system, as in a FHIR Coding.
type Coding struct {
	System string `json:"system,omitempty"`
	Code   string `json:"code,omitempty"`
}

// withPatient fills in the patient of an access to a Patient resource.
func withPatient(a Access) Access {
	if a.Type == "Patient" && a.ID != "" && a.Patient == "" {
		a.Patient = "Patient/" + a.ID
	}
	return a
}

func opName(op Op) string {
	switch op {
	case OpCreate:
		return "create"
	case OpRead:
		return "read"
	case OpUpdate:
		return "update"
	case OpDelete:
		return "delete"
	case OpSearch:
		return "search"
	}
	return string(op)
}

// bearer returns the bearer token of r, or "".
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// PatientContext normalises a SMART launch context claim "patient" (a bare id or
// "Patient/ID") to "Patient/ID"; "" stays "".
func PatientContext(claim string) string {
	if claim == "" || strings.HasPrefix(claim, "Patient/") {
		return claim
	}
	return "Patient/" + claim
}
