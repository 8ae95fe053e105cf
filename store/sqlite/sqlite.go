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
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/kodomohub/kodomohub/store"
	"github.com/kodomohub/kodomohub/store/internal/searchcursor"
)

var _ store.Store = (*Store)(nil)

// Options tune a Store. The zero value is a good default.
type Options struct {
	// Synchronous is the SQLite synchronous level of the write connections: "NORMAL" (default;
	// in WAL mode a committed write survives a crash of the process, not of the machine) or
	// "FULL" (survives a power loss too, at some cost in commit latency).
	Synchronous string
	// CacheKiB is the page cache of each read connection (and of the catalog's) in KiB
	// (default 16384).
	CacheKiB int
	// WriterCacheKiB is the page cache of each tenant's write connection in KiB (default
	// 32768: 32 MiB). The single writer inserts index rows at random places in B-trees that
	// outgrow a small cache within some 100,000 resources; a miss is a pread. The memory is
	// taken as pages are touched, so a small tenant never uses it all. 256 MiB gained ≈ 6 % of
	// ingest in BenchmarkCommit at 300,000 resources but took the server's peak RSS to 731 MiB
	// at 1M resources (target < 500 MB): raise it only with the memory to spare.
	WriterCacheKiB int
	// MmapBytes is the PRAGMA mmap_size of every tenant connection: pages read through a
	// memory map instead of pread into the page cache. Default 0 (off): mapped pages that
	// were read count in the process's resident set (the 500 MB RSS target counts them), and
	// the writer's larger cache already removes most of its misses. Negative: 0.
	MmapBytes int64
	// WALAutoCheckpoint is the number of pages a tenant's writer writes to the WAL between two
	// checkpoints, which a checkpointer runs on its own connection while the writer goes on
	// (default 10000: about 40 MB of WAL with 4 KiB pages). A page that many batches change is
	// then written to the database once per checkpoint instead of once per 1000 pages of WAL.
	// It is also the PRAGMA wal_autocheckpoint of the other write connections (the catalog).
	WALAutoCheckpoint int
	// ReadPool is the number of read connections of each tenant database (default 4).
	ReadPool int
	// BusyTimeout is how long a connection waits for a lock held by another process (default 5s).
	BusyTimeout time.Duration
	// MaxBatch bounds the writes one group transaction takes from the queue (default 2000;
	// a single larger Commit still runs whole).
	MaxBatch int
	// Now is the clock that stamps meta.lastUpdated and Tenant.Created (default time.Now).
	Now func() time.Time
	// Logger reports what the store repairs or refuses on its own: an audit log that was cut
	// (appends are then refused), a torn tail cut off (default slog.Default()).
	Logger *slog.Logger
	// AuditKey, when set, seals the head of every audit trail this store appends to
	// (store.AuditSeal): the key comes from outside the data directory (a key file the caller
	// reads); the store never derives or stores one itself. Without it the store appends to
	// trails that are not sealed and refuses to append to sealed ones.
	AuditKey *store.AuditKey
}

// Store is a store.Store kept in a data directory: catalog.db holds tenants and secrets,
// tenants/<id>.db holds one tenant's resources. Open it with Open.
type Store struct {
	dir  string
	opts Options
	cat  *sql.DB // one connection: PRAGMA data_version then tells other processes' commits

	tmu      sync.RWMutex
	tenants  map[string]store.Tenant
	checked  time.Time // last data_version check (wall clock, not Options.Now)
	dataVer  int64
	loadedDV bool

	mu     sync.RWMutex
	dbs    map[string]*tenantDB
	closed bool

	ckeys searchcursor.Keyring // signs search cursors (cursorKey)
}

// tenantCheck is how long Tenant trusts its cache before asking the catalog whether another
// process changed it. A tenant unknown to the cache is always looked up at once.
const tenantCheck = time.Second

// Open opens (creating if needed) the data directory dir and migrates its catalog.
func Open(dir string, opts Options) (*Store, error) {
	if opts.Synchronous == "" {
		opts.Synchronous = "NORMAL"
	}
	opts.Synchronous = strings.ToUpper(opts.Synchronous)
	switch opts.Synchronous {
	case "NORMAL", "FULL", "EXTRA":
	default:
		return nil, fmt.Errorf("store/sqlite: synchronous %q: want NORMAL or FULL", opts.Synchronous)
	}
	if opts.CacheKiB <= 0 {
		opts.CacheKiB = 16384
	}
	if opts.WriterCacheKiB <= 0 {
		opts.WriterCacheKiB = 32 << 10
	}
	if opts.MmapBytes < 0 {
		opts.MmapBytes = 0
	}
	if opts.WALAutoCheckpoint <= 0 {
		opts.WALAutoCheckpoint = 10000
	}
	if opts.ReadPool <= 0 {
		opts.ReadPool = 4
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = 5 * time.Second
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 2000
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if err := os.MkdirAll(filepath.Join(dir, "tenants"), 0o750); err != nil {
		return nil, fmt.Errorf("store/sqlite: %w", err)
	}
	s := &Store{dir: dir, opts: opts, tenants: map[string]store.Tenant{}, dbs: map[string]*tenantDB{}}
	cat, err := sql.Open("sqlite", s.dsn(filepath.Join(dir, "catalog.db"), connCatalog))
	if err != nil {
		return nil, fmt.Errorf("store/sqlite: %w", err)
	}
	cat.SetMaxOpenConns(1)
	cat.SetConnMaxLifetime(0)
	cat.SetConnMaxIdleTime(0)
	s.cat = cat
	ctx := context.Background()
	if err := migrate(ctx, cat, catalogMigrations); err != nil {
		cat.Close()
		return nil, fmt.Errorf("store/sqlite: catalog: %w", err)
	}
	if err := s.reloadTenants(ctx, true); err != nil {
		cat.Close()
		return nil, fmt.Errorf("store/sqlite: catalog: %w", err)
	}
	return s, nil
}

// Roles of a connection (dsn).
const (
	connCatalog = iota // catalog.db
	connWriter         // a tenant's write connection
	connReader         // a tenant's read pool
)

// dsn is the modernc.org/sqlite data source name of a database file for connections of role.
func (s *Store) dsn(path string, role int) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", s.opts.BusyTimeout.Milliseconds()))
	q.Add("_pragma", "foreign_keys(0)")
	cache := s.opts.CacheKiB
	if role == connWriter {
		cache = s.opts.WriterCacheKiB
	}
	q.Add("_pragma", fmt.Sprintf("cache_size(-%d)", cache))
	if role != connCatalog && s.opts.MmapBytes > 0 {
		q.Add("_pragma", fmt.Sprintf("mmap_size(%d)", s.opts.MmapBytes))
	}
	if role == connReader {
		q.Add("_pragma", "query_only(1)")
	} else {
		if role == connWriter {
			q.Add("_pragma", fmt.Sprintf("wal_autocheckpoint(%d)", s.opts.WALAutoCheckpoint))
			// Savepoint and statement journals in memory: the writer runs every request in a
			// savepoint, and journals past 64 KiB spilled to a temporary file, a pwrite per page
			// (half the CPU of indexing the audit log).
			q.Add("_pragma", "temp_store(2)")
		}
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous("+s.opts.Synchronous+")")
		q.Set("_txlock", "immediate")
	}
	return "file:" + filepath.ToSlash(path) + "?" + q.Encode()
}

// CreateTenant implements store.Store. The tenant must pass store.CheckTenant (an empty
// ReferentialIntegrity means strict). The tenant's database file is created at first use.
func (s *Store) CreateTenant(ctx context.Context, t store.Tenant) error {
	t, err := store.CheckTenant(t)
	if err != nil {
		return fmt.Errorf("store/sqlite: %w", err)
	}
	if t.Created.IsZero() {
		t.Created = s.opts.Now()
	}
	t.Created = t.Created.Truncate(time.Millisecond).UTC()
	res, err := s.cat.ExecContext(ctx, `INSERT INTO tenant (id, name, integrity, created, lg) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING`, t.ID, t.Name, t.ReferentialIntegrity, t.Created.UnixMilli(), t.LGCode)
	if err != nil {
		return unavailable("CreateTenant", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store/sqlite: tenant %q: %w", t.ID, store.ErrExists)
	}
	s.tmu.Lock()
	s.tenants[t.ID] = t
	s.tmu.Unlock()
	return nil
}

// Tenant implements store.Store. It answers from a cache that is checked against the
// catalog (PRAGMA data_version) at most once a second, and re-reads the catalog at once for
// an id it does not know, so tenants created by another process appear without a restart.
func (s *Store) Tenant(ctx context.Context, id string) (store.Tenant, error) {
	s.tmu.RLock()
	t, ok := s.tenants[id]
	fresh := time.Since(s.checked) < tenantCheck
	s.tmu.RUnlock()
	if ok && fresh {
		return t, nil
	}
	if err := s.reloadTenants(ctx, !ok); err != nil {
		if ok {
			return t, nil // the catalog is busy; the cached value is still the best answer
		}
		return store.Tenant{}, unavailable("Tenant", err)
	}
	s.tmu.RLock()
	t, ok = s.tenants[id]
	s.tmu.RUnlock()
	if !ok {
		return store.Tenant{}, fmt.Errorf("store/sqlite: tenant %q: %w", id, store.ErrNotFound)
	}
	return t, nil
}

// UpdateTenant implements store.Store.
func (s *Store) UpdateTenant(ctx context.Context, t store.Tenant) error {
	t, err := store.CheckTenant(t)
	if err != nil {
		return fmt.Errorf("store/sqlite: %w", err)
	}
	res, err := s.cat.ExecContext(ctx, `UPDATE tenant SET name = ?, integrity = ?, lg = ? WHERE id = ?`,
		t.Name, t.ReferentialIntegrity, t.LGCode, t.ID)
	if err != nil {
		return unavailable("UpdateTenant", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store/sqlite: tenant %q: %w", t.ID, store.ErrNotFound)
	}
	if err := s.reloadTenants(ctx, true); err != nil {
		return unavailable("UpdateTenant", err)
	}
	return nil
}

// Tenants implements store.Store.
func (s *Store) Tenants(ctx context.Context) ([]store.Tenant, error) {
	if err := s.reloadTenants(ctx, true); err != nil {
		return nil, unavailable("Tenants", err)
	}
	s.tmu.RLock()
	ts := make([]store.Tenant, 0, len(s.tenants))
	for _, t := range s.tenants {
		ts = append(ts, t)
	}
	s.tmu.RUnlock()
	sort.Slice(ts, func(i, j int) bool { return ts[i].ID < ts[j].ID })
	return ts, nil
}

// reloadTenants re-reads the tenant table when forced or when another connection committed
// to the catalog since the last read.
func (s *Store) reloadTenants(ctx context.Context, force bool) error {
	s.tmu.Lock()
	defer s.tmu.Unlock()
	if !force && time.Since(s.checked) < tenantCheck {
		return nil // another goroutine checked meanwhile
	}
	var dv int64
	if err := s.cat.QueryRowContext(ctx, "PRAGMA data_version").Scan(&dv); err != nil {
		return err
	}
	if !force && s.loadedDV && dv == s.dataVer {
		s.checked = time.Now()
		return nil
	}
	rows, err := s.cat.QueryContext(ctx, "SELECT id, name, integrity, created, lg FROM tenant")
	if err != nil {
		return err
	}
	defer rows.Close()
	m := map[string]store.Tenant{}
	for rows.Next() {
		var t store.Tenant
		var created int64
		if err := rows.Scan(&t.ID, &t.Name, &t.ReferentialIntegrity, &created, &t.LGCode); err != nil {
			return err
		}
		t.Created = time.UnixMilli(created).UTC()
		m[t.ID] = t
	}
	if err := rows.Err(); err != nil {
		return err
	}
	s.tenants, s.dataVer, s.loadedDV, s.checked = m, dv, true, time.Now()
	return nil
}

// LoadOrStoreSecret implements store.Store. Secrets live in the catalog, shared by every
// process that opens the data directory.
func (s *Store) LoadOrStoreSecret(ctx context.Context, name string, value []byte) ([]byte, error) {
	if _, err := s.cat.ExecContext(ctx, `INSERT INTO secret (name, value) VALUES (?, ?) ON CONFLICT DO NOTHING`,
		name, value); err != nil {
		return nil, unavailable("LoadOrStoreSecret", err)
	}
	var got []byte
	if err := s.cat.QueryRowContext(ctx, `SELECT value FROM secret WHERE name = ?`, name).Scan(&got); err != nil {
		return nil, unavailable("LoadOrStoreSecret", err)
	}
	return got, nil
}

// Ping implements store.Store.
func (s *Store) Ping(ctx context.Context) error {
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return fmt.Errorf("store/sqlite: closed: %w", store.ErrUnavailable)
	}
	if err := s.cat.PingContext(ctx); err != nil {
		return unavailable("Ping", err)
	}
	return nil
}

// Close waits for queued commits to finish, then closes every database.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	dbs := s.dbs
	s.dbs = map[string]*tenantDB{}
	s.mu.Unlock()
	var errs []error
	for _, t := range dbs {
		errs = append(errs, t.close())
	}
	errs = append(errs, s.cat.Close())
	return errors.Join(errs...)
}

// tenantDB returns the open database of a tenant, opening and migrating it at first use.
func (s *Store) tenantDB(ctx context.Context, id string) (*tenantDB, error) {
	s.mu.RLock()
	t, closed := s.dbs[id], s.closed
	s.mu.RUnlock()
	if t != nil && !closed {
		return t, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("store/sqlite: closed: %w", store.ErrUnavailable)
	}
	if t := s.dbs[id]; t != nil {
		return t, nil
	}
	if _, err := s.Tenant(ctx, id); err != nil {
		return nil, err
	}
	t, err := openTenant(ctx, s, id)
	if err != nil {
		return nil, unavailable("open tenant "+id, err)
	}
	s.dbs[id] = t
	return t, nil
}

func unavailable(op string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("store/sqlite: %s: %w", op, err)
	}
	return fmt.Errorf("store/sqlite: %s: %w: %w", op, store.ErrUnavailable, err)
}
