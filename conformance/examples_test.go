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

package conformance_test

import (
	"fmt"
	"testing"

	"github.com/kodomohub/kodomohub/conformance"
	"github.com/kodomohub/kodomohub/conformance/conformancetest"
	"github.com/kodomohub/kodomohub/fhir"
)

func TestR4Examples(t *testing.T) {
	v := conformance.Default()
	ex := conformancetest.Examples(t)
	if len(ex) != 718 {
		t.Errorf("got %d examples, want 718", len(ex))
	}
	conformancetest.CheckSkipExamples(t)
	for _, name := range conformancetest.Names(t) {
		err := v.Validate(ex[name])
		if why, skip := conformancetest.SkipExamples[name]; skip {
			if err == nil {
				t.Errorf("%s is skipped (%s) but validates: remove it from conformancetest.SkipExamples", name, why)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func BenchmarkValidate(b *testing.B) {
	ex := conformancetest.Examples(b)
	v := conformance.Default()
	for _, name := range []string{"Patient-example.json", "Observation-example.json", "Questionnaire-f201.json",
		"Bundle-bundle-transaction.json", "ExplanationOfBenefit-EB3500.json", "Bundle-types.json"} {
		raw := ex[name]
		if raw == nil {
			b.Fatalf("no example %s", name)
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				if err := v.Validate(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestValidateConcurrent checks that the pooled parser state is not shared between calls.
func TestValidateConcurrent(t *testing.T) {
	v := conformance.Default()
	ex := conformancetest.Examples(t)
	names := conformancetest.Names(t)[:200]
	bad := []byte(`{"resourceType":"Patient","name":[{"family":"a","foo":1}],"gender":"boy"}`)
	done := make(chan error, 4)
	for g := range 4 {
		go func() {
			for i, name := range names {
				if (i+g)%3 == 0 {
					if err := v.Validate(bad); err == nil || len(fhir.AsError(err).Issues) != 2 {
						done <- fmt.Errorf("bad resource: %v", err)
						return
					}
					continue
				}
				if _, skip := conformancetest.SkipExamples[name]; !skip {
					if err := v.Validate(ex[name]); err != nil {
						done <- fmt.Errorf("%s: %v", name, err)
						return
					}
				}
			}
			done <- nil
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
