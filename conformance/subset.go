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

package conformance

import (
	"slices"
	"strings"

	"github.com/kodomohub/kodomohub/fhir"
)

// Subset tag: what a server adds to meta.tag of a resource it returns incomplete.
const (
	SubsettedSystem = "http://terminology.hl7.org/CodeSystem/v3-ObservationValue"
	SubsettedCode   = "SUBSETTED"
)

// Subset returns the part of a resource that _summary or _elements asks for, tagged
// SUBSETTED when anything was left out. summary is "", "true", "text", "data" or "false";
// elements are top-level element names (choice elements by their base name, "value").
// Subsetting works on top-level elements: an element that is kept keeps all its content.
//
//	true      elements marked isSummary in the R4 definitions, and every mandatory one
//	text      text, and every mandatory element
//	data      everything but text
//	elements  the named elements, and every mandatory one
//
// resourceType, id and meta are always kept.
func (v *Validator) Subset(raw []byte, summary string, elements []string) ([]byte, error) {
	if (summary == "" || summary == "false") && len(elements) == 0 {
		return raw, nil
	}
	keys, err := fhir.Keys(raw)
	if err != nil {
		return nil, err
	}
	var typ string
	if rt := fhir.Element(raw, "resourceType"); len(rt) > 2 {
		typ = strings.Trim(string(rt), `"`)
	}
	n := v.s.types[typ]
	if n == nil || !n.resource {
		return nil, fhir.Errorf(fhir.KindInternal, fhir.IssueException, "cannot subset a %q", typ)
	}
	keep := func(key string) bool {
		switch key {
		case "resourceType", "id", "meta":
			return true
		}
		f := n.fields[strings.TrimPrefix(key, "_")]
		if f == nil || f.elem == nil {
			return false
		}
		if f.elem.min > 0 {
			return true
		}
		switch {
		case len(elements) > 0:
			base, _ := strings.CutSuffix(f.elem.name, "[x]")
			return slices.Contains(elements, base)
		case summary == "true":
			return f.elem.summary
		case summary == "text":
			return key == "text"
		case summary == "data":
			return key != "text"
		}
		return true
	}
	var drop []string
	for _, k := range keys {
		if !keep(k) {
			drop = append(drop, k)
		}
	}
	if len(drop) == 0 {
		return raw, nil
	}
	out, err := fhir.WithoutElements(raw, drop...)
	if err != nil {
		return nil, err
	}
	return fhir.AddTag(out, SubsettedSystem, SubsettedCode, "subsetted")
}
