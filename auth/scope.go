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
	"strings"

	"github.com/kodomohub/kodomohub/fhir"
)

// Scope is one parsed SMART resource scope, e.g. "system/Observation.rs?category=laboratory".
type Scope struct {
	// Context is "patient", "user" or "system".
	Context string
	// Type is a resource type or "*".
	Type string
	// Ops holds the granted operations in SMART v2 order (a subset of "cruds").
	Ops string
	// Query is the raw ?param=value restriction, empty when none.
	Query string
}

func (s Scope) String() string {
	out := s.Context + "/" + s.Type + "." + s.Ops
	if s.Query != "" {
		out += "?" + s.Query
	}
	return out
}

// Scopes is a set of granted resource scopes.
type Scopes []Scope

// ParseScope parses one SMART v1 or v2 resource scope. v1 ".read" maps to "rs", ".write" to
// "cud" and ".*" to "cruds". Non-resource scopes (openid, fhirUser, launch…) return ok false.
func ParseScope(s string) (sc Scope, ok bool, err error) {
	ctx, rest, found := strings.Cut(s, "/")
	if !found {
		return sc, false, nil
	}
	switch ctx {
	case "patient", "user", "system":
	default:
		return sc, false, nil
	}
	rest, sc.Query, _ = strings.Cut(rest, "?")
	typ, ops, found := strings.Cut(rest, ".")
	if !found {
		return sc, false, fmt.Errorf("scope %q: want context/Type.ops", s)
	}
	if typ != "*" && !fhir.IsResourceType(typ) {
		return sc, false, fmt.Errorf("scope %q: unknown resource type %q", s, typ)
	}
	switch ops {
	case "read":
		ops = "rs"
	case "write":
		ops = "cud"
	case "*":
		ops = "cruds"
	default:
		last := -1
		for _, c := range ops {
			i := strings.IndexRune("cruds", c)
			if i <= last {
				return sc, false, fmt.Errorf("scope %q: operations must be a subset of cruds in that order", s)
			}
			last = i
		}
		if ops == "" {
			return sc, false, fmt.Errorf("scope %q: no operations", s)
		}
	}
	sc.Context, sc.Type, sc.Ops = ctx, typ, ops
	return sc, true, nil
}

// ParseScopes parses a space-separated scope string, keeping the resource scopes.
func ParseScopes(s string) (Scopes, error) {
	var out Scopes
	for _, f := range strings.Fields(s) {
		sc, ok, err := ParseScope(f)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, sc)
		}
	}
	return out, nil
}

// Allows reports whether some scope grants op on every resource of typ: an unrestricted
// user/ or system/ scope. typ "*" asks for a grant on every type. Patient scopes and
// restricted scopes (?param=value) grant only some resources; Grants decides those.
func (ss Scopes) Allows(typ string, op Op) bool {
	for _, s := range ss {
		if s.Query == "" && s.Context != "patient" && s.covers(typ, op) {
			return true
		}
	}
	return false
}

// Grants reports whether some scope grants the access a to a principal whose launch context
// is patient ("" when none, else "Patient/ID"):
//
//   - user/ and system/ scopes without a restriction grant every resource of their types;
//   - a patient/ scope grants only what is about the patient in context (a.Patient), and
//     nothing when the token carries no patient context;
//   - a scope restricted by ?param=value grants a resource that matches the restriction
//     (a.Matches); without a concrete resource (a type-level search) a restricted or patient
//     scope lets the search run, and the server decides every result again with its resource.
func (ss Scopes) Grants(a Access, patient string) bool {
	typeLevel := a.ID == "" && a.Op == OpSearch && a.Matches == nil
	for _, s := range ss {
		if !s.covers(a.Type, a.Op) {
			continue
		}
		if s.Context == "patient" {
			if patient == "" {
				continue
			}
			if a.Patient != patient && !(typeLevel && a.Patient == "") {
				continue
			}
		}
		if s.Query != "" && !typeLevel {
			if a.Matches == nil {
				continue
			}
			if ok, err := a.Matches(s.Query); err != nil || !ok {
				continue
			}
		}
		return true
	}
	return false
}

// Covers reports whether some scope, of any context and restricted or not, names op on typ:
// without it nothing of typ can be granted, whatever the resource.
func (ss Scopes) Covers(typ string, op Op) bool {
	for _, s := range ss {
		if s.covers(typ, op) {
			return true
		}
	}
	return false
}

func (s Scope) covers(typ string, op Op) bool {
	return (s.Type == "*" || s.Type == typ) && strings.IndexByte(s.Ops, byte(op)) >= 0
}

func (ss Scopes) String() string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = s.String()
	}
	return strings.Join(parts, " ")
}
