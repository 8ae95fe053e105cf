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
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

func TestNewClient(t *testing.T) {
	rsaKey := mustRSAKey(t, "r1")
	_ = rsaKey.Remove(jwk.AlgorithmKey)
	ecKey := mustECKey(t, elliptic.P384(), "e1", jwa.ES384)
	p256 := mustECKey(t, elliptic.P256(), "p256", jwa.ES256)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	smallKey := mustJWK(t, small, "small", jwa.RS384)
	noKid := mustECKey(t, elliptic.P384(), "", jwa.ES384)
	_ = noKid.Remove(jwk.KeyIDKey)
	private := jwk.NewSet()
	_ = private.AddKey(rsaKey)
	privateJSON := mustJSON(t, private)

	good := ClientSpec{Tenant: "misato", ID: "hikari-nursery", Name: "ひかり保育園",
		JWKS: publicJWKS(t, rsaKey, ecKey), Scope: "system/Patient.rs system/Observation.cruds",
		Facility: "Organization/nursery-1", FacilityKind: FacilityNursery}
	for _, c := range []struct {
		name string
		mod  func(*ClientSpec)
		errs []string // substrings the error must carry; none means OK
	}{
		{"OK", nil, nil},
		{"OKVendorWithJWKSURL", func(s *ClientSpec) {
			s.JWKS, s.JWKSURL, s.Facility, s.FacilityKind = nil, "https://vendor.example/jwks.json", "", ""
		}, nil},
		{"OKLoopbackHTTPURL", func(s *ClientSpec) { s.JWKS, s.JWKSURL = nil, "http://127.0.0.1:8081/jwks" }, nil},
		{"ErrNoTenant", func(s *ClientSpec) { s.Tenant = "" }, []string{"tenant: required"}},
		{"ErrBadID", func(s *ClientSpec) { s.ID = "a/b" }, []string{"id:"}},
		{"ErrNoKeys", func(s *ClientSpec) { s.JWKS = nil }, []string{"a JWK Set or a JWKS URL is required"}},
		{"ErrBothKeySources", func(s *ClientSpec) { s.JWKSURL = "https://x.example/jwks" }, []string{"not both"}},
		{"ErrNotJWKS", func(s *ClientSpec) { s.JWKS = []byte(`{"hello":1}`) }, []string{"jwks:"}},
		{"ErrEmptyJWKS", func(s *ClientSpec) { s.JWKS = []byte(`{"keys":[]}`) }, []string{"no key"}},
		{"ErrSmallRSA", func(s *ClientSpec) { s.JWKS = publicJWKS(t, smallKey) }, []string{"1024 bits"}},
		{"ErrP256", func(s *ClientSpec) { s.JWKS = publicJWKS(t, p256) }, []string{"P-384 is required"}},
		{"ErrPrivateKey", func(s *ClientSpec) { s.JWKS = privateJSON }, []string{"only public keys"}},
		{"ErrNoKid", func(s *ClientSpec) { s.JWKS = publicJWKS(t, noKid) }, []string{"a kid is required"}},
		{"ErrDuplicateKid", func(s *ClientSpec) { s.JWKS = publicJWKS(t, ecKey, ecKey) }, []string{"not unique"}},
		{"ErrPlainHTTPURL", func(s *ClientSpec) { s.JWKS, s.JWKSURL = nil, "http://vendor.example/jwks" }, []string{"https"}},
		{"ErrUserScope", func(s *ClientSpec) { s.Scope = "user/Patient.rs" }, []string{"system/ scopes only"}},
		{"ErrNoScope", func(s *ClientSpec) { s.Scope = "openid" }, []string{"at least one"}},
		{"ErrBadScope", func(s *ClientSpec) { s.Scope = "system/Child.rs" }, []string{"Child"}},
		{"ErrFacilityRoleWithoutFacility", func(s *ClientSpec) { s.Facility, s.Role = "", RoleFacility }, []string{"facility: required"}},
		{"ErrFacilityNotOrganization", func(s *ClientSpec) { s.Facility = "Patient/1" }, []string{"Organization/ID"}},
		{"ErrUnknownRole", func(s *ClientSpec) { s.Role = RoleMunicipalStaff }, []string{"role:"}},
		{"ErrUnknownFacilityKind", func(s *ClientSpec) { s.FacilityKind = "bank" }, []string{"facility_kind"}},
		{"ErrEveryProblemAtOnce", func(s *ClientSpec) { s.Tenant, s.Scope, s.JWKS = "", "user/Patient.rs", publicJWKS(t, p256) },
			[]string{"tenant:", "scope:", "jwks:"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			spec := good
			if c.mod != nil {
				c.mod(&spec)
			}
			got, err := NewClient(spec, rand.Reader)
			if len(c.errs) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if got.Role == "" || len(got.Scopes) == 0 || bytes.Contains(got.JWKS, []byte(`"d"`)) {
					t.Fatalf("client %+v", got)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted: %+v", got)
			}
			for _, want := range c.errs {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
		})
	}
	t.Run("OKGeneratedID", func(t *testing.T) {
		spec := good
		spec.ID = ""
		c, err := NewClient(spec, bytes.NewReader(bytes.Repeat([]byte{0xab}, 16)))
		if err != nil || c.ID != strings.Repeat("ab", 16) {
			t.Fatalf("%q %v", c.ID, err)
		}
	})
	t.Run("OKRoleDefaults", func(t *testing.T) {
		c, _ := NewClient(good, rand.Reader)
		spec := good
		spec.Facility, spec.FacilityKind = "", ""
		v, _ := NewClient(spec, rand.Reader)
		if c.Role != RoleFacility || v.Role != RoleVendorSystem {
			t.Fatalf("roles %q %q", c.Role, v.Role)
		}
	})
}

func mustJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
