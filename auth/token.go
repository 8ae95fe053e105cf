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
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/kodomohub/kodomohub/fhir"
)

// SMART Backend Services constants.
const (
	GrantClientCredentials = "client_credentials"
	AssertionTypeJWTBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	// TokenTTL is the lifetime of the access tokens the hub issues.
	TokenTTL = 5 * time.Minute
	// MaxAssertionTTL is how far in the future a client assertion's exp may be.
	MaxAssertionTTL = 5 * time.Minute
)

const hubKeyName = "auth/hub-token-key"

// hubTokenAlg signs the hub's access tokens.
var hubTokenAlg = jwa.ES256

// ReplayCache remembers client assertion ids (jti) until the assertion expires, so an
// assertion can be used once. The store implements it for deployments with several
// processes; MemReplayCache serves tests and single processes.
type ReplayCache interface {
	// Seen records jti for (tenant, clientID) until the given time and reports whether it
	// was already recorded and unexpired. It must be atomic: of two concurrent calls with
	// the same jti, exactly one reports false.
	Seen(ctx context.Context, tenant, clientID, jti string, until time.Time) (replayed bool, err error)
}

// TokenService is the SMART Backend Services token endpoint of every tenant, and the
// Authenticator of the access tokens it issues.
//
// URLs derive from BaseURL (the hub's external URL): the token endpoint of tenant t is
// BaseURL/t/auth/token (the aud a client assertion must carry), the issuer of its tokens is
// BaseURL/t/auth, and their audience is the FHIR base BaseURL/t/fhir.
type TokenService struct {
	Clients ClientStore
	Replay  ReplayCache
	BaseURL string
	// Now is the clock and Rand the source of token ids; nil means time.Now and crypto/rand.
	Now  func() time.Time
	Rand io.Reader
	// HTTPClient fetches clients' JWKS URLs; nil means a client with a 5 s timeout.
	HTTPClient *http.Client

	key   jwk.Key // private signing key
	pub   jwk.Key
	jwks  jwksCache
	cache tokenCache
}

var (
	_ Authenticator = (*TokenService)(nil)
	_ IssuerMatcher = (*TokenService)(nil)
)

// NewTokenService loads the hub's signing key from secrets (creating it once: an ECDSA P-256
// key kept as a JWK under "auth/hub-token-key", shared by every process on the same data).
func NewTokenService(ctx context.Context, secrets SecretStore, clients ClientStore, replay ReplayCache, baseURL string) (*TokenService, error) {
	fresh, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	fk, err := jwk.FromRaw(fresh)
	if err != nil {
		return nil, err
	}
	fb, err := json.Marshal(fk)
	if err != nil {
		return nil, err
	}
	raw, err := secrets.LoadOrStoreSecret(ctx, hubKeyName, fb)
	if err != nil {
		return nil, fmt.Errorf("auth: hub token key: %w", err)
	}
	key, err := jwk.ParseKey(raw)
	if err != nil {
		return nil, fmt.Errorf("auth: hub token key: %w", err)
	}
	tp, err := key.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, err
	}
	_ = key.Set(jwk.KeyIDKey, base64.RawURLEncoding.EncodeToString(tp))
	_ = key.Set(jwk.AlgorithmKey, hubTokenAlg)
	_ = key.Set(jwk.KeyUsageKey, "sig")
	pub, err := key.PublicKey()
	if err != nil {
		return nil, err
	}
	return &TokenService{Clients: clients, Replay: replay, BaseURL: strings.TrimSuffix(baseURL, "/"),
		Now: time.Now, Rand: rand.Reader, key: key, pub: pub}, nil
}

func (s *TokenService) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// Issuer is the iss of the access tokens issued for tenant.
func (s *TokenService) Issuer(tenant string) string { return s.BaseURL + "/" + tenant + "/auth" }

// TokenURL is tenant's token endpoint, the aud of client assertions.
func (s *TokenService) TokenURL(tenant string) string { return s.Issuer(tenant) + "/token" }

// FHIRBase is tenant's FHIR base URL, the aud of the access tokens issued for it.
func (s *TokenService) FHIRBase(tenant string) string { return s.BaseURL + "/" + tenant + "/fhir" }

// PublicJWKS returns the JWK Set with the hub's public token key, for a jwks_uri.
func (s *TokenService) PublicJWKS() []byte {
	set := jwk.NewSet()
	_ = set.AddKey(s.pub)
	b, _ := json.Marshal(set)
	return b
}

// SmartConfiguration returns tenant's /.well-known/smart-configuration document.
func (s *TokenService) SmartConfiguration(tenant string) map[string]any {
	return SmartConfiguration(s.Issuer(tenant), s.TokenURL(tenant), "")
}

// SmartConfiguration returns a /.well-known/smart-configuration document for a server whose
// only grant is SMART Backend Services (client_credentials with private_key_jwt). jwksURL
// may be empty.
func SmartConfiguration(issuer, tokenURL, jwksURL string) map[string]any {
	doc := map[string]any{
		"issuer":                                issuer,
		"token_endpoint":                        tokenURL,
		"token_endpoint_auth_methods_supported": []string{"private_key_jwt"},
		"token_endpoint_auth_signing_alg_values_supported": []string{"RS384", "ES384"},
		"grant_types_supported":                            []string{GrantClientCredentials},
		"scopes_supported": []string{"system/*.cruds", "system/*.rs", "system/*.read",
			"system/*.write", "user/*.cruds", "user/*.rs"},
		"response_types_supported": []string{"token"},
		"capabilities": []string{"client-confidential-asymmetric", "permission-v1", "permission-v2",
			"permission-user"},
		"code_challenge_methods_supported": []string{"S256"},
	}
	if jwksURL != "" {
		doc["jwks_uri"] = jwksURL
	}
	return doc
}

// TokenResponse is the OAuth 2.0 access token response.
type TokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	Scope       string `json:"scope"`
}

// OAuthError is an OAuth 2.0 error response (RFC 6749 §5.2) with its HTTP status.
type OAuthError struct {
	Status      int    `json:"-"`
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
	Err         error  `json:"-"` // the cause, for logs; never sent
}

func (e *OAuthError) Error() string { return e.Code + ": " + e.Description }
func (e *OAuthError) Unwrap() error { return e.Err }

func oauthErr(status int, code, format string, args ...any) *OAuthError {
	return &OAuthError{Status: status, Code: code, Description: fmt.Sprintf(format, args...)}
}

func invalidClient(format string, args ...any) *OAuthError {
	return oauthErr(http.StatusUnauthorized, "invalid_client", format, args...)
}

// ServeToken handles POST {TokenURL(tenant)}: a client_credentials grant authenticated by
// a private_key_jwt client assertion. The caller checks the tenant exists.
//
// Errors follow RFC 6749 and SMART Backend Services: a malformed request is invalid_request
// (400), a grant other than client_credentials unsupported_grant_type (400), any failure to
// authenticate the client (unknown or disabled client, bad signature, wrong alg, iss/sub,
// aud, expiry or a replayed jti) invalid_client (401), and scopes of which the client may
// have none invalid_scope (400). A failure of the client store or replay cache is
// server_error (500).
func (s *TokenService) ServeToken(w http.ResponseWriter, r *http.Request, tenant string) {
	resp, err := s.Token(r, tenant)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	if err != nil {
		var oe *OAuthError
		if !errors.As(err, &oe) {
			oe = &OAuthError{Status: http.StatusInternalServerError, Code: "server_error"}
		}
		if oe.Status == http.StatusUnauthorized {
			h.Set("WWW-Authenticate", `Bearer error="invalid_client"`)
		}
		w.WriteHeader(oe.Status)
		json.NewEncoder(w).Encode(oe)
		return
	}
	json.NewEncoder(w).Encode(resp)
}

// Token runs the grant of r for tenant and returns the response, or an error that is an
// *OAuthError for anything the client caused.
func (s *TokenService) Token(r *http.Request, tenant string) (*TokenResponse, error) {
	ctx := r.Context()
	if r.Method != http.MethodPost {
		return nil, oauthErr(http.StatusMethodNotAllowed, "invalid_request", "use POST")
	}
	r.Body = http.MaxBytesReader(nil, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return nil, oauthErr(http.StatusBadRequest, "invalid_request", "the body must be a form (application/x-www-form-urlencoded)")
	}
	form := r.PostForm
	for _, name := range []string{"grant_type", "client_assertion_type", "client_assertion", "scope", "client_id"} {
		if len(form[name]) > 1 {
			return nil, oauthErr(http.StatusBadRequest, "invalid_request", "%s is repeated", name)
		}
	}
	switch gt := form.Get("grant_type"); gt {
	case GrantClientCredentials:
	case "":
		return nil, oauthErr(http.StatusBadRequest, "invalid_request", "grant_type is required")
	default:
		return nil, oauthErr(http.StatusBadRequest, "unsupported_grant_type", "only client_credentials is supported")
	}
	if form.Get("client_assertion_type") != AssertionTypeJWTBearer {
		return nil, oauthErr(http.StatusBadRequest, "invalid_request", "client_assertion_type must be %s", AssertionTypeJWTBearer)
	}
	assertion := form.Get("client_assertion")
	if assertion == "" {
		return nil, oauthErr(http.StatusBadRequest, "invalid_request", "client_assertion is required")
	}
	if form.Get("scope") == "" {
		return nil, oauthErr(http.StatusBadRequest, "invalid_request", "scope is required")
	}
	client, exp, err := s.authenticateClient(ctx, tenant, assertion, form.Get("client_id"))
	if err != nil {
		return nil, err
	}
	requested, err := ParseScopes(form.Get("scope"))
	if err != nil {
		return nil, oauthErr(http.StatusBadRequest, "invalid_scope", "%v", err)
	}
	granted := grantScopes(requested, client.Scopes)
	if len(granted) == 0 {
		return nil, oauthErr(http.StatusBadRequest, "invalid_scope", "the client may have none of the requested scopes")
	}
	// The assertion is used up only once it verified, so a forger cannot burn a client's jtis.
	if replayed, err := s.Replay.Seen(ctx, tenant, client.ID, exp.jti, exp.exp); err != nil {
		return nil, fmt.Errorf("auth: replay cache: %w", err)
	} else if replayed {
		return nil, invalidClient("the client assertion was already used (jti)")
	}
	tok, err := s.mint(tenant, client, granted)
	if err != nil {
		return nil, fmt.Errorf("auth: mint: %w", err)
	}
	return &TokenResponse{AccessToken: tok, TokenType: "bearer", ExpiresIn: int(TokenTTL / time.Second),
		Scope: granted.String()}, nil
}

type assertionID struct {
	jti string
	exp time.Time
}

// authenticateClient verifies a client assertion (RFC 7523, SMART Backend Services): a JWS
// signed RS384 or ES384 by the key with the header's kid in the client's registered JWKS.
// Header parameters that point at keys (jku, jwk, x5u, x5c) are ignored: only registered
// keys verify.
func (s *TokenService) authenticateClient(ctx context.Context, tenant, assertion, formClientID string) (Client, assertionID, error) {
	msg, err := jws.Parse([]byte(assertion))
	if err != nil || len(msg.Signatures()) != 1 {
		return Client{}, assertionID{}, invalidClient("the client assertion is not a signed JWT")
	}
	hdr := msg.Signatures()[0].ProtectedHeaders()
	alg := hdr.Algorithm()
	if alg != jwa.RS384 && alg != jwa.ES384 {
		return Client{}, assertionID{}, invalidClient("the client assertion must be signed with RS384 or ES384, not %s", alg)
	}
	kid := hdr.KeyID()
	if kid == "" {
		return Client{}, assertionID{}, invalidClient("the client assertion header has no kid")
	}
	unverified, err := jwt.ParseInsecure([]byte(assertion))
	if err != nil {
		return Client{}, assertionID{}, invalidClient("the client assertion's claims do not parse")
	}
	id := unverified.Issuer()
	if id == "" || id != unverified.Subject() {
		return Client{}, assertionID{}, invalidClient("the client assertion's iss and sub must both be the client id")
	}
	if formClientID != "" && formClientID != id {
		return Client{}, assertionID{}, invalidClient("client_id does not match the client assertion")
	}
	client, err := s.Clients.Client(ctx, tenant, id)
	switch {
	case errors.Is(err, ErrUnknownClient):
		return Client{}, assertionID{}, invalidClient("unknown client")
	case err != nil:
		return Client{}, assertionID{}, fmt.Errorf("auth: client %s: %w", id, err)
	case client.Disabled || client.Tenant != tenant || client.ID != id:
		return Client{}, assertionID{}, invalidClient("unknown client")
	}
	key, err := s.clientKey(ctx, client, kid)
	if err != nil {
		return Client{}, assertionID{}, &OAuthError{Status: http.StatusUnauthorized, Code: "invalid_client",
			Description: "no registered key of the client has the assertion's kid", Err: err}
	}
	if !keyFitsAlg(key, alg) {
		return Client{}, assertionID{}, invalidClient("the key with kid %q cannot verify %s", kid, alg)
	}
	now := s.now()
	tok, err := jwt.Parse([]byte(assertion), jwt.WithKey(alg, key), jwt.WithValidate(true),
		jwt.WithClock(jwt.ClockFunc(func() time.Time { return now })), jwt.WithAcceptableSkew(clockSkew),
		jwt.WithIssuer(id), jwt.WithSubject(id), jwt.WithAudience(s.TokenURL(tenant)),
		jwt.WithRequiredClaim(jwt.ExpirationKey), jwt.WithRequiredClaim(jwt.JwtIDKey))
	if err != nil {
		return Client{}, assertionID{}, &OAuthError{Status: http.StatusUnauthorized, Code: "invalid_client",
			Description: "the client assertion does not verify: " + err.Error(), Err: err}
	}
	if tok.Expiration().After(now.Add(MaxAssertionTTL + clockSkew)) {
		return Client{}, assertionID{}, invalidClient("the client assertion's exp is more than 5 minutes ahead")
	}
	return client, assertionID{jti: tok.JwtID(), exp: tok.Expiration()}, nil
}

func (s *TokenService) clientKey(ctx context.Context, c Client, kid string) (jwk.Key, error) {
	if len(c.JWKS) > 0 {
		set, err := parseClientJWKS(c.JWKS)
		if err != nil {
			return nil, err
		}
		if k, ok := set.LookupKeyID(kid); ok {
			return k, nil
		}
		return nil, fmt.Errorf("no key with kid %q", kid)
	}
	if c.JWKSURL == "" {
		return nil, errors.New("the client has no keys")
	}
	return s.jwks.key(ctx, s.HTTPClient, c.JWKSURL, kid, s.now())
}

func keyFitsAlg(k jwk.Key, alg jwa.SignatureAlgorithm) bool {
	switch k := k.(type) {
	case jwk.RSAPublicKey:
		return alg == jwa.RS384
	case jwk.ECDSAPublicKey:
		return alg == jwa.ES384 && k.Crv() == jwa.P384
	}
	return false
}

// grantScopes returns what of requested the registered scopes allow: the intersection of
// each requested system/ scope with each registered one (types, operations and query
// restrictions). Requested user/ and patient/ scopes grant nothing.
func grantScopes(requested, registered Scopes) Scopes {
	var out Scopes
	seen := map[string]bool{}
	for _, q := range requested {
		if q.Context != "system" {
			continue
		}
		for _, g := range registered {
			sc, ok := intersectScope(q, g)
			if ok && !seen[sc.String()] {
				seen[sc.String()] = true
				out = append(out, sc)
			}
		}
	}
	return out
}

func intersectScope(a, b Scope) (Scope, bool) {
	if a.Context != b.Context {
		return Scope{}, false
	}
	out := Scope{Context: a.Context}
	switch {
	case a.Type == b.Type || b.Type == "*":
		out.Type = a.Type
	case a.Type == "*":
		out.Type = b.Type
	default:
		return Scope{}, false
	}
	for _, c := range "cruds" {
		if strings.ContainsRune(a.Ops, c) && strings.ContainsRune(b.Ops, c) {
			out.Ops += string(c)
		}
	}
	if out.Ops == "" {
		return Scope{}, false
	}
	switch {
	case a.Query == b.Query || b.Query == "":
		out.Query = a.Query
	case a.Query == "":
		out.Query = b.Query
	default:
		return Scope{}, false // two different restrictions: not expressible as one scope
	}
	return out, true
}

// mint signs an access token for client.
func (s *TokenService) mint(tenant string, c Client, scopes Scopes) (string, error) {
	jti := make([]byte, 16)
	r := s.Rand
	if r == nil {
		r = rand.Reader
	}
	if _, err := io.ReadFull(r, jti); err != nil {
		return "", err
	}
	now := s.now()
	b := jwt.NewBuilder().Issuer(s.Issuer(tenant)).Audience([]string{s.FHIRBase(tenant)}).Subject(c.ID).
		IssuedAt(now).NotBefore(now).Expiration(now.Add(TokenTTL)).
		JwtID(base64.RawURLEncoding.EncodeToString(jti)).
		Claim("client_id", c.ID).Claim("scope", scopes.String()).Claim("tenant", tenant).Claim("role", c.Role)
	if c.Facility != "" {
		b = b.Claim("facility", c.Facility)
	}
	if c.FacilityKind != "" {
		b = b.Claim("facility_kind", c.FacilityKind)
	}
	tok, err := b.Build()
	if err != nil {
		return "", err
	}
	hdr := jws.NewHeaders()
	_ = hdr.Set(jws.TypeKey, "at+jwt")
	signed, err := jwt.Sign(tok, jwt.WithKey(hubTokenAlg, s.key, jws.WithProtectedHeaders(hdr)))
	return string(signed), err
}

// HandlesIssuer implements IssuerMatcher: the hub's own tokens for tenant.
func (s *TokenService) HandlesIssuer(_ context.Context, tenant, iss string) bool {
	return iss == s.Issuer(tenant)
}

// Authenticate implements Authenticator for the access tokens the service issued: signed by
// the hub's key, iss and aud of tenant, unexpired, and the client still registered and
// enabled (checked when a token is first seen; tokens live 5 minutes).
func (s *TokenService) Authenticate(ctx context.Context, tenant string, r *http.Request) (*Principal, error) {
	raw := bearer(r)
	if raw == "" {
		return nil, unauthorized("a bearer token is required")
	}
	now := s.now()
	if p, _, ok := s.cache.get(raw, tenant, now); ok {
		return p, nil
	}
	tok, err := jwt.Parse([]byte(raw), jwt.WithKey(hubTokenAlg, s.pub), jwt.WithValidate(true),
		jwt.WithClock(jwt.ClockFunc(func() time.Time { return now })), jwt.WithAcceptableSkew(clockSkew),
		jwt.WithIssuer(s.Issuer(tenant)), jwt.WithAudience(s.FHIRBase(tenant)),
		jwt.WithClaimValue("tenant", tenant), jwt.WithRequiredClaim(jwt.ExpirationKey))
	if err != nil {
		return nil, fhir.Wrap(err, fhir.KindUnauthenticated, fhir.IssueLogin, "invalid token: %v", err)
	}
	str := func(name string) string {
		v, _ := tok.Get(name)
		s, _ := v.(string)
		return s
	}
	scopes, err := ParseScopes(str("scope"))
	if err != nil || len(scopes) == 0 {
		return nil, unauthorized("the token carries no usable SMART scope")
	}
	c, err := s.Clients.Client(ctx, tenant, tok.Subject())
	switch {
	case errors.Is(err, ErrUnknownClient):
		return nil, unauthorized("the token's client is no longer registered")
	case err != nil:
		return nil, fmt.Errorf("auth: client %s: %w", tok.Subject(), err)
	case c.Disabled:
		return nil, unauthorized("the token's client is disabled")
	}
	p := &Principal{Subject: tok.Subject(), Tenant: tenant, ClientID: tok.Subject(), Role: str("role"),
		Facility: str("facility"), FacilityKind: str("facility_kind"), Scopes: scopes, Issuer: tok.Issuer(),
		Rate: c.RateLimit}
	// The client registration is read again at most clientRecheck later, so that disabling a
	// client stops its tokens within that time rather than when they expire.
	exp := tok.Expiration()
	if recheck := now.Add(clientRecheck); recheck.Before(exp) {
		exp = recheck
	}
	s.cache.put(raw, tenant, p, exp, nil)
	return p, nil
}

// clientRecheck is how long a verified hub token is trusted without reading its client's
// registration again.
const clientRecheck = 30 * time.Second

// MemReplayCache is an in-memory ReplayCache for tests and single processes. It holds at
// most Max unexpired ids (default 100000) and refuses new ones beyond that rather than
// forget any.
type MemReplayCache struct {
	Now func() time.Time
	Max int

	mu sync.Mutex
	m  map[string]time.Time
}

// Seen implements ReplayCache.
func (c *MemReplayCache) Seen(_ context.Context, tenant, clientID, jti string, until time.Time) (bool, error) {
	now := time.Now()
	if c.Now != nil {
		now = c.Now()
	}
	k := tenant + "\x00" + clientID + "\x00" + jti
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]time.Time{}
	}
	if t, ok := c.m[k]; ok && now.Before(t.Add(clockSkew)) {
		return true, nil
	}
	max := c.Max
	if max <= 0 {
		max = 100000
	}
	if len(c.m) >= max {
		for k, t := range c.m {
			if !now.Before(t.Add(clockSkew)) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= max {
			return false, errors.New("auth: replay cache full")
		}
	}
	c.m[k] = until
	return false, nil
}
