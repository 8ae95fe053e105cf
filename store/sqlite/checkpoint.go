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
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"modernc.org/sqlite"
)

// checkpointer copies a tenant database's WAL into the database file on a connection of its
// own, so that the writer does not wait for it. SQLite's automatic checkpoint runs on the
// connection that commits, after its commit: the writer then copied some 40 MB of pages and
// waited for two fsyncs every Options.WALAutoCheckpoint pages, with every Commit queued
// behind it (with synchronous=OFF, as an experiment, ingest ran a third faster). Here the
// writer's automatic checkpoint is off; the writer counts the pages its commits write to the
// WAL and, every WALAutoCheckpoint pages, wakes the checkpointer, which runs a PASSIVE
// checkpoint (it blocks neither the writer nor the readers) while the writer goes on.
//
// A passive checkpoint copies the frames that were in the WAL when it started, and the WAL
// starts over from its beginning only when a write transaction begins with every frame
// copied, which a writer that never pauses may not give it. So every safetyFactor ×
// WALAutoCheckpoint pages the writer checkpoints itself, between two transactions, after the
// checkpointer's checkpoint in progress (mu): it finds most frames copied already, and its
// next transaction starts the WAL over. Checkpoints change where pages are, never what a
// reader or a recovery sees: committed transactions stay in the WAL until copied.
type checkpointer struct {
	db      *sql.DB
	mu      sync.Mutex // held by a checkpoint, on either connection
	kick    chan struct{}
	done    chan struct{}
	every   int64 // pages written to the WAL between the checkpointer's checkpoints
	written int64 // pages written since the last kick; the writer goroutine's
	own     int64 // pages written since the writer's last own checkpoint; the writer's
	log     *slog.Logger
	path    string
	runs    atomic.Int64 // checkpoints done by the checkpointer, for tests
}

// safetyFactor is how many times WALAutoCheckpoint pages the writer writes between two
// checkpoints of its own.
const safetyFactor = 4

// startCheckpointer opens the checkpoint connection of the database at path, turns the
// writer connection's automatic checkpoint off and starts the checkpointer.
func (s *Store) startCheckpointer(ctx context.Context, path string, writer *sql.Conn) (*checkpointer, error) {
	if _, err := writer.ExecContext(ctx, "PRAGMA wal_autocheckpoint = 0"); err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", s.dsn(path, connWriter))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	c := &checkpointer{db: db, kick: make(chan struct{}, 1), done: make(chan struct{}),
		every: int64(s.opts.WALAutoCheckpoint), log: s.opts.Logger, path: path}
	go c.run()
	return c, nil
}

func (c *checkpointer) run() {
	defer close(c.done)
	for range c.kick {
		if err := c.checkpoint(context.Background(), c.db); err != nil {
			// The next kick tries again, and the writer's own checkpoint bounds the WAL.
			c.log.Warn("store/sqlite: checkpoint failed", "db", c.path, "err", err)
		}
		c.runs.Add(1)
	}
}

// queryer is a *sql.DB or a *sql.Conn.
type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// checkpoint runs a passive checkpoint on q, after any other in progress.
func (c *checkpointer) checkpoint(ctx context.Context, q queryer) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var busy, log, copied int64
	return q.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &log, &copied)
}

// committed is called by the writer after each commit on conn: it adds the pages the commit
// wrote to the WAL, wakes the checkpointer every c.every pages and checkpoints on conn itself
// every safetyFactor × c.every pages.
func (c *checkpointer) committed(conn *sql.Conn) {
	var pages int
	err := conn.Raw(func(dc any) error {
		st, ok := dc.(sqlite.DBStatus)
		if !ok {
			return fmt.Errorf("store/sqlite: the driver connection has no DBStatus")
		}
		var err error
		pages, _, err = st.Status(sqlite.DBStatusCacheWrite, true)
		return err
	})
	if err != nil {
		pages = int(c.every) // unknown: count a checkpoint's worth
	}
	c.own += int64(pages)
	if c.own >= safetyFactor*c.every {
		c.own, c.written = 0, 0
		if err := c.checkpoint(context.Background(), conn); err != nil {
			c.log.Warn("store/sqlite: checkpoint failed", "db", c.path, "err", err)
		}
		return
	}
	if c.written += int64(pages); c.written < c.every {
		return
	}
	c.written = 0
	select {
	case c.kick <- struct{}{}:
	default: // a checkpoint is due already
	}
}

// close stops the checkpointer once the writer has stopped (no more committed calls).
func (c *checkpointer) close() error {
	close(c.kick)
	<-c.done
	return c.db.Close()
}
