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
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kodomohub/kodomohub/store"
	"github.com/kodomohub/kodomohub/store/storetest"
)

// auditData is a data directory that storetest.RunAuditIntegrity damages through the files of
// its audit trails, as someone who can write the directory (but cannot read the key) would.
type auditData struct{ dir string }

func TestAuditIntegrity(t *testing.T) {
	storetest.RunAuditIntegrity(t, func(t *testing.T) storetest.AuditData { return &auditData{dir: t.TempDir()} })
}

func (d *auditData) Open(t *testing.T, key *store.AuditKey) store.Store {
	t.Helper()
	s, err := Open(d.dir, Options{AuditKey: key, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func (d *auditData) paths(tenant string) (log, head, index string) {
	base := filepath.Join(d.dir, "tenants", tenant)
	return base + ".audit", base + ".audit-head", base + ".audit-index.db"
}

// headAndFrame reads tenant's head and the frame of entry seq (its offset and a copy).
func (d *auditData) headAndFrame(t *testing.T, tenant string, seq int64) (auditHead, int64, *frame) {
	t.Helper()
	logPath, headPath, _ := d.paths(tenant)
	hf, err := os.Open(headPath)
	if err != nil {
		t.Fatal(err)
	}
	defer hf.Close()
	h, ok, err := readHead(hf)
	if err != nil || !ok {
		t.Fatalf("head: %v %v", ok, err)
	}
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	for off := logStart; off < int64(len(b)); {
		var fr frame
		size := frameHead + int64(binary.BigEndian.Uint32(b[off:]))
		if !decodeFrame(slices.Clone(b[off:off+size]), &fr) {
			t.Fatalf("no frame at %d", off)
		}
		if fr.seq == seq {
			return h, off, &fr
		}
		off += size
	}
	t.Fatalf("no entry %d in %s", seq, logPath)
	return h, 0, nil
}

// writeHead writes h as the next head (gen after the file's).
func (d *auditData) writeHead(t *testing.T, tenant string, h auditHead) {
	t.Helper()
	_, headPath, _ := d.paths(tenant)
	f, err := os.OpenFile(headPath, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	old, _, _ := readHead(f)
	h.gen = old.gen + 1
	if _, err := f.WriteAt(h.encode(), int64(h.gen%2)*headSlot); err != nil {
		t.Fatal(err)
	}
}

func (d *auditData) Cut(t *testing.T, tenant string, keep int64, how storetest.Cut) {
	h, off, fr := d.headAndFrame(t, tenant, keep)
	logPath, _, _ := d.paths(tenant)
	if err := os.Truncate(logPath, off+fr.size); err != nil {
		t.Fatal(err)
	}
	switch how {
	case storetest.CutStaleSeal: // seq, bounds and hash of entry keep, a valid CRC, the seal as it was
		h.seq, h.off, h.end = keep, off, off+fr.size
		copy(h.hash[:], fr.hash)
	case storetest.CutNoSeal:
		h.seq, h.off, h.end, h.sealed = keep, off, off+fr.size, false
		copy(h.hash[:], fr.hash)
	case storetest.CutReplay:
		if fr.seal == nil {
			t.Fatalf("entry %d ends no sealed append", keep)
		}
		h = frameSeal(h, fr, off)
	}
	d.writeHead(t, tenant, h)
}

func (d *auditData) Rewind(t *testing.T, tenant string, to int64) {
	h, off, fr := d.headAndFrame(t, tenant, to)
	if fr.seal == nil {
		t.Fatalf("entry %d ends no sealed append", to)
	}
	d.writeHead(t, tenant, frameSeal(h, fr, off))
}

func (d *auditData) Forge(t *testing.T, tenant string, n int) {
	h, _, _ := d.headAndFrame(t, tenant, 1)
	var buf []byte
	prev := h.hash[:]
	for i := range n {
		e := store.AuditEntry{Time: time.Now(), Record: fmt.Appendf(nil, `{"forged":%d}`, i), Agent: "someone-else", Entity: "Patient/p1", Action: "R", Outcome: "0"}
		start := len(buf)
		flags := byte(0)
		if i == n-1 {
			flags = flagLast
		}
		buf = appendFrame(buf, &e, flags)
		seq := h.seq + int64(i) + 1
		prev = store.AuditLink(prev, seq, e.Record)
		sealFrame(buf[start:], seq, prev)
	}
	logPath, _, _ := d.paths(tenant)
	appendBytes(t, logPath, buf)
}

// The damages of the index database: posting rows rewritten as someone with the file would.
func (d *auditData) IndexDamages() map[string]func(t *testing.T, tenant string, seq int64) int64 {
	return map[string]func(t *testing.T, tenant string, seq int64) int64{
		"missing from its patient's posting": func(t *testing.T, tenant string, seq int64) int64 {
			d.editPosting(t, tenant, string(keyPatient)+"Patient/p1", func(refs []int64, _ int64) []int64 {
				i := slices.Index(refs, seq)
				return slices.Delete(refs, i, i+2)
			})
			return seq
		},
		"filed under a patient it does not name": func(t *testing.T, tenant string, seq int64) int64 {
			off := d.offsetOf(t, tenant, seq)
			d.editPosting(t, tenant, string(keyPatient)+"Patient/p2", func(refs []int64, _ int64) []int64 {
				i := 0
				for i < len(refs) && refs[i] < seq {
					i += 2
				}
				return slices.Insert(refs, i, seq, off)
			})
			return seq
		},
		"at another offset under its agent": func(t *testing.T, tenant string, seq int64) int64 {
			d.editPosting(t, tenant, string(keyAgent)+"nurse-kato", func(refs []int64, _ int64) []int64 {
				refs[slices.Index(refs, seq)+1] += 3
				return refs
			})
			return seq
		},
		"in a block the index does not have": func(t *testing.T, tenant string, seq int64) int64 {
			db := d.indexDB(t, tenant)
			defer db.Close()
			const lo = 1000 // past the last block
			if _, err := db.Exec("INSERT INTO posting (key, lo, refs) VALUES (?, ?, ?)", string(keyPatient)+"Patient/ghost", lo,
				encodeRefs([]int64{lo + 5, 8}, lo)); err != nil {
				t.Fatal(err)
			}
			return lo + 5
		},
	}
}

func (d *auditData) indexDB(t *testing.T, tenant string) *sql.DB {
	t.Helper()
	_, _, path := d.paths(tenant)
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// offsetOf is the offset of the frame of entry seq in the log.
func (d *auditData) offsetOf(t *testing.T, tenant string, seq int64) int64 {
	_, off, _ := d.headAndFrame(t, tenant, seq)
	return off
}

// editPosting rewrites the refs of key in its one block.
func (d *auditData) editPosting(t *testing.T, tenant, key string, edit func(refs []int64, lo int64) []int64) {
	t.Helper()
	db := d.indexDB(t, tenant)
	defer db.Close()
	var lo int64
	var blob []byte
	if err := db.QueryRow("SELECT lo, refs FROM posting WHERE key = ?", key).Scan(&lo, &blob); err != nil {
		t.Fatalf("posting %q: %v", key, err)
	}
	refs, err := decodeRefs(nil, blob, lo)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("UPDATE posting SET refs = ? WHERE key = ? AND lo = ?", encodeRefs(edit(refs, lo), lo), key, lo); err != nil {
		t.Fatal(err)
	}
}

// encodeRefs is the inverse of decodeRefs.
func encodeRefs(refs []int64, lo int64) []byte {
	var b []byte
	seq, off := lo, int64(0)
	for i := 0; i < len(refs); i += 2 {
		b = binary.AppendUvarint(b, uint64(refs[i]-seq))
		b = binary.AppendUvarint(b, uint64(refs[i+1]-off))
		seq, off = refs[i], refs[i+1]
	}
	return b
}

// TestAuditSealedFramesAndHead checks the file format of a sealed trail: the last frame of each
// group carries the head's seal, the head slot is the sealed form, and entries read back
// without the seal's bytes.
func TestAuditSealedFramesAndHead(t *testing.T) {
	key := storetest.NewAuditKey(t)
	a := newAuditTrail(t, Options{AuditKey: key})
	s := a.open(t)
	defer s.Close()
	a.mustAppend(t, s, 3)
	h := a.head(t)
	if !h.sealed || !key.Verify("misato", h.seal()) {
		t.Fatalf("head %+v: want sealed under the key", h)
	}
	fr := readBytes(t, a.logPath(), h.off, h.end)
	var f frame
	if !decodeFrame(fr, &f) || f.seal == nil || !f.crcOK || f.flags != flagLast|flagSealed {
		t.Fatalf("the last frame: flags %d seal %x crc %v, want the group's seal", f.flags, f.seal, f.crcOK)
	}
	if got := frameSeal(h, &f, h.off); got != h {
		t.Fatalf("the frame's seal makes head %+v, the file holds %+v", got, h)
	}
	es, err := s.AuditEntries(context.Background(), "misato", 0, 10)
	if err != nil || len(es) != 3 || bytes.Contains(es[2].Record, f.seal[8:]) || !strings.HasSuffix(string(es[2].Record), "}") {
		t.Fatalf("entries read back: %d, %v; the last record must not carry the seal", len(es), err)
	}
	mustVerify(t, s, 3)
}
