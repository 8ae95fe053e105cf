package sqlite_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
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
	s := mustOpen(b, b.TempDir(), sqlite.Options{})
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
	s := mustOpen(b, b.TempDir(), sqlite.Options{})
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
