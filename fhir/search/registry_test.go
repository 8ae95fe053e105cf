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

import (
	"slices"
	"strings"
	"testing"
)

func TestRegistry(t *testing.T) {
	r := Default()
	if n := len(r.All()); n != 1400 {
		t.Errorf("%d definitions, want 1400", n)
	}
	for _, code := range []string{"_id", "_lastUpdated", "_tag", "_profile", "_security", "_source", "_text"} {
		if _, ok := r.Lookup("Patient", code); !ok {
			t.Errorf("Patient %s not found", code)
		}
	}
	if _, ok := r.Lookup("Bundle", "_text"); ok {
		t.Error("Bundle has _text (DomainResource only)")
	}
	if _, ok := r.Lookup("Bundle", "_id"); !ok {
		t.Error("Bundle has no _id")
	}
	if _, ok := r.Lookup("", "_lastUpdated"); !ok {
		t.Error("system-level _lastUpdated not found")
	}
	if _, ok := r.Lookup("", "name"); ok {
		t.Error("system-level lookup found a type parameter")
	}
	p, ok := r.Lookup("Condition", "code")
	if !ok || p.Expression != "Condition.code" || p.Type != Token {
		t.Errorf("Condition code: %+v", p)
	}
	if def, _ := r.ByURL(p.URL); def == nil || !strings.Contains(def.Expression, "AllergyIntolerance.code") {
		t.Errorf("ByURL(%s) is not the published definition", p.URL)
	}
	subj, _ := r.Lookup("Observation", "subject")
	if subj.Type != Reference || !slices.Equal(subj.Targets, []string{"Device", "Group", "Location", "Patient"}) {
		t.Errorf("Observation subject: %v %v", subj.Type, subj.Targets)
	}
	cvq, _ := r.Lookup("Observation", "code-value-quantity")
	if cvq.Type != Composite || len(cvq.Components) != 2 || cvq.Components[1].Param == nil || cvq.Components[1].Param.Type != Quantity {
		t.Errorf("code-value-quantity: %+v", cvq)
	}
	near, ok := r.Lookup("Location", "near")
	if !ok || near.Type != Special || near.Searchable() {
		t.Errorf("Location near: %+v", near)
	}
	ps := r.Params("Patient")
	if !slices.IsSortedFunc(ps, func(a, b *Param) int { return strings.Compare(a.Code, b.Code) }) {
		t.Error("Params(Patient) not sorted")
	}
	if len(r.Params("")) < 6 {
		t.Errorf("common params: %d", len(r.Params("")))
	}
}

// Every searchable parameter of every type compiles, and every composite's components
// resolve to searchable parameters.
func TestRegistryCompiles(t *testing.T) {
	r := Default()
	n := 0
	for _, typ := range typesOf(r) {
		for _, p := range r.Params(typ) {
			if !p.Searchable() {
				continue
			}
			n++
			if _, err := p.compile(); err != nil {
				t.Errorf("%s.%s: %q: %v", typ, p.Code, p.expr, err)
			}
			for i := range p.Components {
				c := &p.Components[i]
				if c.Param == nil || !c.Param.Searchable() {
					t.Errorf("%s.%s: component %s unresolved", typ, p.Code, c.Definition)
					continue
				}
				if _, err := c.compileElem(); err != nil {
					t.Errorf("%s.%s: component %q: %v", typ, p.Code, c.Expression, err)
				}
			}
		}
	}
	t.Logf("%d per-type searchable parameters compile", n)
}

func typesOf(r *Registry) []string {
	var ts []string
	for t := range r.byType {
		ts = append(ts, t)
	}
	slices.Sort(ts)
	return ts
}

func TestRelativeExpr(t *testing.T) {
	isType := func(s string) bool { return s == "Patient" || s == "Resource" || s == "Observation" || s == "Bundle" }
	for _, tc := range []struct{ in, want string }{
		{"Patient.name", "name"},
		{"Resource.meta.tag", "meta.tag"},
		{"Observation", "$this"},
		{"(Observation.value as Quantity) | Observation.component.value", "(value as Quantity) | component.value"},
		{"Bundle.entry[0].resource as Composition", "entry[0].resource as Composition"},
		{"name | alias", "name | alias"},
		{"Patient.telecom.where(system='phone' | 'x')", "telecom.where(system='phone' | 'x')"},
	} {
		if got := relativeExpr(tc.in, isType); got != tc.want {
			t.Errorf("relativeExpr(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
