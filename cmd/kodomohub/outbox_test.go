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

package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kodomohub/kodomohub/outbox"
	"github.com/kodomohub/kodomohub/store"
	"github.com/kodomohub/kodomohub/store/sqlite"
)

// TestOutboxChangesMetric starts serve's outbox on a store with writes in it and reads
// kodomohub_changes_total from the registry /metrics serves; once stopped, the consumer's
// position is the tenant's last event and its lease is free.
func TestOutboxChangesMetric(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.CreateTenant(ctx, store.Tenant{ID: "misato", Name: "美郷町", ReferentialIntegrity: store.IntegrityOff}); err != nil {
		t.Fatal(err)
	}
	for _, w := range []store.Write{
		{Type: "Patient", ID: "p1", Action: store.Create, Resource: []byte(`{"resourceType":"Patient"}`)},
		{Type: "Patient", ID: "p2", Action: store.Create, Resource: []byte(`{"resourceType":"Patient"}`)},
		{Type: "Patient", ID: "p1", Action: store.Update, Resource: []byte(`{"resourceType":"Patient","active":true}`)},
		{Type: "Observation", ID: "o1", Action: store.Create, Resource: []byte(`{"resourceType":"Observation","status":"final"}`)},
		{Type: "Observation", ID: "o1", Action: store.Delete},
	} {
		if _, err := st.Commit(ctx, "misato", []store.Write{w}); err != nil {
			t.Fatal(err)
		}
	}
	reg, stop, err := startOutbox(ctx, st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`misato Observation create 1`, `misato Observation delete 1`, `misato Patient create 2`, `misato Patient update 1`,
	}
	var got []string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if got = changesMetric(t, reg); strings.Join(got, ";") == strings.Join(want, ";") {
			break
		}
	}
	stop()
	if strings.Join(got, ";") != strings.Join(want, ";") {
		t.Fatalf("kodomohub_changes_total = %q, want %q", got, want)
	}
	l, err := st.ReadLease(ctx, "misato", outbox.ChangesName)
	if err != nil || l.Position != 5 || l.Until.After(time.Now()) {
		t.Fatalf("lease of %q after stop = %+v, %v; want position 5, released", outbox.ChangesName, l, err)
	}
}

// changesMetric returns the series of kodomohub_changes_total as "tenant type action value".
func changesMetric(t *testing.T, reg *prometheus.Registry) []string {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, mf := range mfs {
		if mf.GetName() != "kodomohub_changes_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, lp := range m.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
			}
			out = append(out, fmt.Sprint(labels["tenant"], " ", labels["type"], " ", labels["action"], " ", m.GetCounter().GetValue()))
		}
	}
	slices.Sort(out)
	return out
}

// TestServeMetricsCountChanges checks the wiring: serve runs the changes consumer, and its
// /metrics shows a write made through the store as another process would.
func TestServeMetricsCountChanges(t *testing.T) {
	h := startHub(t)
	if _, err := h.st.Commit(context.Background(), "kawajima", []store.Write{{Type: "Patient", ID: "p1", Action: store.Create,
		Resource: []byte(`{"resourceType":"Patient"}`)}}); err != nil {
		t.Fatal(err)
	}
	const want = `kodomohub_changes_total{action="create",tenant="kawajima",type="Patient"} 1`
	var body string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get(h.base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if body = string(b); strings.Contains(body, want) {
			return
		}
	}
	t.Fatalf("/metrics never showed %s:\n%s", want, body)
}
