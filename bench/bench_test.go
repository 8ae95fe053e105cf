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
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kodomohub/kodomohub/conformance"
)

func TestRecorderPercentiles(t *testing.T) {
	var r Recorder
	// 1..100 ms, recorded out of order.
	for _, i := range rand.New(rand.NewPCG(1, 2)).Perm(100) {
		r.Record(time.Duration(i+1) * time.Millisecond)
	}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{50, 50 * time.Millisecond}, {95, 95 * time.Millisecond}, {99, 99 * time.Millisecond},
		{99.9, 100 * time.Millisecond}, {100, 100 * time.Millisecond}, {0.5, time.Millisecond}, {0, time.Millisecond}} {
		if got := r.Percentile(tc.p); got != tc.want {
			t.Errorf("p%v = %v, want %v", tc.p, got, tc.want)
		}
	}
	// Adding a sample after a query must re-sort.
	r.Record(0)
	if got := r.Percentile(0.5); got != 0 {
		t.Errorf("after Record(0): p0.5 = %v, want 0", got)
	}
}

func TestRecorderSmall(t *testing.T) {
	var empty Recorder
	if got := empty.Percentile(99); got != 0 {
		t.Errorf("empty p99 = %v, want 0", got)
	}
	var a, b Recorder
	a.Record(3 * time.Second)
	b.Record(time.Second)
	b.Record(2 * time.Second)
	a.Merge(&b)
	if a.Count() != 3 || a.Percentile(50) != 2*time.Second || a.Max() != 3*time.Second || a.Percentile(1) != time.Second {
		t.Errorf("merged: count %d p50 %v max %v p1 %v", a.Count(), a.Percentile(50), a.Max(), a.Percentile(1))
	}
	// Nearest rank with 10 samples: p95 and p99 are both the largest; p90 is the 9th.
	var c Recorder
	for i := range 10 {
		c.Record(time.Duration(i+1) * time.Millisecond)
	}
	if c.Percentile(90) != 9*time.Millisecond || c.Percentile(95) != 10*time.Millisecond {
		t.Errorf("10 samples: p90 %v p95 %v", c.Percentile(90), c.Percentile(95))
	}
}

type bundleJSON struct {
	ResourceType string `json:"resourceType"`
	Type         string `json:"type"`
	Entry        []struct {
		FullURL  string          `json:"fullUrl"`
		Resource json.RawMessage `json:"resource"`
		Request  struct{ Method, URL string }
	} `json:"entry"`
}

func TestWorkloadDeterministic(t *testing.T) {
	w := Workload{Seed: 7, BundleSize: 30}
	if !bytes.Equal(w.Bundle(3), w.Bundle(3)) {
		t.Fatal("the same family built twice differs")
	}
	if bytes.Equal(w.Bundle(3), w.Bundle(4)) {
		t.Error("families 3 and 4 are identical")
	}
	if bytes.Equal(w.Bundle(3), Workload{Seed: 8, BundleSize: 30}.Bundle(3)) {
		t.Error("seeds 7 and 8 give the same family")
	}
	var b bundleJSON
	if err := json.Unmarshal(w.Bundle(3), &b); err != nil {
		t.Fatal(err)
	}
	if b.ResourceType != "Bundle" || b.Type != "transaction" || len(b.Entry) != 30 {
		t.Fatalf("got a %s %s of %d entries, want a transaction of 30", b.ResourceType, b.Type, len(b.Entry))
	}
	seen := map[string]bool{}
	for j, e := range b.Entry {
		typ, id := w.Ref(90 + int64(j))
		if e.Request.Method != "PUT" || e.Request.URL != typ+"/"+id {
			t.Errorf("entry %d: %s %s, want PUT %s/%s", j, e.Request.Method, e.Request.URL, typ, id)
		}
		var head struct{ ResourceType, ID string }
		json.Unmarshal(e.Resource, &head)
		if head.ResourceType != typ || head.ID != id {
			t.Errorf("entry %d holds %s/%s, want %s/%s", j, head.ResourceType, head.ID, typ, id)
		}
		if !strings.HasPrefix(e.FullURL, "urn:uuid:") || seen[e.FullURL] {
			t.Errorf("entry %d: fullUrl %q is not a fresh urn:uuid", j, e.FullURL)
		}
		seen[e.FullURL] = true
		if j > 0 && !bytes.Contains(e.Resource, []byte(`"reference":"`+b.Entry[0].FullURL+`"`)) {
			t.Errorf("entry %d does not reference the patient %s", j, b.Entry[0].FullURL)
		}
	}
	if typ, id := w.Ref(0); typ != "Patient" || id != "bench-7-0" {
		t.Errorf("Ref(0) = %s/%s", typ, id)
	}
}

// TestWorkloadValid checks every resource of a few families against the R4 definitions,
// so a benchmark never measures 422 responses.
func TestWorkloadValid(t *testing.T) {
	v, err := conformance.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	// A control: the validator must reject what the server would answer 422 to.
	if err := v.Validate([]byte(`{"resourceType":"Patient","birthDate":"2020-13-45","nickname":"x"}`)); err == nil {
		t.Fatal("the validator accepts an invalid Patient; this test would prove nothing")
	}
	counts := map[string]int{}
	for seed := uint64(1); seed <= 3; seed++ {
		w := Workload{Seed: seed, BundleSize: DefaultBundleSize}
		for fam := range int64(4) {
			raw := w.Bundle(fam)
			var b bundleJSON
			if err := json.Unmarshal(raw, &b); err != nil {
				t.Fatal(err)
			}
			for j, e := range b.Entry {
				if err := v.Validate(e.Resource); err != nil {
					t.Fatalf("seed %d family %d entry %d (%s): %v\n%s", seed, fam, j, e.Request.URL, err, e.Resource)
				}
				counts[strings.Split(e.Request.URL, "/")[0]]++
			}
			if err := v.Validate(raw); err != nil {
				t.Fatalf("seed %d family %d: the bundle itself: %v", seed, fam, err)
			}
		}
	}
	for _, typ := range []string{"Patient", "Observation", "Encounter", "QuestionnaireResponse"} {
		if counts[typ] == 0 {
			t.Errorf("no %s in the workload", typ)
		}
	}
}

func TestRunCount(t *testing.T) {
	var calls atomic.Int64
	seen := make([]atomic.Bool, 50)
	st, err := Run(context.Background(), Limits{Concurrency: 4, Count: 50}, func(_ context.Context, seq int64) (int, error) {
		calls.Add(1)
		if seen[seq].Swap(true) {
			t.Errorf("seq %d twice", seq)
		}
		if seq%10 == 0 {
			return 0, errors.New("boom")
		}
		return 3, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 50 || st.Requests != 45 || st.Errors != 5 || st.Resources != 135 || st.Latency.Count() != 45 {
		t.Errorf("calls %d, stats %+v", calls.Load(), st)
	}
	if st.Done != 0 {
		t.Errorf("Done = %d, want 0 (seq 0 failed)", st.Done)
	}
	if st.FirstErr == nil || st.FirstErr.Error() != "boom" {
		t.Errorf("FirstErr = %v", st.FirstErr)
	}
}

func TestRunDone(t *testing.T) {
	st, err := Run(context.Background(), Limits{Concurrency: 3, Count: 20}, func(_ context.Context, seq int64) (int, error) {
		if seq == 13 || seq == 17 {
			return 0, errors.New("lost")
		}
		return 1, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.Done != 13 || st.Requests != 18 {
		t.Errorf("Done = %d, Requests = %d; want 13, 18", st.Done, st.Requests)
	}
	st, _ = Run(context.Background(), Limits{Concurrency: 2, Count: 7}, func(context.Context, int64) (int, error) { return 1, nil })
	if st.Done != 7 {
		t.Errorf("all succeeded: Done = %d, want 7", st.Done)
	}
}

func TestRunDuration(t *testing.T) {
	start := time.Now()
	st, err := Run(context.Background(), Limits{Concurrency: 3, Duration: 200 * time.Millisecond}, func(ctx context.Context, _ int64) (int, error) {
		select {
		case <-time.After(5 * time.Millisecond):
			return 1, nil
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("a 200ms run took %v", d)
	}
	if st.Requests == 0 || st.Errors != 0 {
		t.Errorf("stats %+v: want successes and no errors (cut-off operations are not errors)", st)
	}
	if _, err := Run(context.Background(), Limits{Concurrency: 1}, nil); err == nil {
		t.Error("an unbounded run was accepted")
	}
}

func TestParseRSS(t *testing.T) {
	in := "# HELP process_resident_memory_bytes Resident memory size in bytes.\n" +
		"# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes_other 1\nprocess_resident_memory_bytes 2.5391104e+07\n"
	got, err := ParseRSS(strings.NewReader(in))
	if err != nil || got != 25391104 {
		t.Errorf("ParseRSS = %d, %v", got, err)
	}
	if _, err := ParseRSS(strings.NewReader("go_goroutines 3\n")); err == nil {
		t.Error("no error without the metric")
	}
}

func TestNewClientLoopbackOnly(t *testing.T) {
	for _, u := range []string{"http://127.0.0.1:8080/misato/fhir", "http://localhost:1/t/fhir", "http://[::1]:80/t/fhir"} {
		if _, err := NewClient(u, "t", 1); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	for _, u := range []string{"http://example.jp/misato/fhir", "http://10.0.0.1:8080/x/fhir", "ftp://127.0.0.1/x", "://"} {
		if _, err := NewClient(u, "t", 1); err == nil {
			t.Errorf("%s was accepted", u)
		}
	}
	if got, _ := MetricsURL("http://127.0.0.1:8080/misato/fhir"); got != "http://127.0.0.1:8080/metrics" {
		t.Errorf("MetricsURL = %s", got)
	}
}

func TestWriteMarkdown(t *testing.T) {
	var rec Recorder
	rec.Record(1500 * time.Microsecond)
	var buf bytes.Buffer
	err := WriteMarkdown(&buf, []Row{{Operation: "read", Concurrency: 16, RSSPeak: 100 << 20,
		Stats: Stats{Requests: 2000, Resources: 2000, Elapsed: 2 * time.Second, Latency: &rec}}})
	if err != nil {
		t.Fatal(err)
	}
	want := "| read | 16 | 2000 | 2000 | 2s | 1000 req/s | 1.50 ms | 1.50 ms | 1.50 ms | 0 | 100 MiB |\n"
	if !strings.HasSuffix(buf.String(), want) {
		t.Errorf("got\n%s\nwant last line\n%s", buf.String(), want)
	}
}
