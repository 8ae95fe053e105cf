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

package search

//go:generate go run ./internal/gen -in internal/gen/searchparameters.json.gz -out zz_registry.go

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kodomohub/kodomohub/fhir"
	"github.com/kodomohub/kodomohub/fhir/fhirpath"
)

// Param is a search parameter: an R4 SearchParameter definition as the registry uses it.
// Params returned by Lookup and Params are per resource type: for a definition shared by
// several bases (clinical-code: "AllergyIntolerance.code | Condition.code | …"), Expression
// holds only the parts of that type ("Condition.code"). ByURL returns the definition as
// published. A Param is immutable; it is safe for concurrent use.
type Param struct {
	URL         string
	Code        string
	Description string
	// Expression is the FHIRPath expression that selects the values, as published (or the
	// parts of it for one base type). Empty for the few definitions that have none.
	Expression string
	Type       Type
	// Base lists the resource types the definition applies to ("Resource" and
	// "DomainResource" stand for all of their descendants).
	Base []string
	// Targets lists the resource types a reference parameter may point to, sorted.
	Targets []string
	// Modifiers and Comparators are as published (few definitions list any).
	Modifiers, Comparators []string
	// NoMultipleOr and NoMultipleAnd are set when the definition says multipleOr or
	// multipleAnd is false. They are informative: ParseQuery does not enforce them.
	NoMultipleOr, NoMultipleAnd bool
	// Components are the parts of a composite parameter.
	Components []Component
	XPathUsage string

	expr string // Expression rewritten relative to the resource (leading type names removed)

	once     sync.Once
	compiled *fhirpath.Expression
	err      error
}

// Component is one part of a composite parameter.
type Component struct {
	// Definition is the URL of the component's SearchParameter.
	Definition string
	// Expression is evaluated on each element the composite's Expression selects.
	Expression string
	// Param is the component's definition, resolved by the registry (nil if unknown).
	Param *Param

	once     sync.Once
	compiled *fhirpath.Expression
	err      error
}

// Searchable reports whether the hub indexes and searches p: not Special, with an expression.
func (p *Param) Searchable() bool { return p.Type != Special && p.Type != 0 && p.Expression != "" }

// Common reports whether p applies to every resource type (base Resource or DomainResource).
func (p *Param) Common() bool {
	return len(p.Base) == 1 && (p.Base[0] == "Resource" || p.Base[0] == "DomainResource")
}

// Sortable reports whether _sort accepts p.
func (p *Param) Sortable() bool { return p.Searchable() && p.Type != Composite }

// HasTarget reports whether reference parameter p may point to resource type t.
func (p *Param) HasTarget(t string) bool {
	return slices.Contains(p.Targets, t) || slices.Contains(p.Targets, "Resource")
}

// compile returns p's compiled expression.
func (p *Param) compile() (*fhirpath.Expression, error) {
	p.once.Do(func() { p.compiled, p.err = fhirpath.Compile(p.expr) })
	return p.compiled, p.err
}

func (c *Component) compile() (*fhirpath.Expression, error) {
	c.once.Do(func() { c.compiled, c.err = fhirpath.Compile(c.Expression) })
	return c.compiled, c.err
}

// Registry holds the search parameters of every R4 resource type. It is immutable and
// safe for concurrent use; build it with Default (and WithLocation).
type Registry struct {
	defs   []*Param                     // as published, by URL
	byURL  map[string]*Param            // as published
	byType map[string]map[string]*Param // type → code → per-type param (incl. common ones)
	sorted map[string][]*Param          // type → params sorted by code
	common map[string]*Param            // code → Resource/DomainResource params
	loc    *time.Location
}

// JST is the default zone of dates written without one (Japan has no daylight saving).
var JST = time.FixedZone("JST", 9*60*60)

var defaultRegistry = sync.OnceValue(func() *Registry { return build(definitions[:]) })

// Default returns the registry of the R4 (4.0.1) search parameters. Dates and dateTimes
// written without a time zone ("2024-04-01") are taken in JST; see WithLocation.
func Default() *Registry { return defaultRegistry() }

// WithLocation returns a registry that shares r's parameters but takes dates written
// without a time zone in loc, both when extracting and when parsing search values.
func (r *Registry) WithLocation(loc *time.Location) *Registry {
	c := *r
	c.loc = loc
	return &c
}

// Location returns the zone of dates written without one.
func (r *Registry) Location() *time.Location { return r.loc }

// Lookup returns the search parameter code of resourceType, including the common ones
// (_id, _lastUpdated, _tag, _profile, _security, _source, …). With resourceType "", only
// common parameters are found.
func (r *Registry) Lookup(resourceType, code string) (*Param, bool) {
	if resourceType == "" {
		p, ok := r.common[code]
		return p, ok
	}
	p, ok := r.byType[resourceType][code]
	return p, ok
}

// Params returns the parameters of resourceType sorted by code, common ones included; it
// lists Special and expression-less ones too (see Searchable). The slice is shared: do not
// modify it. With resourceType "", it returns the common parameters.
func (r *Registry) Params(resourceType string) []*Param {
	if resourceType == "" {
		return r.sorted[""]
	}
	return r.sorted[resourceType]
}

// ByURL returns the definition with canonical url as published (all bases).
func (r *Registry) ByURL(url string) (*Param, bool) {
	p, ok := r.byURL[url]
	return p, ok
}

// All returns every definition as published, sorted by URL. The slice is shared.
func (r *Registry) All() []*Param { return r.defs }

func build(table []Param) *Registry {
	r := &Registry{
		byURL:  make(map[string]*Param, len(table)),
		byType: make(map[string]map[string]*Param, len(fhir.ResourceTypes)),
		sorted: make(map[string][]*Param, len(fhir.ResourceTypes)+1),
		common: map[string]*Param{},
		loc:    JST,
	}
	isType := func(s string) bool {
		return fhir.IsResourceType(s) || s == "Resource" || s == "DomainResource"
	}
	for _, t := range fhir.ResourceTypes {
		r.byType[t] = map[string]*Param{}
	}
	add := func(t string, p *Param) {
		if _, dup := r.byType[t][p.Code]; !dup { // first definition (by URL) wins
			r.byType[t][p.Code] = p
		}
	}
	for i := range table {
		d := &table[i]
		def := &Param{URL: d.URL, Code: d.Code, Description: d.Description, Expression: d.Expression,
			Type: d.Type, Base: d.Base, Targets: d.Targets, Modifiers: d.Modifiers, Comparators: d.Comparators,
			NoMultipleOr: d.NoMultipleOr, NoMultipleAnd: d.NoMultipleAnd, XPathUsage: d.XPathUsage}
		def.Components = cloneComponents(d.Components)
		def.expr = relativeExpr(d.Expression, isType)
		r.defs = append(r.defs, def)
		r.byURL[def.URL] = def
		if def.Common() {
			if _, dup := r.common[def.Code]; !dup {
				r.common[def.Code] = def
			}
			for _, t := range fhir.ResourceTypes {
				if def.Base[0] == "DomainResource" && (t == "Bundle" || t == "Binary" || t == "Parameters") {
					continue
				}
				add(t, def)
			}
			continue
		}
		parts := splitUnion(d.Expression)
		for _, base := range d.Base {
			if _, ok := r.byType[base]; !ok {
				continue
			}
			var mine []string
			for _, part := range parts {
				if lead := leadingName(part); lead == base || !isType(lead) {
					mine = append(mine, part)
				}
			}
			p := def
			if len(d.Base) > 1 || len(mine) != len(parts) {
				p = &Param{URL: def.URL, Code: def.Code, Description: def.Description,
					Expression: strings.Join(mine, " | "), Type: def.Type, Base: def.Base, Targets: def.Targets,
					Modifiers: def.Modifiers, Comparators: def.Comparators, NoMultipleOr: def.NoMultipleOr,
					NoMultipleAnd: def.NoMultipleAnd, XPathUsage: def.XPathUsage, Components: cloneComponents(def.Components)}
				p.expr = relativeExpr(p.Expression, isType)
			}
			add(base, p)
		}
	}
	// Resolve composite components once every definition is known.
	resolve := func(p *Param) {
		for i := range p.Components {
			p.Components[i].Param = r.byURL[p.Components[i].Definition]
		}
	}
	for _, p := range r.defs {
		resolve(p)
	}
	for t, m := range r.byType {
		list := make([]*Param, 0, len(m))
		for _, p := range m {
			if !p.Common() {
				resolve(p)
			}
			list = append(list, p)
		}
		slices.SortFunc(list, func(a, b *Param) int { return strings.Compare(a.Code, b.Code) })
		r.sorted[t] = list
	}
	var common []*Param
	for _, p := range r.common {
		common = append(common, p)
	}
	slices.SortFunc(common, func(a, b *Param) int { return strings.Compare(a.Code, b.Code) })
	r.sorted[""] = common
	return r
}

func cloneComponents(cs []Component) []Component {
	if len(cs) == 0 {
		return nil
	}
	out := make([]Component, len(cs))
	for i := range cs {
		out[i] = Component{Definition: cs[i].Definition, Expression: cs[i].Expression}
	}
	return out
}

// splitUnion splits a FHIRPath expression at its top-level "|" operators.
func splitUnion(expr string) []string {
	var parts []string
	depth, start := 0, 0
	inQuote := false
	for i := 0; i < len(expr); i++ {
		switch c := expr[i]; {
		case c == '\\' && inQuote:
			i++
		case c == '\'':
			inQuote = !inQuote
		case inQuote:
		case c == '(' || c == '[':
			depth++
		case c == ')' || c == ']':
			depth--
		case c == '|' && depth == 0:
			parts = append(parts, strings.TrimSpace(expr[start:i]))
			start = i + 1
		}
	}
	if s := strings.TrimSpace(expr[start:]); s != "" {
		parts = append(parts, s)
	}
	return parts
}

// leadingName returns the first identifier of a union part, after any opening parentheses.
func leadingName(part string) string {
	s := strings.TrimLeft(part, "( ")
	i := 0
	for i < len(s) && (s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z') {
		i++
	}
	return s[:i]
}

// relativeExpr rewrites expr so that it is evaluated with the resource as context: the
// leading type name of each union part ("Patient.name", "(Resource.meta.tag)") is dropped,
// and a part that is only a type name ("Observation") becomes "$this".
func relativeExpr(expr string, isType func(string) bool) string {
	if expr == "" {
		return ""
	}
	parts := splitUnion(expr)
	for i, part := range parts {
		open := len(part) - len(strings.TrimLeft(part, "( "))
		rest := part[open:]
		lead := leadingName(rest)
		if lead == "" || !isType(lead) {
			continue
		}
		after := rest[len(lead):]
		switch {
		case strings.HasPrefix(after, "."):
			parts[i] = part[:open] + after[1:]
		default: // "Observation", "Observation)", "Bundle as …"
			parts[i] = part[:open] + "$this" + after
		}
	}
	return strings.Join(parts, " | ")
}
