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

package search

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Corpus gives Match the other resources that chained parameters and _has need.
type Corpus interface {
	// Get returns the current version of resourceType/id.
	Get(resourceType, id string) (resource any, ok bool)
	// All returns the current version of every resource of resourceType.
	All(resourceType string) []any
}

// Match reports whether resource matches q, by brute force: it extracts the resource's
// entries for each clause's parameter and applies the semantics documented in query.go
// (MatchEntry). It is the correctness oracle the stores are compared against, not a
// search engine. corpus serves chains and _has; it may be nil when q has neither.
// Result parameters (sort, count, include…) are not Match's business.
func (r *Registry) Match(q *Query, resource any, corpus Corpus) (bool, error) {
	rt := resourceTypeOf(resource)
	if rt == "" {
		return false, fmt.Errorf("search: Match: resource without resourceType")
	}
	if q.Type != "" && rt != q.Type || len(q.Types) > 0 && !slices.Contains(q.Types, rt) {
		return false, nil
	}
	for _, c := range q.Clauses {
		ok, err := r.matchClause(c, resource, rt, corpus)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

func (r *Registry) matchClause(c *Clause, res any, rt string, corpus Corpus) (bool, error) {
	if c.Has != nil {
		if corpus == nil {
			return false, fmt.Errorf("search: Match: _has needs a Corpus")
		}
		id := str(asMap(res), "id")
		for _, x := range corpus.All(c.Has.Type) {
			refs, err := r.ExtractParam(c.Has.Param, x)
			if err != nil {
				return false, err
			}
			if !slices.ContainsFunc(refs, func(e Entry) bool {
				return e.Kind == KindValue && e.System == rt && e.Value == id
			}) {
				continue
			}
			if ok, err := r.matchClause(c.Has.Clause, x, c.Has.Type, corpus); err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	}
	entries, err := r.ExtractParam(c.Param, res)
	if err != nil {
		return false, err
	}
	if c.Chain != nil {
		if corpus == nil {
			return false, fmt.Errorf("search: Match: chained parameters need a Corpus")
		}
		for _, e := range entries {
			if e.Kind != KindValue || e.Value == "" || e.System != c.TargetType {
				continue
			}
			x, ok := corpus.Get(e.System, e.Value)
			if !ok {
				continue
			}
			if ok, err := r.matchClause(c.Chain, x, e.System, corpus); err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	}
	if c.Modifier == ModMissing {
		return (len(entries) == 0) == c.Missing, nil
	}
	found := false
search:
	for i := range c.Values {
		for j := range entries {
			if MatchEntry(c, &c.Values[i], &entries[j]) {
				found = true
				break search
			}
		}
	}
	if c.Modifier == ModNot {
		return !found, nil
	}
	return found, nil
}

// MatchEntry reports whether entry e of c.Param matches search value v of clause c, by
// the rules of query.go. For :not it answers the positive question (the clause matches
// when no entry does); :missing, chains and _has are clause-level and not answered here.
func MatchEntry(c *Clause, v *Value, e *Entry) bool {
	return matchValue(c.Param.Type, c.Modifier, c.TargetType, v, e)
}

func matchValue(t Type, mod Modifier, target string, v *Value, e *Entry) bool {
	switch t {
	case String:
		if e.Kind != KindValue {
			return false
		}
		switch mod {
		case ModExact:
			return e.Text == v.Raw
		case ModContains:
			return strings.Contains(e.Value, v.String)
		}
		return strings.HasPrefix(e.Value, v.String)
	case Token:
		switch mod {
		case ModOfType:
			return e.Kind == KindOfType && e.System == v.System && e.Value == v.Code && e.Text == v.Ident
		case ModText:
			return e.Kind == KindValue && e.Text != "" && strings.HasPrefix(e.Text, v.String)
		}
		return e.Kind == KindValue && tokenMatch(v, e)
	case Reference:
		switch {
		case mod == ModIdentifier:
			return e.Kind == KindIdentifier && tokenMatch(v, e)
		case mod == ModAbove:
			return e.Kind == KindURL && strings.HasPrefix(v.RefURL, e.Value)
		case mod == ModBelow:
			return e.Kind == KindURL && strings.HasPrefix(e.Value, v.RefURL)
		case v.RefURL != "":
			return e.Kind == KindURL && e.Value == v.RefURL
		}
		return e.Kind == KindValue && e.Value == v.RefID && (v.RefType == "" || e.System == v.RefType) &&
			(target == "" || e.System == target)
	case Date:
		return e.Kind == KindValue && dateMatch(v.Prefix, v.Low, v.High, e.Low, e.High)
	case Number:
		return e.Kind == KindValue && numMatch(v, e.Num)
	case Quantity:
		if e.Kind != KindValue || !numMatch(v, e.Num) {
			return false
		}
		switch {
		case v.HasSystem:
			return e.System == v.System && e.Value == v.Code
		case v.Code != "":
			return e.Value == v.Code || e.Text == v.Code
		}
		return true
	case URI:
		if e.Kind != KindValue {
			return false
		}
		switch mod {
		case ModAbove:
			return strings.HasPrefix(v.Raw, e.Value)
		case ModBelow:
			return strings.HasPrefix(e.Value, v.Raw)
		}
		return e.Value == v.Raw
	case Composite:
		if e.Type != Composite || len(e.Parts) != len(v.Parts) {
			return false
		}
		for i := range v.Parts {
			if !matchValue(e.Parts[i].Type, ModNone, "", &v.Parts[i], &e.Parts[i]) {
				return false
			}
		}
		return true
	}
	return false
}

func tokenMatch(v *Value, e *Entry) bool {
	return (!v.HasSystem || e.System == v.System) && (v.Code == "" || e.Value == v.Code) &&
		(v.Code != "" || e.Value != "")
}

func dateMatch(p Prefix, qlo, qhi, lo, hi int64) bool {
	eq := qlo <= lo && hi <= qhi
	switch p {
	case Eq:
		return eq
	case Ne:
		return !eq
	case Gt:
		return hi > qhi
	case Lt:
		return lo < qlo
	case Ge:
		return hi > qhi || eq
	case Le:
		return lo < qlo || eq
	case Sa:
		return lo >= qhi
	case Eb:
		return hi <= qlo
	case Ap:
		return lo < qhi && hi > qlo
	}
	return false
}

func numMatch(v *Value, n float64) bool {
	switch v.Prefix {
	case Eq:
		return v.NumLow <= n && n < v.NumHigh
	case Ne:
		return !(v.NumLow <= n && n < v.NumHigh)
	case Gt, Sa:
		return n > v.Num
	case Lt, Eb:
		return n < v.Num
	case Ge:
		return n >= v.Num
	case Le:
		return n <= v.Num
	case Ap:
		return math.Abs(n-v.Num) <= math.Abs(v.Num)/10 || v.NumLow <= n && n < v.NumHigh
	}
	return false
}
