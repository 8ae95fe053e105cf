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

package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/kodomohub/kodomohub/server"
	"github.com/kodomohub/kodomohub/store"
)

// BenchmarkTransactionFamilies posts the transaction shape hospitals and nurseries send:
// 100 POST entries, ten families (child, mother, an Encounter, seven Observations) tied
// together by urn:uuid references, to a town with strict referential integrity.
func BenchmarkTransactionFamilies(b *testing.B) {
	h := mustHub(b, store.IntegrityStrict, server.Limits{})
	bundle := func(n int) string {
		var entries []string
		for f := range 10 {
			u := func(k int) string { return fmt.Sprintf("urn:uuid:%08x-0000-4000-8000-%012x", n, f*16+k) }
			entries = append(entries,
				`{"fullUrl":"`+u(0)+`","request":{"method":"POST","url":"Patient"},"resource":{"resourceType":"Patient","name":[{"family":"山田","given":["花子"],"extension":[{"url":"http://jpfhir.jp/fhir/core/Extension/StructureDefinition/JP_HumanName_Representation","valueCode":"IDE"}]}],"birthDate":"2025-04-01","gender":"female"}}`,
				`{"fullUrl":"`+u(1)+`","request":{"method":"POST","url":"Patient"},"resource":{"resourceType":"Patient","name":[{"family":"ヤマダ","given":["ハルコ"]}],"gender":"female","link":[{"other":{"reference":"`+u(0)+`"},"type":"seealso"}]}}`,
				`{"fullUrl":"`+u(2)+`","request":{"method":"POST","url":"Encounter"},"resource":{"resourceType":"Encounter","status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},"subject":{"reference":"`+u(0)+`"}}}`)
			for o := range 7 {
				entries = append(entries, fmt.Sprintf(`{"request":{"method":"POST","url":"Observation"},"resource":{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"29463-7"}]},"subject":{"reference":"%s"},"encounter":{"reference":"%s"},"valueQuantity":{"value":%d.5,"unit":"kg","system":"http://unitsofmeasure.org","code":"kg"}}}`, u(0), u(2), o+3))
			}
		}
		return `{"resourceType":"Bundle","type":"transaction","entry":[` + strings.Join(entries, ",") + `]}`
	}
	bodies := make([]string, b.N)
	for i := range bodies {
		bodies[i] = bundle(i)
	}
	b.ResetTimer()
	for i := range b.N {
		if r := h.post("/misato/fhir", bodies[i]); r.StatusCode != http.StatusOK {
			b.Fatalf("%s %s", r.Status, r.body)
		}
	}
	b.ReportMetric(float64(100*b.N)/b.Elapsed().Seconds(), "resources/s")
}
