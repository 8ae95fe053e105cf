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

package fixedwidth

import (
	"bytes"
	"errors"
	"os"
	"testing"
	"unicode/utf8"

	"github.com/kodomohub/kodomohub/adapters"
)

// FuzzDecode: any file decodes without panicking with the registry layout; a record has
// every field of the layout, at its first byte; problems name a line and a field. The seed
// corpus is in testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	f.Add(registryInput(f))
	f.Add([]byte("0000000000001010000000001\x8eR\x93c\x81@\n\xf0\x40\x85\x40\xff\r\n\x1a"))
	layout := mustLayout(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		_, records, err := (&Decoder{Layout: layout, MaxLineBytes: 512}).Decode("fuzz.dat", bytes.NewReader(in))
		if err != nil {
			t.Fatal(err)
		}
		for rec, err := range records {
			var re *adapters.RowError
			switch {
			case errors.As(err, &re):
				if re.Problem.Line < 1 || re.Problem.Column == "" {
					t.Fatalf("problem %+v", re.Problem)
				}
			case err != nil:
			default:
				if len(rec.Fields) != len(layout.Fields) {
					t.Fatalf("record %+v", rec)
				}
				for i, f := range rec.Fields {
					if f.Column != layout.Fields[i].Start || !utf8.ValidString(f.Value) {
						t.Fatalf("field %+v", f)
					}
				}
			}
		}
	})
}

// FuzzLoadLayout: any YAML loads without panicking, and a layout it accepts is valid.
func FuzzLoadLayout(f *testing.F) {
	for _, p := range []string{"testdata/registry.layout.yaml", "testdata/bad/overlaps.layout.yaml"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		l, err := LoadLayout("fuzz.yaml", in)
		if err == nil {
			if verr := l.Validate(); verr != nil {
				t.Fatalf("loaded an invalid layout: %v", verr)
			}
		}
	})
}
