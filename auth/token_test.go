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

package auth

import (
	"bytes"
	"context"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kodomohub/kodomohub/fhir"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

const hubBase = "https://hub.example.jp"

// jwksServer publishes a JWK Set of public keys and counts fetches.
type jwksServer struct {
	srv  *httptest.Server
	mu   sync.Mutex
	keys []jwk.Key
	hits atomic.Int64
}

func newJWKSServer(tb testing.TB, keys ...jwk.Key) *jwksServer {
	tb.Helper()
	js := &jwksServer{keys: keys}
	js.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		js.hits.Add(1)
		js.mu.Lock()
		defer js.mu.Unlock()
		w.Write(publicJWKS(tb, js.keys...))
	}))
	tb.Cleanup(js.srv.Close)
	return js
}

func (js *jwksServer) set(keys ...jwk.Key) {
	js.mu.Lock()
	js.keys = keys
	js.mu.Unlock()
}

func publicJWKS(tb testing.TB, keys ...jwk.Key) []byte {
	set := jwk.NewSet()
	for _, k := range keys {
		pub, err := k.PublicKey()
		if err != nil {
			tb.Fatal(err)
		}
		set.AddKey(pub)
	}
	b, _ := json.Marshal(set)
	return b
}

type tokenFixture struct {
	svc     *TokenService
	clients *MemClients
	clock   time.Time
	rsaKey  jwk.Key // client "nursery-sys" in misato, inline JWKS
	ecKey   jwk.Key // client "vendor-ec" in misato, JWKS URL
	jwks    *jwksServer
	secrets *memSecrets
	jti     int
}

func mustTokenFixture(tb testing.TB) *tokenFixture {
	tb.Helper()
	f := &tokenFixture{clients: &MemClients{}, clock: oidcNow, secrets: &memSecrets{m: map[string][]byte{}}}
	svc, err := NewTokenService(context.Background(), f.secrets, f.clients,
		&MemReplayCache{Now: f.now}, hubBase+"/")
	if err != nil {
		tb.Fatal(err)
	}
	svc.Now = f.now
	f.svc = svc
	f.rsaKey = mustRSAKey(tb, "rsa-1")
	_ = f.rsaKey.Set(jwk.AlgorithmKey, jwa.RS384)
	f.ecKey = mustECKey(tb, elliptic.P384(), "ec-1", jwa.ES384)
	f.jwks = newJWKSServer(tb, f.ecKey)
	nursery, err := NewClient(ClientSpec{Tenant: "misato", ID: "nursery-sys", Name: "Hikari nursery",
		JWKS: publicJWKS(tb, f.rsaKey), Scope: "system/Patient.rs system/Observation.cruds",
		Facility: "Organization/nursery-1", FacilityKind: FacilityNursery}, rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	f.clients.Put(nursery)
	vendor, err := NewClient(ClientSpec{Tenant: "misato", ID: "vendor-ec", JWKSURL: f.jwks.srv.URL,
		Scope: "system/*.rs"}, rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	f.clients.Put(vendor)
	return f
}

func (f *tokenFixture) now() time.Time { return f.clock }

// assertion returns a client assertion for client, signed by key with alg, after mod
// changes its claims and hdr its protected headers.
func (f *tokenFixture) assertion(tb testing.TB, client string, key jwk.Key, alg jwa.SignatureAlgorithm, mod func(map[string]any), hdr func(jws.Headers)) string {
	tb.Helper()
	f.jti++
	c := map[string]any{"iss": client, "sub": client, "aud": hubBase + "/misato/auth/token",
		"exp": f.clock.Add(4 * time.Minute).Unix(), "jti": fmt.Sprintf("jti-%d", f.jti)}
	if mod != nil {
		mod(c)
	}
	h := jws.NewHeaders()
	if key.KeyID() != "" {
		_ = h.Set(jws.KeyIDKey, key.KeyID())
	}
	if hdr != nil {
		hdr(h)
	}
	return signClaims(tb, c, alg, key, h)
}

func tokenForm(assertion, scope string) url.Values {
	return url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {AssertionTypeJWTBearer},
		"client_assertion": {assertion}, "scope": {scope}}
}

// post sends form to tenant's token endpoint and decodes the JSON answer.
func (f *tokenFixture) post(tb testing.TB, tenant string, form url.Values) (int, map[string]any) {
	tb.Helper()
	r := httptest.NewRequest("POST", "/"+tenant+"/auth/token", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	f.svc.ServeToken(w, r, tenant)
	var body map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		tb.Fatalf("body %q: %v", w.Body, err)
	}
	if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
		tb.Errorf("Cache-Control %q", cc)
	}
	return w.Code, body
}

func TestTokenService(t *testing.T) {
	ctx := context.Background()
	f := mustTokenFixture(t)
	rsa384 := func(mod func(map[string]any)) string {
		return f.assertion(t, "nursery-sys", f.rsaKey, jwa.RS384, mod, nil)
	}

	t.Run("OKRS384InlineJWKS", func(t *testing.T) {
		status, body := f.post(t, "misato", tokenForm(rsa384(nil), "system/Patient.rs system/Observation.r"))
		if status != 200 || body["token_type"] != "bearer" || body["expires_in"] != 300.0 ||
			body["scope"] != "system/Patient.rs system/Observation.r" {
			t.Fatalf("%d %v", status, body)
		}
		p, err := f.svc.Authenticate(ctx, "misato", authRequest(body["access_token"].(string)))
		if err != nil {
			t.Fatal(err)
		}
		if p.Subject != "nursery-sys" || p.ClientID != "nursery-sys" || p.Role != RoleFacility ||
			p.Facility != "Organization/nursery-1" || p.FacilityKind != FacilityNursery ||
			p.Issuer != hubBase+"/misato/auth" || p.Scopes.String() != "system/Patient.rs system/Observation.r" {
			t.Fatalf("principal %+v", p)
		}
	})
	t.Run("OKES384JWKSURL", func(t *testing.T) {
		a := f.assertion(t, "vendor-ec", f.ecKey, jwa.ES384, nil, nil)
		status, body := f.post(t, "misato", tokenForm(a, "system/Patient.read"))
		if status != 200 || body["scope"] != "system/Patient.rs" {
			t.Fatalf("%d %v", status, body)
		}
		p, err := f.svc.Authenticate(ctx, "misato", authRequest(body["access_token"].(string)))
		if err != nil || p.Role != RoleVendorSystem || p.Facility != "" {
			t.Fatalf("%+v %v", p, err)
		}
	})
	t.Run("OKJWKSURLKeyRotation", func(t *testing.T) {
		f := mustTokenFixture(t)
		a := f.assertion(t, "vendor-ec", f.ecKey, jwa.ES384, nil, nil)
		if status, body := f.post(t, "misato", tokenForm(a, "system/Patient.rs")); status != 200 {
			t.Fatalf("%d %v", status, body)
		}
		newKey := mustECKey(t, elliptic.P384(), "ec-2", jwa.ES384)
		f.jwks.set(f.ecKey, newKey)
		a = f.assertion(t, "vendor-ec", newKey, jwa.ES384, nil, nil)
		f.clock = f.clock.Add(jwksMinRefetch) // within the cache TTL, past the refetch guard
		if status, body := f.post(t, "misato", tokenForm(a, "system/Patient.rs")); status != 200 {
			t.Fatalf("new key: %d %v", status, body)
		}
		if f.jwks.hits.Load() != 2 {
			t.Fatalf("JWKS fetched %d times, want 2", f.jwks.hits.Load())
		}
		a = f.assertion(t, "vendor-ec", f.ecKey, jwa.ES384, nil, nil)
		if status, _ := f.post(t, "misato", tokenForm(a, "system/Patient.rs")); status != 200 || f.jwks.hits.Load() != 2 {
			t.Fatalf("cached key: %d, %d fetches", status, f.jwks.hits.Load())
		}
	})
	t.Run("OKScopeIntersection", func(t *testing.T) {
		status, body := f.post(t, "misato", tokenForm(rsa384(nil),
			"system/*.cruds user/Patient.rs system/Condition.rs launch openid"))
		if status != 200 || body["scope"] != "system/Patient.rs system/Observation.cruds" {
			t.Fatalf("%d %v", status, body)
		}
	})
	t.Run("OKSameKeyForEveryProcess", func(t *testing.T) {
		_, body := f.post(t, "misato", tokenForm(rsa384(nil), "system/Patient.rs"))
		other, err := NewTokenService(ctx, f.secrets, f.clients, &MemReplayCache{}, hubBase)
		if err != nil {
			t.Fatal(err)
		}
		other.Now = f.now
		if _, err := other.Authenticate(ctx, "misato", authRequest(body["access_token"].(string))); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("ErrReplayedAssertion", func(t *testing.T) {
		a := rsa384(nil)
		if status, body := f.post(t, "misato", tokenForm(a, "system/Patient.rs")); status != 200 {
			t.Fatalf("first use: %d %v", status, body)
		}
		status, body := f.post(t, "misato", tokenForm(a, "system/Patient.rs"))
		if status != 401 || body["error"] != "invalid_client" || !strings.Contains(body["error_description"].(string), "jti") {
			t.Fatalf("replay: %d %v", status, body)
		}
	})

	attacker := mustRSAKey(t, "rsa-1") // same kid as the registered key, different key
	_ = attacker.Set(jwk.AlgorithmKey, jwa.RS384)
	jkuHits := atomic.Int64{}
	jkuSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		jkuHits.Add(1)
		w.Write(publicJWKS(t, attacker))
	}))
	defer jkuSrv.Close()
	rawRSA := new(rsa.PrivateKey)
	_ = f.rsaKey.Raw(rawRSA)
	pubPEM := publicJWKS(t, f.rsaKey) // anything public the attacker could use as an HMAC secret

	for _, c := range []struct {
		name      string
		tenant    string
		assertion func() string
	}{
		{"ErrWrongAudience", "misato", func() string {
			return rsa384(func(c map[string]any) { c["aud"] = hubBase + "/kawajima/auth/token" })
		}},
		{"ErrOtherTenantEndpoint", "kawajima", func() string {
			return rsa384(func(c map[string]any) { c["aud"] = hubBase + "/kawajima/auth/token" })
		}},
		{"ErrExpired", "misato", func() string {
			return rsa384(func(c map[string]any) { c["exp"] = oidcNow.Add(-time.Minute).Unix() })
		}},
		{"ErrExpTooFarAhead", "misato", func() string {
			return rsa384(func(c map[string]any) { c["exp"] = oidcNow.Add(time.Hour).Unix() })
		}},
		{"ErrNoExp", "misato", func() string { return rsa384(func(c map[string]any) { delete(c, "exp") }) }},
		{"ErrNoJTI", "misato", func() string { return rsa384(func(c map[string]any) { delete(c, "jti") }) }},
		{"ErrIssNotSub", "misato", func() string {
			return rsa384(func(c map[string]any) { c["sub"] = "vendor-ec" })
		}},
		{"ErrUnknownClient", "misato", func() string {
			return f.assertion(t, "nobody", f.rsaKey, jwa.RS384, nil, nil)
		}},
		{"ErrUnknownKid", "misato", func() string {
			return f.assertion(t, "nursery-sys", withKid(t, f.rsaKey, "rsa-9"), jwa.RS384, nil, nil)
		}},
		{"ErrNoKid", "misato", func() string {
			return f.assertion(t, "nursery-sys", withKid(t, f.rsaKey, ""), jwa.RS384, nil, nil)
		}},
		{"ErrUnregisteredKey", "misato", func() string {
			return f.assertion(t, "nursery-sys", attacker, jwa.RS384, nil, nil)
		}},
		{"ErrForgedJKU", "misato", func() string {
			return f.assertion(t, "nursery-sys", attacker, jwa.RS384, nil, func(h jws.Headers) {
				_ = h.Set(jws.JWKSetURLKey, jkuSrv.URL)
			})
		}},
		{"ErrForgedEmbeddedJWK", "misato", func() string {
			return f.assertion(t, "nursery-sys", attacker, jwa.RS384, nil, func(h jws.Headers) {
				pub, _ := attacker.PublicKey()
				_ = h.Set(jws.JWKKey, pub)
			})
		}},
		{"ErrRS256", "misato", func() string { return f.assertion(t, "nursery-sys", f.rsaKey, jwa.RS256, nil, nil) }},
		{"ErrHS384WithPublicKey", "misato", func() string {
			return f.assertion(t, "nursery-sys", mustSymmetric(t, pubPEM, "rsa-1"), jwa.HS384, nil, nil)
		}},
		{"ErrAlgNone", "misato", func() string {
			parts := strings.Split(rsa384(nil), ".")
			return `eyJhbGciOiJub25lIiwia2lkIjoicnNhLTEifQ.` + parts[1] + "."
		}},
		{"ErrECKeyAsRSA", "misato", func() string {
			// The vendor's EC key cannot verify for the nursery client.
			return f.assertion(t, "nursery-sys", withKid(t, f.ecKey, "rsa-1"), jwa.ES384, nil, nil)
		}},
		{"ErrNotAJWT", "misato", func() string { return "not-a-jwt" }},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, body := f.post(t, c.tenant, tokenForm(c.assertion(), "system/Patient.rs"))
			if status != 401 || body["error"] != "invalid_client" {
				t.Fatalf("%d %v, want 401 invalid_client", status, body)
			}
			t.Log(body["error_description"])
		})
	}
	if jkuHits.Load() != 0 {
		t.Errorf("the forged jku was fetched %d times", jkuHits.Load())
	}
	t.Run("ErrDisabledClient", func(t *testing.T) {
		f := mustTokenFixture(t)
		c, _ := f.clients.Client(ctx, "misato", "nursery-sys")
		c.Disabled = true
		f.clients.Put(c)
		status, body := f.post(t, "misato", tokenForm(f.assertion(t, "nursery-sys", f.rsaKey, jwa.RS384, nil, nil), "system/Patient.rs"))
		if status != 401 || body["error"] != "invalid_client" {
			t.Fatalf("%d %v", status, body)
		}
	})

	for _, c := range []struct {
		name   string
		form   func() url.Values
		status int
		code   string
	}{
		{"ErrUnsupportedGrant", func() url.Values {
			v := tokenForm(rsa384(nil), "system/Patient.rs")
			v.Set("grant_type", "password")
			return v
		}, 400, "unsupported_grant_type"},
		{"ErrNoGrant", func() url.Values {
			v := tokenForm(rsa384(nil), "system/Patient.rs")
			v.Del("grant_type")
			return v
		}, 400, "invalid_request"},
		{"ErrAssertionType", func() url.Values {
			v := tokenForm(rsa384(nil), "system/Patient.rs")
			v.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer")
			return v
		}, 400, "invalid_request"},
		{"ErrNoAssertion", func() url.Values { return tokenForm("", "system/Patient.rs") }, 400, "invalid_request"},
		{"ErrNoScope", func() url.Values { return tokenForm(rsa384(nil), "") }, 400, "invalid_request"},
		{"ErrRepeatedParameter", func() url.Values {
			v := tokenForm(rsa384(nil), "system/Patient.rs")
			v.Add("scope", "system/*.cruds")
			return v
		}, 400, "invalid_request"},
		{"ErrScopeNotRegistered", func() url.Values { return tokenForm(rsa384(nil), "system/Condition.rs") }, 400, "invalid_scope"},
		{"ErrOnlyUserScopes", func() url.Values { return tokenForm(rsa384(nil), "user/Patient.rs patient/*.rs") }, 400, "invalid_scope"},
		{"ErrMalformedScope", func() url.Values { return tokenForm(rsa384(nil), "system/Child.rs") }, 400, "invalid_scope"},
		{"ErrClientIDMismatch", func() url.Values {
			v := tokenForm(rsa384(nil), "system/Patient.rs")
			v.Set("client_id", "vendor-ec")
			return v
		}, 401, "invalid_client"},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, body := f.post(t, "misato", c.form())
			if status != c.status || body["error"] != c.code {
				t.Fatalf("%d %v, want %d %s", status, body, c.status, c.code)
			}
		})
	}
	t.Run("ErrGET", func(t *testing.T) {
		w := httptest.NewRecorder()
		f.svc.ServeToken(w, httptest.NewRequest("GET", "/misato/auth/token", nil), "misato")
		if w.Code != 405 {
			t.Fatalf("%d", w.Code)
		}
	})
	t.Run("ErrClientStoreDown", func(t *testing.T) {
		svc, err := NewTokenService(ctx, f.secrets, brokenClients{}, &MemReplayCache{}, hubBase)
		if err != nil {
			t.Fatal(err)
		}
		svc.Now = f.now
		r := httptest.NewRequest("POST", "/misato/auth/token", strings.NewReader(tokenForm(rsa384(nil), "system/Patient.rs").Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		svc.ServeToken(w, r, "misato")
		if w.Code != 500 || !bytes.Contains(w.Body.Bytes(), []byte(`"server_error"`)) || bytes.Contains(w.Body.Bytes(), []byte("disk")) {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
	})
}

func mustSymmetric(tb testing.TB, secret []byte, kid string) jwk.Key {
	tb.Helper()
	k, err := jwk.FromRaw(secret)
	if err != nil {
		tb.Fatal(err)
	}
	_ = k.Set(jwk.KeyIDKey, kid)
	return k
}

type brokenClients struct{}

func (brokenClients) Client(context.Context, string, string) (Client, error) {
	return Client{}, errors.New("disk on fire")
}

func TestHubTokens(t *testing.T) {
	ctx := context.Background()
	f := mustTokenFixture(t)
	issue := func(t *testing.T) string {
		t.Helper()
		status, body := f.post(t, "misato", tokenForm(f.assertion(t, "nursery-sys", f.rsaKey, jwa.RS384, nil, nil), "system/Patient.rs"))
		if status != 200 {
			t.Fatalf("%d %v", status, body)
		}
		return body["access_token"].(string)
	}
	tok := issue(t)
	t.Run("OKChainedWithOIDC", func(t *testing.T) {
		ti := newTestIssuer(t)
		o := NewOIDC(StaticIssuers{"misato": {issuerConfig(ti.URL())}})
		o.Now = f.now
		a := Chain(o, f.svc)
		for _, tk := range []string{tok, ti.sign(t, ti.claims(nil))} {
			if _, err := a.Authenticate(ctx, "misato", authRequest(tk)); err != nil {
				t.Fatal(err)
			}
		}
		_, err := a.Authenticate(ctx, "kawajima", authRequest(tok))
		wantKind(t, err, fhir.KindUnauthenticated)
	})
	t.Run("ErrOtherTenant", func(t *testing.T) {
		_, err := f.svc.Authenticate(ctx, "kawajima", authRequest(tok))
		wantKind(t, err, fhir.KindUnauthenticated)
	})
	t.Run("ErrExpired", func(t *testing.T) {
		f.clock = oidcNow.Add(TokenTTL + clockSkew + time.Second)
		defer func() { f.clock = oidcNow }()
		_, err := f.svc.Authenticate(ctx, "misato", authRequest(tok))
		wantKind(t, err, fhir.KindUnauthenticated)
	})
	t.Run("ErrClientDisabledBeforeFirstUse", func(t *testing.T) {
		fresh := issue(t)
		c, _ := f.clients.Client(ctx, "misato", "nursery-sys")
		c.Disabled = true
		f.clients.Put(c)
		defer func() { c.Disabled = false; f.clients.Put(c) }()
		_, err := f.svc.Authenticate(ctx, "misato", authRequest(fresh))
		wantKind(t, err, fhir.KindUnauthenticated)
	})
	t.Run("ErrSignedByAnotherHub", func(t *testing.T) {
		g := mustTokenFixture(t) // another data dir: another key
		status, body := g.post(t, "misato", tokenForm(g.assertion(t, "nursery-sys", g.rsaKey, jwa.RS384, nil, nil), "system/Patient.rs"))
		if status != 200 {
			t.Fatalf("%d %v", status, body)
		}
		_, err := f.svc.Authenticate(ctx, "misato", authRequest(body["access_token"].(string)))
		wantKind(t, err, fhir.KindUnauthenticated)
	})
	t.Run("SmartConfiguration", func(t *testing.T) {
		doc := f.svc.SmartConfiguration("misato")
		b, _ := json.Marshal(doc)
		for _, want := range []string{`"token_endpoint":"https://hub.example.jp/misato/auth/token"`,
			`"private_key_jwt"`, `["RS384","ES384"]`, `"client-confidential-asymmetric"`, `"permission-v2"`,
			`"grant_types_supported":["client_credentials"]`} {
			if !bytes.Contains(b, []byte(want)) {
				t.Errorf("missing %s in %s", want, b)
			}
		}
	})
	t.Run("PublicJWKSHasNoPrivateParts", func(t *testing.T) {
		b := f.svc.PublicJWKS()
		if bytes.Contains(b, []byte(`"d"`)) || !bytes.Contains(b, []byte(`"kid"`)) {
			t.Fatalf("%s", b)
		}
	})
}

// withKid returns a copy of k with another kid ("" removes it).
func withKid(tb testing.TB, k jwk.Key, kid string) jwk.Key {
	tb.Helper()
	c, err := k.Clone()
	if err != nil {
		tb.Fatal(err)
	}
	if kid == "" {
		_ = c.Remove(jwk.KeyIDKey)
	} else {
		_ = c.Set(jwk.KeyIDKey, kid)
	}
	return c
}

func TestReplayCache(t *testing.T) {
	ctx := context.Background()
	clock := oidcNow
	rc := &MemReplayCache{Now: func() time.Time { return clock }, Max: 2}
	seen := func(jti string, until time.Time) bool {
		t.Helper()
		r, err := rc.Seen(ctx, "misato", "c1", jti, until)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if seen("a", clock.Add(time.Minute)) || !seen("a", clock.Add(time.Minute)) {
		t.Fatal("second use not reported")
	}
	if r, _ := rc.Seen(ctx, "kawajima", "c1", "a", clock.Add(time.Minute)); r {
		t.Fatal("jti shared across tenants")
	}
	if _, err := rc.Seen(ctx, "misato", "c1", "b", clock.Add(time.Minute)); err == nil {
		t.Fatal("full cache accepted an id it cannot remember")
	}
	clock = clock.Add(2 * time.Minute)
	if seen("b", clock.Add(time.Minute)) {
		t.Fatal("fresh id reported as replay after expiry purge")
	}
}
