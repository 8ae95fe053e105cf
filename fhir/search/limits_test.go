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
	"slices"
	"strings"
	"testing"

	"github.com/kodomohub/kodomohub/fhir"
)

// values returns n comma-separated values prefix0,prefix1…
func values(prefix string, n int) string {
	vs := make([]string, n)
	for i := range vs {
		vs[i] = prefix + fmt.Sprint(i)
	}
	return strings.Join(vs, ",")
}

// repeated returns key=value n times.
func repeated(key, value string, n int) url.Values {
	return url.Values{key: slices.Repeat([]string{value}, n)}
}

// params builds url.Values from key, value pairs; a key may repeat.
func params(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

func includes(n int) url.Values {
	v := url.Values{}
	for i := range n {
		key := "_include"
		if i%2 == 1 {
			key = "_revinclude"
		}
		v.Add(key, map[string]string{"_include": "Observation:subject", "_revinclude": "Provenance:target"}[key])
	}
	return v
}

func TestParseQueryLimits(t *testing.T) {
	// Observation → Patient → Organization → Organization…: one link per step.
	chain := func(links int) string {
		return "subject:Patient.organization" + strings.Repeat(".partof", links-2) + ".name"
	}
	for _, tc := range []struct {
		name    string
		typ     string
		params  url.Values
		lim     Limits
		lenient bool
		code    fhir.IssueType // "" when the query parses
		expr    string         // an expression some issue must have
		diag    string         // text some issue's diagnostics must contain
	}{
		{name: "OneHundredValuesOK", typ: "Observation", params: params("code", values("c", 100))},
		{name: "ErrTooCostlyValuesInOneParameter", typ: "Observation", params: params("code", values("c", 101)),
			code: fhir.IssueTooCostly, expr: "http.code", diag: "101 values; at most 100"},
		{name: "ErrTooCostlyTwentyThousandValues", typ: "Observation", params: params("code", values("c", 20000)),
			code: fhir.IssueTooCostly, expr: "http.code", diag: "20000 values; at most 100"},
		{name: "EscapedCommaIsOneValue", typ: "Observation", params: params("code", strings.Repeat(`a\,`, 200)+"b")},
		{name: "EmptyValuesAreNotCounted", typ: "Observation", params: params("code", "a"+strings.Repeat(",", 500))},
		{name: "ErrTooCostlyValuesInAll", typ: "Observation", params: repeated("code", values("c", 100), 6),
			code: fhir.IssueTooCostly, expr: "http.code", diag: "600 values in all; at most 500"},
		{name: "SixtyFourParametersOK", typ: "Patient", params: repeated("name", "x", 64)},
		{name: "ErrTooCostlyParameters", typ: "Patient", params: repeated("name", "x", 65),
			code: fhir.IssueTooCostly, diag: `65 parameters ("name" 65 times); at most 64`},
		{name: "FourLinksOK", typ: "Observation", params: params(chain(4), "x")},
		{name: "ErrTooCostlyChain", typ: "Observation", params: params(chain(5), "x"),
			code: fhir.IssueTooCostly, expr: "http." + chain(5), diag: "at most 4 are allowed"},
		{name: "ErrTooCostlyHas", typ: "Patient", params: params("_has:Observation:subject:_has:Observation:has-member:_has:Observation:has-member:status", "final"),
			lim: Limits{MaxDepth: 2}, code: fhir.IssueTooCostly, diag: "more than 2 chain or _has links"},
		{name: "ThousandCharactersOK", typ: "Patient", params: params("name", strings.Repeat("や", 1000))},
		{name: "ErrTooCostlyLongValue", typ: "Patient", params: params("name", "a,"+strings.Repeat("や", 1001)),
			code: fhir.IssueTooCostly, expr: "http.name", diag: "more than 1000 characters"},
		{name: "ErrTooCostlyLongName", typ: "Patient", params: params(strings.Repeat("n", 1001), "x"),
			code: fhir.IssueTooCostly, diag: "name \"nnnn"},
		{name: "LongCursorOK", typ: "Patient", params: params("_cursor", strings.Repeat("A", 5000))},
		{name: "SixteenIncludesOK", typ: "Observation", params: includes(16)},
		{name: "ErrTooCostlyIncludes", typ: "Observation", params: includes(17),
			code: fhir.IssueTooCostly, expr: "http._revinclude", diag: "17 _include and _revinclude directives; at most 16"},
		{name: "ErrTooCostlySortKeys", typ: "Patient", params: params("_sort", strings.Repeat("name,", 101)),
			code: fhir.IssueTooCostly, expr: "http._sort", diag: "101 values"},
		{name: "ErrTooCostlyLenientStillRefuses", typ: "Observation", params: params("code", values("c", 101), "foo", "1"),
			lenient: true, code: fhir.IssueTooCostly, expr: "http.code"},
		{name: "ErrTooCostlyOwnLimit", typ: "Observation", params: params("code", "a,b,c"), lim: Limits{MaxValues: 2},
			code: fhir.IssueTooCostly, diag: "3 values; at most 2"},
		{name: "NegativeFieldTurnsOneLimitOff", typ: "Observation", params: params("code", values("c", 400)), lim: Limits{MaxValues: -1}},
		{name: "NoLimitsTakesServerWrittenLists", typ: "Observation", params: params("subject", values("Patient/p", 1000), chain(6), "x"),
			lim: NoLimits},
		{name: "ErrValueNUL", typ: "Patient", params: params("name", "ya\x00mada"),
			code: fhir.IssueValue, expr: "http.name", diag: "U+0000 at position 2"},
		{name: "ErrValueTab", typ: "Patient", params: params("family", "\tyamada"),
			code: fhir.IssueValue, expr: "http.family", diag: "U+0009 at position 0"},
		{name: "ErrValueNewlineInList", typ: "Observation", params: params("code", "a,b\n"),
			code: fhir.IssueValue, expr: "http.code", diag: "U+000A at position 3"},
		{name: "ErrValueDEL", typ: "Patient", params: params("identifier", "やま\x7f"),
			code: fhir.IssueValue, expr: "http.identifier", diag: "U+007F at position 2"},
		{name: "ErrValueControlInCursor", typ: "Patient", params: params("_cursor", "ab\x1b"),
			code: fhir.IssueValue, expr: "http._cursor", diag: "U+001B"},
		{name: "ErrValueControlInName", typ: "Patient", params: params("na\x01me", "x"),
			code: fhir.IssueValue, diag: `"na\x01me": control character U+0001 at position 2`},
		{name: "ErrValueControlInIgnoredName", typ: "Patient", params: params("foo\x00", "x"), lenient: true,
			code: fhir.IssueValue, diag: "U+0000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := ParseOptions{Now: now, Limits: tc.lim, Lenient: tc.lenient}
			q, err := Default().ParseQuery(tc.typ, tc.params, opts)
			if tc.code == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if len(q.Clauses) == 0 && len(q.Include)+len(q.RevInclude) == 0 && q.Cursor == "" {
					t.Fatalf("nothing parsed: %+v", q)
				}
				return
			}
			fe := fhir.AsError(err)
			want := fhir.KindInvalid
			if tc.code == fhir.IssueTooCostly {
				want = fhir.KindTooCostly
			}
			if fe == nil || fe.Kind != want {
				t.Fatalf("err %v, want a %s *fhir.Error", err, want)
			}
			var codeOK, exprOK, diagOK bool
			for _, is := range fe.Issues {
				if is.Code == tc.code {
					codeOK = true
				}
				exprOK = exprOK || tc.expr == "" || slices.Contains(is.Expression, tc.expr)
				diagOK = diagOK || strings.Contains(is.Diagnostics, tc.diag)
				if strings.ContainsFunc(is.Diagnostics+strings.Join(is.Expression, ""), func(r rune) bool { return r < 0x20 || r == 0x7f }) {
					t.Errorf("issue echoes a control character: %+v", is)
				}
			}
			if !codeOK || !exprOK || !diagOK {
				t.Fatalf("issues %+v, want code %s, expression %q, diagnostics with %q", fe.Issues, tc.code, tc.expr, tc.diag)
			}
		})
	}
}

// Every issue of a query that ParseQuery refuses names the parameter as "http."+name, the
// convention of OperationOutcome.issue.location for HTTP parameters.
func TestParseErrorsNameTheParameter(t *testing.T) {
	_, err := Default().ParseQuery("Patient", params("birthdate", "yesterday", "foo", "1"), ParseOptions{Now: now})
	fe := fhir.AsError(err)
	if fe == nil || len(fe.Issues) != 2 {
		t.Fatalf("err %v, want two issues", err)
	}
	for i, want := range []string{"http.birthdate", "http.foo"} {
		if got := fe.Issues[i].Expression; len(got) != 1 || got[0] != want {
			t.Errorf("issue %d: expression %v, want [%s]", i, got, want)
		}
	}
}

// BenchmarkParseQueryRefusesLongList shows that an oversized OR list costs one scan of the
// text, not a parse of every value.
func BenchmarkParseQueryRefusesLongList(b *testing.B) {
	p := params("code", values("http://loinc.org|1234-", 20000))
	r := Default()
	for b.Loop() {
		if _, err := r.ParseQuery("Observation", p, ParseOptions{Now: now}); err == nil {
			b.Fatal("accepted")
		}
	}
}
