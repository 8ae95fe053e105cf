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

package conformance_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/kodomohub/kodomohub/conformance"
	"github.com/kodomohub/kodomohub/fhir"
)

func TestSubset(t *testing.T) {
	v := conformance.Default()
	pat := []byte(`{"resourceType":"Patient","id":"p1","meta":{"versionId":"2"},"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">山田</div>"},` +
		`"name":[{"family":"山田"}],"gender":"male","birthDate":"2021-04-01","_birthDate":{"extension":[{"url":"http://example.org/wareki","valueString":"令和3年"}]},"photo":[{"contentType":"image/png"}],"contact":[{"name":{"family":"山田"}}]}`)
	obs := []byte(`{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"身長"},"valueQuantity":{"value":90.5,"unit":"cm"},"note":[{"text":"x"}]}`)
	for _, c := range []struct {
		name     string
		raw      []byte
		summary  string
		elements []string
		want     []string
	}{
		{"SummaryTrue", pat, "true", nil, []string{"resourceType", "id", "meta", "name", "gender", "birthDate", "_birthDate"}},
		{"SummaryText", pat, "text", nil, []string{"resourceType", "id", "meta", "text"}},
		{"SummaryData", pat, "data", nil, []string{"resourceType", "id", "meta", "name", "gender", "birthDate", "_birthDate", "photo", "contact"}},
		{"Elements", pat, "", []string{"birthDate", "photo"}, []string{"resourceType", "id", "meta", "birthDate", "_birthDate", "photo"}},
		{"ElementsChoiceAndMandatory", obs, "", []string{"value"}, []string{"resourceType", "id", "meta", "status", "code", "valueQuantity"}},
		{"Nothing", pat, "false", nil, []string{"resourceType", "id", "meta", "text", "name", "gender", "birthDate", "_birthDate", "photo", "contact"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := v.Subset(c.raw, c.summary, c.elements)
			if err != nil {
				t.Fatal(err)
			}
			keys, err := fhir.Keys(out)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(keys, c.want) {
				t.Fatalf("keys %v, want %v\n%s", keys, c.want, out)
			}
			var m struct {
				Meta struct {
					Tag []struct{ System, Code string }
				}
			}
			json.Unmarshal(out, &m)
			subsetted := slices.ContainsFunc(m.Meta.Tag, func(c struct{ System, Code string }) bool { return c.Code == conformance.SubsettedCode })
			if subsetted != (c.name != "Nothing") {
				t.Fatalf("SUBSETTED tag %v: %s", subsetted, out)
			}
			if err := v.Validate(out); err != nil {
				t.Fatalf("subset is not valid R4: %v", err)
			}
		})
	}
}
