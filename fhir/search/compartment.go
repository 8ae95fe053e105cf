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
	_ "embed"
	"encoding/json"
	"slices"
	"sync"
)

// compartmentsJSON holds the R4 CompartmentDefinitions (patient, encounter, relatedperson,
// practitioner, device) reduced to compartment → resource type → reference parameters.
//
//go:embed compartments.json
var compartmentsJSON []byte

type compartmentDef struct {
	URL       string              `json:"url"`
	Resources map[string][]string `json:"resources"`
}

var compartments = sync.OnceValue(func() map[string]compartmentDef {
	var m map[string]compartmentDef
	if err := json.Unmarshal(compartmentsJSON, &m); err != nil {
		panic("search: embedded compartments.json: " + err.Error())
	}
	// "{def}" names the compartment's owner itself (Encounter in the Encounter compartment);
	// callers include the owner explicitly, so only real parameters are kept.
	for _, c := range m {
		for typ, params := range c.Resources {
			params = slices.DeleteFunc(params, func(p string) bool { return p == "{def}" })
			if len(params) == 0 {
				delete(c.Resources, typ)
			} else {
				c.Resources[typ] = params
			}
		}
	}
	return m
})

// Compartment returns, for the compartment of resource type owner ("Patient"), the
// reference parameters through which each resource type belongs to it, as the R4
// CompartmentDefinition says. ok is false when owner has no compartment.
func Compartment(owner string) (params map[string][]string, ok bool) {
	c, ok := compartments()[owner]
	return c.Resources, ok
}

// CompartmentTypes returns the resource types that can be in owner's compartment, sorted.
func CompartmentTypes(owner string) []string {
	c := compartments()[owner]
	out := make([]string, 0, len(c.Resources))
	for t := range c.Resources {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}
