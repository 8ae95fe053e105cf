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
	"fmt"
	"math"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kodomohub/kodomohub/fhir/search"
	"github.com/kodomohub/kodomohub/store"
	"github.com/kodomohub/kodomohub/store/storetest"
)

// benchShapes are the query shapes of the search benchmark, with values of storetest.Town.
var benchShapes = []struct{ name, typ, query string }{
	{"identifier", "Patient", "identifier=urn:kodomohub:resident|R0000042"},
	{"subject+code", "Observation", "subject=Patient/c42&code=http://loinc.org|8302-2"},
	{"code+date", "Observation", "code=http://loinc.org|8302-2&date=ge2022-03-01&date=lt2022-04-01"},
	{"kana-name", "Patient", "name=やまだ"},
	{"revinclude", "Patient", "_id=c42&_revinclude=Observation:subject"},
	{"chain", "Observation", "subject:Patient.identifier=urn:kodomohub:resident|R0000042"},
	{"code+total", "Observation", "code=http://loinc.org|8302-2&_total=accurate"},
	{"sorted", "Observation", "subject=c42&_sort=-date"},
}

// explain returns the EXPLAIN QUERY PLAN lines of the page and count queries of a search.
func explain(t *testing.T, s *Store, tenant string, q *search.Query) []string {
	t.Helper()
	ctx := context.Background()
	td, err := s.tenantDB(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := td.r.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	b := &builder{t: td, ctx: ctx, tx: tx}
	p := b.plan(q, store.SearchOptions{})
	var lines []string
	count := cat("SELECT count(*) FROM ", p.from("", 0))
	if p.count.sql != "" {
		count = p.count
	}
	for _, f := range []frag{b.pageSQL(q, p, &cursor{Rid: 1, Keys: make([]any, len(q.Sort))}, 21), count} {
		lines = append(lines, queryPlan(t, tx, f.sql, f.args...)...)
	}
	return lines
}

// queryPlan returns the detail lines of EXPLAIN QUERY PLAN of query on db.
func queryPlan(t *testing.T, db interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, query string, args ...any) []string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, detail)
	}
	return lines
}

// TestBenchShapesUseIndexes checks that the benchmark's query shapes never scan an index
// table or the resource table: every access is a SEARCH on an index.
func TestBenchShapesUseIndexes(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.CreateTenant(ctx, store.Tenant{ID: "misato", ReferentialIntegrity: store.IntegrityOff}); err != nil {
		t.Fatal(err)
	}
	reg := search.Default()
	var ws []store.Write
	for _, d := range storetest.Town(1, 60) {
		ws = append(ws, storetest.IndexedWrite(reg, d, store.Create))
	}
	if _, err := s.Commit(ctx, "misato", ws); err != nil {
		t.Fatal(err)
	}
	for _, sh := range benchShapes {
		v, _ := url.ParseQuery(sh.query)
		q, err := reg.ParseQuery(sh.typ, v, search.ParseOptions{})
		if err != nil {
			t.Fatal(err)
		}
		lines := explain(t, s, "misato", q)
		t.Logf("%s %s?%s:\n  %s", sh.name, sh.typ, sh.query, strings.Join(lines, "\n  "))
		for _, l := range lines {
			if strings.HasPrefix(l, "SCAN ") && !strings.HasPrefix(l, "SCAN s") || strings.HasSuffix(l, "(pid=?)") {
				t.Errorf("%s: full scan (of a table or of a parameter's rows): %s", sh.name, l)
			}
			// Every shape has a driver: its rows are read by rowid, not through an index and then
			// the table; and a one-value token or reference test seeks the value's rows in the
			// primary key, not a page per resource in the index by rid.
			if strings.HasPrefix(l, "SEARCH r USING INDEX") || strings.Contains(l, "EXISTS USING COVERING INDEX sp_str_rid") {
				t.Errorf("%s: %s", sh.name, l)
			}
		}
	}
}

// weightWrites returns n body-weight Observations, one a day at 00:00 JST from 2024-01-01,
// with the code, date (second precision) and subject entries Extract gives them.
func weightWrites(n int) []store.Write {
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.FixedZone("JST", 9*3600))
	var ws []store.Write
	for i := range n {
		at := start.AddDate(0, 0, i)
		id := fmt.Sprintf("w%d", i)
		ws = append(ws, store.Write{Type: "Observation", ID: id, Action: store.Create,
			Resource: fmt.Appendf(nil, `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"29463-7"}]},"effectiveDateTime":%q}`, at.Format(time.RFC3339)),
			Index: []search.Entry{
				{Code: "code", Type: search.Token, System: "http://loinc.org", Value: "29463-7"},
				{Code: "date", Type: search.Date, Low: at.UnixMilli(), High: at.UnixMilli() + 1000},
				{Code: "subject", Type: search.Reference, System: "Patient", Value: fmt.Sprintf("c%d", i%50)},
			}})
	}
	return ws
}

// TestCodeDateDrives checks that ANDed date clauses of one parameter make one bounded range
// of sp_date that drives the search when the token matches many more rows, and that the
// answers stay right once a resource has two dates (multi) or an open-ended one (no span).
func TestCodeDateDrives(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.CreateTenant(ctx, store.Tenant{ID: "misato", ReferentialIntegrity: store.IntegrityOff}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Commit(ctx, "misato", weightWrites(400)); err != nil {
		t.Fatal(err)
	}
	reg := search.Default()
	const qs = "code=http://loinc.org|29463-7&date=ge2024-05-01T00:00:00%2B09:00&date=lt2024-05-02T00:00:00%2B09:00"
	v, _ := url.ParseQuery(qs)
	q, err := reg.ParseQuery("Observation", v, search.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	check := func(want ...string) {
		t.Helper()
		p, err := s.Search(ctx, "misato", q, store.SearchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range p.Resources {
			got = append(got, r.ID)
		}
		if !slices.Equal(got, want) {
			t.Errorf("matches %v, want %v", got, want)
		}
	}
	check("w121")
	lines := explain(t, s, "misato", q)
	t.Logf("code+day:\n  %s", strings.Join(lines, "\n  "))
	if !strings.Contains(strings.Join(lines, "\n"), "lo>? AND lo<?") {
		t.Errorf("the date range does not drive:\n%s", strings.Join(lines, "\n"))
	}
	// A resource with two dates, one on each side of the day: it matches both clauses.
	two := weightWrites(1)[0]
	two.ID = "two"
	may1 := time.Date(2024, 5, 1, 0, 0, 0, 0, time.FixedZone("JST", 9*3600)).UnixMilli()
	two.Index = append(two.Index, search.Entry{Code: "date", Type: search.Date, Low: may1 + 86400000*5, High: may1 + 86400000*5 + 1000})
	two.Index[1] = search.Entry{Code: "date", Type: search.Date, Low: may1 - 86400000*3, High: may1 - 86400000*3 + 1000}
	if _, err := s.Commit(ctx, "misato", []store.Write{two}); err != nil {
		t.Fatal(err)
	}
	check("w121", "two")
	// An open-ended period that covers the day.
	open := weightWrites(1)[0]
	open.ID = "open"
	open.Index[1] = search.Entry{Code: "date", Type: search.Date, Low: may1 - 86400000*30, High: math.MaxInt64}
	if _, err := s.Commit(ctx, "misato", []store.Write{open}); err != nil {
		t.Fatal(err)
	}
	check("w121", "two", "open")
}

// TestTotalFromIndex checks the total of a single full-key clause, counted from the index
// rows alone, after deletes, updates that change the code, and a resource with the same
// coding twice; and that it agrees with the count over resources.
func TestTotalFromIndex(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.CreateTenant(ctx, store.Tenant{ID: "misato", ReferentialIntegrity: store.IntegrityOff}); err != nil {
		t.Fatal(err)
	}
	ws := weightWrites(400)
	if _, err := s.Commit(ctx, "misato", ws); err != nil {
		t.Fatal(err)
	}
	var more []store.Write
	for _, i := range []int{3, 50, 399} {
		more = append(more, store.Write{Type: "Observation", ID: ws[i].ID, Action: store.Delete})
	}
	for _, i := range []int{7, 8} {
		w := ws[i]
		w.Action = store.Update
		w.Index = slices.Clone(w.Index)
		w.Index[0].Value = "8302-2"
		more = append(more, w)
	}
	dup := weightWrites(1)[0]
	dup.ID = "dup"
	dup.Index = append(dup.Index, dup.Index[0])
	more = append(more, dup)
	if _, err := s.Commit(ctx, "misato", more); err != nil {
		t.Fatal(err)
	}
	reg := search.Default()
	for qs, want := range map[string]int64{
		"code=http://loinc.org|29463-7&_total=accurate&_count=0": 396,
		"code=http://loinc.org|8302-2&_total=accurate&_count=0":  2,
		"code=http://loinc.org|8867-4&_total=accurate&_count=0":  0,
		"subject=Patient/c7&_total=accurate&_count=0":            8,
	} {
		v, _ := url.ParseQuery(qs)
		q, err := reg.ParseQuery("Observation", v, search.ParseOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p, err := s.Search(ctx, "misato", q, store.SearchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if p.Total != want {
			t.Errorf("%s: total %d, want %d", qs, p.Total, want)
		}
	}
}
