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

package include

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/kodomohub/kodomohub/fhir/search"
)

// chain links n → n+1 (include) and n → n+100 (revinclude).
func chainFollow(step int) func(search.Include, []int) ([]int, error) {
	return func(_ search.Include, from []int) ([]int, error) {
		var out []int
		for _, f := range from {
			out = append(out, f+step, f) // f itself: already seen, never repeated
		}
		return out, nil
	}
}

func TestFollow(t *testing.T) {
	key := func(n int) string { return fmt.Sprint(n) }
	for _, tc := range []struct {
		name     string
		inc, rev []search.Include
		want     []int
	}{
		{"none", nil, nil, nil},
		{"one round", []search.Include{{}}, nil, []int{2}},
		{"include then revinclude", []search.Include{{}}, []search.Include{{}}, []int{2, 101}},
		{"iterate: MaxIterate more rounds", []search.Include{{Iterate: true}}, nil, []int{2, 3, 4, 5}},
		{"iterate on one only: it follows what the other brought in", []search.Include{{Iterate: true}}, []search.Include{{}}, []int{2, 101, 3, 102, 4, 103, 5, 104}},
	} {
		q := &search.Query{Include: tc.inc, RevInclude: tc.rev}
		got, err := Follow(q, []int{1}, key, nil, chainFollow(1), chainFollow(100))
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
	// Bounded: a page brings in at most MaxIncluded.
	many := func(_ search.Include, from []int) ([]int, error) {
		out := make([]int, 0, 2*MaxIncluded)
		for i := range 2 * MaxIncluded {
			out = append(out, 10+i)
		}
		return out, nil
	}
	got, _ := Follow(&search.Query{Include: []search.Include{{}}}, []int{1}, key, nil, many, many)
	if len(got) != MaxIncluded {
		t.Errorf("bounded: %d included, want %d", len(got), MaxIncluded)
	}
	// An error stops the rounds.
	boom := errors.New("boom")
	fail := func(search.Include, []int) ([]int, error) { return nil, boom }
	if _, err := Follow(&search.Query{RevInclude: []search.Include{{}}}, []int{1}, key, nil, chainFollow(1), fail); !errors.Is(err, boom) {
		t.Errorf("error: %v, want boom", err)
	}
	// The caller's view: nothing from or to what it refuses, so a hidden match brings in
	// nothing and a hidden resource is neither included nor followed on (:iterate).
	odd := func(n int) bool { return n%2 == 1 }
	it := &search.Query{Include: []search.Include{{Iterate: true}}}
	if got, _ := Follow(it, []int{1}, key, odd, chainFollow(2), chainFollow(100)); !slices.Equal(got, []int{3, 5, 7, 9}) {
		t.Errorf("visible, odd: %v, want [3 5 7 9]", got)
	}
	if got, _ := Follow(it, []int{1}, key, odd, chainFollow(1), chainFollow(100)); len(got) != 0 {
		t.Errorf("visible: 2 is hidden, so nothing follows from it: %v", got)
	}
	if got, _ := Follow(it, []int{2, 3}, key, odd, chainFollow(2), chainFollow(100)); !slices.Equal(got, []int{5, 7, 9, 11}) {
		t.Errorf("visible: hidden match 2 brings in nothing: %v, want [5 7 9 11]", got)
	}
}
