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
	"math"
	"strings"
	"time"

	"github.com/kodomohub/kodomohub/fhir"
	"github.com/kodomohub/kodomohub/store"
)

// Version actions as stored in version.action.
const (
	actCreate = 1
	actUpdate = 2
	actDelete = 3
)

var actions = [...]store.Action{actCreate: store.Create, actUpdate: store.Update, actDelete: store.Delete}

// reader returns the read pool of a tenant (ErrNotFound for an unknown tenant).
func (s *Store) reader(ctx context.Context, tenant string) (*sql.DB, error) {
	t, err := s.tenantDB(ctx, tenant)
	if err != nil {
		return nil, err
	}
	return t.r, nil
}

// Read implements store.Store.
func (s *Store) Read(ctx context.Context, tenant, typ, id string) (fhir.Resource, error) {
	t, err := s.tenantDB(ctx, tenant)
	if err != nil {
		return fhir.Resource{}, err
	}
	r := fhir.Resource{Type: typ, ID: id}
	var ts int64
	var act int
	err = t.readStmt.QueryRowContext(ctx, typ, id).Scan(&r.Version, &act, &ts, (*[]byte)(&r.Raw))
	return finish(r, act, ts, err)
}

// VRead implements store.Store.
func (s *Store) VRead(ctx context.Context, tenant, typ, id string, version int64) (fhir.Resource, error) {
	t, err := s.tenantDB(ctx, tenant)
	if err != nil {
		return fhir.Resource{}, err
	}
	r := fhir.Resource{Type: typ, ID: id, Version: version}
	var ts int64
	var act int
	err = t.vreadStmt.QueryRowContext(ctx, version, typ, id).Scan(&act, &ts, (*[]byte)(&r.Raw))
	return finish(r, act, ts, err)
}

func finish(r fhir.Resource, act int, ts int64, err error) (fhir.Resource, error) {
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fhir.Resource{}, fmt.Errorf("store/sqlite: %s/%s: %w", r.Type, r.ID, store.ErrNotFound)
	case err != nil:
		return fhir.Resource{}, unavailable("read", err)
	}
	r.LastUpdated = time.UnixMilli(ts).UTC()
	if act == actDelete {
		r.Deleted, r.Raw = true, nil
		return r, fmt.Errorf("store/sqlite: %s/%s: %w", r.Type, r.ID, store.ErrGone)
	}
	return r, nil
}

// Page sizes of History and Events.
const (
	defaultCount = 50
	maxCount     = 1000
	maxEvents    = 10000
)

// History implements store.Store. Versions are ordered by change sequence, newest first; an
// instance history of a resource that never existed is ErrNotFound. With At, a delete
// version that was current at that instant is listed too (the resource was deleted then).
func (s *Store) History(ctx context.Context, tenant string, q store.HistoryQuery) (store.HistoryPage, error) {
	db, err := s.reader(ctx, tenant)
	if err != nil {
		return store.HistoryPage{}, err
	}
	count := q.Count
	if count <= 0 {
		count = defaultCount
	}
	count = min(count, maxCount)
	before := q.Before
	if before <= 0 {
		before = math.MaxInt64
	}
	var where []string
	var args []any
	order := "v.seq DESC"
	switch {
	case q.ID != "":
		var rid int64
		err := db.QueryRowContext(ctx, `SELECT rid FROM resource WHERE type = ? AND id = ?`, q.Type, q.ID).Scan(&rid)
		if errors.Is(err, sql.ErrNoRows) {
			return store.HistoryPage{}, fmt.Errorf("store/sqlite: %s/%s: %w", q.Type, q.ID, store.ErrNotFound)
		} else if err != nil {
			return store.HistoryPage{}, unavailable("History", err)
		}
		where, args = append(where, "v.rid = ?"), append(args, rid)
		order = "v.ver DESC" // same order as seq within one resource, and it follows version_rid
	case q.Type != "":
		where, args = append(where, "v.type = ?"), append(args, q.Type)
	}
	where, args = append(where, "v.seq < ?"), append(args, before)
	if !q.Since.IsZero() {
		where, args = append(where, "v.ts >= ?"), append(args, q.Since.UnixMilli())
	}
	if !q.At.IsZero() {
		at := q.At.UnixMilli()
		where = append(where, "v.ts <= ?",
			"NOT EXISTS (SELECT 1 FROM version n WHERE n.rid = v.rid AND n.ver = v.ver + 1 AND n.ts <= ?)")
		args = append(args, at, at)
	}
	args = append(args, count+1)
	rows, err := db.QueryContext(ctx, `SELECT v.seq, v.type, r.id, v.ver, v.action, v.ts, v.raw, coalesce(v.method, '')
		FROM version v JOIN resource r ON r.rid = v.rid
		WHERE `+strings.Join(where, " AND ")+` ORDER BY `+order+` LIMIT ?`, args...)
	if err != nil {
		return store.HistoryPage{}, unavailable("History", err)
	}
	defer rows.Close()
	var p store.HistoryPage
	for rows.Next() {
		var r fhir.Resource
		var seq, ts int64
		var act int
		var method string
		if err := rows.Scan(&seq, &r.Type, &r.ID, &r.Version, &act, &ts, (*[]byte)(&r.Raw), &method); err != nil {
			return store.HistoryPage{}, unavailable("History", err)
		}
		if len(p.Versions) == count {
			p.Next = p.Seqs[count-1]
			break
		}
		r.LastUpdated = time.UnixMilli(ts).UTC()
		if act == actDelete {
			r.Deleted, r.Raw = true, nil
		}
		p.Versions = append(p.Versions, r)
		p.Seqs = append(p.Seqs, seq)
		p.Requests = append(p.Requests, store.VersionRequest{Method: method, Created: act == actCreate})
	}
	if err := rows.Err(); err != nil {
		return store.HistoryPage{}, unavailable("History", err)
	}
	return p, nil
}

// Events implements store.Store. The action of an event is what the write did: an update
// that made a missing or deleted resource exist again is a create.
func (s *Store) Events(ctx context.Context, tenant string, after int64, limit int) ([]store.Event, error) {
	db, err := s.reader(ctx, tenant)
	if err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = defaultCount
	}
	limit = min(limit, maxEvents)
	rows, err := db.QueryContext(ctx, `SELECT v.seq, v.type, r.id, v.ver, v.action, v.ts
		FROM version v JOIN resource r ON r.rid = v.rid WHERE v.seq > ? ORDER BY v.seq LIMIT ?`, after, limit)
	if err != nil {
		return nil, unavailable("Events", err)
	}
	defer rows.Close()
	var evs []store.Event
	for rows.Next() {
		var e store.Event
		var act int
		var ts int64
		if err := rows.Scan(&e.Seq, &e.Type, &e.ID, &e.Version, &act, &ts); err != nil {
			return nil, unavailable("Events", err)
		}
		e.Action, e.Time = actions[act], time.UnixMilli(ts).UTC()
		evs = append(evs, e)
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable("Events", err)
	}
	return evs, nil
}
