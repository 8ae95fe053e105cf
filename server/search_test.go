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
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/kodomohub/kodomohub/server"
	"github.com/kodomohub/kodomohub/store"
)

// town loads a small town into misato: three children, their observations and encounters.
func town(t *testing.T, h *hub) {
	t.Helper()
	children := []struct{ id, family, kana, given, birth, ident string }{
		{"c1", "山田", "ヤマダ", "太郎", "2021-04-01", "0001"},
		{"c2", "山本", "ヤマモト", "花子", "2019-10-12", "0002"},
		{"c3", "佐藤", "サトウ", "健", "2023-01-20", "0003"},
	}
	for _, c := range children {
		body := fmt.Sprintf(`{"resourceType":"Patient","id":"%s","identifier":[{"system":"urn:oid:1.2.392.100495.20.3.51.11234","value":"%s"}],`+
			`"name":[{"family":"%s","given":["%s"]},{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation","valueCode":"SYL"}],"family":"%s"}],"birthDate":"%s"}`,
			c.id, c.ident, c.family, c.given, c.kana, c.birth)
		wantStatus(t, h.put("/misato/fhir/Patient/"+c.id, body), http.StatusCreated)
	}
	obs := []struct {
		id, subject, code, date string
		value                   float64
	}{
		{"o1", "c1", "8302-2", "2024-04-10", 95.5},
		{"o2", "c1", "29463-7", "2024-04-10", 14.2},
		{"o3", "c1", "8302-2", "2025-04-12", 102.0},
		{"o4", "c2", "8302-2", "2024-10-15", 110.3},
		{"o5", "c3", "29463-7", "2024-02-01", 9.1},
	}
	for _, o := range obs {
		unit := "cm"
		if o.code == "29463-7" {
			unit = "kg"
		}
		body := fmt.Sprintf(`{"resourceType":"Observation","id":"%s","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"%s"}]},`+
			`"subject":{"reference":"Patient/%s"},"effectiveDateTime":"%sT10:00:00+09:00","valueQuantity":{"value":%v,"unit":"%s","system":"http://unitsofmeasure.org","code":"%s"}}`,
			o.id, o.code, o.subject, o.date, o.value, unit, unit)
		wantStatus(t, h.put("/misato/fhir/Observation/"+o.id, body), http.StatusCreated)
	}
	wantStatus(t, h.put("/misato/fhir/Encounter/e1", `{"resourceType":"Encounter","id":"e1","status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},"subject":{"reference":"Patient/c1"}}`), http.StatusCreated)
}

// ids returns the "Type/id" of the entries of a searchset with the given mode.
func ids(t *testing.T, r response, mode string) []string {
	t.Helper()
	m := r.json(t)
	if m["resourceType"] != "Bundle" || m["type"] != "searchset" {
		t.Fatalf("not a searchset: %s", r.body)
	}
	var out []string
	es, _ := m["entry"].([]any)
	for _, e := range es {
		e := e.(map[string]any)
		if e["search"].(map[string]any)["mode"] != mode {
			continue
		}
		res := e["resource"].(map[string]any)
		out = append(out, res["resourceType"].(string)+"/"+res["id"].(string))
	}
	return out
}

func link(t *testing.T, r response, rel string) string {
	t.Helper()
	links, _ := r.json(t)["link"].([]any)
	for _, l := range links {
		l := l.(map[string]any)
		if l["relation"] == rel {
			return l["url"].(string)
		}
	}
	return ""
}

func TestSearch(t *testing.T) {
	h := mustHub(t, store.IntegrityStrict, server.Limits{})
	town(t, h)
	for _, c := range []struct {
		name, query string
		want        []string
	}{
		{"KanaHiragana", "Patient?name=やまだ", []string{"Patient/c1"}},
		{"KanaHalfWidth", "Patient?name=ﾔﾏ", []string{"Patient/c1", "Patient/c2"}},
		{"KanjiPrefix", "Patient?family=山", []string{"Patient/c1", "Patient/c2"}},
		{"Exact", "Patient?family:exact=山田", []string{"Patient/c1"}},
		{"Identifier", "Patient?identifier=urn:oid:1.2.392.100495.20.3.51.11234|0002", []string{"Patient/c2"}},
		{"BirthdateRange", "Patient?birthdate=ge2020-01-01&birthdate=lt2023", []string{"Patient/c1"}},
		{"SubjectAndCode", "Observation?subject=Patient/c1&code=http://loinc.org|8302-2", []string{"Observation/o1", "Observation/o3"}},
		{"CodeAndDate", "Observation?code=8302-2&date=ge2024-04-01&date=lt2024-12-01", []string{"Observation/o1", "Observation/o4"}},
		{"Quantity", "Observation?value-quantity=gt100|http://unitsofmeasure.org|cm", []string{"Observation/o3", "Observation/o4"}},
		{"Chain", "Observation?subject:Patient.identifier=0003", []string{"Observation/o5"}},
		{"ChainName", "Observation?subject:Patient.name=さとう", []string{"Observation/o5"}},
		{"Has", "Patient?_has:Observation:subject:code=29463-7", []string{"Patient/c1", "Patient/c3"}},
		{"Or", "Patient?_id=c1,c3", []string{"Patient/c1", "Patient/c3"}},
		{"Missing", "Observation?value-quantity:missing=true", nil},
		{"SortDesc", "Observation?code=8302-2&_sort=-date", []string{"Observation/o3", "Observation/o4", "Observation/o1"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := h.get("/misato/fhir/" + c.query)
			wantStatus(t, r, http.StatusOK)
			got := ids(t, r, "match")
			if !strings.Contains(c.query, "_sort") {
				slices.Sort(got)
			}
			if !slices.Equal(got, c.want) {
				t.Fatalf("%s: got %v, want %v", c.query, got, c.want)
			}
		})
	}
	t.Run("RevInclude", func(t *testing.T) {
		r := h.get("/misato/fhir/Patient?_id=c1&_revinclude=Observation:subject")
		wantStatus(t, r, http.StatusOK)
		inc := ids(t, r, "include")
		slices.Sort(inc)
		if m := ids(t, r, "match"); !slices.Equal(m, []string{"Patient/c1"}) || !slices.Equal(inc, []string{"Observation/o1", "Observation/o2", "Observation/o3"}) {
			t.Fatalf("match %v include %v", m, inc)
		}
	})
	t.Run("Include", func(t *testing.T) {
		r := h.get("/misato/fhir/Observation?_id=o4&_include=Observation:subject")
		wantStatus(t, r, http.StatusOK)
		if inc := ids(t, r, "include"); !slices.Equal(inc, []string{"Patient/c2"}) {
			t.Fatalf("include %v", inc)
		}
	})
	t.Run("PagingWhileWriting", func(t *testing.T) {
		next := "/misato/fhir/Observation?_count=2&_sort=_id"
		var seen []string
		for page := 0; next != ""; page++ {
			if page > 10 {
				t.Fatal("paging does not end")
			}
			r := h.get(next)
			wantStatus(t, r, http.StatusOK)
			seen = append(seen, ids(t, r, "match")...)
			if page == 0 { // a write between pages must not shift the rest
				wantStatus(t, h.put("/misato/fhir/Observation/o0", `{"resourceType":"Observation","id":"o0","status":"final","code":{"text":"x"}}`), http.StatusCreated)
			}
			next = strings.TrimPrefix(link(t, r, "next"), h.url)
		}
		if !slices.Equal(seen, []string{"Observation/o1", "Observation/o2", "Observation/o3", "Observation/o4", "Observation/o5"}) {
			t.Fatalf("pages gave %v", seen)
		}
	})
	t.Run("PreviousLinks", func(t *testing.T) {
		// Walk forward through every page of one, then back through the previous links.
		var forward [][]string
		next := "/misato/fhir/Observation?_count=1&_sort=_id"
		var last response
		for next != "" {
			last = h.get(next)
			wantStatus(t, last, http.StatusOK)
			forward = append(forward, ids(t, last, "match"))
			next = strings.TrimPrefix(link(t, last, "next"), h.url)
		}
		if len(forward) != 6 || link(t, last, "first") == "" {
			t.Fatalf("%d pages, first link %q", len(forward), link(t, last, "first"))
		}
		r := last
		for i := len(forward) - 2; i >= 0; i-- {
			prev := strings.TrimPrefix(link(t, r, "previous"), h.url)
			if prev == "" {
				t.Fatalf("page %d has no previous link", i+1)
			}
			r = h.get(prev)
			wantStatus(t, r, http.StatusOK)
			if got := ids(t, r, "match"); !slices.Equal(got, forward[i]) {
				t.Fatalf("previous to page %d gave %v, want %v", i, got, forward[i])
			}
		}
		if link(t, r, "previous") != "" {
			t.Fatal("the first page has a previous link")
		}
		wantStatus(t, h.get("/misato/fhir/Observation?_cursor=garbage"), http.StatusBadRequest)
	})
	t.Run("TotalAndCount", func(t *testing.T) {
		r := h.get("/misato/fhir/Patient?_total=accurate&_count=1")
		wantStatus(t, r, http.StatusOK)
		if tot := r.json(t)["total"]; fmt.Sprint(tot) != "3" || len(ids(t, r, "match")) != 1 {
			t.Fatalf("total %v, %d entries", tot, len(ids(t, r, "match")))
		}
		r = h.get("/misato/fhir/Patient?_summary=count")
		wantStatus(t, r, http.StatusOK)
		if m := r.json(t); fmt.Sprint(m["total"]) != "3" || m["entry"] != nil {
			t.Fatalf("_summary=count: %s", r.body)
		}
	})
	t.Run("Elements", func(t *testing.T) {
		r := h.get("/misato/fhir/Patient?_id=c1&_elements=birthDate")
		wantStatus(t, r, http.StatusOK)
		if s := string(r.body); strings.Contains(s, "山田") || !strings.Contains(s, "2021-04-01") || !strings.Contains(s, "SUBSETTED") {
			t.Fatalf("_elements: %s", s)
		}
	})
	t.Run("PostSearch", func(t *testing.T) {
		r := h.do(req{method: "POST", path: "/misato/fhir/Patient/_search", body: url.Values{"family": {"佐藤"}}.Encode(),
			header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}})
		wantStatus(t, r, http.StatusOK)
		if got := ids(t, r, "match"); !slices.Equal(got, []string{"Patient/c3"}) {
			t.Fatalf("got %v", got)
		}
	})
	t.Run("ErrUnknownParameter", func(t *testing.T) {
		r := h.get("/misato/fhir/Patient?nickname=x")
		wantStatus(t, r, http.StatusBadRequest)
		r = h.do(req{method: "GET", path: "/misato/fhir/Patient?nickname=x&family=佐藤", header: map[string]string{"Prefer": "handling=lenient"}})
		wantStatus(t, r, http.StatusOK)
		if self := link(t, r, "self"); strings.Contains(self, "nickname") || !strings.Contains(self, "family=") {
			t.Fatalf("self link %s", self)
		}
	})
	t.Run("ErrBadValue", func(t *testing.T) {
		wantStatus(t, h.get("/misato/fhir/Patient?birthdate=tomorrow"), http.StatusBadRequest)
	})
	t.Run("Compartment", func(t *testing.T) {
		r := h.get("/misato/fhir/Patient/c1/Observation?code=29463-7")
		wantStatus(t, r, http.StatusOK)
		if got := ids(t, r, "match"); !slices.Equal(got, []string{"Observation/o2"}) {
			t.Fatalf("got %v", got)
		}
		wantStatus(t, h.get("/misato/fhir/Patient/nobody/Observation"), http.StatusNotFound)
		wantStatus(t, h.get("/misato/fhir/Patient/c1/Organization"), http.StatusBadRequest)
	})
	t.Run("Everything", func(t *testing.T) {
		r := h.get("/misato/fhir/Patient/c1/$everything")
		wantStatus(t, r, http.StatusOK)
		got := ids(t, r, "match")
		slices.Sort(got)
		want := []string{"Encounter/e1", "Observation/o1", "Observation/o2", "Observation/o3", "Patient/c1"}
		if !slices.Equal(got, want) {
			t.Fatalf("$everything: %v, want %v", got, want)
		}
		r = h.get("/misato/fhir/Patient/c1/$everything?_type=Encounter")
		wantStatus(t, r, http.StatusOK)
		if got := ids(t, r, "match"); !slices.Equal(got, []string{"Encounter/e1"}) {
			t.Fatalf("_type=Encounter: %v", got)
		}
	})
	t.Run("TenantIsolation", func(t *testing.T) {
		for _, q := range []string{"Patient", "Observation?subject:Patient.identifier=0003", "Patient?_has:Observation:subject:code=29463-7", "Patient?name=やまだ"} {
			r := h.get("/kawajima/fhir/" + q)
			wantStatus(t, r, http.StatusOK)
			if got := ids(t, r, "match"); len(got) != 0 {
				t.Fatalf("kawajima sees %v through %s", got, q)
			}
		}
		wantStatus(t, h.get("/kawajima/fhir/Patient/c1/$everything"), http.StatusNotFound)
	})
	t.Run("ErrScopeWithoutSearch", func(t *testing.T) {
		wantStatus(t, h.do(req{method: "GET", path: "/misato/fhir/Patient", token: h.mint("misato", "user/Patient.r")}), http.StatusForbidden)
	})
	t.Run("IncludeFilteredByScope", func(t *testing.T) {
		r := h.do(req{method: "GET", path: "/misato/fhir/Observation?_id=o4&_include=Observation:subject", token: h.mint("misato", "user/Observation.rs")})
		wantStatus(t, r, http.StatusOK)
		if inc := ids(t, r, "include"); len(inc) != 0 {
			t.Fatalf("included %v without a Patient scope", inc)
		}
	})
}

func TestConditionalInteractions(t *testing.T) {
	h := mustHub(t, store.IntegrityStrict, server.Limits{})
	town(t, h)
	const ident = "identifier=urn:oid:1.2.392.100495.20.3.51.11234|"
	newChild := `{"resourceType":"Patient","identifier":[{"system":"urn:oid:1.2.392.100495.20.3.51.11234","value":"0004"}],"name":[{"family":"鈴木"}]}`
	t.Run("CreateIfNoneExist", func(t *testing.T) {
		r := h.do(req{method: "POST", path: "/misato/fhir/Patient", body: newChild, header: map[string]string{"If-None-Exist": ident + "0004"}})
		wantStatus(t, r, http.StatusCreated)
		id := r.json(t)["id"]
		r = h.do(req{method: "POST", path: "/misato/fhir/Patient", body: newChild, header: map[string]string{"If-None-Exist": ident + "0004"}})
		wantStatus(t, r, http.StatusOK)
		if r.json(t)["id"] != id {
			t.Fatal("a second conditional create made another resource")
		}
		r = h.do(req{method: "POST", path: "/misato/fhir/Patient", body: newChild, header: map[string]string{"If-None-Exist": "family=山"}})
		wantStatus(t, r, http.StatusPreconditionFailed)
	})
	t.Run("UpdateByCriteria", func(t *testing.T) {
		r := h.do(req{method: "PUT", path: "/misato/fhir/Patient?" + ident + "0002", body: `{"resourceType":"Patient","name":[{"family":"山本","given":["花"]}]}`})
		wantStatus(t, r, http.StatusOK)
		if m := r.json(t); m["id"] != "c2" || m["meta"].(map[string]any)["versionId"] != "2" {
			t.Fatalf("conditional update: %s", r.body)
		}
		r = h.do(req{method: "PUT", path: "/misato/fhir/Patient?" + ident + "0099", body: `{"resourceType":"Patient","name":[{"family":"新"}]}`})
		wantStatus(t, r, http.StatusCreated)
		wantStatus(t, h.do(req{method: "PUT", path: "/misato/fhir/Patient?family=山", body: `{"resourceType":"Patient"}`}), http.StatusPreconditionFailed)
	})
	t.Run("PatchByCriteria", func(t *testing.T) {
		r := h.do(req{method: "PATCH", path: "/misato/fhir/Patient?" + ident + "0003", body: `[{"op":"add","path":"/gender","value":"male"}]`,
			header: map[string]string{"Content-Type": "application/json-patch+json"}})
		wantStatus(t, r, http.StatusOK)
		if r.json(t)["id"] != "c3" {
			t.Fatalf("patched %s", r.body)
		}
	})
	t.Run("DeleteByCriteria", func(t *testing.T) {
		wantStatus(t, h.do(req{method: "DELETE", path: "/misato/fhir/Observation?code=8302-2"}), http.StatusPreconditionFailed)
		wantStatus(t, h.do(req{method: "DELETE", path: "/misato/fhir/Observation?_id=o5"}), http.StatusOK)
		wantStatus(t, h.get("/misato/fhir/Observation/o5"), http.StatusGone)
		wantStatus(t, h.do(req{method: "DELETE", path: "/misato/fhir/Observation?_id=o5"}), http.StatusOK) // no match: nothing to do
	})
	t.Run("TransactionConditionals", func(t *testing.T) {
		r := h.do(req{method: "POST", path: "/misato/fhir", header: map[string]string{"Prefer": "return=representation"}, body: `{"resourceType":"Bundle","type":"transaction","entry":[
		 {"fullUrl":"urn:uuid:2b1d7e2e-0000-4000-8000-000000000001","resource":{"resourceType":"Patient","identifier":[{"system":"urn:oid:1.2.392.100495.20.3.51.11234","value":"0001"}]},
		  "request":{"method":"POST","url":"Patient","ifNoneExist":"` + ident + `0001"}},
		 {"resource":{"resourceType":"Observation","status":"final","code":{"text":"EPDS"},"subject":{"reference":"urn:uuid:2b1d7e2e-0000-4000-8000-000000000001"}},"request":{"method":"POST","url":"Observation"}},
		 {"resource":{"resourceType":"Observation","status":"final","code":{"text":"身長"},"subject":{"reference":"Patient?` + ident + `0003"}},"request":{"method":"POST","url":"Observation"}},
		 {"request":{"method":"GET","url":"Patient?family=佐藤"}}
		]}`})
		wantStatus(t, r, http.StatusOK)
		es := r.json(t)["entry"].([]any)
		status := es[0].(map[string]any)["response"].(map[string]any)["status"]
		subj1 := es[1].(map[string]any)["resource"].(map[string]any)["subject"].(map[string]any)["reference"]
		subj2 := es[2].(map[string]any)["resource"].(map[string]any)["subject"].(map[string]any)["reference"]
		found := es[3].(map[string]any)["resource"].(map[string]any)
		if status != "200 OK" || subj1 != "Patient/c1" || subj2 != "Patient/c3" || found["type"] != "searchset" {
			t.Fatalf("status %v, subjects %v %v, search %v", status, subj1, subj2, found["type"])
		}
		r = h.post("/misato/fhir", `{"resourceType":"Bundle","type":"transaction","entry":[
		 {"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient?family=山"}},"request":{"method":"POST","url":"Observation"}}]}`)
		wantStatus(t, r, http.StatusPreconditionFailed)
	})
	t.Run("TransactionSearchSeesItsWrites", func(t *testing.T) {
		// GET entries come last in a transaction (the search is listed first here): the search
		// finds the Patient the same transaction creates, and misses the one it deletes.
		wantStatus(t, h.put("/misato/fhir/Patient/gone", `{"resourceType":"Patient","id":"gone","name":[{"family":"鈴木"}]}`), http.StatusCreated)
		r := h.post("/misato/fhir", `{"resourceType":"Bundle","type":"transaction","entry":[
		 {"request":{"method":"GET","url":"Patient?family=すずき"}},
		 {"resource":{"resourceType":"Patient","name":[{"family":"スズキ"}]},"request":{"method":"POST","url":"Patient"}},
		 {"request":{"method":"DELETE","url":"Patient/gone"}}]}`)
		wantStatus(t, r, http.StatusOK)
		es := r.json(t)["entry"].([]any)
		created := es[1].(map[string]any)["response"].(map[string]any)["location"].(string)
		found := es[0].(map[string]any)["resource"].(map[string]any)
		var ids []string
		matches, _ := found["entry"].([]any) // none: no entry element
		for _, e := range matches {
			ids = append(ids, e.(map[string]any)["resource"].(map[string]any)["id"].(string))
		}
		if len(ids) != 1 || !strings.Contains(created, "Patient/"+ids[0]+"/") {
			t.Fatalf("search entry found %v; the transaction created %s and deleted Patient/gone", ids, created)
		}
		// A search entry that cannot run fails the transaction before anything is written.
		r = h.post("/misato/fhir", `{"resourceType":"Bundle","type":"transaction","entry":[
		 {"resource":{"resourceType":"Patient","id":"never","name":[{"family":"X"}]},"request":{"method":"PUT","url":"Patient/never"}},
		 {"request":{"method":"GET","url":"Patient?nosuchparam=1"}}]}`)
		wantStatus(t, r, http.StatusBadRequest)
		wantStatus(t, h.get("/misato/fhir/Patient/never"), http.StatusNotFound)
	})
}
