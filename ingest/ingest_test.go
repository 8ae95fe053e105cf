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

package ingest_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/kodomohub/kodomohub/audit"

	"github.com/kodomohub/kodomohub/auth"
	"github.com/kodomohub/kodomohub/conformance"
	"github.com/kodomohub/kodomohub/fhir"
	"github.com/kodomohub/kodomohub/fhir/search"
	"github.com/kodomohub/kodomohub/ingest"
	"github.com/kodomohub/kodomohub/server"
	"github.com/kodomohub/kodomohub/server/httpstatus"
	"github.com/kodomohub/kodomohub/store"
	"github.com/kodomohub/kodomohub/store/sqlite"
)

// town is one store with the town misato, written through an Ingester and served by a REST
// server on the same store and guard, each with an audit sink of its own.
type town struct {
	t         *testing.T
	st        store.Store
	in        *ingest.Ingester
	inAudit   *audit.MemSink
	restAudit *audit.MemSink
	url       string
	dev       *auth.Dev
}

func mustTown(t *testing.T, integrity string) *town {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.CreateTenant(ctx, store.Tenant{ID: "misato", Name: "美郷町", ReferentialIntegrity: integrity}); err != nil {
		t.Fatal(err)
	}
	dev, err := auth.NewDev(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	guard := &auth.Guard{Roster: &auth.StoreRoster{Store: st}}
	tw := &town{t: t, st: st, dev: dev, inAudit: &audit.MemSink{}, restAudit: &audit.MemSink{}}
	tw.in = ingest.New(ingest.Config{Store: st, Validator: conformance.Default(), Guard: guard, Audit: tw.inAudit})
	srv := server.New(server.Config{Store: st, Validator: conformance.Default(), Auth: dev, Guard: guard,
		Audit: tw.restAudit, TrustHost: true, Version: "test"})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	tw.url = hs.URL
	return tw
}

// principal mints a dev token for c and returns it with the principal the REST server
// authenticates it as, so that both paths write as the same principal.
func (tw *town) principal(c auth.DevClaims) (string, *auth.Principal) {
	tw.t.Helper()
	c.Tenant, c.TTL = "misato", time.Hour
	tok, err := tw.dev.Mint(c)
	if err != nil {
		tw.t.Fatal(err)
	}
	r, _ := http.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	p, err := tw.dev.Authenticate(context.Background(), "misato", r)
	if err != nil {
		tw.t.Fatal(err)
	}
	return tok, p
}

func (tw *town) req(p *auth.Principal) *ingest.Request {
	tenant, err := tw.st.Tenant(context.Background(), "misato")
	if err != nil {
		tw.t.Fatal(err)
	}
	return &ingest.Request{Tenant: tenant, Principal: p}
}

// rest sends a request to the REST server and returns its status and body.
func (tw *town) rest(method, path, token, body string) (int, string) {
	tw.t.Helper()
	r, err := http.NewRequest(method, tw.url+path, strings.NewReader(body))
	if err != nil {
		tw.t.Fatal(err)
	}
	r.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		r.Header.Set("Content-Type", "application/fhir+json")
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		tw.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func last(t *testing.T, sink *audit.MemSink) audit.Record {
	t.Helper()
	recs := sink.Records("misato")
	if len(recs) == 0 {
		t.Fatal("no audit record")
	}
	return recs[len(recs)-1]
}

// sameRecord compares what an audit record says about a write (not when, from which address
// or at which chain position).
func sameRecord(t *testing.T, what string, rest, in audit.Record) {
	t.Helper()
	type view struct {
		Action, Interaction, Outcome, Decision, BreakGlass string
		Status                                             int
		Subject, Issuer, Role, Facility, ResourceType, Rid string
		Patients                                           string
	}
	v := func(r audit.Record) view {
		return view{r.Action, r.Interaction, r.Outcome, r.Decision, r.BreakGlass, r.Status, r.Subject, r.Issuer,
			r.Role, r.Facility, r.ResourceType, r.ResourceID, strings.Join(r.Patients, ",")}
	}
	if v(rest) != v(in) {
		t.Errorf("%s: the audit records differ\nREST:   %+v\ningest: %+v", what, v(rest), v(in))
	}
	if rest.Decision == "" {
		t.Errorf("%s: no decision recorded", what)
	}
}

func statusOf(err error) int {
	if err == nil {
		return 0
	}
	status, _ := httpstatus.Outcome(ingest.Error(err))
	return status
}

// TestDecidedAndAuditedAsREST writes as a nursery through ingest directly and through REST:
// the same writes are refused with the same status, and each leaves the same audit record.
func TestDecidedAndAuditedAsREST(t *testing.T) {
	ctx := context.Background()
	tw := mustTown(t, store.IntegrityStrict)
	_, staff := tw.principal(auth.DevClaims{Subject: "staff-1", Scope: "system/*.cruds", Role: auth.RoleMunicipalStaff})
	for _, w := range []struct{ typ, body string }{
		{"Organization", `{"resourceType":"Organization","id":"nursery-1","name":"みさと保育園"}`},
		{"Patient", `{"resourceType":"Patient","id":"on","birthDate":"2021-04-01"}`},
		{"Patient", `{"resourceType":"Patient","id":"off","birthDate":"2021-05-01"}`},
		{"EpisodeOfCare", `{"resourceType":"EpisodeOfCare","id":"eoc-1","status":"active","patient":{"reference":"Patient/on"},"managingOrganization":{"reference":"Organization/nursery-1"}}`},
	} {
		var head struct{ ID string }
		_ = json.Unmarshal([]byte(w.body), &head)
		if _, err := tw.in.Update(ctx, tw.req(staff), w.typ, head.ID, []byte(w.body), "", 0); err != nil {
			t.Fatalf("setup %s/%s: %v", w.typ, head.ID, err)
		}
	}
	if r := last(t, tw.inAudit); r.Action != "C" || r.Interaction != "update" || r.Subject != "staff-1" || r.ResourceID != "eoc-1" ||
		r.Status != 201 || r.Patients == nil || r.Patients[0] != "Patient/on" {
		t.Errorf("the record of a staff write through ingest: %+v", r)
	}

	token, nursery := tw.principal(auth.DevClaims{Subject: "nursery-1-system", Scope: "system/*.cruds", Role: auth.RoleFacility,
		Facility: "Organization/nursery-1", FacilityKind: auth.FacilityNursery})
	obs := func(patient string) string {
		return `{"resourceType":"Observation","status":"final","code":{"text":"体温"},"subject":{"reference":"Patient/` + patient + `"}}`
	}
	auditEventTx := `{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"POST","url":"AuditEvent"},` +
		`"resource":{"resourceType":"AuditEvent","type":{"code":"rest"},"recorded":"2026-12-05T09:00:00+09:00",` +
		`"agent":[{"requestor":true}],"source":{"observer":{"display":"x"}}}}]}`
	for _, tc := range []struct {
		name   string
		status int // what both answer
		rest   func() (int, string)
		in     func() error
	}{
		{"CreateOnRoster", 201,
			func() (int, string) { return tw.rest("POST", "/misato/fhir/Observation", token, obs("on")) },
			func() error {
				_, err := tw.in.Create(ctx, tw.req(nursery), "Observation", []byte(obs("on")), "")
				return err
			}},
		{"CreateOffRosterIsForbidden", 403,
			func() (int, string) { return tw.rest("POST", "/misato/fhir/Observation", token, obs("off")) },
			func() error {
				_, err := tw.in.Create(ctx, tw.req(nursery), "Observation", []byte(obs("off")), "")
				return err
			}},
		{"UpdateOffRosterPatientIsForbidden", 403,
			func() (int, string) {
				return tw.rest("PUT", "/misato/fhir/Patient/off", token, `{"resourceType":"Patient","id":"off","birthDate":"2021-05-02"}`)
			},
			func() error {
				_, err := tw.in.Update(ctx, tw.req(nursery), "Patient", "off", []byte(`{"resourceType":"Patient","id":"off","birthDate":"2021-05-02"}`), "", 0)
				return err
			}},
		{"TransactionWritingAuditEventIsForbidden", 403,
			func() (int, string) { return tw.rest("POST", "/misato/fhir", token, auditEventTx) },
			func() error {
				var b fhir.Bundle
				if err := json.Unmarshal([]byte(auditEventTx), &b); err != nil {
					t.Fatal(err)
				}
				_, err := tw.in.Transaction(ctx, tw.req(nursery), b.Entry, nil)
				return err
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := tc.rest()
			if status != tc.status {
				t.Fatalf("REST: %d %s, want %d", status, body, tc.status)
			}
			err := tc.in()
			if got := statusOf(err); tc.status < 300 && err != nil || tc.status >= 300 && got != tc.status {
				t.Fatalf("ingest: %v (status %d), want %d", err, got, tc.status)
			}
			if err != nil && !strings.Contains(body, fhir.AsError(ingest.Error(err)).Issues[0].Diagnostics) {
				t.Errorf("REST answered %s; ingest refused with %v", body, err)
			}
			sameRecord(t, tc.name, last(t, tw.restAudit), last(t, tw.inAudit))
		})
	}
	if r := last(t, tw.inAudit); !strings.Contains(r.Decision, "written by the hub only") || r.Outcome != audit.OutcomeMinorFailure {
		t.Errorf("the record of the refused AuditEvent transaction: %+v", r)
	}
	// Nothing was written for the refused writes: one Observation each way, both on the roster.
	page, err := tw.st.Search(ctx, "misato", mustQuery(t, "Observation", "subject=Patient/off"), store.SearchOptions{})
	if err != nil || len(page.Resources) != 0 {
		t.Errorf("Observations of the child off the roster: %d (%v), want 0", len(page.Resources), err)
	}
	if p, _ := tw.st.Read(ctx, "misato", "Patient", "off"); p.Version != 1 {
		t.Errorf("Patient/off has version %d, want 1 (the refused updates wrote nothing)", p.Version)
	}
}

// TestAuditFailureFailsTheCall: a write whose record cannot be appended is an error.
func TestAuditFailureFailsTheCall(t *testing.T) {
	tw := mustTown(t, store.IntegrityOff)
	_, staff := tw.principal(auth.DevClaims{Subject: "staff-1", Scope: "system/*.cruds", Role: auth.RoleMunicipalStaff})
	in := ingest.New(ingest.Config{Store: tw.st, Validator: conformance.Default(), Audit: failingSink{}})
	_, err := in.Create(context.Background(), tw.req(staff), "Patient", []byte(`{"resourceType":"Patient"}`), "")
	if statusOf(err) != 500 {
		t.Fatalf("create with the audit trail down: %v, want a 500", err)
	}
}

type failingSink struct{}

func (failingSink) Append(context.Context, string, []audit.Record) error {
	return errors.New("disk full")
}

func mustQuery(t *testing.T, typ, raw string) *search.Query {
	t.Helper()
	v, err := url.ParseQuery(raw)
	if err != nil {
		t.Fatal(err)
	}
	q, err := search.Default().ParseQuery(typ, v, search.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return q
}
