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

package r4

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestPrune(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"resourceType":"Immunization","occurrenceDateTime":"2021-01-01","occurrenceString":"","vaccineCode":{},"patient":{"reference":""}}`,
			`{"resourceType":"Immunization","occurrenceDateTime":"2021-01-01"}`},
		{`{"b":[{},"",null,{"x":[]}],"a":1.50,"c":false,"z":"山田"}`, `{"a":1.50,"c":false,"z":"山田"}`},
		{`{"x":{"y":{"z":""}}}`, `{}`},
		{`{"name":[{"family":"山田","given":["太郎",""]}]}`, `{"name":[{"family":"山田","given":["太郎"]}]}`},
	} {
		got, err := Prune([]byte(tc.in))
		if err != nil || string(got) != tc.want {
			t.Errorf("Prune(%s) = %s, %v; want %s", tc.in, got, err, tc.want)
		}
	}
	if _, err := Prune([]byte(`{"a":`)); err == nil {
		t.Error("Prune of broken JSON: no error")
	}
}

func TestBuildAndRead(t *testing.T) {
	family, use := "山田", NameUse(0)
	p := Patient{Name: []HumanName{{Family: &family, Use: &use}}}
	raw, err := Build(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(raw), `{"resourceType":"Patient"`) && !strings.Contains(string(raw), `"resourceType":"Patient"`) {
		t.Errorf("Build: %s", raw)
	}
	if strings.Contains(string(raw), `""`) || strings.Contains(string(raw), `{}`) {
		t.Errorf("Build left empty values: %s", raw)
	}
	back, err := Read[Patient](raw, "Patient")
	if err != nil || *back.Name[0].Family != "山田" {
		t.Fatalf("Read: %+v, %v", back, err)
	}
	if _, err := Read[Patient](json.RawMessage(`{"resourceType":"Observation"}`), "Patient"); err == nil {
		t.Error("Read accepted an Observation as a Patient")
	}
}
