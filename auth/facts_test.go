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

package auth

import (
	"slices"
	"testing"
)

func TestReferencedPatients(t *testing.T) {
	for _, c := range []struct {
		raw  string
		want []string
	}{
		{`{"subject":{"reference":"Patient/p1"},"performer":[{"reference":"Practitioner/d1"},{"reference":"Patient/p2"}]}`, []string{"Patient/p1", "Patient/p2"}},
		{`{"subject":{"reference":"http://hub.example/misato/fhir/Patient/p9"}}`, []string{"Patient/p9"}},
		{`{"subject":{"reference":"Patient/p1/_history/2"}}`, nil},
		{`{"subject":{"reference":"RelatedPatient/x"},"note":[{"text":"Patient/p3"}]}`, nil},
		{`{"a":{"reference":"Patient/p1"},"b":{"reference":"Patient/p1"}}`, []string{"Patient/p1"}},
		{`{"a":{"reference":"Patient/`, nil},
	} {
		if got := referencedPatients([]byte(c.raw), nil); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.raw, got, c.want)
		}
	}
}
