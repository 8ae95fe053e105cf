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
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/kodomohub/kodomohub/store"
	"github.com/kodomohub/kodomohub/store/sqlite"
	"github.com/kodomohub/kodomohub/store/storetest"
)

func mustOpen(tb testing.TB, dir string, opts sqlite.Options) *sqlite.Store {
	tb.Helper()
	s, err := sqlite.Open(dir, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// TestConformance runs the suite on a fresh data directory per case; the Shared cases open
// several stores on one directory, as a server and the admin CLI do.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Opener {
		dir := t.TempDir()
		return func(t *testing.T, now func() time.Time) store.Store {
			return mustOpen(t, dir, sqlite.Options{Now: now})
		}
	})
}

var ctx = context.Background()

func TestReopenPersists(t *testing.T) {
	dir := t.TempDir()
	clock := time.Date(2025, 4, 1, 9, 30, 0, 123456789, time.UTC)
	s := mustOpen(t, dir, sqlite.Options{Now: func() time.Time { return clock }})
	if err := s.CreateTenant(ctx, store.Tenant{ID: "misato", Name: "美郷町"}); err != nil {
		t.Fatal(err)
	}
	res, err := s.Commit(ctx, "misato", []store.Write{{Type: "Patient", ID: "p1", Action: store.Create,
		Resource: []byte(`{"resourceType":"Patient"}`)}})
	if err != nil {
		t.Fatal(err)
	}
	if want := clock.Truncate(time.Millisecond); !res[0].Resource.LastUpdated.Equal(want) {
		t.Fatalf("LastUpdated = %v, want the injected clock truncated to ms %v", res[0].Resource.LastUpdated, want)
	}
	s.LoadOrStoreSecret(ctx, "k", []byte("v"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, dir, sqlite.Options{})
	defer s.Close()
	got, err := s.Read(ctx, "misato", "Patient", "p1")
	if err != nil || string(got.Raw) != string(res[0].Resource.Raw) {
		t.Fatalf("after reopen: %s, %v; want %s", got.Raw, err, res[0].Resource.Raw)
	}
	if v, _ := s.LoadOrStoreSecret(ctx, "k", []byte("other")); string(v) != "v" {
		t.Fatalf("secret after reopen = %q", v)
	}
	// The next version continues the numbering and the event sequence.
	res, err = s.Commit(ctx, "misato", []store.Write{{Type: "Patient", ID: "p1", Action: store.Update,
		Resource: []byte(`{"resourceType":"Patient","active":true}`)}})
	if err != nil || res[0].Resource.Version != 2 {
		t.Fatalf("update after reopen: %+v, %v", res, err)
	}
	if evs, _ := s.Events(ctx, "misato", 0, 10); len(evs) != 2 || evs[1].Seq != evs[0].Seq+1 {
		t.Fatalf("events after reopen: %+v", evs)
	}
}

func TestMigrationsIdempotent(t *testing.T) {
	dir := t.TempDir()
	for range 3 {
		s := mustOpen(t, dir, sqlite.Options{})
		if _, err := s.Tenant(ctx, "misato"); errors.Is(err, store.ErrNotFound) {
			if err := s.CreateTenant(ctx, store.Tenant{ID: "misato"}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.Commit(ctx, "misato", []store.Write{{Type: "Patient", ID: "p", Action: store.Update,
			Resource: []byte(`{"resourceType":"Patient"}`)}}); err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	for f, want := range map[string]int{"catalog.db": 2, "tenants/misato.db": 9} {
		db, err := sql.Open("sqlite", filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		var v int
		if err := db.QueryRow("PRAGMA user_version").Scan(&v); err != nil || v != want {
			t.Fatalf("%s: user_version %d, %v; want %d", f, v, err, want)
		}
		db.Close()
	}
}
