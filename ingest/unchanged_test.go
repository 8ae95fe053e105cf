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

package ingest_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/kodomohub/kodomohub/auth"
	"github.com/kodomohub/kodomohub/fhir"
	"github.com/kodomohub/kodomohub/store"
)

// TestUnchangedUpdatesWriteNothing: an update or patch that leaves the content as it is
// (meta.versionId and meta.lastUpdated aside) makes no version, through a PUT, a patch and a
// transaction; a change does; an If-Match that does not hold still fails.
func TestUnchangedUpdatesWriteNothing(t *testing.T) {
	tw := mustTown(t, store.IntegrityStrict)
	ctx := context.Background()
	_, staff := tw.principal(auth.DevClaims{Subject: "u1", Role: auth.RoleMunicipalStaff, Scope: "system/*.cruds"})
	req := tw.req(staff)
	body := `{"resourceType":"Patient","id":"p1","name":[{"family":"山田","given":["太郎"]}],"birthDate":"2021-05-02"}`
	o, err := tw.in.Update(ctx, req, "Patient", "p1", []byte(body), "", 0)
	if err != nil || !o.Created || o.Resource.Version != 1 {
		t.Fatalf("create: %+v %v", o, err)
	}
	// The same body again, members reordered and with the meta a read gave back.
	again := `{"birthDate":"2021-05-02","resourceType":"Patient","id":"p1","meta":{"versionId":"1","lastUpdated":"2020-01-01T00:00:00Z"},"name":[{"given":["太郎"],"family":"山田"}]}`
	o, err = tw.in.Update(ctx, req, "Patient", "p1", []byte(again), "", 0)
	if err != nil || !o.Unchanged || o.Created || o.Resource.Version != 1 {
		t.Fatalf("unchanged PUT: %+v %v", o, err)
	}
	o, err = tw.in.Patch(ctx, req, "Patient", "p1", []byte(`[{"op":"replace","path":"/birthDate","value":"2021-05-02"}]`), "", 0)
	if err != nil || !o.Unchanged || o.Resource.Version != 1 {
		t.Fatalf("unchanged patch: %+v %v", o, err)
	}
	entries := []fhir.BundleEntry{
		{Resource: json.RawMessage(body), Request: &fhir.BundleRequest{Method: "PUT", URL: "Patient/p1"}},
		{Resource: json.RawMessage(`{"resourceType":"Patient","id":"p2"}`), Request: &fhir.BundleRequest{Method: "PUT", URL: "Patient/p2"}},
		{Request: &fhir.BundleRequest{Method: "GET", URL: "Patient/p1"}},
	}
	out, err := tw.in.Transaction(ctx, req, entries, nil)
	if err != nil || !out[0].Unchanged || out[0].Resource.Version != 1 || !out[1].Created || !out[2].Read || out[2].Resource.Version != 1 {
		t.Fatalf("transaction: %+v %v", out, err)
	}
	if _, err := tw.in.Update(ctx, req, "Patient", "p1", []byte(body), "", 7); !errors.Is(err, store.ErrVersionConflict) {
		t.Errorf("If-Match 7 on an unchanged body: %v, want a version conflict", err)
	}
	o, err = tw.in.Update(ctx, req, "Patient", "p1", []byte(`{"resourceType":"Patient","id":"p1","birthDate":"2021-05-03"}`), "", 0)
	if err != nil || o.Unchanged || o.Resource.Version != 2 {
		t.Fatalf("a change: %+v %v", o, err)
	}
	page, err := tw.st.History(ctx, "misato", store.HistoryQuery{Type: "Patient", ID: "p1"})
	if err != nil || len(page.Versions) != 2 {
		t.Fatalf("history: %d versions, %v; want 2", len(page.Versions), err)
	}
}
