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
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/kodomohub/kodomohub/fhir"
)

// IssuerConfig is one identity provider a tenant trusts for its staff.
type IssuerConfig struct {
	// Issuer is the provider's issuer URL, exactly as in its tokens' iss and its discovery
	// document (/.well-known/openid-configuration).
	Issuer string
	// Audience must be one of the token's aud values; usually the tenant's FHIR base URL.
	Audience string
	// ClientID, when set, must equal the token's azp or client_id claim: only tokens
	// obtained by that client are accepted.
	ClientID string
	// JWKSURL, when set, is used instead of discovery to find the provider's keys.
	JWKSURL string
	// RoleClaim, FacilityClaim, FacilityKindClaim and TenantClaim name the claims that carry
	// the hub role, the facility (Organization/ID), its kind and the tenant. An empty name
	// means the token carries none. When TenantClaim is set, the claim must equal the tenant
	// of the URL.
	RoleClaim, FacilityClaim, FacilityKindClaim, TenantClaim string
	// ScopeClaim names the claim with the granted scopes: a space-separated string or an
	// array of strings. Empty means "scope", falling back to "scp".
	ScopeClaim string
}

// Issuers tells which identity providers a tenant trusts. It is asked on every request
// (also for cached tokens, so removing an issuer takes effect at once): implementations
// keep it in memory and refresh from configuration or the store as they see fit.
type Issuers interface {
	Issuers(ctx context.Context, tenant string) ([]IssuerConfig, error)
}

// StaticIssuers is an Issuers from a fixed map of tenant → trusted issuers.
type StaticIssuers map[string][]IssuerConfig

// Issuers implements Issuers.
func (s StaticIssuers) Issuers(_ context.Context, tenant string) ([]IssuerConfig, error) {
	return s[tenant], nil
}

// asymmetricAlgs are the signature algorithms accepted from identity providers. Symmetric
// (HS*) and "none" are never accepted: the keys we hold are public.
var asymmetricAlgs = []string{
	oidc.RS256, oidc.RS384, oidc.RS512, oidc.ES256, oidc.ES384, oidc.ES512,
	oidc.PS256, oidc.PS384, oidc.PS512, oidc.EdDSA,
}

// clockSkew is the tolerance for exp and nbf.
const clockSkew = 30 * time.Second

// OIDC authenticates people with bearer JWTs (access tokens or ID tokens) from the identity
// providers each tenant trusts. It verifies signature (keys from the provider's JWKS, which
// is refetched when a token names a key not seen before, so key rotation is followed),
// iss, aud, exp and nbf, the tenant claim, and requires at least one SMART resource scope.
type OIDC struct {
	Issuers Issuers
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Client, when set, is used for discovery and JWKS requests.
	Client *http.Client

	mu        sync.Mutex
	verifiers map[string]*issuerVerifier // issuer|jwksURL → verifier
	cache     tokenCache
}

type issuerVerifier struct {
	v *oidc.IDTokenVerifier
	// failed is when discovery last failed; it is retried after discoveryRetry.
	failed time.Time
	err    error
}

const discoveryRetry = 10 * time.Second

var _ Authenticator = (*OIDC)(nil)

// NewOIDC returns an OIDC authenticator over issuers.
func NewOIDC(issuers Issuers) *OIDC {
	return &OIDC{Issuers: issuers, Now: time.Now}
}

func (o *OIDC) now() time.Time {
	if o.Now == nil {
		return time.Now()
	}
	return o.Now()
}

func unauthorized(format string, args ...any) *fhir.Error {
	return fhir.Errorf(fhir.KindUnauthenticated, fhir.IssueLogin, format, args...)
}

// HandlesIssuer reports whether iss is a trusted issuer of tenant (for Chain).
func (o *OIDC) HandlesIssuer(ctx context.Context, tenant, iss string) bool {
	_, ok, _ := o.issuer(ctx, tenant, iss)
	return ok
}

func (o *OIDC) issuer(ctx context.Context, tenant, iss string) (IssuerConfig, bool, error) {
	cfgs, err := o.Issuers.Issuers(ctx, tenant)
	if err != nil {
		return IssuerConfig{}, false, err
	}
	for _, c := range cfgs {
		if c.Issuer == iss && iss != "" {
			return c, true, nil
		}
	}
	return IssuerConfig{}, false, nil
}

// Authenticate implements Authenticator.
func (o *OIDC) Authenticate(ctx context.Context, tenant string, r *http.Request) (*Principal, error) {
	raw := bearer(r)
	if raw == "" {
		return nil, unauthorized("a bearer token is required")
	}
	iss, err := unverifiedIssuer(raw)
	if err != nil {
		return nil, unauthorized("invalid token: %v", err)
	}
	cfg, ok, err := o.issuer(ctx, tenant, iss)
	if err != nil {
		return nil, fmt.Errorf("auth: issuers of %s: %w", tenant, err)
	}
	if !ok {
		return nil, unauthorized("the token's issuer is not trusted by this tenant")
	}
	now := o.now()
	if p, extra, ok := o.cache.get(raw, tenant, now); ok && p.Issuer == iss && extra == cfg {
		return p, nil // the issuer is still trusted, with the same settings
	}
	p, exp, err := o.verify(ctx, tenant, cfg, raw, now)
	if err != nil {
		return nil, err
	}
	o.cache.put(raw, tenant, p, exp, cfg)
	return p, nil
}

func (o *OIDC) verify(ctx context.Context, tenant string, cfg IssuerConfig, raw string, now time.Time) (*Principal, time.Time, error) {
	v, err := o.verifier(ctx, cfg)
	if err != nil {
		return nil, time.Time{}, fhir.Wrap(err, fhir.KindUnauthenticated, fhir.IssueLogin,
			"the token's issuer cannot be reached to verify it")
	}
	tok, err := v.Verify(ctx, raw)
	if err != nil {
		return nil, time.Time{}, fhir.Wrap(err, fhir.KindUnauthenticated, fhir.IssueLogin, "invalid token: %v", err)
	}
	var claims map[string]any
	if err := tok.Claims(&claims); err != nil {
		return nil, time.Time{}, fhir.Wrap(err, fhir.KindUnauthenticated, fhir.IssueLogin, "invalid token claims")
	}
	if nbf, ok := claims["nbf"].(float64); ok && now.Add(clockSkew).Before(time.Unix(int64(nbf), 0)) {
		return nil, time.Time{}, unauthorized("the token is not valid yet")
	}
	if tok.Expiry.IsZero() {
		return nil, time.Time{}, unauthorized("the token has no expiry")
	}
	if cfg.Audience == "" || !slices.Contains(tok.Audience, cfg.Audience) {
		return nil, time.Time{}, unauthorized("the token is not meant for this server (aud)")
	}
	str := func(name string) string {
		if name == "" {
			return ""
		}
		s, _ := claims[name].(string)
		return s
	}
	clientID := cmpOr(str("client_id"), str("azp"))
	if cfg.ClientID != "" && clientID != cfg.ClientID {
		return nil, time.Time{}, unauthorized("the token was not issued to the expected client")
	}
	if cfg.TenantClaim != "" && str(cfg.TenantClaim) != tenant {
		return nil, time.Time{}, unauthorized("the token is for another tenant")
	}
	scopes, err := ParseScopes(scopeClaim(claims, cfg.ScopeClaim))
	if err != nil {
		return nil, time.Time{}, fhir.Wrap(err, fhir.KindUnauthenticated, fhir.IssueLogin, "invalid token: %v", err)
	}
	if len(scopes) == 0 {
		return nil, time.Time{}, unauthorized("the token carries no usable SMART scope")
	}
	p := &Principal{Subject: tok.Subject, Tenant: tenant, ClientID: clientID, Role: str(cfg.RoleClaim),
		Facility: str(cfg.FacilityClaim), FacilityKind: str(cfg.FacilityKindClaim), Scopes: scopes, Issuer: tok.Issuer,
		Patient: PatientContext(str("patient"))}
	return p, tok.Expiry, nil
}

// scopeClaim returns the scopes of claims as one space-separated string: name (default
// "scope", then "scp"), as a string or an array of strings.
func scopeClaim(claims map[string]any, name string) string {
	names := []string{name}
	if name == "" {
		names = []string{"scope", "scp"}
	}
	for _, n := range names {
		switch v := claims[n].(type) {
		case string:
			return v
		case []any:
			parts := make([]string, 0, len(v))
			for _, e := range v {
				if s, ok := e.(string); ok {
					parts = append(parts, s)
				}
			}
			return strings.Join(parts, " ")
		}
	}
	return ""
}

// verifier returns the go-oidc verifier of cfg, discovering the provider on first use.
// A failed discovery is remembered for discoveryRetry so a down provider is not hammered.
func (o *OIDC) verifier(ctx context.Context, cfg IssuerConfig) (*oidc.IDTokenVerifier, error) {
	key := cfg.Issuer + "|" + cfg.JWKSURL
	o.mu.Lock()
	iv := o.verifiers[key]
	o.mu.Unlock()
	now := o.now()
	if iv != nil && (iv.v != nil || now.Sub(iv.failed) < discoveryRetry) {
		return iv.v, iv.err
	}
	vcfg := &oidc.Config{SkipClientIDCheck: true, SupportedSigningAlgs: asymmetricAlgs, Now: o.now}
	if o.Client != nil {
		ctx = oidc.ClientContext(ctx, o.Client)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	iv = &issuerVerifier{}
	if cfg.JWKSURL != "" {
		iv.v = oidc.NewVerifier(cfg.Issuer, oidc.NewRemoteKeySet(ctx, cfg.JWKSURL), vcfg)
	} else if prov, err := oidc.NewProvider(ctx, cfg.Issuer); err != nil {
		iv.failed, iv.err = now, err
	} else {
		iv.v = prov.VerifierContext(context.WithoutCancel(ctx), vcfg)
	}
	o.mu.Lock()
	if o.verifiers == nil {
		o.verifiers = map[string]*issuerVerifier{}
	}
	o.verifiers[key] = iv
	o.mu.Unlock()
	return iv.v, iv.err
}

// unverifiedIssuer reads the iss claim of a compact JWS without verifying it: only to pick
// the key set that will verify it.
func unverifiedIssuer(raw string) (string, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return "", errors.New("not a compact JWS")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", errors.New("malformed payload")
	}
	var c struct {
		Iss string `json:"iss"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return "", errors.New("malformed claims")
	}
	return c.Iss, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// IssuerMatcher is implemented by authenticators that know which token issuers they
// verify; Chain uses it to send a token to the one authenticator responsible for it.
type IssuerMatcher interface {
	HandlesIssuer(ctx context.Context, tenant, iss string) bool
}

// Chain returns an Authenticator that gives each token to the authenticator handling its
// issuer (IssuerMatcher), and only to that one. Authenticators that do not implement
// IssuerMatcher are tried in order when no matcher claims the issuer; the first success
// wins. With none left, the token is rejected with 401.
func Chain(authenticators ...Authenticator) Authenticator {
	return chain(authenticators)
}

type chain []Authenticator

func (c chain) Authenticate(ctx context.Context, tenant string, r *http.Request) (*Principal, error) {
	raw := bearer(r)
	if raw == "" {
		return nil, unauthorized("a bearer token is required")
	}
	iss, _ := unverifiedIssuer(raw)
	for _, a := range c {
		if m, ok := a.(IssuerMatcher); ok && m.HandlesIssuer(ctx, tenant, iss) {
			return a.Authenticate(ctx, tenant, r)
		}
	}
	var last error = unauthorized("the token's issuer is not trusted by this tenant")
	for _, a := range c {
		if _, ok := a.(IssuerMatcher); ok {
			continue
		}
		p, err := a.Authenticate(ctx, tenant, r)
		if err == nil {
			return p, nil
		}
		last = err
	}
	return nil, last
}

// tokenCache keeps the principals of verified tokens until they expire, bounded: verifying
// a signature costs more than the rest of a read. It is emptied when full.
type tokenCache struct {
	m sync.Map // raw token → cachedToken
	n sync.Mutex
	c int
}

type cachedToken struct {
	p      *Principal
	tenant string
	exp    time.Time
	extra  any
}

func (c *tokenCache) get(raw, tenant string, now time.Time) (*Principal, any, bool) {
	v, ok := c.m.Load(raw)
	if !ok {
		return nil, nil, false
	}
	ct := v.(cachedToken)
	if ct.tenant != tenant || !now.Before(ct.exp) {
		return nil, nil, false
	}
	return ct.p, ct.extra, true
}

func (c *tokenCache) put(raw, tenant string, p *Principal, exp time.Time, extra any) {
	c.n.Lock()
	c.c++
	if c.c > maxVerified {
		c.m.Clear()
		c.c = 1
	}
	c.n.Unlock()
	c.m.Store(raw, cachedToken{p: p, tenant: tenant, exp: exp, extra: extra})
}
