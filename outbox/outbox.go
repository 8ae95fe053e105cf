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

package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"time"

	"github.com/kodomohub/kodomohub/store"
)

// Store is what a Loop needs of the store: the tenants, their change events and the leases
// (store.Store has them all).
type Store interface {
	Tenants(ctx context.Context) ([]store.Tenant, error)
	Events(ctx context.Context, tenant string, after int64, limit int) ([]store.Event, error)
	ClaimLease(ctx context.Context, tenant, consumer, owner string, ttl time.Duration) (store.Lease, error)
	ReadLease(ctx context.Context, tenant, consumer string) (store.Lease, error)
	AckEvents(ctx context.Context, tenant, consumer, owner string, seq int64) error
	ReleaseLease(ctx context.Context, tenant, consumer, owner string) error
}

// Handler handles one change event of one tenant. It may see an event again (see the package
// documentation) and must stop when ctx ends: ctx ends before the lease under which it runs.
type Handler interface {
	Handle(ctx context.Context, tenant string, e store.Event) error
}

// HandlerFunc is a Handler.
type HandlerFunc func(ctx context.Context, tenant string, e store.Event) error

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, tenant string, e store.Event) error {
	return f(ctx, tenant, e)
}

// Config configures a Loop. Zero fields take the defaults named.
type Config struct {
	Store   Store
	Handler Handler
	// Name names the consumer: its position per tenant is kept under it. 1–64 of [a-z0-9-].
	Name string
	// Owner names this process's hold on leases; it must differ between processes (default:
	// Name, "-" and 16 random hex digits from Rand).
	Owner string
	// LeaseTTL is how long a claim or renewal holds a tenant's lease (default 30 s): how long
	// the tenant's events wait when this process dies while holding it.
	LeaseTTL time.Duration
	// Batch is the number of events read at once (default 100; both backends return at most
	// 10,000); AckEvery the number of events handled between acknowledgements within a batch
	// (default Batch): at most that many are handled again after a crash.
	Batch, AckEvery int
	// Poll is how often Run looks for new events and tenants when idle (default 1 s; less
	// than LeaseTTL/2, so that a lease held during a backoff is renewed in time).
	Poll time.Duration
	// MinBackoff and MaxBackoff bound the delay before a failed event is tried again (defaults
	// 1 s and 5 min).
	MinBackoff, MaxBackoff time.Duration
	// Now is the clock (default time.Now); Rand draws the jitter and the default owner
	// (default: seeded from the runtime's entropy).
	Now  func() time.Time
	Rand *rand.Rand
	Log  *slog.Logger
}

// Defaults of Config.
const (
	DefaultLeaseTTL   = 30 * time.Second
	DefaultBatch      = 100
	DefaultPoll       = time.Second
	DefaultMinBackoff = time.Second
	DefaultMaxBackoff = 5 * time.Minute
)

// Loop runs one consumer over the change events of every tenant of a store. Build it with
// New; it is safe for concurrent use, though one Run (or one caller of Pass) at a time is what
// it is for.
type Loop struct {
	cfg Config

	mu      sync.Mutex // serialises passes; guards tenants and cfg.Rand
	tenants map[string]*tenantState
}

// tenantState is what a Loop remembers of one tenant between passes.
type tenantState struct {
	held  bool        // this loop holds the lease (as far as it knows)
	lease store.Lease // as last claimed; Position is the last acknowledgement
	// The event that failed last, how many times in a row, and when to try it again.
	failSeq int64
	attempt int
	retryAt time.Time
}

// New checks cfg and returns its Loop. Every problem of cfg is reported at once.
func New(cfg Config) (*Loop, error) {
	var errs []error
	if cfg.Store == nil {
		errs = append(errs, errors.New("outbox: Store is required"))
	}
	if cfg.Handler == nil {
		errs = append(errs, errors.New("outbox: Handler is required"))
	}
	if !validName(cfg.Name) {
		errs = append(errs, fmt.Errorf("outbox: Name %q: want 1–64 of [a-z0-9-]", cfg.Name))
	}
	if cfg.LeaseTTL == 0 {
		cfg.LeaseTTL = DefaultLeaseTTL
	}
	if cfg.Batch == 0 {
		cfg.Batch = DefaultBatch
	}
	if cfg.AckEvery == 0 {
		cfg.AckEvery = cfg.Batch
	}
	if cfg.Poll == 0 {
		cfg.Poll = min(DefaultPoll, cfg.LeaseTTL/4)
	}
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = max(DefaultMaxBackoff, cfg.MinBackoff)
	}
	switch {
	case cfg.LeaseTTL < 10*time.Millisecond:
		errs = append(errs, fmt.Errorf("outbox: LeaseTTL %v: want at least 10ms (the store keeps milliseconds)", cfg.LeaseTTL))
	case cfg.Poll <= 0 || cfg.Poll >= cfg.LeaseTTL/2:
		errs = append(errs, fmt.Errorf("outbox: Poll %v: want more than 0 and less than LeaseTTL/2 (%v)", cfg.Poll, cfg.LeaseTTL/2))
	}
	if cfg.Batch < 0 || cfg.AckEvery < 0 {
		errs = append(errs, fmt.Errorf("outbox: Batch %d, AckEvery %d: want positive numbers", cfg.Batch, cfg.AckEvery))
	}
	if cfg.MinBackoff < 0 || cfg.MaxBackoff < cfg.MinBackoff {
		errs = append(errs, fmt.Errorf("outbox: backoff from %v to %v: want 0 <= MinBackoff <= MaxBackoff", cfg.MinBackoff, cfg.MaxBackoff))
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	if cfg.Owner == "" {
		cfg.Owner = fmt.Sprintf("%s-%016x", cfg.Name, cfg.Rand.Uint64())
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &Loop{cfg: cfg, tenants: map[string]*tenantState{}}, nil
}

func validName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// Name returns the consumer's name.
func (l *Loop) Name() string { return l.cfg.Name }

// Owner returns the name under which this loop holds leases.
func (l *Loop) Owner() string { return l.cfg.Owner }

// Progress is what a pass did.
type Progress struct {
	// Handled counts the handler calls that succeeded.
	Handled int
	// More is true when a tenant has events left that the pass did not read (a full batch):
	// the next pass should follow at once.
	More bool
	// Retry is the earliest time a failed event is due again (zero when none failed).
	Retry time.Time
}

// Run runs passes until ctx ends, then acknowledges what it handled and releases its leases.
// It returns nil when ctx ends; errors of a pass are logged, and the next pass tries again.
func (l *Loop) Run(ctx context.Context) error {
	defer l.Release()
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		p, err := l.Pass(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			l.cfg.Log.Warn("outbox: pass failed; trying again", "consumer", l.cfg.Name, "err", err)
		}
		wait := l.cfg.Poll
		if p.More && err == nil {
			wait = 0
		}
		if !p.Retry.IsZero() {
			wait = max(0, min(wait, p.Retry.Sub(l.cfg.Now())))
		}
		t.Reset(wait)
	}
}

// Pass runs claim → handle → acknowledge once for every tenant of the store: at most Batch
// events each. Errors of the store are joined (the other tenants still run); a handler's
// failure is not an error of the pass (see Progress.Retry).
func (l *Loop) Pass(ctx context.Context) (Progress, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	tenants, err := l.cfg.Store.Tenants(ctx)
	if err != nil {
		return Progress{}, fmt.Errorf("outbox %s: tenants: %w", l.cfg.Name, err)
	}
	var p Progress
	var errs []error
	for _, t := range tenants {
		if ctx.Err() != nil {
			break
		}
		if err := l.consume(ctx, t.ID, &p); err != nil {
			errs = append(errs, fmt.Errorf("outbox %s: tenant %s: %w", l.cfg.Name, t.ID, err))
		}
	}
	return p, errors.Join(errs...)
}

// Release acknowledges nothing more and releases every lease this loop holds (Run does on its
// way out; a test or a caller of Pass may).
func (l *Loop) Release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for tenant, st := range l.tenants {
		if st.held {
			l.release(ctx, tenant, st)
		}
	}
}

func (l *Loop) release(ctx context.Context, tenant string, st *tenantState) {
	st.held = false
	if err := l.cfg.Store.ReleaseLease(ctx, tenant, l.cfg.Name, l.cfg.Owner); err != nil {
		l.cfg.Log.Warn("outbox: releasing a lease (it runs out on its own)", "consumer", l.cfg.Name, "tenant", tenant, "err", err)
	}
}

// errLost says that the loop no longer holds a tenant's lease, errMoved that another owner
// acknowledged events meanwhile: either way the loop drops what it read.
var (
	errLost  = errors.New("lease lost")
	errMoved = errors.New("position moved by another owner")
)

// consume runs one tenant's part of a pass.
func (l *Loop) consume(ctx context.Context, tenant string, p *Progress) error {
	st := l.tenants[tenant]
	if st == nil {
		st = &tenantState{}
		l.tenants[tenant] = st
	}
	now := l.cfg.Now()
	if now.Before(st.retryAt) { // backing off: keep the lease, so no other process runs ahead
		p.Retry = earliest(p.Retry, st.retryAt)
		if st.held {
			return l.keep(ctx, tenant, st, now)
		}
		return nil
	}
	if !st.held {
		// Look before claiming: a read, so that an idle or refused consumer writes nothing.
		seen, err := l.cfg.Store.ReadLease(ctx, tenant, l.cfg.Name)
		if err != nil {
			return err
		}
		if seen.Owner != l.cfg.Owner && seen.Until.After(now) {
			return nil // another process is at work
		}
		evs, err := l.cfg.Store.Events(ctx, tenant, seen.Position, 1)
		if err != nil || len(evs) == 0 {
			return err
		}
		lease, err := l.cfg.Store.ClaimLease(ctx, tenant, l.cfg.Name, l.cfg.Owner, l.cfg.LeaseTTL)
		switch {
		case errors.Is(err, store.ErrLeaseHeld):
			return nil // another process was quicker
		case err != nil:
			return err
		}
		st.held, st.lease = true, lease
	} else if err := l.keep(ctx, tenant, st, now); err != nil {
		return err
	}
	if !st.held {
		return nil
	}
	evs, err := l.cfg.Store.Events(ctx, tenant, st.lease.Position, l.cfg.Batch)
	if err != nil {
		return err
	}
	err = l.handleBatch(ctx, tenant, st, evs, p)
	switch {
	case errors.Is(err, errLost):
		st.held = false
	case errors.Is(err, errMoved):
		p.More = true // read again from the stored position
	case err != nil:
		return err
	case l.cfg.Now().Before(st.retryAt):
		// An event failed: keep the lease through the backoff.
	case len(evs) == l.cfg.Batch:
		p.More = true
	case ctx.Err() == nil:
		l.release(ctx, tenant, st) // caught up: any process may take the next events
	}
	return nil
}

// keep renews a held lease when less than half of its ttl is left. When the lease was lost it
// is no longer held; when another owner held it meanwhile and moved the position past what this
// loop acknowledged, st.lease has the new position (the caller drops what it read) and the
// failure state is cleared.
func (l *Loop) keep(ctx context.Context, tenant string, st *tenantState, now time.Time) error {
	if st.lease.Until.Sub(now) >= l.cfg.LeaseTTL/2 {
		return nil
	}
	lease, err := l.cfg.Store.ClaimLease(ctx, tenant, l.cfg.Name, l.cfg.Owner, l.cfg.LeaseTTL)
	switch {
	case errors.Is(err, store.ErrLeaseHeld):
		st.held = false
		return nil
	case err != nil:
		return err
	}
	if lease.Position != st.lease.Position {
		// Another owner held the lease in between and acknowledged events: start from the
		// stored position with a clean slate.
		st.failSeq, st.attempt, st.retryAt = 0, 0, time.Time{}
	}
	st.lease = lease
	return nil
}

// handleBatch handles evs in order and acknowledges them. It returns errLost when the lease is
// no longer this loop's, errMoved when another owner moved the position meanwhile.
func (l *Loop) handleBatch(ctx context.Context, tenant string, st *tenantState, evs []store.Event, p *Progress) error {
	done, pending := st.lease.Position, 0 // the last event handled; how many since the last ack
	ack := func() error {
		if pending == 0 {
			return nil
		}
		err := l.cfg.Store.AckEvents(context.WithoutCancel(ctx), tenant, l.cfg.Name, l.cfg.Owner, done)
		switch {
		case errors.Is(err, store.ErrLeaseHeld):
			return errLost
		case err != nil:
			return err
		}
		st.lease.Position, pending = done, 0
		return nil
	}
	for _, e := range evs {
		if ctx.Err() != nil {
			return ack()
		}
		now := l.cfg.Now()
		if st.lease.Until.Sub(now) < l.cfg.LeaseTTL/2 {
			if err := ack(); err != nil {
				return err
			}
			if err := l.keep(ctx, tenant, st, now); err != nil {
				return err
			}
			switch {
			case !st.held:
				return errLost
			case st.lease.Position != done:
				return errMoved
			}
		}
		if err := l.handle(ctx, tenant, st.lease.Until.Sub(now)-l.cfg.LeaseTTL/10, e); err != nil {
			if ctx.Err() != nil { // stopping, not failing
				return ack()
			}
			l.failed(tenant, st, e, err)
			p.Retry = earliest(p.Retry, st.retryAt)
			return ack()
		}
		p.Handled++
		done, pending = e.Seq, pending+1
		if e.Seq == st.failSeq {
			st.failSeq, st.attempt = 0, 0
		}
		if pending >= l.cfg.AckEvery {
			if err := ack(); err != nil {
				return err
			}
		}
	}
	return ack()
}

// handle calls the handler with a context that ends before the lease, turning a panic into
// an error.
func (l *Loop) handle(ctx context.Context, tenant string, within time.Duration, e store.Event) (err error) {
	hctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panicked: %v\n%s", r, debug.Stack())
		}
	}()
	return l.cfg.Handler.Handle(hctx, tenant, e)
}

// failed records a failure of e and schedules its next attempt.
func (l *Loop) failed(tenant string, st *tenantState, e store.Event, err error) {
	if st.failSeq != e.Seq {
		st.failSeq, st.attempt = e.Seq, 0
	}
	st.attempt++
	delay := Backoff(st.attempt, l.cfg.MinBackoff, l.cfg.MaxBackoff, l.cfg.Rand)
	st.retryAt = l.cfg.Now().Add(delay)
	l.cfg.Log.Warn("outbox: handler failed; the event will be tried again", "consumer", l.cfg.Name, "tenant", tenant,
		"seq", e.Seq, "resource", e.Type+"/"+e.ID, "attempt", st.attempt, "retry_in", delay, "err", err)
}

// Backoff returns the delay before attempt n+1 after n failures in a row (n >= 1): d =
// lo·2^(n-1), at most hi, drawn with jitter from [d/2, d] by r.
func Backoff(n int, lo, hi time.Duration, r *rand.Rand) time.Duration {
	d := hi
	if n < 1 {
		n = 1
	}
	if n <= 62 && lo <= hi>>(n-1) {
		d = lo << (n - 1)
	}
	if d <= 0 {
		return 0
	}
	return d/2 + time.Duration(r.Int64N(int64(d-d/2)+1))
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}
