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
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kodomohub/kodomohub/fhir/search"
	"github.com/kodomohub/kodomohub/store"
)

// TestCheckpointerBoundsWAL writes many Commits with a small checkpoint interval: the
// checkpointer runs, the WAL stays within the writer's safety bound, and what was written
// reads back after the store is reopened.
func TestCheckpointerBoundsWAL(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	const every = 40
	s, err := Open(dir, Options{WALAutoCheckpoint: every})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateTenant(ctx, store.Tenant{ID: "t", Name: "t"}); err != nil {
		t.Fatal(err)
	}
	const commits, per = 200, 20
	for c := range commits {
		var ws []store.Write
		for i := range per {
			id := fmt.Sprintf("p%d-%d", c, i)
			ws = append(ws, store.Write{Type: "Patient", ID: id, Action: store.Create,
				Resource: []byte(`{"resourceType":"Patient","id":"` + id + `"}`),
				Index:    []search.Entry{{Code: "identifier", Type: search.Token, System: "urn:test", Value: fmt.Sprintf("%08d", (c*7919+i*104729)%99999989)}}})
		}
		if _, err := s.Commit(ctx, "t", ws); err != nil {
			t.Fatal(err)
		}
	}
	tdb, err := s.tenantDB(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); tdb.ckpt.runs.Load() == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the checkpointer never ran")
		}
	}
	var pageSize int64
	if err := tdb.r.QueryRowContext(ctx, "PRAGMA page_size").Scan(&pageSize); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "tenants", "t.db-wal"))
	if err != nil {
		t.Fatal(err)
	}
	// The WAL restarts once every frame is copied; it may outgrow the safety bound by the
	// pages of one commit.
	if limit := (safetyFactor*every + 200) * (pageSize + 24); fi.Size() > limit {
		t.Errorf("WAL of %d bytes, want at most %d (%d checkpoints)", fi.Size(), limit, tdb.ckpt.runs.Load())
	}
	t.Logf("WAL %d bytes after %d checkpoints", fi.Size(), tdb.ckpt.runs.Load())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, id := range []string{"p0-0", "p199-19", "p100-7"} {
		if _, err := s.Read(ctx, "t", "Patient", id); err != nil {
			t.Errorf("Patient/%s after reopening: %v", id, err)
		}
	}
}
