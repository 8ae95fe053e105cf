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
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kodomohub/kodomohub/audit"

	"github.com/kodomohub/kodomohub/auth"
	"github.com/kodomohub/kodomohub/server"
	"github.com/kodomohub/kodomohub/store"
)

// failingAudit is an audit sink that can be switched off.
type failingAudit struct {
	mu   sync.Mutex
	fail bool
	mem  audit.MemSink
}

func (f *failingAudit) Append(ctx context.Context, tenant string, rs []audit.Record) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return errors.New("disk full")
	}
	return f.mem.Append(ctx, tenant, rs)
}

func TestAuditEveryRequestAndFailClosed(t *testing.T) {
	sink := &failingAudit{}
	h := mustHubWith(t, store.IntegrityOff, func(c *server.Config) {
		c.Audit = sink
		c.Guard = &auth.Guard{}
	})
	h.token["misato"] = h.mintWith(auth.DevClaims{Tenant: "misato", Subject: "staff-1", Scope: "user/*.cruds", Role: auth.RoleMunicipalStaff})
	if r := h.put("/misato/fhir/Patient/p1", `{"resourceType":"Patient","id":"p1"}`); r.StatusCode != 201 {
		t.Fatalf("PUT: %s %s", r.Status, r.body)
	}
	if r := h.put("/misato/fhir/Observation/o1", `{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"身長"},"subject":{"reference":"Patient/p1"}}`); r.StatusCode != 201 {
		t.Fatalf("PUT: %s %s", r.Status, r.body)
	}
	r := h.do(req{method: "GET", path: "/misato/fhir/Observation/o1", header: map[string]string{"X-Purpose-Of-Use": "TREAT", "X-Request-Id": "r-1"}})
	if r.StatusCode != 200 {
		t.Fatalf("GET: %s", r.Status)
	}
	if r := h.do(req{method: "GET", path: "/misato/fhir/Patient/p1", token: "-"}); r.StatusCode != 401 {
		t.Fatalf("no token: %s", r.Status)
	}
	if r := h.get("/misato/fhir/metadata"); r.StatusCode != 200 {
		t.Fatalf("metadata: %s", r.Status)
	}
	recs := sink.mem.Records("misato")
	if len(recs) != 4 {
		t.Fatalf("%d audit records, want 4 (two writes, a read, a refused read; metadata is public): %+v", len(recs), recs)
	}
	read := recs[2]
	if read.Action != "R" || read.Interaction != "read" || read.Subject != "staff-1" || read.Role != auth.RoleMunicipalStaff ||
		read.Purpose != "TREAT" || read.RequestID != "r-1" || read.ResourceType != "Observation" || read.ResourceID != "o1" ||
		len(read.Patients) != 1 || read.Patients[0] != "Patient/p1" || read.Outcome != audit.OutcomeSuccess || read.Decision == "" {
		t.Errorf("read record %+v", read)
	}
	if denied := recs[3]; denied.Outcome != audit.OutcomeMinorFailure || denied.Status != 401 || denied.Subject != "" {
		t.Errorf("refused record %+v", denied)
	}
	if err := audit.VerifyChain(audit.Each(recs)); err != nil {
		t.Fatal(err)
	}

	// When the record cannot be written, nothing is answered but a 500: no data leaves.
	sink.mu.Lock()
	sink.fail = true
	sink.mu.Unlock()
	r = h.get("/misato/fhir/Observation/o1")
	if r.StatusCode != 500 || strings.Contains(string(r.body), "身長") || r.Header.Get("ETag") != "" {
		t.Fatalf("read with the audit trail down: %s %s (ETag %q)", r.Status, r.body, r.Header.Get("ETag"))
	}
	r = h.do(req{method: "DELETE", path: "/misato/fhir/Observation/o1", header: map[string]string{"Prefer": "return=minimal"}})
	if r.StatusCode != 500 {
		t.Fatalf("delete with the audit trail down: %s", r.Status)
	}
}

func TestAuditTrailServedAsAuditEvent(t *testing.T) {
	h := mustHubWith(t, store.IntegrityOff, func(c *server.Config) {
		c.Guard = &auth.Guard{}
		c.Audit = audit.StoreSink{Log: c.Store}
	})
	h.token["misato"] = h.mintWith(auth.DevClaims{Tenant: "misato", Subject: "staff-1", Scope: "user/*.cruds", Role: auth.RoleMunicipalStaff})
	h.put("/misato/fhir/Patient/p1", `{"resourceType":"Patient","id":"p1"}`)
	h.put("/misato/fhir/Patient/p2", `{"resourceType":"Patient","id":"p2"}`)
	h.get("/misato/fhir/Patient/p1")
	h.get("/misato/fhir/Patient?_id=p2")
	auditor := h.mintWith(auth.DevClaims{Tenant: "misato", Subject: "auditor-1", Scope: "user/AuditEvent.rs", Role: auth.RoleAuditor})
	search := func(q string) []string {
		t.Helper()
		r := h.do(req{method: "GET", path: "/misato/fhir/AuditEvent" + q, token: auditor})
		if r.StatusCode != 200 {
			t.Fatalf("AuditEvent%s: %s %s", q, r.Status, r.body)
		}
		var ids []string
		entries, _ := r.json(t)["entry"].([]any)
		for _, e := range entries {
			ids = append(ids, e.(map[string]any)["resource"].(map[string]any)["id"].(string))
		}
		return ids
	}
	if got := strings.Join(search("?patient=Patient/p1"), ","); got != "3,1" {
		t.Errorf("accesses to p1: %s, want 3,1 (newest first)", got)
	}
	if got := strings.Join(search("?action=C"), ","); got != "2,1" {
		t.Errorf("creates: %s", got)
	}
	if got := strings.Join(search("?patient=p2&entity-type=Patient"), ","); got != "4,2" {
		t.Errorf("accesses to p2: %s", got)
	}
	// The auditor's own searches are audited too (5, 6, 7 so far; a search is recorded once
	// answered): the newest comes first.
	if got := search("?_count=2"); len(got) != 2 || got[0] != "7" || got[1] != "6" {
		t.Errorf("first page: %v, want [7 6]", got)
	}
	if got := search("?agent=staff-1"); len(got) != 4 {
		t.Errorf("by agent: %v", got)
	}
	if got := search("?date=ge2000-01-01&date=le2999"); len(got) != 9 {
		t.Errorf("by date: %v, want 9 records", got)
	}
	if got := search("?date=lt2000-01-01"); len(got) != 0 {
		t.Errorf("before 2000: %v", got)
	}
	r := h.do(req{method: "GET", path: "/misato/fhir/AuditEvent/3", token: auditor})
	if ev := r.json(t); r.StatusCode != 200 || ev["action"] != "R" || ev["id"] != "3" {
		t.Errorf("AuditEvent/3: %s %s", r.Status, r.body)
	}
	if r := h.do(req{method: "GET", path: "/misato/fhir/AuditEvent?code=x", token: auditor}); r.StatusCode != 400 {
		t.Errorf("unsupported parameter: %s", r.Status)
	}
	if r := h.do(req{method: "DELETE", path: "/misato/fhir/AuditEvent/3"}); r.StatusCode != 405 {
		t.Errorf("DELETE of an audit record: %s", r.Status)
	}
	if r := h.do(req{method: "GET", path: "/misato/fhir/Patient/p1", token: auditor}); r.StatusCode != 403 {
		t.Errorf("auditor reading a child: %s", r.Status)
	}
	if _, err := audit.VerifyLog(context.Background(), h.store, "misato"); err != nil {
		t.Fatal(err)
	}
}

func TestPatientScopeSeesOnlyItsPatient(t *testing.T) {
	h := mustHubWith(t, store.IntegrityOff, nil)
	for _, p := range []string{"p1", "p2"} {
		h.put("/misato/fhir/Patient/"+p, `{"resourceType":"Patient","id":"`+p+`"}`)
		h.put("/misato/fhir/Observation/o-"+p, `{"resourceType":"Observation","id":"o-`+p+`","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/`+p+`"}}`)
	}
	tok := h.mintWith(auth.DevClaims{Tenant: "misato", Subject: "parent", Scope: "patient/*.rs", Patient: "p1", Role: auth.RoleVendorSystem})
	if r := h.do(req{method: "GET", path: "/misato/fhir/Observation/o-p1", token: tok}); r.StatusCode != 200 {
		t.Errorf("own observation: %s", r.Status)
	}
	if r := h.do(req{method: "GET", path: "/misato/fhir/Observation/o-p2", token: tok}); r.StatusCode != 404 {
		t.Errorf("another patient's observation: %s", r.Status)
	}
	r := h.do(req{method: "GET", path: "/misato/fhir/Observation?_total=accurate", token: tok})
	if body := string(r.body); r.StatusCode != 200 || !strings.Contains(body, "o-p1") || strings.Contains(body, "o-p2") || strings.Contains(body, `"total"`) {
		t.Errorf("search: %s %s", r.Status, body)
	}
	none := h.mintWith(auth.DevClaims{Tenant: "misato", Subject: "x", Scope: "patient/*.rs", Role: auth.RoleVendorSystem})
	if r := h.do(req{method: "GET", path: "/misato/fhir/Observation/o-p1", token: none}); r.StatusCode != 403 {
		t.Errorf("patient scope without a patient in context: %s", r.Status)
	}
	restricted := h.mintWith(auth.DevClaims{Tenant: "misato", Subject: "y", Scope: "user/Observation.rs?subject=Patient/p2", Role: auth.RoleMunicipalStaff})
	if r := h.do(req{method: "GET", path: "/misato/fhir/Observation/o-p2", token: restricted}); r.StatusCode != 200 {
		t.Errorf("restricted scope, matching: %s", r.Status)
	}
	if r := h.do(req{method: "GET", path: "/misato/fhir/Observation/o-p1", token: restricted}); r.StatusCode != 404 {
		t.Errorf("restricted scope, not matching: %s", r.Status)
	}
}

func (h *hub) mintWith(c auth.DevClaims) string {
	h.t.Helper()
	if c.TTL == 0 {
		c.TTL = time.Hour
	}
	tok, err := h.dev.Mint(c)
	if err != nil {
		h.t.Fatal(err)
	}
	return tok
}

func TestAdminClientsAPI(t *testing.T) {
	h := mustHubWith(t, store.IntegrityOff, func(c *server.Config) {
		c.Guard = &auth.Guard{}
		c.Audit = audit.StoreSink{Log: c.Store}
	})
	admin := h.mintWith(auth.DevClaims{Tenant: "misato", Subject: "admin-1", Scope: "user/*.cruds", Role: auth.RoleMunicipalAdmin})
	orgAdmin := h.mintWith(auth.DevClaims{Tenant: "misato", Subject: "admin-2", Scope: "user/Organization.rs", Role: auth.RoleMunicipalAdmin})
	staff := h.mintWith(auth.DevClaims{Tenant: "misato", Subject: "staff-1", Scope: "user/*.cruds", Role: auth.RoleMunicipalStaff})
	otherAdmin := h.mintWith(auth.DevClaims{Tenant: "kawajima", Subject: "admin-k", Scope: "user/*.rs", Role: auth.RoleMunicipalAdmin})
	body := `{"client_id":"nursery-sys","name":"みさと保育園 園児台帳","jwks_uri":"http://127.0.0.1:9/jwks","scope":"system/Observation.cruds","facility":"Organization/n1","facility_kind":"nursery"}`
	post := func(tok string) response {
		return h.do(req{method: "POST", path: "/misato/admin/clients", body: body, token: tok, header: map[string]string{"Content-Type": "application/json"}})
	}
	if r := post(staff); r.StatusCode != 403 {
		t.Errorf("staff registering a client: %s", r.Status)
	}
	if r := h.do(req{method: "POST", path: "/kawajima/admin/clients", body: body, token: admin}); r.StatusCode != 401 {
		t.Errorf("misato's admin on kawajima: %s", r.Status)
	}
	if r := post(otherAdmin); r.StatusCode != 401 {
		t.Errorf("kawajima's admin on misato: %s", r.Status)
	}
	// An admin grants only what it holds: not scopes beyond its own, not a role holding labels
	// it does not hold (a child guidance centre reads abuse reports; a municipal admin does not).
	cgc := `{"client_id":"jisou","jwks_uri":"http://127.0.0.1:9/jwks","scope":"system/*.cruds","facility":"Organization/jisou","facility_kind":"child-guidance-centre"}`
	for _, c := range []struct{ tok, body, want string }{
		{orgAdmin, cgc, "beyond the admin's own"},
		{orgAdmin, body, "beyond the admin's own"},
		{admin, cgc, "holds the label yotaikyo-case"},
	} {
		r := h.do(req{method: "POST", path: "/misato/admin/clients", body: c.body, token: c.tok, header: map[string]string{"Content-Type": "application/json"}})
		if r.StatusCode != 403 || !strings.Contains(string(r.body), c.want) {
			t.Errorf("escalation %s: %s %s", c.body, r.Status, r.body)
		}
	}
	if _, err := (auth.StoreClients{Records: h.store}).Client(context.Background(), "misato", "jisou"); err == nil {
		t.Error("a refused registration was stored")
	}
	r := post(admin)
	if r.StatusCode != 201 || r.json(t)["role"] != auth.RoleFacility {
		t.Fatalf("register: %s %s", r.Status, r.body)
	}
	if r := post(admin); r.StatusCode != 409 {
		t.Errorf("registering the id again: %s", r.Status)
	}
	if r := h.do(req{method: "POST", path: "/misato/admin/clients", token: admin, body: `{"scope":"user/*.rs","jwks_uri":"ftp://x"}`}); r.StatusCode != 400 ||
		!strings.Contains(string(r.body), "system/") || !strings.Contains(string(r.body), "jwks") {
		t.Errorf("bad registration: %s %s", r.Status, r.body)
	}
	cl, err := auth.StoreClients{Records: h.store}.Client(context.Background(), "misato", "nursery-sys")
	if err != nil || cl.Facility != "Organization/n1" || cl.Scopes.String() != "system/Observation.cruds" {
		t.Fatalf("stored client %+v, %v", cl, err)
	}
	if r := h.do(req{method: "DELETE", path: "/misato/admin/clients/nursery-sys", token: admin}); r.StatusCode != 200 {
		t.Errorf("disable: %s", r.Status)
	}
	r = h.do(req{method: "GET", path: "/misato/admin/clients", token: admin})
	if r.StatusCode != 200 || !strings.Contains(string(r.body), `"disabled":true`) {
		t.Errorf("list: %s %s", r.Status, r.body)
	}
}

func TestBreakGlassNeedsReasonAndIsRecorded(t *testing.T) {
	sink := &failingAudit{}
	h := mustHubWith(t, store.IntegrityOff, func(c *server.Config) {
		c.Guard = &auth.Guard{}
		c.Audit = sink
	})
	staff := h.mintWith(auth.DevClaims{Tenant: "misato", Subject: "staff-1", Scope: "user/*.cruds", Role: auth.RoleMunicipalStaff})
	admin := h.mintWith(auth.DevClaims{Tenant: "misato", Subject: "admin-1", Scope: "user/*.cruds", Role: auth.RoleMunicipalAdmin})
	// A 要対協 case record: staff hold the label, the admin role does not.
	body := `{"resourceType":"Basic","id":"case-1","meta":{"security":[{"system":"` + auth.SecurityCategorySystem + `","code":"yotaikyo-case"}]},"code":{"text":"要対協ケース"},"subject":{"reference":"Patient/p1"}}`
	if r := h.do(req{method: "PUT", path: "/misato/fhir/Basic/case-1", body: body, token: staff}); r.StatusCode != 201 {
		t.Fatalf("staff writing a case record: %s %s", r.Status, r.body)
	}
	if r := h.do(req{method: "GET", path: "/misato/fhir/Basic/case-1", token: admin}); r.StatusCode != 404 {
		t.Errorf("admin without break-glass: %s", r.Status)
	}
	if r := h.do(req{method: "GET", path: "/misato/fhir/Basic/case-1", token: admin, header: map[string]string{"X-Break-Glass-Reason": "   "}}); r.StatusCode != 404 {
		t.Errorf("break-glass without a reason: %s", r.Status)
	}
	r := h.do(req{method: "GET", path: "/misato/fhir/Basic/case-1", token: admin, header: map[string]string{"X-Break-Glass-Reason": "夜間の緊急安否確認"}})
	if r.StatusCode != 200 {
		t.Fatalf("break-glass with a reason: %s %s", r.Status, r.body)
	}
	recs := sink.mem.Records("misato")
	last := recs[len(recs)-1]
	if last.BreakGlass != "夜間の緊急安否確認" || !strings.Contains(last.Decision, "break-glass") || last.Outcome != audit.OutcomeSuccess {
		t.Errorf("audit record of the break-glass read: %+v", last)
	}
	if ev := string(last.AuditEvent("x")); !strings.Contains(ev, `"BTG"`) {
		t.Errorf("AuditEvent of a break-glass access has no purposeOfUse BTG: %s", ev)
	}
	m := h.get("/metrics")
	if !strings.Contains(string(m.body), "kodomohub_break_glass_total 1") {
		t.Errorf("break-glass metric not raised")
	}
}

func TestMetadataAndSmartConfigurationDescribeAuth(t *testing.T) {
	h := mustHubWith(t, store.IntegrityOff, func(c *server.Config) {
		tokens, err := auth.NewTokenService(context.Background(), c.Store, auth.StoreClients{Records: c.Store},
			auth.StoreReplay{Records: c.Store}, "https://hub.example.lg.jp")
		if err != nil {
			t.Fatal(err)
		}
		c.Tokens = tokens
	})
	cs := h.do(req{method: "GET", path: "/misato/fhir/metadata", token: "-"}).json(t)
	rest := cs["rest"].([]any)[0].(map[string]any)
	sec, _ := json.Marshal(rest["security"])
	if !strings.Contains(string(sec), "SMART-on-FHIR") || !strings.Contains(string(sec), "https://hub.example.lg.jp/misato/auth/token") {
		t.Errorf("security %s", sec)
	}
	for _, r := range rest["resource"].([]any) {
		r := r.(map[string]any)
		if r["type"] != "AuditEvent" {
			continue
		}
		b, _ := json.Marshal(r["interaction"])
		if got := string(b); got != `[{"code":"read"},{"code":"search-type"}]` {
			t.Errorf("AuditEvent interactions %s", got)
		}
		if n := len(r["searchParam"].([]any)); n != 7 {
			t.Errorf("AuditEvent has %d search parameters, want the 7 the trail answers", n)
		}
	}
	r := h.do(req{method: "GET", path: "/misato/fhir/.well-known/smart-configuration", token: "-"})
	doc := r.json(t)
	if r.StatusCode != 200 || doc["token_endpoint"] != "https://hub.example.lg.jp/misato/auth/token" ||
		doc["jwks_uri"] != "https://hub.example.lg.jp/misato/auth/jwks" {
		t.Errorf("smart-configuration: %s %s", r.Status, r.body)
	}
	if r := h.do(req{method: "GET", path: "/misato/auth/jwks", token: "-"}); r.StatusCode != 200 || !strings.Contains(string(r.body), `"keys"`) {
		t.Errorf("jwks: %s %s", r.Status, r.body)
	}
}

// TestTownsCannotBeProbed: a town that does not exist answers every request without a valid
// token exactly as one that does: the same status, body and headers that matter.
func TestTownsCannotBeProbed(t *testing.T) {
	h := mustHubWith(t, store.IntegrityOff, func(c *server.Config) { c.Guard = &auth.Guard{} })
	other := h.token["kawajima"]
	for _, c := range []struct{ name, method, path, token, body string }{
		{"NoToken", "GET", "/fhir/Patient/p1", "-", ""},
		{"Garbage", "GET", "/fhir/Patient?name=x", "not-a-jwt", ""},
		{"OtherTownsToken", "GET", "/fhir/Observation", other, ""},
		{"Write", "PUT", "/fhir/Patient/p1", "-", `{"resourceType":"Patient","id":"p1"}`},
		{"AuditTrail", "GET", "/fhir/AuditEvent", "-", ""},
		{"Admin", "GET", "/admin/clients", "-", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			known := h.do(req{method: c.method, path: "/misato" + c.path, token: c.token, body: c.body})
			unknown := h.do(req{method: c.method, path: "/nowhere" + c.path, token: c.token, body: c.body})
			if known.StatusCode != 401 || unknown.StatusCode != known.StatusCode || string(unknown.body) != string(known.body) ||
				unknown.Header.Get("WWW-Authenticate") != known.Header.Get("WWW-Authenticate") {
				t.Fatalf("known town: %s %s\nunknown town: %s %s", known.Status, known.body, unknown.Status, unknown.body)
			}
		})
	}
	t.Run("Metadata", func(t *testing.T) {
		known := h.do(req{method: "GET", path: "/misato/fhir/metadata", token: "-"})
		unknown := h.do(req{method: "GET", path: "/nowhere/fhir/metadata", token: "-"})
		norm := func(b []byte) string {
			var m map[string]any
			json.Unmarshal(b, &m)
			delete(m, "date")
			out, _ := json.Marshal(m)
			return strings.ReplaceAll(string(out), "nowhere", "misato")
		}
		if known.StatusCode != 200 || unknown.StatusCode != 200 || norm(known.body) != norm(unknown.body) {
			t.Fatalf("metadata differs: %s / %s", known.Status, unknown.Status)
		}
	})
}

// TestRateLimitsCountWhatCosts: failed authentications are limited per address (for towns
// that exist and towns that do not), and every entry of a batch counts as a request.
func TestRateLimitsCountWhatCosts(t *testing.T) {
	h := mustHubWith(t, store.IntegrityOff, func(c *server.Config) {
		c.Guard = &auth.Guard{}
		c.FailedAuthRate = auth.Rate{PerSecond: 0.01, Burst: 3}
		c.RateLimit = auth.Rate{PerSecond: 0.01, Burst: 5}
	})
	t.Run("FailedAuthentications", func(t *testing.T) {
		var got []int
		for i := range 5 {
			town := []string{"misato", "nowhere"}[i%2]
			got = append(got, h.do(req{method: "GET", path: "/" + town + "/fhir/Patient", token: "forged"}).StatusCode)
		}
		if fmt.Sprint(got) != "[401 401 401 429 429]" {
			t.Fatalf("statuses %v, want three 401s then 429s", got)
		}
		// A valid token still works from that address: only failures are limited.
		if r := h.get("/misato/fhir/Patient"); r.StatusCode != 200 {
			t.Fatalf("valid token after failures: %s", r.Status)
		}
	})
	t.Run("BatchEntries", func(t *testing.T) {
		entries := strings.Repeat(`{"request":{"method":"GET","url":"Patient?name=x"}},`, 5)
		batch := `{"resourceType":"Bundle","type":"batch","entry":[` + strings.TrimSuffix(entries, ",") + `]}`
		tok := h.mintWith(auth.DevClaims{Tenant: "misato", Subject: "batcher", Scope: "user/*.rs", Role: auth.RoleMunicipalStaff})
		if r := h.do(req{method: "POST", path: "/misato/fhir", body: batch, token: tok}); r.StatusCode != 200 {
			t.Fatalf("first batch (5 entries, burst 5): %s %s", r.Status, r.body)
		}
		r := h.do(req{method: "GET", path: "/misato/fhir/Patient", token: tok})
		if r.StatusCode != 429 || r.Header.Get("Retry-After") == "" {
			t.Fatalf("a request after a batch that used up the rate: %s", r.Status)
		}
	})
}

// TestCostlyQueriesAreRefused: a URL beyond the limit is a 414, a read beyond its time budget
// a 400 too-costly, both OperationOutcomes, and neither costs anyone else anything.
func TestCostlyQueriesAreRefused(t *testing.T) {
	h := mustHubWith(t, store.IntegrityOff, func(c *server.Config) {
		c.Guard = &auth.Guard{}
		c.Limits.MaxURLBytes = 2048
	})
	long := h.get("/misato/fhir/Patient?name=" + strings.Repeat("あ", 1000))
	if long.StatusCode != http.StatusRequestURITooLong || !strings.Contains(string(long.body), "too-costly") {
		t.Fatalf("long URL: %s %s", long.Status, long.body)
	}
	slow := mustHubWith(t, store.IntegrityOff, func(c *server.Config) {
		c.Guard = &auth.Guard{}
		c.Limits.ReadTimeout = time.Nanosecond
	})
	r := slow.get("/misato/fhir/Patient?name=x")
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(string(r.body), "too-costly") {
		t.Fatalf("search beyond its budget: %s %s", r.Status, r.body)
	}
	if w := slow.put("/misato/fhir/Patient/p1", `{"resourceType":"Patient","id":"p1"}`); w.StatusCode != http.StatusCreated {
		t.Fatalf("writes have no read budget: %s %s", w.Status, w.body)
	}
}
