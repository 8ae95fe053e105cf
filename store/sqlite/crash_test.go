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
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/kodomohub/kodomohub/store"
	"github.com/kodomohub/kodomohub/store/sqlite"
)

const crashDirEnv = "KODOMOHUB_SQLITE_CRASH_DIR"

const crashBundle = 20

// TestCrashHelper is the writer process of TestCrashKeepsAcknowledgedCommits: it commits
// bundles from 4 goroutines and prints "ok N" after bundle N is acknowledged, until killed.
func TestCrashHelper(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("run by TestCrashKeepsAcknowledgedCommits")
	}
	s, err := sqlite.Open(dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	runWriters(4, func(g, k int) ([]string, error) {
		i := g + 4*k
		ws := make([]store.Write, crashBundle)
		for j := range ws {
			n := i*crashBundle + j
			ws[j] = benchPatient(fmt.Sprint("p", n), n)
		}
		_, err := s.Commit(ctx, "misato", ws)
		return []string{fmt.Sprint("ok ", i)}, err
	})
}

// TestCrashKeepsAcknowledgedCommits kills a writing process with SIGKILL and checks that every
// acknowledged Commit survived and that every other one is absent or complete.
func TestCrashKeepsAcknowledgedCommits(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	dir := t.TempDir()
	s := mustOpen(t, dir, sqlite.Options{})
	if err := s.CreateTenant(ctx, store.Tenant{ID: "misato"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Commit(ctx, "misato", []store.Write{{Type: "Organization", ID: "org1", Action: store.Create,
		Resource: []byte(`{"resourceType":"Organization"}`)}}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	sc, kill := startHelper(t, "TestCrashHelper", crashDirEnv, dir)
	acked := map[int]bool{}
	for sc.Scan() && len(acked) < 40 {
		line := sc.Text()
		if n, ok := strings.CutPrefix(line, "ok "); ok {
			i, _ := strconv.Atoi(n)
			acked[i] = true
		} else if strings.HasPrefix(line, "error") {
			t.Fatal(line)
		}
	}
	kill() // while the other goroutines are mid-commit
	if len(acked) < 40 {
		t.Fatalf("helper acknowledged only %d bundles", len(acked))
	}

	s = mustOpen(t, dir, sqlite.Options{})
	defer s.Close()
	maxBundle := 0
	for i := range acked {
		maxBundle = max(maxBundle, i)
	}
	for i := 0; i <= maxBundle+8; i++ {
		present := 0
		for j := range crashBundle {
			_, err := s.Read(ctx, "misato", "Patient", fmt.Sprint("p", i*crashBundle+j))
			switch {
			case err == nil:
				present++
			case !errors.Is(err, store.ErrNotFound):
				t.Fatal(err)
			}
		}
		if acked[i] && present != crashBundle || present != 0 && present != crashBundle {
			t.Fatalf("bundle %d (acknowledged %v): %d of %d resources present", i, acked[i], present, crashBundle)
		}
	}
	evs, err := s.Events(ctx, "misato", 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range evs {
		if e.Seq != int64(i+1) {
			t.Fatalf("event %d has seq %d: a gap", i, e.Seq)
		}
	}
	// The store still takes writes after the crash.
	if _, err := s.Commit(ctx, "misato", []store.Write{benchPatient("after", 1)}); err != nil {
		t.Fatal(err)
	}
}
