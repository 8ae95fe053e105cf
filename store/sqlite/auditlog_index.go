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
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/kodomohub/kodomohub/store"
)

// The index of a tenant's audit log is a database of its own, tenants/<id>.audit-index.db: its
// commits and checkpoints never touch the town's WAL, and it holds nothing the log does not, so
// a missing, damaged or lagging index is rebuilt or caught up from the log.
//
// It is made of blocks: one catch-up transaction indexes up to indexBatch entries as one block
// row (its seqs, the bounds of its frames in the log, the range of its entries' times and each
// frame's length) and one posting row per key that its entries share (an agent, an entity type,
// a patient), listing their seqs and offsets. Entries of one agent or one type share one row per
// block, so an entry costs SQLite about one row, its patient's, instead of one per index.
// Action, outcome, entity id and time are tested on the frames themselves.
var auditIndexMigrations = []migration{
	1: `
CREATE TABLE block (
	lo     INTEGER PRIMARY KEY,  -- the seq of its first entry
	hi     INTEGER NOT NULL,     -- the seq of its last entry
	off    INTEGER NOT NULL,     -- the offset of lo's frame in the log
	endoff INTEGER NOT NULL,     -- the end of hi's frame: where the next block starts
	tmin   INTEGER NOT NULL,     -- the earliest Time of its entries, Unix ms
	tmax   INTEGER NOT NULL,     -- the latest
	sizes  BLOB NOT NULL         -- the length of each of its frames, uvarints in seq order
);
CREATE TABLE posting (
	key  TEXT NOT NULL,          -- 'a' agent, 't' entity type or 'p' patient, then the value
	lo   INTEGER NOT NULL,       -- its block
	refs BLOB NOT NULL,          -- the block's entries with that key: uvarint pairs seq, offset,
	                             -- each less the previous pair (lo, 0 before the first)
	PRIMARY KEY (key, lo)
) WITHOUT ROWID;
`,
}

// Posting keys: a kind byte, then the value.
const (
	keyAgent   = 'a'
	keyType    = 't'
	keyPatient = 'p'
)

// The index's queries (SearchAudit appends the time bounds and the order to the first two).
const (
	postingsSQL = "SELECT p.lo, p.refs FROM posting p CROSS JOIN block b ON b.lo = p.lo WHERE p.key = ? AND p.lo < ?"
	blocksSQL   = "SELECT b.lo, b.off, b.endoff, b.sizes FROM block b WHERE b.lo < ?"
	blockOfSQL  = "SELECT lo, hi, off, endoff, sizes FROM block WHERE lo <= ? ORDER BY lo DESC LIMIT 1"
)

// auditIndex is the open index database of a trail.
type auditIndex struct {
	path string
	w    *sql.DB              // one connection, conn, held by the catch-up (under auditLog.imu)
	conn *sql.Conn            // the write connection
	r    *sql.DB              // reads
	ins  map[string]*sql.Stmt // prepared inserts of posting rows
}

// openAuditIndex opens (creating if needed) the index database at path. A file SQLite does not
// take for a database, or finds damaged, is removed and built again from the log.
func openAuditIndex(ctx context.Context, s *Store, path string) (*auditIndex, error) {
	ix, err := tryOpenAuditIndex(ctx, s, path)
	if err != nil && isCorrupt(err) {
		s.opts.Logger.Warn("store/sqlite: the audit index is damaged; building it again from the log", "path", path, "err", err)
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			if rerr := os.Remove(p); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
				return nil, errors.Join(err, rerr)
			}
		}
		ix, err = tryOpenAuditIndex(ctx, s, path)
	}
	return ix, err
}

func tryOpenAuditIndex(ctx context.Context, s *Store, path string) (*auditIndex, error) {
	w, conn, r, err := s.openDatabase(ctx, path, auditIndexMigrations, 2)
	if err != nil {
		return nil, err
	}
	return &auditIndex{path: path, w: w, conn: conn, r: r, ins: map[string]*sql.Stmt{}}, nil
}

// isCorrupt reports whether err is SQLITE_CORRUPT or SQLITE_NOTADB.
func isCorrupt(err error) bool {
	var e interface{ Code() int }
	return errors.As(err, &e) && (e.Code()&0xff == 11 || e.Code()&0xff == 26)
}

func (ix *auditIndex) close() error {
	for _, st := range ix.ins {
		st.Close()
	}
	return errors.Join(ix.conn.Close(), ix.w.Close(), ix.r.Close())
}

// last returns the last entry indexed and the end of its frame (0 and logStart when none).
func (ix *auditIndex) last(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (seq, end int64, err error) {
	seq, end = 0, logStart
	err = q.QueryRowContext(ctx, "SELECT hi, endoff FROM block ORDER BY lo DESC LIMIT 1").Scan(&seq, &end)
	if errors.Is(err, sql.ErrNoRows) {
		err = nil
	}
	return seq, end, err
}

// posting is the refs of one key in the block being built.
type posting struct {
	key           string
	refs          []byte
	lastSeq, last int64 // the previous pair
}

// blockPostings derives the posting rows of one block from its frames: what indexBatch stores
// and VerifyAuditIndex expects.
type blockPostings struct {
	lo    int64
	posts map[string]*posting
	kb    []byte
}

func newBlockPostings(lo int64) *blockPostings {
	return &blockPostings{lo: lo, posts: map[string]*posting{}}
}

// addFrame files the entry of fr, at offset off, under its agent, entity type and patients.
func (b *blockPostings) addFrame(fr *frame, off int64) {
	etype, _, _ := bytes.Cut(fr.entity, []byte("/"))
	b.add(keyAgent, fr.agent, fr.seq, off)
	b.add(keyType, etype, fr.seq, off)
	fr.patients(func(p []byte) { b.add(keyPatient, p, fr.seq, off) })
}

func (b *blockPostings) add(kind byte, v []byte, seq, off int64) {
	b.kb = append(append(b.kb[:0], kind), v...)
	p := b.posts[string(b.kb)]
	if p == nil {
		p = &posting{key: string(b.kb), lastSeq: b.lo}
		b.posts[p.key] = p
	} else if p.lastSeq == seq {
		return // an entry naming a patient twice
	}
	p.refs = binary.AppendUvarint(p.refs, uint64(seq-p.lastSeq))
	p.refs = binary.AppendUvarint(p.refs, uint64(off-p.last))
	p.lastSeq, p.last = seq, off
}

// indexBatch indexes, in one transaction of the index database, up to indexBatch entries after
// the last block (read inside the transaction: another process may have indexed them) and
// returns the last entry indexed. It runs under imu.
func (al *auditLog) indexBatch(ctx context.Context) (int64, error) {
	ix := al.ix
	if _, err := ix.conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return 0, unavailable("index audit", err)
	}
	done := false
	defer func() {
		if !done {
			ix.conn.ExecContext(context.Background(), "ROLLBACK")
		}
	}()
	seq, off, err := ix.last(ctx, ix.conn)
	if err != nil {
		return 0, unavailable("index audit", err)
	}
	h, err := al.currentHead()
	if err != nil || seq >= h.seq {
		return seq, err
	}
	lo, start := seq+1, off
	tmin, tmax := int64(math.MaxInt64), int64(math.MinInt64)
	var sizes []byte
	bp := newBlockPostings(lo)
	n := 0
	var bad error
	if _, err := al.scan(off, h.end, func(fo int64, fr *frame) (bool, error) {
		if fr.seq != seq+1 {
			bad = fmt.Errorf("%s: entry %d at offset %d follows entry %d", al.path, fr.seq, fo, seq)
			return false, nil
		}
		sizes = binary.AppendUvarint(sizes, uint64(fr.size))
		tmin, tmax = min(tmin, fr.ts), max(tmax, fr.ts)
		bp.addFrame(fr, fo)
		seq, off = fr.seq, fo+fr.size
		n++
		return n < indexBatch, nil
	}); err != nil {
		return 0, unavailable("index audit", err)
	}
	if n == 0 {
		if bad == nil {
			bad = fmt.Errorf("%s ends before entry %d, which its head records", al.path, h.seq)
		}
		al.t.s.opts.Logger.Error("store/sqlite: the audit log cannot be indexed further", "tenant", al.t.id, "after", seq, "err", bad)
		return seq, nil
	}
	if _, err := ix.conn.ExecContext(ctx, "INSERT INTO block (lo, hi, off, endoff, tmin, tmax, sizes) VALUES (?, ?, ?, ?, ?, ?, ?)",
		lo, seq, start, off, tmin, tmax, sizes); err != nil {
		return 0, unavailable("index audit", err)
	}
	keys := make([]*posting, 0, len(bp.posts))
	for _, p := range bp.posts {
		keys = append(keys, p)
	}
	slices.SortFunc(keys, func(a, b *posting) int { return strings.Compare(a.key, b.key) }) // B-tree order
	args := make([]any, 0, 3*min(len(keys), rowsPerInsert))
	for len(keys) > 0 {
		k := min(len(keys), rowsPerInsert)
		args = args[:0]
		for _, p := range keys[:k] {
			args = append(args, p.key, lo, p.refs)
		}
		st, err := ix.insertPostings(ctx, k)
		if err == nil {
			_, err = st.ExecContext(ctx, args...)
		}
		if err != nil {
			return 0, unavailable("index audit", err)
		}
		keys = keys[k:]
	}
	if _, err := ix.conn.ExecContext(ctx, "COMMIT"); err != nil {
		return 0, unavailable("index audit", err)
	}
	done = true
	return seq, nil
}

// insertPostings is the prepared INSERT of n posting rows.
func (ix *auditIndex) insertPostings(ctx context.Context, n int) (*sql.Stmt, error) {
	return prepared(ctx, ix.conn, ix.ins, "INSERT INTO posting (key, lo, refs) VALUES (?, ?, ?)"+strings.Repeat(", (?, ?, ?)", n-1))
}

// ---- searching ----

// auditFilter is an AuditQuery tested on frames.
type auditFilter struct {
	q            store.AuditQuery
	since, until int64 // Unix ms; math.MinInt64 and math.MaxInt64 when unset
	entityID     bool  // q.Entity names a resource (Type/ID), not a type
}

func newAuditFilter(q store.AuditQuery) *auditFilter {
	f := &auditFilter{q: q, since: math.MinInt64, until: math.MaxInt64, entityID: strings.Contains(q.Entity, "/")}
	if !q.Since.IsZero() {
		f.since = q.Since.UnixMilli()
	}
	if !q.Until.IsZero() {
		f.until = q.Until.UnixMilli()
	}
	return f
}

// key is the posting key that drives the search: the patient, else the agent, else the entity's
// type; "" when the query names none of them.
func (f *auditFilter) key() string {
	switch {
	case f.q.Patient != "":
		return string(keyPatient) + f.q.Patient
	case f.q.Agent != "":
		return string(keyAgent) + f.q.Agent
	case f.q.Entity != "":
		etype, _, _ := strings.Cut(f.q.Entity, "/")
		return string(keyType) + etype
	}
	return ""
}

func (f *auditFilter) match(fr *frame) bool {
	q := &f.q
	if fr.ts < f.since || fr.ts >= f.until || q.Agent != "" && string(fr.agent) != q.Agent ||
		q.Action != "" && string(fr.action) != q.Action || q.Outcome != "" && string(fr.outcome) != q.Outcome {
		return false
	}
	if q.Entity != "" {
		if f.entityID {
			if string(fr.entity) != q.Entity {
				return false
			}
		} else if etype, _, _ := bytes.Cut(fr.entity, []byte("/")); string(etype) != q.Entity {
			return false
		}
	}
	if q.Patient != "" {
		found := false
		fr.patients(func(p []byte) { found = found || string(p) == q.Patient })
		return found
	}
	return true
}

// timeSQL is the condition on the block b of the filter's time bounds.
func (f *auditFilter) timeSQL() (string, []any) {
	var where string
	var args []any
	if f.since != math.MinInt64 {
		where, args = where+" AND b.tmax >= ?", append(args, f.since)
	}
	if f.until != math.MaxInt64 {
		where, args = where+" AND b.tmin < ?", append(args, f.until)
	}
	return where, args
}

// search returns up to limit entries matching q with seqs below before, newest first. The index
// must hold every entry below before. With a posting key it reads the frames its postings list;
// otherwise it walks the blocks newest first, reading their frames backwards. Blocks whose times
// lie outside Since and Until are skipped.
func (al *auditLog) search(ctx context.Context, q store.AuditQuery, before int64, limit int) ([]store.AuditEntry, error) {
	f := newAuditFilter(q)
	tw, targs := f.timeSQL()
	var es []store.AuditEntry
	var s slab
	var fr frame
	if key := f.key(); key != "" {
		// CROSS JOIN keeps posting the outer loop: the key's rows, by block, newest first.
		rows, err := al.ix.r.QueryContext(ctx, postingsSQL+tw+" ORDER BY p.lo DESC", append([]any{key, before}, targs...)...)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var buf []byte
		var refs []int64
		for rows.Next() && len(es) < limit {
			var lo int64
			var blob []byte
			if err := rows.Scan(&lo, &blob); err != nil {
				return nil, err
			}
			if refs, err = decodeRefs(refs[:0], blob, lo); err != nil {
				return nil, fmt.Errorf("audit index, block %d: %w", lo, err)
			}
			for i := len(refs) - 2; i >= 0 && len(es) < limit; i -= 2 {
				seq, off := refs[i], refs[i+1]
				if seq >= before {
					continue
				}
				if buf, err = al.frameAt(buf, off, seq, &fr); err != nil {
					return nil, err
				}
				if f.match(&fr) {
					es = append(es, fr.entry(&s))
				}
			}
		}
		return es, rows.Err()
	}
	rows, err := al.ix.r.QueryContext(ctx, blocksSQL+tw+" ORDER BY b.lo DESC",
		append([]any{before}, targs...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var offs []int64
	br := backReader{f: al.log}
	for rows.Next() && len(es) < limit {
		var lo, off, end int64
		var sizes []byte
		if err := rows.Scan(&lo, &off, &end, &sizes); err != nil {
			return nil, err
		}
		if offs, err = decodeSizes(offs[:0], sizes, off, end); err != nil {
			return nil, fmt.Errorf("audit index, block %d: %w", lo, err)
		}
		br.lo = off
		for i := min(len(offs)-2, int(before-lo-1)); i >= 0 && len(es) < limit; i-- {
			b, err := br.read(offs[i], offs[i+1])
			if err != nil {
				return nil, err
			}
			if !decodeFrame(b, &fr) || fr.seq != lo+int64(i) {
				return nil, fmt.Errorf("%s: no entry %d at offset %d, where the index says", al.path, lo+int64(i), offs[i])
			}
			if f.match(&fr) {
				es = append(es, fr.entry(&s))
			}
		}
	}
	return es, rows.Err()
}

// decodeRefs appends the seq, offset pairs of a posting to dst.
func decodeRefs(dst []int64, b []byte, lo int64) ([]int64, error) {
	seq, off := lo, int64(0)
	for len(b) > 0 {
		ds, k := binary.Uvarint(b)
		if k <= 0 {
			return dst, errors.New("bad posting")
		}
		do, k2 := binary.Uvarint(b[k:])
		if k2 <= 0 {
			return dst, errors.New("bad posting")
		}
		b = b[k+k2:]
		seq, off = seq+int64(ds), off+int64(do)
		dst = append(dst, seq, off)
	}
	return dst, nil
}

// decodeSizes appends the offset of each frame of a block, then the block's end, to dst.
func decodeSizes(dst []int64, b []byte, off, end int64) ([]int64, error) {
	for len(b) > 0 {
		n, k := binary.Uvarint(b)
		if k <= 0 {
			return dst, errors.New("bad sizes")
		}
		b = b[k:]
		dst = append(dst, off)
		off += int64(n)
	}
	if off != end {
		return dst, fmt.Errorf("its frames end at %d, not %d", off, end)
	}
	return append(dst, end), nil
}

// frameAt reads the frame at off into buf and decodes it into fr; it must hold entry seq.
func (al *auditLog) frameAt(buf []byte, off, seq int64, fr *frame) ([]byte, error) {
	if cap(buf) < 1024 {
		buf = make([]byte, 1024)
	}
	buf = buf[:cap(buf)]
	n, err := al.log.ReadAt(buf, off)
	if n >= frameHead {
		if size := frameHead + int(binary.BigEndian.Uint32(buf)); size <= maxFrame+frameHead {
			if size > n {
				buf = make([]byte, size)
				n, err = al.log.ReadAt(buf, off)
			}
			if size <= n && decodeFrame(buf[:size], fr) && fr.seq == seq {
				return buf, nil
			}
		}
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return buf, err
	}
	return buf, fmt.Errorf("%s: no entry %d at offset %d, where the index says", al.path, seq, off)
}

// backReader reads the frames of a block from its end backwards, in chunks of up to scanChunk
// bytes, none before lo.
type backReader struct {
	f     *os.File
	lo    int64
	buf   []byte
	start int64 // buf holds the file from start on
}

// read returns the bytes [off, end) of the file.
func (r *backReader) read(off, end int64) ([]byte, error) {
	if off >= r.start && end <= r.start+int64(len(r.buf)) {
		return r.buf[off-r.start : end-r.start], nil
	}
	start := max(r.lo, min(off, end-scanChunk))
	if cap(r.buf) < int(end-start) {
		r.buf = make([]byte, end-start)
	}
	r.buf = r.buf[:end-start]
	if _, err := r.f.ReadAt(r.buf, start); err != nil {
		r.buf = r.buf[:0]
		return nil, err
	}
	r.start = start
	return r.buf[off-start:], nil
}

// ---- verifying ----

// keyName says what a posting key files entries under, for a report.
func keyName(key string) string {
	if key == "" {
		return "an empty key"
	}
	kind := map[byte]string{keyAgent: "agent", keyType: "entity type", keyPatient: "patient"}[key[0]]
	if kind == "" {
		kind = fmt.Sprintf("unknown key kind %q", key[0])
	}
	return fmt.Sprintf("%s %q", kind, key[1:])
}

// verifyIndex compares the index database with the log up to the head, in one read
// transaction: the blocks must follow each other from entry 1 and from the log's first frame,
// each block's frame lengths and time range must be its frames', and its posting rows must be
// exactly those blockPostings derives from its frames. It reads the log once, and the posting
// rows in block order (SQLite sorts them: the table's key leads with the key, not the block).
// Entries after the last block are not indexed yet: not a mismatch. The head is read once the
// transaction's snapshot is taken: every block in it was indexed up to a head no later.
func (al *auditLog) verifyIndex(ctx context.Context) error {
	conn, err := al.ix.r.Conn(ctx)
	if err != nil {
		return unavailable("VerifyAuditIndex", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
		return unavailable("VerifyAuditIndex", err)
	}
	defer conn.ExecContext(context.Background(), "ROLLBACK")
	type block struct {
		lo, hi, off, end, tmin, tmax int64
		sizes                        []byte
	}
	var blocks []block
	rows, err := conn.QueryContext(ctx, "SELECT lo, hi, off, endoff, tmin, tmax, sizes FROM block ORDER BY lo")
	if err != nil {
		return unavailable("VerifyAuditIndex", err)
	}
	for rows.Next() {
		var b block
		if err := rows.Scan(&b.lo, &b.hi, &b.off, &b.end, &b.tmin, &b.tmax, &b.sizes); err != nil {
			rows.Close()
			return unavailable("VerifyAuditIndex", err)
		}
		blocks = append(blocks, b)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return unavailable("VerifyAuditIndex", err)
	}
	h, err := al.currentHead()
	if err != nil {
		return err
	}
	posts, err := conn.QueryContext(ctx, "SELECT lo, key, refs FROM posting ORDER BY lo, key")
	if err != nil {
		return unavailable("VerifyAuditIndex", err)
	}
	defer posts.Close()
	// The posting stream, one row ahead.
	var (
		row struct {
			lo   int64
			key  string
			refs []byte
		}
		more  = posts.Next()
		rerr  error
		found store.AuditIndexError
	)
	readRow := func() {
		if more {
			if rerr = posts.Scan(&row.lo, &row.key, &row.refs); rerr != nil {
				more = false
			}
		}
	}
	advance := func() { more = posts.Next(); readRow() }
	readRow()
	// stray reports the posting rows of blocks that do not exist, below lo.
	stray := func(lo int64) {
		for more && row.lo < lo {
			refs, _ := decodeRefs(nil, row.refs, row.lo)
			for i := 0; i < len(refs); i += 2 {
				found.Add("entry %d: filed under %s in block %d, which the index does not have", refs[i], keyName(row.key), row.lo)
			}
			if len(refs) == 0 {
				found.Add("an empty posting row of %s in block %d, which the index does not have", keyName(row.key), row.lo)
			}
			advance()
		}
	}
	nextLo, nextOff := int64(1), logStart
	var offs, want, got []int64
	for _, b := range blocks {
		stray(b.lo)
		switch {
		case b.lo != nextLo || b.off != nextOff:
			found.Add("block %d…%d starts at offset %d; the log's entry %d starts at %d", b.lo, b.hi, b.off, nextLo, nextOff)
		case b.hi < b.lo:
			found.Add("block %d ends at entry %d, before its first", b.lo, b.hi)
		case b.hi > h.seq:
			found.Add("entries %d…%d: in the index (block %d) but not in the trail, whose head is entry %d", max(b.lo, h.seq+1), b.hi, b.lo, h.seq)
		}
		if offs, err = decodeSizes(offs[:0], b.sizes, b.off, b.end); err != nil || int64(len(offs)-1) != b.hi-b.lo+1 {
			found.Add("block %d…%d: its frame lengths do not describe its %d entries (%v)", b.lo, b.hi, b.hi-b.lo+1, err)
			offs = offs[:0]
		}
		// The block's frames, as the log holds them.
		bp := newBlockPostings(b.lo)
		tmin, tmax := int64(math.MaxInt64), int64(math.MinInt64)
		seq, i := b.lo-1, 0
		end := min(b.end, h.end)
		if _, err := al.scan(b.off, end, func(fo int64, fr *frame) (bool, error) {
			if fr.seq != seq+1 || fr.seq > b.hi {
				return false, nil
			}
			if i+1 < len(offs) && (offs[i] != fo || offs[i+1] != fo+fr.size) {
				found.Add("entry %d: the index (block %d) puts its frame at %d…%d, the log at %d…%d", fr.seq, b.lo, offs[i], offs[i+1], fo, fo+fr.size)
			}
			tmin, tmax = min(tmin, fr.ts), max(tmax, fr.ts)
			bp.addFrame(fr, fo)
			seq, i = fr.seq, i+1
			return true, nil
		}); err != nil {
			return unavailable("VerifyAuditIndex", err)
		}
		if seq < min(b.hi, h.seq) {
			found.Add("entries %d…%d of block %d: not in the log where the index says (%d…%d)", seq+1, min(b.hi, h.seq), b.lo, b.off, b.end)
		}
		if seq == b.hi && (tmin != b.tmin || tmax != b.tmax) {
			found.Add("block %d…%d: time range %d…%d, its entries' %d…%d", b.lo, b.hi, b.tmin, b.tmax, tmin, tmax)
		}
		// Its posting rows, against those its frames make.
		seen := map[string]bool{}
		for more && row.lo == b.lo {
			seen[row.key] = true
			got, err = decodeRefs(got[:0], row.refs, b.lo)
			if err != nil {
				found.Add("block %d: the posting row of %s does not decode", b.lo, keyName(row.key))
			}
			want = want[:0]
			if p := bp.posts[row.key]; p != nil {
				want, _ = decodeRefs(want, p.refs, b.lo)
			}
			diffRefs(&found, b.lo, row.key, want, got)
			advance()
		}
		for key, p := range bp.posts {
			if !seen[key] {
				want, _ = decodeRefs(want[:0], p.refs, b.lo)
				diffRefs(&found, b.lo, key, want, nil)
			}
		}
		nextLo, nextOff = b.hi+1, b.end
	}
	stray(math.MaxInt64)
	if rerr == nil {
		rerr = posts.Err()
	}
	if rerr != nil {
		return unavailable("VerifyAuditIndex", rerr)
	}
	return found.Err()
}

// diffRefs reports how the (seq, offset) pairs a posting row of block lo holds (got) differ
// from those its entries make (want); both are in seq order.
func diffRefs(found *store.AuditIndexError, lo int64, key string, want, got []int64) {
	i, j := 0, 0
	for i < len(want) || j < len(got) {
		switch {
		case j == len(got) || i < len(want) && want[i] < got[j]:
			found.Add("entry %d: missing from the index under %s (block %d)", want[i], keyName(key), lo)
			i += 2
		case i == len(want) || got[j] < want[i]:
			found.Add("entry %d: filed under %s (block %d), which it does not name", got[j], keyName(key), lo)
			j += 2
		default:
			if want[i+1] != got[j+1] {
				found.Add("entry %d: filed under %s (block %d) at offset %d, its frame is at %d", want[i], keyName(key), lo, got[j+1], want[i+1])
			}
			i, j = i+2, j+2
		}
	}
}
