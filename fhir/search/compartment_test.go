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
	"testing"
)

func TestCompartments(t *testing.T) {
	p, ok := Compartment("Patient")
	if !ok {
		t.Fatal("no Patient compartment")
	}
	if got := p["Observation"]; !slices.Equal(got, []string{"subject", "performer"}) {
		t.Fatalf("Observation in the Patient compartment through %v", got)
	}
	if _, in := p["Organization"]; in {
		t.Fatal("Organization is not in the Patient compartment")
	}
	if _, ok := Compartment("Observation"); ok {
		t.Fatal("Observation has no compartment")
	}
	// Every parameter named by a compartment exists in the registry as a reference parameter.
	r := Default()
	for _, owner := range []string{"Patient", "Encounter", "RelatedPerson", "Practitioner", "Device"} {
		params, _ := Compartment(owner)
		for typ, codes := range params {
			for _, code := range codes {
				prm, ok := r.Lookup(typ, code)
				if !ok || prm.Type != Reference {
					t.Errorf("%s compartment: %s.%s is not a reference parameter", owner, typ, code)
				}
			}
		}
	}
	if n := len(CompartmentTypes("Patient")); n != 66 {
		t.Fatalf("%d types in the Patient compartment, want 66", n)
	}
}
