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

package outbox_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kodomohub/kodomohub/outbox"
	"github.com/kodomohub/kodomohub/store"
)

func TestNewReportsEveryProblem(t *testing.T) {
	_, err := outbox.New(outbox.Config{Name: "Risk/Engine", LeaseTTL: time.Second, Poll: time.Second,
		MinBackoff: time.Minute, MaxBackoff: time.Second})
	if err == nil {
		t.Fatal("New accepted a config without store, handler or a valid name")
	}
	for _, want := range []string{"Store is required", "Handler is required", `Name "Risk/Engine"`, "Poll 1s", "backoff from 1m0s to 1s"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("New's error does not mention %q:\n%v", want, err)
		}
	}
}

func TestNewDefaults(t *testing.T) {
	l, err := outbox.New(outbox.Config{Name: "changes", Store: nilStore{}, Handler: &outbox.Changes{},
		Rand: rand.New(rand.NewPCG(1, 2))})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(l.Owner(), "changes-") || len(l.Owner()) != len("changes-")+16 {
		t.Fatalf("default owner %q, want changes- and 16 hex digits", l.Owner())
	}
	m, _ := outbox.New(outbox.Config{Name: "changes", Store: nilStore{}, Handler: &outbox.Changes{},
		Rand: rand.New(rand.NewPCG(1, 3))})
	if m.Owner() == l.Owner() {
		t.Fatalf("two loops drew one owner %q", l.Owner())
	}
}

func TestBackoffDoublesWithJitterUpToTheBound(t *testing.T) {
	const lo, hi = 100 * time.Millisecond, 5 * time.Second
	r := rand.New(rand.NewPCG(7, 7))
	seen := map[time.Duration]bool{}
	for n := 1; n <= 100; n++ {
		d := outbox.Backoff(n, lo, hi, r)
		base := hi
		if n <= 7 {
			base = lo << (n - 1) // 100ms … 6.4s: capped from n = 7
		}
		base = min(base, hi)
		if d < base/2 || d > base {
			t.Fatalf("Backoff(%d) = %v, want within [%v, %v]", n, d, base/2, base)
		}
		seen[d] = true
	}
	if len(seen) < 50 {
		t.Fatalf("Backoff drew %d distinct delays in 100 calls: no jitter", len(seen))
	}
	// The same seed draws the same delays: tests pin the randomness.
	a, b := rand.New(rand.NewPCG(1, 1)), rand.New(rand.NewPCG(1, 1))
	for n := 1; n < 10; n++ {
		if x, y := outbox.Backoff(n, lo, hi, a), outbox.Backoff(n, lo, hi, b); x != y {
			t.Fatalf("Backoff(%d) drew %v and %v from one seed", n, x, y)
		}
	}
	if d := outbox.Backoff(1<<20, time.Hour, 2*time.Hour, r); d < time.Hour || d > 2*time.Hour {
		t.Fatalf("Backoff of a huge attempt count = %v: overflowed", d)
	}
}

func TestChangesCounts(t *testing.T) {
	var c outbox.Changes
	for _, ev := range []struct {
		tenant string
		e      store.Event
	}{
		{"misato", store.Event{Seq: 1, Type: "Patient", Action: store.Create}},
		{"misato", store.Event{Seq: 2, Type: "Patient", Action: store.Update}},
		{"misato", store.Event{Seq: 3, Type: "Patient", Action: store.Update}},
		{"kawajima", store.Event{Seq: 1, Type: "Observation", Action: store.Create}},
		{"misato", store.Event{Seq: 4, Type: "Observation", Action: store.Delete}},
	} {
		if err := c.Handle(context.Background(), ev.tenant, ev.e); err != nil {
			t.Fatal(err)
		}
	}
	want := []outbox.Change{
		{ChangeKey: outbox.ChangeKey{Tenant: "kawajima", Type: "Observation", Action: store.Create}, N: 1},
		{ChangeKey: outbox.ChangeKey{Tenant: "misato", Type: "Observation", Action: store.Delete}, N: 1},
		{ChangeKey: outbox.ChangeKey{Tenant: "misato", Type: "Patient", Action: store.Create}, N: 1},
		{ChangeKey: outbox.ChangeKey{Tenant: "misato", Type: "Patient", Action: store.Update}, N: 2},
	}
	if got := c.Counts(); !slices.Equal(got, want) {
		t.Fatalf("Counts = %v, want %v", got, want)
	}
}

// nilStore is a Store that New accepts; these tests never call it.
type nilStore struct{ outbox.Store }
