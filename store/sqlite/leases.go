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

package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/kodomohub/kodomohub/store"
)

// ClaimLease implements store.Leases. The lease is taken in the writer's transaction (one
// savepoint of its group), so that the check and the write are one step for all processes. The
// clock is Options.Now, to the millisecond.
func (s *Store) ClaimLease(ctx context.Context, tenant, consumer, owner string, ttl time.Duration) (store.Lease, error) {
	if owner == "" {
		return store.Lease{}, fmt.Errorf("store/sqlite: ClaimLease: empty owner")
	}
	var got store.Lease
	err := s.write(ctx, tenant, "ClaimLease", func(ctx context.Context, t *tenantDB) error {
		now := t.s.opts.Now().UnixMilli()
		l, ok, err := t.lease(ctx, consumer)
		if err != nil {
			return unavailable("ClaimLease", err)
		}
		if ok && l.owner != owner && l.until > now {
			return fmt.Errorf("store/sqlite: lease %s: %w", consumer, store.ErrLeaseHeld)
		}
		until := now + ttl.Milliseconds()
		if err := t.exec(ctx, `INSERT INTO lease (consumer, owner, until_ms, pos) VALUES (?, ?, ?, 0)
			ON CONFLICT (consumer) DO UPDATE SET owner = excluded.owner, until_ms = excluded.until_ms`,
			consumer, owner, until); err != nil {
			return unavailable("ClaimLease", err)
		}
		got = store.Lease{Consumer: consumer, Owner: owner, Until: time.UnixMilli(until).UTC(), Position: l.pos}
		return nil
	})
	if err != nil {
		return store.Lease{}, err
	}
	return got, nil
}

// ReadLease implements store.Leases: one row read from the read pool.
func (s *Store) ReadLease(ctx context.Context, tenant, consumer string) (store.Lease, error) {
	db, err := s.reader(ctx, tenant)
	if err != nil {
		return store.Lease{}, err
	}
	l := store.Lease{Consumer: consumer}
	var until int64
	switch err := db.QueryRowContext(ctx, `SELECT owner, until_ms, pos FROM lease WHERE consumer = ?`, consumer).
		Scan(&l.Owner, &until, &l.Position); {
	case errors.Is(err, sql.ErrNoRows):
		return l, nil
	case err != nil:
		return store.Lease{}, unavailable("ReadLease", err)
	}
	l.Until = time.UnixMilli(until).UTC()
	return l, nil
}
