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
	clist "container/list"
	"context"
	"database/sql"
	"sync"
)

// stmtCacheSize bounds the prepared search statements kept per tenant read pool.
const stmtCacheSize = 256

// stmtCache keeps the read pool's prepared statements by SQL text, least recently used
// first out. Search SQL depends only on the shape of a query (values are bound), so a
// working set of shapes is prepared once per connection instead of on every search
// (sqlite3_prepare_v2 was 7 % of the CPU of a search benchmark). A statement stays open while
// a search holds it (refs), even once evicted.
type stmtCache struct {
	db  *sql.DB
	mu  sync.Mutex
	lru *clist.List // of *cachedStmt, most recent at the front
	m   map[string]*clist.Element

	pending map[string]bool // being prepared
	closed  bool
}

type cachedStmt struct {
	c       *stmtCache
	sql     string
	st      *sql.Stmt
	refs    int
	evicted bool
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, lru: clist.New(), m: map[string]*clist.Element{}, pending: map[string]bool{}}
}

// get returns the prepared statement of q, held until release, or nil when it is not
// prepared yet: it is then prepared in the background, on a connection of the pool once one is
// free (preparing it here could wait for a connection that only the caller's search, holding
// one, would free: with every connection held that way, the pool would deadlock).
func (c *stmtCache) get(q string) *cachedStmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[q]; ok {
		c.lru.MoveToFront(e)
		cs := e.Value.(*cachedStmt)
		cs.refs++
		return cs
	}
	if c.pending[q] || len(c.pending) >= stmtCacheSize {
		return nil
	}
	c.pending[q] = true
	go c.prepare(q)
	return nil
}

// prepare adds q to the cache.
func (c *stmtCache) prepare(q string) {
	st, err := c.db.PrepareContext(context.Background(), q)
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.pending, q)
	if err != nil {
		return // the searches prepare it themselves and report the error
	}
	if c.closed {
		st.Close()
		return
	}
	cs := &cachedStmt{c: c, sql: q, st: st}
	c.m[q] = c.lru.PushFront(cs)
	for c.lru.Len() > stmtCacheSize {
		old := c.lru.Remove(c.lru.Back()).(*cachedStmt)
		delete(c.m, old.sql)
		old.evicted = true
		if old.refs == 0 {
			old.st.Close()
		}
	}
}

func (cs *cachedStmt) release() {
	c := cs.c
	c.mu.Lock()
	cs.refs--
	closeIt := cs.evicted && cs.refs == 0
	c.mu.Unlock()
	if closeIt {
		cs.st.Close()
	}
}

// close closes every cached statement (the pool is closing: no search holds one).
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for e := c.lru.Front(); e != nil; e = e.Next() {
		e.Value.(*cachedStmt).st.Close()
	}
	c.lru.Init()
	c.m = map[string]*clist.Element{}
	c.closed = true
}

// stmt returns q as a statement of the builder's transaction, prepared through the cache;
// the cached statement is held until b.release.
func (b *builder) stmt(q string) (*sql.Stmt, error) {
	if b.t.rstmts == nil {
		return b.tx.PrepareContext(b.ctx, q)
	}
	cs := b.t.rstmts.get(q)
	if cs == nil {
		return b.tx.PrepareContext(b.ctx, q)
	}
	b.held = append(b.held, cs)
	return b.tx.StmtContext(b.ctx, cs.st), nil
}

// query runs q in the builder's transaction with a cached prepared statement.
func (b *builder) query(q string, args ...any) (*sql.Rows, error) {
	st, err := b.stmt(q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(b.ctx, args...)
}

// queryRow is query for one row.
func (b *builder) queryRow(q string, args ...any) *sql.Row {
	st, err := b.stmt(q)
	if err != nil {
		return b.tx.QueryRowContext(b.ctx, q, args...) // reports the same error at Scan
	}
	return st.QueryRowContext(b.ctx, args...)
}

// release lets go of the cached statements the builder used; call it after the
// transaction ended.
func (b *builder) release() {
	for _, cs := range b.held {
		cs.release()
	}
	b.held = nil
}
