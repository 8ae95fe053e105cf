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

package storetest

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kodomohub/kodomohub/conformance/conformancetest"
	"github.com/kodomohub/kodomohub/fhir"
	"github.com/kodomohub/kodomohub/fhir/fhirpath"
	"github.com/kodomohub/kodomohub/fhir/search"
	"github.com/kodomohub/kodomohub/store"
)

// oracleSize is how much the oracle test does: random queries, and the data they run on (the
// children of a synthetic town and R4 examples in misato, and in kawajima, the other tenant).
type oracleSize struct {
	queries                    int
	children, examples         int
	otherChildren, otherExamps int
}

// The oracle's sizes, chosen with KODOMOHUB_TEST_ORACLE: "full" (the default) where writes and
// scans are cheap, "small" where they are not. A backend's test may choose small when the
// variable is not set: the MongoDB test does on the embedded FerretDB, which answers every
// query other than on _id by reading the whole collection, so that the cost of the oracle
// grows with the data times the queries times their pages (the full size takes most of an
// hour there, the small one about a minute on a loaded machine; make test-oracle runs the
// full one). KODOMOHUB_ORACLE_QUERIES sets the number of queries of either.
var oracleSizes = map[string]oracleSize{
	"full":  {queries: 600, children: 40, examples: 250, otherChildren: 15, otherExamps: 40},
	"small": {queries: 24, children: 10, examples: 60, otherChildren: 4, otherExamps: 10},
}

// EnvOracle names the environment variable that chooses the oracle's size: full or small.
const EnvOracle = "KODOMOHUB_TEST_ORACLE"

// skipOracle lists the (generated) queries whose answers are known to differ from the
// oracle, with the reason. Keep it empty unless the oracle itself is wrong.
var skipOracle = map[string]string{}

// seedOracle writes the oracle's data to tenant: a synthetic town and a sample of the R4
// examples, then updates and deletes some of it. It returns the corpus of current versions.
func seedOracle(t *testing.T, s store.Store, tenant string, r *rand.Rand, children, examples int) *corpus {
	t.Helper()
	docs := Town(7, children)
	ex := conformancetest.Examples(t)
	names := make([]string, 0, len(ex))
	for n := range ex {
		names = append(names, n)
	}
	slices.Sort(names)
	taken := map[string]bool{}
	for _, d := range docs {
		taken[d.Type+"/"+d.ID] = true
	}
	picked := 0
	for _, n := range names {
		if picked >= examples || r.IntN(len(names)) > examples*2 {
			continue
		}
		v, err := fhirpath.Decode(ex[n])
		if err != nil {
			continue
		}
		m, _ := v.(map[string]any)
		typ, _ := m["resourceType"].(string)
		id, _ := m["id"].(string)
		if !fhir.IsResourceType(typ) || !fhir.ValidID(id) || taken[typ+"/"+id] {
			continue
		}
		if _, err := reg.Extract(v); err != nil {
			continue // an expression fails on it: the oracle could not judge its parameters
		}
		taken[typ+"/"+id] = true
		docs = append(docs, Doc{Type: typ, ID: id, JSON: ex[n]})
		picked++
	}
	c := newCorpus()
	// Commits of oracleBatch writes: a Commit that takes more than half the MongoDB backend's
	// transaction lease (30s) leaves its roll forward to recovery, and the next Commit of the
	// same resources waits for the lease to run out; 200 writes took that long on a loaded
	// FerretDB.
	for i := 0; i < len(docs); i += oracleBatch {
		var ws []store.Write
		for _, d := range docs[i:min(i+oracleBatch, len(docs))] {
			ws = append(ws, IndexedWrite(reg, d, store.Create))
		}
		for _, res := range mustCommit(t, s, tenant, ws...) {
			c.put(res.Resource)
		}
	}
	// Change some: a new name for a few patients, deletes of a few observations and patients.
	var ws []store.Write
	for i, d := range docs {
		switch {
		case d.Type == "Patient" && i%9 == 0:
			body := strings.Replace(string(d.JSON), `"use":"official"`, `"use":"official","prefix":["Dr"]`, 1)
			body = strings.Replace(body, `"family":"`, `"family":"改`, 1)
			ws = append(ws, IndexedWrite(reg, Doc{d.Type, d.ID, []byte(body)}, store.Update))
		case (d.Type == "Observation" || d.Type == "Patient") && i%23 == 0:
			ws = append(ws, store.Write{Type: d.Type, ID: d.ID, Action: store.Delete})
		}
	}
	for _, res := range mustCommit(t, s, tenant, ws...) {
		c.put(res.Resource)
	}
	return c
}

// oracleBatch is the number of writes per Commit of the oracle's data.
const oracleBatch = 50

// oracleSeed can be changed (KODOMOHUB_ORACLE_SEED, or a debugger) to explore other data and
// queries.
var oracleSeed uint64 = 2025

func testSearchOracle(t *testing.T, s store.Store) {
	seed := oracleSeed
	if v, err := strconv.ParseUint(os.Getenv("KODOMOHUB_ORACLE_SEED"), 10, 64); err == nil {
		seed = v // before anything is drawn: the data and the queries both follow it
	}
	size, ok := oracleSizes[cmp.Or(os.Getenv(EnvOracle), "full")]
	if !ok {
		t.Fatalf("%s=%q: want full or small", EnvOracle, os.Getenv(EnvOracle))
	}
	if v, err := strconv.Atoi(os.Getenv("KODOMOHUB_ORACLE_QUERIES")); err == nil {
		size.queries = v
	}
	r := rand.New(rand.NewPCG(seed, 4))
	start := time.Now()
	mustTenant(t, s, "misato", store.IntegrityOff)
	mustTenant(t, s, "kawajima", store.IntegrityOff)
	c := seedOracle(t, s, "misato", r, size.children, size.examples)
	// Another tenant with the same ids and other data: it must never show up.
	seedOracle(t, s, "kawajima", rand.New(rand.NewPCG(9, 9)), size.otherChildren, size.otherExamps)
	seeded := time.Since(start)
	g := newGen(c, r)
	stats := map[string]int{}
	ran, skipped, failed := 0, 0, 0
	n := size.queries
	for ran < n {
		typ, qs, feats := g.query()
		q, err := parseQuery(typ, qs)
		if err != nil {
			stats["parse-rejected"]++
			if stats["parse-rejected"] < 5 {
				t.Logf("generated query rejected by ParseQuery (not counted): %s?%s: %v", typ, qs, err)
			}
			continue
		}
		if why, ok := skipOracle[typ+"?"+qs]; ok {
			t.Logf("skipped %s?%s: %s", typ, qs, why)
			skipped++
			continue
		}
		var opts store.SearchOptions
		if r.IntN(10) == 0 { // in a compartment (Patient/x/Observation, $everything)
			owner := []string{"Patient", "Patient", "Encounter", "Practitioner"}[r.IntN(4)]
			if ids := c.order[owner]; len(ids) > 0 && (q.Type == "" || slices.Contains(search.CompartmentTypes(owner), q.Type)) {
				params, _ := search.Compartment(owner)
				// one owner, or several (a facility roster): none, one or a few
				owners := []string{ids[r.IntN(len(ids))]}
				if r.IntN(3) == 0 {
					owners = nil
					for range r.IntN(4) {
						owners = append(owners, ids[r.IntN(len(ids))])
					}
					slices.Sort(owners)
					owners = slices.Compact(owners)
				}
				opts.Compartment = &store.Compartment{Type: owner, IDs: owners, Params: params, IncludeOwner: r.IntN(2) == 0}
				feats = append(feats, "compartment")
				if r.IntN(2) == 0 && q.Type == "" {
					q.Clauses = nil // $everything
				}
			}
		}
		want, err := c.match(q, opts.Compartment)
		if err != nil {
			stats["match-error"]++
			continue
		}
		ran++
		for _, f := range feats {
			stats[f]++
		}
		if len(want) > 0 {
			stats["non-empty"]++
		}
		q.Count = 1 + r.IntN(12)
		got, _ := searchAll(t, s, "misato", q, opts)
		if gk := sortedKeys(got); !slices.Equal(gk, want) {
			failed++
			if failed <= 15 {
				t.Errorf("%s?%s: store and oracle differ\n  store only:  %v\n  oracle only: %v", typ, qs, minus(gk, want), minus(want, gk))
			}
			continue
		}
		if len(q.Sort) > 0 {
			if err := c.checkOrder(q, got); err != nil {
				failed++
				t.Errorf("%s?%s: order: %v", typ, qs, err)
			}
		}
	}
	if failed > 15 {
		t.Errorf("%d of %d queries differ (first 15 shown)", failed, ran)
	}
	var fs []string
	for f, n := range stats {
		fs = append(fs, fmt.Sprintf("%s=%d", f, n))
	}
	sort.Strings(fs)
	t.Logf("oracle (seed %d, %d resources written in %v): %d queries compared in %v, %d skipped; %s", seed, len(c.res),
		seeded.Round(time.Millisecond), ran, (time.Since(start) - seeded).Round(time.Millisecond), skipped, strings.Join(fs, " "))
}

func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	if len(out) > 8 {
		out = append(out[:8], fmt.Sprintf("… (%d)", len(out)))
	}
	return out
}

// gen generates random queries from the corpus' actual values.
type gen struct {
	c       *corpus
	r       *rand.Rand
	entries map[string]map[string][]search.Entry // type/id → code → entries
	types   []string
}

func newGen(c *corpus, r *rand.Rand) *gen {
	g := &gen{c: c, r: r, entries: map[string]map[string][]search.Entry{}}
	for _, typ := range c.types() {
		g.types = append(g.types, typ)
		for _, id := range c.order[typ] {
			v, ok := c.byType[typ][id]
			if !ok {
				continue
			}
			es, _ := reg.Extract(v)
			m := map[string][]search.Entry{}
			for _, e := range es {
				m[e.Code] = append(m[e.Code], e)
			}
			g.entries[typ+"/"+id] = m
		}
	}
	return g
}

// resource picks a current resource of typ ("" any).
func (g *gen) resource(typ string) (string, string) {
	if typ == "" || len(g.c.byType[typ]) == 0 {
		if g.r.IntN(3) > 0 {
			typ = []string{"Patient", "Observation", "Encounter", "QuestionnaireResponse"}[g.r.IntN(4)]
		} else {
			typ = g.types[g.r.IntN(len(g.types))]
		}
	}
	ids := g.c.order[typ]
	for range 20 {
		id := ids[g.r.IntN(len(ids))]
		if _, ok := g.c.byType[typ][id]; ok {
			return typ, id
		}
	}
	return typ, ids[0]
}

// query returns a random search: type, query string and the features it uses.
func (g *gen) query() (string, string, []string) {
	var feats []string
	if g.r.IntN(12) == 0 { // system level
		typ, id := g.resource("")
		clause, f := g.commonClause(typ, id)
		feats = append(feats, "system-level")
		feats = append(feats, f...)
		qs := clause
		if g.r.IntN(3) == 0 {
			qs += "&_type=" + typ + "," + g.types[g.r.IntN(len(g.types))]
		}
		if g.r.IntN(3) == 0 {
			qs += "&_sort=" + []string{"_id", "-_lastUpdated", "_lastUpdated,-_id"}[g.r.IntN(3)]
		}
		return "", qs, feats
	}
	typ, id := g.resource("")
	var parts []string
	n := 1 + g.r.IntN(2)
	for i := 0; i < n; i++ {
		if i > 0 && g.r.IntN(2) == 0 {
			_, id = g.resource(typ) // else the same resource: the clauses then often match together
		}
		cl, f := g.clause(typ, id, 0)
		if cl == "" {
			continue
		}
		parts = append(parts, cl)
		feats = append(feats, f...)
	}
	if len(parts) == 0 {
		return typ, "_id=" + id, []string{"_id"}
	}
	if len(parts) > 1 {
		feats = append(feats, "and")
	}
	if g.r.IntN(4) == 0 {
		parts = append(parts, "_sort="+g.sortKeys(typ))
		feats = append(feats, "sort")
	}
	return typ, strings.Join(parts, "&"), feats
}

func (g *gen) sortKeys(typ string) string {
	var codes []string
	for _, p := range reg.Params(typ) {
		if p.Sortable() && !p.Common() {
			codes = append(codes, p.Code)
		}
	}
	codes = append(codes, "_id", "_lastUpdated")
	var ks []string
	for range 1 + g.r.IntN(2) {
		k := codes[g.r.IntN(len(codes))]
		if g.r.IntN(2) == 0 {
			k = "-" + k
		}
		ks = append(ks, k)
	}
	return strings.Join(ks, ",")
}

func (g *gen) commonClause(typ, id string) (string, []string) {
	res := g.c.res[typ+"/"+id]
	switch g.r.IntN(4) {
	case 0:
		return "_id=" + id, []string{"_id"}
	case 1:
		return "_lastUpdated=" + []string{"ge", "le", "gt", "lt", "eq", "ap"}[g.r.IntN(6)] + res.LastUpdated.Format("2006-01-02T15:04:05.000Z07:00"), []string{"_lastUpdated"}
	}
	m := g.entries[typ+"/"+id]
	for _, code := range []string{"_tag", "_profile", "_security", "_source"} {
		if es := m[code]; len(es) > 0 {
			e := es[g.r.IntN(len(es))]
			if e.Type == search.Token && e.Value != "" {
				return code + "=" + url.QueryEscape(escapeValue(e.System)+"|"+escapeValue(e.Value)), []string{code}
			}
			if e.Type == search.URI {
				return code + "=" + url.QueryEscape(escapeValue(e.Value)), []string{code}
			}
		}
	}
	return "_tag:missing=" + []string{"true", "false"}[g.r.IntN(2)], []string{"_tag", "missing"}
}

// clause returns a random clause on typ built from resource typ/id's entries.
func (g *gen) clause(typ, id string, depth int) (string, []string) {
	m := g.entries[typ+"/"+id]
	var codes []string
	for code := range m {
		if code != "_lastUpdated" {
			codes = append(codes, code)
		}
	}
	slices.Sort(codes)
	if len(codes) == 0 {
		return "", nil
	}
	// Chains and _has.
	if depth < 2 && g.r.IntN(8) == 0 {
		if cl, f := g.chain(typ, id, depth); cl != "" {
			return cl, f
		}
	}
	if depth < 1 && g.r.IntN(10) == 0 {
		if cl, f := g.has(typ, id, depth); cl != "" {
			return cl, f
		}
	}
	code := codes[g.r.IntN(len(codes))]
	p, ok := reg.Lookup(typ, code)
	if !ok || !p.Searchable() {
		return "", nil
	}
	if g.r.IntN(15) == 0 {
		return code + ":missing=" + []string{"true", "false"}[g.r.IntN(2)], []string{"missing"}
	}
	es := m[code]
	key, val, f := g.value(p, es[g.r.IntN(len(es))])
	if val == "" {
		return "", nil
	}
	if g.r.IntN(4) == 0 { // OR a value of another resource
		_, id2 := g.resource(typ)
		if es2 := g.entries[typ+"/"+id2][code]; len(es2) > 0 {
			key2, val2, _ := g.value(p, es2[g.r.IntN(len(es2))])
			if key2 == key && val2 != "" {
				val += "," + val2
				f = append(f, "or")
			}
		}
	}
	return key + "=" + url.QueryEscape(val), f
}

func (g *gen) chain(typ, id string, depth int) (string, []string) {
	m := g.entries[typ+"/"+id]
	for code, es := range m {
		p, _ := reg.Lookup(typ, code)
		if p == nil || p.Type != search.Reference {
			continue
		}
		for _, e := range es {
			if e.Kind != search.KindValue || e.Value == "" {
				continue
			}
			if _, ok := g.c.byType[e.System][e.Value]; !ok {
				continue
			}
			inner, f := g.clause(e.System, e.Value, depth+1)
			if inner == "" || strings.HasPrefix(inner, "_has") || strings.HasPrefix(inner, "_id") {
				return "", nil
			}
			return code + ":" + e.System + "." + inner, append(f, "chain")
		}
	}
	return "", nil
}

func (g *gen) has(typ, id string, depth int) (string, []string) {
	// Find a resource that refers to typ/id.
	for _, src := range []string{"Observation", "Encounter", "QuestionnaireResponse", "Patient"} {
		for _, sid := range g.c.order[src] {
			for code, es := range g.entries[src+"/"+sid] {
				p, _ := reg.Lookup(src, code)
				if p == nil || p.Type != search.Reference {
					continue
				}
				for _, e := range es {
					if e.Kind == search.KindValue && e.System == typ && e.Value == id && g.r.IntN(3) == 0 {
						inner, f := g.clause(src, sid, depth+1)
						if inner == "" || strings.Contains(inner, ".") || strings.HasPrefix(inner, "_has") {
							return "", nil
						}
						return "_has:" + src + ":" + code + ":" + inner, append(f, "_has")
					}
				}
			}
		}
	}
	return "", nil
}

var prefixes = []string{"", "eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"}

// value renders entry e of p as a search: the key (code and modifier) and the raw value.
func (g *gen) value(p *search.Param, e search.Entry) (string, string, []string) {
	code := p.Code
	r := g.r
	switch p.Type {
	case search.String:
		if e.Kind != search.KindValue || e.Text == "" {
			return "", "", nil
		}
		rs := []rune(e.Text)
		switch r.IntN(6) {
		case 0:
			return code + ":exact", escapeValue(e.Text), []string{"string", "exact"}
		case 1:
			vs := []rune(e.Value)
			if len(vs) == 0 {
				return "", "", nil
			}
			i := r.IntN(len(vs))
			j := i + 1 + r.IntN(min(3, len(vs)-i))
			return code + ":contains", escapeValue(string(vs[i:j])), []string{"string", "contains"}
		case 2:
			return code, escapeValue(strings.ToUpper(hiragana(string(rs[:min(len(rs), 1+r.IntN(3))])))), []string{"string", "kana"}
		}
		return code, escapeValue(string(rs[:min(len(rs), 1+r.IntN(4))])), []string{"string"}
	case search.Token:
		switch e.Kind {
		case search.KindOfType:
			return code + ":of-type", escapeValue(e.System) + "|" + escapeValue(e.Value) + "|" + escapeValue(e.Text), []string{"token", "of-type"}
		case search.KindValue:
		default:
			return "", "", nil
		}
		if e.Text != "" && r.IntN(5) == 0 {
			rs := []rune(e.Text)
			return code + ":text", escapeValue(string(rs[:min(len(rs), 1+r.IntN(5))])), []string{"token", "text"}
		}
		if e.Value == "" {
			return "", "", nil
		}
		mod, f := "", []string{"token"}
		if r.IntN(6) == 0 {
			mod, f = ":not", append(f, "not")
		}
		switch r.IntN(4) {
		case 0:
			return code + mod, escapeValue(e.Value), f
		case 1:
			if e.System == "" {
				return code + mod, "|" + escapeValue(e.Value), append(f, "no-system")
			}
			return code + mod, escapeValue(e.System) + "|", append(f, "system-only")
		}
		return code + mod, escapeValue(e.System) + "|" + escapeValue(e.Value), f
	case search.Reference:
		switch e.Kind {
		case search.KindIdentifier:
			return code + ":identifier", escapeValue(e.System) + "|" + escapeValue(e.Value), []string{"reference", "identifier"}
		case search.KindURL:
			switch r.IntN(3) {
			case 0:
				if i := strings.LastIndexByte(e.Value, '/'); i > 8 {
					return code + ":below", escapeValue(e.Value[:i]), []string{"reference", "below"}
				}
			case 1:
				return code + ":above", escapeValue(e.Value + "/child"), []string{"reference", "above"}
			}
			return code, escapeValue(e.Value), []string{"reference", "url"}
		}
		if e.Value == "" || !fhir.ValidID(e.Value) {
			return "", "", nil
		}
		switch r.IntN(3) {
		case 0:
			if p.HasTarget(e.System) {
				return code + ":" + e.System, e.Value, []string{"reference", "type-modifier"}
			}
		case 1:
			return code, e.Value, []string{"reference", "bare-id"}
		}
		return code, e.System + "/" + e.Value, []string{"reference"}
	case search.Date:
		pre := prefixes[r.IntN(len(prefixes))]
		if e.Low == search.MinTime {
			return "", "", nil
		}
		return code, pre + dateValue(r, e.Low), []string{"date", "prefix-" + cmpOr(pre, "none")}
	case search.Number:
		pre := prefixes[r.IntN(len(prefixes))]
		return code, pre + numValue(r, e.Num), []string{"number", "prefix-" + cmpOr(pre, "none")}
	case search.Quantity:
		pre := prefixes[r.IntN(len(prefixes))]
		v := pre + numValue(r, e.Num)
		f := []string{"quantity", "prefix-" + cmpOr(pre, "none")}
		switch r.IntN(3) {
		case 0:
			if e.System != "" {
				v += "|" + escapeValue(e.System) + "|" + escapeValue(e.Value)
				f = append(f, "unit-system")
			}
		case 1:
			if u := cmpOr(e.Value, e.Text); u != "" {
				v += "||" + escapeValue(u)
				f = append(f, "unit-code")
			}
		}
		return code, v, f
	case search.URI:
		switch r.IntN(3) {
		case 0:
			if len(e.Value) > 10 {
				return code + ":below", escapeValue(e.Value[:len(e.Value)-3]), []string{"uri", "below"}
			}
		case 1:
			return code + ":above", escapeValue(e.Value + "/x"), []string{"uri", "above"}
		}
		return code, escapeValue(e.Value), []string{"uri"}
	case search.Composite:
		var parts []string
		for _, pe := range e.Parts {
			var s string
			switch pe.Type {
			case search.Token:
				if pe.Kind != search.KindValue || pe.Value == "" {
					return "", "", nil
				}
				s = escapeValue(pe.System) + "|" + escapeValue(pe.Value)
			case search.Quantity, search.Number:
				s = []string{"", "gt", "le", "ap"}[r.IntN(4)] + numValue(r, pe.Num)
			case search.Date:
				if pe.Low == search.MinTime {
					return "", "", nil
				}
				s = []string{"", "ge", "lt"}[r.IntN(3)] + dateValue(r, pe.Low)
			case search.String:
				s = escapeValue(string([]rune(pe.Value)[:min(2, len([]rune(pe.Value)))]))
			case search.Reference:
				if pe.Kind != search.KindValue || pe.Value == "" || !fhir.ValidID(pe.Value) {
					return "", "", nil
				}
				s = pe.System + "/" + pe.Value
			case search.URI:
				s = escapeValue(pe.Value)
			default:
				return "", "", nil
			}
			if s == "" {
				return "", "", nil
			}
			parts = append(parts, s)
		}
		return code, strings.Join(parts, "$"), []string{"composite"}
	}
	return "", "", nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func dateValue(r *rand.Rand, ms int64) string {
	tm := time.UnixMilli(ms).In(reg.Location())
	if r.IntN(4) == 0 {
		tm = tm.AddDate(0, 0, r.IntN(60)-30)
	}
	switch r.IntN(5) {
	case 0:
		return tm.Format("2006")
	case 1:
		return tm.Format("2006-01")
	case 2:
		return tm.Format("2006-01-02")
	case 3:
		return tm.UTC().Format("2006-01-02T15:04:05Z")
	}
	return tm.Format("2006-01-02T15:04:05-07:00")
}

func numValue(r *rand.Rand, n float64) string {
	switch r.IntN(4) {
	case 0:
		return strconv.FormatFloat(n, 'f', -1, 64)
	case 1:
		return strconv.FormatFloat(n, 'f', 0, 64)
	case 2:
		return strconv.FormatFloat(n+float64(r.IntN(5)-2), 'f', 1, 64)
	}
	return strconv.FormatFloat(n, 'f', 2, 64)
}
