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

package oidc_test

import (
	"context"
	"encoding/base64"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kodomohub/kodomohub/auth"
	"github.com/kodomohub/kodomohub/e2e/oidc"
	"github.com/kodomohub/kodomohub/fhir"
)

const (
	misatoFHIR   = "https://hub.example.jp/misato/fhir"
	kawajimaFHIR = "https://hub.example.jp/kawajima/fhir"
)

func issuers(iss string) auth.StaticIssuers {
	cfg := func(aud string) []auth.IssuerConfig {
		return []auth.IssuerConfig{{Issuer: iss, Audience: aud, RoleClaim: "role",
			FacilityClaim: "facility", TenantClaim: "tenant"}}
	}
	return auth.StaticIssuers{"misato": cfg(misatoFHIR), "kawajima": cfg(kawajimaFHIR)}
}

func authenticate(a auth.Authenticator, tenant, token string) (*auth.Principal, error) {
	r := httptest.NewRequest("GET", "/"+tenant+"/fhir/Patient", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	return a.Authenticate(context.Background(), tenant, r)
}

// TestOIDCProvider verifies real oidc-provider tokens with auth.OIDC.
func TestOIDCProvider(t *testing.T) {
	start := time.Now()
	p := oidc.Start(t)
	t.Logf("oidc-provider at %s, ready in %v", p.Issuer, time.Since(start).Round(time.Millisecond))
	o := auth.NewOIDC(issuers(p.Issuer))
	ctx := context.Background()
	token := func(t *testing.T, client, scope, resource string) string {
		t.Helper()
		tok, err := p.Token(ctx, client, scope, resource)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	unauthorized := func(t *testing.T, tenant, tok string) {
		t.Helper()
		_, err := authenticate(o, tenant, tok)
		if fe := fhir.AsError(err); fe == nil || fe.Kind != fhir.KindUnauthenticated {
			t.Fatalf("err %v, want 401", err)
		}
		t.Log(err)
	}

	t.Run("OKStaff", func(t *testing.T) {
		// user/Encounter.rs is no client's scope, so the provider does not know it and drops it
		// silently (a scope it knows but the client may not have is an invalid_scope error).
		tok := token(t, "staff-misato", "openid user/Patient.rs user/Observation.rs user/Encounter.rs", misatoFHIR)
		pr, err := authenticate(o, "misato", tok)
		if err != nil {
			t.Fatal(err)
		}
		if pr.Subject != "staff-misato" || pr.Tenant != "misato" || pr.Role != auth.RoleMunicipalStaff ||
			pr.Issuer != p.Issuer || pr.Scopes.String() != "user/Patient.rs user/Observation.rs" {
			t.Fatalf("principal %+v (scopes %s)", pr, pr.Scopes)
		}
		if d := (&auth.Guard{}).Decide(ctx, pr, auth.Action{Op: auth.OpRead}, auth.Type("Patient")); !d.Allowed {
			t.Fatal(d.Reason)
		}
	})
	t.Run("OKFacility", func(t *testing.T) {
		pr, err := authenticate(o, "misato", token(t, "nursery-misato", "user/Observation.cruds", misatoFHIR))
		if err != nil || pr.Role != auth.RoleFacility || pr.Facility != "Organization/nursery-1" {
			t.Fatalf("%+v %v", pr, err)
		}
	})
	t.Run("OKChainedWithHubTokens", func(t *testing.T) {
		a := auth.Chain(o)
		if _, err := authenticate(a, "misato", token(t, "auditor-misato", "user/AuditEvent.rs", misatoFHIR)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ErrOtherTenantsToken", func(t *testing.T) {
		// kawajima's staff token, even with misato's audience, carries tenant kawajima.
		unauthorized(t, "misato", token(t, "staff-kawajima", "user/Patient.rs", misatoFHIR))
	})
	t.Run("ErrWrongAudience", func(t *testing.T) {
		unauthorized(t, "misato", token(t, "staff-misato", "user/Patient.rs", kawajimaFHIR))
	})
	t.Run("ErrOnlyDroppedScopes", func(t *testing.T) {
		unauthorized(t, "misato", token(t, "staff-misato", "openid user/Encounter.rs", misatoFHIR))
	})
	t.Run("ErrTampered", func(t *testing.T) {
		parts := strings.Split(token(t, "staff-misato", "user/Patient.rs", misatoFHIR), ".")
		claims, _ := base64.RawURLEncoding.DecodeString(parts[1])
		forged := strings.Replace(string(claims), "user/Patient.rs", "user/*.cruds", 1)
		unauthorized(t, "misato", parts[0]+"."+base64.RawURLEncoding.EncodeToString([]byte(forged))+"."+parts[2])
	})
	t.Run("ErrAlgNone", func(t *testing.T) {
		parts := strings.Split(token(t, "staff-misato", "user/Patient.rs", misatoFHIR), ".")
		hdr := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"at+jwt"}`))
		unauthorized(t, "misato", hdr+"."+parts[1]+".")
	})
}
