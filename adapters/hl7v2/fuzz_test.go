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

package hl7v2_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/kodomohub/kodomohub/adapters"
	"github.com/kodomohub/kodomohub/adapters/hl7v2"
	"github.com/kodomohub/kodomohub/internal/goldentest"
)

var fieldName = regexp.MustCompile(`^[A-Z][A-Z0-9]{2}(\[[1-9][0-9]*\])?-[1-9][0-9]*(\[[1-9][0-9]*\])?(\.[1-9][0-9]*(\.[1-9][0-9]*)?)?$`)

// FuzzRead: whatever the bytes, Read neither panics nor yields a record that breaks the
// naming grammar or carries text that is not clean UTF-8; the helpers never panic on it.
// Seeds: the golden messages (as ISO-2022-JP) and testdata/fuzz/FuzzRead.
func FuzzRead(f *testing.F) {
	inputs, _ := filepath.Glob("testdata/messages/*.hl7")
	for _, in := range inputs {
		f.Add(mustJIS(f, string(goldentest.Read(f, in))))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for rec, err := range hl7v2.Read("fuzz", bytes.NewReader(data)) {
			if err != nil {
				var row *adapters.RowError
				if !errors.As(err, &row) || row.Problem.File != "fuzz" || row.Problem.Line < 1 {
					t.Fatalf("bad problem %#v", err)
				}
				continue
			}
			if rec.Line < 1 || rec.File != "fuzz" || hl7v2.Get(rec, "MSH-9.1") == "" {
				t.Fatalf("bad record %+v", rec)
			}
			seen := map[string]bool{}
			for _, fl := range rec.Fields {
				if !fieldName.MatchString(fl.Name) || seen[fl.Name] {
					t.Fatalf("field name %q (duplicate %v)", fl.Name, seen[fl.Name])
				}
				seen[fl.Name] = true
				if fl.Value == "" || !utf8.ValidString(fl.Value) || strings.ContainsRune(fl.Value, utf8.RuneError) {
					t.Fatalf("%s = %q", fl.Name, fl.Value)
				}
			}
			hl7v2.PatientOf(rec)
			hl7v2.VisitOf(rec)
			hl7v2.Diagnoses(rec)
			hl7v2.Results(rec)
		}
	})
}
