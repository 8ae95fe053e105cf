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
	"time"
)

// A migration is one step of a schema. The steps of a database run in order, each in the
// transaction that also raises PRAGMA user_version to its position (1-based). Never edit a
// released step: append a new one.
type migration string

// catalogMigrations build catalog.db.
var catalogMigrations = []migration{
	1: `
CREATE TABLE tenant (
	id        TEXT PRIMARY KEY,
	name      TEXT NOT NULL,
	integrity TEXT NOT NULL,
	created   INTEGER NOT NULL -- Unix ms
) WITHOUT ROWID;
CREATE TABLE secret (
	name  TEXT PRIMARY KEY,
	value BLOB NOT NULL
) WITHOUT ROWID;
`,
	// 2: the town's local government code (store.Tenant.LGCode).
	2: `
ALTER TABLE tenant ADD COLUMN lg TEXT NOT NULL DEFAULT '';
`,
}

// tenantMigrations build each tenants/<id>.db.
var tenantMigrations = []migration{
	1: `
CREATE TABLE resource (
	rid     INTEGER PRIMARY KEY,  -- internal resource key, used by every index row
	type    TEXT NOT NULL,
	id      TEXT NOT NULL,
	ver     INTEGER NOT NULL,     -- current version
	seq     INTEGER NOT NULL,     -- change seq of the current version (= version.seq)
	deleted INTEGER NOT NULL,     -- 1 when the current version is a delete
	ts      INTEGER NOT NULL,     -- lastUpdated of the current version, Unix ms
	ix      BLOB                  -- the current index rows, encoded; lets an update remove them
);
CREATE UNIQUE INDEX resource_key ON resource (type, id);

CREATE TABLE version (
	seq    INTEGER PRIMARY KEY,   -- change sequence: one per version, strictly increasing
	rid    INTEGER NOT NULL,
	type   TEXT NOT NULL,
	ver    INTEGER NOT NULL,
	action INTEGER NOT NULL,      -- 1 create, 2 update, 3 delete
	ts     INTEGER NOT NULL,      -- meta.lastUpdated, Unix ms, non-decreasing in seq
	raw    BLOB                   -- stamped, compacted JSON; NULL for a delete
);
CREATE UNIQUE INDEX version_rid ON version (rid, ver);
CREATE INDEX version_type ON version (type, seq);

CREATE TABLE param (
	pid   INTEGER PRIMARY KEY,
	type  TEXT NOT NULL,          -- resource type
	code  TEXT NOT NULL,          -- search parameter code
	ptype INTEGER NOT NULL,       -- search.Type
	UNIQUE (type, code, ptype)
);

-- string, token, reference and uri values: (param, value, system) → resource
CREATE TABLE sp_str (
	pid INTEGER NOT NULL,
	val TEXT NOT NULL,
	sys TEXT NOT NULL,
	rid INTEGER NOT NULL,
	PRIMARY KEY (pid, val, sys, rid)
) WITHOUT ROWID;

-- date ranges [lo, hi) in Unix ms
CREATE TABLE sp_date (
	pid INTEGER NOT NULL,
	lo  INTEGER NOT NULL,
	hi  INTEGER NOT NULL,
	rid INTEGER NOT NULL,
	PRIMARY KEY (pid, lo, hi, rid)
) WITHOUT ROWID;

-- numbers and quantities (system, unit code)
CREATE TABLE sp_num (
	pid INTEGER NOT NULL,
	num REAL NOT NULL,
	sys TEXT NOT NULL,
	val TEXT NOT NULL,
	rid INTEGER NOT NULL,
	PRIMARY KEY (pid, num, sys, val, rid)
) WITHOUT ROWID;
`,
	// 2: search. Index rows are keyed by (param, kind) and carry every field the semantics
	// need; each index table gets an index by resource for the checks of a search's other
	// clauses; common parameters get type '' in param; counts keeps the number of live
	// resources per type. Existing rows are kept (kind 0, txt '').
	2: `
CREATE TABLE param2 (
	pid   INTEGER PRIMARY KEY,
	type  TEXT NOT NULL,          -- resource type; '' for the common parameters (_tag, _profile…)
	code  TEXT NOT NULL,          -- search parameter code
	ptype INTEGER NOT NULL,       -- search.Type (of the component, for composite parts)
	kind  INTEGER NOT NULL,       -- search.Kind; 8 token text; 16+4*i+kind: part i of a composite
	UNIQUE (type, code, ptype, kind)
);
INSERT INTO param2 (pid, type, code, ptype, kind) SELECT pid, type, code, ptype, 0 FROM param;
DROP TABLE param;
ALTER TABLE param2 RENAME TO param;

CREATE TABLE sp_str2 (
	pid INTEGER NOT NULL,
	val TEXT NOT NULL,
	sys TEXT NOT NULL,
	txt TEXT NOT NULL,            -- string: the text as written when it differs from val; of-type: the identifier
	rid INTEGER NOT NULL,         -- resource key; rid<<12|n for part rows of composite entry n
	PRIMARY KEY (pid, val, sys, txt, rid)
) WITHOUT ROWID;
INSERT INTO sp_str2 (pid, val, sys, txt, rid) SELECT pid, val, sys, '', rid FROM sp_str;
DROP TABLE sp_str;
ALTER TABLE sp_str2 RENAME TO sp_str;
CREATE INDEX sp_str_rid ON sp_str (rid, pid);

CREATE INDEX sp_date_rid ON sp_date (rid, pid);

CREATE TABLE sp_num2 (
	pid INTEGER NOT NULL,
	num REAL NOT NULL,
	sys TEXT NOT NULL,
	val TEXT NOT NULL,
	txt TEXT NOT NULL,            -- quantity: the human unit
	rid INTEGER NOT NULL,
	PRIMARY KEY (pid, num, sys, val, txt, rid)
) WITHOUT ROWID;
INSERT INTO sp_num2 (pid, num, sys, val, txt, rid) SELECT pid, num, sys, val, '', rid FROM sp_num;
DROP TABLE sp_num;
ALTER TABLE sp_num2 RENAME TO sp_num;
CREATE INDEX sp_num_rid ON sp_num (rid, pid);

CREATE INDEX resource_live ON resource (type, deleted);

CREATE TABLE counts (
	type TEXT PRIMARY KEY,
	n    INTEGER NOT NULL         -- live (not deleted) resources of the type
) WITHOUT ROWID;
INSERT INTO counts (type, n) SELECT type, count(*) FROM resource WHERE deleted = 0 GROUP BY type;
`,
	// 3: date ranges that can drive a search. span is the largest hi - lo of the param's
	// sp_date rows (9223372036854775807 when one is open-ended), multi is 1 when a resource has
	// had more than one row of the param: both only grow, kept by the writer. A search bounds lo
	// from below by a bound on hi minus span, and ANDs the clauses of one param on a single row
	// only when multi is 0.
	3: `
ALTER TABLE param ADD COLUMN span INTEGER NOT NULL DEFAULT 0;
ALTER TABLE param ADD COLUMN multi INTEGER NOT NULL DEFAULT 0;
UPDATE param SET span = coalesce((SELECT max(CASE WHEN d.lo = -9223372036854775808 OR d.hi = 9223372036854775807 OR d.hi < d.lo
	THEN 9223372036854775807 ELSE d.hi - d.lo END) FROM sp_date d WHERE d.pid = param.pid), 0);
UPDATE param SET multi = 1 WHERE pid IN (SELECT pid FROM sp_date GROUP BY rid, pid HAVING count(*) > 1);
`,
	// 4: the hub's own tables (store/admin.go): the audit trail with its head and search
	// indexes, small records, one-time keys and event leases.
	4: `
CREATE TABLE audit (
	seq      INTEGER PRIMARY KEY,  -- 1, 2, 3 … without gaps
	hash     BLOB NOT NULL,        -- store.AuditLink(previous hash, seq, record)
	ts       INTEGER NOT NULL,     -- AuditEntry.Time, Unix ms
	record   BLOB NOT NULL,        -- the caller's bytes, as given
	agent    TEXT NOT NULL,
	patients TEXT,                 -- AuditEntry.Patients as a JSON array; NULL when none
	etype    TEXT NOT NULL,        -- entity up to its '/': the type
	entity   TEXT NOT NULL,
	action   TEXT NOT NULL,
	outcome  TEXT NOT NULL
);
-- each index ends with the rowid (seq): a filter's entries in seq order, newest first backwards
CREATE INDEX audit_agent ON audit (agent);
CREATE INDEX audit_etype ON audit (etype);
CREATE INDEX audit_entity ON audit (entity);
CREATE TABLE audit_patient (
	patient TEXT NOT NULL,         -- one of the entry's Patients
	seq     INTEGER NOT NULL,
	PRIMARY KEY (patient, seq)
) WITHOUT ROWID;
CREATE TABLE audit_head (
	id   INTEGER PRIMARY KEY CHECK (id = 1),
	seq  INTEGER NOT NULL,         -- the last entry appended
	hash BLOB NOT NULL             -- its hash
);

CREATE TABLE record (
	kind TEXT NOT NULL,
	id   TEXT NOT NULL,
	data BLOB NOT NULL,
	PRIMARY KEY (kind, id)
) WITHOUT ROWID;

CREATE TABLE once (
	key      TEXT PRIMARY KEY,
	until_ms INTEGER NOT NULL      -- Unix ms; the key is forgotten from then on
) WITHOUT ROWID;
CREATE INDEX once_until ON once (until_ms);

CREATE TABLE lease (
	consumer TEXT PRIMARY KEY,
	owner    TEXT NOT NULL,
	until_ms INTEGER NOT NULL,     -- Unix ms; the lease is free from then on (0 once released)
	pos      INTEGER NOT NULL      -- the last event seq acknowledged
) WITHOUT ROWID;
`,
	// 5: the audit trail moves to the log file tenants/<id>.audit (auditlog.go); its tables
	// become an index of the file, filled from it by the catch-up. The tables of migration 4 are
	// kept as audit_v4 and audit_head_v4 until the first opening of the log has copied their
	// entries into it (then dropped).
	5: `
DROP INDEX audit_agent;
DROP INDEX audit_etype;
DROP INDEX audit_entity;
ALTER TABLE audit RENAME TO audit_v4;
ALTER TABLE audit_head RENAME TO audit_head_v4;
DROP TABLE audit_patient;
CREATE TABLE audit (
	seq     INTEGER PRIMARY KEY,  -- the entry's seq
	off     INTEGER NOT NULL,     -- the offset of its frame in the log
	ts      INTEGER NOT NULL,     -- AuditEntry.Time, Unix ms
	agent   TEXT NOT NULL,
	etype   TEXT NOT NULL,        -- entity up to its '/': the type
	entity  TEXT NOT NULL,
	action  TEXT NOT NULL,
	outcome TEXT NOT NULL
);
-- each index ends with the rowid (seq): a filter's entries in seq order, newest first backwards
CREATE INDEX audit_agent ON audit (agent);
CREATE INDEX audit_etype ON audit (etype);
CREATE INDEX audit_entity ON audit (entity);
CREATE TABLE audit_patient (
	patient TEXT NOT NULL,        -- one of the entry's Patients
	seq     INTEGER NOT NULL,
	PRIMARY KEY (patient, seq)
) WITHOUT ROWID;
CREATE TABLE audit_indexed (
	id  INTEGER PRIMARY KEY CHECK (id = 1),
	seq INTEGER NOT NULL,         -- the last entry indexed
	off INTEGER NOT NULL          -- the end of its frame: where the catch-up reads on
);
`,
	// 6: no index by entity id. Its keys ("Observation/<uuid>") are random, so every index batch
	// wrote a page per entry at a random place: the WAL it grew and the checkpoints it caused
	// cost a fifth of the town's read throughput (bench read, 300,000 resources: 11,400 → 13,700
	// req/s without it). A query by entity id walks audit_etype, the entries of its type.
	6: `
DROP INDEX IF EXISTS audit_entity;
`,
	// 7: the audit index moves to its own database, tenants/<id>.audit-index.db
	// (auditlog_index.go), built again from the log: its commits grew the town's WAL, which
	// every read of the town searches.
	7: `
DROP TABLE IF EXISTS audit_patient;
DROP TABLE IF EXISTS audit_indexed;
DROP TABLE IF EXISTS audit;
`,
	// 8: the encoded index rows move out of the resource table into resource_ix. They made
	// a resource row ≈ 700 bytes, so the rows every search and read looks up by rid spread
	// over ≈ 160,000 pages at 1M resources (≈ 7,000 without): most lookups missed the page
	// cache. The table is copied, not altered, so that its rows are packed again.
	8: `
CREATE TABLE resource_ix (
	rid INTEGER PRIMARY KEY,      -- resource.rid
	ix  BLOB NOT NULL             -- the encoded index rows of the current version
);
INSERT INTO resource_ix (rid, ix) SELECT rid, ix FROM resource WHERE ix IS NOT NULL;
CREATE TABLE resource8 (
	rid     INTEGER PRIMARY KEY,
	type    TEXT NOT NULL,
	id      TEXT NOT NULL,
	ver     INTEGER NOT NULL,
	seq     INTEGER NOT NULL,
	deleted INTEGER NOT NULL,
	ts      INTEGER NOT NULL
);
INSERT INTO resource8 (rid, type, id, ver, seq, deleted, ts) SELECT rid, type, id, ver, seq, deleted, ts FROM resource ORDER BY rid;
DROP TABLE resource;
ALTER TABLE resource8 RENAME TO resource;
CREATE UNIQUE INDEX resource_key ON resource (type, id);
CREATE INDEX resource_live ON resource (type, deleted);
`,
	// 9: each version keeps the method of the request that wrote it (store.Write.Method), so
	// that a history entry names it: a create by PUT, a PATCH. NULL for older versions.
	9: `
ALTER TABLE version ADD COLUMN method TEXT;
`,
}

// connectBusy bounds the retries of a first connection that got SQLITE_BUSY.
const connectBusy = 4 * time.Second

// isBusy reports whether err is SQLITE_BUSY (or one of its extended codes).
func isBusy(err error) bool {
	var e interface{ Code() int }
	return errors.As(err, &e) && e.Code()&0xff == 5
}

// migrate brings db up to the last step of steps. It is safe to run concurrently from several
// processes: BEGIN IMMEDIATE serialises them and each re-reads user_version inside its transaction.
func migrate(ctx context.Context, db *sql.DB, steps []migration) error {
	conn, err := db.Conn(ctx)
	// A connection's first pragmas (journal_mode WAL) get SQLITE_BUSY without waiting while
	// another process opens the new file too: try again for a while.
	for wait := time.Millisecond; isBusy(err) && wait < connectBusy; wait *= 2 {
		time.Sleep(wait)
		conn, err = db.Conn(ctx)
	}
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	var v int
	err = conn.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v)
	last := len(steps) - 1
	switch {
	case err != nil:
	case v > last:
		err = fmt.Errorf("schema version %d is newer than this binary's %d", v, last)
	default:
		for i := v + 1; i <= last && err == nil; i++ {
			if _, err = conn.ExecContext(ctx, string(steps[i])); err != nil {
				err = fmt.Errorf("migration %d: %w", i, err)
			}
		}
		if err == nil && v < last {
			_, err = conn.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", last))
		}
	}
	if err != nil {
		conn.ExecContext(context.Background(), "ROLLBACK")
		return err
	}
	_, err = conn.ExecContext(ctx, "COMMIT")
	return err
}
