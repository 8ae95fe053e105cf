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

package fhirjson_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kodomohub/kodomohub/internal/goldentest"

	"github.com/google/go-cmp/cmp"

	"github.com/kodomohub/kodomohub/adapters"
	fhirjson "github.com/kodomohub/kodomohub/adapters/fhir"
)

var update = flag.Bool("update", false, "rewrite golden files with current output")

func mustOpen(tb testing.TB, path string) *os.File {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.Close() })
	return f
}

func checkGolden(t *testing.T, golden string, got any) {
	t.Helper()
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	goldentest.JSON(t, golden, append(b, '\n'), *update)
}

// problems lists the row errors joined in err as the report prints them.
func problems(t *testing.T, err error) []string {
	t.Helper()
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else if err != nil {
		errs = []error{err}
	}
	var out []string
	for _, e := range errs {
		var row *adapters.RowError
		if !errors.As(e, &row) {
			t.Fatalf("not a row error: %v", e)
		}
		out = append(out, row.Problem.String())
	}
	return out
}

// TestBundleGolden: the valid JP-CLINS bundles of testdata/clins and what ReadBundle makes of them.
func TestBundleGolden(t *testing.T) {
	inputs, _ := filepath.Glob("testdata/clins/*.json")
	for _, in := range inputs {
		if strings.HasSuffix(in, ".golden.json") {
			continue
		}
		t.Run(filepath.Base(in), func(t *testing.T) {
			b, err := fhirjson.ReadBundle(filepath.Base(in), mustOpen(t, in), fhirjson.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, strings.TrimSuffix(in, ".json")+".golden.json", b)
		})
	}
}

// TestBundleKey: a resend carries the same identifier, the importer's natural key.
func TestBundleKey(t *testing.T) {
	b, err := fhirjson.ReadBundle("c", mustOpen(t, "testdata/clins/condition.json"), fhirjson.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want := fhirjson.BundleID{Institution: "1311234567", InsuredPerson: "06139999:記号１２:３４５６:01", LocalID: "COND-20250412-0001"}
	if b.Identifier != want || b.Identifier.String() != "1311234567^06139999:記号１２:３４５６:01^COND-20250412-0001" {
		t.Errorf("identifier %+v", b.Identifier)
	}
	if b.ResourceType != "Condition" || len(b.Entries) != 2 || b.Patient.ID != "p-0000123456" || b.Entries[1].Line != 51 {
		t.Errorf("type %s, %d entries, patient %q, entry 2 at line %d", b.ResourceType, len(b.Entries), b.Patient.ID, b.Entries[1].Line)
	}
}

// TestBundleBad: each known mistake in testdata/bad and every problem it must report, at once.
func TestBundleBad(t *testing.T) {
	for file, want := range map[string][]string{
		"mixed.json": {
			`mixed.json:5 [type]: type "batch": a JP-CLINS bundle is a collection`,
			`mixed.json:9 [entry[2].fullUrl]: fullUrl urn:uuid:2 is also entry[1]'s`,
			`mixed.json:9 [entry[2].resource.resourceType]: an entry of type AllergyIntolerance in a bundle declared Condition: a report unit holds one type`,
			`mixed.json:10 [entry[3].fullUrl]: an entry without fullUrl`,
			`mixed.json:10 [entry[3].resource.id]: id "c 2" does not match [A-Za-z0-9-.]{1,64}`,
		},
		"patients.json": {
			`patients.json:7 [entry[0].resource.resourceType]: entry[0] has type AllergyIntolerance: the first entry is the Patient`,
			`patients.json:8 [entry[1].resource.resourceType]: a Patient that is not entry[0]: the bundle has one Patient, first`,
			`patients.json:9 [entry[2].resource.resourceType]: a Patient that is not entry[0]: the bundle has one Patient, first`,
			`patients.json:10 [entry[3].resource.resourceType]: unknown resource type "Nonsense"`,
			`patients.json:6 [entry]: no AllergyIntolerance entry, the declared type`,
		},
		"identifier.json": {
			`identifier.json:3 [identifier.value]: local id "cond-lower": want 1 to 128 capitals, digits or hyphens`,
			`identifier.json:1 [meta.tag]: no meta.tag with system http://jpfhir.jp/fhir/clins/CodeSystem/BundleResourceType_CS declares the resource type`,
		},
		"case.json": {
			`case.json:1 [meta.tag]: no meta.tag with system http://jpfhir.jp/fhir/clins/CodeSystem/BundleResourceType_CS declares the resource type`,
			`case.json:1 [entry]: no Patient entry`,
		},
		"not-a-bundle.json": {
			`not-a-bundle.json:1 [resourceType]: a JP-CLINS upload is a Bundle, not Patient`,
		},
		"deep.json": {
			`deep.json:1: JSON nesting deeper than 64 levels`,
		},
	} {
		t.Run(file, func(t *testing.T) {
			b, err := fhirjson.ReadBundle(file, mustOpen(t, filepath.Join("testdata/bad", file)), fhirjson.Limits{})
			if b != nil {
				t.Error("a bundle with problems was returned")
			}
			if d := cmp.Diff(want, problems(t, err)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestParseBundleID(t *testing.T) {
	for value, why := range map[string]string{
		"1311234567^06139999:記号:３４５６:01":                                "3",
		"131123456^06139999:記号:３４５６:01^X":                               "institution",
		"1311234567^0613999:記号:３４５６:01^X":                               "insurer",
		"1311234567^06139999:記号:３４５６^X":                                 "4",
		"1311234567^06139999:記号::01^X":                                  "insured number",
		"1311234567^06139999:記号:３４５６:1^X":                               "branch",
		"1311234567^06139999:記号:３４５６:01^" + strings.Repeat("A", 129):    "local id",
		"1311234567^06139999:" + strings.Repeat("記", 40) + ":３４５６:01^X": "51",
	} {
		if _, err := fhirjson.ParseBundleID(value); err == nil || !strings.Contains(err.Error(), why) {
			t.Errorf("ParseBundleID(%q) = %v, want an error about %s", value, err, why)
		}
	}
}

func TestBundleTooLarge(t *testing.T) {
	_, err := fhirjson.ReadBundle("big", mustOpen(t, "testdata/clins/condition.json"), fhirjson.Limits{MaxBytes: 100})
	var row *adapters.RowError
	if err == nil || errors.As(err, &row) {
		t.Errorf("got %v, want an error that is not a row error", err)
	}
}

type ndjsonItem struct {
	Line    int             `json:"line,omitempty"`
	Type    string          `json:"type,omitempty"`
	ID      string          `json:"id,omitempty"`
	JSON    json.RawMessage `json:"json,omitempty"`
	Problem string          `json:"problem,omitempty"`
}

func readNDJSON(t *testing.T, name string, data []byte, lim fhirjson.Limits) []ndjsonItem {
	t.Helper()
	var out []ndjsonItem
	for res, err := range fhirjson.ReadNDJSON(name, bytes.NewReader(data), lim) {
		if err != nil {
			out = append(out, ndjsonItem{Problem: strings.Join(problems(t, err), "; ")})
			continue
		}
		if res.File != name {
			t.Errorf("File %q", res.File)
		}
		out = append(out, ndjsonItem{Line: res.Line, Type: res.Type, ID: res.ID, JSON: res.JSON})
	}
	return out
}

// TestNDJSONGolden: good lines become resources, bad ones problems with their line numbers.
func TestNDJSONGolden(t *testing.T) {
	data, err := os.ReadFile("testdata/ndjson/mixed.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	got := readNDJSON(t, "mixed.ndjson", data, fhirjson.Limits{})
	checkGolden(t, "testdata/ndjson/mixed.golden.json", got)
	t.Run("CRLFAndBOM", func(t *testing.T) {
		crlf := append([]byte("\uFEFF"), bytes.ReplaceAll(data, []byte("\n"), []byte("\r\n"))...)
		if d := cmp.Diff(decodeItems(t, got), decodeItems(t, readNDJSON(t, "mixed.ndjson", crlf, fhirjson.Limits{}))); d != "" {
			t.Errorf("(-LF +CRLF):\n%s", d)
		}
	})
}

func decodeItems(t *testing.T, items []ndjsonItem) any {
	b, err := json.Marshal(items)
	if err != nil {
		t.Fatal(err)
	}
	return goldentest.Decode(b)
}

// TestNDJSONLongLine: a line beyond MaxBytes is refused, and the lines after it are still read.
func TestNDJSONLongLine(t *testing.T) {
	long := `{"resourceType":"Patient","id":"p1","name":[{"text":"` + strings.Repeat("あ", 200_000) + `"}]}`
	data := []byte(long + "\n" + `{"resourceType":"Patient","id":"p2"}` + "\n")
	got := readNDJSON(t, "long", data, fhirjson.Limits{MaxBytes: 1000})
	if len(got) != 2 || got[0].Problem != "long:1: line longer than 1000 bytes" || got[1].ID != "p2" || got[1].Line != 2 {
		t.Errorf("got %+v", got)
	}
	if got := readNDJSON(t, "long", data, fhirjson.Limits{}); len(got) != 2 || got[0].ID != "p1" {
		t.Errorf("with the default limit: %d items, first %+v", len(got), got[0].Problem)
	}
}
