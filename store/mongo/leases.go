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
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	mongodrv "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/kodomohub/kodomohub/store"
)

// leaseDoc is the lease of one (tenant, consumer): _id "t/consumer", owner o, until u (Unix
// ms; the lease is held while u > now), acknowledged position p.
type leaseDoc struct {
	ID       string `bson:"_id"`
	T        string `bson:"t"`
	Consumer string `bson:"c"`
	Owner    string `bson:"o"`
	Until    int64  `bson:"u"`
	Pos      int64  `bson:"p"`
}

func leaseKey(tenant, consumer string) string { return tenant + "/" + consumer }

func errHeld(tenant, consumer string) error {
	return fmt.Errorf("store/mongo: lease %s/%s: %w", tenant, consumer, store.ErrLeaseHeld)
}

// ClaimLease implements store.Leases. The claim is one findOneAndUpdate of the lease
// document filtered on {owner is the caller, or the lease has run out}, with upsert: when the
// filter does not match, the upsert's insert meets the document's _id, and the duplicate key
// says another owner holds it. On FerretDB it runs inside exclusive. The clock is
// Options.Now, to the millisecond.
func (s *Store) ClaimLease(ctx context.Context, tenant, consumer, owner string, ttl time.Duration) (store.Lease, error) {
	if _, err := s.Tenant(ctx, tenant); err != nil {
		return store.Lease{}, err
	}
	if owner == "" {
		return store.Lease{}, fmt.Errorf("store/mongo: ClaimLease: empty owner")
	}
	id := leaseKey(tenant, consumer)
	var d leaseDoc
	err := s.exclusive(ctx, tenant, "lease/"+id, func() error {
		now := s.opts.Now().UnixMilli()
		filter := bson.D{{Key: "_id", Value: id}, {Key: "$or", Value: bson.A{
			bson.D{{Key: "o", Value: owner}},
			bson.D{{Key: "u", Value: bson.D{{Key: "$lte", Value: now}}}},
		}}}
		update := bson.D{
			{Key: "$set", Value: bson.D{{Key: "t", Value: tenant}, {Key: "c", Value: consumer}, {Key: "o", Value: owner}, {Key: "u", Value: now + ttl.Milliseconds()}}},
			{Key: "$setOnInsert", Value: bson.D{{Key: "p", Value: int64(0)}}},
		}
		return s.leases.FindOneAndUpdate(ctx, filter, update,
			options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After)).Decode(&d)
	})
	switch {
	case mongodrv.IsDuplicateKeyError(err):
		return store.Lease{}, errHeld(tenant, consumer)
	case err != nil:
		return store.Lease{}, driverErr("ClaimLease", err)
	}
	return store.Lease{Consumer: consumer, Owner: d.Owner, Until: time.UnixMilli(d.Until).UTC(), Position: d.Pos}, nil
}

// ClaimEvents implements store.Leases: ClaimLease, then the events after its position (Events).
func (s *Store) ClaimEvents(ctx context.Context, tenant, consumer, owner string, ttl time.Duration, limit int) (store.Lease, []store.Event, error) {
	l, err := s.ClaimLease(ctx, tenant, consumer, owner, ttl)
	if err != nil {
		return store.Lease{}, nil, err
	}
	evs, err := s.Events(ctx, tenant, l.Position, limit)
	if err != nil {
		return store.Lease{}, nil, err
	}
	return l, evs, nil
}

// ReadLease implements store.Leases: a find of the lease document by _id.
func (s *Store) ReadLease(ctx context.Context, tenant, consumer string) (store.Lease, error) {
	if _, err := s.Tenant(ctx, tenant); err != nil {
		return store.Lease{}, err
	}
	l := store.Lease{Consumer: consumer}
	var d leaseDoc
	switch err := s.leases.FindOne(ctx, bson.D{{Key: "_id", Value: leaseKey(tenant, consumer)}}).Decode(&d); {
	case errors.Is(err, mongodrv.ErrNoDocuments):
		return l, nil
	case err != nil:
		return store.Lease{}, driverErr("ReadLease", err)
	}
	l.Owner, l.Until, l.Position = d.Owner, time.UnixMilli(d.Until).UTC(), d.Pos
	return l, nil
}

// AckEvents implements store.Leases: $max on the position, filtered on owner and an unexpired
// lease (inside exclusive on FerretDB).
func (s *Store) AckEvents(ctx context.Context, tenant, consumer, owner string, seq int64) error {
	if _, err := s.Tenant(ctx, tenant); err != nil {
		return err
	}
	id := leaseKey(tenant, consumer)
	errNotHeld := errHeld(tenant, consumer)
	err := s.exclusive(ctx, tenant, "lease/"+id, func() error {
		r, err := s.leases.UpdateOne(ctx,
			bson.D{{Key: "_id", Value: id}, {Key: "o", Value: owner}, {Key: "u", Value: bson.D{{Key: "$gt", Value: s.opts.Now().UnixMilli()}}}},
			bson.D{{Key: "$max", Value: bson.D{{Key: "p", Value: seq}}}})
		switch {
		case err != nil:
			return err
		case r.MatchedCount == 0:
			return errNotHeld
		}
		return nil
	})
	if errors.Is(err, store.ErrLeaseHeld) {
		return err
	}
	return driverErr("AckEvents", err)
}

// ReleaseLease implements store.Leases: the lease runs out at once (u 0); the position stays.
func (s *Store) ReleaseLease(ctx context.Context, tenant, consumer, owner string) error {
	if _, err := s.Tenant(ctx, tenant); err != nil {
		return err
	}
	id := leaseKey(tenant, consumer)
	err := s.exclusive(ctx, tenant, "lease/"+id, func() error {
		_, err := s.leases.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "o", Value: owner}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "u", Value: int64(0)}}}})
		return err
	})
	return driverErr("ReleaseLease", err)
}
