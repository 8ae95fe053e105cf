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
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kodomohub/kodomohub/outbox"
	"github.com/kodomohub/kodomohub/store"
)

// The outbox's part of the contract: the leases package outbox builds on (ClaimLease,
// ReadLease, AckEvents, ReleaseLease; store/admin.go) and the promises of the outbox loop
// itself, which hold only if the backend keeps them across processes: a consumer killed
// mid-batch resumes at its last acknowledgement, two processes never both handle an event
// beyond at-least-once, a failing event is retried with backoff without moving the position,
// and positions survive reopening the store.

// Opener opens a store on one data set of a backend: each call is another handle on the same
// data (another process, or the same one reopened), whose clock is now (nil: time.Now). The
// test closes what it opens; a backend's cleanup may close it again.
type Opener func(t *testing.T, now func() time.Time) store.Store

// RunOutbox checks a backend's leases and the outbox loop on it. newData returns an Opener of
// an empty data set.
func RunOutbox(t *testing.T, newData func(t *testing.T) Opener) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, Opener)
	}{
		{"Leases/ClaimLeaseReadLeaseAckRelease", testLeaseClaimRead},
		{"Outbox/EveryEventOnceInOrderPerTenant", testOutboxInOrder},
		{"Outbox/KilledMidBatchResumesAtLastAck", testOutboxKilled},
		{"Outbox/OwnerPastItsLeaseStopsAfterTakeover", testOutboxTakeover},
		{"Outbox/HandlerErrorRetriesWithBackoffPositionStays", testOutboxRetry},
		{"Outbox/PositionsSurviveReopening", testOutboxReopen},
		{"Outbox/TwoProcessesHandleEachEventOnce", testOutboxTwoProcesses},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newData(t)) })
	}
}

// ---- helpers ----

// fakeClock is a clock the test moves: whole milliseconds, as stores keep them.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 4, 1, 9, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

var obCtx = context.Background()

func obOpen(t *testing.T, open Opener, now func() time.Time) store.Store {
	t.Helper()
	s := open(t, now)
	t.Cleanup(func() { s.Close() })
	return s
}

func obTenant(t testing.TB, s store.Store, id string) {
	t.Helper()
	if err := s.CreateTenant(obCtx, store.Tenant{ID: id, Name: "Town " + id}); err != nil {
		t.Fatalf("CreateTenant(%s): %v", id, err)
	}
}

// obCommit commits n Patients named prefix0, prefix1, … one by one, and returns the tenant's
// events that followed.
func obCommit(t testing.TB, s store.Store, tenant, prefix string, n int) []store.Event {
	t.Helper()
	before := allEvents(t, s, tenant)
	for i := range n {
		id := fmt.Sprint(prefix, i)
		_, err := s.Commit(obCtx, tenant, []store.Write{{Type: "Patient", ID: id, Action: store.Update,
			Resource: []byte(`{"resourceType":"Patient","name":[{"family":"` + id + `"}]}`)}})
		if err != nil {
			t.Fatalf("Commit(%s): %v", id, err)
		}
	}
	var after int64
	if len(before) > 0 {
		after = before[len(before)-1].Seq
	}
	evs := eventsAfter(t, s, tenant, after)
	if len(evs) != n {
		t.Fatalf("%d events after %d commits", len(evs), n)
	}
	return evs
}

func sameLease(a, b store.Lease) bool {
	return a.Consumer == b.Consumer && a.Owner == b.Owner && a.Until.Equal(b.Until) && a.Position == b.Position
}

func obHeld(t testing.TB, what string, err error) {
	t.Helper()
	if !errors.Is(err, store.ErrLeaseHeld) {
		t.Fatalf("%s: %v, want ErrLeaseHeld", what, err)
	}
}

func seqs(evs []store.Event) []int64 {
	out := make([]int64, len(evs))
	for i, e := range evs {
		out[i] = e.Seq
	}
	return out
}

func mustReadLease(t testing.TB, s store.Store, tenant, consumer string) store.Lease {
	t.Helper()
	l, err := s.ReadLease(obCtx, tenant, consumer)
	if err != nil {
		t.Fatalf("ReadLease(%s, %s): %v", tenant, consumer, err)
	}
	if l.Consumer != consumer {
		t.Fatalf("ReadLease(%s, %s) = %+v: wrong consumer", tenant, consumer, l)
	}
	return l
}

// handled records the events handlers saw, per owner and tenant, in order.
type handled struct {
	mu  sync.Mutex
	got map[string][]int64 // "owner tenant" → seqs
	all []string           // "owner tenant seq", in the order handled
}

func (h *handled) add(owner, tenant string, seq int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.got == nil {
		h.got = map[string][]int64{}
	}
	h.got[owner+" "+tenant] = append(h.got[owner+" "+tenant], seq)
	h.all = append(h.all, fmt.Sprint(owner, " ", tenant, " ", seq))
}

func (h *handled) of(owner, tenant string) []int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.got[owner+" "+tenant])
}

// recorder is a handler that records into h as owner, then calls then (when set).
func (h *handled) recorder(owner string, then func(tenant string, e store.Event) error) outbox.Handler {
	return outbox.HandlerFunc(func(_ context.Context, tenant string, e store.Event) error {
		h.add(owner, tenant, e.Seq)
		if then != nil {
			return then(tenant, e)
		}
		return nil
	})
}

// newLoop builds a loop of consumer "test" owned by owner; tune adjusts its config.
func newLoop(t testing.TB, s outbox.Store, owner string, now func() time.Time, h outbox.Handler, tune func(*outbox.Config)) *outbox.Loop {
	t.Helper()
	cfg := outbox.Config{Store: s, Handler: h, Name: "test", Owner: owner, Now: now, LeaseTTL: time.Minute,
		Batch: 10, Rand: rand.New(rand.NewPCG(1, 2)), Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if tune != nil {
		tune(&cfg)
	}
	l, err := outbox.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// drain runs passes until one handles nothing and has nothing more to read; it returns the
// count handled.
func drain(t testing.TB, l *outbox.Loop) int {
	t.Helper()
	n := 0
	for range 100 {
		p, err := l.Pass(obCtx)
		if err != nil {
			t.Fatalf("Pass: %v", err)
		}
		n += p.Handled
		if p.Handled == 0 && !p.More {
			return n
		}
	}
	t.Fatal("the loop never caught up")
	return n
}

// dying is a store handle of a process that can die: after kill every call fails, so nothing
// it has not written yet (an acknowledgement, a release) ever reaches the store.
type dying struct {
	outbox.Store
	dead atomic.Bool
}

var errDied = errors.New("the process died")

func (d *dying) kill() { d.dead.Store(true) }

func (d *dying) Tenants(ctx context.Context) ([]store.Tenant, error) {
	if d.dead.Load() {
		return nil, errDied
	}
	return d.Store.Tenants(ctx)
}

func (d *dying) Events(ctx context.Context, tenant string, after int64, limit int) ([]store.Event, error) {
	if d.dead.Load() {
		return nil, errDied
	}
	return d.Store.Events(ctx, tenant, after, limit)
}

func (d *dying) ClaimLease(ctx context.Context, tenant, consumer, owner string, ttl time.Duration) (store.Lease, error) {
	if d.dead.Load() {
		return store.Lease{}, errDied
	}
	return d.Store.ClaimLease(ctx, tenant, consumer, owner, ttl)
}

func (d *dying) ReadLease(ctx context.Context, tenant, consumer string) (store.Lease, error) {
	if d.dead.Load() {
		return store.Lease{}, errDied
	}
	return d.Store.ReadLease(ctx, tenant, consumer)
}

func (d *dying) AckEvents(ctx context.Context, tenant, consumer, owner string, seq int64) error {
	if d.dead.Load() {
		return errDied
	}
	return d.Store.AckEvents(ctx, tenant, consumer, owner, seq)
}

func (d *dying) ReleaseLease(ctx context.Context, tenant, consumer, owner string) error {
	if d.dead.Load() {
		return errDied
	}
	return d.Store.ReleaseLease(ctx, tenant, consumer, owner)
}

// ---- cases ----

func testLeaseClaimRead(t *testing.T, open Opener) {
	clock := newFakeClock()
	s := obOpen(t, open, clock.Now)
	obTenant(t, s, "misato")
	evs := obCommit(t, s, "misato", "p", 3)
	if l := mustReadLease(t, s, "misato", "c"); l.Owner != "" || l.Position != 0 || !l.Until.IsZero() {
		t.Fatalf("ReadLease of a consumer never claimed = %+v, want the zero lease", l)
	}
	if _, err := s.ReadLease(obCtx, "nowhere", "c"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ReadLease on an unknown tenant: %v, want ErrNotFound", err)
	}
	if _, err := s.ClaimLease(obCtx, "nowhere", "c", "A", time.Minute); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ClaimLease on an unknown tenant: %v, want ErrNotFound", err)
	}
	if _, err := s.ClaimLease(obCtx, "misato", "c", "", time.Minute); err == nil {
		t.Fatal("ClaimLease with an empty owner succeeded")
	}
	a, err := s.ClaimLease(obCtx, "misato", "c", "A", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if a.Consumer != "c" || a.Owner != "A" || a.Position != 0 || !a.Until.Equal(clock.Now().Add(time.Minute)) {
		t.Fatalf("ClaimLease = %+v, want owner A at position 0 until %v (the store's clock + ttl)", a, clock.Now().Add(time.Minute))
	}
	if l := mustReadLease(t, s, "misato", "c"); !sameLease(l, a) {
		t.Fatalf("ReadLease = %+v, want the lease claimed %+v", l, a)
	}
	_, err = s.ClaimLease(obCtx, "misato", "c", "B", time.Minute)
	obHeld(t, "ClaimLease by B while A holds the lease", err)
	if err := s.AckEvents(obCtx, "misato", "c", "A", evs[1].Seq); err != nil {
		t.Fatal(err)
	}
	clock.Add(30 * time.Second)
	r, err := s.ClaimLease(obCtx, "misato", "c", "A", time.Minute) // the holder renews
	if err != nil || r.Position != evs[1].Seq || !r.Until.Equal(clock.Now().Add(time.Minute)) {
		t.Fatalf("renewal = %+v, %v; want position %d until %v", r, err, evs[1].Seq, clock.Now().Add(time.Minute))
	}
	// ClaimEvents is ClaimLease with the events after the position.
	if l, got, err := s.ClaimEvents(obCtx, "misato", "c", "A", time.Minute, 10); err != nil || l.Position != evs[1].Seq ||
		!slices.Equal(seqs(got), seqs(evs[2:])) {
		t.Fatalf("ClaimEvents = %+v, %v, %v; want position %d and events %v", l, seqs(got), err, evs[1].Seq, seqs(evs[2:]))
	}
	clock.Add(time.Minute + time.Millisecond) // A's lease runs out; nobody has claimed it yet
	if l := mustReadLease(t, s, "misato", "c"); l.Owner != "A" || l.Until.After(clock.Now()) {
		t.Fatalf("ReadLease after the expiry = %+v: want A's lease, run out", l)
	}
	b, err := s.ClaimLease(obCtx, "misato", "c", "B", time.Minute)
	if err != nil || b.Owner != "B" || b.Position != evs[1].Seq {
		t.Fatalf("ClaimLease by B after A's expiry = %+v, %v; want B at A's position %d", b, err, evs[1].Seq)
	}
	obHeld(t, "AckEvents by A after B took over", s.AckEvents(obCtx, "misato", "c", "A", evs[2].Seq))
	// Another handle (another process) sees the same lease and position.
	s2 := obOpen(t, open, clock.Now)
	if l := mustReadLease(t, s2, "misato", "c"); !sameLease(l, b) {
		t.Fatalf("ReadLease on a second handle = %+v, want %+v", l, b)
	}
	if err := s2.ReleaseLease(obCtx, "misato", "c", "B"); err != nil {
		t.Fatal(err)
	}
	if l := mustReadLease(t, s, "misato", "c"); l.Until.After(clock.Now()) || l.Position != evs[1].Seq {
		t.Fatalf("ReadLease after the release = %+v: want it run out, at position %d", l, evs[1].Seq)
	}
	if _, err := s.ClaimLease(obCtx, "misato", "c", "A", time.Minute); err != nil {
		t.Fatalf("ClaimLease by A after B's release: %v", err)
	}
}

func testOutboxInOrder(t *testing.T, open Opener) {
	clock := newFakeClock()
	s := obOpen(t, open, clock.Now)
	obTenant(t, s, "misato")
	obTenant(t, s, "kawajima")
	m := obCommit(t, s, "misato", "p", 5)
	if _, err := s.Commit(obCtx, "misato", []store.Write{{Type: "Patient", ID: "p0", Action: store.Delete}}); err != nil {
		t.Fatal(err)
	}
	m = allEvents(t, s, "misato")
	k := obCommit(t, s, "kawajima", "k", 2)
	var h handled
	l := newLoop(t, s, "A", clock.Now, h.recorder("A", nil), func(c *outbox.Config) { c.Batch, c.AckEvery = 3, 2 })
	if n := drain(t, l); n != len(m)+len(k) {
		t.Fatalf("handled %d events, want %d", n, len(m)+len(k))
	}
	for tenant, want := range map[string][]store.Event{"misato": m, "kawajima": k} {
		if got := h.of("A", tenant); !slices.Equal(got, seqs(want)) {
			t.Fatalf("%s: handled %v, want every event once in order %v", tenant, got, seqs(want))
		}
		ls := mustReadLease(t, s, tenant, "test")
		if ls.Position != want[len(want)-1].Seq || ls.Until.After(clock.Now()) {
			t.Fatalf("%s: lease %+v after catching up: want position %d, released", tenant, ls, want[len(want)-1].Seq)
		}
	}
	// New events and a new tenant are found by later passes; nothing is handled twice.
	more := obCommit(t, s, "misato", "q", 2)
	obTenant(t, s, "tahara")
	tah := obCommit(t, s, "tahara", "t", 1)
	if n := drain(t, l); n != 3 {
		t.Fatalf("handled %d events after 3 new ones", n)
	}
	if got, want := h.of("A", "misato"), seqs(append(slices.Clone(m), more...)); !slices.Equal(got, want) {
		t.Fatalf("misato: handled %v, want %v", got, want)
	}
	if got := h.of("A", "tahara"); !slices.Equal(got, seqs(tah)) {
		t.Fatalf("tahara (created while the loop ran): handled %v, want %v", got, seqs(tah))
	}
}

func testOutboxKilled(t *testing.T, open Opener) {
	clock := newFakeClock()
	s1 := obOpen(t, open, clock.Now)
	obTenant(t, s1, "misato")
	evs := obCommit(t, s1, "misato", "p", 8)
	var h handled
	a := &dying{Store: s1}
	la := newLoop(t, a, "A", clock.Now, h.recorder("A", func(_ string, e store.Event) error {
		if e.Seq == evs[4].Seq {
			a.kill() // the process dies while it handles the fifth event: nothing more runs
			return errDied
		}
		return nil
	}), func(c *outbox.Config) { c.Batch, c.AckEvery = 10, 3 })
	if _, err := la.Pass(obCtx); !errors.Is(err, errDied) {
		t.Fatalf("Pass of the dying process: %v, want its store's errors", err)
	}
	if got := h.of("A", "misato"); !slices.Equal(got, seqs(evs[:5])) {
		t.Fatalf("A handled %v, want %v", got, seqs(evs[:5]))
	}
	if l := mustReadLease(t, s1, "misato", "test"); l.Position != evs[2].Seq || l.Owner != "A" {
		t.Fatalf("lease after A died = %+v: want A's, at its last acknowledgement %d", l, evs[2].Seq)
	}
	// Another process, on its own handle: nothing while A's lease may still be in use…
	s2 := obOpen(t, open, clock.Now)
	lb := newLoop(t, s2, "B", clock.Now, h.recorder("B", nil), nil)
	if n := drain(t, lb); n != 0 {
		t.Fatalf("B handled %d events while A's lease ran", n)
	}
	// …then, once it has run out, every event A did not acknowledge, and only those.
	clock.Add(time.Minute)
	if n := drain(t, lb); n != 5 {
		t.Fatalf("B handled %d events after the takeover, want 5", n)
	}
	if got := h.of("B", "misato"); !slices.Equal(got, seqs(evs[3:])) {
		t.Fatalf("B handled %v, want %v: from the first event after A's last acknowledgement, none skipped", got, seqs(evs[3:]))
	}
	if l := mustReadLease(t, s2, "misato", "test"); l.Position != evs[7].Seq {
		t.Fatalf("position after B = %d, want %d", l.Position, evs[7].Seq)
	}
}

func testOutboxTakeover(t *testing.T, open Opener) {
	clock := newFakeClock()
	s1, s2 := obOpen(t, open, clock.Now), obOpen(t, open, clock.Now)
	// A stalls in the handler of its second event, past its lease, and B takes over meanwhile.
	// With an ack after each event A finds its next ack refused; with one ack a batch, its
	// check of the lease before the next event: either way it handles nothing more.
	for _, c := range []struct {
		tenant   string
		ackEvery int
		acked    int // events A acknowledged before it stalled
	}{{"misato", 1, 1}, {"kawajima", 10, 0}} {
		obTenant(t, s1, c.tenant)
		evs := obCommit(t, s1, c.tenant, "p", 6)
		var h handled
		a, b := "A"+c.tenant, "B"+c.tenant
		lb := newLoop(t, s2, b, clock.Now, h.recorder(b, nil), nil)
		la := newLoop(t, s1, a, clock.Now, h.recorder(a, func(_ string, e store.Event) error {
			if e.Seq == evs[1].Seq {
				clock.Add(2 * time.Minute)
				if n := drain(t, lb); n != 6-c.acked {
					t.Errorf("%s: B handled %d events after taking over, want %d", c.tenant, n, 6-c.acked)
				}
			}
			return nil
		}), func(cfg *outbox.Config) { cfg.AckEvery = c.ackEvery })
		p, err := la.Pass(obCtx)
		if err != nil {
			t.Fatal(err)
		}
		if got := h.of(a, c.tenant); !slices.Equal(got, seqs(evs[:2])) || p.Handled != 2 {
			t.Fatalf("%s: A handled %v (%d): want %v, and nothing after B took over", c.tenant, got, p.Handled, seqs(evs[:2]))
		}
		if got := h.of(b, c.tenant); !slices.Equal(got, seqs(evs[c.acked:])) {
			t.Fatalf("%s: B handled %v, want %v: from A's last acknowledgement", c.tenant, got, seqs(evs[c.acked:]))
		}
		if l := mustReadLease(t, s1, c.tenant, "test"); l.Position != evs[5].Seq {
			t.Fatalf("%s: position %d, want %d", c.tenant, l.Position, evs[5].Seq)
		}
		if n := drain(t, la); n != 0 {
			t.Fatalf("%s: A handled %d events again after B caught up", c.tenant, n)
		}
	}
}

func testOutboxRetry(t *testing.T, open Opener) {
	clock := newFakeClock()
	s1 := obOpen(t, open, clock.Now)
	obTenant(t, s1, "misato")
	evs := obCommit(t, s1, "misato", "p", 4)
	var h handled
	attempts := 0
	const lo, hi = time.Second, 3 * time.Second
	la := newLoop(t, s1, "A", clock.Now, h.recorder("A", func(_ string, e store.Event) error {
		if e.Seq != evs[2].Seq {
			return nil
		}
		switch attempts++; attempts {
		case 1, 3:
			return errors.New("receiver unavailable")
		case 2:
			panic("a bug in the handler")
		}
		return nil
	}), func(c *outbox.Config) { c.MinBackoff, c.MaxBackoff = lo, hi })
	s2 := obOpen(t, open, clock.Now)
	lb := newLoop(t, s2, "B", clock.Now, h.recorder("B", nil), nil)
	// Each failure: the position stays before the failing event, A keeps the lease (B does
	// nothing), nothing runs before the retry time, which is within the backoff's bounds.
	for i, want := range []struct{ lo, hi time.Duration }{{lo / 2, lo}, {lo, 2 * lo}, {hi / 2, hi}} {
		start := clock.Now()
		p, err := la.Pass(obCtx)
		if err != nil {
			t.Fatal(err)
		}
		if attempts != i+1 {
			t.Fatalf("failure %d: the handler ran %d times on the failing event", i+1, attempts)
		}
		if d := p.Retry.Sub(start); d < want.lo || d > want.hi {
			t.Fatalf("failure %d: retry in %v, want within [%v, %v]", i+1, d, want.lo, want.hi)
		}
		if l := mustReadLease(t, s1, "misato", "test"); l.Position != evs[1].Seq || l.Owner != "A" || !l.Until.After(clock.Now()) {
			t.Fatalf("failure %d: lease %+v, want A's, held, at %d", i+1, l, evs[1].Seq)
		}
		if n := drain(t, lb); n != 0 {
			t.Fatalf("failure %d: B handled %d events while A backs off", i+1, n)
		}
		clock.Set(p.Retry.Add(-time.Millisecond))
		if p, err := la.Pass(obCtx); err != nil || p.Handled != 0 || attempts != i+1 {
			t.Fatalf("failure %d: a pass before the retry time handled %d (%v), %d attempts", i+1, p.Handled, err, attempts)
		}
		clock.Set(p.Retry)
	}
	if n := drain(t, la); n != 2 {
		t.Fatalf("handled %d events once the handler succeeded, want 2", n)
	}
	if got, want := h.of("A", "misato"), seqs([]store.Event{evs[0], evs[1], evs[2], evs[2], evs[2], evs[2], evs[3]}); !slices.Equal(got, want) {
		t.Fatalf("A handled %v, want %v", got, want)
	}
	if l := mustReadLease(t, s1, "misato", "test"); l.Position != evs[3].Seq {
		t.Fatalf("position %d after the retries, want %d", l.Position, evs[3].Seq)
	}
	// The backoff stays within its bounds however many failures.
	r := rand.New(rand.NewPCG(3, 4))
	for n := 1; n < 200; n++ {
		if d := outbox.Backoff(n, lo, hi, r); d < min(lo<<min(n-1, 10), hi)/2 || d > hi {
			t.Fatalf("Backoff(%d) = %v, want within [%v, %v]", n, d, min(lo<<min(n-1, 10), hi)/2, hi)
		}
	}
}

func testOutboxReopen(t *testing.T, open Opener) {
	clock := newFakeClock()
	s1 := open(t, clock.Now)
	obTenant(t, s1, "misato")
	evs := obCommit(t, s1, "misato", "p", 4)
	var h handled
	if n := drain(t, newLoop(t, s1, "A", clock.Now, h.recorder("A", nil), nil)); n != 4 {
		t.Fatalf("handled %d, want 4", n)
	}
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := obOpen(t, open, clock.Now)
	if l := mustReadLease(t, s2, "misato", "test"); l.Position != evs[3].Seq {
		t.Fatalf("position after reopening = %d, want %d", l.Position, evs[3].Seq)
	}
	more := obCommit(t, s2, "misato", "q", 2)
	if n := drain(t, newLoop(t, s2, "C", clock.Now, h.recorder("C", nil), nil)); n != 2 {
		t.Fatalf("a new process handled %d events, want the 2 new ones", n)
	}
	if got := h.of("C", "misato"); !slices.Equal(got, seqs(more)) {
		t.Fatalf("handled %v after reopening, want %v", got, seqs(more))
	}
}

func testOutboxTwoProcesses(t *testing.T, open Opener) {
	s1, s2 := obOpen(t, open, nil), obOpen(t, open, nil)
	tenants := []string{"misato", "kawajima"}
	want := map[string]int{}
	for _, tn := range tenants {
		obTenant(t, s1, tn)
		for _, e := range obCommit(t, s1, tn, "p", 3) {
			want[fmt.Sprint(tn, " ", e.Seq)] = 0
		}
	}
	var h handled
	runCtx, cancel := context.WithCancel(obCtx)
	var wg sync.WaitGroup
	for i, s := range []store.Store{s1, s2} {
		owner := fmt.Sprint("hub", i)
		l := newLoop(t, s, owner, nil, h.recorder(owner, nil), func(c *outbox.Config) {
			c.LeaseTTL, c.Poll, c.Batch, c.AckEvery, c.Rand = 20*time.Second, 20*time.Millisecond, 2, 1, nil
		})
		wg.Add(1)
		go func() { defer wg.Done(); l.Run(runCtx) }()
	}
	// Both processes write while both consume.
	for i, tn := range tenants {
		for _, e := range obCommit(t, []store.Store{s1, s2}[i], tn, "q", 3) {
			want[fmt.Sprint(tn, " ", e.Seq)] = 0
		}
	}
	deadline := time.Now().Add(time.Minute)
	for {
		h.mu.Lock()
		n := len(h.all)
		h.mu.Unlock()
		if n >= len(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // a double handling would show by now
	cancel()
	wg.Wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, rec := range h.all {
		var owner, tn string
		var seq int64
		fmt.Sscan(rec, &owner, &tn, &seq)
		want[fmt.Sprint(tn, " ", seq)]++
	}
	for ev, n := range want {
		if n != 1 {
			t.Errorf("event %s handled %d times by the two processes, want once (handled: %v)", ev, n, h.all)
		}
	}
	for _, tn := range tenants {
		if l := mustReadLease(t, s1, tn, "test"); l.Until.After(time.Now()) {
			t.Errorf("%s: lease %+v still held after both loops stopped", tn, l)
		}
	}
}
