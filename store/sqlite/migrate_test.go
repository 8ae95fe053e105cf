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
	"database/sql"
	"encoding/binary"
	"net/url"
	"path/filepath"
	"testing"

	"github.com/kodomohub/kodomohub/fhir/fhirpath"
	"github.com/kodomohub/kodomohub/fhir/search"
	"github.com/kodomohub/kodomohub/store"
)

// TestMigrationFromV1 opens a tenant database written by schema 1 (old index rows and
// resource.ix keys): migration 2 keeps its rows searchable, an update replaces them, and the
// counts table starts right.
func TestMigrationFromV1(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateTenant(ctx, store.Tenant{ID: "misato", ReferentialIntegrity: store.IntegrityOff}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	// Build tenants/misato.db at schema 1, with one Patient indexed the old way.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "tenants", "misato.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate(ctx, db, tenantMigrations[:2]); err != nil {
		t.Fatal(err)
	}
	oldKey := []byte{tblStr} // schema 1 key: table, pid, val, sys
	oldKey = binary.AppendUvarint(oldKey, 1)
	oldKey = binary.AppendUvarint(oldKey, uint64(len("ヤマダ")))
	oldKey = append(oldKey, "ヤマダ"...)
	oldKey = binary.AppendUvarint(oldKey, 0)
	ix := binary.AppendUvarint(nil, uint64(len(oldKey)))
	ix = append(ix, oldKey...)
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO resource (rid, type, id, ver, seq, deleted, ts, ix) VALUES (1, 'Patient', 'p1', 1, 1, 0, 1000, ?)`, []any{ix}},
		{`INSERT INTO version (seq, rid, type, ver, action, ts, raw) VALUES (1, 1, 'Patient', 1, 1, 1000, ?)`,
			[]any{[]byte(`{"resourceType":"Patient","id":"p1","meta":{"versionId":"1","lastUpdated":"1970-01-01T00:00:01.000Z"},"name":[{"family":"ヤマダ"}]}`)}},
		{`INSERT INTO param (pid, type, code, ptype) VALUES (1, 'Patient', 'family', ?)`, []any{search.String}},
		{`INSERT INTO sp_str (pid, val, sys, rid) VALUES (1, 'ヤマダ', '', 1)`, nil},
	} {
		if _, err := db.Exec(q.sql, q.args...); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	s, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	reg := search.Default()
	find := func(qs string) int {
		t.Helper()
		v, _ := url.ParseQuery(qs)
		q, err := reg.ParseQuery("Patient", v, search.ParseOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p, err := s.Search(ctx, "misato", q, store.SearchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return len(p.Resources)
	}
	if n := find("family=やまだ&_total=accurate"); n != 1 {
		t.Fatalf("old row after migration: %d matches, want 1", n)
	}
	p, err := s.Search(ctx, "misato", &search.Query{Type: "Patient", Count: -1, Total: search.TotalAccurate}, store.SearchOptions{})
	if err != nil || p.Total != 1 {
		t.Fatalf("counts after migration: %d, %v; want 1", p.Total, err)
	}
	// An update removes the old-format row and writes new ones.
	raw := []byte(`{"resourceType":"Patient","name":[{"family":"サトウ"}]}`)
	v, _ := decodeForTest(raw)
	es, _ := reg.Extract(v)
	if _, err := s.Commit(ctx, "misato", []store.Write{{Type: "Patient", ID: "p1", Action: store.Update, Resource: raw, Index: es}}); err != nil {
		t.Fatal(err)
	}
	if n := find("family=やまだ"); n != 0 {
		t.Errorf("old row still found after the update")
	}
	if n := find("family=さとう"); n != 1 {
		t.Errorf("new row: %d matches, want 1", n)
	}
}

func decodeForTest(raw []byte) (any, error) { return fhirpath.Decode(raw) }
