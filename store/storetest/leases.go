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

package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kodomohub/kodomohub/store"
)

// seedEvents commits n Patients one by one and returns the tenant's events.
func seedEvents(t *testing.T, s store.Store, tenant string, n int) []store.Event {
	t.Helper()
	for i := range n {
		mustCommit(t, s, tenant, create("Patient", fmt.Sprint("p", i), patient(fmt.Sprint("P", i))))
	}
	evs := allEvents(t, s, tenant)
	if len(evs) != n {
		t.Fatalf("%d events after %d commits", len(evs), n)
	}
	return evs
}

func sameEvents(t testing.TB, what string, got, want []store.Event) {
	t.Helper()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		g, w := got[i], want[i]
		ok = g.Seq == w.Seq && g.Type == w.Type && g.ID == w.ID && g.Version == w.Version && g.Action == w.Action &&
			g.Time.Equal(w.Time)
	}
	if !ok {
		t.Fatalf("%s: events\n got %v\nwant %v", what, got, want)
	}
}

// mustClaim claims (tenant, consumer) for owner and checks the lease it returns.
func mustClaim(t testing.TB, ls store.Leases, tenant, consumer, owner string, ttl time.Duration, limit int) (store.Lease, []store.Event) {
	t.Helper()
	before := time.Now()
	l, evs, err := ls.ClaimEvents(ctx, tenant, consumer, owner, ttl, limit)
	if err != nil {
		t.Fatalf("ClaimEvents(%s, %s, %s): %v", tenant, consumer, owner, err)
	}
	if l.Consumer != consumer || l.Owner != owner {
		t.Fatalf("ClaimEvents(%s, %s) = lease %+v, want consumer %s owner %s", consumer, owner, l, consumer, owner)
	}
	// A second of slack for a backend that reads another clock.
	if lo, hi := before.Add(ttl-time.Second), time.Now().Add(ttl+time.Second); l.Until.Before(lo) || l.Until.After(hi) {
		t.Fatalf("ClaimEvents(ttl %v) = lease until %v, want about now + ttl", ttl, l.Until)
	}
	if len(evs) > limit {
		t.Fatalf("ClaimEvents(limit %d) returned %d events", limit, len(evs))
	}
	for i, e := range evs {
		if e.Seq <= l.Position || i > 0 && e.Seq <= evs[i-1].Seq {
			t.Fatalf("ClaimEvents at position %d returned events %v: want seqs after it, increasing", l.Position, evs)
		}
	}
	return l, evs
}

func wantHeld(t testing.TB, what string, err error) {
	t.Helper()
	if !errors.Is(err, store.ErrLeaseHeld) {
		t.Fatalf("%s: %v, want ErrLeaseHeld", what, err)
	}
}

func mustAck(t testing.TB, ls store.Leases, consumer, owner string, seq int64) {
	t.Helper()
	if err := ls.AckEvents(ctx, "misato", consumer, owner, seq); err != nil {
		t.Fatalf("AckEvents(%s, %s, %d): %v", consumer, owner, seq, err)
	}
}

func testLeaseClaimAck(t *testing.T, s store.Store, ls store.Leases) {
	mustTenant(t, s, "misato", "")
	evs := seedEvents(t, s, "misato", 5)
	l, got := mustClaim(t, ls, "misato", "subs", "A", time.Minute, 3)
	if l.Position != 0 {
		t.Fatalf("a new lease starts at position %d, want 0", l.Position)
	}
	sameEvents(t, "first claim, limit 3", got, evs[:3])
	l, got = mustClaim(t, ls, "misato", "subs", "A", time.Minute, 3) // renewal by the holder
	if l.Position != 0 {
		t.Fatalf("renewal moved the position to %d", l.Position)
	}
	sameEvents(t, "renewal without an ack", got, evs[:3])
	mustAck(t, ls, "subs", "A", evs[2].Seq)
	l, got = mustClaim(t, ls, "misato", "subs", "A", time.Minute, 10)
	if l.Position != evs[2].Seq {
		t.Fatalf("position after the ack of %d = %d", evs[2].Seq, l.Position)
	}
	sameEvents(t, "claim after the ack", got, evs[3:])
	_, got = mustClaim(t, ls, "misato", "subs", "A", time.Minute, 1)
	sameEvents(t, "claim with limit 1", got, evs[3:4])
	mustAck(t, ls, "subs", "A", evs[4].Seq)
	if _, got = mustClaim(t, ls, "misato", "subs", "A", time.Minute, 10); len(got) != 0 {
		t.Fatalf("claim after acknowledging everything returned %v", got)
	}
	mustCommit(t, s, "misato", update("Patient", "p0", patient("again")))
	more := allEvents(t, s, "misato")
	_, got = mustClaim(t, ls, "misato", "subs", "A", time.Minute, 10)
	sameEvents(t, "claim after a new commit", got, more[5:])
}

func testLeaseHeld(t *testing.T, s store.Store, ls store.Leases) {
	mustTenant(t, s, "misato", "")
	evs := seedEvents(t, s, "misato", 4)
	mustClaim(t, ls, "misato", "subs", "A", time.Minute, 10)
	mustAck(t, ls, "subs", "A", evs[1].Seq)
	_, _, err := ls.ClaimEvents(ctx, "misato", "subs", "B", time.Minute, 10)
	wantHeld(t, "ClaimEvents by B while A holds the lease", err)
	wantHeld(t, "AckEvents by B while A holds the lease", ls.AckEvents(ctx, "misato", "subs", "B", evs[3].Seq))
	wantHeld(t, "AckEvents of a consumer never claimed", ls.AckEvents(ctx, "misato", "never", "A", evs[3].Seq))
	if l, _ := mustClaim(t, ls, "misato", "subs", "A", time.Minute, 10); l.Position != evs[1].Seq {
		t.Fatalf("position %d after B's refused ack, want A's %d", l.Position, evs[1].Seq)
	}
	if l, got := mustClaim(t, ls, "misato", "never", "B", time.Minute, 10); l.Position != 0 || len(got) != len(evs) {
		t.Fatalf("the refused ack of \"never\" left position %d (%d events)", l.Position, len(got))
	}
}

func testLeaseAckForward(t *testing.T, s store.Store, ls store.Leases) {
	mustTenant(t, s, "misato", "")
	evs := seedEvents(t, s, "misato", 5)
	mustClaim(t, ls, "misato", "subs", "A", time.Minute, 10)
	mustAck(t, ls, "subs", "A", evs[3].Seq)
	mustAck(t, ls, "subs", "A", evs[1].Seq) // late ack of an older event
	l, got := mustClaim(t, ls, "misato", "subs", "A", time.Minute, 10)
	if l.Position != evs[3].Seq {
		t.Fatalf("position %d after acks of %d then %d, want %d: it never goes backwards", l.Position, evs[3].Seq, evs[1].Seq, evs[3].Seq)
	}
	sameEvents(t, "claim after the acks", got, evs[4:])
}

func testLeaseExpiry(t *testing.T, s store.Store, ls store.Leases) {
	mustTenant(t, s, "misato", "")
	evs := seedEvents(t, s, "misato", 5)
	const ttl = 2 * time.Second // long enough for the ack and the refused claim below on a loaded machine
	a, _ := mustClaim(t, ls, "misato", "subs", "A", ttl, 2)
	mustAck(t, ls, "subs", "A", evs[1].Seq)
	_, _, err := ls.ClaimEvents(ctx, "misato", "subs", "B", time.Minute, 10)
	wantHeld(t, "ClaimEvents by B before A's lease expires", err)
	time.Sleep(time.Until(a.Until) + 50*time.Millisecond) // A dies: its lease runs out
	b, got := mustClaim(t, ls, "misato", "subs", "B", time.Minute, 10)
	if b.Position != evs[1].Seq {
		t.Fatalf("B took over at position %d, want A's last ack %d", b.Position, evs[1].Seq)
	}
	sameEvents(t, "B's events after the takeover", got, evs[2:])
	wantHeld(t, "AckEvents by A after the takeover", ls.AckEvents(ctx, "misato", "subs", "A", evs[4].Seq))
	_, _, err = ls.ClaimEvents(ctx, "misato", "subs", "A", time.Minute, 10)
	wantHeld(t, "ClaimEvents by A after the takeover", err)
	if l, _ := mustClaim(t, ls, "misato", "subs", "B", time.Minute, 10); l.Position != evs[1].Seq {
		t.Fatalf("A's refused ack moved the position to %d", l.Position)
	}
}

func testLeaseRelease(t *testing.T, s store.Store, ls store.Leases) {
	mustTenant(t, s, "misato", "")
	evs := seedEvents(t, s, "misato", 3)
	mustClaim(t, ls, "misato", "subs", "A", time.Hour, 10)
	mustAck(t, ls, "subs", "A", evs[0].Seq)
	if err := ls.ReleaseLease(ctx, "misato", "subs", "A"); err != nil {
		t.Fatalf("ReleaseLease: %v", err)
	}
	wantHeld(t, "AckEvents by A after its release", ls.AckEvents(ctx, "misato", "subs", "A", evs[2].Seq))
	b, got := mustClaim(t, ls, "misato", "subs", "B", time.Hour, 10) // at once, not in an hour
	if b.Position != evs[0].Seq {
		t.Fatalf("B claimed a released lease at position %d, want %d", b.Position, evs[0].Seq)
	}
	sameEvents(t, "B's events after the release", got, evs[1:])
	for _, c := range []struct{ consumer, owner string }{{"subs", "A"}, {"never", "A"}} {
		if err := ls.ReleaseLease(ctx, "misato", c.consumer, c.owner); err != nil {
			t.Fatalf("ReleaseLease(%s, %s) by a non-holder: %v, want a no-op", c.consumer, c.owner, err)
		}
	}
	_, _, err := ls.ClaimEvents(ctx, "misato", "subs", "A", time.Hour, 10)
	wantHeld(t, "ClaimEvents by A after its release by a non-holder", err)
	mustAck(t, ls, "subs", "B", evs[2].Seq)
}

func testLeaseConcurrentClaims(t *testing.T, s store.Store, ls store.Leases) {
	mustTenant(t, s, "misato", "")
	seedEvents(t, s, "misato", 2)
	const owners = 8
	errs := make([]error, owners)
	var wg sync.WaitGroup
	for i := range owners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, errs[i] = ls.ClaimEvents(ctx, "misato", "subs", fmt.Sprint("owner", i), time.Minute, 10)
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, store.ErrLeaseHeld):
			t.Fatalf("ClaimEvents: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d of %d concurrent claims of a free lease succeeded, want exactly 1", won, owners)
	}
}

func testLeaseIsolation(t *testing.T, s store.Store, ls store.Leases) {
	mustTenant(t, s, "misato", "")
	mustTenant(t, s, "kawajima", "")
	m := seedEvents(t, s, "misato", 3)
	k := seedEvents(t, s, "kawajima", 2)
	mustClaim(t, ls, "misato", "subs", "A", time.Minute, 10)
	mustAck(t, ls, "subs", "A", m[2].Seq)
	_, got := mustClaim(t, ls, "misato", "other", "B", time.Minute, 10) // another consumer is its own lease
	sameEvents(t, "consumer other", got, m)
	l, got := mustClaim(t, ls, "kawajima", "subs", "B", time.Minute, 10) // and so is another tenant's
	if l.Position != 0 {
		t.Fatalf("kawajima's subs starts at position %d: misato's ack leaked", l.Position)
	}
	sameEvents(t, "kawajima's events", got, k)
	wantHeld(t, "AckEvents by A of kawajima's lease", ls.AckEvents(ctx, "kawajima", "subs", "A", k[1].Seq))
	if _, _, err := ls.ClaimEvents(ctx, "nowhere", "subs", "A", time.Minute, 10); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ClaimEvents on an unknown tenant: %v, want ErrNotFound", err)
	}
}
