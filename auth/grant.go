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
)

// An admin can grant only what it holds. A client registration made through the admin API
// gives the client a role, maybe a facility, and scopes; the guard allows it when the client
// could reach nothing the admin itself cannot:
//
//   - every scope of the client is within one of the admin's scopes: the same type or the
//     admin's "*", no operation the admin's scope lacks, and the admin's scope unrestricted or
//     restricted the same way (a patient/ scope is never delegated: a backend client has no
//     patient in context);
//   - the client's role reaches no more than the admin's role: no type the admin's role may
//     not touch, no operation, person-level data only if the admin's role reaches it, no
//     sensitive label the admin's role does not hold (a child guidance centre holds 要対協
//     case records and abuse reports; a municipal admin does not), break-glass only if the
//     admin's role may invoke it, and a client held to a roster when the admin is;
//   - the audit trail as a whole is the auditor's: only an auditor grants it.
//
// The duty to report (a facility or vendor may create an abuse report it cannot read back)
// gives no access to data, so it is not compared. Listing and disabling clients are decided
// the same way: an admin may disable only a client it could have registered.

// decideGrant decides op (create: register, read: list, delete: disable) on a client grant.
func (v *View) decideGrant(op Op, g ClientGrant) Decision {
	p := v.p
	if p.Role != RoleMunicipalAdmin {
		return deny("the admin API is for the town's %s role", RoleMunicipalAdmin)
	}
	if op == OpRead || op == OpSearch {
		return Decision{Allowed: true, Reason: fmt.Sprintf("%s of %s lists the town's clients", p.Role, p.Tenant)}
	}
	for _, s := range g.Scopes {
		if why := v.scopeBeyond(s); why != "" {
			return deny("the client's scope %s is beyond the admin's own: %s", s, why)
		}
	}
	role := g.Role
	if role == "" {
		role = RoleVendorSystem
		if g.Facility != "" {
			role = RoleFacility
		}
	}
	cr, ok := roles[role]
	if !ok {
		return deny("unknown role %q", role)
	}
	ar := v.rule
	switch {
	case role == RoleAuditor && p.Role != RoleAuditor:
		return deny("only an auditor may grant the audit trail")
	case !slices.Contains(ar.types, "*") && slices.ContainsFunc(cr.types, func(t string) bool { return !slices.Contains(ar.types, t) }):
		return deny("role %s reaches types role %s does not", role, p.Role)
	case missingOps(cr.ops, ar.ops) != "":
		return deny("role %s may %s, which role %s may not", role, missingOps(cr.ops, ar.ops), p.Role)
	case cr.person && !ar.person:
		return deny("role %s reaches data about persons, role %s does not", role, p.Role)
	case cr.breakGlass && !ar.breakGlass:
		return deny("role %s may invoke break-glass, role %s may not", role, p.Role)
	case v.rostered && (!(cr.roster || role == RoleVendorSystem) || g.Facility != p.Facility):
		return deny("the admin is held to the roster of %s, so must its clients be", p.Facility)
	}
	held := cr.holds
	if role == RoleFacility && g.FacilityKind == FacilityChildGuidance {
		held = childGuidanceHolds
	}
	for _, l := range held {
		if !slices.Contains(v.held, l) {
			_, code, _ := strings.Cut(l, "|")
			return deny("role %s holds the label %s, which role %s does not", describeRole(role, g.FacilityKind), code, p.Role)
		}
	}
	return Decision{Allowed: true, Reason: fmt.Sprintf("%s grants %s within its own scopes and role", p.Role, describeRole(role, g.FacilityKind))}
}

func describeRole(role, kind string) string {
	if kind != "" {
		return role + " (" + kind + ")"
	}
	return role
}

// scopeBeyond says why s is not within one of the view's scopes ("" when it is).
func (v *View) scopeBeyond(s Scope) string {
	if s.Context == "patient" {
		return "patient/ scopes are not delegated"
	}
	why := "no scope of the admin names " + s.Type
	for _, a := range v.p.Scopes {
		if a.Context == "patient" || (a.Type != "*" && a.Type != s.Type) {
			continue
		}
		if missingOps(s.Ops, a.Ops) != "" {
			why = fmt.Sprintf("the admin's %s does not allow %s", a, missingOps(s.Ops, a.Ops))
			continue
		}
		if a.Query != "" && a.Query != s.Query {
			why = fmt.Sprintf("the admin's %s is restricted to %s", a, a.Query)
			continue
		}
		return ""
	}
	return why
}

// missingOps returns the operations of want that have lacks, in order.
func missingOps(want, have string) string {
	var b strings.Builder
	for _, c := range want {
		if !strings.ContainsRune(have, c) {
			b.WriteRune(c)
		}
	}
	return b.String()
}
