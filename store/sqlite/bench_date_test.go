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
	"math/rand/v2"
	"net/url"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/kodomohub/kodomohub/fhir/search"
	"github.com/kodomohub/kodomohub/store"
)

// BenchmarkSearchCodeDay measures the code+date shape of the server benchmark
// (`Observation?code=http://loinc.org|29463-7&date=ge<d>&date=lt<d+1 day>`) over
// KODOMOHUB_BENCH_OBS Observations (default 100,000): heights and weights in turn, one day
// of 730 each at 00:00 JST, so a day holds about 1/1460 of them (68 weights at 100,000)
// while the code matches half. Reports p50/p99 in ms of the first page (_count 50).
func BenchmarkSearchCodeDay(b *testing.B) {
	n := 100000
	if v, err := strconv.Atoi(os.Getenv("KODOMOHUB_BENCH_OBS")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	s, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.CreateTenant(ctx, store.Tenant{ID: "misato", ReferentialIntegrity: store.IntegrityOff}); err != nil {
		b.Fatal(err)
	}
	jst := time.FixedZone("JST", 9*3600)
	start := time.Date(2023, 1, 1, 0, 0, 0, 0, jst)
	var ws []store.Write
	for i := range n {
		at := start.AddDate(0, 0, i/2%730)
		code := []string{"8302-2", "29463-7"}[i%2]
		ws = append(ws, store.Write{Type: "Observation", ID: fmt.Sprintf("o%d", i), Action: store.Create,
			Resource: fmt.Appendf(nil, `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":%q}]},"effectiveDateTime":%q}`, code, at.Format(time.RFC3339)),
			Index: []search.Entry{
				{Code: "code", Type: search.Token, System: "http://loinc.org", Value: code},
				{Code: "date", Type: search.Date, Low: at.UnixMilli(), High: at.UnixMilli() + 1000},
				{Code: "subject", Type: search.Reference, System: "Patient", Value: fmt.Sprintf("c%d", i/80)},
			}})
		if len(ws) == 1000 || i == n-1 {
			if _, err := s.Commit(ctx, "misato", ws); err != nil {
				b.Fatal(err)
			}
			ws = nil
		}
	}
	reg := search.Default()
	r := rand.New(rand.NewPCG(1, 7))
	var lat []time.Duration
	b.ResetTimer()
	for range b.N {
		d := start.AddDate(0, 0, r.IntN(730))
		v := url.Values{"code": {"http://loinc.org|29463-7"},
			"date": {"ge" + d.Format(time.RFC3339), "lt" + d.AddDate(0, 0, 1).Format(time.RFC3339)}}
		t0 := time.Now()
		q, err := reg.ParseQuery("Observation", v, search.ParseOptions{})
		if err != nil {
			b.Fatal(err)
		}
		q.Count = 50
		p, err := s.Search(ctx, "misato", q, store.SearchOptions{})
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
		if len(p.Resources) == 0 {
			b.Fatal("no match")
		}
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.5), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
