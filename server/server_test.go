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
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kodomohub/kodomohub/auth"
	"github.com/kodomohub/kodomohub/conformance"
	"github.com/kodomohub/kodomohub/server"
	"github.com/kodomohub/kodomohub/store"
	"github.com/kodomohub/kodomohub/store/mongo"
	"github.com/kodomohub/kodomohub/store/mongo/mongotest"
	"github.com/kodomohub/kodomohub/store/sqlite"
)

// hub is a server on a real SQLite store with two tenants and dev auth.
type hub struct {
	t     testing.TB
	url   string
	store store.Store
	dev   *auth.Dev
	token map[string]string // tenant → system/*.cruds token
}

func mustHub(tb testing.TB, integrity string, limits server.Limits) *hub {
	tb.Helper()
	return mustHubWith(tb, integrity, func(c *server.Config) { c.Limits = limits })
}

// mustHubWith builds a hub on a fresh SQLite store; configure adjusts the server's Config.
func mustHubWith(tb testing.TB, integrity string, configure func(*server.Config)) *hub {
	tb.Helper()
	st, err := sqlite.Open(tb.TempDir(), sqlite.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return mustHubOn(tb, st, integrity, configure)
}

// backends are the stores a test can run on: the embedded SQLite store and MongoDB (an
// embedded FerretDB, or KODOMOHUB_TEST_MONGO_URI).
var backends = []struct {
	name string
	open func(tb testing.TB) store.Store
}{
	{"SQLite", func(tb testing.TB) store.Store {
		st, err := sqlite.Open(tb.TempDir(), sqlite.Options{})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { st.Close() })
		return st
	}},
	{"MongoDB", func(tb testing.TB) store.Store {
		st, err := mongo.Open(context.Background(), mongotest.URI(tb), mongo.Options{Database: mongotest.DBName()})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { st.Close() })
		return st
	}},
}

// mustHubOn builds a hub on st with the towns misato and kawajima.
func mustHubOn(tb testing.TB, st store.Store, integrity string, configure func(*server.Config)) *hub {
	tb.Helper()
	ctx := context.Background()
	for _, id := range []string{"misato", "kawajima"} {
		if err := st.CreateTenant(ctx, store.Tenant{ID: id, Name: id, ReferentialIntegrity: integrity}); err != nil {
			tb.Fatal(err)
		}
	}
	dev, err := auth.NewDev(ctx, st)
	if err != nil {
		tb.Fatal(err)
	}
	v, err := conformance.NewValidator()
	if err != nil {
		tb.Fatal(err)
	}
	cfg := server.Config{Store: st, Validator: v, Auth: dev, Version: "test", TrustHost: true}
	if configure != nil {
		configure(&cfg)
	}
	srv := server.New(cfg)
	hs := httptest.NewServer(srv.Handler())
	tb.Cleanup(hs.Close)
	h := &hub{t: tb, url: hs.URL, store: st, dev: dev, token: map[string]string{}}
	for _, id := range []string{"misato", "kawajima"} {
		h.token[id] = h.mint(id, "system/*.cruds")
	}
	return h
}

func (h *hub) mint(tenant, scope string) string {
	h.t.Helper()
	tok, err := h.dev.Mint(auth.DevClaims{Tenant: tenant, Subject: "tester", Scope: scope, Role: auth.RoleMunicipalStaff, TTL: time.Hour})
	if err != nil {
		h.t.Fatal(err)
	}
	return tok
}

// response is a received response with its body read.
type response struct {
	*http.Response
	body []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(r.body))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, r.body)
	}
	return m
}

type req struct {
	method, path, body string
	token              string // "" → the tenant's token taken from the path; "-" → none
	header             map[string]string
}

func (h *hub) do(r req) response {
	h.t.Helper()
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	hr, err := http.NewRequest(r.method, h.url+r.path, body)
	if err != nil {
		h.t.Fatal(err)
	}
	if r.body != "" {
		hr.Header.Set("Content-Type", "application/fhir+json")
	}
	tok := r.token
	if tok == "" {
		tenant, _, _ := strings.Cut(strings.TrimPrefix(r.path, "/"), "/")
		tok = h.token[tenant]
	}
	if tok != "-" && tok != "" {
		hr.Header.Set("Authorization", "Bearer "+tok)
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return response{resp, b}
}

func (h *hub) get(path string) response { return h.do(req{method: "GET", path: path}) }
func (h *hub) put(path, body string) response {
	return h.do(req{method: "PUT", path: path, body: body})
}
func (h *hub) post(path, body string) response {
	return h.do(req{method: "POST", path: path, body: body})
}

// wantStatus fails unless r has the status; an error status must come with an OperationOutcome.
func wantStatus(t testing.TB, r response, status int) {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d\n%s", r.Request.Method, r.Request.URL.Path, r.StatusCode, status, r.body)
	}
	if status >= 400 {
		wantOutcome(t, r)
	}
}

func wantOutcome(t testing.TB, r response) map[string]any {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/fhir+json") && !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q, want FHIR JSON", ct)
	}
	m := r.json(t)
	if m["resourceType"] != "OperationOutcome" {
		t.Fatalf("want an OperationOutcome, got %s", r.body)
	}
	issues, _ := m["issue"].([]any)
	if len(issues) == 0 {
		t.Fatalf("OperationOutcome without issues: %s", r.body)
	}
	return m
}

// wantExpression fails unless some issue of the outcome names expr.
func wantExpression(t testing.TB, r response, expr string) {
	t.Helper()
	m := wantOutcome(t, r)
	for _, is := range m["issue"].([]any) {
		exprs, _ := is.(map[string]any)["expression"].([]any)
		for _, e := range exprs {
			if e == expr {
				return
			}
		}
	}
	t.Fatalf("no issue at %s in %s", expr, r.body)
}
