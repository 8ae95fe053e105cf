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

package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kodomohub/kodomohub/audit"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/spf13/pflag"

	"github.com/kodomohub/kodomohub/auth"
	"github.com/kodomohub/kodomohub/e2e/oidc"
	"github.com/kodomohub/kodomohub/store"
	"github.com/kodomohub/kodomohub/store/mongo"
	"github.com/kodomohub/kodomohub/store/mongo/mongotest"
	"github.com/kodomohub/kodomohub/store/sqlite"
)

// hub is a `serve --auth oidc` running in the test process on a SQLite data dir, trusting a
// real oidc-provider for the towns misato and kawajima.
type hub struct {
	base string
	dir  string
	// storeArgs name the hub's store to the admin commands (--data DIR or --mongo-uri …).
	storeArgs []string
	st        store.Store
	idp       *oidc.Provider
}

func startHub(t *testing.T, extraArgs ...string) *hub {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return startHubOn(t, st, []string{"--data", dir}, extraArgs...)
}

// startHubOnMongo is startHub on a MongoDB store (an embedded FerretDB).
func startHubOnMongo(t *testing.T, extraArgs ...string) *hub {
	t.Helper()
	uri, db := mongotest.URI(t), mongotest.DBName()
	st, err := mongo.Open(context.Background(), uri, mongo.Options{Database: db})
	if err != nil {
		t.Fatal(err)
	}
	return startHubOn(t, st, []string{"--mongo-uri", uri, "--mongo-db", db}, extraArgs...)
}

func startHubOn(t *testing.T, st store.Store, storeArgs []string, extraArgs ...string) *hub {
	t.Helper()
	idp := oidc.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	dir := ""
	if storeArgs[0] == "--data" {
		dir = storeArgs[1]
	}
	for _, id := range []string{"misato", "kawajima"} {
		if err := st.CreateTenant(ctx, store.Tenant{ID: id, Name: id, ReferentialIntegrity: store.IntegrityOff}); err != nil {
			t.Fatal(err)
		}
	}
	addr := freeAddr(t)
	base := "http://" + addr
	cfg := fmt.Sprintf(`listen: %s
auth: oidc
oidc:
  tenants:
    misato:
      - {issuer: %q, audience: %q, roleClaim: role, facilityClaim: facility, tenantClaim: tenant}
    kawajima:
      - {issuer: %q, audience: %q, roleClaim: role, facilityClaim: facility, tenantClaim: tenant}
`, addr, idp.Issuer, base+"/misato/fhir", idp.Issuer, base+"/kawajima/fhir")
	cfgPath := filepath.Join(t.TempDir(), "kodomohub.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var f serveFlags
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	f.register(fs, "127.0.0.1:8080")
	if err := fs.Parse(append(append([]string{"--config", cfgPath}, storeArgs...), extraArgs...)); err != nil {
		t.Fatal(err)
	}
	if err := f.merge(fs); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- serve(ctx, st, &f, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard, func(string) { close(ready) })
	}()
	select {
	case <-ready:
	case err := <-errc:
		t.Fatalf("serve: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not start")
	}
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("serve ended with %v", err)
		}
		st.Close()
	})
	return &hub{base: base, dir: dir, storeArgs: storeArgs, st: st, idp: idp}
}

// token gets a token of an oidc-provider client for tenant's FHIR base, with the scopes the
// client is registered for (oidc.DefaultClients).
func (h *hub) token(t *testing.T, client, tenant string) string {
	t.Helper()
	scope := "user/*.cruds"
	for _, c := range oidc.DefaultClients {
		if c.ID == client && !strings.Contains(c.Scope, scope) {
			scope = c.Scope
		}
	}
	tok, err := h.idp.Token(context.Background(), client, scope, h.base+"/"+tenant+"/fhir")
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type response struct {
	status int
	header http.Header
	body   map[string]any
}

// do sends a request with the test case's request id (the audit records carry it).
func (h *hub) do(t *testing.T, reqID, method, path, tok, body string, header ...string) response {
	t.Helper()
	req, _ := http.NewRequest(method, h.base+path, strings.NewReader(body))
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	req.Header.Set("X-Request-Id", reqID)
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Host" {
			req.Host = header[i+1]
			continue
		}
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return response{status: resp.StatusCode, header: resp.Header, body: m}
}

// ids lists Type/id of the entries of a Bundle.
func ids(b map[string]any) []string {
	var out []string
	entries, _ := b["entry"].([]any)
	for _, e := range entries {
		r, _ := e.(map[string]any)["resource"].(map[string]any)
		if r != nil {
			out = append(out, fmt.Sprint(r["resourceType"], "/", r["id"]))
		}
	}
	return out
}

// backendClient is a registered SMART Backend Services client with its private key.
type backendClient struct {
	id  string
	key jwk.Key
}

func (h *hub) registerClient(t *testing.T, tenant, scope, facility string, extra ...string) backendClient {
	t.Helper()
	raw, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	key, b := keyWithJWKS(raw)
	f := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(f, b, 0o600); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	args := append(append([]string{"client", "create"}, h.storeArgs...), append([]string{"--tenant", tenant, "--jwks-file", f, "--scope", scope}, extra...)...)
	if facility != "" {
		args = append(args, "--facility", facility, "--facility-kind", "hospital")
	}
	if err := run(context.Background(), args, &out, io.Discard); err != nil {
		t.Fatalf("client create: %v", err)
	}
	id, ok := strings.CutPrefix(lastLine(out.String()), "client_id: ")
	if !ok {
		t.Fatalf("client create printed %q", out.String())
	}
	return backendClient{id: id, key: key}
}

// keyWithJWKS returns the private key raw as a JWK with kid "k1", and the JWK Set of its
// public half.
func keyWithJWKS(raw any) (jwk.Key, []byte) {
	key, _ := jwk.FromRaw(raw)
	_ = key.Set(jwk.KeyIDKey, "k1")
	pub, _ := key.PublicKey()
	set := jwk.NewSet()
	_ = set.AddKey(pub)
	b, _ := json.Marshal(set)
	return key, b
}

// assertion signs a client assertion; mod changes claims, hdr the headers.
func (c backendClient) assertion(t *testing.T, aud string, key jwk.Key, alg jwa.SignatureAlgorithm, mod func(map[string]any), hdr func(jws.Headers)) string {
	t.Helper()
	claims := map[string]any{"iss": c.id, "sub": c.id, "aud": aud, "exp": time.Now().Add(4 * time.Minute).Unix(),
		"jti": fmt.Sprintf("%x", randBytes(12))}
	if mod != nil {
		mod(claims)
	}
	payload, _ := json.Marshal(claims)
	h := jws.NewHeaders()
	_ = h.Set(jws.KeyIDKey, "k1")
	if hdr != nil {
		hdr(h)
	}
	signed, err := jws.Sign(payload, jws.WithKey(alg, key, jws.WithProtectedHeaders(h)))
	if err != nil {
		t.Fatal(err)
	}
	return string(signed)
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// tokenRequest posts a client_credentials request; it returns the status and the token.
func (h *hub) tokenRequest(t *testing.T, reqID, tenant, assertion, scope string) (int, string) {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {scope},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion}}
	req, _ := http.NewRequest("POST", h.base+"/"+tenant+"/auth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Request-Id", reqID)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tr)
	return resp.StatusCode, tr.AccessToken
}

// unsigned returns a JWT with alg none.
func unsigned(claims map[string]any) string {
	enc := base64.RawURLEncoding.EncodeToString
	h, _ := json.Marshal(map[string]string{"alg": "none", "typ": "JWT"})
	p, _ := json.Marshal(claims)
	return enc(h) + "." + enc(p) + "."
}

// hs256 returns a JWT signed with HMAC-SHA256 under key (the algorithm-confusion attack:
// the key is the provider's public key document).
func hs256(claims map[string]any, key []byte) string {
	enc := base64.RawURLEncoding.EncodeToString
	h, _ := json.Marshal(map[string]string{"alg": "HS256", "typ": "JWT"})
	p, _ := json.Marshal(claims)
	in := enc(h) + "." + enc(p)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(in))
	return in + "." + enc(m.Sum(nil))
}

// TestAttackMatrix runs attacks on a hub with two towns through every path the issue names:
// cross-tenant reads, scope escalation, a facility reaching off its roster, forged, replayed,
// expired and misdirected tokens. Every one must be denied (or its data withheld), and every
// one must leave an audit record in the town it was aimed at.
func TestAttackMatrix(t *testing.T) {
	t.Run("SQLite", func(t *testing.T) { attackMatrix(t, startHub(t)) })
	t.Run("MongoDB", func(t *testing.T) { attackMatrix(t, startHubOnMongo(t)) })
}

func attackMatrix(t *testing.T, h *hub) {
	ctx := context.Background()
	staff := h.token(t, "staff-misato", "misato")
	staffK := h.token(t, "staff-kawajima", "kawajima")
	auditor := h.token(t, "auditor-misato", "misato")
	nursery := h.token(t, "nursery-misato", "misato")

	// misato: p1 on nursery-1's roster, p2 not; o3 is an abuse report about p1.
	// kawajima: k1 with identifier k-ident.
	setup := []struct{ tenant, tok, path, body string }{
		{"misato", staff, "/misato/fhir/Organization/nursery-1", `{"resourceType":"Organization","id":"nursery-1","name":"みさと保育園"}`},
		{"misato", staff, "/misato/fhir/Patient/p1", `{"resourceType":"Patient","id":"p1","identifier":[{"system":"urn:misato","value":"m-1"}],"name":[{"family":"山田"}]}`},
		{"misato", staff, "/misato/fhir/Patient/p2", `{"resourceType":"Patient","id":"p2","name":[{"family":"佐藤"}]}`},
		{"misato", staff, "/misato/fhir/EpisodeOfCare/e1", `{"resourceType":"EpisodeOfCare","id":"e1","status":"active","patient":{"reference":"Patient/p1"},"managingOrganization":{"reference":"Organization/nursery-1"},"period":{"start":"2024-04-01"}}`},
		{"misato", staff, "/misato/fhir/Observation/o1", `{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"体重"},"subject":{"reference":"Patient/p1"}}`},
		{"misato", staff, "/misato/fhir/Observation/o2", `{"resourceType":"Observation","id":"o2","status":"final","code":{"text":"体重"},"subject":{"reference":"Patient/p2"}}`},
		{"misato", staff, "/misato/fhir/Observation/o3", `{"resourceType":"Observation","id":"o3","meta":{"security":[{"system":"https://kodomohub.jp/fhir/CodeSystem/security-category","code":"abuse-report"}]},"status":"final","code":{"text":"通告"},"subject":{"reference":"Patient/p1"}}`},
		{"kawajima", staffK, "/kawajima/fhir/Patient/k1", `{"resourceType":"Patient","id":"k1","identifier":[{"system":"urn:kawajima","value":"k-ident"}],"name":[{"family":"川島"}]}`},
		{"kawajima", staffK, "/kawajima/fhir/Observation/ko1", `{"resourceType":"Observation","id":"ko1","status":"final","code":{"text":"体重"},"subject":{"reference":"Patient/k1"}}`},
	}
	for _, s := range setup {
		if r := h.do(t, "setup", "PUT", s.path, s.tok, s.body); r.status != http.StatusCreated {
			t.Fatalf("setup %s: %d %v", s.path, r.status, r.body)
		}
	}

	// Backend services clients, registered with the CLI while the server runs.
	hospital := h.registerClient(t, "misato", "system/Observation.rs", "Organization/hospital-1")
	limited := h.registerClient(t, "misato", "system/Organization.rs", "", "--rate-limit", "1")
	tokenURL := h.base + "/misato/auth/token"
	_, hospitalTok := h.tokenRequest(t, "setup", "misato", hospital.assertion(t, tokenURL, hospital.key, jwa.RS384, nil, nil), "system/Observation.rs")
	// A facility client that may read the audit trail, and a vendor that may only update.
	auditReader := h.registerClient(t, "misato", "system/Observation.rs system/AuditEvent.rs", "Organization/hospital-1")
	_, auditReaderTok := h.tokenRequest(t, "setup", "misato", auditReader.assertion(t, tokenURL, auditReader.key, jwa.RS384, nil, nil), "system/Observation.rs system/AuditEvent.rs")
	updater := h.registerClient(t, "misato", "system/Observation.u", "")
	_, updaterTok := h.tokenRequest(t, "setup", "misato", updater.assertion(t, tokenURL, updater.key, jwa.RS384, nil, nil), "system/Observation.u")
	if hospitalTok == "" || auditReaderTok == "" || updaterTok == "" {
		t.Fatal("the registered hospital client got no token")
	}
	// An expired hub token: minted by a token service on the same data with a clock an hour back.
	past := time.Now().Add(-time.Hour)
	oldSvc, err := auth.NewTokenService(ctx, h.st, auth.StoreClients{Records: h.st}, &auth.MemReplayCache{}, h.base)
	if err != nil {
		t.Fatal(err)
	}
	oldSvc.Now = func() time.Time { return past }
	oldForm := url.Values{"grant_type": {"client_credentials"}, "scope": {"system/Observation.rs"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion": {hospital.assertion(t, tokenURL, hospital.key, jwa.RS384, func(c map[string]any) {
			c["exp"] = past.Add(4 * time.Minute).Unix()
		}, nil)}}
	oldReq := httptest.NewRequest("POST", tokenURL, strings.NewReader(oldForm.Encode()))
	oldReq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	old, err := oldSvc.Token(oldReq, "misato")
	if err != nil {
		t.Fatalf("minting the expired token: %v", err)
	}
	expired := old.AccessToken

	// An attacker's own key, published at an URL the attacker controls (forged jku).
	attackerRaw, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	attackerKey, attackerJWKS := keyWithJWKS(attackerRaw)
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(attackerJWKS) }))
	defer evil.Close()
	jku := func(hd jws.Headers) { _ = hd.Set(jws.JWKSetURLKey, evil.URL) }
	staffClaims := map[string]any{"iss": h.idp.Issuer, "sub": "mallory", "aud": h.base + "/misato/fhir", "tenant": "misato",
		"role": "municipal-staff", "scope": "user/*.cruds", "exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix()}
	forgedJKU := func() string {
		payload, _ := json.Marshal(staffClaims)
		hd := jws.NewHeaders()
		_ = hd.Set(jws.KeyIDKey, "k1")
		jku(hd)
		signed, err := jws.Sign(payload, jws.WithKey(jwa.ES384, attackerKey, jws.WithProtectedHeaders(hd)))
		if err != nil {
			t.Fatal(err)
		}
		return string(signed)
	}()
	idpJWKS := func() []byte {
		resp, err := http.Get(h.idp.Issuer + "/jwks")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return b
	}()
	replayed := hospital.assertion(t, tokenURL, hospital.key, jwa.RS384, nil, nil)
	if st, _ := h.tokenRequest(t, "setup", "misato", replayed, "system/Observation.rs"); st != http.StatusOK {
		t.Fatalf("first use of the assertion: %d", st)
	}

	type attack struct {
		name   string
		tenant string // the town attacked: its audit trail must hold the record
		run    func(id string) (denied bool, detail string)
	}
	status := func(want int, method, path, tok, body string, hdr ...string) func(string) (bool, string) {
		return func(id string) (bool, string) {
			r := h.do(t, id, method, path, tok, body, hdr...)
			return r.status == want, fmt.Sprintf("status %d, want %d: %v", r.status, want, r.body)
		}
	}
	withheld := func(method, path, tok string, forbidden ...string) func(string) (bool, string) {
		return func(id string) (bool, string) {
			r := h.do(t, id, method, path, tok, "")
			got := ids(r.body)
			for _, f := range forbidden {
				for _, g := range got {
					if g == f {
						return false, fmt.Sprintf("status %d, %s shown: %v", r.status, f, got)
					}
				}
			}
			return r.status == http.StatusOK, fmt.Sprintf("status %d (%v)", r.status, got)
		}
	}
	tokenDenied := func(assertion, scope string) func(string) (bool, string) {
		return func(id string) (bool, string) {
			st, tok := h.tokenRequest(t, id, "misato", assertion, scope)
			return st >= 400 && tok == "", fmt.Sprintf("status %d, token %q", st, tok)
		}
	}
	obsFor := func(id, patient string) string {
		idField := ""
		if id != "" {
			idField = fmt.Sprintf(`"id":%q,`, id)
		}
		return fmt.Sprintf(`{"resourceType":"Observation",%s"status":"final","code":{"text":"体重"},"subject":{"reference":%q}}`, idField, patient)
	}
	otherKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	otherJWK, _ := jwk.FromRaw(otherKey)

	attacks := []attack{
		// Authentication.
		{"no token", "misato", status(401, "GET", "/misato/fhir/Patient/p1", "", "")},
		{"garbage token", "misato", status(401, "GET", "/misato/fhir/Patient/p1", "not.a.jwt", "")},
		{"alg none", "misato", status(401, "GET", "/misato/fhir/Patient/p1", unsigned(staffClaims), "")},
		{"HS256 keyed with the provider's public keys", "misato", status(401, "GET", "/misato/fhir/Patient/p1", hs256(staffClaims, idpJWKS), "")},
		{"forged jku", "misato", status(401, "GET", "/misato/fhir/Patient/p1", forgedJKU, "")},
		{"other town's token on this town", "misato", status(401, "GET", "/misato/fhir/Patient/p1", staffK, "")},
		{"this town's token on the other town", "kawajima", status(401, "GET", "/kawajima/fhir/Patient/k1", staff, "")},
		{"wrong audience", "misato", status(401, "GET", "/misato/fhir/Patient/p1", h.token(t, "staff-misato", "kawajima"), "")},
		{"expired hub token", "misato", status(401, "GET", "/misato/fhir/Observation/o1", expired, "")},
		{"dev token on an oidc hub", "misato", status(401, "GET", "/misato/fhir/Patient/p1", mustDevToken(t, h.storeArgs...), "")},
		{"other town's token on the audit trail", "misato", status(401, "GET", "/misato/fhir/AuditEvent", staffK, "")},
		// The token endpoint.
		{"replayed client assertion", "misato", tokenDenied(replayed, "system/Observation.rs")},
		{"assertion for another audience", "misato", tokenDenied(hospital.assertion(t, h.base+"/kawajima/auth/token", hospital.key, jwa.RS384, nil, nil), "system/Observation.rs")},
		{"assertion signed by an unregistered key", "misato", tokenDenied(hospital.assertion(t, tokenURL, otherJWK, jwa.RS384, nil, nil), "system/Observation.rs")},
		{"assertion with a forged jku", "misato", tokenDenied(hospital.assertion(t, tokenURL, attackerKey, jwa.ES384, nil, jku), "system/Observation.rs")},
		{"assertion with alg none", "misato", tokenDenied(unsigned(map[string]any{"iss": hospital.id, "sub": hospital.id, "aud": tokenURL, "jti": "none-1", "exp": time.Now().Add(time.Minute).Unix()}), "system/Observation.rs")},
		{"scope beyond the registration", "misato", tokenDenied(hospital.assertion(t, tokenURL, hospital.key, jwa.RS384, nil, nil), "system/Patient.rs")},
		{"unknown client", "misato", tokenDenied(backendClient{id: "nobody", key: hospital.key}.assertion(t, tokenURL, hospital.key, jwa.RS384, nil, nil), "system/Observation.rs")},
		// Scope escalation.
		{"nursery deletes a patient", "misato", status(403, "DELETE", "/misato/fhir/Patient/p1", nursery, "")},
		{"auditor reads a patient", "misato", status(403, "GET", "/misato/fhir/Patient/p1", auditor, "")},
		{"nursery probes whether an id exists in a type it has no scope for", "misato", status(403, "GET", "/misato/fhir/Condition/no-such-id", nursery, "")},
		{"auditor searches observations", "misato", status(403, "GET", "/misato/fhir/Observation", auditor, "")},
		{"read-only client writes", "misato", status(403, "PUT", "/misato/fhir/Observation/o1", hospitalTok, obsFor("o1", "Patient/p1"))},
		{"client reads a type it has no scope for", "misato", status(403, "GET", "/misato/fhir/Patient/p1", hospitalTok, "")},
		{"chain into an unscoped type", "misato", status(403, "GET", "/misato/fhir/Observation?subject:Patient.name=山田", hospitalTok, "")},
		{"_has into an unscoped type", "misato", status(403, "GET", "/misato/fhir/Observation?_has:DiagnosticReport:result:status=final", hospitalTok, "")},
		{"_include of an unscoped type", "misato", withheld("GET", "/misato/fhir/Observation?_include=Observation:subject", hospitalTok, "Patient/p1", "Patient/p2")},
		{"_revinclude of an unscoped type", "misato", withheld("GET", "/misato/fhir/Observation?_revinclude=Provenance:target", hospitalTok)},
		{"nursery _revinclude of off-roster and labelled records", "misato", withheld("GET", "/misato/fhir/Patient?_revinclude=Observation:subject", nursery, "Observation/o2", "Observation/o3", "Patient/p2")},
		{"staff writes to the append-only audit trail", "misato", status(405, "POST", "/misato/fhir/AuditEvent", staff, `{"resourceType":"AuditEvent"}`)},
		// The facility roster and sensitive labels.
		{"nursery reads an off-roster child's observation", "misato", status(404, "GET", "/misato/fhir/Observation/o2", nursery, "")},
		{"nursery reads an off-roster child", "misato", status(404, "GET", "/misato/fhir/Patient/p2", nursery, "")},
		{"nursery searches every observation", "misato", withheld("GET", "/misato/fhir/Observation", nursery, "Observation/o2", "Observation/o3")},
		{"nursery creates for an off-roster child", "misato", status(403, "POST", "/misato/fhir/Observation", nursery, obsFor("", "Patient/p2"))},
		{"nursery moves a record to an off-roster child", "misato", status(403, "PUT", "/misato/fhir/Observation/o1", nursery, obsFor("o1", "Patient/p2"))},
		{"nursery overwrites an off-roster record", "misato", status(403, "PUT", "/misato/fhir/Observation/o2", nursery, obsFor("o2", "Patient/p1"))},
		{"nursery $everything of an off-roster child", "misato", status(404, "GET", "/misato/fhir/Patient/p2/$everything", nursery, "")},
		{"nursery compartment of an off-roster child", "misato", status(404, "GET", "/misato/fhir/Patient/p2/Observation", nursery, "")},
		{"nursery history of an off-roster record", "misato", status(404, "GET", "/misato/fhir/Observation/o2/_history", nursery, "")},
		{"nursery vread of an off-roster record", "misato", status(404, "GET", "/misato/fhir/Observation/o2/_history/1", nursery, "")},
		{"nursery type history", "misato", withheld("GET", "/misato/fhir/Observation/_history", nursery, "Observation/o2", "Observation/o3")},
		{"nursery reads an abuse report about its own child", "misato", status(404, "GET", "/misato/fhir/Observation/o3", nursery, "")},
		{"nursery transaction touching an off-roster child", "misato", status(403, "POST", "/misato/fhir", nursery,
			`{"resourceType":"Bundle","type":"transaction","entry":[{"resource":`+obsFor("t1", "Patient/p1")+`,"request":{"method":"PUT","url":"Observation/t1"}},{"resource":`+obsFor("t2", "Patient/p2")+`,"request":{"method":"PUT","url":"Observation/t2"}}]}`)},
		{"nursery conditional update of an off-roster record", "misato", func(id string) (bool, string) {
			// The hidden match does not count: the update creates a new record, as it would if
			// o2 did not exist, and o2 is untouched.
			r := h.do(t, id, "PUT", "/misato/fhir/Observation?subject=Patient/p2", nursery, obsFor("", "Patient/p1"))
			o2 := h.do(t, "check", "GET", "/misato/fhir/Observation/o2", staff, "")
			return r.status == 201 && !strings.Contains(r.header.Get("Location"), "/o2/") && o2.body["meta"].(map[string]any)["versionId"] == "1",
				fmt.Sprintf("status %d, Location %s, o2 %v", r.status, r.header.Get("Location"), o2.body["meta"])
		}},
		{"nursery patch of an off-roster record", "misato", func(id string) (bool, string) {
			r := h.do(t, id, "PATCH", "/misato/fhir/Observation/o2", nursery, `[{"op":"replace","path":"/status","value":"amended"}]`, "Content-Type", "application/json-patch+json")
			return r.status == 404, fmt.Sprintf("status %d", r.status)
		}},
		{"nursery break-glass", "misato", status(404, "GET", "/misato/fhir/Observation/o3", nursery, "", "X-Break-Glass-Reason", "緊急")},
		// Tenant isolation through every path.
		{"read of another town's id", "misato", status(404, "GET", "/misato/fhir/Patient/k1", staff, "")},
		{"search by another town's identifier", "misato", withheld("GET", "/misato/fhir/Patient?identifier=k-ident", staff, "Patient/k1")},
		{"chain to another town's patient", "misato", withheld("GET", "/misato/fhir/Observation?subject:Patient.identifier=k-ident", staff, "Observation/ko1")},
		{"_has from another town's observation", "misato", withheld("GET", "/misato/fhir/Patient?_has:Observation:subject:status=final", staff, "Patient/k1")},
		{"_revinclude across towns", "misato", withheld("GET", "/misato/fhir/Patient?_revinclude=Observation:subject", staff, "Observation/ko1", "Patient/k1")},
		{"system history", "misato", withheld("GET", "/misato/fhir/_history", staff, "Patient/k1", "Observation/ko1")},
		{"instance history of another town's id", "misato", status(404, "GET", "/misato/fhir/Patient/k1/_history", staff, "")},
		{"compartment of another town's patient", "misato", status(404, "GET", "/misato/fhir/Patient/k1/Observation", staff, "")},
		{"conditional update matching another town", "misato", func(id string) (bool, string) {
			r := h.do(t, id, "PUT", "/misato/fhir/Patient?identifier=k-ident", staff, `{"resourceType":"Patient","identifier":[{"value":"k-ident"}]}`)
			loc := r.header.Get("Location")
			return r.status == 201 && !strings.Contains(loc, "/k1/"), fmt.Sprintf("status %d, Location %s", r.status, loc)
		}},
		{"transaction reading another town's id", "misato", func(id string) (bool, string) {
			r := h.do(t, id, "POST", "/misato/fhir", staff, `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Patient/k1"}}]}`)
			b, _ := json.Marshal(r.body)
			return r.status == 200 && strings.Contains(string(b), `"404`) && !strings.Contains(string(b), "川島"), fmt.Sprintf("status %d: %s", r.status, b)
		}},
		// Side doors inside the town (issue 10; every role and every kind is in
		// server/hidden_test.go, on both backends).
		{"facility client reads the audit trail of others", "misato", func(id string) (bool, string) {
			h.do(t, "own", "GET", "/misato/fhir/Observation?_count=1", auditReaderTok, "") // one record of its own
			r := h.do(t, id, "GET", "/misato/fhir/AuditEvent?_count=200", auditReaderTok, "")
			b, _ := json.Marshal(r.body)
			entries, _ := r.body["entry"].([]any)
			return r.status == 200 && len(entries) > 0 && !strings.Contains(string(b), "staff-misato") && !strings.Contains(string(b), "nursery-misato"),
				fmt.Sprintf("status %d, %d entries", r.status, len(entries))
		}},
		{"transaction writes an audit record", "misato", status(403, "POST", "/misato/fhir", staff,
			`{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"AuditEvent","type":{"code":"rest"},"recorded":"2026-01-01T00:00:00Z","agent":[{"requestor":true}],"source":{"observer":{"display":"x"}}},"request":{"method":"POST","url":"AuditEvent"}}]}`)},
		{"update-only scope reads through an empty patch", "misato", func(id string) (bool, string) {
			r := h.do(t, id, "PATCH", "/misato/fhir/Observation/o1", updaterTok, `[]`, "Content-Type", "application/json-patch+json")
			b, _ := json.Marshal(r.body)
			return r.status == 403 && !strings.Contains(string(b), "体重"), fmt.Sprintf("status %d: %s", r.status, b)
		}},
		{"a town's name probed without a token", "misato", func(id string) (bool, string) {
			known := h.do(t, id, "GET", "/misato/fhir/Patient/p1", "", "")
			unknown := h.do(t, "probe", "GET", "/no-such-town/fhir/Patient/p1", "", "")
			return known.status == 401 && unknown.status == 401 && fmt.Sprint(known.body) == fmt.Sprint(unknown.body),
				fmt.Sprintf("%d %v / %d %v", known.status, known.body, unknown.status, unknown.body)
		}},
		{"Host header reflected into links", "misato", func(id string) (bool, string) {
			r := h.do(t, id, "GET", "/misato/fhir/Patient?_count=1", staff, "", "Host", "evil.example")
			b, _ := json.Marshal(r.body)
			return r.status == 200 && !strings.Contains(string(b), "evil.example"), fmt.Sprintf("status %d: %s", r.status, b)
		}},
		{"20,000 OR values", "misato", func(id string) (bool, string) {
			ids := make([]string, 20000)
			for i := range ids {
				ids[i] = fmt.Sprint(i)
			}
			form := url.Values{"_id": {strings.Join(ids, ",")}}.Encode()
			start := time.Now()
			r := h.do(t, id, "POST", "/misato/fhir/Patient/_search", staff, form, "Content-Type", "application/x-www-form-urlencoded")
			b, _ := json.Marshal(r.body)
			return r.status == 400 && strings.Contains(string(b), "too-costly") && time.Since(start) < 5*time.Second,
				fmt.Sprintf("status %d after %s: %.300s", r.status, time.Since(start), b)
		}},
		{"NUL in a resource", "misato", status(422, "PUT", "/misato/fhir/Patient/nul", staff, `{"resourceType":"Patient","id":"nul","name":[{"family":"山\u0000田"}]}`)},

		// Rate limits.
		{"client over its rate limit", "misato", func(id string) (bool, string) {
			_, tok := h.tokenRequest(t, "setup", "misato", limited.assertion(t, tokenURL, limited.key, jwa.RS384, nil, nil), "system/Organization.rs")
			var last response
			for range 5 {
				last = h.do(t, id, "GET", "/misato/fhir/Organization/nursery-1", tok, "")
				if last.status == 429 {
					break
				}
			}
			return last.status == 429 && last.header.Get("Retry-After") != "", fmt.Sprintf("status %d, Retry-After %q", last.status, last.header.Get("Retry-After"))
		}},
	}
	if len(attacks) < 40 {
		t.Fatalf("only %d attacks", len(attacks))
	}
	for i, a := range attacks {
		id := fmt.Sprintf("attack-%02d", i)
		if ok, detail := a.run(id); !ok {
			t.Errorf("%s (%s) was not denied: %s", a.name, id, detail)
		}
	}

	// Every attack left an audit record in the town it was aimed at, with a failed outcome
	// or a note that results were withheld.
	records := map[string][]audit.Record{}
	for _, tenant := range []string{"misato", "kawajima"} {
		var after int64
		for {
			es, err := h.st.AuditEntries(ctx, tenant, after, 1000)
			if err != nil {
				t.Fatal(err)
			}
			if len(es) == 0 {
				break
			}
			for _, e := range es {
				r, err := audit.EntryRecord(e)
				if err != nil {
					t.Fatal(err)
				}
				records[tenant+" "+r.RequestID] = append(records[tenant+" "+r.RequestID], r)
				after = e.Seq
			}
		}
		if _, err := audit.VerifyLog(ctx, h.st, tenant); err != nil {
			t.Errorf("audit chain of %s: %v", tenant, err)
		}
	}
	for i, a := range attacks {
		id := fmt.Sprintf("attack-%02d", i)
		rs := records[a.tenant+" "+id]
		if len(rs) == 0 {
			t.Errorf("%s (%s): no audit record in %s", a.name, id, a.tenant)
			continue
		}
		recorded := false
		for _, r := range rs {
			if r.Outcome != audit.OutcomeSuccess || strings.Contains(r.Decision, "withheld") || a.name == "conditional update matching another town" ||
				strings.HasPrefix(a.name, "search by") || strings.HasPrefix(a.name, "chain to") || strings.HasPrefix(a.name, "_has from") ||
				strings.HasPrefix(a.name, "_revinclude") || a.name == "system history" || a.name == "transaction reading another town's id" ||
				a.name == "nursery conditional update of an off-roster record" || a.name == "facility client reads the audit trail of others" ||
				a.name == "Host header reflected into links" {
				recorded = true
			}
		}
		if !recorded {
			t.Errorf("%s (%s): audit records %+v show no denial", a.name, id, rs)
		}
	}
}
