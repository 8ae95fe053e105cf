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
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/kodomohub/kodomohub/server"
	"github.com/kodomohub/kodomohub/store"
)

// issueOf returns the first issue of an OperationOutcome answer.
func issueOf(t *testing.T, r response) (severity, diagnostics string) {
	t.Helper()
	oo := wantOutcome(t, r)
	issue := oo["issue"].([]any)[0].(map[string]any)
	d, _ := issue["diagnostics"].(string)
	return issue["severity"].(string), d
}

func TestReadSubset(t *testing.T) {
	h := mustHub(t, store.IntegrityOff, server.Limits{})
	wantStatus(t, h.put("/misato/fhir/Patient/p1", `{"resourceType":"Patient","id":"p1","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">山田太郎</div>"},"name":[{"family":"山田"}],"birthDate":"2021-04-01","gender":"male"}`), http.StatusCreated)
	r := h.get("/misato/fhir/Patient/p1?_elements=birthDate")
	wantStatus(t, r, http.StatusOK)
	m := r.json(t)
	if m["birthDate"] != "2021-04-01" || m["name"] != nil || m["gender"] != nil {
		t.Errorf("_elements=birthDate on read kept %v", m)
	}
	if !strings.Contains(string(r.body), "SUBSETTED") {
		t.Errorf("a subset read is not tagged SUBSETTED: %s", r.body)
	}
	r = h.get("/misato/fhir/Patient/p1/_history/1?_summary=text")
	wantStatus(t, r, http.StatusOK)
	if m := r.json(t); m["text"] == nil || m["name"] != nil {
		t.Errorf("_summary=text on vread kept %v", m)
	}
	wantStatus(t, h.get("/misato/fhir/Patient/p1?_summary=count"), http.StatusBadRequest)
	if m := h.get("/misato/fhir/Patient/p1").json(t); m["name"] == nil || m["text"] == nil {
		t.Errorf("a plain read lost elements: %v", m)
	}
}

func TestValidateAndUnknownOperations(t *testing.T) {
	h := mustHub(t, store.IntegrityOff, server.Limits{})
	valid := `{"resourceType":"Observation","status":"final","code":{"text":"体重"}}`
	r := h.post("/misato/fhir/Observation/$validate", valid)
	wantStatus(t, r, http.StatusOK)
	if sev, _ := issueOf(t, r); sev != "information" {
		t.Errorf("a valid Observation: severity %s, want information", sev)
	}
	r = h.post("/misato/fhir/Observation/$validate", `{"resourceType":"Observation","status":"finished","code":{"text":"体重"}}`)
	wantStatus(t, r, http.StatusOK)
	if sev, d := issueOf(t, r); sev != "error" || !strings.Contains(d, "status") {
		t.Errorf("an invalid status: %s %q, want an error about status", sev, d)
	}
	params := `{"resourceType":"Parameters","parameter":[{"name":"resource","resource":` + valid + `}]}`
	r = h.post("/misato/fhir/Observation/$validate", params)
	wantStatus(t, r, http.StatusOK)
	if sev, _ := issueOf(t, r); sev != "information" {
		t.Errorf("a valid Observation in Parameters: severity %s", sev)
	}
	r = h.post("/misato/fhir/Patient/$validate", valid)
	wantStatus(t, r, http.StatusOK)
	if sev, _ := issueOf(t, r); sev != "error" {
		t.Errorf("an Observation validated as a Patient: severity %s", sev)
	}
	// Nothing was stored.
	var b struct{ Total int }
	json.Unmarshal(h.get("/misato/fhir/Observation?_total=accurate").body, &b)
	if b.Total != 0 {
		t.Errorf("$validate stored %d Observations", b.Total)
	}
	// Only a caller that may create the type may ask.
	ro := h.mint("misato", "system/Observation.rs")
	wantStatus(t, h.do(req{method: "POST", path: "/misato/fhir/Observation/$validate", body: valid, token: ro}), http.StatusForbidden)
	wantStatus(t, h.get("/misato/fhir/Observation/$validate"), http.StatusMethodNotAllowed)

	for _, path := range []string{"/misato/fhir/$export", "/misato/fhir/Patient/$match", "/misato/fhir/Patient/p1/$lastn"} {
		r := h.post(path, `{"resourceType":"Parameters"}`)
		wantStatus(t, r, http.StatusNotImplemented)
		if _, d := issueOf(t, r); !strings.Contains(d, "not supported") || strings.Contains(d, "resource id") {
			t.Errorf("%s: %q", path, d)
		}
	}

	// The CapabilityStatement lists the operations.
	cs := string(h.do(req{method: "GET", path: "/misato/fhir/metadata", token: "-"}).body)
	for _, want := range []string{"OperationDefinition/Patient-everything", "OperationDefinition/Encounter-everything", "OperationDefinition/Resource-validate"} {
		if !strings.Contains(cs, want) {
			t.Errorf("the CapabilityStatement does not list %s", want)
		}
	}
}

func TestHeaderAndBodyLimits(t *testing.T) {
	h := mustHubWith(t, store.IntegrityOff, func(c *server.Config) {
		c.Limits.BodyTimeout = 300 * time.Millisecond
	})
	// Header fields beyond MaxHeaderBytes: 431 as an OperationOutcome.
	r := h.do(req{method: "GET", path: "/misato/fhir/Patient", header: map[string]string{"X-Padding": strings.Repeat("a", 70<<10)}})
	wantStatus(t, r, http.StatusRequestHeaderFieldsTooLarge)

	// A body shorter than its Content-Length ends within BodyTimeout with a 408.
	u, _ := url.Parse(h.url)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /misato/fhir/Patient HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/fhir+json\r\nContent-Length: 100\r\n\r\n{\"resourceType\":", u.Host, h.token["misato"])
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a short body within 10 s: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(body), "OperationOutcome") {
		t.Errorf("short body: %d %s, want 408 with an OperationOutcome", resp.StatusCode, body)
	}
}

// A history entry of a deletion reports what the DELETE answered.
// TestHistoryNamesEachRequest: each history entry names the request that wrote its version
// and the status it was answered: a create by PUT is a PUT answered 201, a PATCH a PATCH, a
// deletion a DELETE answered 200, a create again after it a PUT answered 201 (outside tests
// found POST, PUT and 204 for these).
func TestHistoryNamesEachRequest(t *testing.T) {
	h := mustHub(t, store.IntegrityOff, server.Limits{})
	wantStatus(t, h.put("/misato/fhir/Patient/p1", `{"resourceType":"Patient","id":"p1"}`), http.StatusCreated)
	wantStatus(t, h.do(req{method: "PATCH", path: "/misato/fhir/Patient/p1", body: `[{"op":"add","path":"/gender","value":"female"}]`,
		header: map[string]string{"Content-Type": "application/json-patch+json"}}), http.StatusOK)
	wantStatus(t, h.put("/misato/fhir/Patient/p1", `{"resourceType":"Patient","id":"p1","gender":"male"}`), http.StatusOK)
	wantStatus(t, h.do(req{method: "DELETE", path: "/misato/fhir/Patient/p1"}), http.StatusOK)
	wantStatus(t, h.put("/misato/fhir/Patient/p1", `{"resourceType":"Patient","id":"p1"}`), http.StatusCreated)
	created := h.post("/misato/fhir/Patient", `{"resourceType":"Patient"}`)
	wantStatus(t, created, http.StatusCreated)
	wantStatus(t, h.post("/misato/fhir", `{"resourceType":"Bundle","type":"transaction","entry":[
		{"resource":{"resourceType":"Patient","id":"p2"},"request":{"method":"PUT","url":"Patient/p2"}},
		{"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}}]}`), http.StatusOK)
	type entry struct {
		Request  struct{ Method, URL string }
		Response struct{ Status string }
	}
	history := func(path string) []entry {
		t.Helper()
		var b struct{ Entry []entry }
		if err := json.Unmarshal(h.get(path).body, &b); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return b.Entry
	}
	got := history("/misato/fhir/Patient/p1/_history")
	want := []string{"PUT Patient/p1 201", "DELETE Patient/p1 200", "PUT Patient/p1 200", "PATCH Patient/p1 200", "PUT Patient/p1 201"}
	if len(got) != len(want) {
		t.Fatalf("%d entries, want %d: %+v", len(got), len(want), got)
	}
	for i, e := range got {
		if line := e.Request.Method + " " + e.Request.URL + " " + e.Response.Status[:3]; line != want[i] {
			t.Errorf("entry %d: %s, want %s", i, line, want[i])
		}
	}
	all := history("/misato/fhir/Patient/_history")
	// A transaction writes its POSTs before its PUTs: newest first, the PUT comes first.
	if len(all) != 8 || all[0].Request.Method != "PUT" || all[0].Request.URL != "Patient/p2" || all[0].Response.Status != "201 Created" ||
		all[1].Request.Method != "POST" || all[1].Request.URL != "Patient" || all[1].Response.Status != "201 Created" ||
		all[2].Request.Method != "POST" || all[2].Response.Status != "201 Created" {
		t.Errorf("type history, newest first: %+v", all)
	}
}
