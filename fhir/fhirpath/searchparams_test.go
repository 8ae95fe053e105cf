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

package fhirpath

import (
	"encoding/json"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/kodomohub/kodomohub/conformance/conformancetest"
)

type searchParam struct {
	ID         string   `json:"id"`
	Code       string   `json:"code"`
	Type       string   `json:"type"`
	Base       []string `json:"base"`
	Expression string   `json:"expression"`
}

func loadSearchParams(t testing.TB) []searchParam {
	t.Helper()
	raw, err := os.ReadFile("testdata/searchparameters.json")
	if err != nil {
		t.Fatal(err)
	}
	var sps []searchParam
	if err := json.Unmarshal(raw, &sps); err != nil {
		t.Fatal(err)
	}
	return sps
}

// examples decodes the R4 examples, by resource type.
func examples(t testing.TB) map[string][]any {
	t.Helper()
	byType := map[string][]any{}
	names := conformancetest.Names(t)
	ex := conformancetest.Examples(t)
	for _, n := range names {
		v, err := Decode(ex[n])
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		rt, _ := v.(map[string]any)["resourceType"].(string)
		byType[rt] = append(byType[rt], v)
	}
	return byType
}

func exampleNamed(t testing.TB, name string) any {
	t.Helper()
	raw, ok := conformancetest.Examples(t)[name]
	if !ok {
		t.Fatalf("no example %s", name)
	}
	v, err := Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestSearchParameterExpressions compiles every expression of the R4 SearchParameters and
// evaluates it against every example of each of its base types.
func TestSearchParameterExpressions(t *testing.T) {
	sps := loadSearchParams(t)
	if len(sps) < 1384 {
		t.Fatalf("only %d search parameters", len(sps))
	}
	byType := examples(t)
	evaluated, nonEmpty := 0, 0
	typesSeen := map[string]int{}
	for _, sp := range sps {
		e, err := Compile(sp.Expression)
		if err != nil {
			t.Errorf("%s: %v", sp.ID, err)
			continue
		}
		bases := sp.Base
		if len(bases) == 1 && (bases[0] == "Resource" || bases[0] == "DomainResource") {
			bases = nil
			for rt := range byType {
				bases = append(bases, rt)
			}
			sort.Strings(bases)
		}
		for _, base := range bases {
			for _, r := range byType[base] {
				got, err := e.Evaluate(r)
				evaluated++
				if err != nil {
					t.Errorf("%s on %s/%v: %v", sp.ID, base, r.(map[string]any)["id"], err)
					continue
				}
				if len(got) > 0 {
					nonEmpty++
				}
				for _, it := range got {
					if it.Type == "" && sp.Type != "composite" {
						t.Errorf("%s on %s/%v: untyped item at %s", sp.ID, base, r.(map[string]any)["id"], it.Path)
					}
					typesSeen[sp.Type+":"+it.Type]++
				}
			}
		}
	}
	t.Logf("%d expressions, %d evaluations, %d non-empty", len(sps), evaluated, nonEmpty)
	if testing.Verbose() {
		var ks []string
		for k := range typesSeen {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		t.Log(strings.Join(ks, " "))
	}
}
