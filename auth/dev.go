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
	"crypto/rand"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/kodomohub/kodomohub/fhir"
)

// DevIssuer is the issuer of dev-mode tokens.
const DevIssuer = "kodomohub-dev"

const devKeyName = "auth/dev-token-key"

// SecretStore keeps named secrets shared by every process on the same data (store.Store has it).
type SecretStore interface {
	LoadOrStoreSecret(ctx context.Context, name string, value []byte) ([]byte, error)
}

// Dev mints and verifies dev-mode tokens: HS256 JWTs signed with a key kept in the store, so
// `kodomohub dev-token` and a `--auth dev` server on the same data agree without a restart.
// Dev mode is for demos and tests on loopback only.
type Dev struct {
	key jwk.Key
	Now func() time.Time
	// verified caches the principals of tokens whose signature was checked, until they
	// expire: verifying an HS256 JWT costs more than the rest of a read.
	verified sync.Map // token → verifiedToken
	size     atomic.Int64
}

type verifiedToken struct {
	p        *Principal
	tenant   string
	nbf, exp time.Time
}

// maxVerified bounds the verified-token cache; it is emptied when full.
const maxVerified = 10000

// NewDev loads (or creates, once) the dev signing key from secrets.
func NewDev(ctx context.Context, secrets SecretStore) (*Dev, error) {
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	raw, err := secrets.LoadOrStoreSecret(ctx, devKeyName, fresh)
	if err != nil {
		return nil, fmt.Errorf("auth: dev key: %w", err)
	}
	key, err := jwk.FromRaw(raw)
	if err != nil {
		return nil, fmt.Errorf("auth: dev key: %w", err)
	}
	return &Dev{key: key, Now: time.Now}, nil
}

// DevClaims describe a dev token.
type DevClaims struct {
	Tenant   string
	Subject  string
	Scope    string
	Role     string
	Facility string
	// FacilityKind is the kind of Facility (FacilityHospital, …).
	FacilityKind string
	// Patient is the launch context of patient/ scopes: "Patient/ID" or "ID".
	Patient string
	TTL     time.Duration
}

// Mint returns a signed dev token.
func (d *Dev) Mint(c DevClaims) (string, error) {
	if _, err := ParseScopes(c.Scope); err != nil {
		return "", err
	}
	now := d.Now()
	b := jwt.NewBuilder().Issuer(DevIssuer).Audience([]string{c.Tenant}).Subject(c.Subject).
		IssuedAt(now).NotBefore(now.Add(-time.Minute)).Expiration(now.Add(c.TTL)).
		Claim("scope", c.Scope)
	if c.Role != "" {
		b = b.Claim("role", c.Role)
	}
	if c.FacilityKind != "" {
		b = b.Claim("facility_kind", c.FacilityKind)
	}
	if c.Patient != "" {
		b = b.Claim("patient", c.Patient)
	}
	if c.Facility != "" {
		b = b.Claim("facility", c.Facility)
	}
	tok, err := b.Build()
	if err != nil {
		return "", err
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.HS256, d.key))
	return string(signed), err
}

// HandlesIssuer implements IssuerMatcher: dev tokens carry the issuer DevIssuer.
func (d *Dev) HandlesIssuer(_ context.Context, _, iss string) bool { return iss == DevIssuer }

// Authenticate implements Authenticator: the bearer token must be a dev token for tenant.
func (d *Dev) Authenticate(_ context.Context, tenant string, r *http.Request) (*Principal, error) {
	raw := bearer(r)
	if raw == "" {
		return nil, fhir.Errorf(fhir.KindUnauthenticated, fhir.IssueLogin, "a bearer token is required")
	}
	if v, ok := d.verified.Load(raw); ok {
		vt := v.(verifiedToken)
		now := d.Now()
		if vt.tenant == tenant && now.Before(vt.exp.Add(30*time.Second)) && !now.Before(vt.nbf.Add(-30*time.Second)) {
			return vt.p, nil
		}
	}
	tok, err := jwt.Parse([]byte(raw), jwt.WithKey(jwa.HS256, d.key), jwt.WithValidate(true),
		jwt.WithIssuer(DevIssuer), jwt.WithAudience(tenant), jwt.WithClock(jwt.ClockFunc(d.Now)),
		jwt.WithAcceptableSkew(30*time.Second))
	if err != nil {
		return nil, fhir.Wrap(err, fhir.KindUnauthenticated, fhir.IssueLogin, "invalid token: %v", err)
	}
	claim := func(name string) string {
		v, _ := tok.Get(name)
		s, _ := v.(string)
		return s
	}
	scopes, err := ParseScopes(claim("scope"))
	if err != nil {
		return nil, fhir.Wrap(err, fhir.KindUnauthenticated, fhir.IssueLogin, "invalid token: %v", err)
	}
	if len(scopes) == 0 {
		return nil, fhir.Errorf(fhir.KindUnauthenticated, fhir.IssueLogin, "the token carries no usable SMART scope")
	}
	p := &Principal{Subject: tok.Subject(), Tenant: tenant, Role: claim("role"),
		Facility: claim("facility"), FacilityKind: claim("facility_kind"), Patient: PatientContext(claim("patient")),
		Scopes: scopes}
	if d.size.Add(1) > maxVerified {
		d.verified.Clear()
		d.size.Store(1)
	}
	d.verified.Store(raw, verifiedToken{p: p, tenant: tenant, nbf: tok.NotBefore(), exp: tok.Expiration()})
	return p, nil
}
