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
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/tidwall/gjson"
)

// SearchKind is one kind of query in the search benchmark's mix.
type SearchKind int

const (
	SearchIdentifier  SearchKind = iota // Patient?identifier=SYSTEM|VALUE
	SearchSubjectCode                   // Observation?subject=Patient/ID&code=http://loinc.org|8302-2
	SearchCodeDate                      // Observation?code=http://loinc.org|29463-7&date=geD1&date=ltD2
	SearchKanaName                      // Patient?name=HIRAGANA-PREFIX
	SearchRevInclude                    // Patient?_id=ID&_revinclude=Observation:subject
	SearchChained                       // Observation?subject:Patient.identifier=SYSTEM|VALUE
	NumSearchKinds
)

var searchKindNames = [NumSearchKinds]string{"identifier", "subject-code", "code-date", "kana-name", "revinclude", "chained"}

// String is the kind's name as --kinds takes it.
func (k SearchKind) String() string {
	if k >= 0 && k < NumSearchKinds {
		return searchKindNames[k]
	}
	return fmt.Sprintf("SearchKind(%d)", int(k))
}

// ParseSearchKinds parses a comma-separated list of kind names; "" or "all" is every kind.
func ParseSearchKinds(s string) ([]SearchKind, error) {
	if s == "" || s == "all" {
		kinds := make([]SearchKind, NumSearchKinds)
		for i := range kinds {
			kinds[i] = SearchKind(i)
		}
		return kinds, nil
	}
	var kinds []SearchKind
next:
	for _, name := range strings.Split(s, ",") {
		for k, n := range searchKindNames {
			if strings.TrimSpace(name) == n {
				kinds = append(kinds, SearchKind(k))
				continue next
			}
		}
		return nil, fmt.Errorf("bench: unknown search kind %q (have %s)", name, strings.Join(searchKindNames[:], ", "))
	}
	return kinds, nil
}

// Facts are what family b of a workload holds that the search queries need: the queries
// ask for values that exist, and their answers can be checked.
type Facts struct {
	Family           int64
	Patient          string // the Patient's id
	IdentifierSystem string // urn:oid:1.2.392.100495.20.3.51.1<town code>
	IdentifierValue  string
	KanaFamily       string // the katakana family name, e.g. ヤマダ
	Observations     int    // Observations referencing the Patient
	Heights          int    // of which body height, LOINC 8302-2
	Weights          []Obs  // the body weight (LOINC 29463-7) Observations
}

// Obs is one Observation of a family.
type Obs struct {
	ID        string
	Effective string // effectiveDateTime as written
}

// Facts returns family b's facts, from the same random source as Bundle(b).
func (w Workload) Facts(b int64) Facts {
	entries := familyEntries(rand.New(rand.NewPCG(w.Seed, uint64(b))), w, b)
	f := Facts{Family: b}
	for _, e := range entries {
		res := e.Resource
		switch res["resourceType"] {
		case "Patient":
			f.Patient = res["id"].(string)
			ident := res["identifier"].([]any)[0].(map[string]any)
			f.IdentifierSystem, f.IdentifierValue = ident["system"].(string), ident["value"].(string)
			f.KanaFamily = res["name"].([]any)[1].(map[string]any)["family"].(string)
		case "Observation":
			f.Observations++
			switch res["code"].(map[string]any)["coding"].([]any)[0].(map[string]any)["code"] {
			case loincHeight:
				f.Heights++
			case loincWeight:
				f.Weights = append(f.Weights, Obs{ID: res["id"].(string), Effective: res["effectiveDateTime"].(string)})
			}
		}
	}
	return f
}

const (
	loincHeight = "8302-2"
	loincWeight = "29463-7"
)

// Hiragana converts katakana to hiragana (ヤマダ → やまだ); other characters stay.
func Hiragana(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 0x30A1 && r <= 0x30F6 {
			return r - 0x60
		}
		return r
	}, s)
}

// SearchQuery is one search of the mix and what its answer must hold.
type SearchQuery struct {
	Kind SearchKind
	Path string // below the tenant base URL, with the query string: "/Patient?identifier=…"
	// Want is how many matches the query's own family contributes. The answer must have at
	// least one match and, when it has no next page, at least Want (exactly Want if Exact:
	// the query selects resources of this family only).
	Want  int
	Exact bool
	// Contains, if set, is "Type/id" of a resource that must be among the matches when the
	// answer has no next page.
	Contains string
	// WantIncluded is the exact number of included resources, or -1 to not check.
	WantIncluded int
}

// SearchMix generates the queries of the search benchmark from a random sample of the
// families written by an ingest with the same workload.
type SearchMix struct {
	Workload Workload
	Pool     []Facts
	Kinds    []SearchKind // the mix cycles through these
}

// NewSearchMix samples up to poolSize of the families among the first resources of w (whole
// families only) with r and computes their facts.
func NewSearchMix(w Workload, resources int64, poolSize int, kinds []SearchKind, r *rand.Rand) (*SearchMix, error) {
	if w.BundleSize < 3 {
		return nil, errors.New("bench: search needs families of at least 3 resources (a Patient and both kinds of Observation)")
	}
	families := resources / int64(w.BundleSize)
	if families < 1 {
		return nil, fmt.Errorf("bench: %d resources hold no whole family of %d", resources, w.BundleSize)
	}
	if poolSize < 1 || len(kinds) == 0 {
		return nil, errors.New("bench: search needs a pool of at least one family and at least one kind")
	}
	var picks []int64
	if int64(poolSize) >= families {
		for b := range families {
			picks = append(picks, b)
		}
	} else {
		seen := make(map[int64]bool, poolSize)
		for len(picks) < poolSize {
			b := r.Int64N(families)
			if !seen[b] {
				seen[b] = true
				picks = append(picks, b)
			}
		}
	}
	m := &SearchMix{Workload: w, Kinds: kinds, Pool: make([]Facts, len(picks))}
	for i, b := range picks {
		m.Pool[i] = w.Facts(b)
	}
	return m, nil
}

// Query returns search seq of the mix: its kind is Kinds[seq % len(Kinds)], its family and
// values come from r.
func (m *SearchMix) Query(seq int64, r *rand.Rand) SearchQuery {
	return m.QueryOf(m.Kinds[seq%int64(len(m.Kinds))], m.Pool[r.IntN(len(m.Pool))], r)
}

// QueryOf builds a query of kind k for family f.
func (m *SearchMix) QueryOf(k SearchKind, f Facts, r *rand.Rand) SearchQuery {
	esc := url.QueryEscape
	ident := esc(f.IdentifierSystem + "|" + f.IdentifierValue)
	q := SearchQuery{Kind: k, WantIncluded: -1}
	switch k {
	case SearchIdentifier:
		q.Path = "/Patient?identifier=" + ident
		q.Want, q.Contains = 1, "Patient/"+f.Patient
	case SearchSubjectCode:
		q.Path = "/Observation?subject=" + esc("Patient/"+f.Patient) + "&code=" + esc("http://loinc.org|"+loincHeight)
		q.Want, q.Exact = f.Heights, true
	case SearchCodeDate:
		// Every Observation is at 00:00 JST of its day: a one-day window [d, d+1) holds every
		// body weight measured that day, in all families (a few dozen at 1M resources).
		o := f.Weights[r.IntN(len(f.Weights))]
		d1, err := time.Parse(time.RFC3339, o.Effective)
		if err != nil {
			panic(err) // the workload writes RFC 3339
		}
		d2 := d1.AddDate(0, 0, 1)
		q.Path = "/Observation?code=" + esc("http://loinc.org|"+loincWeight) +
			"&date=ge" + esc(d1.Format(time.RFC3339)) + "&date=lt" + esc(d2.Format(time.RFC3339))
		q.Want, q.Contains = 1, "Observation/"+o.ID
	case SearchKanaName:
		// The katakana family name written in hiragana, first 2 or 3 characters: the server
		// must fold hiragana to katakana and match by prefix.
		kana := []rune(Hiragana(f.KanaFamily))
		n := min(len(kana), 2+r.IntN(2))
		q.Path = "/Patient?name=" + esc(string(kana[:n]))
		q.Want, q.Contains = 1, "Patient/"+f.Patient
	case SearchRevInclude:
		q.Path = "/Patient?_id=" + esc(f.Patient) + "&_revinclude=" + esc("Observation:subject")
		q.Want, q.Exact, q.Contains, q.WantIncluded = 1, true, "Patient/"+f.Patient, f.Observations
	case SearchChained:
		q.Path = "/Observation?subject:Patient.identifier=" + ident
		q.Want = f.Observations
	default:
		panic(fmt.Sprintf("bench: no query for %v", k))
	}
	return q
}

// SearchResult is the count of a checked answer's entries.
type SearchResult struct {
	Matches, Included int
	Next              bool // the answer has a next page
}

// CheckSearchset reads a search answer and checks it against q. It reads only the fields it
// checks (gjson), not the resources: the load generator shares the machine with the server,
// and decoding every answer whole cost it a third of a core at 1,000 searches/s.
func CheckSearchset(body []byte, q SearchQuery) (SearchResult, error) {
	f := gjson.GetManyBytes(body, "resourceType", "type", "link.#.relation", "entry")
	if f[0].String() != "Bundle" || f[1].String() != "searchset" {
		return SearchResult{}, fmt.Errorf("bench: %s: got a %s %q, want a searchset Bundle", q.Path, f[0].String(), f[1].String())
	}
	var res SearchResult
	found := false
	var err error
	f[3].ForEach(func(_, e gjson.Result) bool {
		url, mode := e.Get("fullUrl").String(), e.Get("search.mode").String()
		switch mode {
		case "match":
			res.Matches++
			if q.Contains != "" && strings.HasSuffix(url, "/"+q.Contains) {
				found = true
			}
		case "include":
			res.Included++
		default:
			err = fmt.Errorf("bench: %s: entry %s has search mode %q", q.Path, url, mode)
			return false
		}
		return true
	})
	if err != nil {
		return res, err
	}
	for _, rel := range f[2].Array() {
		res.Next = res.Next || rel.String() == "next"
	}
	switch {
	case res.Matches == 0:
		return res, fmt.Errorf("bench: %s: no match, want %d", q.Path, q.Want)
	case q.Exact && res.Matches > q.Want:
		return res, fmt.Errorf("bench: %s: %d matches, want %d", q.Path, res.Matches, q.Want)
	case !res.Next && q.Exact && res.Matches != q.Want, !res.Next && res.Matches < q.Want:
		return res, fmt.Errorf("bench: %s: %d matches and no next page, want %d", q.Path, res.Matches, q.Want)
	case !res.Next && q.Contains != "" && !found:
		return res, fmt.Errorf("bench: %s: %s is not among the %d matches", q.Path, q.Contains, res.Matches)
	case q.WantIncluded >= 0 && res.Included != q.WantIncluded:
		return res, fmt.Errorf("bench: %s: %d included, want %d", q.Path, res.Included, q.WantIncluded)
	}
	return res, nil
}

// KindStats is what a search run measured for one kind of query.
type KindStats struct {
	Requests, Errors  int64 // checked answers, failures (HTTP, transport, or a wrong answer)
	FirstErr          error
	Latency           Recorder // request sent → answer read, successful searches only
	Matches, Included int64    // sums over successful searches
	Pages             int64    // successful searches whose answer had a next page
}

// SearchRecorder collects KindStats from concurrent workers.
type SearchRecorder struct {
	mu    sync.Mutex
	kinds [NumSearchKinds]KindStats
}

func (s *SearchRecorder) ok(k SearchKind, d time.Duration, r SearchResult) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ks := &s.kinds[k]
	ks.Requests++
	ks.Latency.Record(d)
	ks.Matches += int64(r.Matches)
	ks.Included += int64(r.Included)
	if r.Next {
		ks.Pages++
	}
}

func (s *SearchRecorder) fail(k SearchKind, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ks := &s.kinds[k]
	ks.Errors++
	if ks.FirstErr == nil {
		ks.FirstErr = err
	}
}

// Kinds returns the stats of every kind; use it once the run is over.
func (s *SearchRecorder) Kinds() *[NumSearchKinds]KindStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return &s.kinds
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// SearchOp runs search seq, as next returns it, and records its outcome in rec. A search cut
// off by the end of the run is not recorded.
func (c *Client) SearchOp(next func(seq int64) SearchQuery, rec *SearchRecorder) Op {
	return func(ctx context.Context, seq int64) (int, error) {
		q := next(seq)
		buf := bufPool.Get().(*bytes.Buffer)
		defer bufPool.Put(buf)
		t0 := time.Now()
		err := c.get(ctx, q.Path, buf)
		d := time.Since(t0)
		var res SearchResult
		if err == nil {
			res, err = CheckSearchset(buf.Bytes(), q)
		}
		if err != nil {
			if ctx.Err() == nil {
				rec.fail(q.Kind, err)
			}
			return 0, err
		}
		rec.ok(q.Kind, d, res)
		return 1, nil
	}
}

// Total runs a search that asks for _total and returns Bundle.total and the latency.
func (c *Client) Total(ctx context.Context, path string) (int, time.Duration, error) {
	var buf bytes.Buffer
	t0 := time.Now()
	err := c.get(ctx, path, &buf)
	d := time.Since(t0)
	if err != nil {
		return 0, d, err
	}
	f := gjson.GetManyBytes(buf.Bytes(), "resourceType", "type", "total")
	if f[0].String() != "Bundle" || f[1].String() != "searchset" || f[2].Type != gjson.Number {
		return 0, d, fmt.Errorf("bench: %s: got a %s %q without total, want a searchset Bundle with total", path, f[0].String(), f[1].String())
	}
	return int(f[2].Int()), d, nil
}

// TotalQueries are the _total=accurate searches timed by bench search: every Observation,
// and the body heights among them.
var TotalQueries = []string{
	"/Observation?_total=accurate&_count=0",
	"/Observation?code=" + url.QueryEscape("http://loinc.org|"+loincHeight) + "&_total=accurate&_count=0",
}

// TotalStats is a series of sequential runs of one _total search.
type TotalStats struct {
	Path    string
	Total   int // Bundle.total of the last successful run
	Errors  int
	Latency Recorder
}

// SearchReport is a search run: the mix and the _total series.
type SearchReport struct {
	Concurrency int
	Elapsed     time.Duration
	Kinds       []SearchKind
	Stats       *[NumSearchKinds]KindStats
	RSSPeak     int64
	Totals      []TotalStats
}

// WriteSearchMarkdown renders a search run as Markdown tables: one line per kind of query and
// one for all of them, then the _total series if any.
func WriteSearchMarkdown(w io.Writer, r SearchReport) error {
	var b strings.Builder
	if len(r.Kinds) > 0 && r.Stats != nil {
		b.WriteString("| query | concurrency | searches | duration | throughput | p50 | p95 | p99 | errors | mean matches | mean included | full pages | server RSS peak |\n" +
			"|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		var all KindStats
		row := func(name string, ks *KindStats, rss string) {
			rate, mean, incl, pages := 0.0, 0.0, 0.0, 0.0
			if secs := r.Elapsed.Seconds(); secs > 0 {
				rate = float64(ks.Requests) / secs
			}
			if ks.Requests > 0 {
				n := float64(ks.Requests)
				mean, incl, pages = float64(ks.Matches)/n, float64(ks.Included)/n, 100*float64(ks.Pages)/n
			}
			fmt.Fprintf(&b, "| %s | %d | %d | %s | %.0f req/s | %s | %s | %s | %d | %.1f | %.1f | %.0f %% | %s |\n",
				name, r.Concurrency, ks.Requests, r.Elapsed.Round(10*time.Millisecond), rate,
				ms(ks.Latency.Percentile(50)), ms(ks.Latency.Percentile(95)), ms(ks.Latency.Percentile(99)),
				ks.Errors, mean, incl, pages, rss)
		}
		for _, k := range r.Kinds {
			ks := &r.Stats[k]
			row(k.String(), ks, "")
			all.Requests += ks.Requests
			all.Errors += ks.Errors
			all.Matches += ks.Matches
			all.Included += ks.Included
			all.Pages += ks.Pages
			all.Latency.Merge(&ks.Latency)
		}
		rss := "n/a"
		if r.RSSPeak > 0 {
			rss = fmt.Sprintf("%.0f MiB", float64(r.RSSPeak)/(1<<20))
		}
		row("**all**", &all, rss)
	}
	if len(r.Totals) > 0 {
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		b.WriteString("| _total query | runs | total | median | min | max | errors |\n|---|---:|---:|---:|---:|---:|---:|\n")
		for _, t := range r.Totals {
			fmt.Fprintf(&b, "| `%s` | %d | %d | %s | %s | %s | %d |\n", t.Path, t.Latency.Count(), t.Total,
				ms(t.Latency.Percentile(50)), ms(t.Latency.Percentile(0)), ms(t.Latency.Max()), t.Errors)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
