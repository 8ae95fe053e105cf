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
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kodomohub/kodomohub/fhir/search"
	"github.com/kodomohub/kodomohub/store"
	"github.com/kodomohub/kodomohub/store/sqlite"
	"github.com/kodomohub/kodomohub/store/storetest"
)

// benchPatient returns a Patient of about 900 bytes with 20 index entries and one reference.
func benchPatient(id string, n int) store.Write {
	family, given := fmt.Sprintf("ヤマダ%d", n%5000), fmt.Sprintf("タロウ%d", n%300)
	body := fmt.Appendf(nil, `{"resourceType":"Patient","identifier":[{"system":"urn:oid:1.2.392.200119.6.102","value":"%08d"},`+
		`{"system":"urn:kodomohub:misato:resident","value":"R%08d"}],"active":true,"name":[{"use":"official","family":"%s","given":["%s"]},`+
		`{"use":"usual","extension":[{"url":"http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation","valueCode":"SYL"}],"family":"やまだ","given":["たろう"]}],`+
		`"telecom":[{"system":"phone","value":"0868-%04d-%04d","use":"home"}],"gender":"male","birthDate":"2019-%02d-%02d",`+
		`"address":[{"use":"home","postalCode":"709-%04d","state":"岡山県","city":"美郷町","line":["大字%d番地"]}],`+
		`"managingOrganization":{"reference":"Organization/org1"}}`, n, n, family, given, n%10000, n%9999, n%12+1, n%28+1, n%10000, n%999)
	s := func(code, v string) search.Entry { return search.Entry{Code: code, Type: search.String, Value: v} }
	tok := func(code, sys, v string) search.Entry {
		return search.Entry{Code: code, Type: search.Token, System: sys, Value: v}
	}
	low := time.Date(2019, time.Month(n%12+1), n%28+1, 0, 0, 0, 0, time.UTC).UnixMilli()
	return store.Write{Type: "Patient", ID: id, Action: store.Create, Resource: body, Refs: []store.Key{{Type: "Organization", ID: "org1"}},
		Index: []search.Entry{
			s("family", family), s("family", "ヤマダ"), s("given", given), s("given", "タロウ"),
			s("name", family), s("name", given), s("name", "ヤマダ"), s("name", "タロウ"),
			s("phonetic", "ヤマダ"), s("address", "美郷町"), s("address-city", "美郷町"), s("address-state", "岡山県"),
			s("address-postalcode", fmt.Sprintf("709-%04d", n%10000)),
			tok("identifier", "urn:oid:1.2.392.200119.6.102", fmt.Sprintf("%08d", n)),
			tok("identifier", "urn:kodomohub:misato:resident", fmt.Sprintf("R%08d", n)),
			tok("active", "", "true"), tok("gender", "http://hl7.org/fhir/administrative-gender", "male"),
			tok("phone", "", fmt.Sprintf("0868-%04d-%04d", n%10000, n%9999)),
			{Code: "birthdate", Type: search.Date, Low: low, High: low + 86400000},
			{Code: "organization", Type: search.Reference, System: "Organization", Value: "org1"},
		}}
}

func benchStore(b *testing.B) *sqlite.Store {
	s := mustOpen(b, b.TempDir(), envOptions())
	b.Cleanup(func() { s.Close() })
	if err := s.CreateTenant(ctx, store.Tenant{ID: "misato"}); err != nil {
		b.Fatal(err)
	}
	if _, err := s.Commit(ctx, "misato", []store.Write{{Type: "Organization", ID: "org1", Action: store.Create,
		Resource: []byte(`{"resourceType":"Organization","name":"美郷町"}`)}}); err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkCommit measures ingest: 4 goroutines commit bundles of 100 new Patients with 20
// index entries each. b.N counts bundles; the figure to read is resources/s.
func BenchmarkCommit(b *testing.B) {
	const workers, bundle = 4, 100
	s := benchStore(b)
	var next atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				ws := make([]store.Write, bundle)
				for j := range ws {
					n := int(i)*bundle + j
					ws[j] = benchPatient(fmt.Sprint("p", n), n)
				}
				if _, err := s.Commit(ctx, "misato", ws); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N*bundle)/time.Since(start).Seconds(), "resources/s")
}

// BenchmarkRead measures the latency of Read of random resources among 20,000.
func BenchmarkRead(b *testing.B) {
	const total = 20000
	s := benchStore(b)
	for i := 0; i < total; i += 500 {
		ws := make([]store.Write, 500)
		for j := range ws {
			ws[j] = benchPatient(fmt.Sprint("p", i+j), i+j)
		}
		if _, err := s.Commit(ctx, "misato", ws); err != nil {
			b.Fatal(err)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	b.ResetTimer()
	for range b.N {
		if _, err := s.Read(ctx, "misato", "Patient", fmt.Sprint("p", r.IntN(total))); err != nil {
			b.Fatal(err)
		}
	}
}

// townWrites returns the writes of a synthetic town of children (about 10 resources each)
// with the index entries search.Default().Extract computes, in bundles of 100.
func townWrites(tb testing.TB, children int) [][]store.Write {
	tb.Helper()
	reg := search.Default()
	docs := storetest.Town(1, children)
	var bundles [][]store.Write
	for i := 0; i < len(docs); i += 100 {
		var ws []store.Write
		for _, d := range docs[i:min(i+100, len(docs))] {
			ws = append(ws, storetest.IndexedWrite(reg, d, store.Create))
		}
		bundles = append(bundles, ws)
	}
	return bundles
}

// BenchmarkCommitTown measures ingest of realistic resources (Patients, Observations,
// Encounters, QuestionnaireResponses with the entries Extract computes, ~20-40 each): 4
// goroutines commit bundles of 100. Entries are extracted before the timer starts (the
// server does that work on its request goroutines).
func BenchmarkCommitTown(b *testing.B) {
	const workers = 4
	bundles := townWrites(b, 2000)
	entries := 0
	for _, ws := range bundles {
		for _, w := range ws {
			entries += len(w.Index)
		}
	}
	s := mustOpen(b, b.TempDir(), envOptions())
	b.Cleanup(func() { s.Close() })
	if err := s.CreateTenant(ctx, store.Tenant{ID: "misato", ReferentialIntegrity: store.IntegrityOff}); err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	var written atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				ws := slices.Clone(bundles[int(i)%len(bundles)])
				for j := range ws {
					ws[j].Action = store.Update // later rounds rewrite the same resources
				}
				if _, err := s.Commit(ctx, "misato", ws); err != nil {
					b.Error(err)
					return
				}
				written.Add(int64(len(ws)))
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(written.Load())/time.Since(start).Seconds(), "resources/s")
	b.ReportMetric(float64(entries)/float64(len(bundles)*100), "entries/resource")
}

// envOptions are the Options of the ingest benchmark: the defaults, or
// KODOMOHUB_BENCH_WRITER_CACHE_KIB, KODOMOHUB_BENCH_MMAP (bytes) and KODOMOHUB_BENCH_WAL_CHECKPOINT
// (pages) to compare settings.
func envOptions() sqlite.Options {
	var o sqlite.Options
	o.WriterCacheKiB, _ = strconv.Atoi(os.Getenv("KODOMOHUB_BENCH_WRITER_CACHE_KIB"))
	o.MmapBytes, _ = strconv.ParseInt(os.Getenv("KODOMOHUB_BENCH_MMAP"), 10, 64)
	o.WALAutoCheckpoint, _ = strconv.Atoi(os.Getenv("KODOMOHUB_BENCH_WAL_CHECKPOINT"))
	return o
}

// searchShapes are the query kinds of the search benchmark, for child n of storetest.Town.
var searchShapes = []struct {
	name, typ string
	query     func(n int, r *rand.Rand) string
}{
	{"identifier", "Patient", func(n int, _ *rand.Rand) string {
		return fmt.Sprintf("identifier=urn:kodomohub:resident|R%07d", n)
	}},
	{"subject+code", "Observation", func(n int, r *rand.Rand) string {
		return fmt.Sprintf("subject=Patient/c%d&code=http://loinc.org|%s", n, []string{"8302-2", "29463-7", "8867-4"}[r.IntN(3)])
	}},
	{"code+date", "Observation", func(_ int, r *rand.Rand) string {
		y, m := 2021+r.IntN(3), 1+r.IntN(12) // a month of the town's three years
		return fmt.Sprintf("code=http://loinc.org|%s&date=ge%d-%02d-01&date=lt%d-%02d-01",
			[]string{"8302-2", "29463-7", "8867-4"}[r.IntN(3)], y, m, y+m/12, m%12+1)
	}},
	{"kana-name", "Patient", func(_ int, r *rand.Rand) string {
		return "name=" + []string{"やまだ", "ヤマモト", "ｻﾄｳ", "たなか", "スズキ", "ハナコ"}[r.IntN(6)]
	}},
	{"revinclude", "Patient", func(n int, _ *rand.Rand) string {
		return fmt.Sprintf("_id=c%d&_revinclude=Observation:subject", n)
	}},
	{"chain", "Observation", func(n int, _ *rand.Rand) string {
		return fmt.Sprintf("subject:Patient.identifier=urn:kodomohub:resident|R%07d", n)
	}},
}

var searchBench = struct {
	once     sync.Once
	s        *sqlite.Store
	children int
}{}

// searchStore returns a store holding a town of KODOMOHUB_BENCH_CHILDREN children (default
// 5,000: about 50,000 resources), built once per test binary.
func searchStore(b *testing.B) (*sqlite.Store, int) {
	searchBench.once.Do(func() {
		children := 5000
		if n, err := strconv.Atoi(os.Getenv("KODOMOHUB_BENCH_CHILDREN")); err == nil && n > 0 {
			children = n
		}
		dir, err := os.MkdirTemp("", "kodomohub-search-bench")
		if err != nil {
			b.Fatal(err)
		}
		s := mustOpen(b, dir, sqlite.Options{})
		if err := s.CreateTenant(ctx, store.Tenant{ID: "misato", ReferentialIntegrity: store.IntegrityOff}); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		var wg sync.WaitGroup
		bundles := make(chan []store.Write, 8)
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ws := range bundles {
					if _, err := s.Commit(ctx, "misato", ws); err != nil {
						panic(err)
					}
				}
			}()
		}
		for _, ws := range townWrites(b, children) {
			bundles <- ws
		}
		close(bundles)
		wg.Wait()
		b.Logf("search bench: %d children (~%d resources) loaded in %v", children, children*10, time.Since(start).Round(time.Second))
		searchBench.s, searchBench.children = s, children
	})
	return searchBench.s, searchBench.children
}

// BenchmarkSearch runs the benchmark's query kinds at concurrency 8 (b.N searches in all,
// kinds in turn) and reports p50/p99 per kind in ms and searches/s overall. Each search
// reads its first page (_count 20) with the resources' JSON.
func BenchmarkSearch(b *testing.B) {
	s, children := searchStore(b)
	reg := search.Default()
	const workers = 8
	lat := make([][]time.Duration, len(searchShapes))
	var mu sync.Mutex
	var next atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 7))
			mine := make([][]time.Duration, len(searchShapes))
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					break
				}
				k := int(i) % len(searchShapes)
				sh := searchShapes[k]
				v, _ := url.ParseQuery(sh.query(r.IntN(children), r))
				t0 := time.Now()
				q, err := reg.ParseQuery(sh.typ, v, search.ParseOptions{})
				if err != nil {
					panic(err)
				}
				q.Count = 20
				if _, err := s.Search(ctx, "misato", q, store.SearchOptions{}); err != nil {
					panic(err)
				}
				mine[k] = append(mine[k], time.Since(t0))
			}
			mu.Lock()
			for k := range mine {
				lat[k] = append(lat[k], mine[k]...)
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "searches/s")
	for k, ls := range lat {
		if len(ls) == 0 {
			continue
		}
		slices.Sort(ls)
		pct := func(p float64) float64 {
			return float64(ls[min(len(ls)-1, int(p*float64(len(ls))))].Microseconds()) / 1000
		}
		b.ReportMetric(pct(0.5), searchShapes[k].name+"-p50-ms")
		b.ReportMetric(pct(0.99), searchShapes[k].name+"-p99-ms")
	}
}

// BenchmarkSearchTotal measures _total=accurate on the whole Observation type (answered
// from the counts table) and on one code (a COUNT over the index).
func BenchmarkSearchTotal(b *testing.B) {
	s, _ := searchStore(b)
	reg := search.Default()
	for _, qs := range []string{"_total=accurate&_count=0", "code=http://loinc.org|8302-2&_total=accurate&_count=0"} {
		b.Run(qs, func(b *testing.B) {
			v, _ := url.ParseQuery(qs)
			q, _ := reg.ParseQuery("Observation", v, search.ParseOptions{})
			var total int64
			for range b.N {
				p, err := s.Search(ctx, "misato", q, store.SearchOptions{})
				if err != nil {
					b.Fatal(err)
				}
				total = p.Total
			}
			b.ReportMetric(float64(total), "total")
		})
	}
}

// BenchmarkSearchKind runs each query kind alone, sequentially (latency without queueing).
func BenchmarkSearchKind(b *testing.B) {
	s, children := searchStore(b)
	reg := search.Default()
	for _, sh := range searchShapes {
		b.Run(sh.name, func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 7))
			for range b.N {
				v, _ := url.ParseQuery(sh.query(r.IntN(children), r))
				q, err := reg.ParseQuery(sh.typ, v, search.ParseOptions{})
				if err != nil {
					b.Fatal(err)
				}
				q.Count = 20
				if _, err := s.Search(ctx, "misato", q, store.SearchOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAppendAudit measures the audit trail under API load: 16 goroutines each append one
// entry at a time (a record of about 300 bytes naming one patient), as the hub does once per
// request, with heads unsealed and sealed (an HMAC per group). b.N counts entries; the figure
// to read is appends/s.
func BenchmarkAppendAudit(b *testing.B) {
	for _, sealed := range []bool{false, true} {
		b.Run(map[bool]string{false: "unsealed", true: "sealed"}[sealed], func(b *testing.B) {
			o := envOptions()
			if sealed {
				o.AuditKey = storetest.NewAuditKey(b)
			}
			benchmarkAppendAudit(b, o)
		})
	}
}

func benchmarkAppendAudit(b *testing.B, o sqlite.Options) {
	const workers = 16
	s := mustOpen(b, b.TempDir(), o)
	b.Cleanup(func() { s.Close() })
	if err := s.CreateTenant(ctx, store.Tenant{ID: "misato"}); err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				at := time.Now()
				patient, entity := fmt.Sprintf("Patient/c%d", i%5000), fmt.Sprintf("Observation/o%d", i)
				rec := fmt.Appendf(nil, `{"type":"rest","subtype":"read","action":"R","recorded":%q,"outcome":"0",`+
					`"agent":{"who":"Practitioner/dr%d","client":"kodomo-app","network":"10.0.%d.%d"},`+
					`"entity":[{"what":%q},{"what":%q,"role":"patient"}],"query":"_id=o%d","purpose":"TREAT"}`,
					at.Format(time.RFC3339Nano), w, w, i%250, entity, patient, i)
				_, err := s.AppendAudit(ctx, "misato", []store.AuditEntry{{Time: at, Record: rec, Agent: fmt.Sprint("Practitioner/dr", w),
					Patients: []string{patient}, Entity: entity, Action: "R", Outcome: "0"}})
				if err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "appends/s")
}

// BenchmarkAuditEntries measures the reads of a verification: a trail of
// KODOMOHUB_BENCH_AUDIT_ENTRIES entries (default 200,000, appended 1,000 per call) read
// whole with AuditEntries in pages of 1,000, each hash recomputed. b.N counts entries read.
func BenchmarkAuditEntries(b *testing.B) {
	n, _ := strconv.Atoi(os.Getenv("KODOMOHUB_BENCH_AUDIT_ENTRIES"))
	if n <= 0 {
		n = 200_000
	}
	s := mustOpen(b, b.TempDir(), envOptions())
	b.Cleanup(func() { s.Close() })
	if err := s.CreateTenant(ctx, store.Tenant{ID: "misato"}); err != nil {
		b.Fatal(err)
	}
	at := time.Date(2025, 4, 1, 9, 0, 0, 0, time.UTC)
	for i := 0; i < n; i += 1000 {
		batch := make([]store.AuditEntry, min(1000, n-i))
		for k := range batch {
			j := i + k
			patient, entity := fmt.Sprintf("Patient/c%d", j%5000), fmt.Sprintf("Observation/o%d", j)
			batch[k] = store.AuditEntry{Time: at, Agent: fmt.Sprint("Practitioner/dr", j%16), Patients: []string{patient},
				Entity: entity, Action: "R", Outcome: "0", Record: fmt.Appendf(nil,
					`{"type":"rest","subtype":"read","action":"R","recorded":%q,"outcome":"0","agent":{"who":"Practitioner/dr%d"},`+
						`"entity":[{"what":%q},{"what":%q,"role":"patient"}],"purpose":"TREAT"}`, at.Format(time.RFC3339Nano), j%16, entity, patient)}
		}
		if _, err := s.AppendAudit(ctx, "misato", batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	start := time.Now()
	read := 0
	for read < b.N {
		prev, after := store.AuditGenesis, int64(0)
		for after < int64(n) && read < b.N {
			es, err := s.AuditEntries(ctx, "misato", after, 1000)
			if err != nil || len(es) == 0 {
				b.Fatalf("AuditEntries(after %d): %d entries, %v", after, len(es), err)
			}
			for _, e := range es {
				if string(store.AuditLink(prev, e.Seq, e.Record)) != string(e.Hash) {
					b.Fatalf("entry %d: the chain is broken", e.Seq)
				}
				prev, after = e.Hash, e.Seq
			}
			read += len(es)
		}
	}
	b.ReportMetric(float64(read)/time.Since(start).Seconds(), "entries/s")
}
