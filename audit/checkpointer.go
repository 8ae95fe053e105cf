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

package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/kodomohub/kodomohub/store"
)

// Trail is what this package reads of a store's audit trails (store.AuditLog has it).
type Trail interface {
	AuditSeal(ctx context.Context, tenant string) (store.AuditSeal, error)
	AuditEntries(ctx context.Context, tenant string, after int64, limit int) ([]store.AuditEntry, error)
}

// Store is what the Checkpointer needs of a store: the trails, somewhere to keep checkpoints,
// and the tenants (store.Store has it).
type Store interface {
	Trail
	Records
	Tenants(ctx context.Context) ([]store.Tenant, error)
}

// Checkpointer signs checkpoints of every tenant's trail while a server runs: when Every
// entries were appended since the last one, or Interval has passed and at least one was, and
// for every tenant with new entries when Run's context ends (a clean shutdown). It asks the
// store for each head every Poll (a read of the head, no entries). Before it signs, it checks
// what it can, so that a signature never covers a trail that was already changed: the head's
// seal (with HeadKey), and that the entries since its previous checkpoint continue that
// checkpoint's chain. Checkpoints go into the store and, with Dir, into a file per tenant
// there as well. Several processes on one store may each run one: their checkpoints agree.
type Checkpointer struct {
	Store Store
	// Key signs the checkpoints.
	Key ed25519.PrivateKey
	// HeadKey, when set, checks the seal of each head before it is signed.
	HeadKey *store.AuditKey
	// Every and Interval say when a checkpoint is due (defaults 10,000 entries and 5 minutes);
	// Poll is how often heads are read (default 1 s, at most Interval).
	Every    int64
	Interval time.Duration
	Poll     time.Duration
	// Dir, when set, receives every checkpoint as a line of Dir/<tenant>.checkpoints.jsonl.
	Dir string
	// Now is the clock (default time.Now); Logger reports checkpoints and refusals (default
	// slog.Default()).
	Now    func() time.Time
	Logger *slog.Logger

	mu       sync.Mutex
	last     map[string]Checkpoint // per tenant: the last checkpoint made or found
	reported map[string]string     // per tenant: the last refusal logged (each is logged once)
}

// Defaults of a Checkpointer. A checkpoint is a write to the town's store, and on SQLite
// every write makes each reading connection drop its page cache: at 10,000 entries, a town
// serving 5,000 audited reads a second lost a third of its read throughput to checkpoints
// (docs/benchmarks.md). The interval is what bounds the window in a busy town.
const (
	DefaultEvery    = 1_000_000
	DefaultInterval = 5 * time.Minute
)

// shutdownGrace bounds the final pass of Run after its context ended.
const shutdownGrace = 30 * time.Second

func (c *Checkpointer) defaults() {
	if c.Every <= 0 {
		c.Every = DefaultEvery
	}
	if c.Interval <= 0 {
		c.Interval = DefaultInterval
	}
	if c.Poll <= 0 {
		c.Poll = time.Second
	}
	c.Poll = min(c.Poll, c.Interval)
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.last == nil {
		c.last, c.reported = map[string]Checkpoint{}, map[string]string{}
	}
}

// Run makes checkpoints until ctx ends, then a last one of every tenant with entries since
// its previous checkpoint (within 30 s), and returns what that last pass could not do.
func (c *Checkpointer) Run(ctx context.Context) error {
	c.mu.Lock()
	c.defaults()
	poll := c.Poll
	c.mu.Unlock()
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		c.Pass(ctx, false) // what fails is logged; the next pass tries again
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
			defer cancel()
			return c.Pass(fctx, true)
		case <-t.C:
		}
	}
}

// Pass checks every tenant once and makes the checkpoints that are due (final: every tenant
// with entries since its last checkpoint). Problems are logged and returned together.
func (c *Checkpointer) Pass(ctx context.Context, final bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.defaults()
	ts, err := c.Store.Tenants(ctx)
	if err != nil {
		c.Logger.Warn("audit: checkpoints: listing tenants", "err", err)
		return err
	}
	var errs []error
	for _, t := range ts {
		if _, err := c.checkpoint(ctx, t.ID, final); err != nil {
			errs = append(errs, fmt.Errorf("tenant %s: %w", t.ID, err))
		}
	}
	return errors.Join(errs...)
}

// Checkpoint makes a checkpoint of tenant's head now, unless its last one is of that head.
func (c *Checkpointer) Checkpoint(ctx context.Context, tenant string) (Checkpoint, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.defaults()
	if _, err := c.checkpoint(ctx, tenant, true); err != nil {
		return Checkpoint{}, err
	}
	return c.last[tenant], nil
}

// ErrRefused: the Checkpointer found a trail it will not sign (the error says why).
var ErrRefused = errors.New("audit: checkpoint refused")

// checkpoint makes tenant's checkpoint when due (always when final and the head moved). It
// runs under mu.
func (c *Checkpointer) checkpoint(ctx context.Context, tenant string, final bool) (made bool, err error) {
	defer func() {
		switch {
		case errors.Is(err, ErrRefused) && c.reported[tenant] != err.Error():
			c.reported[tenant] = err.Error()
			c.Logger.Error("audit: not signing a checkpoint", "tenant", tenant, "err", err)
		case err != nil && !errors.Is(err, ErrRefused):
			c.Logger.Warn("audit: checkpoint", "tenant", tenant, "err", err)
		case err == nil:
			delete(c.reported, tenant)
		}
	}()
	seal, err := c.Store.AuditSeal(ctx, tenant)
	if err != nil || seal.Seq == 0 {
		return false, err
	}
	last, known := c.last[tenant]
	if !known {
		// After a restart: the last checkpoint of the directory outside the store, where a
		// cut of the store does not reach, or else one of this very head kept in the store.
		var cp Checkpoint
		if c.Dir != "" {
			cp, err = lastInFile(CheckpointFile(c.Dir, tenant))
			if err != nil {
				return false, err
			}
		}
		if cp.Seq == 0 {
			switch b, err := c.Store.GetRecord(ctx, tenant, CheckpointKind, CheckpointID(seal.Seq)); {
			case err == nil:
				json.Unmarshal(b, &cp) // one that does not decode is not taken
			case !errors.Is(err, store.ErrNotFound):
				return false, err
			}
		}
		if cp.Seq > 0 && cp.Tenant == tenant && cp.Check(c.Key.Public().(ed25519.PublicKey)) == nil {
			last, known = cp, true
			c.last[tenant] = cp
		}
	}
	now := c.Now()
	switch {
	case known && seal.Seq < last.Seq:
		return false, fmt.Errorf("%w: the head (entry %d) is before the last checkpoint's entry %d: the trail was cut", ErrRefused, seal.Seq, last.Seq)
	case known && seal.Seq == last.Seq && !bytes.Equal(seal.Hash, last.Hash):
		return false, fmt.Errorf("%w: entry %d's hash differs from its checkpoint's: the trail was rewritten", ErrRefused, seal.Seq)
	case known && seal.Seq == last.Seq:
		return false, nil
	case known && !final && seal.Seq-last.Seq < c.Every && now.Sub(last.Time) < c.Interval:
		return false, nil
	}
	if c.HeadKey != nil && seal.MAC != nil && !c.HeadKey.Verify(tenant, seal) {
		return false, fmt.Errorf("%w: the head's seal (entry %d) does not verify under the audit key", ErrRefused, seal.Seq)
	}
	if known {
		if err := c.linked(ctx, tenant, last, seal); err != nil {
			return false, err
		}
	}
	cp := SignCheckpoint(c.Key, tenant, seal.Seq, seal.Hash, now)
	if err := c.Store.PutRecord(ctx, tenant, CheckpointKind, CheckpointID(cp.Seq), cp.MarshalLine()); err != nil {
		return false, err
	}
	c.last[tenant] = cp
	if c.Dir != "" {
		if err := AppendToDir(c.Dir, cp); err != nil {
			c.Logger.Error("audit: checkpoint kept in the store only", "tenant", tenant, "seq", cp.Seq, "err", err)
		}
	}
	c.Logger.Debug("audit: checkpoint", "tenant", tenant, "seq", cp.Seq)
	return true, nil
}

// linked checks that the entries after the checkpoint last continue its chain up to the head.
func (c *Checkpointer) linked(ctx context.Context, tenant string, last Checkpoint, seal store.AuditSeal) error {
	prev, at := last.Hash, last.Seq
	for at < seal.Seq {
		es, err := c.Store.AuditEntries(ctx, tenant, at, 1000)
		if err != nil {
			return err
		}
		if len(es) == 0 {
			break
		}
		for _, e := range es {
			if e.Seq > seal.Seq {
				break
			}
			if e.Seq != at+1 || !bytes.Equal(store.AuditLink(prev, e.Seq, e.Record), e.Hash) {
				return fmt.Errorf("%w: entry %d does not continue the chain of the checkpoint of entry %d", ErrRefused, e.Seq, last.Seq)
			}
			prev, at = e.Hash, e.Seq
		}
	}
	if at != seal.Seq || !bytes.Equal(prev, seal.Hash) {
		return fmt.Errorf("%w: the entries after the checkpoint of entry %d end at %d, not at the head (entry %d)", ErrRefused, last.Seq, at, seal.Seq)
	}
	return nil
}

// lastInFile returns the last checkpoint of a checkpoint file (zero when there is none): it
// reads the file's last 64 KiB only, and skips a last line that a crash left torn.
func lastInFile(path string) (Checkpoint, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Checkpoint{}, nil
	}
	if err != nil {
		return Checkpoint{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Checkpoint{}, err
	}
	off := max(0, fi.Size()-64<<10)
	b := make([]byte, fi.Size()-off)
	if _, err := f.ReadAt(b, off); err != nil && !errors.Is(err, io.EOF) {
		return Checkpoint{}, err
	}
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	for i := len(lines) - 1; i >= 0; i-- {
		var cp Checkpoint
		if json.Unmarshal(lines[i], &cp) == nil {
			return cp, nil
		}
	}
	return Checkpoint{}, nil
}
