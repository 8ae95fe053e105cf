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

package audit_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kodomohub/kodomohub/audit"
	"github.com/kodomohub/kodomohub/store"
	"github.com/kodomohub/kodomohub/store/sqlite"
	"github.com/kodomohub/kodomohub/store/storetest"
)

var ctx = context.Background()

// town is a data directory with one tenant, misato, whose trail the tests append to, check
// and damage through its files as someone who can write the directory would.
type town struct {
	dir     string
	headKey *store.AuditKey
	signer  ed25519.PrivateKey
	outside string // a checkpoint directory outside the data directory
	clock   time.Time
	st      *sqlite.Store
	cp      *audit.Checkpointer
}

func newTown(t *testing.T) *town {
	t.Helper()
	_, signer, _ := ed25519.GenerateKey(rand.Reader)
	w := &town{dir: t.TempDir(), headKey: storetest.NewAuditKey(t), signer: signer, outside: t.TempDir(),
		clock: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)}
	w.open(t)
	if err := w.st.CreateTenant(ctx, store.Tenant{ID: "misato", Name: "美里町"}); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *town) open(t *testing.T) {
	t.Helper()
	st, err := sqlite.Open(w.dir, sqlite.Options{AuditKey: w.headKey, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	w.st = st
	w.cp = &audit.Checkpointer{Store: st, Key: w.signer, HeadKey: w.headKey, Every: 3, Interval: time.Hour, Dir: w.outside,
		Now: func() time.Time { return w.clock }, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

func (w *town) close() { w.st.Close() }

// appendN appends n entries and then lets the checkpointer look (a minute later).
func (w *town) appendN(t *testing.T, n int) {
	t.Helper()
	es := make([]store.AuditEntry, n)
	for i := range es {
		es[i] = store.AuditEntry{Time: w.clock, Record: fmt.Appendf(nil, `{"n":%d,"at":%q}`, i, w.clock), Agent: "staff-1",
			Entity: "Patient/p1", Patients: []string{"Patient/p1"}, Action: "R", Outcome: "0"}
	}
	if _, err := w.st.AppendAudit(ctx, "misato", es); err != nil {
		t.Fatal(err)
	}
	w.clock = w.clock.Add(time.Minute)
	if err := w.cp.Pass(ctx, false); err != nil {
		t.Fatal(err)
	}
}

func (w *town) verify(t *testing.T, o audit.VerifyOptions) *audit.Report {
	t.Helper()
	if o.HeadKey == nil {
		o.HeadKey = w.headKey
	}
	if o.Records == nil {
		o.Records = w.st
	}
	if o.Trusted == nil {
		o.Trusted = []ed25519.PublicKey{w.signer.Public().(ed25519.PublicKey)}
	}
	o.Index = w.st.VerifyAuditIndex
	r, err := audit.Verify(ctx, w.st, "misato", o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func wantProblem(t *testing.T, r *audit.Report, substr string) {
	t.Helper()
	for _, p := range r.Problems {
		if strings.Contains(p, substr) {
			return
		}
	}
	t.Fatalf("problems %q, want one containing %q", r.Problems, substr)
}

func (w *town) path(ext string) string { return filepath.Join(w.dir, "tenants", "misato"+ext) }

// The head file's format (store/sqlite/auditlog.go), as an intruder reads it from the source.
const (
	slotSize  = 128
	sealedLen = 128
)

// headSlot returns the valid slot of the higher gen and its gen.
func headSlot(t *testing.T, b []byte) ([]byte, uint64) {
	t.Helper()
	var best []byte
	var gen uint64
	for i := 0; i+slotSize <= len(b); i += slotSize {
		s := b[i : i+slotSize]
		if string(s[:4]) == "khas" && binary.BigEndian.Uint32(s[4:]) == crc32.Checksum(s[8:sealedLen], crc32.MakeTable(crc32.Castagnoli)) {
			if g := binary.BigEndian.Uint64(s[8:]); g > gen {
				best, gen = s, g
			}
		}
	}
	if best == nil {
		t.Fatal("no sealed slot in the head file")
	}
	return bytes.Clone(best), gen
}

// writeSlot writes slot as generation gen, with a valid CRC.
func writeSlot(t *testing.T, path string, slot []byte, gen uint64) {
	t.Helper()
	binary.BigEndian.PutUint64(slot[8:], gen)
	binary.BigEndian.PutUint32(slot[4:], crc32.Checksum(slot[8:sealedLen], crc32.MakeTable(crc32.Castagnoli)))
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	copy(b[int(gen%2)*slotSize:], slot)
	if err := os.WriteFile(path, b, 0o640); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// cutTo cuts the log back to the end of the entry that the earlier head file copy names (its
// slot's end field) and writes head as the next generation.
func (w *town) cutTo(t *testing.T, earlier []byte, head func(earlierSlot, nowSlot []byte) []byte) {
	t.Helper()
	old, _ := headSlot(t, earlier)
	now, gen := headSlot(t, readFile(t, w.path(".audit-head")))
	if err := os.Truncate(w.path(".audit"), int64(binary.BigEndian.Uint64(old[32:]))); err != nil {
		t.Fatal(err)
	}
	writeSlot(t, w.path(".audit-head"), head(old, now), gen+1)
}

// exportStored writes the stored checkpoints as `audit checkpoints` does.
func (w *town) exportStored(t *testing.T) []audit.Checkpoint {
	t.Helper()
	cs, err := audit.StoredCheckpoints(ctx, w.st, "misato")
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// TestVerifyIntactTrail: appends with the checkpointer looking after each: a checkpoint every 3
// entries (or more, as appends come), in the store and in the directory outside, and Verify
// finds everything in order.
func TestVerifyIntactTrail(t *testing.T) {
	w := newTown(t)
	for _, n := range []int{4, 3, 3} {
		w.appendN(t, n)
	}
	r := w.verify(t, audit.VerifyOptions{})
	if !r.Intact() || r.Entries != 10 || !r.SealChecked || !r.IndexChecked || r.Checkpoints != 3 || r.Latest == nil || r.Latest.Seq != 10 {
		t.Fatalf("report %+v, want 10 entries, the seal and index checked, 3 checkpoints up to entry 10", r)
	}
	f, err := os.Open(audit.CheckpointFile(w.outside, "misato"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	exported, err := audit.ReadCheckpoints(f)
	if err != nil || len(exported) != 3 || exported[2].Seq != 10 {
		t.Fatalf("the checkpoint directory holds %d checkpoints (%v), want 3 up to entry 10", len(exported), err)
	}
	if r := w.verify(t, audit.VerifyOptions{HeadKey: storetest.NewAuditKey(t)}); r.SealChecked {
		t.Fatal("the seal checks under another key")
	} else {
		wantProblem(t, r, "does not verify under the head key")
	}
}

// TestVerifyCatchesCutUnderRewrittenHead is the attack that passed before: the newest entries
// cut off and the head rewritten to name the new last entry with a valid checksum. The chain
// alone holds; the head's seal does not, and the checkpoints beyond the head say so too.
func TestVerifyCatchesCutUnderRewrittenHead(t *testing.T) {
	w := newTown(t)
	w.appendN(t, 4)
	w.appendN(t, 3)
	at7 := readFile(t, w.path(".audit-head"))
	w.appendN(t, 3)
	w.close()
	w.cutTo(t, at7, func(old, now []byte) []byte {
		forged := bytes.Clone(now)
		copy(forged[16:72], old[16:72]) // seq, off, end, hash of entry 7; the seal stays as it was
		return forged
	})
	w.open(t)
	r := w.verify(t, audit.VerifyOptions{})
	if r.Entries != 7 || r.SealChecked {
		t.Fatalf("report %+v: want the chain whole up to the forged head 7, and its seal failing", r)
	}
	wantProblem(t, r, "does not verify under the head key")
	wantProblem(t, r, "checkpoint of entry 10 (signed 2026-01-05T09:03:00Z) lies beyond the head (entry 7)")
}

// TestVerifyCatchesReplayedHeadWithCheckpointsKeptElsewhere puts back the genuine head of entry
// 7 (a copy taken then) over a log cut there: the seal verifies, as it would have then. The
// checkpoint of entry 10 reveals the cut: the one kept in the store, and, once the intruder has
// deleted that too, the copy kept outside the data directory (or an export made before).
func TestVerifyCatchesReplayedHeadWithCheckpointsKeptElsewhere(t *testing.T) {
	w := newTown(t)
	w.appendN(t, 4)
	w.appendN(t, 3)
	at7 := readFile(t, w.path(".audit-head"))
	w.appendN(t, 3)
	exported := w.exportStored(t)
	w.close()
	w.cutTo(t, at7, func(old, _ []byte) []byte { return old })
	w.open(t)
	r := w.verify(t, audit.VerifyOptions{})
	if !r.SealChecked || r.Entries != 7 {
		t.Fatalf("report %+v: want the replayed head's seal verifying, 7 entries", r)
	}
	wantProblem(t, r, "checkpoint of entry 10 (signed 2026-01-05T09:03:00Z) lies beyond the head (entry 7)")

	// The intruder deletes the checkpoints kept in the store as well.
	w.close()
	db, err := sql.Open("sqlite", "file:"+w.path(".db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("DELETE FROM record WHERE kind = ? AND id > ?", audit.CheckpointKind, audit.CheckpointID(7)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	w.open(t)
	if r := w.verify(t, audit.VerifyOptions{}); !r.Intact() {
		t.Fatalf("report %+v: with the store's copies gone, nothing in the store tells", r)
	}
	r = w.verify(t, audit.VerifyOptions{Checkpoints: exported, Source: "export"})
	wantProblem(t, r, "checkpoint of entry 10 (signed 2026-01-05T09:03:00Z) lies beyond the head (entry 7)")

	// The checkpointer (restarted: w.open made a new one) finds the checkpoint of entry 10 in
	// its directory outside the store and refuses to sign the cut trail.
	if _, err := w.st.AppendAudit(ctx, "misato", []store.AuditEntry{{Time: w.clock, Record: []byte(`{}`), Agent: "a"}}); err != nil {
		t.Fatal(err)
	}
	if err := w.cp.Pass(ctx, true); !errors.Is(err, audit.ErrRefused) || !strings.Contains(err.Error(), "before the last checkpoint's entry 10") {
		t.Fatalf("checkpointer on the cut trail: %v, want ErrRefused", err)
	}
}

// TestVerifyCatchesForgedCheckpoints: a checkpoint whose signature does not verify, one signed by
// a key other than the trusted one, and one of a rewritten history are each reported; without a
// pinned key the report says the checkpoints were not vouched for.
func TestVerifyCatchesForgedCheckpoints(t *testing.T) {
	w := newTown(t)
	w.appendN(t, 4)
	w.appendN(t, 3)
	cs := w.exportStored(t)
	badSig := cs[1]
	badSig.Sig = bytes.Clone(badSig.Sig)
	badSig.Sig[5] ^= 1
	_, intruder, _ := ed25519.GenerateKey(rand.Reader)
	otherKey := audit.SignCheckpoint(intruder, "misato", 9, bytes.Repeat([]byte{1}, 32), w.clock) // beyond the head, too
	rewritten := audit.SignCheckpoint(w.signer, "misato", 5, bytes.Repeat([]byte{2}, 32), w.clock)
	r := w.verify(t, audit.VerifyOptions{Checkpoints: []audit.Checkpoint{badSig, otherKey, rewritten}, Source: "file"})
	wantProblem(t, r, "checkpoint of entry 7 (signed 2026-01-05T09:02:00Z) (file, tenant \"misato\"): audit: the checkpoint's signature does not verify")
	wantProblem(t, r, "checkpoint of entry 9 (signed 2026-01-05T09:02:00Z) (file, tenant \"misato\"): audit: the checkpoint is signed with a key that is not trusted")
	wantProblem(t, r, "the history up to entry 5 was rewritten")
	if len(r.Problems) != 3 {
		t.Fatalf("problems %q, want exactly those 3 (the forged one beyond the head is not trusted)", r.Problems)
	}
	r = w.verify(t, audit.VerifyOptions{Trusted: []ed25519.PublicKey{}, Checkpoints: []audit.Checkpoint{otherKey}})
	if len(r.Unchecked) == 0 {
		t.Fatal("no pinned checkpoint key, and the report does not say so")
	}
	wantProblem(t, r, "checkpoint of entry 9 (signed 2026-01-05T09:02:00Z) lies beyond the head")
}

// TestVerifySealedLater: a trail written without the key, then opened with it, is sealed from
// its head then; Verify reports where and when sealing began.
func TestVerifySealedLater(t *testing.T) {
	w := newTown(t)
	w.close()
	key := w.headKey
	w.headKey = nil
	w.open(t)
	w.appendN(t, 2)
	w.close()
	w.headKey = key
	w.open(t)
	w.appendN(t, 2)
	r := w.verify(t, audit.VerifyOptions{})
	if !r.Intact() || r.Seal.From != 2 || r.Seal.FromTime.IsZero() {
		t.Fatalf("report %+v: want intact, sealed from entry 2", r)
	}
}

func TestCheckpointSignatureAndLine(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	at := time.Date(2026, 1, 5, 9, 0, 0, 123456789, time.FixedZone("JST", 9*3600))
	c := audit.SignCheckpoint(key, "misato", 1200, bytes.Repeat([]byte{0xab}, 32), at)
	if want := "kodomohub audit checkpoint v1\nmisato\n1200\n" + strings.Repeat("ab", 32) + "\n2026-01-05T00:00:00.123Z\n"; string(c.Message()) != want {
		t.Fatalf("Message = %q, want %q (third parties rebuild it from the documentation)", c.Message(), want)
	}
	if err := c.Check(key.Public().(ed25519.PublicKey)); err != nil {
		t.Fatal(err)
	}
	got, err := audit.ReadCheckpoints(bytes.NewReader(append(append(c.MarshalLine(), '\n'), c.MarshalLine()...)))
	if err != nil || len(got) != 2 || got[1].Check() != nil || !got[1].Time.Equal(c.Time) {
		t.Fatalf("read back %+v, %v", got, err)
	}
	for name, change := range map[string]func(*audit.Checkpoint){
		"seq":    func(c *audit.Checkpoint) { c.Seq++ },
		"tenant": func(c *audit.Checkpoint) { c.Tenant = "kawajima" },
		"time":   func(c *audit.Checkpoint) { c.Time = c.Time.Add(time.Millisecond) },
		"hash":   func(c *audit.Checkpoint) { c.Hash = bytes.Repeat([]byte{0xac}, 32) },
	} {
		d := c
		change(&d)
		if err := d.Check(); !errors.Is(err, audit.ErrBadSignature) {
			t.Errorf("%s changed: %v, want ErrBadSignature", name, err)
		}
	}
	whole := audit.SignCheckpoint(key, "misato", 1, bytes.Repeat([]byte{1}, 32), time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	if line := whole.MarshalLine(); !bytes.Contains(line, []byte(`"time":"2026-01-05T09:00:00.000Z"`)) {
		t.Fatalf("line %s: want the time as the message has it", line)
	}
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	if err := c.Check(other.Public().(ed25519.PublicKey)); !errors.Is(err, audit.ErrUntrustedKey) {
		t.Fatalf("another trusted key: %v, want ErrUntrustedKey", err)
	}
}

// TestCheckpointerRunMakesOneAtShutdown: a checkpoint when Run starts (none of the head yet),
// none while nothing is due, and one of the entries appended since when its context ends.
func TestCheckpointerRunMakesOneAtShutdown(t *testing.T) {
	w := newTown(t)
	w.cp.Every, w.cp.Poll = 1000, 10*time.Millisecond
	w.appendN(t, 2) // the first pass checkpoints the new head: nothing was before
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- w.cp.Run(rctx) }()
	es := []store.AuditEntry{{Time: w.clock, Record: []byte(`{}`), Agent: "a", Entity: "Patient"}}
	if _, err := w.st.AppendAudit(ctx, "misato", es); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if cs := w.exportStored(t); len(cs) != 1 || cs[0].Seq != 2 {
		t.Fatalf("stored checkpoints %+v while running, want only entry 2's (entry 3 is not due)", cs)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if cs := w.exportStored(t); len(cs) != 2 || cs[1].Seq != 3 {
		t.Fatalf("stored checkpoints %+v after shutdown, want entry 3's too", cs)
	}
	if r := w.verify(t, audit.VerifyOptions{}); !r.Intact() || r.Checkpoints != 2 {
		t.Fatalf("report %+v", r)
	}
}

func TestKeyFiles(t *testing.T) {
	dir := t.TempDir()
	head, sign := filepath.Join(dir, "keys", "audit.key"), filepath.Join(dir, "keys", "audit-signing.pem")
	if created, err := audit.CreateHeadKey(head); err != nil || !created {
		t.Fatalf("CreateHeadKey: %v %v", created, err)
	}
	first := readFile(t, head)
	if created, err := audit.CreateHeadKey(head); err != nil || created || !bytes.Equal(readFile(t, head), first) {
		t.Fatalf("CreateHeadKey of an existing file: created %v, %v; it must stay as it was", created, err)
	}
	if fi, _ := os.Stat(head); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", fi.Mode().Perm())
	}
	k, err := audit.LoadHeadKey(head)
	if err != nil {
		t.Fatal(err)
	}
	seal := store.AuditSeal{Seq: 1, Hash: make([]byte, 32)}
	seal.MAC = k.MAC("misato", seal)
	if k2, _ := audit.LoadHeadKey(head); !k2.Verify("misato", seal) {
		t.Fatal("the key loaded twice seals differently")
	}
	os.Chmod(head, 0o644)
	if _, err := audit.LoadHeadKey(head); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("a key file others may read: %v, want it refused", err)
	}

	if created, err := audit.CreateSigningKey(sign); err != nil || !created {
		t.Fatalf("CreateSigningKey: %v %v", created, err)
	}
	priv, err := audit.LoadSigningKey(sign)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := audit.LoadPublicKey(sign)
	if err != nil || !pub.Equal(priv.Public()) {
		t.Fatalf("LoadPublicKey of the signing key: %v", err)
	}
	pubFile := filepath.Join(dir, "audit-signing.pub.pem")
	os.WriteFile(pubFile, audit.PublicKeyPEM(pub), 0o644)
	if got, err := audit.LoadPublicKey(pubFile); err != nil || !got.Equal(pub) {
		t.Fatalf("LoadPublicKey of the PEM public key: %v", err)
	}
}
