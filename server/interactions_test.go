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
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/kodomohub/kodomohub/conformance"
	"github.com/kodomohub/kodomohub/server"
	"github.com/kodomohub/kodomohub/store"
)

const patientP1 = `{"resourceType":"Patient","id":"p1","name":[{"family":"山田","given":["太郎"]},{"family":"ヤマダ","given":["タロウ"]}],"gender":"male","birthDate":"2021-04-01"}`

func TestCreateReadUpdateDelete(t *testing.T) {
	h := mustHub(t, store.IntegrityStrict, server.Limits{})

	r := h.post("/misato/fhir/Patient", `{"resourceType":"Patient","id":"ignored","birthDate":"2020-02-29"}`)
	wantStatus(t, r, http.StatusCreated)
	loc := r.Header.Get("Location")
	if !strings.HasPrefix(loc, h.url+"/misato/fhir/Patient/") || !strings.HasSuffix(loc, "/_history/1") {
		t.Fatalf("Location %q", loc)
	}
	created := r.json(t)
	id := created["id"].(string)
	if id == "ignored" {
		t.Fatal("create kept the client's id; the server assigns ids on create")
	}
	if got := r.Header.Get("ETag"); got != `W/"1"` {
		t.Fatalf("ETag %q", got)
	}
	if r.Header.Get("Last-Modified") == "" {
		t.Fatal("no Last-Modified")
	}
	meta := created["meta"].(map[string]any)
	if meta["versionId"] != "1" || meta["lastUpdated"] == nil {
		t.Fatalf("meta %v", meta)
	}

	r = h.get("/misato/fhir/Patient/" + id)
	wantStatus(t, r, http.StatusOK)
	if r.json(t)["birthDate"] != "2020-02-29" {
		t.Fatalf("read back %s", r.body)
	}

	t.Run("UpdateCreatesVersion2", func(t *testing.T) {
		r := h.put("/misato/fhir/Patient/"+id, `{"resourceType":"Patient","id":"`+id+`","birthDate":"2020-03-01"}`)
		wantStatus(t, r, http.StatusOK)
		if r.Header.Get("ETag") != `W/"2"` {
			t.Fatalf("ETag %q", r.Header.Get("ETag"))
		}
		r = h.get("/misato/fhir/Patient/" + id + "/_history/1")
		wantStatus(t, r, http.StatusOK)
		if r.json(t)["birthDate"] != "2020-02-29" {
			t.Fatalf("vread 1: %s", r.body)
		}
	})
	t.Run("ErrIfMatchStale", func(t *testing.T) {
		r := h.do(req{method: "PUT", path: "/misato/fhir/Patient/" + id, header: map[string]string{"If-Match": `W/"1"`},
			body: `{"resourceType":"Patient","id":"` + id + `"}`})
		wantStatus(t, r, http.StatusPreconditionFailed)
	})
	t.Run("IfMatchCurrent", func(t *testing.T) {
		r := h.do(req{method: "PUT", path: "/misato/fhir/Patient/" + id, header: map[string]string{"If-Match": `W/"2"`},
			body: `{"resourceType":"Patient","id":"` + id + `","birthDate":"2020-03-02"}`})
		wantStatus(t, r, http.StatusOK)
	})
	t.Run("DeleteThenGone", func(t *testing.T) {
		r := h.do(req{method: "DELETE", path: "/misato/fhir/Patient/" + id})
		wantStatus(t, r, http.StatusOK)
		if r.Header.Get("ETag") != `W/"4"` {
			t.Fatalf("delete ETag %q", r.Header.Get("ETag"))
		}
		wantStatus(t, h.get("/misato/fhir/Patient/"+id), http.StatusGone)
		wantStatus(t, h.get("/misato/fhir/Patient/"+id+"/_history/4"), http.StatusGone)
		wantStatus(t, h.get("/misato/fhir/Patient/"+id+"/_history/3"), http.StatusOK)
		r = h.do(req{method: "DELETE", path: "/misato/fhir/Patient/" + id})
		wantStatus(t, r, http.StatusOK) // deleting a deleted resource is not an error
		r = h.put("/misato/fhir/Patient/"+id, `{"resourceType":"Patient","id":"`+id+`"}`)
		wantStatus(t, r, http.StatusCreated) // update after delete brings it back
		if r.Header.Get("ETag") != `W/"5"` {
			t.Fatalf("ETag after resurrection %q", r.Header.Get("ETag"))
		}
	})
	t.Run("UpdateCreatesWithClientID", func(t *testing.T) {
		r := h.put("/misato/fhir/Patient/p1", patientP1)
		wantStatus(t, r, http.StatusCreated)
		r = h.get("/misato/fhir/Patient/p1")
		wantStatus(t, r, http.StatusOK)
		if !strings.Contains(string(r.body), "山田") {
			t.Fatalf("Japanese text lost: %s", r.body)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		wantStatus(t, h.get("/misato/fhir/Patient/nope"), http.StatusNotFound)
		wantStatus(t, h.get("/misato/fhir/Patient/p1/_history/99"), http.StatusNotFound)
		wantStatus(t, h.get("/misato/fhir/Patient/p1/_history/x"), http.StatusNotFound)
	})
}

func TestPatch(t *testing.T) {
	h := mustHub(t, store.IntegrityStrict, server.Limits{})
	wantStatus(t, h.put("/misato/fhir/Patient/p1", patientP1), http.StatusCreated)
	patch := func(body string, hdr map[string]string) response {
		if hdr == nil {
			hdr = map[string]string{}
		}
		if _, ok := hdr["Content-Type"]; !ok {
			hdr["Content-Type"] = "application/json-patch+json"
		}
		return h.do(req{method: "PATCH", path: "/misato/fhir/Patient/p1", body: body, header: hdr})
	}
	r := patch(`[{"op":"replace","path":"/birthDate","value":"2021-05-05"},{"op":"add","path":"/active","value":true}]`, nil)
	wantStatus(t, r, http.StatusOK)
	m := r.json(t)
	if m["birthDate"] != "2021-05-05" || m["active"] != true || m["meta"].(map[string]any)["versionId"] != "2" {
		t.Fatalf("patched: %s", r.body)
	}
	t.Run("ErrInvalidResult", func(t *testing.T) {
		r := patch(`[{"op":"add","path":"/birthDate2","value":"x"}]`, nil)
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantExpression(t, r, "Patient.birthDate2")
	})
	t.Run("ErrChangesID", func(t *testing.T) {
		wantStatus(t, patch(`[{"op":"replace","path":"/id","value":"p2"}]`, nil), http.StatusBadRequest)
	})
	t.Run("ErrTestFails", func(t *testing.T) {
		wantStatus(t, patch(`[{"op":"test","path":"/gender","value":"female"}]`, nil), http.StatusUnprocessableEntity)
	})
	t.Run("ErrNotAPatch", func(t *testing.T) {
		wantStatus(t, patch(`{"op":"add"}`, nil), http.StatusBadRequest)
	})
	t.Run("ErrStaleIfMatch", func(t *testing.T) {
		wantStatus(t, patch(`[{"op":"remove","path":"/active"}]`, map[string]string{"If-Match": `W/"1"`}), http.StatusPreconditionFailed)
	})
	t.Run("ErrWrongMediaType", func(t *testing.T) {
		wantStatus(t, patch(`[]`, map[string]string{"Content-Type": "application/fhir+json"}), http.StatusUnsupportedMediaType)
	})
	t.Run("ErrMissing", func(t *testing.T) {
		r := h.do(req{method: "PATCH", path: "/misato/fhir/Patient/zz", body: `[]`, header: map[string]string{"Content-Type": "application/json-patch+json"}})
		wantStatus(t, r, http.StatusNotFound)
	})
}

func TestValidationAndLimits(t *testing.T) {
	h := mustHub(t, store.IntegrityStrict, server.Limits{MaxBodyBytes: 64 << 10, MaxDepth: 20, MaxBundleEntries: 5})
	cases := []struct {
		name, method, path, body string
		status                   int
		expr                     string
	}{
		{"BadDate", "PUT", "/misato/fhir/Patient/p1", `{"resourceType":"Patient","id":"p1","birthDate":"2021-02-30x"}`, 422, "Patient.birthDate"},
		{"UnknownElement", "POST", "/misato/fhir/Patient", `{"resourceType":"Patient","nickname":"x"}`, 422, "Patient.nickname"},
		{"WrongType", "PUT", "/misato/fhir/Patient/p1", `{"resourceType":"Observation","id":"p1","status":"final","code":{"text":"x"}}`, 400, "resourceType"},
		{"IDMismatch", "PUT", "/misato/fhir/Patient/p1", `{"resourceType":"Patient","id":"p2"}`, 400, "Patient.id"},
		{"IDMissing", "PUT", "/misato/fhir/Patient/p1", `{"resourceType":"Patient"}`, 400, "Patient.id"},
		{"NotJSON", "POST", "/misato/fhir/Patient", `{"resourceType":`, 400, ""},
		{"NotAnObject", "POST", "/misato/fhir/Patient", `[1,2]`, 400, ""},
		{"NoResourceType", "POST", "/misato/fhir/Patient", `{"id":"x"}`, 400, ""},
		{"DuplicateKey", "POST", "/misato/fhir/Patient", `{"resourceType":"Patient","gender":"male","gender":"female"}`, 400, "gender"},
		{"RequiredBinding", "POST", "/misato/fhir/Patient", `{"resourceType":"Patient","gender":"boy"}`, 422, "Patient.gender"},
		{"TooDeep", "POST", "/misato/fhir/Patient", `{"resourceType":"Patient","extension":` + strings.Repeat(`[{"url":"x","extension":`, 15) + `[]` + strings.Repeat(`}]`, 15) + `}`, 400, ""},
		{"TooLarge", "POST", "/misato/fhir/Patient", `{"resourceType":"Patient","text":{"status":"generated","div":"` + strings.Repeat("a", 70<<10) + `"}}`, 413, ""},
		{"EmptyBody", "POST", "/misato/fhir/Patient", ` `, 400, ""},
		{"InvalidID", "GET", "/misato/fhir/Patient/a_b", "", 400, ""},
		{"UnknownType", "GET", "/misato/fhir/Child/1", "", 404, ""},
		{"UnknownTenantIsUnauthenticated", "GET", "/nowhere/fhir/Patient/1", "", 401, ""},
		{"MethodNotAllowed", "POST", "/misato/fhir/Patient/p1", `{}`, 405, ""},
		{"TooManyEntries", "POST", "/misato/fhir", bundleOf("batch", 6), 413, "Bundle.entry"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := h.do(req{method: c.method, path: c.path, body: c.body})
			wantStatus(t, r, c.status)
			if c.expr != "" {
				wantExpression(t, r, c.expr)
			}
		})
	}
	// Nothing of the above was written.
	wantStatus(t, h.get("/misato/fhir/Patient/p1"), http.StatusNotFound)
	r := h.get("/misato/fhir/_history")
	wantStatus(t, r, http.StatusOK)
	if _, ok := r.json(t)["entry"]; ok {
		t.Fatalf("failed writes left versions behind: %s", r.body)
	}
}

func bundleOf(typ string, n int) string {
	var entries []string
	for i := range n {
		entries = append(entries, fmt.Sprintf(`{"resource":{"resourceType":"Basic","id":"b%d","code":{"text":"x"}},"request":{"method":"PUT","url":"Basic/b%d"}}`, i, i))
	}
	return `{"resourceType":"Bundle","type":"` + typ + `","entry":[` + strings.Join(entries, ",") + `]}`
}

func TestContentNegotiation(t *testing.T) {
	h := mustHub(t, store.IntegrityStrict, server.Limits{})
	wantStatus(t, h.put("/misato/fhir/Patient/p1", patientP1), http.StatusCreated)
	for _, c := range []struct {
		name   string
		header map[string]string
		query  string
		status int
		ctype  string
	}{
		{"Default", nil, "", 200, "application/fhir+json"},
		{"FHIRJSON", map[string]string{"Accept": "application/fhir+json"}, "", 200, "application/fhir+json"},
		{"PlainJSON", map[string]string{"Accept": "application/json"}, "", 200, "application/json"},
		{"Wildcard", map[string]string{"Accept": "text/html, */*;q=0.1"}, "", 200, "application/fhir+json"},
		{"FormatJSON", map[string]string{"Accept": "application/fhir+xml"}, "?_format=json", 200, "application/fhir+json"},
		{"ErrXML", map[string]string{"Accept": "application/fhir+xml"}, "", 406, "application/fhir+json"},
		{"ErrFormatXML", nil, "?_format=xml", 406, "application/fhir+json"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := h.do(req{method: "GET", path: "/misato/fhir/Patient/p1" + c.query, header: c.header})
			wantStatus(t, r, c.status)
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, c.ctype) {
				t.Fatalf("Content-Type %q, want %s", ct, c.ctype)
			}
		})
	}
	t.Run("Pretty", func(t *testing.T) {
		r := h.get("/misato/fhir/Patient/p1?_pretty=true")
		wantStatus(t, r, 200)
		if !strings.Contains(string(r.body), "\n  \"id\": \"p1\"") {
			t.Fatalf("not pretty: %s", r.body)
		}
	})
	t.Run("ErrUnsupportedMediaType", func(t *testing.T) {
		r := h.do(req{method: "PUT", path: "/misato/fhir/Patient/p1", body: patientP1, header: map[string]string{"Content-Type": "application/fhir+xml"}})
		wantStatus(t, r, http.StatusUnsupportedMediaType)
	})
	t.Run("PreferMinimal", func(t *testing.T) {
		r := h.do(req{method: "PUT", path: "/misato/fhir/Patient/p1", body: patientP1, header: map[string]string{"Prefer": "return=minimal"}})
		wantStatus(t, r, http.StatusOK)
		if len(r.body) != 0 || r.Header.Get("ETag") == "" || r.Header.Get("Location") == "" {
			t.Fatalf("minimal: body %q, headers %v", r.body, r.Header)
		}
	})
	t.Run("PreferOperationOutcome", func(t *testing.T) {
		r := h.do(req{method: "PUT", path: "/misato/fhir/Patient/p1", body: patientP1, header: map[string]string{"Prefer": "return=OperationOutcome"}})
		wantStatus(t, r, http.StatusOK)
		wantOutcome(t, r)
	})
}

func TestHistory(t *testing.T) {
	h := mustHub(t, store.IntegrityStrict, server.Limits{})
	for i := range 3 {
		wantStatus(t, h.put(fmt.Sprintf("/misato/fhir/Basic/b%d", i), fmt.Sprintf(`{"resourceType":"Basic","id":"b%d","code":{"text":"v1"}}`, i)), http.StatusCreated)
	}
	wantStatus(t, h.put("/misato/fhir/Basic/b0", `{"resourceType":"Basic","id":"b0","code":{"text":"v2"}}`), http.StatusOK)
	wantStatus(t, h.do(req{method: "DELETE", path: "/misato/fhir/Basic/b1"}), http.StatusOK)
	wantStatus(t, h.put("/misato/fhir/Patient/p1", patientP1), http.StatusCreated)

	entries := func(r response) []map[string]any {
		t.Helper()
		m := r.json(t)
		if m["resourceType"] != "Bundle" || m["type"] != "history" {
			t.Fatalf("not a history bundle: %s", r.body)
		}
		var out []map[string]any
		es, _ := m["entry"].([]any)
		for _, e := range es {
			out = append(out, e.(map[string]any))
		}
		return out
	}
	t.Run("Instance", func(t *testing.T) {
		r := h.get("/misato/fhir/Basic/b0/_history")
		wantStatus(t, r, 200)
		es := entries(r)
		if len(es) != 2 || es[0]["resource"].(map[string]any)["meta"].(map[string]any)["versionId"] != "2" {
			t.Fatalf("instance history newest first: %s", r.body)
		}
	})
	t.Run("TypeWithDelete", func(t *testing.T) {
		r := h.get("/misato/fhir/Basic/_history")
		wantStatus(t, r, 200)
		es := entries(r)
		if len(es) != 5 {
			t.Fatalf("want 5 versions of Basic, got %d", len(es))
		}
		del := es[0]
		if del["resource"] != nil || del["request"].(map[string]any)["method"] != "DELETE" {
			t.Fatalf("newest is the delete of b1: %v", del)
		}
	})
	t.Run("SystemPaging", func(t *testing.T) {
		next := "/misato/fhir/_history?_count=2"
		var seen []string
		for pages := 0; next != ""; pages++ {
			if pages > 10 {
				t.Fatal("paging does not end")
			}
			r := h.get(next)
			wantStatus(t, r, 200)
			for _, e := range entries(r) {
				seen = append(seen, e["fullUrl"].(string)+" "+e["response"].(map[string]any)["etag"].(string))
			}
			next = ""
			for _, l := range r.json(t)["link"].([]any) {
				l := l.(map[string]any)
				if l["relation"] == "next" {
					next = strings.TrimPrefix(l["url"].(string), h.url)
				}
			}
		}
		if len(seen) != 6 {
			t.Fatalf("paged through %d versions, want 6: %v", len(seen), seen)
		}
	})
	t.Run("ErrUnknownParameter", func(t *testing.T) {
		wantStatus(t, h.get("/misato/fhir/_history?foo=1"), http.StatusBadRequest)
		wantStatus(t, h.do(req{method: "GET", path: "/misato/fhir/_history?foo=1", header: map[string]string{"Prefer": "handling=lenient"}}), http.StatusOK)
	})
	t.Run("Since", func(t *testing.T) {
		wantStatus(t, h.get("/misato/fhir/_history?_since=2999-01-01T00:00:00Z"), http.StatusOK)
		if es := entries(h.get("/misato/fhir/_history?_since=2999-01-01T00:00:00Z")); len(es) != 0 {
			t.Fatalf("_since in the future returned %d entries", len(es))
		}
		if es := entries(h.get("/misato/fhir/_history?_since=2000-01-01T00:00:00Z")); len(es) != 6 {
			t.Fatalf("_since in the past returned %d entries", len(es))
		}
		wantStatus(t, h.get("/misato/fhir/_history?_since=yesterday"), http.StatusBadRequest)
	})
	t.Run("ErrMissingInstance", func(t *testing.T) {
		wantStatus(t, h.get("/misato/fhir/Basic/none/_history"), http.StatusNotFound)
	})
}

func TestTransaction(t *testing.T) {
	h := mustHub(t, store.IntegrityStrict, server.Limits{})
	wantStatus(t, h.put("/misato/fhir/Basic/old", `{"resourceType":"Basic","id":"old","code":{"text":"x"}}`), http.StatusCreated)
	bundle := `{"resourceType":"Bundle","type":"transaction","entry":[
	 {"fullUrl":"urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a","resource":{"resourceType":"Patient","name":[{"family":"佐藤"}]},"request":{"method":"POST","url":"Patient"}},
	 {"resource":{"resourceType":"Observation","status":"final","code":{"text":"EPDS"},"subject":{"reference":"urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a"}},"request":{"method":"POST","url":"Observation"}},
	 {"fullUrl":"http://example.org/Encounter/e1","resource":{"resourceType":"Encounter","id":"e1","status":"finished","class":{"code":"AMB"},"subject":{"reference":"urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a"}},"request":{"method":"PUT","url":"Encounter/e1"}},
	 {"request":{"method":"DELETE","url":"Basic/old"}},
	 {"request":{"method":"GET","url":"Encounter/e1"}}
	]}`
	r := h.do(req{method: "POST", path: "/misato/fhir", body: bundle, header: map[string]string{"Prefer": "return=representation"}})
	wantStatus(t, r, http.StatusOK)
	m := r.json(t)
	if m["type"] != "transaction-response" {
		t.Fatalf("type %v", m["type"])
	}
	es := m["entry"].([]any)
	if len(es) != 5 {
		t.Fatalf("%d response entries", len(es))
	}
	status := func(i int) string { return es[i].(map[string]any)["response"].(map[string]any)["status"].(string) }
	if status(0) != "201 Created" || status(1) != "201 Created" || status(2) != "201 Created" || status(4) != "200 OK" {
		t.Fatalf("statuses %s %s %s %s", status(0), status(1), status(2), status(4))
	}
	pid := es[0].(map[string]any)["resource"].(map[string]any)["id"].(string)
	obs := es[1].(map[string]any)["resource"].(map[string]any)
	if ref := obs["subject"].(map[string]any)["reference"]; ref != "Patient/"+pid {
		t.Fatalf("urn:uuid not resolved: subject %v, patient %s", ref, pid)
	}
	if enc := es[4].(map[string]any)["resource"].(map[string]any); enc["id"] != "e1" {
		t.Fatalf("GET entry did not see the PUT: %v", enc)
	}
	wantStatus(t, h.get("/misato/fhir/Basic/old"), http.StatusGone)

	t.Run("ErrRollsBackEverything", func(t *testing.T) {
		bad := `{"resourceType":"Bundle","type":"transaction","entry":[
		 {"resource":{"resourceType":"Basic","id":"t1","code":{"text":"x"}},"request":{"method":"PUT","url":"Basic/t1"}},
		 {"resource":{"resourceType":"Basic","id":"t2","code":{"text":"x"},"created":"not-a-date"},"request":{"method":"PUT","url":"Basic/t2"}}
		]}`
		r := h.post("/misato/fhir", bad)
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantExpression(t, r, "Bundle.entry[1].resource.created")
		wantStatus(t, h.get("/misato/fhir/Basic/t1"), http.StatusNotFound)
	})
	t.Run("ErrStoreFailureRollsBack", func(t *testing.T) {
		bad := `{"resourceType":"Bundle","type":"transaction","entry":[
		 {"resource":{"resourceType":"Basic","id":"t3","code":{"text":"x"}},"request":{"method":"PUT","url":"Basic/t3"}},
		 {"resource":{"resourceType":"Basic","id":"e1","code":{"text":"x"}},"request":{"method":"PUT","url":"Basic/t4","ifMatch":"W/\"7\""}}
		]}`
		r := h.post("/misato/fhir", bad)
		if r.StatusCode < 400 {
			t.Fatalf("status %d", r.StatusCode)
		}
		wantStatus(t, h.get("/misato/fhir/Basic/t3"), http.StatusNotFound)
	})
	t.Run("ErrDanglingReference", func(t *testing.T) {
		bad := `{"resourceType":"Bundle","type":"transaction","entry":[
		 {"resource":{"resourceType":"Basic","id":"t5","code":{"text":"x"}},"request":{"method":"PUT","url":"Basic/t5"}},
		 {"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/nobody"}},"request":{"method":"POST","url":"Observation"}}
		]}`
		r := h.post("/misato/fhir", bad)
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantStatus(t, h.get("/misato/fhir/Basic/t5"), http.StatusNotFound)
	})
	t.Run("ErrSameResourceTwice", func(t *testing.T) {
		r := h.post("/misato/fhir", `{"resourceType":"Bundle","type":"transaction","entry":[
		 {"resource":{"resourceType":"Basic","id":"t6","code":{"text":"x"}},"request":{"method":"PUT","url":"Basic/t6"}},
		 {"request":{"method":"DELETE","url":"Basic/t6"}}]}`)
		wantStatus(t, r, http.StatusBadRequest)
	})
	t.Run("ErrNotABundle", func(t *testing.T) {
		wantStatus(t, h.post("/misato/fhir", patientP1), http.StatusBadRequest)
		wantStatus(t, h.post("/misato/fhir", `{"resourceType":"Bundle","type":"collection"}`), http.StatusBadRequest)
	})
	t.Run("PatchEntry", func(t *testing.T) {
		patch := base64.StdEncoding.EncodeToString([]byte(`[{"op":"replace","path":"/status","value":"cancelled"}]`))
		r := h.post("/misato/fhir", `{"resourceType":"Bundle","type":"transaction","entry":[
		 {"resource":{"resourceType":"Binary","contentType":"application/json-patch+json","data":"`+patch+`"},"request":{"method":"PATCH","url":"Encounter/e1"}}]}`)
		wantStatus(t, r, http.StatusOK)
		if !strings.Contains(string(h.get("/misato/fhir/Encounter/e1").body), `"cancelled"`) {
			t.Fatal("patch entry not applied")
		}
	})
}

func TestBatchEntriesAreIndependent(t *testing.T) {
	h := mustHub(t, store.IntegrityStrict, server.Limits{})
	r := h.post("/misato/fhir", `{"resourceType":"Bundle","type":"batch","entry":[
	 {"resource":{"resourceType":"Basic","id":"ok1","code":{"text":"x"}},"request":{"method":"PUT","url":"Basic/ok1"}},
	 {"resource":{"resourceType":"Basic","id":"bad","code":{"text":"x"},"created":"never"},"request":{"method":"PUT","url":"Basic/bad"}},
	 {"request":{"method":"GET","url":"Basic/missing"}},
	 {"resource":{"resourceType":"Basic","id":"ok2","code":{"text":"x"}},"request":{"method":"PUT","url":"Basic/ok2"}}
	]}`)
	wantStatus(t, r, http.StatusOK)
	m := r.json(t)
	if m["type"] != "batch-response" {
		t.Fatalf("type %v", m["type"])
	}
	es := m["entry"].([]any)
	want := []string{"201", "422", "404", "201"}
	for i, e := range es {
		resp := e.(map[string]any)["response"].(map[string]any)
		if !strings.HasPrefix(resp["status"].(string), want[i]) {
			t.Fatalf("entry %d: status %v, want %s", i, resp["status"], want[i])
		}
		if want[i] >= "400" && resp["outcome"].(map[string]any)["resourceType"] != "OperationOutcome" {
			t.Fatalf("entry %d: no outcome", i)
		}
	}
	wantStatus(t, h.get("/misato/fhir/Basic/ok2"), http.StatusOK)
	wantStatus(t, h.get("/misato/fhir/Basic/bad"), http.StatusNotFound)
}

func TestAuthAndTenants(t *testing.T) {
	h := mustHub(t, store.IntegrityStrict, server.Limits{})
	wantStatus(t, h.put("/misato/fhir/Patient/p1", patientP1), http.StatusCreated)
	cases := []struct {
		name, method, path, token string
		status                    int
	}{
		{"ErrNoToken", "GET", "/misato/fhir/Patient/p1", "-", 401},
		{"ErrGarbageToken", "GET", "/misato/fhir/Patient/p1", "not.a.token", 401},
		{"ErrOtherTenantsToken", "GET", "/misato/fhir/Patient/p1", h.token["kawajima"], 401},
		{"OtherTenantCannotSee", "GET", "/kawajima/fhir/Patient/p1", "", 404},
		{"ErrScopeTooNarrow", "GET", "/misato/fhir/Patient/p1", h.mint("misato", "system/Observation.rs"), 403},
		{"ReadScope", "GET", "/misato/fhir/Patient/p1", h.mint("misato", "user/Patient.read"), 200},
		{"ErrReadScopeCannotDelete", "DELETE", "/misato/fhir/Patient/p1", h.mint("misato", "user/Patient.read"), 403},
		{"ErrSearchScopeNotRead", "GET", "/misato/fhir/Patient/p1", h.mint("misato", "user/Patient.s"), 403},
		{"MetadataIsPublic", "GET", "/misato/fhir/metadata", "-", 200},
		{"MetadataOfAnUnknownTownLooksTheSame", "GET", "/nowhere/fhir/metadata", "-", 200},
		{"ErrUnknownTownAnswersAsAKnownOneWithoutToken", "GET", "/nowhere/fhir/Patient/p1", "-", 401},
		{"ErrNoSuchTownID", "GET", "/No_Such/fhir/metadata", "-", 404},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantStatus(t, h.do(req{method: c.method, path: c.path, token: c.token}), c.status)
		})
	}
	t.Run("HistoryFiltersWhatTheScopeCannotRead", func(t *testing.T) {
		wantStatus(t, h.put("/misato/fhir/Basic/b1", `{"resourceType":"Basic","id":"b1","code":{"text":"x"}}`), http.StatusCreated)
		r := h.do(req{method: "GET", path: "/misato/fhir/_history", token: h.mint("misato", "system/Basic.rs")})
		wantStatus(t, r, 200)
		if strings.Contains(string(r.body), `"Patient"`) || !strings.Contains(string(r.body), `"Basic"`) {
			t.Fatalf("system history leaked or lost entries: %s", r.body)
		}
	})
	t.Run("OtherTenantHistoryIsEmpty", func(t *testing.T) {
		r := h.get("/kawajima/fhir/_history")
		wantStatus(t, r, 200)
		if strings.Contains(string(r.body), "p1") {
			t.Fatalf("kawajima sees misato's data: %s", r.body)
		}
	})
}

func TestOperationalEndpoints(t *testing.T) {
	h := mustHub(t, store.IntegrityStrict, server.Limits{})
	wantStatus(t, h.get("/misato/fhir/Patient/nope"), http.StatusNotFound)
	for path, want := range map[string]string{"/healthz": "ok", "/readyz": "ready", "/metrics": `kodomohub_http_requests_total{code="404",interaction="read"} 1`} {
		r := h.do(req{method: "GET", path: path, token: "-"})
		if r.StatusCode != 200 || !strings.Contains(string(r.body), want) {
			t.Fatalf("%s: %d %s", path, r.StatusCode, r.body)
		}
	}
	r := h.do(req{method: "GET", path: "/misato/fhir/metadata", token: "-"})
	wantStatus(t, r, 200)
	if r.json(t)["resourceType"] != "CapabilityStatement" {
		t.Fatalf("metadata: %s", r.body)
	}
	if err := conformance.Default().Validate(r.body); err != nil {
		t.Fatalf("the CapabilityStatement is not valid R4: %v", err)
	}
	for _, want := range []string{`"type":"Patient"`, `"code":"transaction"`, `"code":"patch"`, `"url":"` + h.url + `/misato/fhir"`} {
		if !strings.Contains(string(r.body), want) {
			t.Fatalf("CapabilityStatement lacks %s", want)
		}
	}
	wantStatus(t, h.do(req{method: "GET", path: "/nothing/here/at/all", token: "-"}), http.StatusNotFound)
}
