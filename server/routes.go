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
	"net/http"
	"slices"
	"strings"

	"github.com/kodomohub/kodomohub/conformance"
	"github.com/kodomohub/kodomohub/fhir"
)

// level is where a route sits in a FHIR URL: the base, a resource type, or an instance.
type level uint8

const (
	systemLevel   level = iota // [base]/…
	typeLevel                  // [base]/Type/…
	instanceLevel              // [base]/Type/id/…
)

// route is one interaction or operation of the FHIR API: where it is, the method that asks
// for it, its code (the audit record's interaction, the CapabilityStatement's), and what
// serves it. The router (dispatch) and the CapabilityStatement (Spec) are both read from
// routes, so the statement says what the router does.
type route struct {
	level level
	// path is what follows the level's prefix, in segments: "" (the base, the type or the
	// instance itself), "_search", "_history", "_history/{vid}", "{compartment}" (a
	// resource type or *), or "$name" for an operation.
	path   string
	method string // GET also answers HEAD
	// interaction is the request's code in the audit record: a restful-interaction code
	// (read, search-type, …) or the operation's name.
	interaction string
	// capability lists the CapabilityStatement interaction codes the route implements
	// (none for a conditional variant of a listed one, or an operation).
	capability []string
	// op describes an operation ($name routes) for the CapabilityStatement.
	op *conformance.Operation
	// types are the resource types the route exists for; nil: every type but those with
	// routes of their own (ownRoutes).
	types []string
	serve func(rc *reqContext, m match)
}

// match is what the router read from a request's path.
type match struct {
	typ, id, vid, compartment string
	job                       string // an asynchronous operation's job ($import-source/{job})
}

// ownRoutes are the types served by their own routes only (the audit trail: read and search).
var ownRoutes = []string{"AuditEvent"}

// validateOp and everythingOp are the operations of the R4 specification the hub implements.
var (
	validateOp = &conformance.Operation{Name: "validate", Definition: "http://hl7.org/fhir/OperationDefinition/Resource-validate"}
	// importSourceOp is the hub's own: files of a town's source, through its mapping spec.
	importSourceOp = &conformance.Operation{Name: "import-source", Definition: "http://kodomohub.example/fhir/OperationDefinition/import-source"}
	everythingOp   = func(typ string) conformance.Operation {
		return conformance.Operation{Name: "everything", Definition: "http://hl7.org/fhir/OperationDefinition/" + typ + "-everything"}
	}
)

// routes is the FHIR API, in the order the CapabilityStatement lists interactions.
var routes = []route{
	// Instance level.
	{level: instanceLevel, method: http.MethodGet, interaction: "read", capability: []string{"read"},
		serve: func(rc *reqContext, m match) { rc.read(m.typ, m.id) }},
	{level: instanceLevel, path: "_history/{vid}", method: http.MethodGet, interaction: "vread", capability: []string{"vread"},
		serve: func(rc *reqContext, m match) { rc.vread(m.typ, m.id, m.vid) }},
	{level: instanceLevel, method: http.MethodPut, interaction: "update", capability: []string{"update"},
		serve: func(rc *reqContext, m match) { rc.update(m.typ, m.id) }},
	{level: instanceLevel, method: http.MethodPatch, interaction: "patch", capability: []string{"patch"},
		serve: func(rc *reqContext, m match) { rc.patch(m.typ, m.id) }},
	{level: instanceLevel, method: http.MethodDelete, interaction: "delete", capability: []string{"delete"},
		serve: func(rc *reqContext, m match) { rc.delete(m.typ, m.id) }},
	{level: instanceLevel, path: "_history", method: http.MethodGet, interaction: "history-instance", capability: []string{"history-instance"},
		serve: func(rc *reqContext, m match) { rc.history(m.typ, m.id) }},
	{level: instanceLevel, path: "{compartment}", method: http.MethodGet, interaction: "search-compartment",
		serve: func(rc *reqContext, m match) { rc.compartmentSearch(m.typ, m.id, m.compartment) }},
	// Type level.
	{level: typeLevel, path: "_history", method: http.MethodGet, interaction: "history-type", capability: []string{"history-type"},
		serve: func(rc *reqContext, m match) { rc.history(m.typ, "") }},
	{level: typeLevel, method: http.MethodPost, interaction: "create", capability: []string{"create"},
		serve: func(rc *reqContext, m match) { rc.create(m.typ) }},
	{level: typeLevel, method: http.MethodGet, interaction: "search-type", capability: []string{"search-type"},
		serve: func(rc *reqContext, m match) { rc.search(m.typ, rc.c.Request.URL.Query(), nil, m.typ) }},
	{level: typeLevel, path: "_search", method: http.MethodPost, interaction: "search-type",
		serve: func(rc *reqContext, m match) { rc.postSearch(m.typ) }},
	{level: typeLevel, method: http.MethodPut, interaction: "update-conditional",
		serve: func(rc *reqContext, m match) { rc.update(m.typ, "") }},
	{level: typeLevel, method: http.MethodPatch, interaction: "patch-conditional",
		serve: func(rc *reqContext, m match) { rc.patch(m.typ, "") }},
	{level: typeLevel, method: http.MethodDelete, interaction: "delete-conditional",
		serve: func(rc *reqContext, m match) { rc.delete(m.typ, "") }},
	// Operations.
	{level: typeLevel, path: "$validate", method: http.MethodPost, interaction: "validate", op: validateOp,
		serve: func(rc *reqContext, m match) { rc.validate(m.typ) }},
	{level: instanceLevel, path: "$validate", method: http.MethodPost, interaction: "validate", op: validateOp,
		serve: func(rc *reqContext, m match) { rc.validate(m.typ) }},
	{level: instanceLevel, path: "$everything", method: http.MethodGet, interaction: "everything", types: []string{"Patient", "Encounter"},
		serve: func(rc *reqContext, m match) { rc.everything(m.typ, m.id) }},
	// System level.
	{level: systemLevel, path: "$import-source", method: http.MethodPost, interaction: "import-source", op: importSourceOp,
		serve: func(rc *reqContext, m match) { rc.importSource() }},
	{level: systemLevel, path: "$import-source/{job}", method: http.MethodGet, interaction: "import-source-status",
		serve: func(rc *reqContext, m match) { rc.importStatus(m.job) }},
	{level: systemLevel, method: http.MethodPost, interaction: "bundle", capability: []string{"transaction", "batch"},
		serve: func(rc *reqContext, m match) { rc.bundle() }},
	{level: systemLevel, path: "_history", method: http.MethodGet, interaction: "history-system", capability: []string{"history-system"},
		serve: func(rc *reqContext, m match) { rc.history("", "") }},
	{level: systemLevel, method: http.MethodGet, interaction: "search-system", capability: []string{"search-system"},
		serve: func(rc *reqContext, m match) { rc.search("", rc.c.Request.URL.Query(), nil, "") }},
	{level: systemLevel, path: "_search", method: http.MethodPost, interaction: "search-system",
		serve: func(rc *reqContext, m match) { rc.postSearch("") }},
	// The audit trail: read and search only.
	{level: instanceLevel, method: http.MethodGet, interaction: "read", capability: []string{"read"}, types: ownRoutes,
		serve: func(rc *reqContext, m match) { rc.readAudit(m.id) }},
	{level: typeLevel, method: http.MethodGet, interaction: "search-type", capability: []string{"search-type"}, types: ownRoutes,
		serve: func(rc *reqContext, m match) { rc.searchAudit() }},
	{level: typeLevel, path: "_search", method: http.MethodPost, interaction: "search-type", types: ownRoutes,
		serve: func(rc *reqContext, m match) { rc.postSearchAudit() }},
}

// has reports whether the route exists for resource type typ ("" at the system level).
func (r *route) has(typ string) bool {
	if r.types == nil {
		return !slices.Contains(ownRoutes, typ)
	}
	return slices.Contains(r.types, typ)
}

// operation is the route's operation as the CapabilityStatement lists it for typ.
func (r *route) operation(typ string) conformance.Operation {
	if r.op != nil {
		return *r.op
	}
	return everythingOp(typ)
}

// isOperation reports whether the route is a $operation (not its status).
func (r *route) isOperation() bool {
	return strings.HasPrefix(r.path, "$") && !strings.Contains(r.path, "/")
}

// dispatch finds the route of a request (method, with HEAD as GET, and the path segments
// after the FHIR base): the route, or the error to answer (unknown type or operation, an id
// that cannot be one, a method the path does not have).
func dispatch(method string, segs []string) (*route, match, error) {
	var m match
	lvl, rest := systemLevel, segs
	if len(segs) > 0 && !strings.HasPrefix(segs[0], "_") && !strings.HasPrefix(segs[0], "$") {
		if !fhir.IsResourceType(segs[0]) {
			return nil, m, fhir.Errorf(fhir.KindNotFound, fhir.IssueNotSupported, "unknown resource type %q", segs[0])
		}
		m.typ, lvl, rest = segs[0], typeLevel, segs[1:]
		if len(rest) > 0 && !strings.HasPrefix(rest[0], "_") && !strings.HasPrefix(rest[0], "$") {
			m.id, lvl, rest = rest[0], instanceLevel, rest[1:]
		}
	}
	path := strings.Join(rest, "/")
	switch {
	case lvl == instanceLevel && len(rest) == 2 && rest[0] == "_history":
		path, m.vid = "_history/{vid}", rest[1]
	case lvl == instanceLevel && len(rest) == 1 && (rest[0] == "*" || fhir.IsResourceType(rest[0])):
		path, m.compartment = "{compartment}", rest[0]
	case lvl == systemLevel && len(rest) == 2 && strings.HasPrefix(rest[0], "$") && fhir.ValidID(rest[1]):
		path, m.job = rest[0]+"/{job}", rest[1]
	}
	var found []*route
	for i := range routes {
		r := &routes[i]
		if r.level == lvl && r.path == path && r.has(m.typ) {
			found = append(found, r)
		}
	}
	if len(found) == 0 {
		switch {
		case len(rest) == 1 && strings.HasPrefix(rest[0], "$"):
			return nil, m, unsupportedOperation(rest[0])
		case slices.Contains(ownRoutes, m.typ) && method != http.MethodGet:
			return nil, m, fhir.Errorf(fhir.KindMethodNotAllowed, fhir.IssueNotSupported,
				"%s is written by the hub only: the audit trail is append-only", m.typ)
		case slices.Contains(ownRoutes, m.typ):
			return nil, m, fhir.Errorf(fhir.KindNotFound, fhir.IssueNotSupported, "the audit trail answers read and search only")
		}
		return nil, m, fhir.Errorf(fhir.KindNotFound, fhir.IssueNotSupported, "no FHIR interaction at %s", "/"+strings.Join(segs, "/"))
	}
	if m.id != "" && !fhir.ValidID(m.id) {
		return nil, m, fhir.Errorf(fhir.KindInvalid, fhir.IssueValue, "%q is not a valid resource id", m.id)
	}
	for _, r := range found {
		if r.method == method {
			return r, m, nil
		}
	}
	if slices.Contains(ownRoutes, m.typ) {
		return found[0], m, fhir.Errorf(fhir.KindMethodNotAllowed, fhir.IssueNotSupported,
			"%s is written by the hub only: the audit trail is append-only", m.typ)
	}
	what := path
	switch {
	case lvl == systemLevel && path == "":
		what = "the base URL"
	case lvl == typeLevel && path == "":
		what = m.typ
	case lvl == instanceLevel && path == "":
		what = m.typ + "/" + m.id
	case path == "{compartment}":
		what = "a compartment"
	case path == "_history/{vid}":
		what = "_history"
	}
	return found[0], m, methodNotAllowed(method, what)
}

// capabilities are the interaction codes of the routes at levels, in table order, once each.
func capabilities(levels ...level) []string {
	var out []string
	for _, r := range routes {
		if slices.Contains(levels, r.level) && r.types == nil {
			for _, c := range r.capability {
				if !slices.Contains(out, c) {
					out = append(out, c)
				}
			}
		}
	}
	return out
}

// operations are the operations routes give type typ ("": the system-level ones), in table
// order, once each.
func operations(typ string) []conformance.Operation {
	var out []conformance.Operation
	for i := range routes {
		r := &routes[i]
		if (r.level == systemLevel) == (typ == "") && r.isOperation() && (typ == "" || r.has(typ)) {
			if op := r.operation(typ); !slices.Contains(out, op) {
				out = append(out, op)
			}
		}
	}
	return out
}

// typeCapabilities are the interaction codes of a type with routes of its own.
func typeCapabilities(typ string) []string {
	var out []string
	for _, r := range routes {
		if r.level != systemLevel && r.types != nil && slices.Contains(r.types, typ) {
			out = append(out, r.capability...)
		}
	}
	return out
}
