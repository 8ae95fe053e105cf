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
	"slices"
	"strings"
	"testing"

	"github.com/kodomohub/kodomohub/conformance"
	"github.com/kodomohub/kodomohub/fhir"
	"github.com/kodomohub/kodomohub/fhir/search"
	"github.com/kodomohub/kodomohub/store"
)

// pathOf is a request path that reaches r for type typ.
func pathOf(r *route, typ string) []string {
	var segs []string
	switch r.level {
	case typeLevel:
		segs = []string{typ}
	case instanceLevel:
		segs = []string{typ, "x1"}
	}
	switch r.path {
	case "":
	case "_history/{vid}":
		segs = append(segs, "_history", "2")
	case "{compartment}":
		segs = append(segs, "Observation")
	default:
		segs = append(segs, strings.Split(strings.ReplaceAll(r.path, "{job}", "j1"), "/")...)
	}
	return segs
}

// TestEveryRouteIsReached: the router finds each route of the table, with what it names.
func TestEveryRouteIsReached(t *testing.T) {
	for i := range routes {
		r := &routes[i]
		typ := "Patient"
		if r.types != nil {
			typ = r.types[0]
		}
		if r.level == systemLevel {
			typ = ""
		}
		segs := pathOf(r, typ)
		got, m, err := dispatch(r.method, segs)
		if err != nil || got != r {
			t.Errorf("%s /%s: route %+v, %v; want the route of %s", r.method, strings.Join(segs, "/"), got, err, r.interaction)
			continue
		}
		if m.typ != typ || (r.level == instanceLevel) != (m.id == "x1") || strings.Contains(r.path, "{job}") != (m.job == "j1") {
			t.Errorf("%s /%s: match %+v", r.method, strings.Join(segs, "/"), m)
		}
	}
}

func TestRouterRefusals(t *testing.T) {
	for _, tc := range []struct {
		method, path string
		kind         fhir.Kind
		mention      string
	}{
		{"GET", "Child", fhir.KindNotFound, `unknown resource type "Child"`},
		{"GET", "$export", fhir.KindNotImplemented, "$export"},
		{"POST", "Patient/$match", fhir.KindNotImplemented, "$match"},
		{"GET", "Patient/p1/$handover", fhir.KindNotImplemented, "$handover"},
		{"GET", "Observation/o1/$everything", fhir.KindNotImplemented, "$everything"},
		{"GET", "Patient/a%20b", fhir.KindInvalid, "not a valid resource id"},
		{"POST", "Patient/p1", fhir.KindMethodNotAllowed, "POST is not supported on Patient/p1"},
		{"DELETE", "", fhir.KindMethodNotAllowed, "the base URL"},
		{"GET", "_search", fhir.KindMethodNotAllowed, "_search"},
		{"PUT", "Patient/p1/_history/2", fhir.KindMethodNotAllowed, "_history"},
		{"GET", "Patient/p1/_history/2/x", fhir.KindNotFound, "no FHIR interaction"},
		{"PUT", "AuditEvent/1", fhir.KindMethodNotAllowed, "append-only"},
		{"GET", "AuditEvent/1/_history", fhir.KindNotFound, "read and search only"},
	} {
		segs := splitPath("/" + strings.ReplaceAll(tc.path, "%20", " "))
		_, _, err := dispatch(tc.method, segs)
		fe := fhir.AsError(err)
		if fe == nil || fe.Kind != tc.kind || !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("%s /%s: %v, want %s mentioning %q", tc.method, tc.path, err, tc.kind, tc.mention)
		}
	}
}

// TestCapabilityStatementIsTheRouteTable: what the statement lists is what the router serves.
func TestCapabilityStatementIsTheRouteTable(t *testing.T) {
	spec := (&Server{registry: search.Default()}).Spec(store.Tenant{ID: "misato"}, "http://hub.example/misato/fhir")
	resource := func(typ string) conformance.ResourceSpec {
		for _, rs := range spec.Resources {
			if rs.Type == typ {
				return rs
			}
		}
		t.Fatalf("no %s in the statement", typ)
		return conformance.ResourceSpec{}
	}
	for i := range routes {
		r := &routes[i]
		if r.level == systemLevel {
			for _, c := range r.capability {
				if !slices.Contains(spec.SystemInteractions, c) {
					t.Errorf("system interaction %s is routed but not listed", c)
				}
			}
			continue
		}
		types := r.types
		if types == nil {
			types = []string{"Patient", "Observation"}
		}
		for _, typ := range types {
			rs := resource(typ)
			for _, c := range r.capability {
				if !slices.Contains(rs.Interactions, c) {
					t.Errorf("%s: interaction %s is routed but not listed", typ, c)
				}
			}
			if r.isOperation() && !slices.Contains(rs.Operations, r.operation(typ)) {
				t.Errorf("%s: operation %s is routed but not listed", typ, r.path)
			}
		}
	}
	if ops := resource("Observation").Operations; len(ops) != 1 || ops[0].Name != "validate" {
		t.Errorf("Observation's operations: %+v, want $validate only", ops)
	}
	if in := resource("AuditEvent").Interactions; !slices.Equal(in, []string{"read", "search-type"}) {
		t.Errorf("AuditEvent's interactions: %v", in)
	}
}
