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

package importer_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kodomohub/kodomohub/audit"
	"github.com/kodomohub/kodomohub/auth"
	"github.com/kodomohub/kodomohub/conformance"
	"github.com/kodomohub/kodomohub/fhir/search"
	"github.com/kodomohub/kodomohub/importer"
	"github.com/kodomohub/kodomohub/importer/importertest"
	"github.com/kodomohub/kodomohub/ingest"
	"github.com/kodomohub/kodomohub/mapping"
	"github.com/kodomohub/kodomohub/store"
	"github.com/kodomohub/kodomohub/store/sqlite"
)

const registry = `source: registry
format: csv
columns:
  宛名番号: {required: true}
  世帯番号: {required: true}
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
  - name: household
    type: Group
    key: "{世帯番号}"
    collect: member
    body:
      identifier: [{system: "urn:kodomohub:{$lg}:household-id", value: "{世帯番号}"}]
      type: person
      actual: true
      member: [{entity: {reference: "{@person}"}}]
`

const visits = `source: visits
format: csv
columns:
  宛名番号: {required: true}
  受診日: {required: true}
resources:
  - name: visit
    type: Encounter
    key: "{宛名番号}|{受診日}"
    body:
      status: finished
      class: {system: "http://terminology.hl7.org/CodeSystem/v3-ActCode", code: AMB}
      subject: {reference: "Patient?identifier=urn:kodomohub:{$lg}:resident-id|{宛名番号}"}
      period: {start: "{受診日}"}
`

type town struct {
	st  store.Store
	im  *importer.Importer
	req *ingest.Request
	log *audit.MemSink
}

func newTown(t *testing.T) *town {
	t.Helper()
	st, err := sqlite.Open(t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return newTownOn(t, st)
}

func newTownOn(t *testing.T, st store.Store) *town {
	t.Helper()
	ctx := context.Background()
	if err := st.CreateTenant(ctx, store.Tenant{ID: "misato", Name: "美里町", LGCode: "113816"}); err != nil {
		t.Fatal(err)
	}
	dev, err := auth.NewDev(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := dev.Mint(auth.DevClaims{Tenant: "misato", Subject: "importer", Role: auth.RoleMunicipalStaff, Scope: "system/*.cruds", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	r, _ := http.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	p, err := dev.Authenticate(ctx, "misato", r)
	if err != nil {
		t.Fatal(err)
	}
	tenant, _ := st.Tenant(ctx, "misato")
	log := &audit.MemSink{}
	in := ingest.New(ingest.Config{Store: st, Validator: conformance.Default(), Guard: &auth.Guard{Roster: &auth.StoreRoster{Store: st}}, Audit: log})
	var specs []*mapping.Spec
	for _, src := range []string{registry, visits} {
		sp, err := mapping.Load("test.yaml", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		specs = append(specs, sp)
	}
	im := &importer.Importer{Writer: in, Specs: importer.NewSpecs(specs...), Decoders: map[string]importer.Decoder{"csv": importertest.CSV{}}, Batch: 2,
		Exists: importer.StoreExists(st)}
	return &town{st: st, im: im, req: &ingest.Request{Tenant: tenant, Principal: p}, log: log}
}

func (tw *town) count(t *testing.T, typ string) int {
	t.Helper()
	q, err := search.Default().ParseQuery(typ, nil, search.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	q.Total = search.TotalAccurate
	p, err := tw.st.Search(context.Background(), "misato", q, store.SearchOptions{Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	return int(p.Total)
}

func TestImport(t *testing.T) {
	tw := newTown(t)
	ctx := context.Background()
	reg := "宛名番号,世帯番号,性別\n000000000000001,H1,1\n000000000000002,H1,2\n000000000000003,H2,9\n000000000000004,H2,2\n000000000000005,H3,1\n"
	rep, err := tw.im.Import(ctx, importer.Options{Source: "registry", Request: tw.req}, []importer.File{importertest.File("registry.csv", reg)})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rows != 5 || rep.Imported != 4 || rep.Failed != 1 || rep.Created != 4+3 || rep.Provenance == "" {
		t.Fatalf("report: %+v", rep)
	}
	if p := rep.Problems[0]; p.Line != 4 || p.Column != "性別" || p.Value != "9" || !strings.Contains(p.Reason, "not one of the values of sex") {
		t.Errorf("problem: %+v", p)
	}
	if n := tw.count(t, "Patient"); n != 4 {
		t.Errorf("%d Patients, want 4", n)
	}
	g, err := tw.st.Read(ctx, "misato", "Group", mapping.ID("registry", "household", "H1"))
	if err != nil || bytes.Count(g.Raw, []byte(`"entity"`)) != 2 {
		t.Fatalf("household H1: %s %v", g.Raw, err)
	}

	// The same file again: nothing new.
	again, err := tw.im.Import(ctx, importer.Options{Source: "registry", Request: tw.req}, []importer.File{importertest.File("registry.csv", reg)})
	if err != nil || again.Created != 0 || again.Updated != 0 || again.Unchanged != 7 {
		t.Fatalf("second import: %+v %v", again, err)
	}
	if h, err := tw.st.History(ctx, "misato", store.HistoryQuery{Type: "Patient"}); err != nil || len(h.Versions) != 4 {
		t.Errorf("Patient history: %d versions, %v; want 4", len(h.Versions), err)
	}

	// Rows of another source name people by resident number; an unknown one is refused.
	vis := "宛名番号,受診日\n000000000000001,2025-06-01\n000000000000099,2025-06-02\n000000000000002,2025-06-03\n"
	rep, err = tw.im.Import(ctx, importer.Options{Source: "visits", Request: tw.req}, []importer.File{importertest.File("visits.csv", vis)})
	if err != nil || rep.Imported != 2 || rep.Failed != 1 || len(rep.Problems) != 1 || rep.Problems[0].Line != 3 {
		t.Fatalf("visits: %+v %v", rep, err)
	}
	e, err := tw.st.Read(ctx, "misato", "Encounter", mapping.ID("visits", "visit", "000000000000001|2025-06-01"))
	if err != nil || !strings.Contains(string(e.Raw), `"reference":"Patient/`+mapping.ID("registry", "person", "000000000000001")+`"`) {
		t.Errorf("the visit's subject: %s %v", e.Raw, err)
	}

	// A dry run reports the same and writes nothing.
	before := tw.count(t, "Encounter")
	dry, err := tw.im.Import(ctx, importer.Options{Source: "visits", Request: tw.req, DryRun: true},
		[]importer.File{importertest.File("visits.csv", "宛名番号,受診日\n000000000000004,2025-07-01\n000000000000098,2025-07-02\n")})
	if err != nil || dry.Imported != 1 || dry.Failed != 1 || dry.Provenance != "" || tw.count(t, "Encounter") != before {
		t.Fatalf("dry run: %+v %v (%d encounters, were %d)", dry, err, tw.count(t, "Encounter"), before)
	}

	// What could not run.
	if _, err := tw.im.Import(ctx, importer.Options{Source: "nope", Request: tw.req}, nil); !errors.Is(err, importer.ErrUnknownSource) {
		t.Errorf("unknown source: %v", err)
	}
	if _, err := tw.im.Import(ctx, importer.Options{Source: "visits", Request: tw.req}, []importer.File{importertest.File("v.csv", "受診日\n2025-01-01\n")}); err == nil || !strings.Contains(err.Error(), "宛名番号") {
		t.Errorf("a missing required column: %v", err)
	}
	noLG := *tw.req
	noLG.Tenant.LGCode = ""
	if _, err := tw.im.Import(ctx, importer.Options{Source: "visits", Request: &noLG}, nil); !errors.Is(err, importer.ErrNoLGCode) || !strings.Contains(err.Error(), "--lg-code") {
		t.Errorf("no local government code: %v", err)
	}
	// Every write was audited as the importer's principal.
	recs := tw.log.Records("misato")
	if len(recs) == 0 || recs[len(recs)-1].Subject != "importer" {
		t.Errorf("audit: %d records", len(recs))
	}
}

// TestRepeatedRecordsAreIdempotent: a person with two rows in one file (a row per change of
// residence) ends as the last row says, and the file imported again changes nothing.
func TestRepeatedRecordsAreIdempotent(t *testing.T) {
	tw := newTown(t)
	ctx := context.Background()
	reg := "宛名番号,世帯番号,性別\n000000000000001,H1,1\n000000000000001,H2,2\n000000000000002,H2,1\n"
	first, err := tw.im.Import(ctx, importer.Options{Source: "registry", Request: tw.req}, []importer.File{importertest.File("r.csv", reg)})
	if err != nil {
		t.Fatal(err)
	}
	p, err := tw.st.Read(ctx, "misato", "Patient", mapping.ID("registry", "person", "000000000000001"))
	if err != nil || !strings.Contains(string(p.Raw), `"gender":"female"`) {
		t.Fatalf("the last row decides: %s %v (%+v)", p.Raw, err, first)
	}
	again, err := tw.im.Import(ctx, importer.Options{Source: "registry", Request: tw.req}, []importer.File{importertest.File("r.csv", reg)})
	if err != nil || again.Created != 0 || again.Updated != 0 {
		t.Fatalf("second import: %+v %v", again, err)
	}
}
