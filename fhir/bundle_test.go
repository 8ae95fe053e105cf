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

package fhir

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestBundleEncodeMatchesJSON(t *testing.T) {
	total := 2
	b := &Bundle{ResourceType: "Bundle", ID: "b1", Type: "searchset", Timestamp: "2026-04-01T00:00:00.000Z", Total: &total,
		Meta: json.RawMessage(`{"tag":[{"code":"x"}]}`),
		Link: []BundleLink{{Relation: "self", URL: "https://hub/misato/fhir/Patient?name=やまだ&x=<>"}},
		Entry: []BundleEntry{
			{FullURL: "https://hub/misato/fhir/Patient/p1", Resource: json.RawMessage(`{"resourceType":"Patient","id":"p1","name":[{"family":"山田"}]}`), Search: &BundleSearch{Mode: "match"}},
			{Response: &BundleResponse{Status: "404 Not Found", Outcome: json.RawMessage(`{"resourceType":"OperationOutcome","issue":[]}`)}},
			{Request: &BundleRequest{Method: "DELETE", URL: "Patient/p2"}, Response: &BundleResponse{Status: "204 No Content"}},
		}}
	want, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	got := b.Encode()
	var w, g any
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("Encode wrote invalid JSON: %v\n%s", err, got)
	}
	wb, _ := json.Marshal(w)
	gb, _ := json.Marshal(g)
	if !bytes.Equal(wb, gb) {
		t.Fatalf("Encode differs from json.Marshal:\n got %s\nwant %s", got, want)
	}
	empty := (&Bundle{Type: "history"}).Encode()
	if string(empty) != `{"resourceType":"Bundle","type":"history"}` {
		t.Fatalf("empty bundle: %s", empty)
	}
}
