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
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kodomohub/kodomohub/fhir/search"
	"github.com/kodomohub/kodomohub/store"
)

// TestBatchFailureIsolated queues Commits that succeed, Commits that fail and another write
// (fn) while the writer is busy, so that one group transaction takes them all: a failing
// Commit fails alone, whether the batch ran whole or each Commit in its savepoint, the other
// write runs once, and what is stored (versions, index rows, counters) is what the
// successful Commits wrote and nothing else.
func TestBatchFailureIsolated(t *testing.T) {
	for _, tc := range []struct {
		name     string
		failures bool
	}{{"all succeed", false}, {"some fail", true}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s, err := Open(t.TempDir(), Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.CreateTenant(ctx, store.Tenant{ID: "t", Name: "t", ReferentialIntegrity: store.IntegrityStrict}); err != nil {
				t.Fatal(err)
			}
			patient := func(id string) []byte { return []byte(`{"resourceType":"Patient","id":"` + id + `"}`) }
			ix := func(v string) []search.Entry {
				return []search.Entry{{Code: "identifier", Type: search.Token, Kind: search.KindValue, System: "urn:test", Value: v}}
			}
			create := func(id string) store.Write {
				return store.Write{Type: "Patient", ID: id, Action: store.Create, Resource: patient(id), Index: ix(id)}
			}
			if _, err := s.Commit(ctx, "t", []store.Write{create("p0")}); err != nil {
				t.Fatal(err)
			}
			tdb, err := s.tenantDB(ctx, "t")
			if err != nil {
				t.Fatal(err)
			}

			// Hold the writer, queue the batch behind it, then let it go.
			started, release := make(chan struct{}), make(chan struct{})
			go s.write(ctx, "t", "hold", func(context.Context, *tenantDB) error {
				close(started)
				<-release
				return nil
			})
			<-started
			type job struct {
				writes  []store.Write
				wantErr error
			}
			jobs := []job{
				{writes: []store.Write{create("a1"), create("a2")}},
				{writes: []store.Write{{Type: "Patient", ID: "p0", Action: store.Update, IfMatch: 1, Resource: patient("p0"), Index: ix("p0-v2")}}},
				{writes: []store.Write{create("e1"), {Type: "Observation", ID: "o1", Action: store.Create,
					Resource: []byte(`{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/e1"}}`),
					Refs:     []store.Key{{Type: "Patient", ID: "e1"}}}}},
			}
			if tc.failures {
				jobs = append(jobs,
					job{writes: []store.Write{create("b1"), create("p0")}, wantErr: store.ErrExists},
					job{writes: []store.Write{create("d1"), {Type: "Observation", ID: "o2", Action: store.Create,
						Resource: []byte(`{"resourceType":"Observation","id":"o2","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/nobody"}}`),
						Refs:     []store.Key{{Type: "Patient", ID: "nobody"}}}}, wantErr: store.ErrReference},
					job{writes: []store.Write{{Type: "Patient", ID: "a9", Action: store.Update, IfMatch: 3, Resource: patient("a9")}}, wantErr: store.ErrVersionConflict},
				)
			}
			var wg sync.WaitGroup
			errs := make([]error, len(jobs))
			for i, j := range jobs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = s.Commit(ctx, "t", j.writes)
				}()
			}
			var fnRuns atomic.Int32
			wg.Add(1)
			var fnErr error
			go func() {
				defer wg.Done()
				fnErr = s.write(ctx, "t", "other", func(ctx context.Context, t *tenantDB) error {
					fnRuns.Add(1)
					return t.exec(ctx, "INSERT INTO record (kind, id, data) VALUES ('test', 'x', x'00')")
				})
			}()
			for deadline := time.Now().Add(10 * time.Second); len(tdb.q) < len(jobs)+1; {
				if time.Now().After(deadline) {
					t.Fatalf("%d requests queued, want %d", len(tdb.q), len(jobs)+1)
				}
				time.Sleep(time.Millisecond)
			}
			close(release)
			wg.Wait()

			for i, j := range jobs {
				if j.wantErr == nil && errs[i] != nil || j.wantErr != nil && !errors.Is(errs[i], j.wantErr) {
					t.Errorf("job %d: %v, want %v", i, errs[i], j.wantErr)
				}
			}
			if fnErr != nil || fnRuns.Load() != 1 {
				t.Errorf("the other write: %v, ran %d times, want once", fnErr, fnRuns.Load())
			}
			for id, ver := range map[string]int64{"p0": 2, "a1": 1, "a2": 1, "e1": 1} {
				if r, err := s.Read(ctx, "t", "Patient", id); err != nil || r.Version != ver {
					t.Errorf("Patient/%s: version %d, %v; want %d", id, r.Version, err, ver)
				}
			}
			for _, id := range []string{"b1", "d1", "a9"} {
				if _, err := s.Read(ctx, "t", "Patient", id); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("Patient/%s of a failed Commit: %v, want not found", id, err)
				}
			}
			if _, err := s.Read(ctx, "t", "Observation", "o1"); err != nil {
				t.Errorf("Observation/o1: %v", err)
			}
			// The counters went on from what was committed: a write after the batch gets the
			// next change sequence and resource key, and the index holds the rows of the
			// successful Commits only.
			if _, err := s.Commit(ctx, "t", []store.Write{create("z1")}); err != nil {
				t.Fatal(err)
			}
			var seqs, maxSeq, rids, maxRid, rows, records int64
			q := func(sql string, dst ...any) {
				t.Helper()
				if err := tdb.r.QueryRowContext(ctx, sql).Scan(dst...); err != nil {
					t.Fatal(err)
				}
			}
			q("SELECT count(*), max(seq) FROM version", &seqs, &maxSeq)
			q("SELECT count(*), max(rid) FROM resource", &rids, &maxRid)
			q("SELECT count(*) FROM sp_str", &rows)
			q("SELECT count(*) FROM record WHERE kind = 'test'", &records)
			// p0 ×2, a1, a2, e1, o1, z1
			if seqs != 7 || maxSeq != 7 || rids != 6 || maxRid != 6 {
				t.Errorf("versions %d (max seq %d), resources %d (max rid %d); want 7 (7), 6 (6)", seqs, maxSeq, rids, maxRid)
			}
			if rows != 5 { // p0-v2, a1, a2, e1, z1
				t.Errorf("%d index rows, want 5", rows)
			}
			if records != 1 {
				t.Errorf("%d records of the other write, want 1", records)
			}
		})
	}
}
