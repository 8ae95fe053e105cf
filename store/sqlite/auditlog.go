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
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kodomohub/kodomohub/store"
)

// A tenant's audit trail is an append-only file, tenants/<id>.audit, with its head kept apart
// in tenants/<id>.audit-head; the audit tables of the tenant database only index the file (see
// doc.go, "Audit trail").
//
// The log file:
//
//	file   = magic frame*
//	magic  = "khaudit" 0x01
//	frame  = len:u32 crc:u32 body          big-endian; len = len(body), crc = CRC-32C(body)
//	body   = seq:u64 ts:i64 hash:[32]u8 flags:u8 agent entity action outcome
//	         npatients:uvarint patient* record [seal]
//	string = n:uvarint n bytes             (agent, entity, action, outcome, patient)
//	record = the rest of the body (before the seal): the caller's bytes
//	flags  = 1 on the last entry of an AppendAudit call, | 2 when the body ends with a seal
//	seal   = time:i64 mac:[32]u8           on the last entry of a group written with the audit
//	                                       key: the seal of the head that commits the group
//
// The head file holds two slots of headSlot bytes; a slot is
//
//	"khah" crc:u32 gen:u64 seq:u64 off:u64 end:u64 hash:[32]u8      crc = CRC-32C(bytes 8…71)
//
// or, sealed (written by a store with the audit key, store.AuditSeal),
//
//	"khas" crc:u32 gen:u64 seq:u64 off:u64 end:u64 hash:[32]u8 time:i64 from:u64 fromTime:i64
//	mac:[32]u8                                                     crc = CRC-32C(bytes 8…127)
//
// and the valid slot of the higher gen is the head: seq and hash of the last entry committed,
// off and end the bounds of its frame. An update writes the next gen into the other slot, so a
// torn or concurrent write leaves the previous head readable. mac is store.AuditKey.MAC of
// (seq, hash, time, from, fromTime); times are Unix ms.
const (
	auditMagic  = "khaudit\x01"
	frameHead   = 8              // len, crc
	bodyFixed   = 8 + 8 + 32 + 1 // seq, ts, hash, flags
	maxFrame    = 64 << 20       // a longer len is not a frame
	flagLast    = 1
	flagSealed  = 2
	sealSize    = 8 + 32 // time, mac
	headMagic   = "khah"
	sealedMagic = "khas"
	headSlot    = 128
	headSize    = 72                     // an unsealed slot
	sealedSize  = headSlot               // a sealed one
	logStart    = int64(len(auditMagic)) // the offset of the first frame
	scanChunk   = 256 << 10              // reads of AuditEntries and of the indexer
	appendBatch = 4096                   // entries one write of a leader takes at most
)

var (
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
	chunkPool  = sync.Pool{New: func() any { b := make([]byte, scanChunk); return &b }}
)

// Indexing: the background indexer of a process catches up when this many entries it appended
// are not indexed, or indexDelay after the first of them; one transaction of the index database
// indexes at most indexBatch entries as one block. A block writes one posting row per patient,
// agent and type its entries name, each on its own B-tree page of the (key, block) order, so
// the cost of a block grows with the distinct keys, not with its entries: under the search
// benchmark (1M resources, 10,000 children, ≈ 1,700 audited searches a second naming up to 50
// children each), blocks of a second's entries cost 7.7 % of the server's CPU. Blocks are
// therefore large and seldom; SearchAudit catches up first, so a search still sees every entry.
const (
	indexEvery = 65536
	indexDelay = 30 * time.Second
	indexBatch = 65536
)

// auditHead is a slot of the head file.
type auditHead struct {
	gen  uint64
	seq  int64
	off  int64 // start of the frame of seq (0 when seq is 0)
	end  int64 // end of that frame: the committed length of the log
	hash [32]byte

	// The seal (store.AuditSeal), when sealed: times in Unix ms.
	sealed         bool
	time           int64
	from, fromTime int64
	mac            [32]byte
}

// emptyHead is the head of a trail without entries.
var emptyHead = auditHead{end: logStart}

func (h *auditHead) encode() []byte {
	size, magic := headSize, headMagic
	if h.sealed {
		size, magic = sealedSize, sealedMagic
	}
	b := make([]byte, size)
	copy(b, magic)
	binary.BigEndian.PutUint64(b[8:], h.gen)
	binary.BigEndian.PutUint64(b[16:], uint64(h.seq))
	binary.BigEndian.PutUint64(b[24:], uint64(h.off))
	binary.BigEndian.PutUint64(b[32:], uint64(h.end))
	copy(b[40:72], h.hash[:])
	if h.sealed {
		binary.BigEndian.PutUint64(b[72:], uint64(h.time))
		binary.BigEndian.PutUint64(b[80:], uint64(h.from))
		binary.BigEndian.PutUint64(b[88:], uint64(h.fromTime))
		copy(b[96:128], h.mac[:])
	}
	binary.BigEndian.PutUint32(b[4:], crc32.Checksum(b[8:], castagnoli))
	return b
}

// decodeHead decodes the slot at the start of b (which may run on past it).
func decodeHead(b []byte) (auditHead, bool) {
	if len(b) < headSize {
		return auditHead{}, false
	}
	size := headSize
	switch string(b[:4]) {
	case headMagic:
	case sealedMagic:
		size = sealedSize
	default:
		return auditHead{}, false
	}
	if len(b) < size || binary.BigEndian.Uint32(b[4:]) != crc32.Checksum(b[8:size], castagnoli) {
		return auditHead{}, false
	}
	h := auditHead{gen: binary.BigEndian.Uint64(b[8:]), seq: int64(binary.BigEndian.Uint64(b[16:])),
		off: int64(binary.BigEndian.Uint64(b[24:])), end: int64(binary.BigEndian.Uint64(b[32:]))}
	copy(h.hash[:], b[40:72])
	if size == sealedSize {
		h.sealed = true
		h.time, h.from = int64(binary.BigEndian.Uint64(b[72:])), int64(binary.BigEndian.Uint64(b[80:]))
		h.fromTime = int64(binary.BigEndian.Uint64(b[88:]))
		copy(h.mac[:], b[96:128])
	}
	return h, h.gen > 0 && h.seq >= 0 && h.end >= logStart
}

// seal returns h as the contract's AuditSeal (MAC nil when h is not sealed).
func (h *auditHead) seal() store.AuditSeal {
	s := store.AuditSeal{Seq: h.seq, Hash: bytes.Clone(h.hash[:])}
	if h.sealed {
		s.Time, s.From, s.FromTime = time.UnixMilli(h.time).UTC(), h.from, time.UnixMilli(h.fromTime).UTC()
		s.MAC = bytes.Clone(h.mac[:])
	}
	return s
}

// frame is one decoded frame; its slices point into the buffer it was read from.
type frame struct {
	size                           int64 // frame length, header included
	crcOK                          bool
	seq, ts                        int64
	hash                           []byte
	flags                          byte
	agent, entity, action, outcome []byte
	npat                           int
	pats                           []byte // the patient strings, encoded
	record                         []byte
	seal                           []byte // time and mac when flags has flagSealed, else nil
}

// decodeFrame decodes the frame at the start of b, which holds all of it.
func decodeFrame(b []byte, fr *frame) bool {
	body := b[frameHead:]
	if len(body) < bodyFixed {
		return false
	}
	fr.size = int64(len(b))
	fr.crcOK = binary.BigEndian.Uint32(b[4:]) == crc32.Checksum(body, castagnoli)
	fr.seq, fr.ts = int64(binary.BigEndian.Uint64(body)), int64(binary.BigEndian.Uint64(body[8:]))
	fr.hash, fr.flags = body[16:48:48], body[48]
	fr.seal = nil
	if fr.flags&flagSealed != 0 {
		if len(body) < bodyFixed+sealSize {
			return false
		}
		fr.seal = body[len(body)-sealSize:]
		body = body[:len(body)-sealSize]
	}
	rest := body[bodyFixed:]
	str := func() ([]byte, bool) {
		n, k := binary.Uvarint(rest)
		if k <= 0 || n > uint64(len(rest)-k) {
			return nil, false
		}
		s := rest[k : k+int(n)]
		rest = rest[k+int(n):]
		return s, true
	}
	var ok [4]bool
	fr.agent, ok[0] = str()
	fr.entity, ok[1] = str()
	fr.action, ok[2] = str()
	fr.outcome, ok[3] = str()
	if ok != [4]bool{true, true, true, true} {
		return false
	}
	n, k := binary.Uvarint(rest)
	if k <= 0 || n > uint64(len(rest)-k) {
		return false
	}
	rest = rest[k:]
	pats := rest
	for range n {
		if _, good := str(); !good {
			return false
		}
	}
	fr.npat, fr.pats = int(n), pats[:len(pats)-len(rest)]
	fr.record = rest
	return true
}

// patients calls fn with each patient of fr.
func (fr *frame) patients(fn func(p []byte)) {
	rest := fr.pats
	for range fr.npat {
		n, k := binary.Uvarint(rest)
		fn(rest[k : k+int(n)])
		rest = rest[k+int(n):]
	}
}

// entry copies fr into an AuditEntry; record and hash bytes go to the slab.
func (fr *frame) entry(s *slab) store.AuditEntry {
	e := store.AuditEntry{Seq: fr.seq, Time: time.UnixMilli(fr.ts).UTC(), Record: s.copy(fr.record), Hash: s.copy(fr.hash),
		Agent: string(fr.agent), Entity: string(fr.entity), Action: string(fr.action), Outcome: string(fr.outcome)}
	if fr.npat > 0 {
		e.Patients = make([]string, 0, fr.npat)
		fr.patients(func(p []byte) { e.Patients = append(e.Patients, string(p)) })
	}
	return e
}

// slab hands out copies of small byte slices from larger allocations (capacity capped, so an
// append by the caller cannot overwrite a neighbour).
type slab struct{ b []byte }

func (s *slab) copy(p []byte) []byte {
	if cap(s.b)-len(s.b) < len(p) {
		s.b = make([]byte, 0, max(64<<10, len(p)))
	}
	n := len(s.b)
	s.b = append(s.b, p...)
	return s.b[n:len(s.b):len(s.b)]
}

// appendFrame appends the frame of e to dst, seq, hash and crc left zero for sealFrame.
func appendFrame(dst []byte, e *store.AuditEntry, flags byte) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, frameHead+8)...) // len, crc, seq
	dst = binary.BigEndian.AppendUint64(dst, uint64(e.Time.UnixMilli()))
	dst = append(dst, make([]byte, 32)...) // hash
	dst = append(dst, flags)
	for _, s := range [...]string{e.Agent, e.Entity, e.Action, e.Outcome} {
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		dst = append(dst, s...)
	}
	dst = binary.AppendUvarint(dst, uint64(len(e.Patients)))
	for _, p := range e.Patients {
		dst = binary.AppendUvarint(dst, uint64(len(p)))
		dst = append(dst, p...)
	}
	dst = append(dst, e.Record...)
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start-frameHead))
	return dst
}

// frameSize bounds the length of the frame of e.
func frameSize(e *store.AuditEntry) int {
	n := frameHead + bodyFixed + 6*binary.MaxVarintLen64 + len(e.Agent) + len(e.Entity) + len(e.Action) + len(e.Outcome) + len(e.Record)
	for _, p := range e.Patients {
		n += binary.MaxVarintLen64 + len(p)
	}
	return n
}

// sealFrame sets the seq and hash of a frame and its CRC.
func sealFrame(fr []byte, seq int64, hash []byte) {
	binary.BigEndian.PutUint64(fr[frameHead:], uint64(seq))
	copy(fr[frameHead+16:frameHead+48], hash)
	binary.BigEndian.PutUint32(fr[4:], crc32.Checksum(fr[frameHead:], castagnoli))
}

// appendSeal appends the seal of h to the frame that starts at buf[start:] and ends buf, and
// sets its flag, length and CRC.
func appendSeal(buf []byte, start int, h *auditHead) []byte {
	buf = binary.BigEndian.AppendUint64(buf, uint64(h.time))
	buf = append(buf, h.mac[:]...)
	fr := buf[start:]
	fr[frameHead+48] |= flagSealed
	binary.BigEndian.PutUint32(fr, uint32(len(fr)-frameHead))
	binary.BigEndian.PutUint32(fr[4:], crc32.Checksum(fr[frameHead:], castagnoli))
	return buf
}

// frameSeal returns the head that the seal of fr commits, after view (whose origin it keeps),
// at the frame's bounds off…off+fr.size.
func frameSeal(view auditHead, fr *frame, off int64) auditHead {
	h := view
	h.seq, h.off, h.end = fr.seq, off, off+fr.size
	copy(h.hash[:], fr.hash)
	h.time = int64(binary.BigEndian.Uint64(fr.seal))
	copy(h.mac[:], fr.seal[8:])
	return h
}

// auditLog is a tenant's open audit trail: the two files, the queue of appends and the
// background indexer. Readers use the files directly (pread).
type auditLog struct {
	t                 *tenantDB
	path, headPath    string
	log               *os.File
	head              *os.File        // nil while the head file is missing
	hmap              []byte          // the head file's slots mapped (nil: read and written with pread and pwrite)
	full              bool            // Options.Synchronous FULL or EXTRA: fdatasync the log before the head
	key               *store.AuditKey // Options.AuditKey: seals heads (nil: the store has no key)
	appended, indexed atomic.Int64    // the last seq this process committed or saw; the last seq known indexed

	// The appends waiting, and whether one of their callers leads (writes them).
	mu      sync.Mutex
	queue   []*auditReq
	leading bool
	closed  bool
	idle    sync.Cond // signalled when leading becomes false

	// The leader's state, touched only by the leader (and by openAuditLog before any).
	view    auditHead // the head as this process last committed or read it
	broken  error     // set when the log was cut or replaced: every append fails from then on
	checked time.Time // the last checkPaths
	buf     []byte
	sha     hash.Hash

	ix     *auditIndex // the index database (auditlog_index.go)
	imu    sync.Mutex  // one index catch-up at a time in this process
	kick   chan struct{}
	armed  atomic.Bool        // the indexer has its timer set
	cancel context.CancelFunc // stops the indexer
	idone  chan struct{}

	hmu              sync.Mutex
	hintSeq, hintOff int64 // AuditEntries: the frame of hintSeq starts at hintOff
}

// auditReq is one AppendAudit waiting in the queue.
type auditReq struct {
	entries []store.AuditEntry // Seq and Hash set by the leader
	buf     []byte             // their frames, back to back
	ends    []int              // the end of each frame in buf
	state   atomic.Int32       // reqQueued → reqTaken, reqAbandoned (by its caller) or reqPromoted
	err     error
	done    chan struct{} // closed once written (or failed)
	promote chan struct{} // closed when its caller is to lead
}

// reqPromoted: the caller of a queued append is to lead (after reqQueued, reqTaken, reqAbandoned).
const reqPromoted = reqAbandoned + 1

// leadFlushes bounds the groups a leader writes after its own before it hands the lead to the
// caller of the first append waiting.
const leadFlushes = 4

// auditLog returns the tenant's audit trail, opening it at first use.
func (t *tenantDB) auditLog(ctx context.Context) (*auditLog, error) {
	if al := t.audit.Load(); al != nil {
		return al, nil
	}
	t.amu.Lock()
	defer t.amu.Unlock()
	if al := t.audit.Load(); al != nil {
		return al, nil
	}
	if t.auditClosed {
		return nil, fmt.Errorf("store/sqlite: closed: %w", store.ErrUnavailable)
	}
	al, err := openAuditLog(ctx, t)
	if err != nil {
		return nil, unavailable("open audit log of "+t.id, err)
	}
	t.audit.Store(al)
	return al, nil
}

// closeAudit waits for the appends queued, stops the indexer and closes the files.
func (t *tenantDB) closeAudit() error {
	t.amu.Lock()
	t.auditClosed = true
	al := t.audit.Load()
	t.amu.Unlock()
	if al == nil {
		return nil
	}
	return al.close()
}

func openAuditLog(ctx context.Context, t *tenantDB) (*auditLog, error) {
	dir := filepath.Join(t.s.dir, "tenants")
	al := &auditLog{t: t, path: filepath.Join(dir, t.id+".audit"), headPath: filepath.Join(dir, t.id+".audit-head"),
		full: t.s.opts.Synchronous != "NORMAL", key: t.s.opts.AuditKey, sha: sha256.New(), kick: make(chan struct{}, 1),
		idone: make(chan struct{})}
	al.idle.L = &al.mu
	var err error
	if al.log, err = os.OpenFile(al.path, os.O_RDWR|os.O_CREATE, 0o640); err != nil {
		return nil, err
	}
	if err := al.lock(); err != nil {
		al.log.Close()
		return nil, err
	}
	legacy, err := al.start(ctx)
	if err == nil {
		err = al.sync()
	}
	if err == nil && al.key != nil && !al.view.sealed {
		err = al.sealFirst()
	}
	al.unlock()
	if err != nil && al.broken == nil {
		al.closeFiles()
		return nil, err
	}
	if al.head != nil {
		// A head update is then a store to memory, not a pwrite (the kernel writes the page
		// back as it would a written one); without the mapping, pwrite.
		if al.hmap, err = mapHead(al.head); err != nil {
			al.hmap = nil
		}
	}
	if legacy {
		// The trail of migration 4 is in the log now; its tables go (another process may have
		// dropped them already).
		if err := t.submit(ctx, &request{op: "AppendAudit", fn: func(ctx context.Context) error {
			return errors.Join(t.exec(ctx, "DROP TABLE IF EXISTS audit_v4"), t.exec(ctx, "DROP TABLE IF EXISTS audit_head_v4"))
		}}); err != nil {
			al.closeFiles()
			return nil, err
		}
	}
	if al.ix, err = openAuditIndex(ctx, t.s, filepath.Join(dir, t.id+".audit-index.db")); err != nil {
		al.closeFiles()
		return nil, err
	}
	indexed, _, err := al.ix.last(ctx, al.ix.r)
	if err != nil {
		al.ix.close()
		al.closeFiles()
		return nil, err
	}
	al.indexed.Store(indexed)
	al.appended.Store(al.view.seq)
	ictx, cancel := context.WithCancel(context.Background())
	al.cancel = cancel
	go al.runIndexer(ictx)
	if al.view.seq > indexed {
		al.kick <- struct{}{}
	}
	return al, nil
}

func (al *auditLog) closeFiles() {
	if al.hmap != nil {
		unmapHead(al.hmap)
	}
	al.log.Close()
	if al.head != nil {
		al.head.Close()
	}
}

func (al *auditLog) close() error {
	al.mu.Lock()
	al.closed = true
	for al.leading {
		al.idle.Wait() // the appends queued are written first
	}
	al.mu.Unlock()
	al.cancel()
	<-al.idone
	al.closeFiles()
	return al.ix.close()
}

// lock takes the exclusive lock of the log file, shared with every process appending to it,
// waiting up to Options.BusyTimeout.
func (al *auditLog) lock() error {
	var deadline time.Time
	for wait := 50 * time.Microsecond; ; wait = min(2*wait, 2*time.Millisecond) {
		ok, err := tryLockFile(al.log)
		if ok || err != nil {
			return err
		}
		if deadline.IsZero() {
			deadline = time.Now().Add(al.t.s.opts.BusyTimeout)
		} else if time.Now().After(deadline) {
			return fmt.Errorf("%s is locked by another process", al.path)
		}
		time.Sleep(wait)
	}
}

func (al *auditLog) unlock() { unlockFile(al.log) }

// start opens the head file, or creates the trail when there is none: empty, or with the
// entries of the migration-4 tables (legacy reports that those tables are to be dropped). It
// runs under the lock.
func (al *auditLog) start(ctx context.Context) (legacy bool, err error) {
	// One read transaction: another process may drop the tables of migration 4 meanwhile.
	db, err := al.t.r.Conn(ctx)
	if err != nil {
		return false, err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "BEGIN"); err != nil {
		return false, err
	}
	defer db.ExecContext(context.Background(), "ROLLBACK")
	err = db.QueryRowContext(ctx, "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'audit_v4'").Scan(&legacy)
	if err != nil {
		return false, err
	}
	head, err := os.OpenFile(al.headPath, os.O_RDWR, 0)
	if err == nil {
		al.head = head
		if !legacy {
			return false, nil
		}
		// Left over from an export interrupted before the drop: its entries must be in the log.
		var last int64
		if err := db.QueryRowContext(ctx, "SELECT coalesce(max(seq), 0) FROM audit_v4").Scan(&last); err != nil {
			return false, err
		}
		if h, _, err := readHead(head); err != nil || h.seq < last {
			return false, fmt.Errorf("audit_v4 holds entries up to %d that %s lacks (head at %d, %v): not migrated", last, al.path, h.seq, err)
		}
		return true, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return false, err
	}
	fi, err := al.log.Stat()
	if err != nil {
		return false, err
	}
	if fi.Size() > logStart && !legacy {
		// Entries without a head: the head file was removed. Readers see nothing they can
		// verify and appends are refused.
		return false, al.fail(fmt.Errorf("%s holds %d bytes but its head file %s is missing", al.path, fi.Size(), al.headPath))
	}
	// A new trail, or one whose creation was interrupted (the head is written last).
	if err := al.log.Truncate(0); err != nil {
		return false, err
	}
	if _, err := al.log.WriteAt([]byte(auditMagic), 0); err != nil {
		return false, err
	}
	h := emptyHead
	if legacy {
		if h, err = al.export(ctx, db); err != nil {
			return false, err
		}
	}
	h.gen = 1
	if al.key != nil {
		// Sealed from here on: from its first entry for a new trail, from the last migrated
		// one for the trail of migration 4.
		al.sealHead(&h, h.seq)
	}
	if err := al.log.Sync(); err != nil {
		return false, err
	}
	return legacy, al.createHead(h)
}

// sealHead seals h with the store's key at the store's clock, beginning the seal at from (now)
// when h is not sealed yet.
func (al *auditLog) sealHead(h *auditHead, from int64) {
	now := al.t.s.opts.Now().UnixMilli()
	if !h.sealed {
		h.sealed, h.from, h.fromTime = true, from, now
	}
	h.time = now
	copy(h.mac[:], al.key.MAC(al.t.id, h.seal()))
}

// checkSeal checks a head read from the file before this process takes it: with a key, a sealed
// head must verify, and a head once sealed stays so.
func (al *auditLog) checkSeal(h auditHead) error {
	switch {
	case al.key == nil:
		return nil // a store without the key does not append to a sealed trail (write)
	case h.sealed && !al.key.Verify(al.t.id, h.seal()):
		return fmt.Errorf("%s: the head (entry %d) does not verify under the audit key: it was rewritten, or the key is not this trail's",
			al.headPath, h.seq)
	case !h.sealed && al.view.sealed:
		return fmt.Errorf("%s: the head (entry %d) lost its seal", al.headPath, h.seq)
	}
	return nil
}

// sealFirst seals the head of a trail written without the key (an older hub, or a store opened
// without one), once, under the lock: the entries up to it were protected by the chain alone
// until now, which the seal records (from, fromTime). It refuses when the log holds a sealed
// frame: then the head's seal was removed, and sealing the head again would cover a cut.
func (al *auditLog) sealFirst() error {
	fi, err := al.log.Stat()
	if err != nil {
		return err
	}
	var sealed int64
	if _, err := al.scan(logStart, fi.Size(), func(_ int64, fr *frame) (bool, error) {
		if fr.flags&flagSealed != 0 {
			sealed = fr.seq
			return false, nil
		}
		return true, nil
	}); err != nil {
		return err
	}
	if sealed > 0 {
		return al.fail(fmt.Errorf("%s is not sealed, but its log holds entry %d sealed with the audit key: the head's seal was removed; not sealing it again",
			al.headPath, sealed))
	}
	h := al.view
	h.gen++
	al.sealHead(&h, h.seq)
	if err := al.writeHead(h); err != nil {
		return err
	}
	al.view = h
	al.t.s.opts.Logger.Warn("store/sqlite: sealed the audit head with the audit key; the entries up to it were covered by the chain alone until now",
		"tenant", al.t.id, "seq", h.seq)
	return nil
}

// createHead writes the first head file: a temporary file renamed into place, so that the head
// file exists only complete.
func (al *auditLog) createHead(h auditHead) error {
	tmp := al.headPath + ".tmp"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	b := make([]byte, 2*headSlot)
	copy(b[int(h.gen%2)*headSlot:], h.encode())
	if _, err = f.WriteAt(b, 0); err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = os.Rename(tmp, al.headPath)
	}
	if err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	syncDir(filepath.Dir(al.headPath))
	al.head = f
	return nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync() // not possible everywhere; the files themselves are synced
		d.Close()
	}
}

// export writes the entries of the migration-4 table audit_v4 to the empty log (as stored:
// their hashes are copied, not recomputed) and returns the head to write. The table must end at
// its head (audit_head_v4), else nothing is migrated.
func (al *auditLog) export(ctx context.Context, db *sql.Conn) (auditHead, error) {
	h := emptyHead
	var buf []byte
	for {
		rows, err := db.QueryContext(ctx, `SELECT seq, hash, ts, record, agent, patients, entity, action, outcome
			FROM audit_v4 WHERE seq > ? ORDER BY seq LIMIT 4096`, h.seq)
		if err != nil {
			return h, err
		}
		buf = buf[:0]
		n := 0
		pos := h.end
		for rows.Next() {
			var e store.AuditEntry
			var ts int64
			var patients sql.NullString
			if err := rows.Scan(&e.Seq, &e.Hash, &ts, &e.Record, &e.Agent, &patients, &e.Entity, &e.Action, &e.Outcome); err != nil {
				rows.Close()
				return h, err
			}
			if patients.Valid {
				if err := json.Unmarshal([]byte(patients.String), &e.Patients); err != nil {
					rows.Close()
					return h, fmt.Errorf("audit_v4 entry %d: patients: %w", e.Seq, err)
				}
			}
			if e.Seq != h.seq+1 || len(e.Hash) != sha256.Size {
				rows.Close()
				return h, fmt.Errorf("audit_v4: entry %d (hash of %d bytes) follows %d: not migrated", e.Seq, len(e.Hash), h.seq)
			}
			e.Time = time.UnixMilli(ts)
			start := len(buf)
			buf = appendFrame(buf, &e, flagLast)
			sealFrame(buf[start:], e.Seq, e.Hash)
			h.seq, h.off, h.end = e.Seq, pos+int64(start), pos+int64(len(buf))
			copy(h.hash[:], e.Hash)
			n++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return h, err
		}
		if n == 0 {
			break
		}
		if _, err := al.log.WriteAt(buf, pos); err != nil {
			return h, err
		}
	}
	var seq int64
	var hash []byte
	switch err := db.QueryRowContext(ctx, "SELECT seq, hash FROM audit_head_v4 WHERE id = 1").Scan(&seq, &hash); {
	case errors.Is(err, sql.ErrNoRows):
		hash = store.AuditGenesis
	case err != nil:
		return h, err
	}
	if seq != h.seq || string(hash) != string(h.hash[:]) {
		return h, fmt.Errorf("audit_v4 ends at entry %d but audit_head_v4 says %d: the trail was cut; not migrated", h.seq, seq)
	}
	return h, nil
}

// readHead reads the head file: ok is false when it is missing or empty.
func readHead(f *os.File) (h auditHead, ok bool, err error) {
	if f == nil {
		return h, false, nil
	}
	return readSlots(func(b []byte) (int, error) {
		n, err := f.ReadAt(b, 0)
		if err == io.EOF {
			err = nil
		}
		return n, err
	})
}

// readHead reads the head, through its mapping when there is one.
func (al *auditLog) readHead() (auditHead, bool, error) {
	if al.hmap == nil {
		return readHead(al.head)
	}
	return readSlots(func(b []byte) (int, error) { return len(b), copyMapped(b, al.hmap) })
}

// copyMapped copies the mapped src to dst or dst to the mapped src: a fault (the file was cut
// under its mapping) is an error, not a crash.
func copyMapped(dst, src []byte) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the audit head file shrank under its mapping: %v", r)
		}
	}()
	copy(dst, src)
	return nil
}

// readSlots reads the two slots with read (up to three times while neither is valid, as when
// both are being written) and returns the valid one of the higher gen.
func readSlots(read func(b []byte) (int, error)) (h auditHead, ok bool, err error) {
	var b [2 * headSlot]byte
	for range 3 {
		n, err := read(b[:])
		if err != nil {
			return h, false, err
		}
		if n == 0 {
			return h, false, nil
		}
		for slot := range 2 {
			if n >= slot*headSlot+headSize {
				if s, good := decodeHead(b[slot*headSlot : min(n, (slot+1)*headSlot)]); good && s.gen > h.gen {
					h, ok = s, true
				}
			}
		}
		if ok {
			return h, true, nil
		}
	}
	return h, false, errors.New("no valid slot in the audit head file")
}

// currentHead is the committed head for readers.
func (al *auditLog) currentHead() (auditHead, error) {
	h, ok, err := al.readHead()
	if err == nil && !ok {
		err = fmt.Errorf("%s: the audit head file is missing", al.path)
	}
	if err != nil {
		return h, unavailable("audit head", err)
	}
	return h, nil
}

// fail records that the log can no longer be appended to, loudly, and returns err.
func (al *auditLog) fail(err error) error {
	if al.broken == nil {
		al.broken = err
		al.t.s.opts.Logger.Error("store/sqlite: the audit log was cut or replaced; refusing to append to it",
			"tenant", al.t.id, "err", err)
	}
	return al.broken
}

// sync brings the leader's view up to the files under the lock. When the log ends where this
// process left it, nothing changed. Otherwise another process may have appended (the head's gen
// moved), a crashed appender may have left whole entries beyond the head (adopted when they
// continue the chain) or a torn frame (cut off). A log shorter than its head or than what this
// process saw, a head that went backwards or a file replaced makes the log broken.
func (al *auditLog) sync() error {
	if al.broken != nil {
		return al.broken
	}
	fi, err := al.log.Stat()
	if err != nil {
		return err
	}
	if time.Since(al.checked) >= replaceCheck {
		if err := al.checkPaths(fi); err != nil {
			return al.fail(err)
		}
		al.checked = time.Now()
	}
	size := fi.Size()
	if size == al.view.end && al.view.gen != 0 {
		// The log ends where this process left it: nobody appended since (an append of another
		// process, or a crashed one's frames, make it longer), and the head is its own.
		return nil
	}
	h, ok, err := al.readHead()
	if err != nil {
		return al.fail(fmt.Errorf("%s: %w", al.headPath, err))
	}
	if !ok {
		return al.fail(fmt.Errorf("%s is empty", al.headPath))
	}
	if h.gen != al.view.gen {
		switch {
		case h.gen < al.view.gen || h.seq < al.view.seq || h.end < al.view.end:
			return al.fail(fmt.Errorf("%s went back from entry %d to %d", al.headPath, al.view.seq, h.seq))
		case size < h.end:
			return al.fail(fmt.Errorf("%s is %d bytes, shorter than the %d its head records (entry %d): entries were removed",
				al.path, size, h.end, h.seq))
		}
		if err := al.checkLast(h); err != nil {
			return al.fail(err)
		}
		if err := al.checkSeal(h); err != nil {
			return al.fail(err)
		}
		al.view = h
	}
	switch {
	case size < al.view.end:
		return al.fail(fmt.Errorf("%s is %d bytes, shorter than the %d its head records (entry %d): entries were removed",
			al.path, size, al.view.end, al.view.seq))
	case size > al.view.end:
		return al.adopt(size)
	}
	return nil
}

// past counts the whole frames stored after the head h that continue its chain (see
// store.AuditSeal.Past) and returns the head they follow: a log that ends at the head has none,
// without reading it. Otherwise it counts under the log's lock, from the head read again, so
// that the frames of another process's append whose head is about to follow are not counted.
func (al *auditLog) past(h auditHead) (auditHead, int64, error) {
	fi, err := al.log.Stat()
	if err != nil || fi.Size() <= h.end {
		return h, 0, err
	}
	if err := al.lock(); err != nil {
		return h, 0, err
	}
	defer al.unlock()
	if h, err = al.currentHead(); err != nil {
		return h, 0, err
	}
	if fi, err = al.log.Stat(); err != nil || fi.Size() <= h.end {
		return h, 0, err
	}
	var n int64
	seq, prev := h.seq, h.hash
	_, err = al.scan(h.end, fi.Size(), func(_ int64, fr *frame) (bool, error) {
		if !fr.crcOK || fr.seq != seq+1 || string(store.AuditLink(prev[:], fr.seq, fr.record)) != string(fr.hash) {
			return false, nil
		}
		seq, n = fr.seq, n+1
		copy(prev[:], fr.hash)
		return true, nil
	})
	return h, n, err
}

// replaceCheck is how often a leader checks that the paths of the log and the head still
// name the files it has open (two path lookups cost as much as the rest of an append).
const replaceCheck = time.Second

// checkPaths checks that the log and head files open are still those of their paths.
func (al *auditLog) checkPaths(log os.FileInfo) error {
	if pi, err := os.Stat(al.path); err != nil || !os.SameFile(log, pi) {
		return fmt.Errorf("%s was removed or replaced while open (%v)", al.path, err)
	}
	hi, err := al.head.Stat()
	if err != nil {
		return err
	}
	if al.hmap != nil && hi.Size() < 2*headSlot {
		// Its mapped slots past the end of the file would no longer reach the file.
		return fmt.Errorf("%s was cut to %d bytes while open", al.headPath, hi.Size())
	}
	if pi, err := os.Stat(al.headPath); err != nil || !os.SameFile(hi, pi) {
		return fmt.Errorf("%s was removed or replaced while open (%v)", al.headPath, err)
	}
	return nil
}

// checkLast checks that the log holds the head's entry where the head says.
func (al *auditLog) checkLast(h auditHead) error {
	if h.seq == 0 {
		if h.end != logStart {
			return fmt.Errorf("%s: an empty head ends at %d", al.headPath, h.end)
		}
		return nil
	}
	b := make([]byte, h.end-h.off)
	var fr frame
	if _, err := al.log.ReadAt(b, h.off); err != nil || int64(len(b)) < frameHead ||
		int64(binary.BigEndian.Uint32(b))+frameHead != int64(len(b)) || !decodeFrame(b, &fr) ||
		fr.seq != h.seq || string(fr.hash) != string(h.hash[:]) {
		return fmt.Errorf("%s does not hold entry %d (hash %x) at %d…%d, where its head says (%v)", al.path, h.seq, h.hash, h.off, h.end, err)
	}
	return nil
}

// adopt handles bytes beyond the head, left by an appender that stopped between its write and
// its head update: the frames that are whole, pass their CRC and continue the chain are kept up
// to the last one that ends an AppendAudit (the head moves to it), and the rest is cut off. On a
// sealed trail they are kept up to the last one whose seal verifies (the end of a group), and a
// frame with a seal that does not verify makes the log broken (and is left as found, for the
// auditor); a store without the key leaves everything beyond a sealed head as it is.
func (al *auditLog) adopt(size int64) error {
	if al.view.sealed && al.key == nil {
		return nil
	}
	next := al.view
	seq, prev := al.view.seq, al.view.hash
	var forged error
	_, err := al.scan(al.view.end, size, func(off int64, fr *frame) (bool, error) {
		if !fr.crcOK || fr.seq != seq+1 || string(store.AuditLink(prev[:], fr.seq, fr.record)) != string(fr.hash) {
			return false, nil
		}
		seq = fr.seq
		copy(prev[:], fr.hash)
		switch {
		case !al.view.sealed:
			if fr.flags&flagLast != 0 {
				next.seq, next.off, next.end, next.hash = seq, off, off+fr.size, prev
			}
		case fr.seal != nil:
			h := frameSeal(al.view, fr, off)
			if !al.key.Verify(al.t.id, h.seal()) {
				forged = fmt.Errorf("%s: entry %d, after the head (entry %d), carries a seal that does not verify under the audit key: written without the key",
					al.path, fr.seq, al.view.seq)
				return false, nil
			}
			next = h
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	if forged != nil {
		return al.fail(forged)
	}
	if next.seq > al.view.seq {
		next.gen = al.view.gen + 1
		if err := al.writeHead(next); err != nil {
			return err
		}
		al.t.s.opts.Logger.Warn("store/sqlite: adopted audit entries written before their head", "tenant", al.t.id,
			"from", al.view.seq+1, "to", next.seq)
		al.view = next
	}
	if size > al.view.end {
		if err := al.log.Truncate(al.view.end); err != nil {
			return err
		}
		al.t.s.opts.Logger.Warn("store/sqlite: cut a torn tail off the audit log", "tenant", al.t.id,
			"bytes", size-al.view.end, "after", al.view.seq)
	}
	return nil
}

func (al *auditLog) writeHead(h auditHead) error {
	slot := int(h.gen%2) * headSlot
	b := h.encode()
	if al.hmap != nil {
		return copyMapped(al.hmap[slot:slot+len(b)], b)
	}
	_, err := al.head.WriteAt(b, int64(slot))
	return err
}

// scan calls fn with each frame from off (the start of a frame) up to end, reading the log in
// chunks of scanChunk bytes. It stops quietly at a frame that does not fit before end or before
// the end of the file, or that does not decode (a torn or cut tail), and when fn returns false.
// It returns the offset where it stopped. fr's slices are valid only during fn.
func (al *auditLog) scan(off, end int64, fn func(off int64, fr *frame) (bool, error)) (int64, error) {
	bp := chunkPool.Get().(*[]byte)
	defer chunkPool.Put(bp)
	buf := *bp
	pos, i, n := off, 0, 0 // buf[i:n] holds the file from pos on
	fill := func(need int) error {
		if n-i >= need {
			return nil
		}
		copy(buf, buf[i:n])
		n -= i
		i = 0
		if need > len(buf) {
			buf = append(make([]byte, 0, need), buf[:n]...)[:need]
		}
		for n < need {
			want := int(min(int64(len(buf)), end-pos))
			if want <= n {
				return io.ErrUnexpectedEOF
			}
			m, err := al.log.ReadAt(buf[n:want], pos+int64(n))
			n += m
			if err == io.EOF && n < need {
				return io.ErrUnexpectedEOF
			}
			if err != nil && err != io.EOF {
				return err
			}
		}
		return nil
	}
	var fr frame
	for pos < end {
		if err := fill(frameHead); err != nil {
			return pos, ignoreEOF(err)
		}
		l := int64(binary.BigEndian.Uint32(buf[i:]))
		if l < bodyFixed || l > maxFrame || pos+frameHead+l > end {
			return pos, nil
		}
		size := int(frameHead + l)
		if err := fill(size); err != nil {
			return pos, ignoreEOF(err)
		}
		if !decodeFrame(buf[i:i+size], &fr) {
			return pos, nil
		}
		more, err := fn(pos, &fr)
		if err != nil || !more {
			return pos + fr.size, err
		}
		i += size
		pos += int64(size)
	}
	return pos, nil
}

func ignoreEOF(err error) error {
	if err == io.ErrUnexpectedEOF {
		return nil
	}
	return err
}

// readFrame reads the frame at off, which must hold entry seq.
func (al *auditLog) readFrame(off, seq int64) (store.AuditEntry, error) {
	b := make([]byte, 1024)
	n, err := al.log.ReadAt(b, off)
	if err != nil && err != io.EOF {
		return store.AuditEntry{}, err
	}
	var fr frame
	if n >= frameHead {
		if size := frameHead + int(binary.BigEndian.Uint32(b)); size <= maxFrame+frameHead {
			if size > n {
				b = make([]byte, size)
				n, err = al.log.ReadAt(b, off)
				if err != nil && err != io.EOF {
					return store.AuditEntry{}, err
				}
			}
			if size <= n && decodeFrame(b[:size], &fr) && fr.seq == seq {
				e := store.AuditEntry{Seq: fr.seq, Time: time.UnixMilli(fr.ts).UTC(), Record: fr.record, Hash: fr.hash,
					Agent: string(fr.agent), Entity: string(fr.entity), Action: string(fr.action), Outcome: string(fr.outcome)}
				if fr.npat > 0 {
					e.Patients = make([]string, 0, fr.npat)
					fr.patients(func(p []byte) { e.Patients = append(e.Patients, string(p)) })
				}
				return e, nil
			}
		}
	}
	return store.AuditEntry{}, fmt.Errorf("%s: no entry %d at offset %d, where the index says", al.path, seq, off)
}

// ---- appending ----

// append queues entries and waits for their commit: its caller leads (writes the queued
// appends) when nobody does, else waits until a leader wrote them or hands it the lead.
func (al *auditLog) append(ctx context.Context, entries []store.AuditEntry) ([]store.AuditEntry, error) {
	r := &auditReq{entries: make([]store.AuditEntry, len(entries)), ends: make([]int, len(entries))}
	size := 0
	for i := range entries {
		n := frameSize(&entries[i])
		if n+sealSize > maxFrame {
			return nil, fmt.Errorf("store/sqlite: AppendAudit: entry %d is %d bytes, more than the %d of a frame", i, n, maxFrame)
		}
		size += n
	}
	r.buf = make([]byte, 0, size)
	for i, e := range entries {
		e.Time = time.UnixMilli(e.Time.UnixMilli()).UTC()
		flags := byte(0)
		if i == len(entries)-1 {
			flags = flagLast
		}
		r.buf = appendFrame(r.buf, &e, flags)
		r.ends[i] = len(r.buf)
		e.Record = r.buf[len(r.buf)-len(e.Record) : len(r.buf) : len(r.buf)] // the store's copy
		r.entries[i] = e
	}
	r.done, r.promote = make(chan struct{}), make(chan struct{})
	al.mu.Lock()
	if al.closed {
		al.mu.Unlock()
		return nil, fmt.Errorf("store/sqlite: closed: %w", store.ErrUnavailable)
	}
	al.queue = append(al.queue, r)
	lead := !al.leading
	al.leading = true
	al.mu.Unlock()
	if !lead {
		select {
		case <-r.done:
		case <-r.promote:
			lead = true
		case <-ctx.Done():
			if r.state.CompareAndSwap(reqQueued, reqAbandoned) {
				return nil, ctx.Err() // the leader will skip it: nothing is written
			}
			select { // taken by a leader, or promoted
			case <-r.done:
			case <-r.promote:
				lead = true
			}
		}
	}
	if lead {
		al.lead(r)
	}
	if r.err != nil {
		return nil, r.err
	}
	return r.entries, nil
}

// lead writes the queued appends, own's among them, in groups, from the caller's goroutine: no
// other goroutine has to be woken for an append that finds nobody leading. Once own is written
// it goes on while appends wait, for up to leadFlushes groups, then hands the lead to the caller
// of the first append waiting.
func (al *auditLog) lead(own *auditReq) {
	for more := 0; ; {
		al.mu.Lock()
		written := isClosed(own.done)
		if written {
			more++
		}
		if len(al.queue) == 0 || written && more > leadFlushes && al.promoteFirst() {
			if len(al.queue) == 0 {
				al.leading = false
				al.idle.Broadcast()
			}
			al.mu.Unlock()
			return
		}
		n, i := 0, 0
		for ; i < len(al.queue) && n < appendBatch; i++ {
			n += len(al.queue[i].entries)
		}
		batch := al.queue[:i:i]
		al.queue = al.queue[i:]
		if len(al.queue) == 0 {
			al.queue = nil // let the backing array go
		}
		al.mu.Unlock()
		al.flush(batch)
	}
}

// promoteFirst makes the caller of the first append waiting the leader (it runs under mu):
// false when every append waiting was abandoned (they are dropped).
func (al *auditLog) promoteFirst() bool {
	for len(al.queue) > 0 {
		r := al.queue[0]
		if r.state.CompareAndSwap(reqQueued, reqPromoted) {
			close(r.promote)
			return true
		}
		al.queue = al.queue[1:]
		close(r.done) // abandoned: its caller returned
	}
	return false
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// flush appends the frames of batch with one write, under the file lock: it syncs its view with
// the files, gives the entries their seqs and hashes after the head, writes the frames,
// fdatasyncs them when Synchronous is FULL, and then moves the head, which commits them.
func (al *auditLog) flush(batch []*auditReq) {
	live := batch[:0]
	for _, r := range batch {
		if r.state.CompareAndSwap(reqQueued, reqTaken) || r.state.CompareAndSwap(reqPromoted, reqTaken) {
			live = append(live, r)
		} else {
			close(r.done) // abandoned
		}
	}
	if len(live) == 0 {
		return
	}
	err := al.lock()
	if err == nil {
		if err = al.sync(); err == nil {
			err = al.write(live)
		}
		al.unlock()
	}
	if err != nil {
		err = unavailable("AppendAudit", err)
	}
	for _, r := range live {
		r.err = err
		close(r.done)
	}
	if err == nil {
		al.appended.Store(al.view.seq)
		al.kickIndexer()
	}
}

func (al *auditLog) write(live []*auditReq) error {
	switch {
	case al.key == nil && al.view.sealed:
		return fmt.Errorf("%s is sealed with the audit key (from entry %d on): a store without the key cannot append to it",
			al.path, al.view.from)
	case al.key != nil && !al.view.sealed:
		return fmt.Errorf("%s: the head is not sealed", al.path) // sealFirst did not run: not reached
	}
	h := al.view
	h.gen++
	buf := al.buf[:0]
	var seqb [8]byte
	for ri, r := range live {
		start := 0
		for i := range r.entries {
			e := &r.entries[i]
			fr := r.buf[start:r.ends[i]]
			start = r.ends[i]
			h.seq++
			binary.BigEndian.PutUint64(seqb[:], uint64(h.seq))
			al.sha.Reset()
			al.sha.Write(h.hash[:])
			al.sha.Write(seqb[:])
			al.sha.Write(e.Record)
			al.sha.Sum(h.hash[:0])
			sealFrame(fr, h.seq, h.hash[:])
			e.Seq, e.Hash = h.seq, fr[frameHead+16:frameHead+48:frameHead+48]
			h.off = h.end
			n := len(buf)
			buf = append(buf, fr...)
			if al.key != nil && ri == len(live)-1 && i == len(r.entries)-1 {
				// The group's last frame carries the seal of the head that commits it: one
				// HMAC per group, and entries found past the head are adopted only with it.
				al.sealHead(&h, 0)
				buf = appendSeal(buf, n, &h)
			}
			h.end += int64(len(buf) - n)
		}
	}
	if cap(buf) <= 4<<20 {
		al.buf = buf[:0]
	}
	_, err := al.log.WriteAt(buf, al.view.end)
	if err == nil && al.full {
		err = datasync(al.log)
	}
	if err == nil {
		err = al.writeHead(h)
	}
	if err != nil {
		// Nothing is committed: cut what was written (a later append would otherwise adopt it).
		if terr := al.log.Truncate(al.view.end); terr != nil {
			err = errors.Join(err, terr)
		}
		return err
	}
	al.view = h
	return nil
}

// ---- index ----

// runIndexer indexes, in the background, the entries this process appended: when indexEvery
// of them wait, or indexDelay after the first.
func (al *auditLog) runIndexer(ctx context.Context) {
	defer close(al.idone)
	var timer <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-al.kick:
			if al.appended.Load()-al.indexed.Load() < indexEvery {
				if timer == nil {
					timer = time.After(indexDelay)
					al.armed.Store(true)
				}
				continue
			}
		case <-timer:
		}
		timer = nil
		err := al.catchUp(ctx, al.appended.Load())
		if err != nil && ctx.Err() == nil {
			al.t.s.opts.Logger.Warn("store/sqlite: indexing the audit log", "tenant", al.t.id, "err", err)
			timer = time.After(indexDelay)
		}
		al.armed.Store(timer != nil)
	}
}

// kickIndexer tells the indexer about entries appended, when it has to hear of them: when it
// has no timer set yet, or when indexEvery entries wait (waking it on every append cost a
// goroutine switch per append).
func (al *auditLog) kickIndexer() {
	if al.armed.Load() && al.appended.Load()-al.indexed.Load() < indexEvery {
		return
	}
	select {
	case al.kick <- struct{}{}:
	default:
	}
}

// catchUp indexes the log up to entry target at least (or up to where it ends, when it is
// shorter), in transactions of the index database of up to indexBatch entries.
func (al *auditLog) catchUp(ctx context.Context, target int64) error {
	al.imu.Lock()
	defer al.imu.Unlock()
	for al.indexed.Load() < target {
		got, err := al.indexBatch(ctx)
		if err != nil {
			return err
		}
		if got <= al.indexed.Load() {
			return nil // the log ends before target (it was cut): nothing more to index
		}
		al.indexed.Store(got)
	}
	return nil
}

// indexedUpTo makes sure the index holds every entry up to the head h: it asks the tenant
// database (another process may have indexed them) and otherwise catches up.
func (al *auditLog) indexedUpTo(ctx context.Context, h auditHead) error {
	if al.indexed.Load() >= h.seq {
		return nil
	}
	seq, _, err := al.ix.last(ctx, al.ix.r)
	if err != nil {
		return unavailable("SearchAudit", err)
	}
	for old := al.indexed.Load(); seq > old && !al.indexed.CompareAndSwap(old, seq); old = al.indexed.Load() {
	}
	if seq >= h.seq {
		return nil
	}
	return al.catchUp(ctx, h.seq)
}

// ---- reading ----

// entries returns up to limit entries after seq after, up to the head h, reading the log
// sequentially from the frame of after+1 (found by a hint, the index or a scan from the end
// of the index).
func (al *auditLog) entries(ctx context.Context, h auditHead, after int64, limit int) ([]store.AuditEntry, error) {
	off, err := al.offsetOf(ctx, after+1, h)
	if err != nil {
		return nil, err
	}
	var es []store.AuditEntry
	var s slab
	end, err := al.scan(off, h.end, func(_ int64, fr *frame) (bool, error) {
		if fr.seq <= after {
			return true, nil // scanning from the end of the index
		}
		es = append(es, fr.entry(&s))
		return len(es) < limit && fr.seq < h.seq, nil
	})
	if err != nil {
		return nil, err
	}
	if len(es) > 0 {
		al.hmu.Lock()
		al.hintSeq, al.hintOff = es[len(es)-1].Seq+1, end
		al.hmu.Unlock()
	}
	return es, nil
}

// offsetOf returns the offset of the frame of entry seq, or of an earlier one.
func (al *auditLog) offsetOf(ctx context.Context, seq int64, h auditHead) (int64, error) {
	switch {
	case seq <= 1:
		return logStart, nil
	case seq == h.seq:
		return h.off, nil
	}
	al.hmu.Lock()
	hs, ho := al.hintSeq, al.hintOff
	al.hmu.Unlock()
	if hs == seq {
		return ho, nil
	}
	// The block holding seq, or the last one before it: the log is scanned on from its end.
	var lo, hi, off, end int64
	var sizes []byte
	err := al.ix.r.QueryRowContext(ctx, blockOfSQL, seq).
		Scan(&lo, &hi, &off, &end, &sizes)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return logStart, nil
	case err != nil:
		return 0, unavailable("AuditEntries", err)
	case seq > hi:
		return end, nil
	}
	for i := lo; i < seq; i++ {
		n, k := binary.Uvarint(sizes)
		if k <= 0 {
			return 0, unavailable("AuditEntries", fmt.Errorf("audit index, block %d: bad sizes", lo))
		}
		sizes, off = sizes[k:], off+int64(n)
	}
	return off, nil
}
