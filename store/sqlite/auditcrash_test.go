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

package sqlite_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kodomohub/kodomohub/audit"

	"github.com/kodomohub/kodomohub/store"
	"github.com/kodomohub/kodomohub/store/sqlite"
)

const auditCrashDirEnv = "KODOMOHUB_SQLITE_AUDIT_CRASH_DIR"

// auditCrashEntries returns the entries of append i of goroutine g of process who: 1 to 3
// canonical audit records naming them.
func auditCrashEntries(who string, g, i int) []store.AuditEntry {
	es := make([]store.AuditEntry, 1+i%3)
	for k := range es {
		r := audit.Record{Recorded: time.Now(), Action: "R", Outcome: "0", Subject: fmt.Sprintf("%s-%d-%d-%d", who, g, i, k)}
		es[k] = store.AuditEntry{Time: r.Recorded, Record: r.Canonical(), Agent: r.Subject, Action: "R", Outcome: "0"}
	}
	return es
}

// TestAuditCrashHelper is the appending process of TestAuditKillAppenderProcess: 4 goroutines
// append and print "ok SEQ SUBJECT" for each acknowledged entry, until killed.
func TestAuditCrashHelper(t *testing.T) {
	dir := os.Getenv(auditCrashDirEnv)
	if dir == "" {
		t.Skip("run by TestAuditKillAppenderProcess")
	}
	s, err := sqlite.Open(dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	runWriters(4, func(g, k int) ([]string, error) {
		got, err := s.AppendAudit(context.Background(), "misato", auditCrashEntries("helper", g, k))
		var lines []string
		for _, e := range got {
			lines = append(lines, fmt.Sprint("ok ", e.Seq, " ", e.Agent))
		}
		return lines, err
	})
}

// TestAuditKillAppenderProcess appends to one trail from this process and from another one,
// kills the other with SIGKILL in the middle of its appends, and goes on appending: the chain
// verifies, and every entry either process acknowledged is in it where it was acknowledged.
func TestAuditKillAppenderProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	dir := t.TempDir()
	s := mustOpen(t, dir, sqlite.Options{})
	defer s.Close()
	if err := s.CreateTenant(ctx, store.Tenant{ID: "misato"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendAudit(ctx, "misato", auditCrashEntries("main", 0, 0)); err != nil {
		t.Fatal(err)
	}

	sc, kill := startHelper(t, "TestAuditCrashHelper", auditCrashDirEnv, dir)
	acked := map[int64]string{} // seq → agent
	var mu sync.Mutex
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for g := range 2 { // this process appends meanwhile
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 1; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				got, err := s.AppendAudit(ctx, "misato", auditCrashEntries("main", g, i))
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				for _, e := range got {
					acked[e.Seq] = e.Agent
				}
				mu.Unlock()
			}
		}()
	}
	helper := 0
	for sc.Scan() && helper < 2000 {
		line := sc.Text()
		f := strings.Fields(line)
		if len(f) != 3 || f[0] != "ok" {
			t.Fatal(line)
		}
		seq, _ := strconv.ParseInt(f[1], 10, 64)
		mu.Lock()
		acked[seq] = f[2]
		mu.Unlock()
		helper++
	}
	kill()                            // while its goroutines are mid-append
	time.Sleep(20 * time.Millisecond) // this process goes on appending past the dead one's remains
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if helper < 2000 {
		t.Fatalf("the helper acknowledged only %d entries", helper)
	}
	if _, err := s.AppendAudit(ctx, "misato", auditCrashEntries("main", 9, 0)); err != nil {
		t.Fatal(err)
	}

	head, err := audit.VerifyLog(ctx, s, "misato")
	if err != nil {
		t.Fatalf("VerifyAuditLog after the kill: %v", err)
	}
	var all []store.AuditEntry
	for after := int64(0); after < head.Seq; {
		es, err := s.AuditEntries(ctx, "misato", after, 1000)
		if err != nil || len(es) == 0 {
			t.Fatalf("AuditEntries(after %d): %d entries, %v", after, len(es), err)
		}
		all = append(all, es...)
		after = es[len(es)-1].Seq
	}
	for seq, agent := range acked {
		if e := all[seq-1]; e.Agent != agent || !bytes.Contains(e.Record, []byte(agent)) {
			t.Fatalf("acknowledged entry %d (%s) holds %s", seq, agent, e.Agent)
		}
	}
	t.Logf("%d entries, %d acknowledged (%d by the killed process)", len(all), len(acked), helper)
}
