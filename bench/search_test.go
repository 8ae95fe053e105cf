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

package bench

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestWorkloadGolden pins the bytes of the workload: databases preloaded by an earlier build
// must hold what bench read and bench search derive from the seed.
func TestWorkloadGolden(t *testing.T) {
	h := sha256.New()
	for _, s := range []uint64{1, 5} {
		w := Workload{Seed: s, BundleSize: DefaultBundleSize}
		for b := range int64(20) {
			h.Write(w.Bundle(b))
		}
	}
	const want = "90d4bbeaee9ed45233762d4e6935e3c002100be9087a459b8a08b6473de9b8d0"
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		t.Errorf("workload hash %s, want %s: the generator changed, and data preloaded by older builds no longer matches", got, want)
	}
}

// parsedFamily is a family bundle decoded independently of Facts.
type parsedFamily struct {
	patient struct {
		ID         string
		Identifier []struct{ System, Value string }
		Name       []struct{ Family string }
	}
	obs        []obsJSON
	patientURL string
}

type obsJSON struct {
	ID   string
	Code struct {
		Coding []struct{ System, Code string }
	}
	Subject           struct{ Reference string }
	EffectiveDateTime string
}

func parseFamily(t *testing.T, raw []byte) parsedFamily {
	t.Helper()
	var b bundleJSON
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatal(err)
	}
	var p parsedFamily
	for _, e := range b.Entry {
		var head struct{ ResourceType string }
		json.Unmarshal(e.Resource, &head)
		switch head.ResourceType {
		case "Patient":
			json.Unmarshal(e.Resource, &p.patient)
			p.patientURL = e.FullURL
		case "Observation":
			var o obsJSON
			json.Unmarshal(e.Resource, &o)
			p.obs = append(p.obs, o)
		}
	}
	return p
}

// TestFacts checks Facts against the JSON the ingest sends.
func TestFacts(t *testing.T) {
	for _, w := range []Workload{{Seed: 1, BundleSize: 100}, {Seed: 9, BundleSize: 100}, {Seed: 2, BundleSize: 17}} {
		for b := range int64(5) {
			f := w.Facts(b)
			p := parseFamily(t, w.Bundle(b))
			if _, id := w.Ref(b * int64(w.BundleSize)); f.Patient != id || p.patient.ID != id {
				t.Fatalf("%+v family %d: patient %q, bundle %q, want %q", w, b, f.Patient, p.patient.ID, id)
			}
			if f.Family != b || f.IdentifierSystem != p.patient.Identifier[0].System || f.IdentifierValue != p.patient.Identifier[0].Value {
				t.Errorf("%+v family %d: identifier %s|%s, bundle %+v", w, b, f.IdentifierSystem, f.IdentifierValue, p.patient.Identifier)
			}
			if !strings.HasPrefix(f.IdentifierSystem, "urn:oid:1.2.392.100495.20.3.51.1") {
				t.Errorf("identifier system %q", f.IdentifierSystem)
			}
			if f.KanaFamily != p.patient.Name[1].Family || Hiragana(f.KanaFamily) == f.KanaFamily {
				t.Errorf("kana family %q, bundle %q", f.KanaFamily, p.patient.Name[1].Family)
			}
			heights, weights := 0, 0
			for _, o := range p.obs {
				if o.Subject.Reference != p.patientURL || o.Code.Coding[0].System != "http://loinc.org" {
					t.Fatalf("observation %s: subject %s, coding %+v", o.ID, o.Subject.Reference, o.Code.Coding)
				}
				switch o.Code.Coding[0].Code {
				case loincHeight:
					heights++
				case loincWeight:
					if weights >= len(f.Weights) || f.Weights[weights] != (Obs{o.ID, o.EffectiveDateTime}) {
						t.Fatalf("weight %d: %s %s, facts %+v", weights, o.ID, o.EffectiveDateTime, f.Weights)
					}
					weights++
				}
			}
			if f.Observations != len(p.obs) || f.Heights != heights || len(f.Weights) != weights || heights == 0 || weights == 0 {
				t.Errorf("%+v family %d: facts %d obs, %d heights, %d weights; bundle %d, %d, %d",
					w, b, f.Observations, f.Heights, len(f.Weights), len(p.obs), heights, weights)
			}
		}
	}
	// A family of 100: 1 Patient, 80 Observations (40 heights, 40 weights).
	if f := (Workload{Seed: 1, BundleSize: 100}).Facts(0); f.Observations != 80 || f.Heights != 40 || len(f.Weights) != 40 {
		t.Errorf("family of 100: %d observations, %d heights, %d weights", f.Observations, f.Heights, len(f.Weights))
	}
}

func TestHiragana(t *testing.T) {
	for in, want := range map[string]string{"ヤマダ": "やまだ", "サトウ": "さとう", "ヴァ": "ゔぁ", "山田ー": "山田ー", "abc": "abc"} {
		if got := Hiragana(in); got != want {
			t.Errorf("Hiragana(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSearchQueries(t *testing.T) {
	w := Workload{Seed: 3, BundleSize: 100}
	kinds, err := ParseSearchKinds("all")
	if err != nil || len(kinds) != int(NumSearchKinds) {
		t.Fatalf("ParseSearchKinds(all) = %v, %v", kinds, err)
	}
	m, err := NewSearchMix(w, 1050, 1000, kinds, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Pool) != 10 {
		t.Fatalf("1050 resources in families of 100: pool of %d, want the 10 whole families", len(m.Pool))
	}
	r := rand.New(rand.NewPCG(2, 2))
	seen := map[SearchKind]int{}
	for seq := range int64(600) {
		q := m.Query(seq, r)
		if q.Kind != SearchKind(seq%int64(NumSearchKinds)) {
			t.Fatalf("seq %d: kind %v", seq, q.Kind)
		}
		seen[q.Kind]++
		u, err := url.Parse("http://127.0.0.1/t/fhir" + q.Path)
		if err != nil {
			t.Fatalf("%s: %v", q.Path, err)
		}
		v := u.Query()
		typ := strings.TrimPrefix(u.Path, "/t/fhir/")
		if q.Want < 1 {
			t.Errorf("%s: want %d", q.Path, q.Want)
		}
		// Find the family the query is about, and check the values against it.
		var f *Facts
		for i := range m.Pool {
			p := &m.Pool[i]
			if strings.Contains(q.Contains, p.Patient) || v.Get("subject") == "Patient/"+p.Patient ||
				strings.HasSuffix(v.Get("identifier")+v.Get("subject:Patient.identifier"), "|"+p.IdentifierValue) {
				f = p
			}
			for _, o := range p.Weights {
				if q.Contains == "Observation/"+o.ID {
					f = p
				}
			}
		}
		if f == nil && q.Kind != SearchKanaName {
			t.Fatalf("%s: no family of the pool", q.Path)
		}
		switch q.Kind {
		case SearchIdentifier:
			if typ != "Patient" || v.Get("identifier") != f.IdentifierSystem+"|"+f.IdentifierValue || q.Contains != "Patient/"+f.Patient {
				t.Errorf("identifier query %s", q.Path)
			}
		case SearchSubjectCode:
			if typ != "Observation" || v.Get("code") != "http://loinc.org|8302-2" || !q.Exact || q.Want != 40 {
				t.Errorf("subject+code query %s, want %d exact %v", q.Path, q.Want, q.Exact)
			}
		case SearchCodeDate:
			d := v["date"]
			if typ != "Observation" || v.Get("code") != "http://loinc.org|29463-7" || len(d) != 2 ||
				!strings.HasPrefix(d[0], "ge") || !strings.HasPrefix(d[1], "lt") {
				t.Fatalf("code+date query %s", q.Path)
			}
			lo, err1 := time.Parse(time.RFC3339, d[0][2:])
			hi, err2 := time.Parse(time.RFC3339, d[1][2:])
			if err1 != nil || err2 != nil || hi.Sub(lo) != 24*time.Hour {
				t.Errorf("code+date window %v %v (%v, %v)", lo, hi, err1, err2)
			}
			var at time.Time
			for _, o := range f.Weights {
				if q.Contains == "Observation/"+o.ID {
					at, _ = time.Parse(time.RFC3339, o.Effective)
				}
			}
			if at.Before(lo) || !at.Before(hi) {
				t.Errorf("%s: %s at %v is outside the window", q.Path, q.Contains, at)
			}
		case SearchKanaName:
			name := []rune(v.Get("name"))
			if typ != "Patient" || len(name) < 2 || len(name) > 3 || q.Contains == "" {
				t.Fatalf("kana query %s", q.Path)
			}
			for _, c := range name {
				if c < 0x3041 || c > 0x3096 {
					t.Errorf("kana query %s: %q is not hiragana", q.Path, c)
				}
			}
			for _, p := range m.Pool {
				if q.Contains == "Patient/"+p.Patient && !strings.HasPrefix(p.KanaFamily, string(kanaOf(name))) {
					t.Errorf("kana query %s: %s is %s", q.Path, p.Patient, p.KanaFamily)
				}
			}
		case SearchRevInclude:
			if typ != "Patient" || v.Get("_id") != f.Patient || v.Get("_revinclude") != "Observation:subject" || q.WantIncluded != 80 || !q.Exact {
				t.Errorf("revinclude query %s, included %d", q.Path, q.WantIncluded)
			}
		case SearchChained:
			if typ != "Observation" || v.Get("subject:Patient.identifier") != f.IdentifierSystem+"|"+f.IdentifierValue || q.Want != 80 {
				t.Errorf("chained query %s", q.Path)
			}
		}
	}
	if len(seen) != int(NumSearchKinds) {
		t.Errorf("kinds seen: %v", seen)
	}
	if _, err := ParseSearchKinds("identifier,bogus"); err == nil {
		t.Error("an unknown kind was accepted")
	}
	if k, err := ParseSearchKinds("chained, kana-name"); err != nil || len(k) != 2 || k[0] != SearchChained || k[1] != SearchKanaName {
		t.Errorf("ParseSearchKinds = %v, %v", k, err)
	}
	if _, err := NewSearchMix(w, 99, 10, kinds, r); err == nil {
		t.Error("a mix without a whole family was accepted")
	}
}

func kanaOf(s []rune) []rune {
	out := make([]rune, len(s))
	for i, c := range s {
		out[i] = c + 0x60
	}
	return out
}

// TestSearchMixSample checks that a pool smaller than the data is a sample of distinct
// families from all of it.
func TestSearchMixSample(t *testing.T) {
	m, err := NewSearchMix(Workload{Seed: 1, BundleSize: 100}, 1_000_000, 200, []SearchKind{SearchIdentifier}, rand.New(rand.NewPCG(5, 5)))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]bool{}
	var top int64
	for _, f := range m.Pool {
		if seen[f.Family] || f.Family < 0 || f.Family >= 10000 {
			t.Fatalf("family %d twice or out of range", f.Family)
		}
		seen[f.Family] = true
		top = max(top, f.Family)
	}
	if len(seen) != 200 || top < 5000 {
		t.Errorf("%d families, highest %d", len(seen), top)
	}
}

func searchset(entries ...string) []byte {
	var b bytes.Buffer
	b.WriteString(`{"resourceType":"Bundle","type":"searchset","link":[{"relation":"self","url":"x"}`)
	var es []string
	for _, e := range entries {
		if e == "next" {
			b.WriteString(`,{"relation":"next","url":"y"}`)
			continue
		}
		mode, ref, _ := strings.Cut(e, " ")
		es = append(es, fmt.Sprintf(`{"fullUrl":"http://127.0.0.1/t/fhir/%s","resource":{"resourceType":"X"},"search":{"mode":"%s"}}`, ref, mode))
	}
	b.WriteString(`],"entry":[` + strings.Join(es, ",") + `]}`)
	return b.Bytes()
}

func TestCheckSearchset(t *testing.T) {
	ident := SearchQuery{Kind: SearchIdentifier, Path: "/Patient?identifier=s|v", Want: 1, Contains: "Patient/p1", WantIncluded: -1}
	exact := SearchQuery{Kind: SearchSubjectCode, Path: "/Observation?subject=Patient/p1", Want: 2, Exact: true, WantIncluded: -1}
	rev := SearchQuery{Kind: SearchRevInclude, Path: "/Patient?_id=p1", Want: 1, Exact: true, Contains: "Patient/p1", WantIncluded: 2}
	chain := SearchQuery{Kind: SearchChained, Path: "/Observation?subject:Patient.identifier=s|v", Want: 3, WantIncluded: -1}
	for _, tc := range []struct {
		name string
		q    SearchQuery
		body []byte
		ok   bool
		want SearchResult
	}{
		{"identifier found", ident, searchset("match Patient/p1"), true, SearchResult{Matches: 1}},
		{"identifier, another patient too", ident, searchset("match Patient/p0", "match Patient/p1"), true, SearchResult{Matches: 2}},
		{"identifier, wrong patient", ident, searchset("match Patient/p11"), false, SearchResult{}},
		{"no match", ident, searchset(), false, SearchResult{}},
		{"exact", exact, searchset("match Observation/1", "match Observation/2"), true, SearchResult{Matches: 2}},
		{"exact, one missing", exact, searchset("match Observation/1"), false, SearchResult{}},
		{"exact, one too many", exact, searchset("match Observation/1", "match Observation/2", "match Observation/3", "next"), false, SearchResult{}},
		{"exact, paged", exact, searchset("match Observation/1", "next"), true, SearchResult{Matches: 1, Next: true}},
		{"revinclude", rev, searchset("match Patient/p1", "include Observation/1", "include Observation/2"), true, SearchResult{Matches: 1, Included: 2}},
		{"revinclude, one short", rev, searchset("match Patient/p1", "include Observation/1"), false, SearchResult{}},
		{"chained, short page", chain, searchset("match Observation/1", "match Observation/2"), false, SearchResult{}},
		{"chained, full page", chain, searchset("match Observation/1", "match Observation/2", "next"), true, SearchResult{Matches: 2, Next: true}},
		{"chained, more than the family", chain, searchset("match a/1", "match a/2", "match a/3", "match a/4"), true, SearchResult{Matches: 4}},
		{"bad mode", chain, searchset("outcome OperationOutcome/x"), false, SearchResult{}},
		{"not a searchset", ident, []byte(`{"resourceType":"Bundle","type":"history","entry":[]}`), false, SearchResult{}},
		{"OperationOutcome", ident, []byte(`{"resourceType":"OperationOutcome"}`), false, SearchResult{}},
		{"not JSON", ident, []byte(`<html>`), false, SearchResult{}},
	} {
		got, err := CheckSearchset(tc.body, tc.q)
		if (err == nil) != tc.ok {
			t.Errorf("%s: err = %v, want ok %v", tc.name, err, tc.ok)
		}
		if tc.ok && got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestWriteSearchMarkdown(t *testing.T) {
	rec := &SearchRecorder{}
	rec.ok(SearchIdentifier, 2*time.Millisecond, SearchResult{Matches: 1})
	rec.ok(SearchIdentifier, 4*time.Millisecond, SearchResult{Matches: 1})
	rec.ok(SearchRevInclude, 10*time.Millisecond, SearchResult{Matches: 1, Included: 80, Next: true})
	rec.fail(SearchRevInclude, fmt.Errorf("boom"))
	var total TotalStats
	total.Path, total.Total = "/Observation?_total=accurate&_count=0", 800000
	for _, d := range []time.Duration{3, 1, 2} {
		total.Latency.Record(d * time.Millisecond)
	}
	var buf bytes.Buffer
	err := WriteSearchMarkdown(&buf, SearchReport{Concurrency: 8, Elapsed: time.Second, RSSPeak: 300 << 20,
		Kinds: []SearchKind{SearchIdentifier, SearchRevInclude}, Stats: rec.Kinds(), Totals: []TotalStats{total}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| identifier | 8 | 2 | 1s | 2 req/s | 2.00 ms | 4.00 ms | 4.00 ms | 0 | 1.0 | 0.0 | 0 % |  |\n",
		"| revinclude | 8 | 1 | 1s | 1 req/s | 10.0 ms | 10.0 ms | 10.0 ms | 1 | 1.0 | 80.0 | 100 % |  |\n",
		"| **all** | 8 | 3 | 1s | 3 req/s | 4.00 ms | 10.0 ms | 10.0 ms | 1 | 1.0 | 26.7 | 33 % | 300 MiB |\n",
		"| `/Observation?_total=accurate&_count=0` | 3 | 800000 | 2.00 ms | 1.00 ms | 3.00 ms | 0 |\n",
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("missing line\n%s\nin\n%s", want, buf.String())
		}
	}
}
