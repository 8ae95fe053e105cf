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
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// Client is a registered SMART Backend Services client: a facility's or vendor's system
// that authenticates with a JWT signed by one of its own keys (private_key_jwt).
type Client struct {
	ID     string
	Tenant string
	Name   string
	// JWKS is the client's public JWK Set, when registered inline.
	JWKS json.RawMessage
	// JWKSURL is where the client publishes its public JWK Set, when not inline. It is
	// fetched with a short cache and refetched when an assertion names an unknown kid.
	JWKSURL string
	// Scopes are the system/ scopes the client may be granted.
	Scopes Scopes
	// Facility is the Organization the client acts for ("Organization/ID"), empty for a
	// vendor system that serves the town as a whole.
	Facility string
	// FacilityKind is FacilityHospital, FacilityNursery, FacilitySchool or
	// FacilityChildGuidance when Facility is set.
	FacilityKind string
	// Role is RoleFacility or RoleVendorSystem.
	Role     string
	Disabled bool
	// RateLimit is the client's request rate; zero means the server's default.
	RateLimit Rate
}

// ClientSpec is what an administrator gives to register a client (CLI or admin API).
type ClientSpec struct {
	Tenant string
	// ID is the client id; empty means a random one is generated.
	ID   string
	Name string
	// Exactly one of JWKS (a public JWK Set document) and JWKSURL.
	JWKS    []byte
	JWKSURL string
	// Scope is the space-separated system/ scopes the client may request.
	Scope        string
	Facility     string
	FacilityKind string
	// Role defaults to RoleFacility when Facility is set, RoleVendorSystem otherwise.
	Role      string
	RateLimit Rate
}

// ClientStore finds registered clients. The store implements it; a registration or a
// disabled flag written by the admin CLI must be seen at once.
type ClientStore interface {
	// Client returns the client, or an error wrapping ErrUnknownClient.
	Client(ctx context.Context, tenant, clientID string) (Client, error)
}

// ErrUnknownClient is returned (wrapped) by a ClientStore for an unregistered client.
var ErrUnknownClient = errors.New("auth: unknown client")

// NewClient validates spec and returns the client to store: the JWK Set must parse and hold
// only public RSA keys of at least 2048 bits or EC P-384 keys, each with a unique kid; a
// JWKS URL must be https (http only on loopback, for tests); scopes must be system/
// scopes; a facility must be an Organization reference. Every problem is reported at once.
// random supplies the generated client id.
func NewClient(spec ClientSpec, random io.Reader) (Client, error) {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	c := Client{ID: spec.ID, Tenant: spec.Tenant, Name: spec.Name, JWKSURL: spec.JWKSURL,
		Facility: spec.Facility, FacilityKind: spec.FacilityKind, Role: spec.Role, RateLimit: spec.RateLimit}
	if spec.Tenant == "" {
		bad("tenant", "required")
	}
	if c.ID == "" {
		b := make([]byte, 16)
		if _, err := io.ReadFull(random, b); err != nil {
			return Client{}, fmt.Errorf("auth: client id: %w", err)
		}
		c.ID = hex.EncodeToString(b)
	} else if !validClientID(c.ID) {
		bad("id", "%q: use 1-64 letters, digits, '-', '_' or '.'", c.ID)
	}
	switch {
	case len(spec.JWKS) > 0 && spec.JWKSURL != "":
		bad("jwks", "give either a JWK Set or a JWKS URL, not both")
	case len(spec.JWKS) > 0:
		set, err := parseClientJWKS(spec.JWKS)
		if err != nil {
			bad("jwks", "%v", err)
		} else if b, err := json.Marshal(set); err == nil {
			c.JWKS = b // normalised: public keys only, as parsed
		}
	case spec.JWKSURL != "":
		if err := checkJWKSURL(spec.JWKSURL); err != nil {
			bad("jwks_url", "%v", err)
		}
	default:
		bad("jwks", "a JWK Set or a JWKS URL is required")
	}
	scopes, err := ParseScopes(spec.Scope)
	switch {
	case err != nil:
		bad("scope", "%v", err)
	case len(scopes) == 0:
		bad("scope", "at least one system/ resource scope is required")
	}
	for _, s := range scopes {
		if s.Context != "system" {
			bad("scope", "%s: backend services clients get system/ scopes only", s)
		}
	}
	c.Scopes = scopes
	if c.Role == "" {
		c.Role = RoleVendorSystem
		if c.Facility != "" {
			c.Role = RoleFacility
		}
	}
	switch c.Role {
	case RoleFacility:
		if c.Facility == "" {
			bad("facility", "required for role %s", RoleFacility)
		}
	case RoleVendorSystem:
	default:
		bad("role", "%q: a client is %s or %s", c.Role, RoleFacility, RoleVendorSystem)
	}
	if c.Facility != "" {
		if id, ok := strings.CutPrefix(c.Facility, "Organization/"); !ok || !validClientID(id) {
			bad("facility", "%q: want Organization/ID", c.Facility)
		}
	}
	if c.FacilityKind != "" && !knownFacilityKind(c.FacilityKind) {
		bad("facility_kind", "%q: want one of %s", c.FacilityKind, strings.Join(facilityKinds, ", "))
	}
	if c.RateLimit.PerSecond < 0 || c.RateLimit.Burst < 0 {
		bad("rate_limit", "must not be negative")
	}
	if len(errs) > 0 {
		return Client{}, fmt.Errorf("auth: invalid client: %w", errors.Join(errs...))
	}
	return c, nil
}

func validClientID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func checkJWKSURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	switch {
	case u.Scheme == "https" && u.Host != "":
		return nil
	case u.Scheme == "http" && isLoopback(u.Hostname()):
		return nil
	}
	return fmt.Errorf("%q: must be an https URL", s)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// parseClientJWKS parses a client's JWK Set and checks every key (checkClientKey).
func parseClientJWKS(b []byte) (jwk.Set, error) {
	set, err := jwk.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("not a JWK Set: %v", err)
	}
	if set.Len() == 0 {
		return nil, errors.New("the JWK Set holds no key")
	}
	var errs []error
	kids := map[string]bool{}
	for i := range set.Len() {
		k, _ := set.Key(i)
		if err := checkClientKey(k); err != nil {
			errs = append(errs, fmt.Errorf("key %d (kid %q): %w", i, k.KeyID(), err))
			continue
		}
		if kids[k.KeyID()] {
			errs = append(errs, fmt.Errorf("key %d: kid %q is not unique", i, k.KeyID()))
		}
		kids[k.KeyID()] = true
	}
	return set, errors.Join(errs...)
}

// checkClientKey accepts a public RSA key of at least 2048 bits (for RS384) or a public EC
// P-384 key (for ES384), with a kid.
func checkClientKey(k jwk.Key) error {
	if k.KeyID() == "" {
		return errors.New("a kid is required")
	}
	switch k := k.(type) {
	case jwk.RSAPrivateKey, jwk.ECDSAPrivateKey, jwk.OKPPrivateKey, jwk.SymmetricKey:
		return errors.New("only public keys may be registered")
	case jwk.RSAPublicKey:
		var raw rsa.PublicKey
		if err := k.Raw(&raw); err != nil {
			return err
		}
		if raw.N.BitLen() < 2048 {
			return fmt.Errorf("RSA key of %d bits: at least 2048 are required", raw.N.BitLen())
		}
		if a := k.Algorithm().String(); a != "" && a != jwa.RS384.String() {
			return fmt.Errorf("RSA key with alg %s", a)
		}
	case jwk.ECDSAPublicKey:
		if k.Crv() != jwa.P384 {
			return fmt.Errorf("EC curve %s: P-384 is required", k.Crv())
		}
		if a := k.Algorithm().String(); a != "" && a != jwa.ES384.String() {
			return fmt.Errorf("EC key with alg %s", a)
		}
	default:
		return fmt.Errorf("key type %s: RSA or EC P-384 is required", k.KeyType())
	}
	return nil
}

// MemClients is an in-memory ClientStore for tests and single processes.
type MemClients struct {
	mu sync.RWMutex
	m  map[[2]string]Client
}

// Put registers or replaces c.
func (m *MemClients) Put(c Client) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = map[[2]string]Client{}
	}
	m.m[[2]string{c.Tenant, c.ID}] = c
}

// Client implements ClientStore.
func (m *MemClients) Client(_ context.Context, tenant, id string) (Client, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	c, ok := m.m[[2]string{tenant, id}]
	if !ok {
		return Client{}, fmt.Errorf("%w %q", ErrUnknownClient, id)
	}
	return c, nil
}

// jwksCache fetches clients' JWKS URLs: a set is reused for jwksTTL, and refetched sooner
// (at most every jwksMinRefetch) when an assertion names a kid it does not hold.
type jwksCache struct {
	mu      sync.Mutex
	entries map[string]*jwksEntry
}

type jwksEntry struct {
	mu      sync.Mutex // held while fetching
	set     jwk.Set
	fetched time.Time
}

const (
	jwksTTL        = 5 * time.Minute
	jwksMinRefetch = 10 * time.Second
	jwksMaxBytes   = 256 << 10
)

// key returns the key with kid from the set at url, fetching as needed.
func (c *jwksCache) key(ctx context.Context, client *http.Client, url, kid string, now time.Time) (jwk.Key, error) {
	c.mu.Lock()
	if c.entries == nil {
		c.entries = map[string]*jwksEntry{}
	}
	e := c.entries[url]
	if e == nil {
		e = &jwksEntry{}
		c.entries[url] = e
	}
	c.mu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.set != nil && now.Sub(e.fetched) < jwksTTL {
		if k, ok := e.set.LookupKeyID(kid); ok {
			return k, nil
		}
		if now.Sub(e.fetched) < jwksMinRefetch {
			return nil, fmt.Errorf("no key with kid %q", kid)
		}
	}
	set, err := fetchJWKS(ctx, client, url)
	if err != nil {
		return nil, err
	}
	e.set, e.fetched = set, now
	if k, ok := set.LookupKeyID(kid); ok {
		return k, nil
	}
	return nil, fmt.Errorf("no key with kid %q", kid)
}

// fetchJWKS gets a JWK Set, keeping only the keys checkClientKey accepts.
func fetchJWKS(ctx context.Context, client *http.Client, url string) (jwk.Set, error) {
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching the client's JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching the client's JWKS: %s", resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, jwksMaxBytes))
	if err != nil {
		return nil, fmt.Errorf("fetching the client's JWKS: %w", err)
	}
	set, err := jwk.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("the client's JWKS: %w", err)
	}
	good := jwk.NewSet()
	for i := range set.Len() {
		k, _ := set.Key(i)
		if checkClientKey(k) == nil {
			_ = good.AddKey(k)
		}
	}
	return good, nil
}
