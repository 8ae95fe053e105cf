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

package pmh_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"strings"
	"testing"

	"github.com/kodomohub/kodomohub/internal/goldentest"

	"github.com/google/go-cmp/cmp"

	"github.com/kodomohub/kodomohub/adapters"
	"github.com/kodomohub/kodomohub/adapters/pmh"
)

var update = flag.Bool("update", false, "rewrite golden files with current output")

// item is one thing Read yielded, as the golden files show it.
type item struct {
	Line    int        `json:"line,omitempty"`
	Fields  [][]string `json:"fields,omitempty"`
	Problem string     `json:"problem,omitempty"`
}

func read(t *testing.T, name string, data []byte) []item {
	t.Helper()
	var out []item
	for rec, err := range pmh.Read(name, bytes.NewReader(data)) {
		if err != nil {
			var row *adapters.RowError
			if !errors.As(err, &row) {
				t.Fatalf("not a row error: %v", err)
			}
			out = append(out, item{Problem: row.Error()})
			continue
		}
		if rec.File != name {
			t.Errorf("File %q", rec.File)
		}
		it := item{Line: rec.Line}
		for _, f := range rec.Fields {
			it.Fields = append(it.Fields, []string{f.Name, f.Value})
		}
		out = append(out, it)
	}
	return out
}

// marshal writes items as JSON with one field a line.
func marshal(tb testing.TB, items []item) []byte {
	tb.Helper()
	enc := func(v any) string {
		var b bytes.Buffer
		e := json.NewEncoder(&b)
		e.SetEscapeHTML(false)
		if err := e.Encode(v); err != nil {
			tb.Fatal(err)
		}
		return strings.TrimSuffix(b.String(), "\n")
	}
	var b strings.Builder
	b.WriteString("[")
	for i, it := range items {
		if i > 0 {
			b.WriteString(",")
		}
		if it.Problem != "" {
			b.WriteString("\n  {\"problem\": " + enc(it.Problem) + "}")
			continue
		}
		b.WriteString("\n  {\"line\": " + enc(it.Line) + ", \"fields\": [")
		for j, f := range it.Fields {
			if j > 0 {
				b.WriteString(",")
			}
			b.WriteString("\n    " + enc(f))
		}
		b.WriteString("\n  ]}")
	}
	b.WriteString("\n]\n")
	return []byte(b.String())
}

func checkGolden(t *testing.T, golden string, got []item) {
	t.Helper()
	goldentest.JSON(t, golden, marshal(t, got), *update)
}

// TestGolden: an array file (medical subsidy) and an NDJSON file (checkup targets) with the
// mistakes a town's export makes.
func TestGolden(t *testing.T) {
	for _, in := range []string{"testdata/subsidy.json", "testdata/checkup-targets.ndjson"} {
		t.Run(in, func(t *testing.T) {
			got := read(t, strings.TrimPrefix(in, "testdata/"), goldentest.Read(t, in))
			checkGolden(t, strings.TrimSuffix(strings.TrimSuffix(in, ".json"), ".ndjson")+".golden.json", got)
		})
	}
}

// TestMyNumberNeverImported: no field name, value or problem of any test file carries a
// My Number, and an object that copies it into another field is refused.
func TestMyNumberNeverImported(t *testing.T) {
	numbers := []string{"210987654321", "210987654322", "123456789012", "123456789013"}
	for _, in := range []string{"testdata/subsidy.json", "testdata/checkup-targets.ndjson"} {
		data := goldentest.Read(t, in)
		for _, n := range numbers[:2] {
			if in == "testdata/subsidy.json" && !bytes.Contains(data, []byte(n)) {
				t.Fatalf("%s lost its test My Number %s", in, n)
			}
		}
		for rec, err := range pmh.Read(in, bytes.NewReader(data)) {
			var text []string
			if err != nil {
				text = append(text, err.Error())
			}
			for _, f := range rec.Fields {
				text = append(text, f.Name, f.Value)
			}
			for _, s := range text {
				for _, n := range numbers {
					if strings.Contains(s, n) || strings.Contains(strings.ToLower(s), "mynumber") {
						t.Errorf("%s:%d carries a My Number: %q", in, rec.Line, s)
					}
				}
			}
		}
	}
	got := read(t, "copy", []byte(`{"modificationSeg":"2","myNumber":"123456789013","municipalityIdentityKey":"K-123456789013"}`))
	want := []item{{Problem: "copy:1 [municipalityIdentityKey]: carries the My Number, which is never imported"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

// k is the fields of a deletion of the person K: modificationSeg 2, municipalityIdentityKey K.
func k(key string) [][]string {
	return [][]string{{"modificationSeg", "2"}, {"municipalityIdentityKey", key}}
}

func TestShapes(t *testing.T) {
	one := "\uFEFF{\n  \"modificationSeg\": \"2\",\n  \"municipalityIdentityKey\": \"K1\"\n}\n"
	for name, tc := range map[string]struct {
		data string
		want []item
	}{
		"OneObject": {one, []item{{Line: 1, Fields: k("K1")}}},
		"PrettyObjectsInARowCRLF": {strings.ReplaceAll(one+strings.TrimPrefix(one, "\uFEFF"), "\n", "\r\n"), []item{
			{Line: 1, Fields: k("K1")},
			{Line: 5, Fields: k("K1")},
		}},
		"Empty": {" \n", nil},
		"NotAnObject": {`["x", {"modificationSeg":"2","municipalityIdentityKey":"K"}]`, []item{
			{Problem: "f:1: not a JSON object"},
			{Line: 1, Fields: k("K")},
		}},
		"BrokenArrayEndsTheFile": {"[\n{\"modificationSeg\":\"2\",\"municipalityIdentityKey\":\"K\"},\n{\"x\": tru},\n{}\n]", []item{
			{Line: 2, Fields: k("K")},
			{Problem: "f:3: not JSON, the rest of the array cannot be read: invalid character '}' in literal true (expecting 'e')"},
		}},
		"DataAfterTheArray": {"[]\n{}", []item{{Problem: "f:2: data after the array"}}},
		"TooDeep": {`{"a":` + strings.Repeat("[", pmh.MaxDepth) + strings.Repeat("]", pmh.MaxDepth) + "}", []item{
			{Problem: "f:1: nesting deeper than 64 levels"},
		}},
		"ControlCharacter": {"{\"modificationSeg\":\"2\",\n\"municipalityIdentityKey\":\"K\\u0000\"}", []item{
			{Problem: "f:2 [municipalityIdentityKey]: control character U+0000"},
		}},
		"NotUTF8": {"{\"modificationSeg\":\"2\",\"municipalityIdentityKey\":\"\x8e\x52\x93\x63\"}", []item{
			{Problem: "f:1: not UTF-8: PMH JSON is UTF-8"},
		}},
		"LongKey": {`{"modificationSeg":"2","municipalityIdentityKey":"` + strings.Repeat("鍵", 101) + `"}`, []item{
			{Problem: "f:1 [municipalityIdentityKey]: longer than 100 characters"},
		}},
	} {
		t.Run(name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, read(t, "f", []byte(tc.data))); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestTooLarge(t *testing.T) {
	var errs []error
	for _, err := range pmh.Read("big", bytes.NewReader(make([]byte, pmh.MaxFileBytes+1))) {
		errs = append(errs, err)
	}
	var row *adapters.RowError
	if len(errs) != 1 || errors.As(errs[0], &row) {
		t.Errorf("got %v, want one error that is not a row error", errs)
	}
}
