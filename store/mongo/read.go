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
	"math"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	mongodrv "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/kodomohub/kodomohub/fhir"
	"github.com/kodomohub/kodomohub/store"
)

// Page sizes of History, Events and Search.
const (
	defaultCount = 50
	maxCount     = 1000
	maxEvents    = 10000
)

// Read implements store.Store: the resource document, or, when a committed transaction
// holds its lock (a roll forward in progress or interrupted), that transaction's version.
func (s *Store) Read(ctx context.Context, tenant, typ, id string) (fhir.Resource, error) {
	if _, err := s.Tenant(ctx, tenant); err != nil {
		return fhir.Resource{}, err
	}
	var d resDoc
	err := s.res.FindOne(ctx, bson.D{{Key: "_id", Value: resKey(tenant, typ, id)}},
		options.FindOne().SetProjection(bson.D{{Key: "ik", Value: 0}, {Key: "ix", Value: 0}, {Key: "sk", Value: 0}})).Decode(&d)
	switch {
	case errors.Is(err, mongodrv.ErrNoDocuments):
		return fhir.Resource{}, fmt.Errorf("store/mongo: %s/%s: %w", typ, id, store.ErrNotFound)
	case err != nil:
		return fhir.Resource{}, unavailable("Read", err)
	}
	if d.Lk != "" {
		v, ok, err := s.committedPending(ctx, tenant, typ, id, d.Lk, d.V)
		if err != nil {
			return fhir.Resource{}, err
		}
		if ok {
			return finish(v.resource())
		}
	}
	if d.V == 0 {
		return fhir.Resource{}, fmt.Errorf("store/mongo: %s/%s: %w", typ, id, store.ErrNotFound)
	}
	r := fhir.Resource{Type: typ, ID: id, Version: d.V, LastUpdated: time.UnixMilli(d.Ts).UTC(), Deleted: d.Del, Raw: d.Raw}
	if d.Del {
		r.Raw = nil
	}
	return finish(r)
}

// committedPending returns the newest version of a resource written by tx when tx has
// committed.
func (s *Store) committedPending(ctx context.Context, tenant, typ, id, tx string, from int64) (verDoc, bool, error) {
	st, err := s.txnState(ctx, tx)
	if err != nil || !committed(st) {
		return verDoc{}, false, err
	}
	// The transaction's versions of the resource follow the locked one: v+1, v+2, …
	var last verDoc
	found := false
	for ver := from + 1; ; ver++ {
		var v verDoc
		err = s.vers.FindOne(ctx, bson.D{{Key: "_id", Value: verKey(resKey(tenant, typ, id), ver)}},
			options.FindOne().SetProjection(verProjection)).Decode(&v)
		switch {
		case errors.Is(err, mongodrv.ErrNoDocuments):
			return last, found, nil
		case err != nil:
			return verDoc{}, false, unavailable("Read", err)
		}
		if v.Tx != tx && v.Tx != "" {
			return last, found, nil
		}
		last, found = v, true
	}
}

func finish(r fhir.Resource) (fhir.Resource, error) {
	if r.Deleted {
		return r, fmt.Errorf("store/mongo: %s/%s: %w", r.Type, r.ID, store.ErrGone)
	}
	return r, nil
}

// visible reports whether a version is committed: not pending, or pending under a
// transaction that committed.
func (s *Store) visible(ctx context.Context, v *verDoc) (bool, error) {
	if v.Tx == "" {
		return true, nil
	}
	st, err := s.txnState(ctx, v.Tx)
	return committed(st), err
}

var verProjection = bson.D{{Key: "ik", Value: 0}, {Key: "ix", Value: 0}, {Key: "sk", Value: 0}}

// VRead implements store.Store.
func (s *Store) VRead(ctx context.Context, tenant, typ, id string, version int64) (fhir.Resource, error) {
	if _, err := s.Tenant(ctx, tenant); err != nil {
		return fhir.Resource{}, err
	}
	var v verDoc
	err := s.vers.FindOne(ctx, bson.D{{Key: "_id", Value: verKey(resKey(tenant, typ, id), version)}},
		options.FindOne().SetProjection(verProjection)).Decode(&v)
	switch {
	case errors.Is(err, mongodrv.ErrNoDocuments):
	case err != nil:
		return fhir.Resource{}, unavailable("VRead", err)
	default:
		ok, err := s.visible(ctx, &v)
		if err != nil {
			return fhir.Resource{}, err
		}
		if ok {
			return finish(v.resource())
		}
	}
	return fhir.Resource{}, fmt.Errorf("store/mongo: %s/%s/_history/%d: %w", typ, id, version, store.ErrNotFound)
}

// History implements store.Store: versions by change sequence, newest first.
func (s *Store) History(ctx context.Context, tenant string, q store.HistoryQuery) (store.HistoryPage, error) {
	if _, err := s.Tenant(ctx, tenant); err != nil {
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
	f := bson.D{{Key: "t", Value: tenant}}
	sortBy := bson.D{{Key: "seq", Value: -1}}
	switch {
	case q.ID != "":
		if _, err := s.Read(ctx, tenant, q.Type, q.ID); errors.Is(err, store.ErrNotFound) {
			return store.HistoryPage{}, err
		} else if err != nil && !errors.Is(err, store.ErrGone) {
			return store.HistoryPage{}, err
		}
		f = append(f, bson.E{Key: "ty", Value: q.Type}, bson.E{Key: "id", Value: q.ID})
		sortBy = bson.D{{Key: "v", Value: -1}}
	case q.Type != "":
		f = append(f, bson.E{Key: "ty", Value: q.Type})
	}
	f = append(f, bson.E{Key: "seq", Value: bson.D{{Key: "$lt", Value: before}}})
	tsCond := bson.D{}
	if !q.Since.IsZero() {
		tsCond = append(tsCond, bson.E{Key: "$gte", Value: q.Since.UnixMilli()})
	}
	if !q.At.IsZero() {
		at := q.At.UnixMilli()
		tsCond = append(tsCond, bson.E{Key: "$lte", Value: at})
	}
	if len(tsCond) > 0 {
		f = append(f, bson.E{Key: "ts", Value: tsCond})
	}
	cur, err := s.vers.Find(ctx, f, options.Find().SetSort(sortBy).SetProjection(verProjection).SetBatchSize(int32(count+1)))
	if err != nil {
		return store.HistoryPage{}, unavailable("History", err)
	}
	defer cur.Close(ctx)
	var p store.HistoryPage
	for cur.Next(ctx) {
		var v verDoc
		if err := cur.Decode(&v); err != nil {
			return store.HistoryPage{}, unavailable("History", err)
		}
		if ok, err := s.visible(ctx, &v); err != nil {
			return store.HistoryPage{}, err
		} else if !ok {
			continue
		}
		if !q.At.IsZero() {
			// Current at At: no committed later version with lastUpdated <= At.
			if later, err := s.VRead(ctx, tenant, v.Ty, v.RID, v.V+1); err == nil || errors.Is(err, store.ErrGone) {
				if !later.LastUpdated.After(q.At) {
					continue
				}
			} else if !errors.Is(err, store.ErrNotFound) {
				return store.HistoryPage{}, err
			}
		}
		if len(p.Versions) == count {
			p.Next = p.Seqs[count-1]
			break
		}
		p.Versions = append(p.Versions, v.resource())
		p.Seqs = append(p.Seqs, v.Seq)
		p.Requests = append(p.Requests, store.VersionRequest{Method: v.M, Created: v.Act == actCreate})
	}
	if err := cur.Err(); err != nil {
		return store.HistoryPage{}, unavailable("History", err)
	}
	return p, nil
}

// Events implements store.Store. Events stop below the first sequence number of any open
// transaction (the watermark): a transaction that allocated its numbers but has not rolled
// forward yet may still commit, and a consumer must not pass its events.
func (s *Store) Events(ctx context.Context, tenant string, after int64, limit int) ([]store.Event, error) {
	if _, err := s.Tenant(ctx, tenant); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = defaultCount
	}
	limit = min(limit, maxEvents)
	wm, err := s.watermark(ctx, tenant)
	if err != nil {
		return nil, err
	}
	if wm <= after+1 {
		return nil, nil
	}
	cur, err := s.vers.Find(ctx, bson.D{{Key: "t", Value: tenant}, {Key: "seq", Value: bson.D{{Key: "$gt", Value: after}, {Key: "$lt", Value: wm}}}},
		options.Find().SetSort(bson.D{{Key: "seq", Value: 1}}).SetProjection(bson.D{{Key: "raw", Value: 0}, {Key: "ik", Value: 0}, {Key: "ix", Value: 0}, {Key: "sk", Value: 0}}).
			SetBatchSize(int32(min(limit+1, 1000))))
	if err != nil {
		return nil, unavailable("Events", err)
	}
	defer cur.Close(ctx)
	var evs []store.Event
	for len(evs) < limit && cur.Next(ctx) {
		var v verDoc
		if err := cur.Decode(&v); err != nil {
			return nil, unavailable("Events", err)
		}
		if ok, err := s.visible(ctx, &v); err != nil {
			return nil, err
		} else if !ok {
			continue // left behind by an aborted transaction
		}
		evs = append(evs, store.Event{Seq: v.Seq, Type: v.Ty, ID: v.RID, Version: v.V, Action: actions[v.Act],
			Time: time.UnixMilli(v.Ts).UTC()})
	}
	if err := cur.Err(); err != nil {
		return nil, unavailable("Events", err)
	}
	return evs, nil
}

// watermark is the lowest sequence number that may still be written: the first of the
// oldest open transaction, or the counter plus one.
func (s *Store) watermark(ctx context.Context, tenant string) (int64, error) {
	// The counter before the open blocks: a block is registered before the counter moves.
	var c struct {
		N int64 `bson:"n"`
	}
	err := s.counters.FindOne(ctx, bson.D{{Key: "_id", Value: tenant}}).Decode(&c)
	if err != nil && !errors.Is(err, mongodrv.ErrNoDocuments) {
		return 0, unavailable("Events", err)
	}
	wm := c.N + 1
	var o struct {
		Lo int64 `bson:"lo"`
	}
	err = s.open.FindOne(ctx, bson.D{{Key: "t", Value: tenant}}, options.FindOne().SetSort(bson.D{{Key: "lo", Value: 1}})).Decode(&o)
	switch {
	case err == nil:
		wm = min(wm, o.Lo)
	case !errors.Is(err, mongodrv.ErrNoDocuments):
		return 0, unavailable("Events", err)
	}
	return wm, nil
}
