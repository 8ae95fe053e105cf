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
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/kodomohub/kodomohub/conformance/conformancetest"
	"github.com/kodomohub/kodomohub/fhir/fhirpath"
)

func mustDecode(tb testing.TB, raw []byte) any {
	tb.Helper()
	v, err := fhirpath.Decode(raw)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

func mustExample(tb testing.TB, name string) any {
	tb.Helper()
	raw, ok := conformancetest.Examples(tb)[name]
	if !ok {
		tb.Fatalf("no example %s", name)
	}
	return mustDecode(tb, raw)
}

// show renders an entry compactly for golden comparisons.
func show(e Entry) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", e.Code, e.Type)
	if e.Kind != KindValue {
		fmt.Fprintf(&b, " kind=%d", e.Kind)
	}
	switch e.Type {
	case Date:
		fmt.Fprintf(&b, " [%s, %s)", msString(e.Low), msString(e.High))
	case Number, Quantity:
		fmt.Fprintf(&b, " %v %s|%s %q", e.Num, e.System, e.Value, e.Text)
	case Composite:
		for _, p := range e.Parts {
			b.WriteString(" {" + show(p) + "}")
		}
	default:
		fmt.Fprintf(&b, " %s|%s %q", e.System, e.Value, e.Text)
	}
	return b.String()
}

func extractShown(t *testing.T, v any) []string {
	t.Helper()
	es, err := Default().Extract(v)
	if err != nil {
		t.Fatal(err)
	}
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = show(e)
	}
	return lines
}

func TestExtractGolden(t *testing.T) {
	for _, tc := range []struct {
		example string
		want    []string
	}{
		{"Patient-example.json", []string{
			`_id token |example ""`,
			`family string |chalmers "Chalmers"`,
			`family string |windsor "Windsor"`,
			`given string |james "James"`,
			`given string |jim "Jim"`,
			`given string |peter "Peter"`,
			`name string |chalmers "Chalmers"`,
			`name string |jim "Jim"`,
			`birthdate date [1974-12-24T15:00:00.000Z, 1974-12-25T15:00:00.000Z)`, // JST day
			`gender token |male ""`,
			`active token |true ""`,
			`identifier token urn:oid:1.2.36.146.595.217.0.1|12345 ""`,
			`identifier token kind=2 http://terminology.hl7.org/CodeSystem/v2-0203|MR "12345"`,
			`address string |534erewhonst "534 Erewhon St"`,
			`address string |pleasantville "PleasantVille"`,
			`address-city string |pleasantville "PleasantVille"`,
			`address-postalcode string |3999 "3999"`,
			`address-use token |home ""`,
			`telecom token phone|(03) 5555 6473 ""`,
			`organization reference Organization|1 ""`,
		}},
		{"Observation-example.json", []string{
			`code token http://loinc.org|29463-7 "bodyweight"`,
			`code token http://snomed.info/sct|27113001 "bodyweight"`,
			`value-quantity quantity 185 http://unitsofmeasure.org|[lb_av] "lbs"`,
			`date date [2016-03-27T15:00:00.000Z, 2016-03-28T15:00:00.000Z)`,
			`subject reference Patient|example ""`,
			`patient reference Patient|example ""`,
			`encounter reference Encounter|example ""`,
			`code-value-quantity composite {code token http://loinc.org|29463-7 "bodyweight"} {value-quantity quantity 185 http://unitsofmeasure.org|[lb_av] "lbs"}`,
			`category token http://terminology.hl7.org/CodeSystem/observation-category|vital-signs "vitalsigns"`,
		}},
		{"Observation-blood-pressure.json", []string{
			`component-code-value-quantity composite {component-code token http://loinc.org|8480-6 "systolicbloodpressure"} {component-value-quantity quantity 107 http://unitsofmeasure.org|mm[Hg] "mmHg"}`,
			`component-code-value-quantity composite {component-code token http://loinc.org|8462-4 "diastolicbloodpressure"} {component-value-quantity quantity 60 http://unitsofmeasure.org|mm[Hg] "mmHg"}`,
		}},
	} {
		got := extractShown(t, mustExample(t, tc.example))
		for _, w := range tc.want {
			if !slices.Contains(got, w) {
				t.Errorf("%s: missing %s\ngot:\n%s", tc.example, w, strings.Join(got, "\n"))
			}
		}
		// The systolic code never pairs with the diastolic value: components stay apart.
		for _, g := range got {
			if strings.Contains(g, "8480-6") && strings.Contains(g, "quantity 60 ") {
				t.Errorf("%s: cross-component pair %s", tc.example, g)
			}
		}
	}
}

func TestExtractJapanese(t *testing.T) {
	raw := `{"resourceType":"Patient","id":"p1","meta":{"lastUpdated":"2024-04-01T09:00:00.123+09:00"},
	"name":[{"use":"official","family":"山田","given":["太郎"],"text":"山田　太郎"},
	        {"use":"usual","extension":[{"url":"http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation","valueCode":"SYL"}],"family":"ﾔﾏﾀﾞ","given":["たろう"]}],
	"address":[{"text":"東京都千代田区千代田１－１","postalCode":"１００－０００１","city":"千代田区","state":"東京都"}],
	"birthDate":"2020-04-01",
	"link":[{"other":{"reference":"https://other.example/fhir/Patient/9"},"type":"seealso"}],
	"generalPractitioner":[{"identifier":{"system":"urn:jp:npi","value":"123"}}],
	"managingOrganization":{"type":"Organization","display":"みさと町"}}`
	got := extractShown(t, mustDecode(t, []byte(raw)))
	for _, w := range []string{
		`family string |山田 "山田"`,
		`family string |ヤマダ "ﾔﾏﾀﾞ"`,
		`given string |タロウ "たろう"`,
		`name string |山田太郎 "山田\u3000太郎"`,
		`address string |東京都千代田区千代田1-1 "東京都千代田区千代田１－１"`,
		`address-postalcode string |100-0001 "１００－０００１"`,
		`birthdate date [2020-03-31T15:00:00.000Z, 2020-04-01T15:00:00.000Z)`,
		`_lastUpdated date [2024-04-01T00:00:00.123Z, 2024-04-01T00:00:00.124Z)`,
		`link reference kind=3 |https://other.example/fhir/Patient/9 ""`,
		`general-practitioner reference kind=1 urn:jp:npi|123 ""`,
		`organization reference Organization| ""`,
	} {
		if !slices.Contains(got, w) {
			t.Errorf("missing %s\ngot:\n%s", w, strings.Join(got, "\n"))
		}
	}
}

// Every R4 example extracts without error (and without panicking).
func TestExtractExamples(t *testing.T) {
	r := Default()
	total, n := 0, 0
	for _, name := range conformancetest.Names(t) {
		raw := conformancetest.Examples(t)[name]
		es, err := r.Extract(mustDecode(t, raw))
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
		total += len(es)
		n++
	}
	t.Logf("%d examples, %d entries", n, total)
}

func BenchmarkExtract(b *testing.B) {
	for _, name := range []string{"Patient-example.json", "Observation-example.json", "Observation-blood-pressure.json", "QuestionnaireResponse-3141.json"} {
		v := mustExample(b, name)
		es, err := Default().Extract(v)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(strings.TrimSuffix(name, ".json"), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Default().Extract(v)
			}
			b.ReportMetric(float64(len(es)), "entries/op")
		})
	}
}
