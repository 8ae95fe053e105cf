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
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kodomohub/kodomohub/fhir"
)

func TestParseScope(t *testing.T) {
	for in, want := range map[string]string{
		"system/*.cruds":                          "system/*.cruds",
		"user/Patient.rs":                         "user/Patient.rs",
		"patient/Observation.read":                "patient/Observation.rs",
		"user/Observation.write":                  "user/Observation.cud",
		"system/*.*":                              "system/*.cruds",
		"user/Observation.rs?category=laboratory": "user/Observation.rs?category=laboratory",
	} {
		sc, ok, err := ParseScope(in)
		if err != nil || !ok || sc.String() != want {
			t.Errorf("%s: %v %v %v, want %s", in, sc, ok, err, want)
		}
	}
	for _, ignored := range []string{"openid", "fhirUser", "launch/patient", "offline_access"} {
		if _, ok, err := ParseScope(ignored); ok || err != nil {
			t.Errorf("%s: ok %v err %v, want ignored", ignored, ok, err)
		}
	}
	for _, bad := range []string{"user/Child.rs", "user/Patient.sr", "user/Patient.x", "user/Patient", "system/Patient."} {
		if _, _, err := ParseScope(bad); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}

func TestScopesAllow(t *testing.T) {
	ss, err := ParseScopes("openid user/Patient.rs system/Observation.c user/Condition.rs?clinical-status=active")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		typ  string
		op   Op
		want bool
	}{
		{"Patient", OpRead, true}, {"Patient", OpSearch, true}, {"Patient", OpUpdate, false},
		{"Observation", OpCreate, true}, {"Observation", OpRead, false},
		{"Condition", OpRead, false}, // restricted scopes grant only through search filtering
		{"*", OpRead, false},
	} {
		if got := ss.Allows(c.typ, c.op); got != c.want {
			t.Errorf("%s %c: %v, want %v", c.typ, c.op, got, c.want)
		}
	}
}

func TestScopesGrantPatientContextAndRestrictions(t *testing.T) {
	ss, err := ParseScopes("patient/Observation.rs user/Condition.rs?clinical-status=active")
	if err != nil {
		t.Fatal(err)
	}
	matches := func(want string) func(string) (bool, error) {
		return func(q string) (bool, error) { return q == want, nil }
	}
	for _, c := range []struct {
		name    string
		a       Access
		patient string
		want    bool
	}{
		{"patient scope, own patient", Access{Op: OpRead, Type: "Observation", ID: "o1", Patient: "Patient/p1"}, "Patient/p1", true},
		{"patient scope, another patient", Access{Op: OpRead, Type: "Observation", ID: "o1", Patient: "Patient/p2"}, "Patient/p1", false},
		{"patient scope, no context", Access{Op: OpRead, Type: "Observation", ID: "o1", Patient: "Patient/p1"}, "", false},
		{"patient scope, about no one", Access{Op: OpRead, Type: "Observation", ID: "o1"}, "Patient/p1", false},
		{"patient scope, type-level search runs", Access{Op: OpSearch, Type: "Observation"}, "Patient/p1", true},
		{"patient scope, result of another patient", Access{Op: OpSearch, Type: "Observation", ID: "o2", Patient: "Patient/p2", Matches: matches("")}, "Patient/p1", false},
		{"patient scope, no write", Access{Op: OpUpdate, Type: "Observation", ID: "o1", Patient: "Patient/p1"}, "Patient/p1", false},
		{"restricted, matching resource", Access{Op: OpRead, Type: "Condition", ID: "c1", Matches: matches("clinical-status=active")}, "", true},
		{"restricted, other resource", Access{Op: OpRead, Type: "Condition", ID: "c1", Matches: matches("x")}, "", false},
		{"restricted, resource unknown", Access{Op: OpRead, Type: "Condition", ID: "c1"}, "", false},
		{"restricted, type-level search runs", Access{Op: OpSearch, Type: "Condition"}, "", true},
	} {
		if got := ss.Grants(c.a, c.patient); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	if ss.Allows("Observation", OpRead) {
		t.Error("a patient/ scope allows every Observation")
	}
}

type memSecrets struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (s *memSecrets) LoadOrStoreSecret(_ context.Context, name string, v []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.m[name]; ok {
		return old, nil
	}
	s.m[name] = v
	return v, nil
}

func TestDevTokens(t *testing.T) {
	ctx := context.Background()
	secrets := &memSecrets{m: map[string][]byte{}}
	dev, err := NewDev(ctx, secrets)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	dev.Now = func() time.Time { return now }
	mint := func(tenant, scope string, ttl time.Duration) string {
		tok, err := dev.Mint(DevClaims{Tenant: tenant, Subject: "staff1", Scope: scope, Role: "municipal-staff", Facility: "Organization/n1", TTL: ttl})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	authn := func(d *Dev, tenant, tok string) (*Principal, error) {
		r, _ := http.NewRequest("GET", "/", nil)
		if tok != "" {
			r.Header.Set("Authorization", "Bearer "+tok)
		}
		return d.Authenticate(ctx, tenant, r)
	}
	good := mint("misato", "user/Patient.rs", time.Hour)

	t.Run("OK", func(t *testing.T) {
		p, err := authn(dev, "misato", good)
		if err != nil {
			t.Fatal(err)
		}
		if p.Subject != "staff1" || p.Tenant != "misato" || p.Role != "municipal-staff" || p.Facility != "Organization/n1" || !p.Scopes.Allows("Patient", OpRead) {
			t.Fatalf("principal %+v", p)
		}
	})
	t.Run("SameKeyForEveryProcess", func(t *testing.T) {
		other, err := NewDev(ctx, secrets)
		if err != nil {
			t.Fatal(err)
		}
		other.Now = dev.Now
		if _, err := authn(other, "misato", good); err != nil {
			t.Fatalf("a second process on the same data rejects the token: %v", err)
		}
	})
	unauthorized := func(t *testing.T, d *Dev, tenant, tok string) {
		t.Helper()
		_, err := authn(d, tenant, tok)
		if fe := fhir.AsError(err); fe == nil || fe.Kind != fhir.KindUnauthenticated {
			t.Fatalf("err %v, want 401", err)
		}
	}
	t.Run("ErrNoToken", func(t *testing.T) { unauthorized(t, dev, "misato", "") })
	t.Run("ErrOtherTenant", func(t *testing.T) { unauthorized(t, dev, "kawajima", good) })
	t.Run("ErrExpired", func(t *testing.T) {
		tok := mint("misato", "user/Patient.rs", time.Minute)
		later := &Dev{key: dev.key, Now: func() time.Time { return now.Add(2 * time.Minute) }}
		unauthorized(t, later, "misato", tok)
	})
	t.Run("ErrExpiredAfterCaching", func(t *testing.T) {
		d, err := NewDev(ctx, secrets)
		if err != nil {
			t.Fatal(err)
		}
		clock := now
		d.Now = func() time.Time { return clock }
		tok := mint("misato", "user/Patient.rs", time.Minute)
		if _, err := authn(d, "misato", tok); err != nil {
			t.Fatal(err)
		}
		unauthorized(t, d, "kawajima", tok) // the cache keeps the tenant
		clock = now.Add(2 * time.Minute)
		unauthorized(t, d, "misato", tok) // and the expiry
	})
	t.Run("ErrOtherKey", func(t *testing.T) {
		stranger, err := NewDev(ctx, &memSecrets{m: map[string][]byte{}})
		if err != nil {
			t.Fatal(err)
		}
		stranger.Now = dev.Now
		unauthorized(t, stranger, "misato", good)
	})
	t.Run("ErrAlgNone", func(t *testing.T) {
		parts := strings.Split(good, ".")
		hdr := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
		unauthorized(t, dev, "misato", hdr+"."+parts[1]+".")
	})
	t.Run("ErrTamperedClaims", func(t *testing.T) {
		parts := strings.Split(good, ".")
		claims, _ := base64.RawURLEncoding.DecodeString(parts[1])
		forged := strings.Replace(string(claims), "user/Patient.rs", "system/*.cruds", 1)
		unauthorized(t, dev, "misato", parts[0]+"."+base64.RawURLEncoding.EncodeToString([]byte(forged))+"."+parts[2])
	})
	t.Run("ErrNoUsableScope", func(t *testing.T) {
		unauthorized(t, dev, "misato", mint("misato", "openid fhirUser", time.Hour))
	})
}
