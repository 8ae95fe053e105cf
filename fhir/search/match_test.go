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
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/kodomohub/kodomohub/conformance/conformancetest"
	"github.com/kodomohub/kodomohub/fhir"
)

// corpus is a Corpus over decoded resources.
type corpus map[string]any // "Type/id" → resource

func (c corpus) Get(typ, id string) (any, bool) { v, ok := c[typ+"/"+id]; return v, ok }
func (c corpus) All(typ string) []any {
	var out []any
	for k, v := range c {
		if strings.HasPrefix(k, typ+"/") {
			out = append(out, v)
		}
	}
	return out
}

var now = time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC)

func mustCorpus(t *testing.T, raws ...string) corpus {
	t.Helper()
	c := corpus{}
	for _, raw := range raws {
		v := mustDecode(t, []byte(raw))
		m := v.(map[string]any)
		c[m["resourceType"].(string)+"/"+m["id"].(string)] = v
	}
	return c
}

func mustParse(t *testing.T, typ, query string) *Query {
	t.Helper()
	vals, err := url.ParseQuery(query)
	if err != nil {
		t.Fatal(err)
	}
	q, err := Default().ParseQuery(typ, vals, ParseOptions{Now: now, BaseURL: "https://hub.example/misato/fhir"})
	if err != nil {
		t.Fatalf("%s?%s: %v", typ, query, err)
	}
	return q
}

var testData = []string{
	`{"resourceType":"Patient","id":"yamada","meta":{"lastUpdated":"2024-03-01T10:00:00Z","tag":[{"system":"urn:town","code":"misato"}],"profile":["http://jpfhir.jp/fhir/core/StructureDefinition/JP_Patient"]},
	  "identifier":[{"system":"urn:jp:resident","value":"R-001","type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR"}]}}],
	  "name":[{"family":"山田","given":["太郎"]},{"family":"ヤマダ","given":["タロウ"]}],
	  "gender":"male","birthDate":"2019-05-10","telecom":[{"system":"phone","value":"090-1111-2222"}],
	  "address":[{"city":"美里町","postalCode":"123-4567"}],
	  "generalPractitioner":[{"reference":"Practitioner/dr1"}],
	  "managingOrganization":{"reference":"https://hub.example/other/fhir/Organization/o9"}}`,
	`{"resourceType":"Patient","id":"jose","name":[{"family":"José","given":["Maria"]}],"gender":"female","birthDate":"2021"}`,
	`{"resourceType":"Patient","id":"nobody"}`,
	`{"resourceType":"Practitioner","id":"dr1","name":[{"family":"Suzuki"}],"identifier":[{"system":"urn:jp:npi","value":"999"}]}`,
	`{"resourceType":"Observation","id":"bw","status":"final","subject":{"reference":"Patient/yamada"},
	  "code":{"coding":[{"system":"http://loinc.org","code":"29463-7","display":"Body weight"}],"text":"体重"},
	  "effectiveDateTime":"2024-03-15T09:30:00+09:00","valueQuantity":{"value":18.5,"unit":"kg","system":"http://unitsofmeasure.org","code":"kg"}}`,
	`{"resourceType":"Observation","id":"bp","status":"final","subject":{"reference":"Patient/jose"},
	  "code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}]},"effectivePeriod":{"start":"2024-01-01T00:00:00Z"},
	  "component":[{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":107,"system":"http://unitsofmeasure.org","code":"mm[Hg]"}},
	               {"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},"valueQuantity":{"value":60,"system":"http://unitsofmeasure.org","code":"mm[Hg]"}}]}`,
	`{"resourceType":"RiskAssessment","id":"ra","status":"final","subject":{"reference":"Patient/yamada"},"prediction":[{"probabilityDecimal":0.35}]}`,
	`{"resourceType":"Questionnaire","id":"q1","url":"http://kodomo.example/Questionnaire/checkup|2","status":"active"}`,
	`{"resourceType":"QuestionnaireResponse","id":"qr1","status":"completed","questionnaire":"http://kodomo.example/Questionnaire/checkup|2","subject":{"reference":"Patient/yamada"}}`,
}

func TestMatch(t *testing.T) {
	c := mustCorpus(t, testData...)
	for _, tc := range []struct {
		typ, query string
		want       []string // ids matched among the corpus resources of typ
	}{
		// string: prefix, Japanese normalisation, :exact, :contains, accents
		{"Patient", "name=やまだ", []string{"yamada"}},
		{"Patient", "name=ﾔﾏﾀﾞ", []string{"yamada"}},
		{"Patient", "family=山", []string{"yamada"}},
		{"Patient", "family=田", nil},
		{"Patient", "family:contains=田", []string{"yamada"}},
		{"Patient", "family:exact=山田", []string{"yamada"}},
		{"Patient", "family:exact=ﾔﾏﾀﾞ", nil},
		{"Patient", "family=jose", []string{"jose"}},
		{"Patient", "family:exact=Jose", nil},
		{"Patient", "name=たろう,maria", []string{"jose", "yamada"}},
		{"Patient", "name=やまだ&name=maria", nil}, // AND
		{"Patient", "address-city=美里", []string{"yamada"}},
		{"Patient", "address-postalcode=１２３", []string{"yamada"}},
		// token
		{"Patient", "gender=male", []string{"yamada"}},
		{"Patient", "gender:not=male", []string{"jose", "nobody"}},
		{"Patient", "gender=male,female", []string{"jose", "yamada"}},
		{"Patient", "identifier=urn:jp:resident|R-001", []string{"yamada"}},
		{"Patient", "identifier=R-001", []string{"yamada"}},
		{"Patient", "identifier=|R-001", nil},
		{"Patient", "identifier=urn:jp:resident|", []string{"yamada"}},
		{"Patient", "identifier=urn:other|R-001", nil},
		{"Patient", "identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|R-001", []string{"yamada"}},
		{"Patient", "identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|R-002", nil},
		{"Patient", "telecom=phone|090-1111-2222", []string{"yamada"}},
		{"Observation", "code=http://loinc.org|29463-7", []string{"bw"}},
		{"Observation", "code:text=体重", []string{"bw"}},
		{"Observation", "code:text=body", []string{"bw"}},
		{"Observation", "code:below=29463-7", []string{"bw"}},
		// common parameters
		{"Patient", "_id=yamada,jose", []string{"jose", "yamada"}},
		{"Patient", "_tag=urn:town|misato", []string{"yamada"}},
		{"Patient", "_profile=http://jpfhir.jp/fhir/core/StructureDefinition/JP_Patient", []string{"yamada"}},
		{"Patient", "_lastUpdated=gt2024-02", []string{"yamada"}},
		{"Patient", "_lastUpdated=2024-03-01T19:00:00%2B09:00", []string{"yamada"}}, // the second, in JST
		// missing
		{"Patient", "birthdate:missing=true", []string{"nobody"}},
		{"Patient", "birthdate:missing=false", []string{"jose", "yamada"}},
		// date prefixes (birthDates 2019-05-10 and 2021, JST days/years)
		{"Patient", "birthdate=2019-05-10", []string{"yamada"}},
		{"Patient", "birthdate=2019", []string{"yamada"}},
		{"Patient", "birthdate=eq2021-06", nil}, // the year 2021 is not inside June
		{"Patient", "birthdate=ne2019-05-10", []string{"jose"}},
		{"Patient", "birthdate=gt2020", []string{"jose"}},
		{"Patient", "birthdate=lt2020", []string{"yamada"}},
		{"Patient", "birthdate=ge2021", []string{"jose"}},
		{"Patient", "birthdate=le2019-05-10", []string{"yamada"}},
		{"Patient", "birthdate=sa2019-05-10", []string{"jose"}},
		{"Patient", "birthdate=eb2021", []string{"yamada"}},
		{"Patient", "birthdate=ap2019-05-12", []string{"yamada"}},
		{"Patient", "birthdate=ge2021-06", []string{"jose"}}, // the year overlaps June onwards
		{"Patient", "birthdate=gt2021-06", []string{"jose"}},
		{"Patient", "birthdate=2019-05-09T15:00:00Z", nil}, // a second is not the whole day
		{"Observation", "date=2024-03-15", []string{"bw"}},
		{"Observation", "date=gt2024-06", []string{"bp"}}, // open-ended period
		{"Observation", "date=lt2023", nil},
		// quantity and number
		{"Observation", "value-quantity=18.5", []string{"bw"}},
		{"Observation", "value-quantity=18", nil},
		{"Observation", "value-quantity=1.9e1", []string{"bw"}}, // [18.5, 19.5)
		{"Observation", "value-quantity=gt18|http://unitsofmeasure.org|kg", []string{"bw"}},
		{"Observation", "value-quantity=gt18||kg", []string{"bw"}},
		{"Observation", "value-quantity=gt18||g", nil},
		{"Observation", "value-quantity=le18.5", []string{"bw"}},
		{"Observation", "value-quantity=ap20", []string{"bw"}},
		{"Observation", "value-quantity=ne18.5", nil},
		{"RiskAssessment", "probability=0.35", []string{"ra"}},
		{"RiskAssessment", "probability=0.3", nil},
		{"RiskAssessment", "probability=0.4", []string{"ra"}}, // [0.35, 0.45)
		{"RiskAssessment", "probability=gt0.3", []string{"ra"}},
		{"RiskAssessment", "probability=lt0.3", nil},
		{"RiskAssessment", "probability=sa0.3", []string{"ra"}},
		// composite: components of one element only
		{"Observation", "component-code-value-quantity=http://loinc.org|8480-6$gt100", []string{"bp"}},
		{"Observation", "component-code-value-quantity=http://loinc.org|8462-4$gt100", nil},
		{"Observation", "code-value-quantity=http://loinc.org|29463-7$18.5|http://unitsofmeasure.org|kg", []string{"bw"}},
		// reference
		{"Observation", "subject=Patient/yamada", []string{"bw"}},
		{"Observation", "subject=yamada", []string{"bw"}},
		{"Observation", "subject:Patient=yamada", []string{"bw"}},
		{"Observation", "subject:Group=yamada", nil},
		{"Observation", "subject=https://hub.example/misato/fhir/Patient/yamada", []string{"bw"}},
		{"Patient", "organization=https://hub.example/other/fhir/Organization/o9", []string{"yamada"}},
		{"Patient", "organization=Organization/o9", nil},
		{"QuestionnaireResponse", "questionnaire=http://kodomo.example/Questionnaire/checkup", []string{"qr1"}},
		{"QuestionnaireResponse", "questionnaire:below=http://kodomo.example/", []string{"qr1"}},
		{"Questionnaire", "url=http://kodomo.example/Questionnaire/checkup|2", []string{"q1"}},
		{"Questionnaire", "url:below=http://kodomo.example/", []string{"q1"}},
		{"Questionnaire", "url:above=http://kodomo.example/Questionnaire/checkup|2/x", []string{"q1"}},
		// chains and _has
		{"Observation", "subject:Patient.name=やまだ", []string{"bw"}},
		{"Observation", "patient:Patient.gender=female", []string{"bp"}},
		{"Observation", "subject:Patient.general-practitioner:Practitioner.identifier=urn:jp:npi|999", []string{"bw"}},
		{"Patient", "_has:Observation:subject:code=http://loinc.org|29463-7", []string{"yamada"}},
		{"Practitioner", "_has:Patient:general-practitioner:_has:Observation:subject:code=29463-7", []string{"dr1"}},
		{"Patient", "_has:RiskAssessment:subject:probability=gt0.5", nil},
		// system level
		{"", "_id=yamada", []string{"yamada"}},
		{"", "_type=Practitioner,Questionnaire", []string{"dr1", "q1"}},
	} {
		q := mustParse(t, tc.typ, tc.query)
		var got []string
		for _, k := range sortedKeys(c) {
			if tc.typ != "" && !strings.HasPrefix(k, tc.typ+"/") {
				continue
			}
			ok, err := Default().Match(q, c[k], c)
			if err != nil {
				t.Fatalf("%s?%s: %v", tc.typ, tc.query, err)
			}
			if ok {
				got = append(got, k[strings.IndexByte(k, '/')+1:])
			}
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%s?%s: got %v, want %v", tc.typ, tc.query, got, tc.want)
		}
	}
}

func sortedKeys(c corpus) []string {
	var ks []string
	for k := range c {
		ks = append(ks, k)
	}
	// sort by id so that expectations list ids in order
	for i := range ks {
		for j := i + 1; j < len(ks); j++ {
			if id(ks[j]) < id(ks[i]) {
				ks[i], ks[j] = ks[j], ks[i]
			}
		}
	}
	return ks
}

func id(k string) string { return k[strings.IndexByte(k, '/')+1:] }

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		typ, query string
		lenient    bool   // the error goes away in lenient mode
		mention    string // the issue names this
	}{
		{"Patient", "foo=bar", true, `"foo"`},
		{"Patient", "name:in=x", true, `"name:in"`},
		{"Patient", "_text=x", true, `"_text"`},
		{"Patient", "_content=x", true, `"_content"`},
		{"Location", "near=1|2|3|km", true, `"near"`},
		{"Patient", "birthdate=2024-13-01", false, `"birthdate"`},
		{"Patient", "birthdate=xx2024", false, `"birthdate"`},
		{"Patient", "birthdate:exact=2024", true, `"birthdate:exact"`},
		{"Observation", "subject.name=x", false, `"subject.name"`}, // several targets: type required
		{"Observation", "subject:Foo.name=x", false, `"subject:Foo.name"`},
		{"Observation", "subject=Medication/1", false, `"subject"`},
		{"Observation", "code.name=x", false, `"code.name"`},
		{"Observation", "value-quantity=abc", false, `"value-quantity"`},
		{"Observation", "value-quantity=5|mg", false, `"value-quantity"`},
		{"Observation", "component-code-value-quantity=x", false, `"component-code-value-quantity"`},
		{"Patient", "_count=-1", false, `"_count"`},
		{"Patient", "_total=maybe", false, `"_total"`},
		{"Patient", "_summary=yes", false, `"_summary"`},
		{"Patient", "_sort=foo", true, `"_sort"`},
		{"Patient", "_sort=link", false, ``}, // reference: sortable
		{"Patient", "_include=Observation:subject", false, `"_include"`},
		{"Patient", "_revinclude=Observation:code", false, `"_revinclude"`},
		{"Patient", "_has:Observation:code:status=final", false, `"_has:Observation:code:status"`},
		{"Patient", "_has:Foo:subject:status=final", false, `"_has:Foo:subject:status"`},
		{"Patient", "_has:Observation:patient:_has:Observation:patient:status=final", false, `does not refer to Observation`},
		{"Patient", "gender:missing=maybe", false, `"gender:missing"`},
		{"", "name=x", true, `"name"`},
		{"Patient", "identifier:of-type=a|b", false, `"identifier:of-type"`},
		{"Patient", "identifier=|", false, `"identifier"`},
	} {
		vals, _ := url.ParseQuery(tc.query)
		_, err := Default().ParseQuery(tc.typ, vals, ParseOptions{Now: now})
		if tc.mention == "" {
			if err != nil {
				t.Errorf("%s?%s: %v", tc.typ, tc.query, err)
			}
			continue
		}
		var fe *fhir.Error
		if !errors.As(err, &fe) || fe.Kind != fhir.KindInvalid || !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("%s?%s: err %v, want a 400 naming %s", tc.typ, tc.query, err, tc.mention)
			continue
		}
		q, err := Default().ParseQuery(tc.typ, vals, ParseOptions{Now: now, Lenient: true})
		switch {
		case tc.lenient && err != nil:
			t.Errorf("%s?%s lenient: %v", tc.typ, tc.query, err)
		case tc.lenient && len(q.Ignored) != 1:
			t.Errorf("%s?%s lenient: ignored %v", tc.typ, tc.query, q.Ignored)
		case !tc.lenient && err == nil:
			t.Errorf("%s?%s lenient: no error", tc.typ, tc.query)
		}
	}
}

func TestParseQuery(t *testing.T) {
	q := mustParse(t, "Observation", "code=http://loinc.org|1234-5,a\\,b&date=ge2024-01&date=lt2024-02"+
		"&_sort=-date,_id&_count=20&_total=accurate&_summary=data&_elements=code,subject"+
		"&_include=Observation:subject:Patient&_include:iterate=Patient:general-practitioner&_revinclude=Provenance:target"+
		"&_cursor=abc&_format=json&_pretty=true&subject:Patient.name=やまだ")
	if q.Count != 20 || q.Total != TotalAccurate || q.Summary != "data" || q.Cursor != "abc" ||
		len(q.Elements) != 2 || len(q.Sort) != 2 || !q.Sort[0].Desc || q.Sort[1].Param.Code != "_id" {
		t.Errorf("result parameters: %+v", q)
	}
	if len(q.Include) != 2 || q.Include[0].Target != "Patient" || !q.Include[1].Iterate || len(q.RevInclude) != 1 {
		t.Errorf("includes: %+v %+v", q.Include, q.RevInclude)
	}
	var code, chain *Clause
	dates := 0
	for _, c := range q.Clauses {
		switch {
		case c.Chain != nil:
			chain = c
		case c.Param.Code == "code":
			code = c
		case c.Param.Code == "date":
			dates++
		}
	}
	if code == nil || len(code.Values) != 2 || code.Values[0].System != "http://loinc.org" || code.Values[1].Code != "a,b" || code.Values[1].HasSystem {
		t.Errorf("code: %+v", code)
	}
	if dates != 2 {
		t.Errorf("%d date clauses, want 2 (AND)", dates)
	}
	if chain == nil || chain.TargetType != "Patient" || chain.Chain.Param.Code != "name" || chain.Chain.Values[0].String != "ヤマダ" {
		t.Errorf("chain: %+v", chain)
	}
	self := q.SelfParams()
	if self.Get("_format") != "" || self.Get("code") != `http://loinc.org|1234-5,a\,b` || self.Get("_sort") != "-date,_id" ||
		len(self["date"]) != 2 || self.Get("subject:Patient.name") != "やまだ" || self.Get("_include:iterate") != "Patient:general-practitioner" {
		t.Errorf("self: %v", self.Encode())
	}
	// Round trip: the self link parses to the same clauses.
	q2, err := Default().ParseQuery("Observation", self, ParseOptions{Now: now})
	if err != nil || len(q2.Clauses) != len(q.Clauses) {
		t.Errorf("self link does not round-trip: %v", err)
	}
	// Lenient: unknown parameters are left out of the self link.
	vals, _ := url.ParseQuery("name=x&foo=1&bar:exact=2")
	q3, err := Default().ParseQuery("Patient", vals, ParseOptions{Lenient: true})
	if err != nil || strings.Join(q3.Ignored, ",") != "bar:exact,foo" || q3.SelfParams().Encode() != "name=x" {
		t.Errorf("lenient: %v %v %v", err, q3.Ignored, q3.SelfParams())
	}
}

func TestDecimalRange(t *testing.T) {
	for _, tc := range []struct {
		in     string
		lo, hi float64
	}{
		{"100", 99.5, 100.5},
		{"100.00", 99.995, 100.005},
		{"1e2", 50, 150},
		{"-5.5", -5.55, -5.45},
		{"0.35", 0.345, 0.355},
	} {
		_, lo, hi, err := decimalRange(tc.in)
		if err != nil || lo != tc.lo || hi != tc.hi {
			t.Errorf("%s: [%v, %v) %v, want [%v, %v)", tc.in, lo, hi, err, tc.lo, tc.hi)
		}
	}
	for _, bad := range []string{"", "abc", "1.2.3", "0x10", "Inf", "NaN", "1e", "1_000", "."} {
		if _, _, _, err := decimalRange(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"name=やまだ", "birthdate=ge2024-01-01T10:00:00%2B09:00", "subject:Patient.name:exact=x",
		"_has:Observation:subject:_has:Provenance:target:agent=1", "code-value-quantity=a|b$gt5|c|d",
		"_sort=-date&_count=5&_include=*", "value-quantity=ap1e3||mg", `code=a\,b,c\|d|e`, "identifier:of-type=a|b|c",
		"name=ya%00mada", "na%01me=x", "code=a,b%0A", "_cursor=%7F", "code=" + values("c", 101), "code=a\\,,,b\\",
		"subject:Patient.organization.partof.partof.partof.name=x", "_elements=" + values("e", 101)} {
		f.Add("Observation", s)
		f.Add("Patient", s)
	}
	f.Fuzz(func(t *testing.T, typ, query string) {
		vals, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		q, err := Default().ParseQuery(typ, vals, ParseOptions{Now: now})
		if err != nil {
			if fe := fhir.AsError(err); fe == nil || (fe.Kind != fhir.KindInvalid && fe.Kind != fhir.KindTooCostly) || len(fe.Issues) == 0 {
				t.Fatalf("not a 400 *fhir.Error: %v", err)
			}
			return
		}
		// What parses is within the limits and free of control characters.
		for k, vs := range vals {
			if i, _ := controlChar(k); i >= 0 {
				t.Fatalf("accepted the name %q", k)
			}
			for _, v := range vs {
				if i, _ := controlChar(v); i >= 0 {
					t.Fatalf("accepted the value %q", v)
				}
			}
		}
		if n := len(q.Include) + len(q.RevInclude); n > DefaultLimits.MaxIncludes {
			t.Fatalf("%d includes", n)
		}
		for _, c := range q.Clauses {
			if len(c.Values) > DefaultLimits.MaxValues {
				t.Fatalf("%s: %d values", c.Key, len(c.Values))
			}
		}
		q.SelfParams()
	})
}

// Every string, token, reference and uri entry of every R4 example, searched for as a
// value, finds the example: parsing, extraction and matching agree on real data.
func TestMatchExamplesSelf(t *testing.T) {
	r := Default()
	checked := 0
	for _, name := range conformancetest.Names(t) {
		res := mustDecode(t, conformancetest.Examples(t)[name])
		rt := resourceTypeOf(res)
		es, err := r.Extract(res)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			if e.Kind != KindValue || e.Value == "" || strings.HasPrefix(e.Code, "_") && e.Code != "_id" {
				continue
			}
			var val string
			switch e.Type {
			case String:
				val = e.Text
			case Token:
				val = escape(e.System) + "|" + escape(e.Value)
			case Reference:
				if e.System == "" {
					continue
				}
				val = e.System + "/" + e.Value
			case URI:
				val = escape(e.Value)
			default:
				continue
			}
			if strings.TrimSpace(val) == "" {
				continue
			}
			q, err := r.ParseQuery(rt, url.Values{e.Code: {val}}, ParseOptions{Now: now})
			if err != nil {
				if e.Type == Reference { // e.g. a reference to a type the parameter does not target
					continue
				}
				t.Errorf("%s: %s=%s: %v", name, e.Code, val, err)
				continue
			}
			ok, err := r.Match(q, res, nil)
			if err != nil || !ok {
				t.Errorf("%s: %s=%s does not match (%v)", name, e.Code, val, err)
			}
			checked++
		}
	}
	t.Logf("%d self-searches", checked)
}

func TestRevIncludeIterateMayStartElsewhere(t *testing.T) {
	r := Default()
	// Observations of the encounters that are brought in by a first _revinclude.
	q, err := r.ParseQuery("Patient", map[string][]string{"_revinclude": {"Encounter:subject"}, "_revinclude:iterate": {"Observation:encounter"}}, ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(q.RevInclude) != 2 || !q.RevInclude[1].Iterate || q.RevInclude[1].Type != "Observation" {
		t.Fatalf("rev includes %+v", q.RevInclude)
	}
	if _, err := r.ParseQuery("Patient", map[string][]string{"_revinclude": {"Observation:encounter"}}, ParseOptions{}); err == nil {
		t.Fatal("a plain _revinclude whose parameter cannot point to Patient was accepted")
	}
}
