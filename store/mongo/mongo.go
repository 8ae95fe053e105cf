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
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	mongodrv "go.mongodb.org/mongo-driver/v2/mongo" // aliased: this package is "mongo" too
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readconcern"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"

	"github.com/kodomohub/kodomohub/store"
	"github.com/kodomohub/kodomohub/store/internal/searchcursor"
)

var (
	_ store.Store    = (*Store)(nil)
	_ store.AuditLog = (*Store)(nil)
	_ store.Records  = (*Store)(nil)
	_ store.Leases   = (*Store)(nil)
)

// Options tune a Store. The zero value is a good default for a replica set.
type Options struct {
	// Database is the database name (default "kodomohub").
	Database string
	// WriteConcern is "majority" (default), or a number of members ("1").
	WriteConcern string
	// ReadConcern is "majority" (default with a majority write concern), "local" or "available".
	ReadConcern string
	// Timeout bounds each operation sent to the server (default 10s); ServerSelection bounds
	// the wait for a reachable server (default 5s): when it passes, calls return
	// store.ErrUnavailable.
	Timeout, ServerSelection time.Duration
	// MaxPoolSize is the connection pool size per server (default 100).
	MaxPoolSize uint64
	// Lease is how long a transaction may hold its locks before another process may abort
	// it (default 30s); RecoverEvery is the period of the recovery pass (default 10s; < 0 off).
	Lease, RecoverEvery time.Duration
	// Now is the clock of meta.lastUpdated, Tenant.Created and leases (default time.Now).
	Now func() time.Time
	// AuditKey, when set, seals the head of every audit trail this store appends to
	// (store.AuditSeal): the key comes from outside the database (a key file the caller reads);
	// the store never derives or stores one itself. Without it the store appends to trails
	// that are not sealed and refuses to append to sealed ones.
	AuditKey *store.AuditKey
	// Logger reports what the store does on its own to the audit trail (sealing a head that
	// was not sealed); default slog.Default().
	Logger *slog.Logger
}

// Store is a store.Store kept in one MongoDB database (see the package documentation).
// Open it with Open.
type Store struct {
	opts   Options
	client *mongodrv.Client
	db     *mongodrv.Database

	tenants, secrets, counters, open, txns, locks, res, vers *mongodrv.Collection

	// The hub's own data (admin.go, audit.go, records.go, leases.go).
	audit, auditHead, auditTx, records, onceKeys, leases *mongodrv.Collection

	amu    sync.Mutex
	audits map[string]*auditQueue // per tenant: the group append of this process

	tmu    sync.RWMutex
	tcache map[string]cachedTenant

	stripes [256]sync.Mutex // in-process key locks: writers of one process queue here, not on the server

	smu  sync.Mutex
	seqs map[string]*seqState // per tenant: allocation lock

	xmu    sync.Mutex
	states map[string]string // final transaction states seen ("c" committed, "a" aborted)

	ckeys searchcursor.Keyring // signs search cursors (cursorKey)

	// exact: the server applies $elemMatch per array element (MongoDB); unset until the
	// server says so, and for FerretDB, whose 1.24 filters test each operator on its own.
	exact   atomic.Bool
	probed  atomic.Bool
	indexed atomic.Bool // FerretDB 1.24 fails when asked again for indexes it has

	stop   chan struct{}
	cancel context.CancelFunc // ends the recovery loop's calls at Close
	wg     sync.WaitGroup
	once   sync.Once
}

type seqState struct {
	mu sync.Mutex // one allocation of the tenant at a time in this process
}

// Open connects to the MongoDB at uri, creates the collections' missing indexes and starts
// the recovery loop (its first pass runs at once, in the background). The server need not be reachable:
// calls then fail with store.ErrUnavailable until it is, and index creation is retried by
// the recovery loop.
func Open(ctx context.Context, uri string, opts Options) (*Store, error) {
	if opts.Database == "" {
		opts.Database = "kodomohub"
	}
	if opts.WriteConcern == "" {
		opts.WriteConcern = "majority"
	}
	if opts.ReadConcern == "" {
		opts.ReadConcern = "local"
		if opts.WriteConcern == "majority" {
			opts.ReadConcern = "majority"
		}
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.ServerSelection <= 0 {
		opts.ServerSelection = 5 * time.Second
	}
	if opts.MaxPoolSize == 0 {
		opts.MaxPoolSize = 100
	}
	if opts.Lease <= 0 {
		opts.Lease = 30 * time.Second
	}
	if opts.RecoverEvery == 0 {
		opts.RecoverEvery = 10 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	var wc *writeconcern.WriteConcern
	switch opts.WriteConcern {
	case "majority":
		wc = writeconcern.Majority()
	default:
		var n int
		if _, err := fmt.Sscanf(opts.WriteConcern, "%d", &n); err != nil || n < 0 {
			return nil, fmt.Errorf("store/mongo: write concern %q: want majority or a number", opts.WriteConcern)
		}
		wc = &writeconcern.WriteConcern{W: n}
	}
	var rc *readconcern.ReadConcern
	switch opts.ReadConcern {
	case "majority":
		rc = readconcern.Majority()
	case "local":
		rc = readconcern.Local()
	case "available":
		rc = readconcern.Available()
	default:
		return nil, fmt.Errorf("store/mongo: read concern %q: want majority, local or available", opts.ReadConcern)
	}
	co := options.Client().ApplyURI(uri).SetTimeout(opts.Timeout).SetServerSelectionTimeout(opts.ServerSelection).
		SetMaxPoolSize(opts.MaxPoolSize).SetWriteConcern(wc).SetReadConcern(rc).SetReadPreference(readpref.Primary()).
		SetAppName("kodomohub").SetRetryWrites(false).
		SetServerMonitoringMode(options.ServerMonitoringModePoll) // writes are made safe to retry by the protocol, not by the driver; FerretDB 1.24 breaks on streamed heartbeats
	client, err := mongodrv.Connect(co)
	if err != nil {
		return nil, fmt.Errorf("store/mongo: %w", err)
	}
	db := client.Database(opts.Database)
	s := &Store{opts: opts, client: client, db: db,
		tenants: db.Collection("tenants"), secrets: db.Collection("secrets"), counters: db.Collection("counters"),
		txns: db.Collection("txns"), locks: db.Collection("locks"), open: db.Collection("open"), res: db.Collection("resources"), vers: db.Collection("versions"),
		audit: db.Collection("audit"), auditHead: db.Collection("audithead"), auditTx: db.Collection("audittx"),
		records: db.Collection("records"), onceKeys: db.Collection("once"), leases: db.Collection("leases"),
		tcache: map[string]cachedTenant{}, seqs: map[string]*seqState{}, states: map[string]string{},
		audits: map[string]*auditQueue{}, stop: make(chan struct{})}
	// The server first: the expiry index of once is a TTL index on MongoDB only. When it does
	// not answer, the recovery loop asks again and creates the indexes once it does.
	if s.probe(ctx) {
		if err := s.ensureIndexes(ctx); err != nil {
			if !errors.Is(err, store.ErrUnavailable) {
				client.Disconnect(context.Background())
				return nil, err
			}
		} else {
			s.indexed.Store(true)
		}
	}
	if opts.RecoverEvery > 0 {
		var base context.Context
		base, s.cancel = context.WithCancel(context.Background())
		s.wg.Add(1)
		go s.recoverLoop(base)
	}
	return s, nil
}

// indexes lists every index of the database (see doc.go).
var indexes = map[string][]mongodrv.IndexModel{
	"resources": {
		{Keys: bson.D{{Key: "t", Value: 1}, {Key: "ty", Value: 1}, {Key: "live", Value: 1}, {Key: "r", Value: 1}}, Options: options.Index().SetName("type_live_rid")},
		{Keys: bson.D{{Key: "t", Value: 1}, {Key: "live", Value: 1}, {Key: "r", Value: 1}}, Options: options.Index().SetName("live_rid")},
		{Keys: bson.D{{Key: "t", Value: 1}, {Key: "ty", Value: 1}, {Key: "id", Value: 1}}, Options: options.Index().SetName("type_id")},
		{Keys: bson.D{{Key: "t", Value: 1}, {Key: "ty", Value: 1}, {Key: "ik", Value: 1}}, Options: options.Index().SetName("keys")},
		{Keys: bson.D{{Key: "t", Value: 1}, {Key: "ik", Value: 1}}, Options: options.Index().SetName("keys_any_type")},
		{Keys: bson.D{{Key: "lk", Value: 1}}, Options: options.Index().SetName("lock").SetSparse(true)},
	},
	"versions": {
		{Keys: bson.D{{Key: "t", Value: 1}, {Key: "seq", Value: 1}}, Options: options.Index().SetName("seq")},
		{Keys: bson.D{{Key: "t", Value: 1}, {Key: "ty", Value: 1}, {Key: "seq", Value: 1}}, Options: options.Index().SetName("type_seq")},
		{Keys: bson.D{{Key: "t", Value: 1}, {Key: "ty", Value: 1}, {Key: "id", Value: 1}, {Key: "v", Value: 1}}, Options: options.Index().SetName("instance")},
		{Keys: bson.D{{Key: "tx", Value: 1}}, Options: options.Index().SetName("pending").SetSparse(true)},
	},
	"open": {
		{Keys: bson.D{{Key: "t", Value: 1}, {Key: "lo", Value: 1}}, Options: options.Index().SetName("tenant_lo")},
	},
	"locks": {
		{Keys: bson.D{{Key: "tx", Value: 1}}, Options: options.Index().SetName("tx")},
	},
	"txns": {
		{Keys: bson.D{{Key: "at", Value: 1}}, Options: options.Index().SetName("at")},
	},
	"audit": {
		{Keys: bson.D{{Key: "t", Value: 1}, {Key: "seq", Value: 1}}, Options: options.Index().SetName("seq")},
		{Keys: bson.D{{Key: "t", Value: 1}, {Key: "ag", Value: 1}, {Key: "seq", Value: 1}}, Options: options.Index().SetName("agent")},
		{Keys: bson.D{{Key: "t", Value: 1}, {Key: "pa", Value: 1}, {Key: "seq", Value: 1}}, Options: options.Index().SetName("patient")},
		{Keys: bson.D{{Key: "t", Value: 1}, {Key: "en", Value: 1}, {Key: "seq", Value: 1}}, Options: options.Index().SetName("entity")},
		{Keys: bson.D{{Key: "t", Value: 1}, {Key: "ety", Value: 1}, {Key: "seq", Value: 1}}, Options: options.Index().SetName("entity_type")},
		{Keys: bson.D{{Key: "t", Value: 1}, {Key: "ac", Value: 1}, {Key: "seq", Value: 1}}, Options: options.Index().SetName("action")},
		{Keys: bson.D{{Key: "t", Value: 1}, {Key: "oc", Value: 1}, {Key: "seq", Value: 1}}, Options: options.Index().SetName("outcome")},
		{Keys: bson.D{{Key: "t", Value: 1}, {Key: "ts", Value: 1}}, Options: options.Index().SetName("time")},
		{Keys: bson.D{{Key: "tx", Value: 1}}, Options: options.Index().SetName("pending").SetSparse(true)},
	},
	"audittx": {
		{Keys: bson.D{{Key: "st", Value: 1}, {Key: "at", Value: 1}}, Options: options.Index().SetName("state_at")},
	},
	"records": {
		{Keys: bson.D{{Key: "t", Value: 1}, {Key: "k", Value: 1}, {Key: "id", Value: 1}}, Options: options.Index().SetName("kind_id")},
	},
	"once": {
		// A TTL index on MongoDB (ensureIndexes adds expireAfterSeconds: 0), a plain one on
		// FerretDB, which does not implement TTL indexes.
		{Keys: bson.D{{Key: "exp", Value: 1}}, Options: options.Index().SetName("expiry")},
	},
}

// ensureIndexes creates the indexes; existing ones are left alone.
func (s *Store) ensureIndexes(ctx context.Context) error {
	names := make([]string, 0, len(indexes))
	for n := range indexes {
		names = append(names, n)
	}
	sort.Strings(names)
	deferred := false
	for _, n := range names {
		if n == "once" && !s.probed.Load() {
			deferred = true // TTL or not: asked again once the server has said what it is
			continue
		}
		// Only the missing ones: FerretDB 1.24 may fail on a request for existing indexes.
		have := map[string]bool{}
		cur, err := s.db.Collection(n).Indexes().List(ctx)
		if err != nil {
			return unavailable("list indexes of "+n, err)
		}
		var ls []struct {
			Name string `bson:"name"`
		}
		if err := cur.All(ctx, &ls); err != nil {
			return unavailable("list indexes of "+n, err)
		}
		for _, l := range ls {
			have[l.Name] = true
		}
		var missing []mongodrv.IndexModel
		for _, m := range indexes[n] {
			var o options.IndexOptions
			for _, set := range m.Options.List() {
				set(&o)
			}
			if o.Name == nil || !have[*o.Name] {
				if n == "once" && s.exact.Load() {
					m.Options = options.Index().SetName(*o.Name).SetExpireAfterSeconds(0)
				}
				missing = append(missing, m)
			}
		}
		if len(missing) == 0 {
			continue
		}
		if _, err := s.db.Collection(n).Indexes().CreateMany(ctx, missing); err != nil {
			return unavailable("create indexes of "+n, err)
		}
	}
	if deferred {
		return fmt.Errorf("store/mongo: create indexes of once: server not probed yet: %w", store.ErrUnavailable)
	}
	return nil
}

type tenantDoc struct {
	ID        string `bson:"_id"`
	Name      string `bson:"name"`
	Integrity string `bson:"ri"`
	LGCode    string `bson:"lg,omitempty"`
	Created   int64  `bson:"created"`
}

// CreateTenant implements store.Store. The tenant must pass store.CheckTenant (an empty
// ReferentialIntegrity means strict).
func (s *Store) CreateTenant(ctx context.Context, t store.Tenant) error {
	t, err := store.CheckTenant(t)
	if err != nil {
		return fmt.Errorf("store/mongo: %w", err)
	}
	if t.Created.IsZero() {
		t.Created = s.opts.Now()
	}
	t.Created = t.Created.Truncate(time.Millisecond).UTC()
	// The counter first: a tenant is visible only with its counter in place.
	if _, err := s.counters.UpdateOne(ctx, bson.D{{Key: "_id", Value: t.ID}},
		bson.D{{Key: "$setOnInsert", Value: bson.D{{Key: "n", Value: int64(0)}}}},
		options.UpdateOne().SetUpsert(true)); err != nil && !mongodrv.IsDuplicateKeyError(err) {
		return unavailable("CreateTenant", err)
	}
	_, err = s.tenants.InsertOne(ctx, tenantDoc{ID: t.ID, Name: t.Name, Integrity: t.ReferentialIntegrity, LGCode: t.LGCode, Created: t.Created.UnixMilli()})
	switch {
	case mongodrv.IsDuplicateKeyError(err):
		return fmt.Errorf("store/mongo: tenant %q: %w", t.ID, store.ErrExists)
	case err != nil:
		return unavailable("CreateTenant", err)
	}
	s.tmu.Lock()
	s.tcache[t.ID] = cachedTenant{t, time.Now()}
	s.tmu.Unlock()
	return nil
}

// UpdateTenant implements store.Store.
func (s *Store) UpdateTenant(ctx context.Context, t store.Tenant) error {
	t, err := store.CheckTenant(t)
	if err != nil {
		return fmt.Errorf("store/mongo: %w", err)
	}
	res, err := s.tenants.UpdateOne(ctx, bson.D{{Key: "_id", Value: t.ID}}, bson.D{{Key: "$set", Value: bson.D{
		{Key: "name", Value: t.Name}, {Key: "ri", Value: t.ReferentialIntegrity}, {Key: "lg", Value: t.LGCode}}}})
	switch {
	case err != nil:
		return unavailable("UpdateTenant", err)
	case res.MatchedCount == 0:
		return fmt.Errorf("store/mongo: tenant %q: %w", t.ID, store.ErrNotFound)
	}
	s.tmu.Lock()
	delete(s.tcache, t.ID)
	s.tmu.Unlock()
	return nil
}

// cachedTenant is a tenant as read at a time: it is read again after tenantCheck.
type cachedTenant struct {
	t  store.Tenant
	at time.Time
}

// tenantCheck is how long a tenant read from the database is answered from memory.
const tenantCheck = time.Second

func (d tenantDoc) tenant() store.Tenant {
	return store.Tenant{ID: d.ID, Name: d.Name, ReferentialIntegrity: d.Integrity, LGCode: d.LGCode, Created: time.UnixMilli(d.Created).UTC()}
}

// Tenant implements store.Store. A tenant read from the database is answered from memory
// for tenantCheck, so that a change by another process (UpdateTenant) is seen within it; an
// unknown id is looked up in the database every time.
func (s *Store) Tenant(ctx context.Context, id string) (store.Tenant, error) {
	s.tmu.RLock()
	c, ok := s.tcache[id]
	s.tmu.RUnlock()
	if ok && time.Since(c.at) < tenantCheck {
		return c.t, nil
	}
	var d tenantDoc
	err := s.tenants.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
	switch {
	case errors.Is(err, mongodrv.ErrNoDocuments):
		return store.Tenant{}, fmt.Errorf("store/mongo: tenant %q: %w", id, store.ErrNotFound)
	case err != nil && ok:
		return c.t, nil // the database is busy: the cached value is still the best answer
	case err != nil:
		return store.Tenant{}, unavailable("Tenant", err)
	}
	t := d.tenant()
	s.tmu.Lock()
	s.tcache[id] = cachedTenant{t, time.Now()}
	s.tmu.Unlock()
	return t, nil
}

// Tenants implements store.Store.
func (s *Store) Tenants(ctx context.Context) ([]store.Tenant, error) {
	cur, err := s.tenants.Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, unavailable("Tenants", err)
	}
	var ds []tenantDoc
	if err := cur.All(ctx, &ds); err != nil {
		return nil, unavailable("Tenants", err)
	}
	ts := make([]store.Tenant, 0, len(ds))
	for _, d := range ds {
		ts = append(ts, d.tenant())
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].ID < ts[j].ID })
	return ts, nil
}

// LoadOrStoreSecret implements store.Store.
func (s *Store) LoadOrStoreSecret(ctx context.Context, name string, value []byte) ([]byte, error) {
	_, err := s.secrets.UpdateOne(ctx, bson.D{{Key: "_id", Value: name}},
		bson.D{{Key: "$setOnInsert", Value: bson.D{{Key: "value", Value: value}}}}, options.UpdateOne().SetUpsert(true))
	if err != nil && !mongodrv.IsDuplicateKeyError(err) { // two upserts may race; the loser reads the winner's
		return nil, unavailable("LoadOrStoreSecret", err)
	}
	var d struct {
		Value []byte `bson:"value"`
	}
	if err := s.secrets.FindOne(ctx, bson.D{{Key: "_id", Value: name}}).Decode(&d); err != nil {
		return nil, unavailable("LoadOrStoreSecret", err)
	}
	return d.Value, nil
}

// Ping implements store.Store: the primary answers.
func (s *Store) Ping(ctx context.Context) error {
	select {
	case <-s.stop:
		return fmt.Errorf("store/mongo: closed: %w", store.ErrUnavailable)
	default:
	}
	if err := s.client.Ping(ctx, readpref.Primary()); err != nil {
		return unavailable("Ping", err)
	}
	return nil
}

// Close stops the recovery loop and disconnects.
func (s *Store) Close() error {
	var err error
	s.once.Do(func() {
		close(s.stop)
		if s.cancel != nil {
			s.cancel()
		}
		s.wg.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = s.client.Disconnect(ctx)
	})
	return err
}

// unavailable wraps a driver error: store.ErrUnavailable, unless the caller's context ended.
func unavailable(op string, err error) error {
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("store/mongo: %s: %w", op, err)
	}
	return fmt.Errorf("store/mongo: %s: %w: %w", op, store.ErrUnavailable, err)
}

// resKey is the _id of a resource document.
func resKey(tenant, typ, id string) string { return tenant + "/" + typ + "/" + id }

// DropDatabase deletes the store's database (tests).
func (s *Store) DropDatabase(ctx context.Context) error { return s.db.Drop(ctx) }

// probe asks the server what it is: MongoDB filters arrays per element, FerretDB does not.
// It reports whether the server answered.
func (s *Store) probe(ctx context.Context) bool {
	var info bson.M
	if err := s.db.RunCommand(ctx, bson.D{{Key: "buildInfo", Value: 1}}).Decode(&info); err != nil {
		return false
	}
	_, ferret := info["ferretdbVersion"]
	s.exact.Store(!ferret)
	s.probed.Store(true)
	return true
}

// Exact reports whether the server evaluates the store's array filters exactly (a real
// MongoDB); otherwise (FerretDB) Search checks candidates in Go.
func (s *Store) Exact() bool { return s.exact.Load() }
