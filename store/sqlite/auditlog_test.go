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
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kodomohub/kodomohub/audit"

	"github.com/kodomohub/kodomohub/store"
	"github.com/kodomohub/kodomohub/store/storetest"
)

// These tests damage the files of an audit trail the way a crash or a person would, and check
// what readers, the next append and audit.VerifyLog make of it.

// syncModes runs a test with the log fdatasynced (FULL) and not (NORMAL).
func syncModes(t *testing.T, fn func(t *testing.T, opts Options)) {
	for _, mode := range []string{"NORMAL", "FULL"} {
		t.Run(mode, func(t *testing.T) { fn(t, Options{Synchronous: mode}) })
	}
}

// auditTrail is a tenant's trail in a data directory that tests reopen.
type auditTrail struct {
	dir  string
	opts Options
	next int // the number of the next record
	logs logBuffer
}

// logBuffer keeps what the stores log.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newAuditTrail(t *testing.T, opts Options) *auditTrail {
	t.Helper()
	a := &auditTrail{dir: t.TempDir(), opts: opts}
	a.opts.Logger = slog.New(slog.NewTextHandler(&a.logs, nil))
	s := a.open(t)
	defer s.Close()
	if err := s.CreateTenant(context.Background(), store.Tenant{ID: "misato"}); err != nil {
		t.Fatal(err)
	}
	return a
}

func (a *auditTrail) open(t *testing.T) *Store {
	t.Helper()
	s, err := Open(a.dir, a.opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (a *auditTrail) logPath() string  { return filepath.Join(a.dir, "tenants", "misato.audit") }
func (a *auditTrail) headPath() string { return filepath.Join(a.dir, "tenants", "misato.audit-head") }

// records returns n records as the server writes them (audit.Record.Canonical), numbered
// on from the last ones.
func (a *auditTrail) records(n int) []audit.Record {
	rs := make([]audit.Record, n)
	for i := range rs {
		k := a.next + i
		rs[i] = audit.Record{Recorded: time.Date(2025, 4, 1, 9, 0, k, 0, time.UTC), Action: "R", Interaction: "read",
			Outcome: "0", Status: 200, Subject: fmt.Sprintf("staff-%04d", k), ClientID: "dashboard",
			ResourceType: "Observation", ResourceID: fmt.Sprint("o", k), Patients: []string{fmt.Sprint("Patient/c", k%3)}}
	}
	a.next += n
	return rs
}

// appendN appends n records in one AppendAudit.
func (a *auditTrail) appendN(t *testing.T, s *Store, n int) error {
	t.Helper()
	return audit.StoreSink{Log: s}.Append(context.Background(), "misato", a.records(n))
}

func (a *auditTrail) mustAppend(t *testing.T, s *Store, n int) {
	t.Helper()
	if err := a.appendN(t, s, n); err != nil {
		t.Fatalf("AppendAudit: %v", err)
	}
}

// mustVerify checks the chain with audit.VerifyLog and that it ends at entry want.
func mustVerify(t *testing.T, s *Store, want int64) {
	t.Helper()
	head, err := audit.VerifyLog(context.Background(), s, "misato")
	if err != nil {
		t.Fatalf("VerifyAuditLog: %v", err)
	}
	if head.Seq != want {
		t.Fatalf("VerifyAuditLog: the chain ends at %d, want %d", head.Seq, want)
	}
	es, next, err := s.SearchAudit(context.Background(), "misato", store.AuditQuery{Count: maxCount})
	if err != nil || (next == 0) != (want <= maxCount) || int64(len(es)) != min(want, maxCount) || want > 0 && es[0].Seq != want {
		t.Fatalf("SearchAudit finds %d entries (next %d, %v), want %d from %d", len(es), next, err, min(want, maxCount), want)
	}
}

// mustBreakAt checks that audit.VerifyLog reports a break at seq.
func mustBreakAt(t *testing.T, s *Store, seq int64) {
	t.Helper()
	_, err := audit.VerifyLog(context.Background(), s, "misato")
	var ce *audit.ChainError
	if !errors.As(err, &ce) || ce.Seq != seq {
		t.Fatalf("VerifyAuditLog: %v, want a *audit.ChainError at seq %d", err, seq)
	}
}

// head reads the head file as it is on disk.
func (a *auditTrail) head(t *testing.T) auditHead {
	t.Helper()
	f, err := os.Open(a.headPath())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, ok, err := readHead(f)
	if err != nil || !ok {
		t.Fatalf("head file: %v (ok %v)", err, ok)
	}
	return h
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func appendBytes(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}

func readBytes(t *testing.T, path string, off, end int64) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b[off:end]
}

// TestAuditLogTornTail leaves half a frame at the end of the log, as a power loss during a
// write does: readers ignore it, and the next append (of this store, or of a store opened
// afterwards) cuts it off and continues the chain.
func TestAuditLogTornTail(t *testing.T) {
	syncModes(t, func(t *testing.T, opts Options) {
		a := newAuditTrail(t, opts)
		s := a.open(t)
		defer func() { s.Close() }()
		a.mustAppend(t, s, 2)
		a.mustAppend(t, s, 3)
		h := a.head(t)
		last := readBytes(t, a.logPath(), h.off, h.end)
		appendBytes(t, a.logPath(), last[:len(last)/2])

		if seq, hash, err := s.AuditHead(context.Background(), "misato"); err != nil || seq != 5 || !bytes.Equal(hash, h.hash[:]) {
			t.Fatalf("AuditHead with a torn tail = %d %x, %v; want 5 %x", seq, hash, err, h.hash)
		}
		mustVerify(t, s, 5)
		a.mustAppend(t, s, 1)
		mustVerify(t, s, 6)
		if got, want := fileSize(t, a.logPath()), a.head(t).end; got != want {
			t.Fatalf("log of %d bytes after the append, want %d: the torn frame was not cut off", got, want)
		}
		if logs := a.logs.String(); !strings.Contains(logs, "cut a torn tail") || strings.Contains(logs, "ERROR") {
			t.Fatalf("want the cut of the torn tail logged as a warning; logs:\n%s", logs)
		}

		// Torn again, then opened afresh: the first opening cuts it.
		s.Close()
		h = a.head(t)
		appendBytes(t, a.logPath(), readBytes(t, a.logPath(), h.off, h.end)[:frameHead+3])
		s = a.open(t)
		mustVerify(t, s, 6)
		a.mustAppend(t, s, 2)
		mustVerify(t, s, 8)
		if got, want := fileSize(t, a.logPath()), a.head(t).end; got != want {
			t.Fatalf("log of %d bytes, want %d", got, want)
		}
	})
}

// TestAuditLogAdoptsWholeAppends stops an appender between its write and its head update (the
// head file is put back as it was): the next opening keeps the entries of every AppendAudit
// written whole, cuts the frames of one written in part, and the chain goes on from there. On a
// sealed trail the adopted head is the seal of the last whole group, which verifies.
func TestAuditLogAdoptsWholeAppends(t *testing.T) {
	for _, sealed := range []bool{false, true} {
		t.Run(map[bool]string{false: "Unsealed", true: "Sealed"}[sealed], func(t *testing.T) {
			syncModes(t, func(t *testing.T, opts Options) {
				if sealed {
					opts.AuditKey = storetest.NewAuditKey(t)
				}
				testAdoptsWholeAppends(t, opts)
			})
		})
	}
}

func testAdoptsWholeAppends(t *testing.T, opts Options) {
	a := newAuditTrail(t, opts)
	s := a.open(t)
	a.mustAppend(t, s, 3)
	s.Close()
	oldHead, err := os.ReadFile(a.headPath())
	if err != nil {
		t.Fatal(err)
	}
	s = a.open(t)
	a.mustAppend(t, s, 2) // entries 4 and 5: written whole
	whole := a.head(t)
	a.mustAppend(t, s, 2) // entries 6 and 7: the write stops inside entry 7
	s.Close()
	last := a.head(t)
	if err := os.WriteFile(a.headPath(), oldHead, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(a.logPath(), last.off+20); err != nil { // inside entry 7
		t.Fatal(err)
	}
	if h := a.head(t); h.seq != 3 {
		t.Fatalf("head put back at %d, want 3", h.seq)
	}

	s = a.open(t)
	defer s.Close()
	if seq, hash, err := s.AuditHead(context.Background(), "misato"); err != nil || seq != 5 || !bytes.Equal(hash, whole.hash[:]) {
		t.Fatalf("AuditHead = %d %x, %v; want the whole appends adopted: 5 %x", seq, hash, err, whole.hash)
	}
	if got := fileSize(t, a.logPath()); got != whole.end {
		t.Fatalf("log of %d bytes, want %d: the partial append was not cut off", got, whole.end)
	}
	mustVerify(t, s, 5)
	if h := a.head(t); opts.AuditKey != nil && (!h.sealed || !opts.AuditKey.Verify("misato", h.seal())) {
		t.Fatalf("the adopted head %+v is not sealed under the key", h)
	}
	a.mustAppend(t, s, 1)
	mustVerify(t, s, 6)
}

// TestAuditLogCutIsRefused removes entries from the end of the log: appends fail (the hub fails
// closed), in the process that saw the entries and in one opened afterwards, and
// audit.VerifyLog reports where the chain breaks.
func TestAuditLogCutIsRefused(t *testing.T) {
	for _, c := range []struct {
		name string
		cut  func(h auditHead) int64 // the log's new length
		at   int64                   // where VerifyAuditLog sees the break
	}{
		{"LastEntry", func(h auditHead) int64 { return h.off }, 5},
		{"InsideLastEntry", func(h auditHead) int64 { return h.end - 1 }, 5},
		{"Everything", func(auditHead) int64 { return 0 }, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := newAuditTrail(t, Options{})
			s := a.open(t)
			defer func() { s.Close() }()
			a.mustAppend(t, s, 3)
			a.mustAppend(t, s, 2)
			if err := os.Truncate(a.logPath(), c.cut(a.head(t))); err != nil {
				t.Fatal(err)
			}
			if err := a.appendN(t, s, 1); !errors.Is(err, store.ErrUnavailable) {
				t.Fatalf("AppendAudit after the cut: %v, want ErrUnavailable", err)
			}
			mustBreakAt(t, s, c.at)
			if err := a.appendN(t, s, 1); !errors.Is(err, store.ErrUnavailable) {
				t.Fatalf("a second AppendAudit after the cut: %v, want ErrUnavailable", err)
			}
			if logs := a.logs.String(); strings.Count(logs, "level=ERROR msg=\"store/sqlite: the audit log was cut") != 1 {
				t.Fatalf("want the cut logged once as an error; logs:\n%s", logs)
			}
			s.Close()
			s = a.open(t)
			if err := a.appendN(t, s, 1); !errors.Is(err, store.ErrUnavailable) {
				t.Fatalf("AppendAudit of a store opened after the cut: %v, want ErrUnavailable", err)
			}
			mustBreakAt(t, s, c.at)
		})
	}
	t.Run("LogRemoved", func(t *testing.T) {
		a := newAuditTrail(t, Options{})
		s := a.open(t)
		a.mustAppend(t, s, 2)
		s.Close()
		if err := os.Remove(a.logPath()); err != nil {
			t.Fatal(err)
		}
		s = a.open(t)
		defer s.Close()
		if err := a.appendN(t, s, 1); !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("AppendAudit without the log: %v, want ErrUnavailable", err)
		}
		mustBreakAt(t, s, 1)
	})
	t.Run("HeadRemoved", func(t *testing.T) {
		a := newAuditTrail(t, Options{})
		s := a.open(t)
		a.mustAppend(t, s, 2)
		s.Close()
		if err := os.Remove(a.headPath()); err != nil {
			t.Fatal(err)
		}
		s = a.open(t)
		defer s.Close()
		if err := a.appendN(t, s, 1); !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("AppendAudit without the head: %v, want ErrUnavailable", err)
		}
		if _, err := audit.VerifyLog(context.Background(), s, "misato"); err == nil {
			t.Fatal("VerifyAuditLog passes without the head file")
		}
	})
}

// TestAuditLogChangedByte changes one byte of a stored record: verification breaks at that
// entry (the reader returns the frame as stored although its CRC fails).
func TestAuditLogChangedByte(t *testing.T) {
	a := newAuditTrail(t, Options{})
	s := a.open(t)
	defer s.Close()
	a.mustAppend(t, s, 4)
	a.mustAppend(t, s, 3)
	mustVerify(t, s, 7)
	b, err := os.ReadFile(a.logPath())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		what string
		seq  int64
	}{{"staff-0002", 3}, {"staff-0006", 7}} { // in the middle, then the last entry
		at := bytes.Index(b, []byte(c.what+`"`)) // in the record, not the agent field
		if at < 0 {
			t.Fatalf("%s not in the log", c.what)
		}
		b[at] = 'S'
		if err := os.WriteFile(a.logPath(), b, 0o640); err != nil {
			t.Fatal(err)
		}
		mustBreakAt(t, s, 3)
		es, err := s.AuditEntries(context.Background(), "misato", c.seq-1, 1)
		if err != nil || len(es) != 1 || !bytes.Contains(es[0].Record, []byte("Staff")) {
			t.Fatalf("AuditEntries of the changed entry %d: %d entries, %v; want it as stored", c.seq, len(es), err)
		}
	}
}

// TestAuditLogTwoStoresAppendAndIndex appends from two stores on one directory at once: one
// chain, every entry indexed once, and each store's search sees the other's entries.
func TestAuditLogTwoStoresAppendAndIndex(t *testing.T) {
	a := newAuditTrail(t, Options{})
	s0, s1 := a.open(t), a.open(t)
	defer s0.Close()
	defer s1.Close()
	const rounds = 40
	errs := make(chan error, 8)
	for i := range 8 {
		s := []*Store{s0, s1}[i%2]
		go func() {
			var err error
			for r := 0; r < rounds && err == nil; r++ {
				rs := make([]audit.Record, 1+r%3)
				for k := range rs {
					rs[k] = audit.Record{Recorded: time.Now(), Action: "R", Outcome: "0", Subject: fmt.Sprint("store-", i%2)}
				}
				err = audit.StoreSink{Log: s}.Append(context.Background(), "misato", rs)
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	total := int64(8 * (rounds / 3 * 6)) // 1+2+3 entries per three rounds
	total += int64(8 * []int{0, 1, 3}[rounds%3])
	for _, s := range []*Store{s0, s1} {
		mustVerify(t, s, total)
		for i := range 2 {
			es, _, err := s.SearchAudit(context.Background(), "misato", store.AuditQuery{Agent: fmt.Sprint("store-", i), Count: 1000})
			if err != nil || int64(len(es)) != total/2 {
				t.Fatalf("SearchAudit(agent store-%d) = %d entries, %v; want %d", i, len(es), err, total/2)
			}
		}
	}
	td, err := s0.tenantDB(context.Background(), "misato")
	if err != nil {
		t.Fatal(err)
	}
	al, err := td.auditLog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var entries, indexed int64
	if err := al.ix.r.QueryRow("SELECT sum(hi - lo + 1), max(hi) FROM block").Scan(&entries, &indexed); err != nil {
		t.Fatal(err)
	}
	if entries != total || indexed != total {
		t.Fatalf("index: %d entries in blocks, indexed up to %d; want %d", entries, indexed, total)
	}
}

// TestAuditLogReadsAfterLaggingIndex reads entries that are not indexed yet (the background
// catch-up has not run) by seq, from anywhere: AuditEntries scans on from the end of the index.
func TestAuditLogReadsAfterLaggingIndex(t *testing.T) {
	a := newAuditTrail(t, Options{})
	s := a.open(t)
	defer s.Close()
	for range 10 {
		a.mustAppend(t, s, 7)
	}
	for _, after := range []int64{0, 1, 33, 68, 69, 70} {
		es, err := s.AuditEntries(context.Background(), "misato", after, 5)
		if err != nil {
			t.Fatal(err)
		}
		want := min(5, 70-after)
		if int64(len(es)) != want || want > 0 && es[0].Seq != after+1 {
			t.Fatalf("AuditEntries(after %d, 5) = %d entries from %v, want %d from %d", after, len(es), seqsOf(es), want, after+1)
		}
	}
	mustVerify(t, s, 70)
	for _, after := range []int64{0, 1, 33, 68, 69} { // now through the index
		es, err := s.AuditEntries(context.Background(), "misato", after, 1)
		if err != nil || len(es) != 1 || es[0].Seq != after+1 {
			t.Fatalf("AuditEntries(after %d, 1) = %v, %v", after, seqsOf(es), err)
		}
	}
}

func seqsOf(es []store.AuditEntry) []int64 {
	var seqs []int64
	for _, e := range es {
		seqs = append(seqs, e.Seq)
	}
	return seqs
}

// TestMigrationFromV4Audit opens a tenant database whose audit trail migration 4 kept in its
// tables: the first opening copies it into the log as stored, indexes it and drops the old
// tables; a trail that does not end at its head is not migrated.
func TestMigrationFromV4Audit(t *testing.T) {
	for _, cut := range []bool{false, true} {
		t.Run(map[bool]string{false: "OK", true: "ErrCutTrail"}[cut], func(t *testing.T) {
			ctx := context.Background()
			a := newAuditTrail(t, Options{})
			db, err := sql.Open("sqlite", "file:"+filepath.Join(a.dir, "tenants", "misato.db"))
			if err != nil {
				t.Fatal(err)
			}
			if err := migrate(ctx, db, tenantMigrations[:5]); err != nil {
				t.Fatal(err)
			}
			tx, err := db.Begin()
			if err != nil {
				t.Fatal(err)
			}
			prev := store.AuditGenesis
			const n = 5000
			for i, r := range a.records(n) {
				seq := int64(i + 1)
				rec := r.Canonical()
				prev = store.AuditLink(prev, seq, rec)
				if _, err := tx.Exec(`INSERT INTO audit (seq, hash, ts, record, agent, patients, etype, entity, action, outcome)
					VALUES (?, ?, ?, ?, ?, ?, 'Observation', ?, 'R', '0')`, seq, prev, r.Recorded.UnixMilli(), rec, r.Subject,
					`["`+r.Patients[0]+`"]`, "Observation/"+r.ResourceID); err != nil {
					t.Fatal(err)
				}
			}
			headSeq := int64(n)
			if cut {
				headSeq++
			}
			if _, err := tx.Exec(`INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?)`, headSeq, prev); err != nil {
				t.Fatal(err)
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			db.Close()

			s := a.open(t)
			defer s.Close()
			if cut {
				if err := a.appendN(t, s, 1); !errors.Is(err, store.ErrUnavailable) {
					t.Fatalf("AppendAudit on a cut v4 trail: %v, want ErrUnavailable", err)
				}
				return
			}
			mustVerify(t, s, n)
			es, _, err := s.SearchAudit(ctx, "misato", store.AuditQuery{Patient: "Patient/c1", Agent: "staff-0004"})
			if err != nil || len(es) != 1 || es[0].Seq != 5 || es[0].Entity != "Observation/o4" {
				t.Fatalf("SearchAudit of a migrated entry: %+v, %v", es, err)
			}
			a.mustAppend(t, s, 2)
			mustVerify(t, s, n+2)
			td, _ := s.tenantDB(ctx, "misato")
			var left int
			if err := td.r.QueryRow("SELECT count(*) FROM sqlite_master WHERE name IN ('audit_v4', 'audit_head_v4', 'audit', 'audit_patient', 'audit_indexed')").Scan(&left); err != nil || left != 0 {
				t.Fatalf("%d tables of migrations 4 and 5 left, %v", left, err)
			}
		})
	}
}

// TestAuditAppendCanceled appends from many goroutines whose contexts end at random moments,
// while leaders hand the lead over: nothing hangs, an append that returned its context's error
// wrote nothing, and every entry stored was returned to its caller.
func TestAuditAppendCanceled(t *testing.T) {
	a := newAuditTrail(t, Options{})
	s := a.open(t)
	defer s.Close()
	a.mustAppend(t, s, 1)
	var (
		mu       sync.Mutex
		returned = map[int64]string{}
		canceled int
		wg       sync.WaitGroup
	)
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 150 {
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration(i%7)*20*time.Microsecond)
				n := fmt.Sprintf("w%d-i%d", w, i)
				got, err := s.AppendAudit(ctx, "misato", []store.AuditEntry{{Time: time.Now(), Record: []byte(n), Agent: n}})
				cancel()
				mu.Lock()
				switch {
				case err == nil:
					returned[got[0].Seq] = n
				case errors.Is(err, context.DeadlineExceeded):
					canceled++
				default:
					t.Error(err)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	all, err := s.AuditEntries(context.Background(), "misato", 1, maxEvents)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(returned) {
		t.Fatalf("%d entries stored, %d returned (%d appends canceled)", len(all), len(returned), canceled)
	}
	for _, e := range all {
		if returned[e.Seq] != e.Agent {
			t.Fatalf("entry %d %q was returned as %q", e.Seq, e.Agent, returned[e.Seq])
		}
	}
	if canceled == 0 {
		t.Log("no append was canceled")
	}
	t.Logf("%d appended, %d canceled", len(returned), canceled)
}

// TestAuditLogLockedByAnotherProcess holds the log's lock as another process would: an append
// waits for it up to Options.BusyTimeout, then fails with ErrUnavailable; once it is released,
// appends go on.
func TestAuditLogLockedByAnotherProcess(t *testing.T) {
	a := newAuditTrail(t, Options{BusyTimeout: 50 * time.Millisecond})
	s := a.open(t)
	defer s.Close()
	a.mustAppend(t, s, 1)
	other, err := os.OpenFile(a.logPath(), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if !fileLocks {
		t.Skip("no file locks here")
	}
	if ok, err := tryLockFile(other); !ok || err != nil {
		t.Fatalf("tryLockFile: %v, %v", ok, err)
	}
	start := time.Now()
	if err := a.appendN(t, s, 1); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("AppendAudit while another holds the lock: %v, want ErrUnavailable", err)
	}
	if waited := time.Since(start); waited < 50*time.Millisecond {
		t.Fatalf("gave up after %v, want the busy timeout", waited)
	}
	unlockFile(other)
	a.mustAppend(t, s, 2)
	mustVerify(t, s, 3)
}

// TestAuditIndexBlocks searches a trail indexed in many blocks (each SearchAudit between two
// appends indexes what was appended as a block) with every filter, paging through the results,
// and compares them with a filter over AuditEntries; then again once the index database was
// removed, and once it was overwritten with garbage (both built again from the log).
func TestAuditIndexBlocks(t *testing.T) {
	ctx := context.Background()
	a := newAuditTrail(t, Options{})
	s := a.open(t)
	base := time.Date(2025, 4, 1, 9, 0, 0, 0, time.UTC)
	agents := []string{"dr-sato", "dr-sato2", "nurse-kato", ""}
	entities := []string{"Observation/o1", "Observation", "ObservationDefinition/od1", "Patient/p1", "Immunization/i2", ""}
	k := 0
	for round := range 30 {
		batch := make([]store.AuditEntry, 1+round%7)
		for i := range batch {
			var pats []string
			for p := range k % 4 {
				pats = append(pats, fmt.Sprint("Patient/p", (k+p)%5))
			}
			if k%9 == 0 {
				pats = append(pats, pats...) // a patient named twice
			}
			batch[i] = store.AuditEntry{Time: base.Add(time.Duration((k*37)%101) * time.Minute), Agent: agents[k%len(agents)],
				Entity: entities[k%len(entities)], Action: []string{"R", "C", "E"}[k%3], Outcome: []string{"0", "4"}[min(k%5, 1)],
				Patients: pats, Record: fmt.Appendf(nil, "record %d", k)}
			k++
		}
		if _, err := s.AppendAudit(ctx, "misato", batch); err != nil {
			t.Fatal(err)
		}
		if round%3 != 2 {
			if _, _, err := s.SearchAudit(ctx, "misato", store.AuditQuery{Count: 1}); err != nil {
				t.Fatal(err)
			}
		}
	}
	at := func(m int) time.Time { return base.Add(time.Duration(m) * time.Minute) }
	queries := []store.AuditQuery{{}, {Agent: "dr-sato"}, {Agent: ""}, {Agent: "nobody"}, {Patient: "Patient/p1"},
		{Patient: "Patient/p4", Agent: "nurse-kato"}, {Entity: "Observation"}, {Entity: "Observation/o1"}, {Entity: "Patient"},
		{Action: "E"}, {Outcome: "4"}, {Since: at(50)}, {Until: at(20)}, {Since: at(30), Until: at(31)},
		{Patient: "Patient/p2", Since: at(10), Until: at(70), Action: "R"}, {Entity: "Immunization", Until: at(90), Before: 60},
		{Before: 17}, {Patient: "Patient/p3", Before: 40}}
	check := func(s *Store) {
		t.Helper()
		all, err := s.AuditEntries(ctx, "misato", 0, maxEvents)
		if err != nil || len(all) != k {
			t.Fatalf("AuditEntries: %d entries, %v; want %d", len(all), err, k)
		}
		for _, q := range queries {
			var want []int64
			for i := len(all) - 1; i >= 0; i-- {
				if e := all[i]; storetest.AuditMatch(e, q) {
					want = append(want, e.Seq)
				}
			}
			for _, count := range []int{1, 3, 1000} {
				q := q
				q.Count = count
				var got []int64
				for pages := 0; pages <= k; pages++ {
					es, next, err := s.SearchAudit(ctx, "misato", q)
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, seqsOf(es)...)
					if next == 0 {
						break
					}
					q.Before = next
				}
				if !slices.Equal(got, want) {
					t.Fatalf("%+v: seqs %v, want %v", q, got, want)
				}
			}
		}
		for _, after := range []int64{0, 1, 5, 17, int64(k) - 1} {
			es, err := s.AuditEntries(ctx, "misato", after, 2)
			if err != nil || len(es) == 0 || es[0].Seq != after+1 {
				t.Fatalf("AuditEntries(after %d) = %v, %v", after, seqsOf(es), err)
			}
		}
	}
	check(s)
	al, _, err := s.auditHead(ctx, "misato")
	if err != nil {
		t.Fatal(err)
	}
	var blocks int
	if err := al.ix.r.QueryRow("SELECT count(*) FROM block").Scan(&blocks); err != nil || blocks < 15 {
		t.Fatalf("%d blocks (%v), want many", blocks, err)
	}
	s.Close()
	ixPath := filepath.Join(a.dir, "tenants", "misato.audit-index.db")
	for _, damage := range []func() error{
		func() error { return os.Remove(ixPath) },
		func() error { return os.WriteFile(ixPath, bytes.Repeat([]byte("not a database "), 1000), 0o640) },
	} {
		if err := damage(); err != nil {
			t.Fatal(err)
		}
		s = a.open(t)
		check(s)
		s.Close()
	}
}

// TestAuditLogHeadCutWhileOpen cuts the head file under a process that has it mapped: appends
// fail (ErrUnavailable) instead of the process crashing on a fault of the mapping, and so do
// reads of the head once it is gone.
func TestAuditLogHeadCutWhileOpen(t *testing.T) {
	for _, size := range []int64{0, headSlot} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			a := newAuditTrail(t, Options{})
			s := a.open(t)
			defer s.Close()
			a.mustAppend(t, s, 3)
			al, _, err := s.auditHead(context.Background(), "misato")
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(a.headPath(), size); err != nil {
				t.Fatal(err)
			}
			if size > 0 {
				// Only the check of the paths (once a second) can tell: check them now. Cut to
				// nothing, the mapping faults first.
				al.checked = time.Time{}
			}
			for range 2 {
				if err := a.appendN(t, s, 1); !errors.Is(err, store.ErrUnavailable) {
					t.Fatalf("AppendAudit with the head file cut to %d bytes: %v, want ErrUnavailable", size, err)
				}
			}
			if _, _, err := s.AuditHead(context.Background(), "misato"); size == 0 && err == nil {
				t.Fatal("AuditHead of a head file cut to nothing: no error")
			}
		})
	}
}
