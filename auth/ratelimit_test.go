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
	"fmt"
	"testing"
	"time"
)

func TestRateLimiter(t *testing.T) {
	clock := oidcNow
	l := &RateLimiter{Default: Rate{PerSecond: 2, Burst: 3}, Now: func() time.Time { return clock }}
	allow := func(key string, r Rate) (bool, time.Duration) { return l.Allow(key, r) }

	t.Run("OKBurstThenLimited", func(t *testing.T) {
		for i := range 3 {
			if ok, _ := allow("misato/client/a", Rate{}); !ok {
				t.Fatalf("request %d of the burst refused", i+1)
			}
		}
		ok, wait := allow("misato/client/a", Rate{})
		if ok || wait != 500*time.Millisecond {
			t.Fatalf("4th: ok %v retry-after %v, want refused for 500ms", ok, wait)
		}
	})
	t.Run("OKRefillsWithTime", func(t *testing.T) {
		clock = clock.Add(500 * time.Millisecond)
		if ok, _ := allow("misato/client/a", Rate{}); !ok {
			t.Fatal("not refilled after retry-after")
		}
		if ok, _ := allow("misato/client/a", Rate{}); ok {
			t.Fatal("refilled more than one token")
		}
	})
	t.Run("OKKeysIndependent", func(t *testing.T) {
		if ok, _ := allow("misato/client/b", Rate{}); !ok {
			t.Fatal("another client limited by a's bucket")
		}
	})
	t.Run("OKPerClientRate", func(t *testing.T) {
		r := Rate{PerSecond: 0.5, Burst: 1}
		if ok, _ := allow("misato/client/slow", r); !ok {
			t.Fatal("first request refused")
		}
		if ok, wait := allow("misato/client/slow", r); ok || wait != 2*time.Second {
			t.Fatalf("ok %v retry-after %v, want 2s", ok, wait)
		}
	})
	t.Run("OKUnlimited", func(t *testing.T) {
		u := &RateLimiter{}
		for range 1000 {
			if ok, _ := u.Allow("k", Rate{}); !ok {
				t.Fatal("limited without a rate")
			}
		}
	})
	t.Run("OKBoundedKeys", func(t *testing.T) {
		b := &RateLimiter{Default: Rate{PerSecond: 1, Burst: 1}, Now: func() time.Time { return clock }, MaxKeys: 10}
		for i := range 100 {
			clock = clock.Add(time.Millisecond)
			b.Allow(fmt.Sprintf("k%d", i), Rate{})
		}
		if len(b.buckets) > 10 {
			t.Fatalf("%d buckets kept, max 10", len(b.buckets))
		}
	})
	t.Run("RateKey", func(t *testing.T) {
		a := (&Principal{Tenant: "misato", ClientID: "dashboard", Subject: "staff-1", Issuer: "https://idp"}).RateKey()
		b := (&Principal{Tenant: "misato", ClientID: "dashboard", Subject: "staff-2", Issuer: "https://idp"}).RateKey()
		c := (&Principal{Tenant: "kawajima", ClientID: "dashboard", Subject: "staff-1", Issuer: "https://idp"}).RateKey()
		if a == b || a == c {
			t.Fatalf("keys %q %q %q: want one per person and tenant", a, b, c)
		}
	})
}

func TestRateLimiterAllowN(t *testing.T) {
	now := time.Unix(0, 0)
	l := &RateLimiter{Now: func() time.Time { return now }}
	rate := Rate{PerSecond: 10, Burst: 20}
	if ok, _ := l.AllowN("k", rate, 15); !ok {
		t.Fatal("15 of a burst of 20 refused")
	}
	if ok, wait := l.AllowN("k", rate, 10); ok || wait < 500*time.Millisecond {
		t.Fatalf("10 more with 5 left: ok %v, wait %v", ok, wait)
	}
	now = now.Add(2 * time.Second) // bucket full again
	if ok, _ := l.AllowN("k", rate, 100); !ok {
		t.Fatal("a batch larger than the burst never passes")
	}
	if ok, wait := l.Allow("k", rate); ok || wait < 8*time.Second {
		t.Fatalf("after a batch of 100 the client must wait for its debt: ok %v, wait %v", ok, wait)
	}
}
