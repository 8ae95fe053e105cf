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
	"os"
	"path/filepath"
	"testing"

	"github.com/kodomohub/kodomohub/adapters"
	fhirjson "github.com/kodomohub/kodomohub/adapters/fhir"
)

// FuzzRead feeds the same bytes to ReadBundle and ReadNDJSON: neither panics; a bundle comes
// back whole with its Patient first and only the declared type, or not at all with row
// errors; every NDJSON resource is valid JSON with a type and a line. Seeds: testdata and
// testdata/fuzz/FuzzRead.
func FuzzRead(f *testing.F) {
	for _, pattern := range []string{"testdata/clins/*.json", "testdata/bad/*.json", "testdata/ndjson/*.ndjson"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	lim := fhirjson.Limits{MaxBytes: 1 << 16, MaxDepth: 16}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := fhirjson.ReadBundle("fuzz", bytes.NewReader(data), lim)
		switch {
		case err == nil && b == nil, err != nil && b != nil:
			t.Fatalf("bundle %v with error %v", b, err)
		case err == nil:
			if b.Patient.Type != "Patient" || len(b.Entries) == 0 || b.Identifier.String() == "^^" {
				t.Fatalf("bundle %+v", b)
			}
			for _, e := range b.Entries {
				if e.Type != b.ResourceType || !json.Valid(e.JSON) {
					t.Fatalf("entry %+v in a %s bundle", e, b.ResourceType)
				}
			}
		case len(data) <= lim.MaxBytes:
			checkRowErrors(t, err)
		}
		for res, err := range fhirjson.ReadNDJSON("fuzz", bytes.NewReader(data), lim) {
			if err != nil {
				checkRowErrors(t, err)
				continue
			}
			if res.Line < 1 || res.Type == "" || !json.Valid(res.JSON) || len(res.JSON) > lim.MaxBytes {
				t.Fatalf("resource %+v", res)
			}
		}
	})
}

func checkRowErrors(t *testing.T, err error) {
	t.Helper()
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, e := range errs {
		var row *adapters.RowError
		if !errors.As(e, &row) || row.Problem.Line < 1 || row.Problem.File != "fuzz" {
			t.Fatalf("not a row error with a line: %#v", e)
		}
	}
}
