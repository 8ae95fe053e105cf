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
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kodomohub/kodomohub/audit"
	"github.com/kodomohub/kodomohub/auth"
	"github.com/kodomohub/kodomohub/importer"
	"github.com/kodomohub/kodomohub/importer/importertest"
	"github.com/kodomohub/kodomohub/mapping"
	"github.com/kodomohub/kodomohub/server"
	"github.com/kodomohub/kodomohub/store"
)

const residentsSpec = `source: residents
format: csv
columns:
  宛名番号: {required: true}
  性別: {required: true}
codes:
  sex: {"1": male, "2": female}
resources:
  - name: person
    type: Patient
    key: "{宛名番号}"
    body:
      identifier: [{system: "urn:kodomohub:{$lg}:resident-id", value: "{宛名番号}"}]
      gender: "{=code(sex, 性別)}"
`

// upload posts files as multipart/form-data to path.
func (h *hub) upload(path, token string, files map[string]string) response {
	h.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for name, content := range files {
		w, err := mw.CreateFormFile("file", name)
		if err != nil {
			h.t.Fatal(err)
		}
		w.Write([]byte(content))
	}
	mw.Close()
	return h.do(req{method: "POST", path: path, body: body.String(), token: token,
		header: map[string]string{"Content-Type": mw.FormDataContentType()}})
}

// TestImportSource: files uploaded to $import-source are imported in the background as the
// caller (audited as the caller's writes); the status URL answers 202 and then the report, to
// the caller only.
func TestImportSource(t *testing.T) {
	sp, err := mapping.Load("residents.yaml", []byte(residentsSpec))
	if err != nil {
		t.Fatal(err)
	}
	sink := &audit.MemSink{}
	h := mustHubWith(t, store.IntegrityStrict, func(c *server.Config) {
		c.Specs = importer.NewSpecs(sp)
		c.Decoders = map[string]importer.Decoder{"csv": importertest.CSV{}}
		c.Audit = sink
	})
	ctx := context.Background()
	tn, _ := h.store.Tenant(ctx, "misato")
	tn.LGCode = "113816"
	if err := h.store.UpdateTenant(ctx, tn); err != nil {
		t.Fatal(err)
	}

	r := h.upload("/misato/fhir/$import-source?source=residents", "", map[string]string{
		"住民.csv": "宛名番号,性別\n000000000000001,1\n000000000000002,3\n000000000000003,2\n"})
	wantStatus(t, r, http.StatusAccepted)
	status := r.Header.Get("Content-Location")
	if !strings.Contains(status, "/misato/fhir/$import-source/") {
		t.Fatalf("Content-Location %q", status)
	}
	path := status[strings.Index(status, "/misato/"):]
	var rep struct {
		Rows, Imported, Failed, Created int
		Provenance                      string
		Problems                        []struct {
			File, Column, Value, Reason string
			Line                        int
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		s := h.get(path)
		if s.StatusCode == http.StatusOK {
			if err := json.Unmarshal(s.body, &rep); err != nil {
				t.Fatal(err)
			}
			break
		}
		if s.StatusCode != http.StatusAccepted || s.Header.Get("X-Progress") == "" || time.Now().After(deadline) {
			t.Fatalf("status: %d %s %s", s.StatusCode, s.Header.Get("X-Progress"), s.body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if rep.Rows != 3 || rep.Imported != 2 || rep.Failed != 1 || rep.Created != 2 || rep.Provenance == "" ||
		len(rep.Problems) != 1 || rep.Problems[0].Line != 3 || rep.Problems[0].Column != "性別" || rep.Problems[0].File != "住民.csv" {
		t.Fatalf("report: %+v", rep)
	}
	wantStatus(t, h.get("/misato/fhir/Patient?identifier=urn:kodomohub:113816:resident-id|000000000000003"), http.StatusOK)
	var imported int
	for _, r := range sink.Records("misato") {
		if r.Subject == "tester" && r.Interaction == "bundle" && r.Status == 200 {
			imported++
		}
	}
	if imported == 0 {
		for _, r := range sink.Records("misato") {
			t.Logf("%s %s %d %s", r.Subject, r.Interaction, r.Status, r.ResourceType)
		}
		t.Errorf("the import's writes are not in the audit trail as the caller's")
	}
	// Another caller of the town does not see the job.
	other, err := h.dev.Mint(auth.DevClaims{Tenant: "misato", Subject: "someone-else", Scope: "system/*.cruds", Role: auth.RoleMunicipalStaff, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, h.do(req{method: "GET", path: path, token: other}), http.StatusNotFound)

	// What cannot start.
	wantStatus(t, h.upload("/misato/fhir/$import-source?source=nope", "", map[string]string{"a.csv": "x\n"}), http.StatusBadRequest)
	wantStatus(t, h.upload("/kawajima/fhir/$import-source?source=residents", "", map[string]string{"a.csv": "宛名番号,性別\n1,1\n"}), http.StatusConflict)
	wantStatus(t, h.post("/misato/fhir/$import-source?source=residents", `{"resourceType":"Patient"}`), http.StatusUnsupportedMediaType)
	wantStatus(t, h.upload("/misato/fhir/$import-source?source=residents", "-", map[string]string{"a.csv": "x\n"}), http.StatusUnauthorized)
	if m := h.get("/misato/fhir/metadata").json(t); !strings.Contains(string(must(json.Marshal(m["rest"]))), `"name":"import-source"`) {
		t.Errorf("$import-source is not in the CapabilityStatement")
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
