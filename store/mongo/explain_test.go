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

package mongo

import (
	"context"
	"net/url"
	"os"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/kodomohub/kodomohub/fhir/search"
	"github.com/kodomohub/kodomohub/store"
	"github.com/kodomohub/kodomohub/store/mongo/mongotest"
	"github.com/kodomohub/kodomohub/store/storetest"
)

// TestExplain shows the winning plan of each query shape on a real MongoDB and fails on a
// collection scan. FerretDB plans every filter but {_id} as a scan, so it needs
// KODOMOHUB_TEST_MONGO_URI.
func TestExplain(t *testing.T) {
	uri := os.Getenv(mongotest.EnvURI)
	if uri == "" {
		t.Skip("needs a real MongoDB: set " + mongotest.EnvURI + " (FerretDB plans every filter but {_id} as a collection scan)")
	}
	ctx := context.Background()
	s, err := Open(ctx, uri, Options{Database: mongotest.DBName()})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s.DropDatabase(ctx); s.Close() }()
	if err := s.CreateTenant(ctx, store.Tenant{ID: "misato", ReferentialIntegrity: store.IntegrityOff}); err != nil {
		t.Fatal(err)
	}
	reg := search.Default()
	var ws []store.Write
	for _, d := range storetest.Town(7, 30) {
		ws = append(ws, storetest.IndexedWrite(reg, d, store.Update))
	}
	if _, err := s.Commit(ctx, "misato", ws); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ typ, qs string }{
		{"Patient", "identifier=urn:r|R1"},
		{"Patient", "name=やま"},
		{"Patient", "name:exact=山田"},
		{"Patient", "birthdate=2020"},
		{"Patient", "birthdate=gt2020-05-01"},
		{"Patient", "gender=male&_sort=family"},
		{"Observation", "code=http://loinc.org|8302-2"},
		{"Observation", "subject=Patient/p1"},
		{"Observation", "value-quantity=gt10|http://unitsofmeasure.org|kg"},
		{"Observation", "subject:Patient.gender=male"},
		{"Patient", "_has:Observation:subject:code=8302-2"},
		{"Patient", "_id=p1"},
		{"Observation", ""},
		{"", "_tag=urn:tag|vip"},
	} {
		v, _ := url.ParseQuery(tc.qs)
		q, err := reg.ParseQuery(tc.typ, v, search.ParseOptions{Now: time.Now()})
		if err != nil {
			t.Fatalf("%s?%s: %v", tc.typ, tc.qs, err)
		}
		b := &builder{s: s, ctx: ctx, tenant: "misato"}
		p, err := b.filter(q, store.SearchOptions{})
		if err != nil {
			t.Fatalf("%s?%s: %v", tc.typ, tc.qs, err)
		}
		var out bson.M
		cmd := bson.D{{Key: "explain", Value: bson.D{{Key: "find", Value: "resources"}, {Key: "filter", Value: p.filter}}},
			{Key: "verbosity", Value: "queryPlanner"}}
		if err := s.db.RunCommand(ctx, cmd).Decode(&out); err != nil {
			t.Fatalf("%s?%s: explain: %v", tc.typ, tc.qs, err)
		}
		plan := bson.M{}
		if qp, ok := out["queryPlanner"].(bson.M); ok {
			plan, _ = qp["winningPlan"].(bson.M)
		}
		txt := bsonString(plan)
		t.Logf("%s?%s (Go checks: %d)\n  filter %v\n  plan %s", tc.typ, tc.qs, len(p.checks), p.filter, txt)
		if containsStage(plan, "COLLSCAN") {
			t.Errorf("%s?%s: collection scan", tc.typ, tc.qs)
		}
	}
}

func bsonString(m bson.M) string {
	b, _ := bson.MarshalExtJSON(m, false, false)
	return string(b)
}

// containsStage reports whether a plan tree has a stage of that name.
func containsStage(v any, stage string) bool {
	switch v := v.(type) {
	case bson.M:
		if v["stage"] == stage {
			return true
		}
		for _, x := range v {
			if containsStage(x, stage) {
				return true
			}
		}
	case bson.A:
		for _, x := range v {
			if containsStage(x, stage) {
				return true
			}
		}
	case bson.D:
		for _, e := range v {
			if containsStage(e.Value, stage) {
				return true
			}
		}
	}
	return false
}
