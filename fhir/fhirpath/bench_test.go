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

var benchCases = []struct {
	name, file, expr string
}{
	{"path", "Patient-example.json", "Patient.name"},
	{"primitive", "Patient-example.json", "Patient.birthDate"},
	{"union", "Patient-example.json", "Patient.name.family | Practitioner.name.family | Person.name.family"},
	{"where", "Patient-example.json", "Patient.telecom.where(system='phone')"},
	{"choice-as", "Observation-example.json", "(Observation.value as Quantity) | (Observation.value as SampledData)"},
	{"ofType", "Observation-f001.json", "Observation.effective.ofType(Period)"},
	{"resolve-is", "Observation-example.json", "Observation.subject.where(resolve() is Patient)"},
	{"clinical-date", "Observation-example.json", "AllergyIntolerance.recordedDate | CarePlan.period | CareTeam.period | ClinicalImpression.date | Composition.date | Consent.dateTime | DiagnosticReport.effective | Encounter.period | EpisodeOfCare.period | FamilyMemberHistory.date | Flag.period | Immunization.occurrence | List.date | Observation.effective | Procedure.performed | (RiskAssessment.occurrence as dateTime) | SupplyRequest.authoredOn"},
	{"extension", "Patient-example.json", "Patient.birthDate.extension('http://hl7.org/fhir/StructureDefinition/patient-birthTime')"},
	{"bundle-composition", "Bundle-father.json", "(Bundle.entry[0].resource as Composition).subject"},
}

func BenchmarkEvaluate(b *testing.B) {
	for _, bc := range benchCases {
		r := exampleNamed(b, bc.file)
		e := MustCompile(bc.expr)
		if got, err := e.Evaluate(r); err != nil || len(got) == 0 {
			b.Fatalf("%s: %v %v", bc.expr, got, err)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				e.Evaluate(r)
			}
		})
	}
}

// BenchmarkSearchParameters evaluates every search parameter of Patient and Observation
// on their examples: the work of indexing one resource.
func BenchmarkSearchParameters(b *testing.B) {
	sps := loadSearchParams(b)
	for _, typ := range []string{"Patient", "Observation"} {
		var exprs []*Expression
		for _, sp := range sps {
			for _, base := range sp.Base {
				if base == typ || base == "Resource" || base == "DomainResource" {
					exprs = append(exprs, MustCompile(sp.Expression))
				}
			}
		}
		r := exampleNamed(b, typ+"-example.json")
		b.Run(typ, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for _, e := range exprs {
					if _, err := e.Evaluate(r); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(len(exprs)), "exprs")
		})
	}
}

func BenchmarkCompile(b *testing.B) {
	for b.Loop() {
		MustCompile("(Observation.value as Quantity) | (Observation.value as SampledData) | Observation.subject.where(resolve() is Patient)")
	}
}
