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
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/kodomohub/kodomohub/store"
)

var (
	_ store.AuditLog = (*Store)(nil)
	_ store.Records  = (*Store)(nil)
	_ store.Leases   = (*Store)(nil)
)

// ---- audit ----

// AppendAudit implements store.AuditLog. The entries are encoded as frames of the tenant's
// log file on the caller's goroutine and queued to its appender, which writes the frames of
// every queued append with one write under the file's lock, chained after the head, and answers
// once the head file records them (auditlog.go). Time is kept to the millisecond (the returned
// entries say so).
func (s *Store) AppendAudit(ctx context.Context, tenant string, entries []store.AuditEntry) ([]store.AuditEntry, error) {
	t, err := s.tenantDB(ctx, tenant)
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return nil, nil
	}
	al, err := t.auditLog(ctx)
	if err != nil {
		return nil, err
	}
	return al.append(ctx, entries)
}

// AuditEntries implements store.AuditLog: it reads the log from the frame of after+1 up to the
// head, in chunks.
func (s *Store) AuditEntries(ctx context.Context, tenant string, after int64, limit int) ([]store.AuditEntry, error) {
	al, h, err := s.auditHead(ctx, tenant)
	if err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = defaultCount
	}
	limit = min(limit, maxEvents)
	if after >= h.seq {
		return nil, nil
	}
	es, err := al.entries(ctx, h, max(after, 0), limit)
	if err != nil {
		return nil, unavailable("AuditEntries", err)
	}
	return es, nil
}

// AuditHead implements store.AuditLog: the head file.
func (s *Store) AuditHead(ctx context.Context, tenant string) (int64, []byte, error) {
	_, h, err := s.auditHead(ctx, tenant)
	if err != nil {
		return 0, nil, err
	}
	return h.seq, bytes.Clone(h.hash[:]), nil
}

func (s *Store) auditHead(ctx context.Context, tenant string) (*auditLog, auditHead, error) {
	t, err := s.tenantDB(ctx, tenant)
	if err != nil {
		return nil, auditHead{}, err
	}
	al, err := t.auditLog(ctx)
	if err != nil {
		return nil, auditHead{}, err
	}
	h, err := al.currentHead()
	return al, h, err
}

// AuditSeal implements store.AuditLog: the head file's slot, and the whole frames after it
// that continue the chain (the log is read past the head only when it is longer).
func (s *Store) AuditSeal(ctx context.Context, tenant string) (store.AuditSeal, error) {
	al, h, err := s.auditHead(ctx, tenant)
	if err != nil {
		return store.AuditSeal{}, err
	}
	h, past, err := al.past(h)
	if err != nil {
		return store.AuditSeal{}, unavailable("AuditSeal", err)
	}
	seal := h.seal()
	seal.Past = past
	return seal, nil
}

// VerifyAuditIndex implements store.AuditLog: every block of the index database is compared
// with the frames of the log it covers (auditlog_index.go, verifyIndex).
func (s *Store) VerifyAuditIndex(ctx context.Context, tenant string) error {
	al, _, err := s.auditHead(ctx, tenant)
	if err != nil {
		return err
	}
	return al.verifyIndex(ctx)
}

// SearchAudit implements store.AuditLog. It first indexes the entries up to the head that are
// not yet indexed, then walks the index newest first (auditlog_index.go): the postings of the
// query's patient, else of its agent, else of its entity's type, or else the blocks, skipping
// blocks outside Since and Until; every filter is tested on the frames read from the log.
func (s *Store) SearchAudit(ctx context.Context, tenant string, q store.AuditQuery) ([]store.AuditEntry, int64, error) {
	al, h, err := s.auditHead(ctx, tenant)
	if err != nil {
		return nil, 0, err
	}
	if err := al.indexedUpTo(ctx, h); err != nil {
		return nil, 0, err
	}
	count := q.Count
	if count <= 0 {
		count = defaultCount
	}
	count = min(count, maxCount)
	before := h.seq + 1
	if q.Before > 0 {
		before = min(before, q.Before)
	}
	es, err := al.search(ctx, q, before, count+1)
	if err != nil {
		return nil, 0, unavailable("SearchAudit", err)
	}
	var next int64
	if len(es) > count {
		es = es[:count]
		next = es[count-1].Seq
	}
	return es, next, nil
}

// ---- records and one-time keys ----

// PutRecord implements store.Records.
func (s *Store) PutRecord(ctx context.Context, tenant, kind, id string, data []byte) error {
	if data == nil {
		data = []byte{}
	}
	return s.write(ctx, tenant, "PutRecord", func(ctx context.Context, t *tenantDB) error {
		if err := t.exec(ctx, `INSERT INTO record (kind, id, data) VALUES (?, ?, ?)
			ON CONFLICT (kind, id) DO UPDATE SET data = excluded.data`, kind, id, data); err != nil {
			return unavailable("PutRecord", err)
		}
		return nil
	})
}

// GetRecord implements store.Records.
func (s *Store) GetRecord(ctx context.Context, tenant, kind, id string) ([]byte, error) {
	db, err := s.reader(ctx, tenant)
	if err != nil {
		return nil, err
	}
	var data []byte
	switch err := db.QueryRowContext(ctx, `SELECT data FROM record WHERE kind = ? AND id = ?`, kind, id).Scan(&data); {
	case errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("store/sqlite: record %s/%s: %w", kind, id, store.ErrNotFound)
	case err != nil:
		return nil, unavailable("GetRecord", err)
	}
	return data, nil
}

// ListRecords implements store.Records.
func (s *Store) ListRecords(ctx context.Context, tenant, kind string) ([]store.Record, error) {
	db, err := s.reader(ctx, tenant)
	if err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, `SELECT id, data FROM record WHERE kind = ? ORDER BY id`, kind)
	if err != nil {
		return nil, unavailable("ListRecords", err)
	}
	defer rows.Close()
	var rs []store.Record
	for rows.Next() {
		var r store.Record
		if err := rows.Scan(&r.ID, &r.Data); err != nil {
			return nil, unavailable("ListRecords", err)
		}
		rs = append(rs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable("ListRecords", err)
	}
	return rs, nil
}

// DeleteRecord implements store.Records.
func (s *Store) DeleteRecord(ctx context.Context, tenant, kind, id string) error {
	return s.write(ctx, tenant, "DeleteRecord", func(ctx context.Context, t *tenantDB) error {
		res, err := t.conn.ExecContext(ctx, `DELETE FROM record WHERE kind = ? AND id = ?`, kind, id)
		if err != nil {
			return unavailable("DeleteRecord", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("store/sqlite: record %s/%s: %w", kind, id, store.ErrNotFound)
		}
		return nil
	})
}

// oncePurge is how often Once deletes the expired keys of a tenant.
const oncePurge = time.Minute

// Once implements store.Records. The check and the write run in the writer's transaction
// (BEGIN IMMEDIATE), so one caller of all processes sees false; now is Options.Now. A key seen
// again keeps the later of its two untils. At most once a minute the expired keys are deleted.
func (s *Store) Once(ctx context.Context, tenant, key string, until time.Time) (bool, error) {
	var seen bool
	err := s.write(ctx, tenant, "Once", func(ctx context.Context, t *tenantDB) error {
		now := t.s.opts.Now().UnixMilli()
		if now-t.oncePurged >= oncePurge.Milliseconds() || now < t.oncePurged {
			if err := t.exec(ctx, `DELETE FROM once WHERE until_ms <= ?`, now); err != nil {
				return unavailable("Once", err)
			}
			t.oncePurged = now
		}
		st, err := t.stmt(ctx, `SELECT until_ms FROM once WHERE key = ?`)
		if err != nil {
			return unavailable("Once", err)
		}
		var old int64
		switch err := st.QueryRowContext(ctx, key).Scan(&old); {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return unavailable("Once", err)
		default:
			seen = old > now
		}
		u := until.UnixMilli()
		if seen && u <= old {
			return nil
		}
		if st, err = t.stmt(ctx, `INSERT INTO once (key, until_ms) VALUES (?, ?)
			ON CONFLICT (key) DO UPDATE SET until_ms = excluded.until_ms`); err == nil {
			_, err = st.ExecContext(ctx, key, u)
		}
		if err != nil {
			return unavailable("Once", err)
		}
		return nil
	})
	return seen, err
}

// ---- leases ----

// lease is a row of the lease table.
type lease struct {
	owner      string
	until, pos int64
}

// lease reads the lease of consumer on the writer's connection (ok false when there is none).
func (t *tenantDB) lease(ctx context.Context, consumer string) (l lease, ok bool, err error) {
	st, err := t.stmt(ctx, `SELECT owner, until_ms, pos FROM lease WHERE consumer = ?`)
	if err != nil {
		return l, false, err
	}
	err = st.QueryRowContext(ctx, consumer).Scan(&l.owner, &l.until, &l.pos)
	if errors.Is(err, sql.ErrNoRows) {
		return l, false, nil
	}
	return l, err == nil, err
}

// ClaimEvents implements store.Leases: ClaimLease (leases.go), then the events from the read
// pool (they never change once written).
func (s *Store) ClaimEvents(ctx context.Context, tenant, consumer, owner string, ttl time.Duration, limit int) (store.Lease, []store.Event, error) {
	got, err := s.ClaimLease(ctx, tenant, consumer, owner, ttl)
	if err != nil {
		return store.Lease{}, nil, err
	}
	evs, err := s.Events(ctx, tenant, got.Position, limit)
	if err != nil {
		return store.Lease{}, nil, err
	}
	return got, evs, nil
}

// AckEvents implements store.Leases.
func (s *Store) AckEvents(ctx context.Context, tenant, consumer, owner string, seq int64) error {
	return s.write(ctx, tenant, "AckEvents", func(ctx context.Context, t *tenantDB) error {
		l, ok, err := t.lease(ctx, consumer)
		if err != nil {
			return unavailable("AckEvents", err)
		}
		if !ok || l.owner != owner || l.until <= t.s.opts.Now().UnixMilli() {
			return fmt.Errorf("store/sqlite: lease %s: %w", consumer, store.ErrLeaseHeld)
		}
		if seq > l.pos {
			if err := t.exec(ctx, `UPDATE lease SET pos = ? WHERE consumer = ?`, seq, consumer); err != nil {
				return unavailable("AckEvents", err)
			}
		}
		return nil
	})
}

// ReleaseLease implements store.Leases: the lease's until becomes 0, its position stays.
func (s *Store) ReleaseLease(ctx context.Context, tenant, consumer, owner string) error {
	return s.write(ctx, tenant, "ReleaseLease", func(ctx context.Context, t *tenantDB) error {
		if err := t.exec(ctx, `UPDATE lease SET until_ms = 0 WHERE consumer = ? AND owner = ?`, consumer, owner); err != nil {
			return unavailable("ReleaseLease", err)
		}
		return nil
	})
}
