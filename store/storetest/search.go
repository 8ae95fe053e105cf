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

package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/kodomohub/kodomohub/fhir"
	"github.com/kodomohub/kodomohub/fhir/search"
	"github.com/kodomohub/kodomohub/store"
)

// searchFixture is a small town written by hand; the search tables below name its resources.
var searchFixture = []Doc{
	{"Organization", "org1", []byte(`{"resourceType":"Organization","name":"美郷町保健センター"}`)},
	{"Patient", "p1", []byte(`{"resourceType":"Patient","identifier":[{"system":"urn:r","value":"R1"},
		{"system":"urn:mynumber","value":"111","type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"NI"}]}}],
		"active":true,"name":[{"family":"山田","given":["太郎"]},{"family":"ヤマダ","given":["タロウ"]}],"gender":"male",
		"birthDate":"2020-04-01","address":[{"city":"美郷町"}],"managingOrganization":{"reference":"Organization/org1"}}`)},
	{"Patient", "p2", []byte(`{"resourceType":"Patient","identifier":[{"system":"urn:r","value":"R2"}],
		"name":[{"family":"ﾔﾏﾀﾞ","given":["花子"]}],"gender":"female","birthDate":"2021-05",
		"managingOrganization":{"reference":"Organization/org1"}}`)},
	{"Patient", "p3", []byte(`{"resourceType":"Patient","meta":{"tag":[{"system":"urn:tag","code":"vip"}],
		"profile":["http://kodomohub.jp/StructureDefinition/child"]},"identifier":[{"system":"urn:r","value":"R3"}],
		"name":[{"family":"Smith","given":["Éva"]}],"gender":"female"}`)},
	{"Encounter", "e1", []byte(`{"resourceType":"Encounter","status":"finished","class":{"code":"AMB"},
		"subject":{"reference":"Patient/p1"},"period":{"start":"2024-04-01"}}`)},
	{"Observation", "o1", []byte(`{"resourceType":"Observation","status":"final",
		"code":{"coding":[{"system":"http://loinc.org","code":"8302-2","display":"Body height"}]},
		"subject":{"reference":"Patient/p1"},"encounter":{"reference":"Encounter/e1"},"effectiveDateTime":"2024-04-01T10:00:00+09:00",
		"valueQuantity":{"value":100.5,"unit":"cm","system":"http://unitsofmeasure.org","code":"cm"}}`)},
	{"Observation", "o2", []byte(`{"resourceType":"Observation","status":"amended",
		"code":{"coding":[{"system":"http://loinc.org","code":"29463-7"}],"text":"体重"},
		"subject":{"reference":"Patient/p1"},"effectiveDateTime":"2024-05","valueQuantity":{"value":15,"unit":"kg"}}`)},
	{"Observation", "o3", []byte(`{"resourceType":"Observation","status":"final",
		"code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}]},"subject":{"reference":"Patient/p2"},
		"effectiveDateTime":"2023-12-31","component":[
		{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":110,"unit":"mm[Hg]","system":"http://unitsofmeasure.org","code":"mm[Hg]"}},
		{"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},"valueQuantity":{"value":70,"unit":"mm[Hg]","system":"http://unitsofmeasure.org","code":"mm[Hg]"}}]}`)},
	{"Observation", "o4", []byte(`{"resourceType":"Observation","status":"preliminary",
		"code":{"coding":[{"system":"http://loinc.org","code":"8302-2","display":"Body height"}]},"subject":{"reference":"Patient/p3"},
		"effectivePeriod":{"start":"2024-01-01","end":"2024-02-01"},
		"valueQuantity":{"value":90,"unit":"cm","system":"http://unitsofmeasure.org","code":"cm"}}`)},
	{"QuestionnaireResponse", "q1", []byte(`{"resourceType":"QuestionnaireResponse","status":"completed",
		"questionnaire":"http://kodomohub.jp/fhir/Questionnaire/kenshin|1.0","subject":{"reference":"Patient/p1"}}`)},
}

// searchCases are searches on searchFixture and their answers (sorted keys).
var searchCases = []struct {
	typ, q string
	want   string // space-separated Type/id, sorted
}{
	// string: prefix on the normalised form (case, width, kana, accents), :exact, :contains
	{"Patient", "name=やまだ", "Patient/p1 Patient/p2"},
	{"Patient", "name=ﾔﾏ", "Patient/p1 Patient/p2"},
	{"Patient", "family=山", "Patient/p1"},
	{"Patient", "name=eva", "Patient/p3"},
	{"Patient", "name=SMI", "Patient/p3"},
	{"Patient", "name:exact=ﾔﾏﾀﾞ", "Patient/p2"},
	{"Patient", "name:exact=ヤマダ", "Patient/p1"},
	{"Patient", "name:exact=smith", ""},
	{"Patient", "name:contains=マダ", "Patient/p1 Patient/p2"},
	{"Patient", "address-city=美郷", "Patient/p1"},
	// token: code, system|code, |code, system|, :not, :of-type, :text
	{"Patient", "identifier=urn:r|R1", "Patient/p1"},
	{"Patient", "identifier=R2", "Patient/p2"},
	{"Patient", "identifier=urn:r|", "Patient/p1 Patient/p2 Patient/p3"},
	{"Patient", "identifier=|R1", ""},
	{"Patient", "identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|NI|111", "Patient/p1"},
	{"Patient", "gender:not=male", "Patient/p2 Patient/p3"},
	{"Patient", "gender=male,female", "Patient/p1 Patient/p2 Patient/p3"},
	{"Patient", "active=true", "Patient/p1"},
	{"Patient", "active:missing=true", "Patient/p2 Patient/p3"},
	{"Observation", "code=http://loinc.org|8302-2", "Observation/o1 Observation/o4"},
	{"Observation", "code:text=body", "Observation/o1 Observation/o4"},
	{"Observation", "code:text=体", "Observation/o2"},
	{"Observation", "code:not=8302-2", "Observation/o2 Observation/o3"},
	{"Observation", "status=final,amended", "Observation/o1 Observation/o2 Observation/o3"},
	// date: every prefix, :missing
	{"Patient", "birthdate=2020", "Patient/p1"},
	{"Patient", "birthdate=ge2021-01-01", "Patient/p2"},
	{"Patient", "birthdate=lt2021", "Patient/p1"},
	{"Patient", "birthdate=sa2020-12-31", "Patient/p2"},
	{"Patient", "birthdate=eb2021", "Patient/p1"},
	{"Patient", "birthdate=ne2020", "Patient/p2"},
	{"Patient", "birthdate=gt2021-05-10", "Patient/p2"},
	{"Patient", "birthdate=le2020-04-01", "Patient/p1"},
	{"Patient", "birthdate=ap2020-04-03", "Patient/p1"},
	{"Patient", "birthdate:missing=true", "Patient/p3"},
	{"Observation", "date=2024", "Observation/o1 Observation/o2 Observation/o4"},
	{"Observation", "date=ge2024-04-01", "Observation/o1 Observation/o2"},
	{"Observation", "date=lt2024-01-15", "Observation/o3 Observation/o4"},
	{"Observation", "date=2024-04-01T01:00:00Z", "Observation/o1"},
	{"Observation", "date=ge2024-01-01&date=lt2024-05", "Observation/o1 Observation/o4"},
	// quantity and number: precision ranges, prefixes, units
	{"Observation", "value-quantity=100.5", "Observation/o1"},
	{"Observation", "value-quantity=100", ""},
	{"Observation", "value-quantity=1e2", "Observation/o1 Observation/o4"},
	{"Observation", "value-quantity=gt95|http://unitsofmeasure.org|cm", "Observation/o1"},
	{"Observation", "value-quantity=15||kg", "Observation/o2"},
	{"Observation", "value-quantity=le90", "Observation/o2 Observation/o4"},
	{"Observation", "value-quantity=ap100", "Observation/o1 Observation/o4"},
	{"Observation", "value-quantity=ne15", "Observation/o1 Observation/o4"},
	{"Observation", "component-value-quantity=110", "Observation/o3"},
	// composite
	{"Observation", "component-code-value-quantity=http://loinc.org|8480-6$gt100", "Observation/o3"},
	{"Observation", "component-code-value-quantity=http://loinc.org|8462-4$gt100", ""},
	{"Observation", "code-value-quantity=http://loinc.org|8302-2$lt95", "Observation/o4"},
	// reference: Type/id, id, :[type], absolute URLs and canonicals with :above/:below
	{"Observation", "subject=Patient/p1", "Observation/o1 Observation/o2"},
	{"Observation", "subject=p1", "Observation/o1 Observation/o2"},
	{"Observation", "subject:Patient=p2", "Observation/o3"},
	{"Observation", "patient=p3", "Observation/o4"},
	{"Observation", "subject:missing=true", ""},
	{"QuestionnaireResponse", "questionnaire=http://kodomohub.jp/fhir/Questionnaire/kenshin", "QuestionnaireResponse/q1"},
	{"QuestionnaireResponse", "questionnaire:below=http://kodomohub.jp/fhir", "QuestionnaireResponse/q1"},
	{"QuestionnaireResponse", "questionnaire:above=http://kodomohub.jp/fhir/Questionnaire/kenshin/x", "QuestionnaireResponse/q1"},
	{"QuestionnaireResponse", "questionnaire:above=http://kodomohub.jp/fhir/Q", ""},
	// chains (several levels) and _has (nested)
	{"Observation", "subject:Patient.name=やまだ", "Observation/o1 Observation/o2 Observation/o3"},
	{"Observation", "subject:Patient.identifier=urn:r|R3", "Observation/o4"},
	{"Observation", "subject:Patient.organization.name=美郷", "Observation/o1 Observation/o2 Observation/o3"},
	{"Observation", "encounter:Encounter.status=finished", "Observation/o1"},
	{"Patient", "_has:Observation:subject:code=http://loinc.org|8302-2", "Patient/p1 Patient/p3"},
	{"Patient", "_has:Observation:subject:status=amended", "Patient/p1"},
	{"Organization", "_has:Patient:organization:_has:Observation:subject:status=final", "Organization/org1"},
	{"Encounter", "_has:Observation:encounter:subject:Patient.gender=male", "Encounter/e1"},
	// common parameters
	{"Patient", "_id=p1,p3", "Patient/p1 Patient/p3"},
	{"Patient", "_id:not=p1", "Patient/p2 Patient/p3"},
	{"Patient", "_tag=urn:tag|vip", "Patient/p3"},
	{"Patient", "_profile=http://kodomohub.jp/StructureDefinition/child", "Patient/p3"},
	{"Patient", "_tag:missing=false", "Patient/p3"},
	{"Patient", "_lastUpdated=gt2000-01-01", "Patient/p1 Patient/p2 Patient/p3"},
	{"Patient", "_lastUpdated=lt2000-01-01", ""},
	// system level
	{"", "_id=p1", "Patient/p1"},
	{"", "_id=p1,o1,nope", "Observation/o1 Patient/p1"},
	{"", "_tag=urn:tag|vip", "Patient/p3"},
	{"", "_id=p1,o1&_type=Observation", "Observation/o1"},
	{"", "_profile:missing=false", "Patient/p3"},
}

func mustFixture(t *testing.T, s store.Store, tenant string) *corpus {
	t.Helper()
	mustTenant(t, s, tenant, store.IntegrityOff)
	var ws []store.Write
	for _, d := range searchFixture {
		ws = append(ws, IndexedWrite(reg, d, store.Create))
	}
	c := newCorpus()
	for _, r := range mustCommit(t, s, tenant, ws...) {
		c.put(r.Resource)
	}
	return c
}

func want(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Fields(s)
}

func testSearchTable(t *testing.T, s store.Store) {
	c := mustFixture(t, s, "misato")
	for _, tc := range searchCases {
		t.Run(tc.typ+"?"+tc.q, func(t *testing.T) {
			q := mustQuery(t, tc.typ, tc.q)
			oracle, err := c.match(q, nil)
			if err != nil {
				t.Fatalf("Match: %v", err)
			}
			if !slices.Equal(oracle, want(tc.want)) {
				t.Errorf("the brute-force matcher says %v, the table %v (fix the table or fhir/search)", oracle, want(tc.want))
			}
			for _, count := range []int{-1, 1} {
				q.Count = count
				got, _ := searchAll(t, s, "misato", q, store.SearchOptions{})
				if gk := sortedKeys(got); !slices.Equal(gk, want(tc.want)) {
					t.Errorf("_count=%d: got %v, want %v", count, gk, want(tc.want))
				}
			}
		})
	}
}

func testSearchSort(t *testing.T, s store.Store) {
	mustFixture(t, s, "misato")
	for _, tc := range []struct{ typ, q, want string }{
		{"Patient", "_sort=birthdate", "Patient/p1 Patient/p2 Patient/p3"},
		{"Patient", "_sort=-birthdate", "Patient/p2 Patient/p1 Patient/p3"},
		{"Patient", "_sort=-_id", "Patient/p3 Patient/p2 Patient/p1"},
		{"Patient", "_sort=gender,-birthdate", "Patient/p2 Patient/p3 Patient/p1"},
		{"Observation", "_sort=-date", "Observation/o2 Observation/o1 Observation/o4 Observation/o3"},
		{"Observation", "_sort=value-quantity,_id", "Observation/o2 Observation/o4 Observation/o1 Observation/o3"},
		{"Observation", "_sort=code", "Observation/o2 Observation/o1 Observation/o4 Observation/o3"},
		{"Observation", "_sort=subject,-_id", "Observation/o2 Observation/o1 Observation/o3 Observation/o4"},
		{"", "_id=p2,o1,e1&_sort=_id", "Encounter/e1 Observation/o1 Patient/p2"},
	} {
		for _, count := range []int{-1, 1, 2} {
			q := mustQuery(t, tc.typ, tc.q)
			q.Count = count
			got, _ := searchAll(t, s, "misato", q, store.SearchOptions{})
			if k := strings.Join(keys(got), " "); k != tc.want {
				t.Errorf("%s?%s&_count=%d: got %s, want %s", tc.typ, tc.q, count, k, tc.want)
			}
		}
	}
}

// testSearchPagingWhileWriting pages through a search while resources are created, updated
// and deleted between pages: every resource that exists unchanged throughout is listed
// exactly once, in order.
func testSearchPagingWhileWriting(t *testing.T, s store.Store) {
	mustTenant(t, s, "misato", store.IntegrityOff)
	var ws []store.Write
	for i := range 40 {
		ws = append(ws, IndexedWrite(reg, Doc{"Patient", fmt.Sprintf("p%02d", i),
			fmt.Appendf(nil, `{"resourceType":"Patient","name":[{"family":"ヤマダ%02d"}],"gender":"male"}`, 39-i)}, store.Create))
	}
	mustCommit(t, s, "misato", ws...)
	for _, qs := range []string{"gender=male", "gender=male&_sort=family", "gender=male&_sort=-family,_id", "_sort=_lastUpdated"} {
		t.Run(qs, func(t *testing.T) {
			q := mustQuery(t, "Patient", qs)
			q.Count = 7
			seen := map[string]int{}
			deleted, changed := map[string]bool{}, map[string]bool{}
			var order []fhir.Resource
			for page := 0; ; page++ {
				p, err := s.Search(ctx, "misato", q, store.SearchOptions{})
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range p.Resources {
					seen[r.ID]++
					order = append(order, r)
				}
				if p.Next == "" {
					break
				}
				q.Cursor = p.Next
				// Between pages: delete one not yet listed, create new ones, update one listed.
				var ws []store.Write
				for i := 39; i >= 0; i-- {
					id := fmt.Sprintf("p%02d", i)
					if seen[id] == 0 && !deleted[id] {
						deleted[id] = true
						ws = append(ws, store.Write{Type: "Patient", ID: id, Action: store.Delete})
						break
					}
				}
				for _, r := range p.Resources[:1] {
					changed[r.ID] = true
					ws = append(ws, IndexedWrite(reg, Doc{"Patient", r.ID, []byte(`{"resourceType":"Patient","gender":"male","name":[{"family":"アベ"}]}`)}, store.Update))
				}
				ws = append(ws, IndexedWrite(reg, Doc{"Patient", fmt.Sprintf("new%d", page),
					[]byte(`{"resourceType":"Patient","gender":"male","name":[{"family":"ア"}]}`)}, store.Update))
				mustCommit(t, s, "misato", ws...)
			}
			for i := range 40 {
				id := fmt.Sprintf("p%02d", i)
				switch n := seen[id]; {
				case deleted[id] && n > 0:
					t.Errorf("%s listed after its delete", id)
				case !deleted[id] && !changed[id] && n != 1:
					t.Errorf("%s (unchanged) listed %d times", id, n)
				}
			}
			for id, n := range seen {
				if n > 1 && !changed[id] { // a changed resource may move in the order
					t.Errorf("%s listed %d times", id, n)
				}
			}
			if err := checkSorted(q, order, changed); err != nil {
				t.Error(err)
			}
			// Restore for the next subtest.
			var ws []store.Write
			for i := range 40 {
				ws = append(ws, IndexedWrite(reg, Doc{"Patient", fmt.Sprintf("p%02d", i),
					fmt.Appendf(nil, `{"resourceType":"Patient","name":[{"family":"ヤマダ%02d"}],"gender":"male"}`, 39-i)}, store.Update))
			}
			for id := range seen {
				if strings.HasPrefix(id, "new") {
					ws = append(ws, store.Write{Type: "Patient", ID: id, Action: store.Delete})
				}
			}
			mustCommit(t, s, "misato", ws...)
		})
	}
}

func testSearchTotal(t *testing.T, s store.Store) {
	mustFixture(t, s, "misato")
	for _, tc := range []struct {
		typ, q string
		want   int64
	}{
		{"Patient", "_total=accurate", 3},
		{"Patient", "_total=estimate", 3},
		{"Patient", "_total=accurate&gender=female", 2},
		{"Patient", "_total=accurate&_count=1", 3},
		{"Observation", "_summary=count", 4},
		{"Observation", "_summary=count&subject=p1", 2},
		{"", "_total=accurate", int64(len(searchFixture))},
		{"", "_total=accurate&_type=Patient,Observation", 7},
		{"Patient", "", -1},
	} {
		q := mustQuery(t, tc.typ, tc.q)
		p, err := s.Search(ctx, "misato", q, store.SearchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if p.Total != tc.want {
			t.Errorf("%s?%s: Total %d, want %d", tc.typ, tc.q, p.Total, tc.want)
		}
		if q.Summary == "count" && (len(p.Resources) > 0 || p.Next != "") {
			t.Errorf("%s?%s: _summary=count returned %d resources, next %q", tc.typ, tc.q, len(p.Resources), p.Next)
		}
	}
	mustCommit(t, s, "misato", del("Patient", "p2"), del("Patient", "nope"))
	mustCommit(t, s, "misato", IndexedWrite(reg, Doc{"Patient", "p2", []byte(`{"resourceType":"Patient"}`)}, store.Update),
		del("Patient", "p1"))
	p, err := s.Search(ctx, "misato", mustQuery(t, "Patient", "_total=accurate"), store.SearchOptions{})
	if err != nil || p.Total != 2 {
		t.Errorf("after deletes and a re-create: Total %d, %v; want 2", p.Total, err)
	}
}

func testSearchIncludes(t *testing.T, s store.Store) {
	mustFixture(t, s, "misato")
	for _, tc := range []struct{ typ, q, want, included string }{
		{"Observation", "code=http://loinc.org|8302-2&_include=Observation:subject", "Observation/o1 Observation/o4", "Patient/p1 Patient/p3"},
		{"Observation", "_id=o1&_include=Observation:*", "Observation/o1", "Encounter/e1 Patient/p1"},
		{"Observation", "_id=o1&_include=Observation:subject:Patient&_include:iterate=Patient:organization", "Observation/o1", "Organization/org1 Patient/p1"},
		{"Patient", "_id=p1&_revinclude=Observation:subject", "Patient/p1", "Observation/o1 Observation/o2"},
		{"Patient", "_id=p1&_revinclude:iterate=Observation:subject", "Patient/p1", "Observation/o1 Observation/o2"},
		{"Patient", "_id=p1,p2&_revinclude=Observation:subject&_include:iterate=Observation:encounter", "Patient/p1 Patient/p2", "Encounter/e1 Observation/o1 Observation/o2 Observation/o3"},
		{"Organization", "_revinclude=Patient:organization&_include:iterate=Patient:general-practitioner", "Organization/org1", "Patient/p1 Patient/p2"},
		{"Patient", "_id=p1,p2&_include=Patient:organization&_revinclude=Patient:link", "Patient/p1 Patient/p2", "Organization/org1"},
		{"Observation", "subject=p1&_include=Observation:subject&_count=1", "Observation/o1 Observation/o2", "Patient/p1"},
	} {
		q := mustQuery(t, tc.typ, tc.q)
		got, inc := searchAll(t, s, "misato", q, store.SearchOptions{})
		if gk := strings.Join(sortedKeys(got), " "); gk != tc.want {
			t.Errorf("%s?%s: matches %s, want %s", tc.typ, tc.q, gk, tc.want)
		}
		ik := slices.Compact(sortedKeys(inc))
		if strings.Join(ik, " ") != tc.included {
			t.Errorf("%s?%s: included %v, want %s", tc.typ, tc.q, ik, tc.included)
		}
		// Never a match of the same page, never twice on a page.
		p, err := s.Search(ctx, "misato", q, store.SearchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pk, ik2 := keys(p.Resources), keys(p.Included)
		for _, k := range ik2 {
			if slices.Contains(pk, k) {
				t.Errorf("%s?%s: %s both matched and included", tc.typ, tc.q, k)
			}
		}
		if len(slices.Compact(slices.Sorted(slices.Values(ik2)))) != len(ik2) {
			t.Errorf("%s?%s: included twice: %v", tc.typ, tc.q, ik2)
		}
	}
}

func testSearchCompartment(t *testing.T, s store.Store) {
	mustFixture(t, s, "misato")
	params, _ := search.Compartment("Patient")
	for _, tc := range []struct {
		typ, q string
		owner  bool
		want   string
	}{
		{"", "", true, "Encounter/e1 Observation/o1 Observation/o2 Patient/p1 QuestionnaireResponse/q1"},
		{"", "", false, "Encounter/e1 Observation/o1 Observation/o2 QuestionnaireResponse/q1"},
		{"", "_type=Observation,Patient", true, "Observation/o1 Observation/o2 Patient/p1"},
		{"Observation", "", false, "Observation/o1 Observation/o2"},
		{"Observation", "code=8302-2", false, "Observation/o1"},
		{"Organization", "", true, ""},
		{"", "_lastUpdated=gt2000-01-01&_type=Encounter", true, "Encounter/e1"},
	} {
		q := mustQuery(t, tc.typ, tc.q)
		q.Count = 2
		opts := store.SearchOptions{Compartment: &store.Compartment{Type: "Patient", IDs: []string{"p1"}, Params: params, IncludeOwner: tc.owner}}
		got, _ := searchAll(t, s, "misato", q, opts)
		if gk := strings.Join(sortedKeys(got), " "); gk != tc.want {
			t.Errorf("Patient/p1/%s?%s (owner %v): %s, want %s", tc.typ, tc.q, tc.owner, gk, tc.want)
		}
	}
}

// testSearchIsolation: resources of another tenant with the same ids never show up, through
// plain clauses, chains, _has, includes or compartments.
func testSearchIsolation(t *testing.T, s store.Store) {
	mustFixture(t, s, "misato")
	mustTenant(t, s, "kawajima", store.IntegrityOff)
	mustCommit(t, s, "kawajima",
		IndexedWrite(reg, Doc{"Patient", "p9", []byte(`{"resourceType":"Patient","name":[{"family":"ヤマダ"}],"gender":"male"}`)}, store.Create),
		IndexedWrite(reg, Doc{"Patient", "p2", []byte(`{"resourceType":"Patient","name":[{"family":"ヤマダ"}],"gender":"male","identifier":[{"system":"urn:r","value":"R3"}]}`)}, store.Create),
		IndexedWrite(reg, Doc{"Observation", "k1", []byte(`{"resourceType":"Observation","status":"amended","code":{"coding":[{"system":"http://loinc.org","code":"8302-2"}]},"subject":{"reference":"Patient/p2"}}`)}, store.Create),
	)
	params, _ := search.Compartment("Patient")
	for _, tc := range []struct {
		typ, q string
		comp   bool
		want   string
	}{
		{"Patient", "name=やまだ", false, "Patient/p1 Patient/p2"},
		{"Patient", "gender=male", false, "Patient/p1"},
		{"Observation", "subject:Patient.identifier=urn:r|R3", false, "Observation/o4"},
		{"Patient", "_has:Observation:subject:status=amended", false, "Patient/p1"},
		{"Patient", "_id=p2&_revinclude=Observation:subject", false, "Patient/p2 +Observation/o3"},
		{"", "_id=k1,p9", false, ""},
		{"Observation", "", true, "Observation/o3"},
	} {
		q := mustQuery(t, tc.typ, tc.q)
		var opts store.SearchOptions
		if tc.comp {
			opts.Compartment = &store.Compartment{Type: "Patient", IDs: []string{"p2"}, Params: params}
		}
		got, inc := searchAll(t, s, "misato", q, opts)
		all := sortedKeys(got)
		for _, k := range sortedKeys(inc) {
			all = append(all, "+"+k)
		}
		if gk := strings.Join(all, " "); gk != tc.want {
			t.Errorf("misato %s?%s: %s, want %s", tc.typ, tc.q, gk, tc.want)
		}
	}
}

func testSearchCursor(t *testing.T, s store.Store) {
	mustFixture(t, s, "misato")
	mustTenant(t, s, "kawajima", store.IntegrityOff)
	q := mustQuery(t, "Patient", "gender=female,male&_count=1")
	p, err := s.Search(ctx, "misato", q, store.SearchOptions{})
	if err != nil || p.Next == "" {
		t.Fatalf("first page: %+v, %v", p, err)
	}
	isBad := func(what string, err error) {
		t.Helper()
		var fe *fhir.Error
		if !errors.As(err, &fe) || fe.Kind != fhir.KindInvalid || !errors.Is(err, store.ErrCursor) {
			t.Errorf("%s: err = %v, want an invalid *fhir.Error wrapping store.ErrCursor", what, err)
		}
	}
	for what, tc := range map[string]struct {
		tenant, typ, q string
		cursor         string
	}{
		"garbage":        {"misato", "Patient", "gender=female,male", "garbage"},
		"tampered":       {"misato", "Patient", "gender=female,male", "x" + p.Next[1:]},
		"other query":    {"misato", "Patient", "gender=female", p.Next},
		"other sort":     {"misato", "Patient", "gender=female,male&_sort=birthdate", p.Next},
		"other type":     {"misato", "Observation", "", p.Next},
		"other tenant":   {"kawajima", "Patient", "gender=female,male", p.Next},
		"truncated":      {"misato", "Patient", "gender=female,male", p.Next[:len(p.Next)-2]},
		"empty mac part": {"misato", "Patient", "gender=female,male", strings.Split(p.Next, ".")[0] + "."},
	} {
		q := mustQuery(t, tc.typ, tc.q)
		q.Cursor = tc.cursor
		_, err := s.Search(ctx, tc.tenant, q, store.SearchOptions{})
		isBad(what, err)
	}
	// The same query (another _count is fine) continues.
	q2 := mustQuery(t, "Patient", "gender=female,male&_count=5")
	q2.Cursor = p.Next
	if p2, err := s.Search(ctx, "misato", q2, store.SearchOptions{}); err != nil || len(p2.Resources) != 2 {
		t.Errorf("second page: %d resources, %v; want 2", len(p2.Resources), err)
	}
	if _, err := s.Search(ctx, "nowhere", q2, store.SearchOptions{}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown tenant: %v, want ErrNotFound", err)
	}
	// Page size: the server's default, and _count=0.
	all := mustQuery(t, "Patient", "")
	if p, _ := s.Search(ctx, "misato", all, store.SearchOptions{Count: 2}); len(p.Resources) != 2 || p.Next == "" {
		t.Errorf("SearchOptions.Count 2: %d resources, next %q", len(p.Resources), p.Next)
	}
	all.Count = 0
	if p, _ := s.Search(ctx, "misato", all, store.SearchOptions{Count: 2}); len(p.Resources) != 0 || p.Next != "" {
		t.Errorf("_count=0: %d resources, next %q", len(p.Resources), p.Next)
	}
}

// checkSorted checks that the unchanged resources of rs are in the order of q.Sort (by their
// current content), then insertion order.
func checkSorted(q *search.Query, rs []fhir.Resource, changed map[string]bool) error {
	c := newCorpus()
	var keep []fhir.Resource
	for _, r := range rs {
		if !changed[r.ID] {
			c.put(r)
			keep = append(keep, r)
		}
	}
	return c.checkOrder(q, keep)
}
