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
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/kodomohub/kodomohub/adapters"
	"github.com/kodomohub/kodomohub/adapters/pmh"
)

// FuzzRead: whatever the bytes, Read neither panics nor yields a record with a dropped member
// (myNumber, maxCopaymentAmount) or without its checked fields; problems are row errors with a
// line. Seeds: testdata and testdata/fuzz/FuzzRead.
func FuzzRead(f *testing.F) {
	for _, in := range []string{"testdata/subsidy.json", "testdata/checkup-targets.ndjson"} {
		b, err := os.ReadFile(in)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for rec, err := range pmh.Read("fuzz", bytes.NewReader(data)) {
			if err != nil {
				var row *adapters.RowError
				if !errors.As(err, &row) || row.Problem.Line < 1 || row.Problem.File != "fuzz" {
					t.Fatalf("bad problem %#v", err)
				}
				continue
			}
			if seg := rec.Value("modificationSeg"); rec.Line < 1 || seg != "1" && seg != "2" || rec.Value("municipalityIdentityKey") == "" {
				t.Fatalf("record %+v", rec)
			}
			for _, fl := range rec.Fields {
				if fl.Value == "" || strings.Contains(fl.Name, "myNumber") || strings.Contains(fl.Name, "maxCopaymentAmount") {
					t.Fatalf("field %q = %q", fl.Name, fl.Value)
				}
			}
		}
	})
}
