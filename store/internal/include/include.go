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

// Package include runs the _include and _revinclude rounds of a search page, the same way for
// every backend: each backend says how to follow one Include from a set of resources, and Follow
// does the rounds, the :iterate rule, the dedup and the bounds.
package include

import "github.com/kodomohub/kodomohub/fhir/search"

// Bounds of what one page brings in.
const (
	MaxIncluded = 1000 // included resources of one page
	MaxIterate  = 3    // rounds of :iterate after the first
)

// Follow returns the resources that q.Include and q.RevInclude bring in from matches and, for
// the :iterate ones, from what they bring in, MaxIterate rounds, at most MaxIncluded, each once
// and never one of the matches. key identifies a resource (type and id); include and revInclude
// return the resources one Include brings in from a set of resources. visible, when not nil,
// is the caller's view: nothing is followed from a match or an included resource it refuses,
// and what it refuses is not brought in (so an include never tells of a hidden resource).
func Follow[R any](q *search.Query, matches []R, key func(R) string, visible func(R) bool,
	include, revInclude func(search.Include, []R) ([]R, error)) ([]R, error) {
	seen := map[string]bool{}
	var from []R
	for _, m := range matches {
		seen[key(m)] = true
		if visible == nil || visible(m) {
			from = append(from, m)
		}
	}
	var out []R
	for round := 0; round <= MaxIterate && len(from) > 0 && len(out) < MaxIncluded; round++ {
		var next []R
		for _, dir := range []struct {
			ins    []search.Include
			follow func(search.Include, []R) ([]R, error)
		}{{q.Include, include}, {q.RevInclude, revInclude}} {
			for _, in := range dir.ins {
				if round > 0 && !in.Iterate {
					continue
				}
				rs, err := dir.follow(in, from)
				if err != nil {
					return nil, err
				}
				for _, r := range rs {
					k := key(r)
					if seen[k] || len(out) >= MaxIncluded {
						continue
					}
					seen[k] = true
					if visible != nil && !visible(r) {
						continue
					}
					out = append(out, r)
					next = append(next, r)
				}
			}
		}
		from = next
	}
	return out, nil
}
