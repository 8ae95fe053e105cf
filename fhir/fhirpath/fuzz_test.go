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

package fhirpath

import (
	"testing"
)

func FuzzCompile(f *testing.F) {
	for _, s := range []string{
		"Patient.name.where(use = 'official').given.first()",
		"(Observation.value as Quantity) | (Observation.value as SampledData)",
		"Observation.subject.where(resolve() is Patient)",
		"@2012-01-01T10:00:00+02:00 + 3 days > now()",
		"iif(a.exists(), %x.b[0], {}) implies $this.c.all($index > 1)",
		"'a\\u00e9' & `delimited id`.substring(1, 2) // comment",
		"-(1.5 div 2 mod 3) * 4 / 5 - 6 + 7 ~ 8 !~ 9",
		"Patient.extension('url').value.ofType(FHIR.string) contains 'x' xor false",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Compile(s)
		if err != nil {
			if _, ok := err.(*SyntaxError); !ok {
				t.Fatalf("Compile(%q) error %T", s, err)
			}
			return
		}
		if e.String() != s {
			t.Fatalf("String() = %q", e.String())
		}
		// whatever compiles evaluates without panicking
		r, _ := Decode([]byte(`{"resourceType":"Patient","id":"x","name":[{"family":"a","given":["b","c"]}],"birthDate":"2000-01-01","active":true}`))
		e.Evaluate(r)
	})
}

// fuzzExprs are evaluated over fuzzed JSON.
var fuzzExprs = func() []*Expression {
	var out []*Expression
	for _, s := range []string{
		"Patient.name.family | Patient.name.given",
		"Patient.name.where(use = 'official').given.first()",
		"Patient.birthDate < @2000-01-01 or Patient.birthDate.extension('x').exists()",
		"Observation.value as Quantity",
		"(Observation.value as Quantity).value > 1.5 'mg'",
		"Observation.effective.ofType(Period).start",
		"Observation.subject.where(resolve() is Patient)",
		"Observation.code.coding.where(system = %loinc).code",
		"descendants().count()",
		"children().distinct()",
		"Questionnaire.item.item.linkId",
		"Bundle.entry.resource.ofType(Patient).name",
		"(Bundle.entry[0].resource as Composition).subject.resolve()",
		"Patient.contained.id | Patient.identifier.value.lower()",
		"Patient.telecom.where(system = 'phone' and value.matches('^[0-9]+$')).rank.toString()",
		"Observation.component.value.ofType(Quantity).value.aggregate($total + $this, 0)",
		"Patient.deceased.exists() and Patient.deceased != false",
	} {
		out = append(out, MustCompile(s))
	}
	return out
}()

func FuzzEvaluate(f *testing.F) {
	for _, s := range []string{
		`{"resourceType":"Patient","name":[{"use":"official","family":"a","given":["b"],"_given":[{"extension":[{"url":"x"}]}]}]}`,
		`{"resourceType":"Observation","valueQuantity":{"value":1e3,"unit":"mg"},"effectivePeriod":{"start":"2020"},"subject":{"reference":"Patient/1"}}`,
		`{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Composition","subject":{"reference":"http://x/Patient/1"}}}]}`,
		`{"resourceType":"Questionnaire","item":[{"item":[{"linkId":"1"}]}]}`,
		`{"resourceType":"Patient","birthDate":"2000-13-45T99:99Z","contained":[{"resourceType":"Patient","id":"p"}]}`,
		`[[[[{}]]]]`, `null`, `{"resourceType":"Observation","valueQuantity":[1,{"value":"x"}],"valueString":{}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		r, err := Decode(raw)
		if err != nil {
			return
		}
		for _, e := range fuzzExprs {
			e.Evaluate(r)
		}
	})
}
