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
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/kodomohub/kodomohub/auth"
	"github.com/kodomohub/kodomohub/conformance"
	"github.com/kodomohub/kodomohub/server"
	"github.com/kodomohub/kodomohub/store"
	"github.com/kodomohub/kodomohub/store/sqlite"
)

func TestPostBundleShape(t *testing.T) {
	w := Workload{Seed: 3, BundleSize: DefaultBundleSize}
	raw, plan := w.PostBundle(5)
	again, _ := w.PostBundle(5)
	if !bytes.Equal(raw, again) {
		t.Fatal("the same POST bundle built twice differs")
	}
	if other, _ := w.PostBundle(6); bytes.Equal(raw, other) {
		t.Error("POST bundles 5 and 6 are identical")
	}
	var b bundleJSON
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatal(err)
	}
	if b.Type != "transaction" || len(b.Entry) != 100 || len(plan) != 100 {
		t.Fatalf("a %s of %d entries (plan %d), want a transaction of 100", b.Type, len(b.Entry), len(plan))
	}
	v, err := conformance.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	urls := map[string]int{}
	for i, e := range b.Entry {
		if e.Request.Method != "POST" || e.Request.URL != plan[i].Type || e.FullURL != plan[i].FullURL {
			t.Fatalf("entry %d: %s %s (%s), plan %+v", i, e.Request.Method, e.Request.URL, e.FullURL, plan[i])
		}
		if gjson.GetBytes(e.Resource, "id").Exists() {
			t.Errorf("entry %d carries an id; the server assigns it", i)
		}
		if err := v.Validate(e.Resource); err != nil {
			t.Fatalf("entry %d (%s): %v\n%s", i, plan[i].Type, err, e.Resource)
		}
		for _, ref := range plan[i].Refs {
			if ref.Target >= i {
				t.Errorf("entry %d refers to entry %d, not an earlier one", i, ref.Target)
			}
			if got := gjson.GetBytes(e.Resource, ref.Path).String(); got != b.Entry[ref.Target].FullURL {
				t.Errorf("entry %d: %s = %q, want %s", i, ref.Path, got, b.Entry[ref.Target].FullURL)
			}
		}
		// Every urn:uuid in the resource is one of the plan's references.
		if n := bytes.Count(e.Resource, []byte("urn:uuid:")); n != len(plan[i].Refs) {
			t.Errorf("entry %d: %d urn:uuid references, the plan has %d", i, n, len(plan[i].Refs))
		}
		urls[e.FullURL]++
		counts[plan[i].Type]++
	}
	if len(urls) != 100 {
		t.Errorf("%d distinct fullUrls, want 100", len(urls))
	}
	if counts["Patient"] != 20 || counts["Encounter"] != 20 || counts["Observation"] != 60 {
		t.Errorf("types %v, want 20 Patients, 20 Encounters, 60 Observations (ten families)", counts)
	}
	if !strings.Contains(string(raw), `"valueCode":"SYL"`) || !strings.Contains(string(raw), "エジンバラ") {
		t.Error("no kana name or no EPDS score in the bundle")
	}
	if err := v.Validate(raw); err != nil {
		t.Fatalf("the bundle itself: %v", err)
	}
	// A size that is not a multiple of a family cuts the last family short.
	if _, p := (Workload{Seed: 3, BundleSize: 15}).PostBundle(0); len(p) != 15 || p[14].Refs[0].Target != 10 {
		t.Errorf("bundle of 15: %d entries, last %+v", len(p), p[len(p)-1])
	}
}

// TestPostBundlesCommit posts POST-shape bundles from four clients at once, as bench ingest
// --shape post does, to a real server on a town with strict referential integrity: every
// answer is checked by CheckPostResponse, and the stored references resolve.
func TestPostBundlesCommit(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.CreateTenant(ctx, store.Tenant{ID: "misato", Name: "美里町", ReferentialIntegrity: store.IntegrityStrict}); err != nil {
		t.Fatal(err)
	}
	dev, err := auth.NewDev(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	v, err := conformance.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(server.New(server.Config{Store: st, Validator: v, Auth: dev, TrustHost: true}).Handler())
	defer hs.Close()
	token, err := dev.Mint(auth.DevClaims{Tenant: "misato", Subject: "bench", Scope: "system/*.cruds",
		Role: auth.RoleMunicipalStaff, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewClient(hs.URL+"/misato/fhir", token, 4)
	if err != nil {
		t.Fatal(err)
	}
	w := Workload{Seed: 1, BundleSize: DefaultBundleSize}
	stats, err := Run(ctx, Limits{Concurrency: 4, Count: 8}, c.IngestPostOp(w))
	if err != nil {
		t.Fatal(err)
	}
	if stats.Errors > 0 || stats.Requests != 8 || stats.Resources != 800 {
		t.Fatalf("%d bundles, %d resources, %d errors; first: %v", stats.Requests, stats.Resources, stats.Errors, stats.FirstErr)
	}

	// The stored resources point at each other: the mother's EPDS score names her, her
	// visit and her child, each of which reads back.
	var buf bytes.Buffer
	if err := c.get(ctx, "/Observation?code=71354-5&_count=100", &buf); err != nil {
		t.Fatal(err)
	}
	scores := gjson.GetBytes(buf.Bytes(), "entry.#.resource").Array()
	if len(scores) != 80 {
		t.Fatalf("%d EPDS scores, want 80 (ten per bundle)", len(scores))
	}
	for _, s := range scores[:5] {
		for _, path := range []string{"subject.reference", "encounter.reference", "focus.0.reference"} {
			ref := s.Get(path).String()
			if !strings.Contains(ref, "/") || strings.HasPrefix(ref, "urn:") {
				t.Fatalf("%s of Observation/%s is %q", path, s.Get("id").String(), ref)
			}
			if err := c.get(ctx, "/"+ref, &buf); err != nil {
				t.Fatalf("%s of Observation/%s: %s: %v", path, s.Get("id").String(), ref, err)
			}
		}
	}

	// A control: the strict town refuses a bundle whose reference does not resolve, and
	// the check refuses an answer whose reference was not rewritten.
	raw, plan := w.PostBundle(100)
	bad := bytes.Replace(raw, []byte(`"fullUrl":"`+plan[0].FullURL+`"`), []byte(`"fullUrl":"urn:uuid:00000000-0000-4000-8000-000000000000"`), 1)
	if bytes.Equal(bad, raw) {
		t.Fatal("the control bundle was not changed")
	}
	var se *StatusError
	if err := c.do(ctx, "POST", "", bad); !errors.As(err, &se) || se.Status/100 != 4 {
		t.Errorf("a bundle with an unresolved urn:uuid: %v, want a 4xx", err)
	}
	answer := `{"resourceType":"Bundle","type":"transaction-response","entry":[` +
		`{"response":{"status":"201 Created","location":"Patient/a/_history/1"},"resource":{"resourceType":"Patient","id":"a"}},` +
		`{"response":{"status":"201 Created","location":"Encounter/b/_history/1"},"resource":{"resourceType":"Encounter","id":"b","subject":{"reference":"urn:uuid:1"}}}]}`
	small := []PostEntry{{Type: "Patient", FullURL: "urn:uuid:1"}, {Type: "Encounter", Refs: []PostRef{{"subject.reference", 0}}}}
	if err := CheckPostResponse([]byte(answer), small); err == nil {
		t.Error("CheckPostResponse accepts a reference left as urn:uuid")
	}
	if err := CheckPostResponse([]byte(strings.Replace(answer, `"urn:uuid:1"`, `"Patient/a"`, 1)), small); err != nil {
		t.Errorf("CheckPostResponse refuses a good answer: %v", err)
	}
}
