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

package mongo

import (
	"context"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/kodomohub/kodomohub/store"
)

// This file holds what the hub's own data (audit.go, records.go, leases.go) shares: the
// exclusive section that makes a conditional update atomic on FerretDB, and their part of the
// recovery pass.

// exclusive runs fn as the only holder of name among all processes where the server needs it.
// On MongoDB a single-document update is atomic, filter and all, so fn runs at once. On
// FerretDB a conditional update is a read then a write by _id, and two clients can both pass
// the filter: there fn runs under the lock document "#"+name (a unique insert, which is
// atomic there too), released afterwards. A lock left by a dead process is settled by
// acquire once it is older than Options.Lease.
func (s *Store) exclusive(ctx context.Context, tenant, name string, fn func() error) error {
	if s.exact.Load() {
		return fn()
	}
	tx := newTxID()
	id := "#" + name
	start := time.Now()
	for attempt := 0; ; attempt++ {
		now := s.opts.Now().UnixMilli()
		lock := bson.D{{Key: "_id", Value: id}, {Key: "t", Value: tenant}, {Key: "tx", Value: tx}, {Key: "la", Value: now}}
		ok, err := s.acquire(ctx, tenant, tx, []any{lock}, now)
		if err != nil {
			return err
		}
		if ok {
			break
		}
		if time.Since(start) > 2*s.opts.Lease {
			return fmt.Errorf("store/mongo: lock %s stays held: %w", id, store.ErrUnavailable)
		}
		if err := pause(ctx, attempt); err != nil {
			return err
		}
	}
	defer s.locks.DeleteOne(context.WithoutCancel(ctx), bson.D{{Key: "_id", Value: id}, {Key: "tx", Value: tx}})
	return fn()
}

// pause waits a random time that grows with attempt (1 ms up to 64 ms), or until ctx ends.
func pause(ctx context.Context, attempt int) error {
	d := time.Duration(1+mrand.IntN(1<<min(attempt, 6))) * time.Millisecond
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("store/mongo: %w", ctx.Err())
	case <-t.C:
		return nil
	}
}

// driverErr wraps an error of a driver call as unavailable, unless it is one of the store's
// own errors already.
func driverErr(op string, err error) error {
	if err == nil || errors.Is(err, store.ErrUnavailable) || errors.Is(err, store.ErrLeaseHeld) ||
		errors.Is(err, store.ErrNotFound) {
		return err
	}
	return unavailable(op, err)
}

// recoverAdmin is the hub data's part of the recovery pass: audit appends a crash
// interrupted are finished or aborted (audit.go), and on FerretDB, which has no TTL indexes,
// long-expired one-time keys are deleted.
func (s *Store) recoverAdmin(ctx context.Context) error {
	var errs []error
	if err := s.recoverAudit(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := s.purgeOnce(ctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
