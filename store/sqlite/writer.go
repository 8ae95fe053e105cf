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
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kodomohub/kodomohub/fhir"
	"github.com/kodomohub/kodomohub/fhir/search"
	"github.com/kodomohub/kodomohub/store"
)

// tenantDB is one open tenant database: a single write connection owned by the writer
// goroutine, which runs queued Commits in group transactions, and a pool of read connections.
type tenantDB struct {
	s  *Store
	id string
	w  *sql.DB
	r  *sql.DB

	qmu    sync.RWMutex // held (read) while sending to q; Close takes it to close q
	q      chan *request
	closed bool
	done   chan struct{}

	// Writer state, touched only by the writer goroutine.
	conn    *sql.Conn
	ckpt    *checkpointer
	stmts   map[string]*sql.Stmt
	inserts map[insertKey]*sql.Stmt
	stale   bool  // reload seq, rid and params before the next transaction
	dv      int64 // PRAGMA data_version after the last reload or commit
	seq     int64 // last change seq used
	rid     int64 // last resource key used
	lastTs  int64 // lastUpdated of the last transaction: keeps ts non-decreasing in seq
	params  map[paramKey]int64
	dates   map[int64]dateStat // span and multi of the params of sp_date rows, as in param

	oncePurged int64 // Unix ms of the last purge of expired one-time keys

	// The audit trail (auditlog.go), opened at its first use.
	amu         sync.Mutex
	audit       atomic.Pointer[auditLog]
	auditClosed bool

	// The readers' cache of the param dictionary (committed pids only).
	pmu  sync.RWMutex
	pids map[paramKey]int64

	// Prepared reads on the read pool (database/sql prepares them once per connection).
	readStmt, vreadStmt *sql.Stmt
	rstmts              *stmtCache // search statements of the read pool
}

// Reads by id, prepared once per tenant database: preparing them on every call cost about
// a tenth of a read.
const (
	readSQL = `SELECT v.ver, v.action, v.ts, v.raw FROM resource r JOIN version v ON v.seq = r.seq
		WHERE r.type = ? AND r.id = ?`
	vreadSQL = `SELECT v.action, v.ts, v.raw FROM resource r JOIN version v ON v.rid = r.rid AND v.ver = ?
		WHERE r.type = ? AND r.id = ?`
)

type insertKey struct {
	into string
	rows int
}

// paramKey names a row of the param dictionary.
type paramKey struct {
	typ, code string
	ptype     search.Type
	kind      uint8
}

// keyOf is the param of code on resource type typ. Common parameters (their codes start
// with "_": _tag, _profile, _security, _source…) are one param for every type, type "", so
// that a system-level search scans one range.
func keyOf(typ, code string, ptype search.Type, kind uint8) paramKey {
	if strings.HasPrefix(code, "_") {
		typ = ""
	}
	return paramKey{typ, code, ptype, kind}
}

// request is one queued write: a Commit (writes) or another small write of the hub's own
// tables (fn).
type request struct {
	op     string // the method, for errors
	writes []store.Write
	heads  [][]byte // stamped JSON up to the meta element, per write (nil for a delete)
	tails  [][]byte // stamped JSON after meta.lastUpdated
	strict bool

	// fn runs on the writer's connection inside the group transaction, in its own savepoint
	// (rolled back when it fails). Its error is the request's, as it is.
	fn func(ctx context.Context) error

	state   atomic.Int32 // reqQueued → reqTaken by the writer, or → reqAbandoned by the caller
	results []store.Result
	err     error
	done    chan struct{}
}

const (
	reqQueued = iota
	reqTaken
	reqAbandoned
)

// size is what the request counts against Options.MaxBatch.
func (r *request) size() int {
	if r.fn != nil {
		return 1
	}
	return len(r.writes)
}

// openDatabase opens the database at path, brought up to the last of steps: one write
// connection (w, held as conn) and a pool of readers.
func (s *Store) openDatabase(ctx context.Context, path string, steps []migration, readers int) (w *sql.DB, conn *sql.Conn, r *sql.DB, err error) {
	if w, err = sql.Open("sqlite", s.dsn(path, connWriter)); err != nil {
		return nil, nil, nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := migrate(ctx, w, steps); err != nil {
		w.Close()
		return nil, nil, nil, err
	}
	if conn, err = w.Conn(ctx); err != nil {
		w.Close()
		return nil, nil, nil, err
	}
	if r, err = sql.Open("sqlite", s.dsn(path, connReader)); err != nil {
		conn.Close()
		w.Close()
		return nil, nil, nil, err
	}
	r.SetMaxOpenConns(readers)
	r.SetMaxIdleConns(readers)
	return w, conn, r, nil
}

func openTenant(ctx context.Context, s *Store, id string) (*tenantDB, error) {
	path := filepath.Join(s.dir, "tenants", id+".db")
	w, conn, r, err := s.openDatabase(ctx, path, tenantMigrations, s.opts.ReadPool)
	if err != nil {
		return nil, err
	}
	ckpt, err := s.startCheckpointer(ctx, path, conn)
	if err != nil {
		conn.Close()
		w.Close()
		r.Close()
		return nil, err
	}
	t := &tenantDB{s: s, id: id, w: w, r: r, conn: conn, ckpt: ckpt, q: make(chan *request, 64), done: make(chan struct{}),
		stmts: map[string]*sql.Stmt{}, inserts: map[insertKey]*sql.Stmt{}, stale: true, pids: map[paramKey]int64{}}
	t.rstmts = newStmtCache(r)
	if t.readStmt, err = r.PrepareContext(ctx, readSQL); err == nil {
		t.vreadStmt, err = r.PrepareContext(ctx, vreadSQL)
	}
	if err != nil {
		ckpt.close()
		conn.Close()
		w.Close()
		r.Close()
		return nil, err
	}
	go t.run()
	return t, nil
}

func (t *tenantDB) close() error {
	aerr := t.closeAudit() // its indexer uses the writer
	t.qmu.Lock()
	t.closed = true
	close(t.q)
	t.qmu.Unlock()
	<-t.done
	cerr := t.ckpt.close()
	for _, st := range t.stmts {
		st.Close()
	}
	t.readStmt.Close()
	t.vreadStmt.Close()
	t.rstmts.close()
	return errors.Join(aerr, cerr, t.conn.Close(), t.r.Close(), t.w.Close())
}

// stampMarker is what fhir.Stamp writes for version 1 at the Unix epoch; Commit stamps with
// it on the caller's goroutine and the writer splices in the real version and time.
var stampMarker = []byte(`"meta":{"versionId":"1","lastUpdated":"1970-01-01T00:00:00.000Z"`)

// Commit implements store.Store. Concurrent Commits of one tenant are queued to its writer,
// which runs several in one SQLite transaction, each inside its own savepoint: a failing
// Commit rolls back only itself. A Commit returns after the transaction holding it committed.
// A create of an id whose current version is a delete is ErrExists (the id stays taken:
// update brings it back). Refs are checked against the state at the end of the Commit, so
// a reference to a resource created (or updated) later in the same Commit resolves and one
// to a resource deleted in it does not.
func (s *Store) Commit(ctx context.Context, tenant string, writes []store.Write) ([]store.Result, error) {
	tn, err := s.Tenant(ctx, tenant)
	if err != nil {
		return nil, err
	}
	t, err := s.tenantDB(ctx, tenant)
	if err != nil {
		return nil, err
	}
	if len(writes) == 0 {
		return nil, nil
	}
	req := &request{op: "Commit", writes: writes, heads: make([][]byte, len(writes)), tails: make([][]byte, len(writes)),
		strict: tn.ReferentialIntegrity != store.IntegrityOff}
	for i, w := range writes {
		if err := req.prepare(i, w); err != nil {
			return nil, &store.WriteError{Index: i, Key: store.Key{Type: w.Type, ID: w.ID}, Err: err}
		}
	}
	if err := t.submit(ctx, req); err != nil {
		return nil, err
	}
	return req.results, nil
}

// submit queues r to the writer and waits until the transaction holding it has committed or
// failed; it returns r.err. A request the writer has not taken when ctx ends is abandoned:
// nothing of it is written.
func (t *tenantDB) submit(ctx context.Context, r *request) error {
	r.done = make(chan struct{})
	t.qmu.RLock()
	if t.closed {
		t.qmu.RUnlock()
		return fmt.Errorf("store/sqlite: closed: %w", store.ErrUnavailable)
	}
	select {
	case t.q <- r:
		t.qmu.RUnlock()
	case <-ctx.Done():
		t.qmu.RUnlock()
		return ctx.Err()
	}
	select {
	case <-r.done:
	case <-ctx.Done():
		if r.state.CompareAndSwap(reqQueued, reqAbandoned) {
			return ctx.Err() // the writer will skip it: nothing is written
		}
		<-r.done // running already: its outcome is the answer
	}
	return r.err
}

// write runs fn on the writer of tenant inside its next group transaction (see request.fn)
// and returns once that transaction has committed.
func (s *Store) write(ctx context.Context, tenant, op string, fn func(ctx context.Context, t *tenantDB) error) error {
	t, err := s.tenantDB(ctx, tenant)
	if err != nil {
		return err
	}
	return t.submit(ctx, &request{op: op, fn: func(ctx context.Context) error { return fn(ctx, t) }})
}

// prepare validates write i and stamps its JSON with placeholder version and time.
func (r *request) prepare(i int, w store.Write) error {
	b, err := store.CheckWrite(w)
	if err != nil || b == nil {
		return err
	}
	at := bytes.Index(b, stampMarker)
	if at < 0 {
		return fmt.Errorf("store/sqlite: fhir.Stamp output not understood")
	}
	r.heads[i], r.tails[i] = b[:at], b[at+len(stampMarker):]
	return nil
}

// run is the writer goroutine: it takes the queued requests and commits them in groups.
func (t *tenantDB) run() {
	defer close(t.done)
	for first := range t.q {
		batch, n := []*request{first}, first.size()
	drain:
		for n < t.s.opts.MaxBatch {
			select {
			case r, ok := <-t.q:
				if !ok {
					break drain
				}
				batch, n = append(batch, r), n+r.size()
			default:
				break drain
			}
		}
		t.runBatch(batch)
	}
}

func (t *tenantDB) runBatch(batch []*request) {
	live := batch[:0]
	for _, r := range batch {
		if r.state.CompareAndSwap(reqQueued, reqTaken) {
			live = append(live, r)
		} else {
			close(r.done)
		}
	}
	if len(live) == 0 {
		return
	}
	ctx := context.Background() // a taken request runs to the end: its caller waits for it
	if !t.runWhole(ctx, live) {
		t.runEach(ctx, live)
	}
	for _, r := range live {
		close(r.done)
	}
}

// runWhole runs a batch in one transaction without a savepoint per Commit. When every
// Commit succeeds, as nearly all do, that writes what runEach writes, without the savepoint
// journal: a copy of every existing page a Commit changes, which SQLite keeps in memory for
// a rollback that does not come (with the index rows of a bundle of 100 new resources, that
// journal cost more CPU than the inserts themselves). When a Commit fails, runWhole rolls
// the whole transaction back, marks the writer's counters stale and returns false: runEach
// then runs the batch again and answers every request as if runWhole had not run. The other
// writes of the batch (fn) run after the Commits, each in its savepoint as in runEach, so
// none of them runs twice. A failure to begin or to commit fails every request, as in
// runEach.
func (t *tenantDB) runWhole(ctx context.Context, live []*request) (handled bool) {
	fail := func(err error) bool {
		t.exec(ctx, "ROLLBACK")
		t.stale = true // reloads the counters
		for _, r := range live {
			r.results, r.err = nil, unavailable(r.op, err)
		}
		return true
	}
	if err := t.begin(ctx); err != nil {
		return fail(err)
	}
	now := max(t.s.opts.Now().UnixMilli(), t.lastTs)
	for _, r := range live {
		if r.fn != nil {
			continue
		}
		results, _, err := t.apply(ctx, r, now)
		if err != nil {
			t.exec(ctx, "ROLLBACK")
			t.stale = true // seq, rid, params and dates as they were before the batch
			for _, r := range live {
				r.results, r.err = nil, nil
			}
			return false
		}
		r.results, r.err = results, nil
	}
	for _, r := range live {
		if r.fn == nil {
			continue
		}
		if err := t.exec(ctx, "SAVEPOINT c"); err != nil {
			return fail(err)
		}
		if r.err = r.fn(ctx); r.err != nil {
			if err := t.exec(ctx, "ROLLBACK TO c"); err != nil {
				return fail(err)
			}
		}
		if err := t.exec(ctx, "RELEASE c"); err != nil {
			return fail(err)
		}
	}
	if err := t.exec(ctx, "COMMIT"); err != nil {
		return fail(err)
	}
	t.lastTs = now
	t.ckpt.committed(t.conn)
	return true
}

// runEach runs the requests of a batch in one transaction, each in its own savepoint: a
// request that fails is rolled back alone.
func (t *tenantDB) runEach(ctx context.Context, live []*request) {
	err := t.begin(ctx)
	if err == nil {
		now := t.s.opts.Now().UnixMilli()
		now = max(now, t.lastTs)
		for _, r := range live {
			if err = t.exec(ctx, "SAVEPOINT c"); err != nil {
				break
			}
			if r.fn != nil {
				if r.err = r.fn(ctx); r.err != nil {
					if err = t.exec(ctx, "ROLLBACK TO c"); err != nil {
						break
					}
				}
				if err = t.exec(ctx, "RELEASE c"); err != nil {
					break
				}
				continue
			}
			seq, rid := t.seq, t.rid
			var added []paramKey
			r.results, added, r.err = t.apply(ctx, r, now)
			if _, ok := r.err.(*store.WriteError); r.err != nil && !ok {
				r.err = unavailable("Commit", r.err)
			}
			if r.err != nil {
				r.results = nil
				t.seq, t.rid = seq, rid
				for _, k := range added {
					delete(t.params, k)
				}
				if err = t.exec(ctx, "ROLLBACK TO c"); err != nil {
					break
				}
				if err = t.loadDates(ctx); err != nil { // the savepoint may have raised some
					break
				}
			}
			if err = t.exec(ctx, "RELEASE c"); err != nil {
				break
			}
		}
		if err == nil {
			err = t.exec(ctx, "COMMIT")
		}
		if err == nil {
			t.lastTs = now
			t.ckpt.committed(t.conn)
		}
	}
	if err != nil {
		t.exec(ctx, "ROLLBACK")
		t.stale = true // reloads the counters
		for _, r := range live {
			r.results, r.err = nil, unavailable(r.op, err)
		}
	}
}

func (t *tenantDB) exec(ctx context.Context, q string, args ...any) error {
	_, err := t.conn.ExecContext(ctx, q, args...)
	return err
}

// begin starts the group transaction and reloads the writer's counters when another
// connection (another process) wrote to the database since the last transaction.
func (t *tenantDB) begin(ctx context.Context) error {
	if err := t.exec(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	var dv int64
	err := t.conn.QueryRowContext(ctx, "PRAGMA data_version").Scan(&dv)
	if err == nil && (t.stale || dv != t.dv) {
		err = t.reload(ctx)
		t.dv = dv
	}
	if err != nil {
		t.exec(ctx, "ROLLBACK")
		t.stale = true
	}
	return err
}

func (t *tenantDB) reload(ctx context.Context) error {
	if err := t.conn.QueryRowContext(ctx, "SELECT coalesce(max(seq), 0) FROM version").Scan(&t.seq); err != nil {
		return err
	}
	if err := t.conn.QueryRowContext(ctx, "SELECT coalesce(max(rid), 0) FROM resource").Scan(&t.rid); err != nil {
		return err
	}
	var lastTs int64
	if err := t.conn.QueryRowContext(ctx, "SELECT coalesce(max(ts), 0) FROM version WHERE seq = ?", t.seq).Scan(&lastTs); err != nil {
		return err
	}
	t.lastTs = max(t.lastTs, lastTs)
	rows, err := t.conn.QueryContext(ctx, "SELECT pid, type, code, ptype, kind FROM param")
	if err != nil {
		return err
	}
	defer rows.Close()
	t.params = map[paramKey]int64{}
	for rows.Next() {
		var k paramKey
		var pid int64
		if err := rows.Scan(&pid, &k.typ, &k.code, &k.ptype, &k.kind); err != nil {
			return err
		}
		t.params[k] = pid
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if err := t.loadDates(ctx); err != nil {
		return err
	}
	t.stale = false
	return nil
}

// dateStat is what param records of a param's sp_date rows: the largest hi - lo
// (math.MaxInt64 when a row is open-ended) and whether a resource had several rows.
type dateStat struct {
	span  int64
	multi bool
}

// loadDates reads the span and multi columns of param.
func (t *tenantDB) loadDates(ctx context.Context) error {
	rows, err := t.conn.QueryContext(ctx, "SELECT pid, span, multi FROM param WHERE span <> 0 OR multi <> 0")
	if err != nil {
		return err
	}
	defer rows.Close()
	t.dates = map[int64]dateStat{}
	for rows.Next() {
		var pid int64
		var d dateStat
		if err := rows.Scan(&pid, &d.span, &d.multi); err != nil {
			return err
		}
		t.dates[pid] = d
	}
	return rows.Err()
}

// spanOf is the span of a date row [lo, hi): math.MaxInt64 when it is open-ended (or not a
// range).
func spanOf(lo, hi int64) int64 {
	if lo == math.MinInt64 || hi == math.MaxInt64 || hi < lo || hi-lo < 0 {
		return math.MaxInt64
	}
	return hi - lo
}

// noteDates raises the span and multi of param for the date rows of one resource (composite
// parts excluded).
func (t *tenantDB) noteDates(ctx context.Context, rows []irow) error {
	if len(rows) == 0 {
		return nil
	}
	per := map[int64]dateStat{}
	for _, r := range rows {
		d, seen := per[r.pid]
		d.span = max(d.span, spanOf(r.lo, r.hi))
		d.multi = d.multi || seen
		per[r.pid] = d
	}
	for pid, d := range per {
		old := t.dates[pid]
		if d.span <= old.span && (!d.multi || old.multi) {
			continue
		}
		d.span, d.multi = max(d.span, old.span), d.multi || old.multi
		if err := t.exec(ctx, "UPDATE param SET span = ?, multi = ? WHERE pid = ?", d.span, d.multi, pid); err != nil {
			return err
		}
		t.dates[pid] = d
	}
	return nil
}

// stmt returns a prepared statement of the write connection.
func (t *tenantDB) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	return prepared(ctx, t.conn, t.stmts, q)
}

// prepared returns the statement of q on conn, prepared once and kept in cache.
func prepared(ctx context.Context, conn *sql.Conn, cache map[string]*sql.Stmt, q string) (*sql.Stmt, error) {
	if st := cache[q]; st != nil {
		return st, nil
	}
	st, err := conn.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	cache[q] = st
	return st, nil
}

// state is what a Commit knows of one resource it touches.
type state struct {
	key     store.Key
	rid     int64
	ver     int64 // 0: the resource never existed
	deleted bool
	oldIx   []byte // index rows in the database before this Commit
	written bool   // this Commit wrote a version
	seq, ts int64
	index   []search.Entry
}

func (t *tenantDB) lookup(ctx context.Context, k store.Key) (*state, error) {
	st, err := t.stmt(ctx, `SELECT r.rid, r.ver, r.deleted, x.ix FROM resource r LEFT JOIN resource_ix x ON x.rid = r.rid WHERE r.type = ? AND r.id = ?`)
	if err != nil {
		return nil, err
	}
	s := &state{key: k}
	err = st.QueryRowContext(ctx, k.Type, k.ID).Scan(&s.rid, &s.ver, &s.deleted, &s.oldIx)
	if errors.Is(err, sql.ErrNoRows) {
		return s, nil
	}
	return s, err
}

// apply runs one Commit inside its savepoint. It returns the params it added to t.params so
// that a rollback can forget them.
func (t *tenantDB) apply(ctx context.Context, r *request, now int64) ([]store.Result, []paramKey, error) {
	touched := map[store.Key]*state{}
	var order []*state
	results := make([]store.Result, len(r.writes))
	var vargs []any // version rows
	nv := 0
	counts := map[string]int64{} // change of the live resources per type
	for i, w := range r.writes {
		k := store.Key{Type: w.Type, ID: w.ID}
		fail := func(err error) ([]store.Result, []paramKey, error) {
			return nil, nil, &store.WriteError{Index: i, Key: k, Err: err}
		}
		s := touched[k]
		if s == nil {
			var err error
			if s, err = t.lookup(ctx, k); err != nil {
				return nil, nil, err
			}
			touched[k] = s
			order = append(order, s)
		}
		if w.IfMatch != 0 && w.IfMatch != s.ver {
			return fail(fmt.Errorf("%s is at version %d, not %d: %w", k, s.ver, w.IfMatch, store.ErrVersionConflict))
		}
		act := actUpdate
		switch w.Action {
		case store.Create:
			if s.ver != 0 {
				return fail(fmt.Errorf("%s: %w", k, store.ErrExists))
			}
			act = actCreate
		case store.Update:
			if s.ver == 0 || s.deleted {
				act = actCreate
			}
		case store.Delete:
			if s.ver == 0 || s.deleted {
				results[i] = store.Result{Resource: fhir.Resource{Type: w.Type, ID: w.ID, Deleted: true}, Noop: true}
				continue
			}
			act = actDelete
		}
		if s.rid == 0 {
			t.rid++
			s.rid = t.rid
		}
		t.seq++
		s.ver, s.seq, s.ts, s.deleted, s.written = s.ver+1, t.seq, now, act == actDelete, true
		s.index = nil
		res := fhir.Resource{Type: w.Type, ID: w.ID, Version: s.ver, LastUpdated: time.UnixMilli(now).UTC(), Deleted: s.deleted}
		if !s.deleted {
			s.index = w.Index
			res.Raw = splice(r.heads[i], r.tails[i], s.ver, res.LastUpdated)
		}
		var raw any
		if res.Raw != nil {
			raw = []byte(res.Raw)
		}
		var method any
		if w.Method != "" {
			method = w.Method
		}
		vargs = append(vargs, s.seq, s.rid, w.Type, s.ver, act, now, raw, method)
		nv++
		switch act {
		case actCreate:
			counts[w.Type]++
		case actDelete:
			counts[w.Type]--
		}
		results[i] = store.Result{Resource: res, Created: act == actCreate}
	}
	if r.strict {
		if err := t.checkRefs(ctx, r.writes, touched); err != nil {
			return nil, nil, err
		}
	}
	if err := t.insertRows(ctx, "INTO version (seq, rid, type, ver, action, ts, raw, method)", "", 8, vargs); err != nil {
		return nil, nil, err
	}
	added, err := t.writeIndex(ctx, order)
	if err != nil {
		return nil, added, err
	}
	var cargs []any
	for typ, n := range counts {
		if n != 0 {
			cargs = append(cargs, typ, n)
		}
	}
	if err := t.insertRows(ctx, "INTO counts (type, n)", " ON CONFLICT (type) DO UPDATE SET n = n + excluded.n", 2, cargs); err != nil {
		return nil, added, err
	}
	return results, added, nil
}

// splice builds the stamped JSON from the prepared parts.
func splice(head, tail []byte, ver int64, ts time.Time) []byte {
	b := make([]byte, 0, len(head)+len(tail)+64)
	b = append(b, head...)
	b = append(b, `"meta":{"versionId":"`...)
	b = strconv.AppendInt(b, ver, 10)
	b = append(b, `","lastUpdated":"`...)
	b = append(b, fhir.FormatInstant(ts)...)
	b = append(b, '"')
	return append(b, tail...)
}

// checkRefs verifies on a strict tenant that every reference of a created or updated resource
// names a resource that exists and is not deleted once the whole Commit is applied.
func (t *tenantDB) checkRefs(ctx context.Context, writes []store.Write, touched map[store.Key]*state) error {
	var exists map[store.Key]bool
	for i, w := range writes {
		if w.Action == store.Delete {
			continue
		}
		for _, ref := range w.Refs {
			ok, known := false, false
			if s := touched[ref]; s != nil {
				ok, known = s.ver != 0 && !s.deleted, true
			} else if ok, known = exists[ref]; !known {
				st, err := t.stmt(ctx, `SELECT deleted FROM resource WHERE type = ? AND id = ?`)
				if err != nil {
					return err
				}
				var deleted bool
				switch err := st.QueryRowContext(ctx, ref.Type, ref.ID).Scan(&deleted); {
				case errors.Is(err, sql.ErrNoRows):
				case err != nil:
					return err
				default:
					ok = !deleted
				}
				if exists == nil {
					exists = map[store.Key]bool{}
				}
				exists[ref] = ok
			}
			if !ok {
				return &store.WriteError{Index: i, Key: store.Key{Type: w.Type, ID: w.ID},
					Err: fmt.Errorf("reference %s: %w", ref, store.ErrReference)}
			}
		}
	}
	return nil
}

// writeIndex replaces the index rows of every resource the Commit wrote (only rows that
// changed are deleted or inserted) and upserts the resource rows.
func (t *tenantDB) writeIndex(ctx context.Context, order []*state) ([]paramKey, error) {
	var added []paramKey
	var rargs, ixargs []any
	var gone []int64 // rids whose index rows are all gone
	ins := map[byte][]any{}
	var kb []byte
	for _, s := range order {
		if !s.written {
			continue
		}
		keys := make([]string, 0, len(s.index))
		seen := make(map[string]struct{}, len(s.index))
		pidOf := func(pk paramKey) (int64, error) {
			if pid, ok := t.params[pk]; ok {
				return pid, nil
			}
			pid := int64(len(t.params)) + 1
			for _, p := range t.params { // pids are dense, but stay safe after a rollback
				pid = max(pid, p+1)
			}
			if err := t.exec(ctx, `INSERT INTO param (pid, type, code, ptype, kind) VALUES (?, ?, ?, ?, ?)`,
				pid, pk.typ, pk.code, pk.ptype, pk.kind); err != nil {
				return 0, err
			}
			t.params[pk] = pid
			added = append(added, pk)
			return pid, nil
		}
		addRow := func(r irow) {
			kb = r.key(kb[:0])
			if _, dup := seen[string(kb)]; dup {
				return
			}
			k := string(kb)
			seen[k] = struct{}{}
			keys = append(keys, k)
		}
		var grp int64
		for i := range s.index {
			e := &s.index[i]
			if e.Code == "_id" || e.Code == "_lastUpdated" {
				continue // answered from the resource table: the store stamps them
			}
			if e.Type == search.Composite {
				if grp == maxGroups {
					continue // documented limit: later composite entries of a huge resource are not indexed
				}
				grp++
				for j := range e.Parts {
					p := &e.Parts[j]
					tbl, _ := tableOf(p.Type)
					pid, err := pidOf(keyOf(s.key.Type, e.Code, p.Type, uint8(kindPart+4*j)+uint8(p.Kind)))
					if err != nil {
						return added, err
					}
					r := rowOf(p, tbl, pid)
					r.grp = grp
					addRow(r)
				}
				continue
			}
			tbl, _ := tableOf(e.Type)
			pid, err := pidOf(keyOf(s.key.Type, e.Code, e.Type, uint8(e.Kind)))
			if err != nil {
				return added, err
			}
			addRow(rowOf(e, tbl, pid))
			if e.Type == search.Token && e.Kind == search.KindValue && e.Text != "" {
				pid, err := pidOf(keyOf(s.key.Type, e.Code, e.Type, kindText))
				if err != nil {
					return added, err
				}
				addRow(irow{tbl: tblStr, pid: pid, val: e.Text})
			}
		}
		var dates []irow
		for _, k := range keys {
			if k[0]&^keyV2 == tblDate {
				if row, err := parseKey(k); err == nil && row.grp == 0 {
					dates = append(dates, row)
				}
			}
		}
		if err := t.noteDates(ctx, dates); err != nil {
			return added, err
		}
		var old map[string]struct{}
		if len(s.oldIx) > 0 {
			oldKeys, err := decodeKeys(s.oldIx)
			if err != nil {
				return added, fmt.Errorf("%s: %w", s.key, err)
			}
			old = make(map[string]struct{}, len(oldKeys))
			for _, k := range oldKeys {
				old[k] = struct{}{}
				if _, keep := seen[k]; keep {
					continue
				}
				if err := t.deleteRow(ctx, k, s.rid); err != nil {
					return added, err
				}
			}
		}
		for _, k := range keys {
			if _, had := old[k]; had {
				continue
			}
			row, _ := parseKey(k)
			switch rid := row.ridOf(s.rid); row.tbl {
			case tblStr:
				ins[tblStr] = append(ins[tblStr], row.pid, row.val, row.sys, row.txt, rid)
			case tblDate:
				ins[tblDate] = append(ins[tblDate], row.pid, row.lo, row.hi, rid)
			case tblNum:
				ins[tblNum] = append(ins[tblNum], row.pid, row.num, row.sys, row.val, row.txt, rid)
			}
		}
		var ix any
		if len(keys) > 0 {
			ix = encodeKeys(keys)
		}
		rargs = append(rargs, s.rid, s.key.Type, s.key.ID, s.ver, s.seq, s.deleted, s.ts)
		switch {
		case ix != nil:
			ixargs = append(ixargs, s.rid, ix)
		case len(s.oldIx) > 0:
			gone = append(gone, s.rid)
		}
	}
	// OR IGNORE, not ON CONFLICT DO NOTHING: both skip a row that is there already, but a
	// multi-row INSERT whose other constraints (NOT NULL) would abort needs a statement
	// journal, a copy of every existing page the statement changes, kept in memory and
	// freed at its end; the rows' values are never NULL. Those journals took more than half
	// of the server's CPU while it ingested transaction bundles (madvise and page faults of
	// SQLite's allocator).
	for _, x := range []struct {
		tbl  byte
		into string
		cols int
	}{{tblStr, "OR IGNORE INTO sp_str (pid, val, sys, txt, rid)", 5}, {tblDate, "OR IGNORE INTO sp_date (pid, lo, hi, rid)", 4}, {tblNum, "OR IGNORE INTO sp_num (pid, num, sys, val, txt, rid)", 6}} {
		if err := t.insertRows(ctx, x.into, "", x.cols, ins[x.tbl]); err != nil {
			return added, err
		}
	}
	if err := t.insertRows(ctx, "INTO resource (rid, type, id, ver, seq, deleted, ts)",
		" ON CONFLICT (rid) DO UPDATE SET ver = excluded.ver, seq = excluded.seq, deleted = excluded.deleted, ts = excluded.ts",
		7, rargs); err != nil {
		return added, err
	}
	if err := t.insertRows(ctx, "INTO resource_ix (rid, ix)", " ON CONFLICT (rid) DO UPDATE SET ix = excluded.ix", 2, ixargs); err != nil {
		return added, err
	}
	for _, rid := range gone {
		st, err := t.stmt(ctx, `DELETE FROM resource_ix WHERE rid = ?`)
		if err == nil {
			_, err = st.ExecContext(ctx, rid)
		}
		if err != nil {
			return added, err
		}
	}
	return added, nil
}

func (t *tenantDB) deleteRow(ctx context.Context, k string, rid int64) error {
	row, err := parseKey(k)
	if err != nil {
		return err
	}
	var q string
	var args []any
	switch rid = row.ridOf(rid); row.tbl {
	case tblStr:
		q, args = `DELETE FROM sp_str WHERE pid = ? AND val = ? AND sys = ? AND txt = ? AND rid = ?`, []any{row.pid, row.val, row.sys, row.txt, rid}
	case tblDate:
		q, args = `DELETE FROM sp_date WHERE pid = ? AND lo = ? AND hi = ? AND rid = ?`, []any{row.pid, row.lo, row.hi, rid}
	case tblNum:
		q, args = `DELETE FROM sp_num WHERE pid = ? AND num = ? AND sys = ? AND val = ? AND txt = ? AND rid = ?`, []any{row.pid, row.num, row.sys, row.val, row.txt, rid}
	}
	st, err := t.stmt(ctx, q)
	if err != nil {
		return err
	}
	_, err = st.ExecContext(ctx, args...)
	return err
}

// rowsPerInsert bounds the rows of one multi-row INSERT.
const rowsPerInsert = 128

// insertRows inserts args (cols values per row) with multi-row INSERTs prepared once per row
// count: into is what follows INSERT ("INTO t (a, b)", "OR IGNORE INTO t (a, b)").
func (t *tenantDB) insertRows(ctx context.Context, into, suffix string, cols int, args []any) error {
	for len(args) > 0 {
		n := min(len(args)/cols, rowsPerInsert)
		ik := insertKey{into, n}
		st := t.inserts[ik]
		if st == nil {
			var b strings.Builder
			b.WriteString("INSERT " + into + " VALUES ")
			tuple := "(?" + strings.Repeat(", ?", cols-1) + ")"
			for i := range n {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString(tuple)
			}
			b.WriteString(suffix)
			var err error
			if st, err = t.stmt(ctx, b.String()); err != nil {
				return err
			}
			t.inserts[ik] = st
		}
		if _, err := st.ExecContext(ctx, args[:n*cols]...); err != nil {
			return err
		}
		args = args[n*cols:]
	}
	return nil
}
