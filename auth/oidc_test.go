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
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/kodomohub/kodomohub/fhir"
)

// testIssuer is an OpenID provider on httptest: discovery and a JWKS of the keys it holds,
// signing with the newest. rotate replaces the keys.
type testIssuer struct {
	srv        *httptest.Server
	mu         sync.Mutex
	keys       []jwk.Key // private; the last one signs
	jwksHits   atomic.Int64
	discovered atomic.Int64
}

func mustRSAKey(tb testing.TB, kid string) jwk.Key {
	tb.Helper()
	raw, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	return mustJWK(tb, raw, kid, jwa.RS256)
}

func mustECKey(tb testing.TB, curve elliptic.Curve, kid string, alg jwa.SignatureAlgorithm) jwk.Key {
	tb.Helper()
	raw, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return mustJWK(tb, raw, kid, alg)
}

func mustJWK(tb testing.TB, raw any, kid string, alg jwa.SignatureAlgorithm) jwk.Key {
	tb.Helper()
	k, err := jwk.FromRaw(raw)
	if err != nil {
		tb.Fatal(err)
	}
	_ = k.Set(jwk.KeyIDKey, kid)
	_ = k.Set(jwk.AlgorithmKey, alg)
	return k
}

func newTestIssuer(tb testing.TB) *testIssuer {
	tb.Helper()
	ti := &testIssuer{keys: []jwk.Key{mustRSAKey(tb, "k1")}}
	mux := http.NewServeMux()
	ti.srv = httptest.NewServer(mux)
	tb.Cleanup(ti.srv.Close)
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		ti.discovered.Add(1)
		json.NewEncoder(w).Encode(map[string]any{"issuer": ti.srv.URL, "jwks_uri": ti.srv.URL + "/keys",
			"authorization_endpoint": ti.srv.URL + "/authorize", "token_endpoint": ti.srv.URL + "/token",
			"id_token_signing_alg_values_supported": []string{"RS256", "ES256"}})
	})
	mux.HandleFunc("/keys", func(w http.ResponseWriter, _ *http.Request) {
		ti.jwksHits.Add(1)
		set := jwk.NewSet()
		ti.mu.Lock()
		for _, k := range ti.keys {
			pub, _ := k.PublicKey()
			set.AddKey(pub)
		}
		ti.mu.Unlock()
		json.NewEncoder(w).Encode(set)
	})
	return ti
}

func (ti *testIssuer) URL() string { return ti.srv.URL }

// rotate replaces every key with a new one.
func (ti *testIssuer) rotate(tb testing.TB, kid string) {
	tb.Helper()
	k := mustRSAKey(tb, kid)
	ti.mu.Lock()
	ti.keys = []jwk.Key{k}
	ti.mu.Unlock()
}

func (ti *testIssuer) key() jwk.Key {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	return ti.keys[len(ti.keys)-1]
}

// sign returns a JWT with claims, signed by the issuer's current key.
func (ti *testIssuer) sign(tb testing.TB, claims map[string]any) string {
	tb.Helper()
	return signClaims(tb, claims, jwa.RS256, ti.key(), nil)
}

func signClaims(tb testing.TB, claims map[string]any, alg jwa.SignatureAlgorithm, key any, hdr jws.Headers) string {
	tb.Helper()
	tok := jwt.New()
	for k, v := range claims {
		if err := tok.Set(k, v); err != nil {
			tb.Fatal(err)
		}
	}
	opts := []jwt.Option{}
	if hdr != nil {
		opts = append(opts, jws.WithProtectedHeaders(hdr))
	}
	b, err := jwt.Sign(tok, jwt.WithKey(alg, key, opts...))
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

var oidcNow = time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)

const testAud = "https://hub.example.jp/misato/fhir"

func (ti *testIssuer) claims(mod func(map[string]any)) map[string]any {
	c := map[string]any{
		"iss": ti.URL(), "sub": "staff-42", "aud": []string{testAud, "account"},
		"iat": oidcNow.Add(-time.Minute).Unix(), "nbf": oidcNow.Add(-time.Minute).Unix(),
		"exp": oidcNow.Add(5 * time.Minute).Unix(), "scope": "openid user/Patient.rs user/Observation.cruds",
		"town": "misato", "hub_role": "municipal-staff", "org": "Organization/hc-1", "azp": "dashboard",
	}
	if mod != nil {
		mod(c)
	}
	return c
}

func issuerConfig(iss string) IssuerConfig {
	return IssuerConfig{Issuer: iss, Audience: testAud, RoleClaim: "hub_role", FacilityClaim: "org",
		TenantClaim: "town"}
}

func authRequest(tok string) *http.Request {
	r := httptest.NewRequest("GET", "/misato/fhir/Patient", nil)
	if tok != "" {
		r.Header.Set("Authorization", "Bearer "+tok)
	}
	return r
}

func wantKind(tb testing.TB, err error, kind fhir.Kind) {
	tb.Helper()
	if fe := fhir.AsError(err); fe == nil || fe.Kind != kind {
		tb.Fatalf("err %v, want %s", err, kind)
	}
}

func TestOIDC(t *testing.T) {
	ctx := context.Background()
	ti := newTestIssuer(t)
	other := newTestIssuer(t) // trusted by kawajima only
	clock := oidcNow
	o := NewOIDC(StaticIssuers{
		"misato":   {issuerConfig(ti.URL())},
		"kawajima": {issuerConfig(other.URL())},
	})
	o.Now = func() time.Time { return clock }

	t.Run("OK", func(t *testing.T) {
		p, err := o.Authenticate(ctx, "misato", authRequest(ti.sign(t, ti.claims(nil))))
		if err != nil {
			t.Fatal(err)
		}
		if p.Subject != "staff-42" || p.Tenant != "misato" || p.Role != "municipal-staff" ||
			p.Facility != "Organization/hc-1" || p.ClientID != "dashboard" || p.Issuer != ti.URL() ||
			p.Scopes.String() != "user/Patient.rs user/Observation.cruds" {
			t.Fatalf("principal %+v", p)
		}
	})
	t.Run("OKScpArray", func(t *testing.T) {
		tok := ti.sign(t, ti.claims(func(c map[string]any) {
			delete(c, "scope")
			c["scp"] = []string{"user/Patient.rs", "openid"}
		}))
		p, err := o.Authenticate(ctx, "misato", authRequest(tok))
		if err != nil {
			t.Fatal(err)
		}
		if p.Scopes.String() != "user/Patient.rs" {
			t.Fatalf("scopes %v", p.Scopes)
		}
	})
	t.Run("OKAfterKeyRotation", func(t *testing.T) {
		ti := newTestIssuer(t)
		o := NewOIDC(StaticIssuers{"misato": {issuerConfig(ti.URL())}})
		o.Now = func() time.Time { return oidcNow }
		old := ti.sign(t, ti.claims(nil))
		if _, err := o.Authenticate(ctx, "misato", authRequest(old)); err != nil {
			t.Fatal(err)
		}
		hits := ti.jwksHits.Load()
		ti.rotate(t, "k2")
		rotated := ti.sign(t, ti.claims(func(c map[string]any) { c["sub"] = "staff-43" }))
		p, err := o.Authenticate(ctx, "misato", authRequest(rotated))
		if err != nil {
			t.Fatalf("token signed with the new key: %v", err)
		}
		if p.Subject != "staff-43" || ti.jwksHits.Load() <= hits {
			t.Fatalf("subject %s, JWKS fetches %d → %d: want a refetch", p.Subject, hits, ti.jwksHits.Load())
		}
		// A token naming the retired kid (not cached) no longer verifies.
		retired := signClaims(t, ti.claims(func(c map[string]any) { c["sub"] = "staff-44" }), jwa.RS256, mustRSAKey(t, "k1"), nil)
		_, err = o.Authenticate(ctx, "misato", authRequest(retired))
		wantKind(t, err, fhir.KindUnauthenticated)
	})

	unauthorized := func(t *testing.T, tenant, tok string) {
		t.Helper()
		_, err := o.Authenticate(ctx, tenant, authRequest(tok))
		wantKind(t, err, fhir.KindUnauthenticated)
		t.Log(err)
	}
	good := ti.sign(t, ti.claims(nil))
	pub, _ := ti.key().PublicKey()
	var rawPub rsa.PublicKey
	if err := pub.Raw(&rawPub); err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&rawPub)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})

	for _, c := range []struct {
		name   string
		tenant string
		token  func(t *testing.T) string
	}{
		{"ErrNoToken", "misato", func(t *testing.T) string { return "" }},
		{"ErrNotAJWT", "misato", func(t *testing.T) string { return "opaque-token" }},
		{"ErrOtherTenantURL", "kawajima", func(t *testing.T) string { return good }},
		{"ErrUnknownTenant", "nowhere", func(t *testing.T) string { return good }},
		{"ErrTenantClaim", "misato", func(t *testing.T) string {
			return ti.sign(t, ti.claims(func(c map[string]any) { c["town"] = "kawajima" }))
		}},
		{"ErrNoTenantClaim", "misato", func(t *testing.T) string {
			return ti.sign(t, ti.claims(func(c map[string]any) { delete(c, "town") }))
		}},
		{"ErrIssuerOfOtherTenant", "misato", func(t *testing.T) string {
			return other.sign(t, other.claims(nil))
		}},
		{"ErrUntrustedIssuerClaim", "misato", func(t *testing.T) string {
			// A key the attacker holds, claiming the trusted issuer.
			return signClaims(t, ti.claims(nil), jwa.RS256, mustRSAKey(t, "k1"), nil)
		}},
		{"ErrWrongAudience", "misato", func(t *testing.T) string {
			return ti.sign(t, ti.claims(func(c map[string]any) { c["aud"] = "https://hub.example.jp/kawajima/fhir" }))
		}},
		{"ErrExpired", "misato", func(t *testing.T) string {
			return ti.sign(t, ti.claims(func(c map[string]any) { c["exp"] = oidcNow.Add(-time.Second).Unix() }))
		}},
		{"ErrNoExpiry", "misato", func(t *testing.T) string {
			return ti.sign(t, ti.claims(func(c map[string]any) { delete(c, "exp") }))
		}},
		{"ErrNotYetValid", "misato", func(t *testing.T) string {
			return ti.sign(t, ti.claims(func(c map[string]any) { c["nbf"] = oidcNow.Add(2 * time.Minute).Unix() }))
		}},
		{"ErrNoUsableScope", "misato", func(t *testing.T) string {
			return ti.sign(t, ti.claims(func(c map[string]any) { c["scope"] = "openid fhirUser profile" }))
		}},
		{"ErrBadScope", "misato", func(t *testing.T) string {
			return ti.sign(t, ti.claims(func(c map[string]any) { c["scope"] = "user/Child.rs" }))
		}},
		{"ErrAlgNone", "misato", func(t *testing.T) string {
			parts := strings.Split(good, ".")
			hdr := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT","kid":"k1"}`))
			return hdr + "." + parts[1] + "."
		}},
		{"ErrHS256WithPublicKey", "misato", func(t *testing.T) string {
			hdr := jws.NewHeaders()
			_ = hdr.Set(jws.KeyIDKey, "k1")
			return signClaims(t, ti.claims(nil), jwa.HS256, pubPEM, hdr)
		}},
		{"ErrTamperedClaims", "misato", func(t *testing.T) string {
			parts := strings.Split(good, ".")
			claims, _ := base64.RawURLEncoding.DecodeString(parts[1])
			forged := strings.Replace(string(claims), "user/Patient.rs", "user/*.cruds", 1)
			return parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(forged)) + "." + parts[2]
		}},
	} {
		t.Run(c.name, func(t *testing.T) { unauthorized(t, c.tenant, c.token(t)) })
	}

	t.Run("OKConfiguredJWKSURLWithoutDiscovery", func(t *testing.T) {
		ti := newTestIssuer(t)
		cfg := issuerConfig(ti.URL())
		cfg.JWKSURL = ti.URL() + "/keys"
		o := NewOIDC(StaticIssuers{"misato": {cfg}})
		o.Now = func() time.Time { return oidcNow }
		if _, err := o.Authenticate(ctx, "misato", authRequest(ti.sign(t, ti.claims(nil)))); err != nil {
			t.Fatal(err)
		}
		if ti.discovered.Load() != 0 || ti.jwksHits.Load() != 1 {
			t.Fatalf("discovery %d, JWKS %d", ti.discovered.Load(), ti.jwksHits.Load())
		}
	})
	t.Run("ErrWrongClientID", func(t *testing.T) {
		cfg := issuerConfig(ti.URL())
		cfg.ClientID = "dashboard-prod"
		o := NewOIDC(StaticIssuers{"misato": {cfg}})
		o.Now = func() time.Time { return oidcNow }
		_, err := o.Authenticate(ctx, "misato", authRequest(good))
		wantKind(t, err, fhir.KindUnauthenticated)
	})
	t.Run("ErrIssuerDown", func(t *testing.T) {
		down := httptest.NewServer(http.NotFoundHandler())
		down.Close()
		o := NewOIDC(StaticIssuers{"misato": {issuerConfig(down.URL)}})
		tok := signClaims(t, map[string]any{"iss": down.URL, "aud": testAud}, jwa.RS256, mustRSAKey(t, "x"), nil)
		_, err := o.Authenticate(ctx, "misato", authRequest(tok))
		wantKind(t, err, fhir.KindUnauthenticated)
	})
	t.Run("ErrIssuersUnavailable", func(t *testing.T) {
		o := NewOIDC(failingIssuers{})
		_, err := o.Authenticate(ctx, "misato", authRequest(good))
		if err == nil || fhir.AsError(err) != nil {
			t.Fatalf("err %v, want an internal error (not a 401 that hides the outage)", err)
		}
	})
	t.Run("ErrExpiredAfterCaching", func(t *testing.T) {
		tok := ti.sign(t, ti.claims(func(c map[string]any) { c["sub"] = "cached" }))
		if _, err := o.Authenticate(ctx, "misato", authRequest(tok)); err != nil {
			t.Fatal(err)
		}
		unauthorized(t, "kawajima", tok) // the cache keeps the tenant
		clock = oidcNow.Add(6 * time.Minute)
		defer func() { clock = oidcNow }()
		unauthorized(t, "misato", tok) // and the expiry
	})
	t.Run("ErrIssuerRemovedAfterCaching", func(t *testing.T) {
		issuers := StaticIssuers{"misato": {issuerConfig(ti.URL())}}
		o := NewOIDC(issuers)
		o.Now = func() time.Time { return oidcNow }
		if _, err := o.Authenticate(ctx, "misato", authRequest(good)); err != nil {
			t.Fatal(err)
		}
		issuers["misato"] = nil
		_, err := o.Authenticate(ctx, "misato", authRequest(good))
		wantKind(t, err, fhir.KindUnauthenticated)
	})
	t.Run("CachedVerificationFetchesNothing", func(t *testing.T) {
		if _, err := o.Authenticate(ctx, "misato", authRequest(good)); err != nil {
			t.Fatal(err)
		}
		hits, disc := ti.jwksHits.Load(), ti.discovered.Load()
		for range 3 {
			if _, err := o.Authenticate(ctx, "misato", authRequest(good)); err != nil {
				t.Fatal(err)
			}
		}
		if ti.jwksHits.Load() != hits || ti.discovered.Load() != disc {
			t.Fatalf("JWKS fetched %d more times, discovery %d more times", ti.jwksHits.Load()-hits, ti.discovered.Load()-disc)
		}
	})
}

type failingIssuers struct{}

func (failingIssuers) Issuers(context.Context, string) ([]IssuerConfig, error) {
	return nil, context.DeadlineExceeded
}

func TestChain(t *testing.T) {
	ctx := context.Background()
	ti := newTestIssuer(t)
	o := NewOIDC(StaticIssuers{"misato": {issuerConfig(ti.URL())}})
	o.Now = func() time.Time { return oidcNow }
	dev, err := NewDev(ctx, &memSecrets{m: map[string][]byte{}})
	if err != nil {
		t.Fatal(err)
	}
	dev.Now = o.Now
	devTok, err := dev.Mint(DevClaims{Tenant: "misato", Subject: "dev", Scope: "user/*.rs", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	a := Chain(o, dev)
	for _, c := range []struct{ name, tok, sub string }{
		{"OKOIDC", ti.sign(t, ti.claims(nil)), "staff-42"},
		{"OKDev", devTok, "dev"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := a.Authenticate(ctx, "misato", authRequest(c.tok))
			if err != nil || p.Subject != c.sub {
				t.Fatalf("%v %v", p, err)
			}
		})
	}
	t.Run("ErrUnknownIssuer", func(t *testing.T) {
		tok := signClaims(t, map[string]any{"iss": "https://evil.example", "aud": testAud}, jwa.RS256, mustRSAKey(t, "e"), nil)
		_, err := a.Authenticate(ctx, "misato", authRequest(tok))
		wantKind(t, err, fhir.KindUnauthenticated)
	})
	t.Run("ErrNoToken", func(t *testing.T) {
		_, err := a.Authenticate(ctx, "misato", authRequest(""))
		wantKind(t, err, fhir.KindUnauthenticated)
	})
}
