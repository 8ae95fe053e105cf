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
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	mongodrv "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/kodomohub/kodomohub/store"
)

// recordDoc is a record document: _id "t/kind/id" (a kind has no "/", so the _id is
// unambiguous), data d.
type recordDoc struct {
	ID   string `bson:"_id"`
	T    string `bson:"t"`
	Kind string `bson:"k"`
	RID  string `bson:"id"`
	Data []byte `bson:"d"`
}

func recordKey(tenant, kind, id string) (string, error) {
	if kind == "" || strings.Contains(kind, "/") {
		return "", fmt.Errorf("store/mongo: record kind %q: want a name without /", kind)
	}
	return tenant + "/" + kind + "/" + id, nil
}

// PutRecord implements store.Records: one replacement by _id, inserting when absent.
func (s *Store) PutRecord(ctx context.Context, tenant, kind, id string, data []byte) error {
	if _, err := s.Tenant(ctx, tenant); err != nil {
		return err
	}
	key, err := recordKey(tenant, kind, id)
	if err != nil {
		return err
	}
	if data == nil {
		data = []byte{}
	}
	doc := recordDoc{ID: key, T: tenant, Kind: kind, RID: id, Data: data}
	for attempt := 0; ; attempt++ {
		_, err := s.records.ReplaceOne(ctx, bson.D{{Key: "_id", Value: key}}, doc, options.Replace().SetUpsert(true))
		// Two first writes of one id may both try the insert: the loser replaces the winner's.
		if err == nil || !mongodrv.IsDuplicateKeyError(err) || attempt == 3 {
			return driverErr("PutRecord", err)
		}
	}
}

// GetRecord implements store.Records.
func (s *Store) GetRecord(ctx context.Context, tenant, kind, id string) ([]byte, error) {
	if _, err := s.Tenant(ctx, tenant); err != nil {
		return nil, err
	}
	key, err := recordKey(tenant, kind, id)
	if err != nil {
		return nil, err
	}
	var d recordDoc
	err = s.records.FindOne(ctx, bson.D{{Key: "_id", Value: key}}).Decode(&d)
	switch {
	case errors.Is(err, mongodrv.ErrNoDocuments):
		return nil, fmt.Errorf("store/mongo: record %s/%s: %w", kind, id, store.ErrNotFound)
	case err != nil:
		return nil, unavailable("GetRecord", err)
	}
	return d.Data, nil
}

// ListRecords implements store.Records: the index {t, k, id} in order.
func (s *Store) ListRecords(ctx context.Context, tenant, kind string) ([]store.Record, error) {
	if _, err := s.Tenant(ctx, tenant); err != nil {
		return nil, err
	}
	cur, err := s.records.Find(ctx, bson.D{{Key: "t", Value: tenant}, {Key: "k", Value: kind}},
		options.Find().SetSort(bson.D{{Key: "id", Value: 1}}))
	if err != nil {
		return nil, unavailable("ListRecords", err)
	}
	var ds []recordDoc
	if err := cur.All(ctx, &ds); err != nil {
		return nil, unavailable("ListRecords", err)
	}
	rs := make([]store.Record, len(ds))
	for i, d := range ds {
		rs[i] = store.Record{ID: d.RID, Data: d.Data}
	}
	return rs, nil
}

// DeleteRecord implements store.Records.
func (s *Store) DeleteRecord(ctx context.Context, tenant, kind, id string) error {
	if _, err := s.Tenant(ctx, tenant); err != nil {
		return err
	}
	key, err := recordKey(tenant, kind, id)
	if err != nil {
		return err
	}
	r, err := s.records.DeleteOne(ctx, bson.D{{Key: "_id", Value: key}})
	switch {
	case err != nil:
		return unavailable("DeleteRecord", err)
	case r.DeletedCount == 0:
		return fmt.Errorf("store/mongo: record %s/%s: %w", kind, id, store.ErrNotFound)
	}
	return nil
}

// onceDoc is a one-time key: _id "t/key", expiry exp (a date: the TTL index deletes it on
// MongoDB).
type onceDoc struct {
	ID  string    `bson:"_id"`
	T   string    `bson:"t"`
	Exp time.Time `bson:"exp"`
}

// Once implements store.Records. A key is new when its insert (a unique _id) succeeds; one
// that is there and has not expired is seen (and keeps the later of the two untils). An
// expired one counts as absent: it is replaced by an update conditional on the expiry read,
// so that of several callers exactly one replaces it (on FerretDB inside exclusive, whose
// conditional updates are not atomic). Times are kept to the millisecond; now is
// Options.Now.
func (s *Store) Once(ctx context.Context, tenant, key string, until time.Time) (bool, error) {
	if _, err := s.Tenant(ctx, tenant); err != nil {
		return false, err
	}
	id := tenant + "/" + key
	exp := time.UnixMilli(until.UnixMilli()).UTC()
	for attempt := 0; ; attempt++ {
		if attempt == 10 {
			return false, fmt.Errorf("store/mongo: Once: key %s keeps changing: %w", key, store.ErrUnavailable)
		}
		_, err := s.onceKeys.InsertOne(ctx, onceDoc{ID: id, T: tenant, Exp: exp})
		switch {
		case err == nil:
			return false, nil
		case !mongodrv.IsDuplicateKeyError(err):
			return false, unavailable("Once", err)
		}
		var d onceDoc
		err = s.onceKeys.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
		switch {
		case errors.Is(err, mongodrv.ErrNoDocuments): // deleted since (expired): insert again
			continue
		case err != nil:
			return false, unavailable("Once", err)
		}
		if d.Exp.After(s.opts.Now()) {
			if exp.After(d.Exp) {
				if _, err := s.onceKeys.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{{Key: "$max", Value: bson.D{{Key: "exp", Value: exp}}}}); err != nil {
					return true, unavailable("Once", err)
				}
			}
			return true, nil
		}
		var replaced bool
		err = s.exclusive(ctx, tenant, "once/"+id, func() error {
			r, err := s.onceKeys.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "exp", Value: d.Exp}},
				bson.D{{Key: "$set", Value: bson.D{{Key: "exp", Value: exp}}}})
			replaced = err == nil && r.MatchedCount == 1
			return err
		})
		if err != nil {
			return false, driverErr("Once", err)
		}
		if replaced {
			return false, nil
		}
		// Another caller replaced it (or it was purged) first: look again.
	}
}

// purgeOnce deletes one-time keys expired for an hour, on FerretDB (MongoDB's TTL index
// deletes them there). The hour keeps the purge, whose delete is not conditional on FerretDB,
// clear of a key being replaced.
func (s *Store) purgeOnce(ctx context.Context) error {
	if s.exact.Load() || !s.probed.Load() {
		return nil
	}
	if _, err := s.onceKeys.DeleteMany(ctx, bson.D{{Key: "exp", Value: bson.D{{Key: "$lt", Value: s.opts.Now().Add(-time.Hour)}}}}); err != nil {
		return unavailable("purge one-time keys", err)
	}
	return nil
}
