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
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/kodomohub/kodomohub/fhir"
)

// Limits bound the cost of one search as the client wrote it. ParseQuery checks them
// before it parses any value, so an oversized query costs one pass over its text and
// never reaches a store. A zero field takes its value from DefaultLimits; a negative field
// means no limit.
//
// They apply only to the parameters given to ParseQuery. Clauses and values the server
// adds to the parsed Query itself (a chain resolved into a list of ids, a compartment or a
// scope restriction) are not checked: the server bounds those where it builds them.
type Limits struct {
	// MaxParams bounds the parameters (name=value pairs; a repeated name counts each time,
	// _format and _pretty included).
	MaxParams int
	// MaxValues bounds the values of one parameter: the comma-separated alternatives (OR)
	// of a search parameter, or the items of _sort, _elements and _type.
	MaxValues int
	// MaxTotalValues bounds the values of all parameters together.
	MaxTotalValues int
	// MaxDepth bounds the chain and _has links in one parameter name: "subject:Patient.name"
	// has one, "_has:Observation:subject:_has:Provenance:target:agent" two.
	MaxDepth int
	// MaxValueLength bounds the characters (not bytes) of one value: one alternative of a
	// search parameter or one item of a list, or the whole value of the other parameters
	// (_count, _include…). _cursor, which the server writes, is not bounded.
	MaxValueLength int
	// MaxIncludes bounds the _include and _revinclude directives (with :iterate or not).
	MaxIncludes int
}

// DefaultLimits are the limits a zero field takes. Why these numbers:
//
//   - MaxParams 64: each search parameter becomes one more condition (an index subquery)
//     that the store evaluates for every candidate resource. Hand-written searches use a
//     handful; 64 leaves room for generated ones (several _tag and _security
//     restrictions, _elements, paging).
//   - MaxValues 100 and MaxTotalValues 500: each value is a bound argument and an index
//     probe; a hand-written OR list (the codes of a small value set, a page of ids) has
//     tens. A client with more splits the search or lets the server resolve the list (a
//     chain or _has). An outside test stalled the server with four searches of 20,000
//     values each.
//   - MaxDepth 4: each link is a nested subquery whose intermediate set can be a whole
//     table; from an Observation through its Patient to the managing Organization is two.
//   - MaxValueLength 1,000: the longest string, token, reference or uri index entry of the
//     718 R4 examples has 624 characters (a PlanDefinition description); string values are
//     normalised (NFKC, folding) and matched by prefix or substring, at a cost per
//     character.
//   - MaxIncludes 16: each directive is one more query for every page of results.
var DefaultLimits = Limits{
	MaxParams:      64,
	MaxValues:      100,
	MaxTotalValues: 500,
	MaxDepth:       4,
	MaxValueLength: 1000,
	MaxIncludes:    16,
}

// NoLimits turns every limit off, for queries that the server writes itself.
var NoLimits = Limits{MaxParams: -1, MaxValues: -1, MaxTotalValues: -1, MaxDepth: -1, MaxValueLength: -1, MaxIncludes: -1}

// withDefaults fills the zero fields of l from DefaultLimits.
func (l Limits) withDefaults() Limits {
	fill := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	fill(&l.MaxParams, DefaultLimits.MaxParams)
	fill(&l.MaxValues, DefaultLimits.MaxValues)
	fill(&l.MaxTotalValues, DefaultLimits.MaxTotalValues)
	fill(&l.MaxDepth, DefaultLimits.MaxDepth)
	fill(&l.MaxValueLength, DefaultLimits.MaxValueLength)
	fill(&l.MaxIncludes, DefaultLimits.MaxIncludes)
	return l
}

// over reports whether n is beyond the limit max (negative: no limit).
func over(n, max int) bool { return max >= 0 && n > max }

// checkLimits is ParseQuery's first pass over the parameters as written: control
// characters in names and values (400 value) and the limits (400 too-costly). keys are
// the sorted names of params. It returns the issues, one per offending parameter.
func checkLimits(keys []string, params url.Values, lim Limits) []fhir.Issue {
	pairs, top, topN := 0, "", 0
	for _, k := range keys {
		pairs += len(params[k])
		if len(params[k]) > topN {
			top, topN = k, len(params[k])
		}
	}
	if over(pairs, lim.MaxParams) {
		return []fhir.Issue{costly("", "the search has %d parameters (%s %d times); at most %d are allowed: "+
			"combine repeated parameters or split the search", pairs, shorten(top), topN, lim.MaxParams)}
	}
	var issues []fhir.Issue
	total, includes := 0, 0
	var counted []string // the parameters with values, for the total's expression
	for _, k := range keys {
		if tooLong(k, lim.MaxValueLength) {
			issues = append(issues, costly("", "search parameter name %s has more than %d characters; at most %d are allowed",
				shorten(k), lim.MaxValueLength, lim.MaxValueLength))
			continue
		}
		if i, r := controlChar(k); i >= 0 {
			issues = append(issues, fhir.Issue{Severity: fhir.SeverityError, Code: fhir.IssueValue,
				Diagnostics: fmt.Sprintf("search parameter name %q: control character %U at position %d (counting characters from 0); "+
					"names and values of search parameters must not contain U+0000–U+001F or U+007F", k, r, i)})
			continue
		}
		name, _, _ := strings.Cut(k, ":")
		if name == "_include" || name == "_revinclude" {
			includes += len(params[k])
		}
		n := 0
		for _, raw := range params[k] {
			if i, r := controlChar(raw); i >= 0 {
				issues = append(issues, issueAt(k, fhir.IssueValue, "search parameter %q: control character %U at position %d of the value (counting characters from 0); "+
					"names and values of search parameters must not contain U+0000–U+001F or U+007F", k, r, i))
				n = -1
				break
			}
			v, long := countValues(name, raw, lim.MaxValueLength)
			if long != "" {
				issues = append(issues, costly(k, "search parameter %q: the value %s has more than %d characters; "+
					"at most %d are allowed in one value", k, long, lim.MaxValueLength, lim.MaxValueLength))
				n = -1
				break
			}
			if over(v, lim.MaxValues) {
				issues = append(issues, costly(k, "search parameter %q: %d values; at most %d are allowed in one parameter: "+
					"split the search, or let the server resolve the list (a chain or _has)", k, v, lim.MaxValues))
				n = -1
				break
			}
			n += v
		}
		if n > 0 {
			total += n
			counted = append(counted, k)
		}
	}
	if over(includes, lim.MaxIncludes) {
		issues = append(issues, costly("", "the search has %d _include and _revinclude directives; at most %d are allowed",
			includes, lim.MaxIncludes))
		exprs := &issues[len(issues)-1].Expression
		for _, k := range keys {
			if name, _, _ := strings.Cut(k, ":"); name == "_include" || name == "_revinclude" {
				*exprs = append(*exprs, "http."+k)
			}
		}
	}
	if over(total, lim.MaxTotalValues) {
		is := costly("", "the search has %d values in all; at most %d are allowed: split the search or narrow it",
			total, lim.MaxTotalValues)
		for _, k := range counted {
			is.Expression = append(is.Expression, "http."+k)
		}
		issues = append(issues, is)
	}
	return issues
}

// countValues returns the number of non-empty values in raw, the value of the parameter
// name: comma-separated alternatives (with \, escapes) for search parameters, items for
// _sort, _elements and _type, and one for the others. long is the first value (quoted,
// shortened) longer than maxLen characters, or "".
func countValues(name, raw string, maxLen int) (n int, long string) {
	switch name {
	case "_cursor", "_format", "_pretty":
		return 0, ""
	case "_count", "_total", "_summary", "_include", "_revinclude":
		if tooLong(raw, maxLen) {
			return 1, shorten(raw)
		}
		return 1, ""
	}
	escapes := name != "_sort" && name != "_elements" && name != "_type"
	for rest := raw; ; {
		i := 0
		for i < len(rest) && rest[i] != ',' {
			if rest[i] == '\\' && escapes {
				i++
			}
			i++
		}
		v := rest[:min(i, len(rest))]
		if tooLong(v, maxLen) {
			return n, shorten(v)
		}
		if v != "" {
			n++
		}
		if i >= len(rest) {
			return n, ""
		}
		rest = rest[i+1:]
	}
}

func tooLong(s string, max int) bool {
	return max >= 0 && len(s) > max && utf8.RuneCountInString(s) > max
}

// shorten quotes s, cut to its first 40 characters.
func shorten(s string) string {
	i, n := 0, 0
	for i < len(s) && n < 40 {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		n++
	}
	if i < len(s) {
		return fmt.Sprintf("%q…", s[:i])
	}
	return fmt.Sprintf("%q", s)
}

// controlChar returns the position (in characters, from 0) and value of the first
// control character (U+0000–U+001F, U+007F) in s, or -1.
func controlChar(s string) (int, rune) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return utf8.RuneCountInString(s[:i]), rune(c)
		}
	}
	return -1, 0
}

// issueAt is an error issue about the parameter key, which it names as the expression
// "http."+key (OperationOutcome.issue.location's convention for HTTP parameters).
func issueAt(key string, code fhir.IssueType, format string, args ...any) fhir.Issue {
	is := fhir.Issue{Severity: fhir.SeverityError, Code: code, Diagnostics: fmt.Sprintf(format, args...)}
	if key != "" {
		is.Expression = []string{"http." + key}
	}
	return is
}

func costly(key, format string, args ...any) fhir.Issue {
	return issueAt(key, fhir.IssueTooCostly, format, args...)
}
