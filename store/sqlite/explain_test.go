package sqlite

import (
	"context"
	"net/url"
	"strings"
	"testing"

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
	for _, f := range []frag{b.pageSQL(q, p, &cursor{Rid: 1, Keys: make([]any, len(q.Sort))}, 21), cat("SELECT count(*) FROM ", p.from("", 0))} {
		rows, err := tx.QueryContext(ctx, "EXPLAIN QUERY PLAN "+f.sql, f.args...)
		if err != nil {
			t.Fatalf("%s: %v", f.sql, err)
		}
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, detail)
		}
		rows.Close()
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
		}
	}
}
