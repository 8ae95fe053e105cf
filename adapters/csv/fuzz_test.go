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

package csv

import (
	"bytes"
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/kodomohub/kodomohub/adapters"
)

// FuzzDecode: any input decodes without panicking, within small limits; every record has
// one field per header, in order, on increasing lines, and every problem names a line.
// The seed corpus is in testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	f.Add([]byte("宛名番号,氏名\r\n1,山田　太郎\r\n2,\"a\nb\"\r\n"), false, false)
	f.Add([]byte("a\tb\n1\t\"x\"\"y\"\n\n3\n"), true, false)
	f.Add([]byte{0x88, 0xb6, ',', 'b', '\n', 0xf0, 0x40, ',', 0x85, 0x40, '\n', '"', 'x'}, false, true)
	f.Fuzz(func(t *testing.T, in []byte, tab, lazy bool) {
		dec := &Decoder{LazyQuotes: lazy, MaxLineBytes: 256, MaxRecordBytes: 512}
		if tab {
			dec.Comma = '\t'
		}
		headers, records, err := dec.Decode("fuzz.csv", bytes.NewReader(in))
		if err != nil {
			return
		}
		last := 0
		for rec, err := range records {
			if err != nil {
				var re *adapters.RowError
				if errors.As(err, &re) && re.Problem.Line < 1 {
					t.Fatalf("problem without a line: %+v", re.Problem)
				}
				continue
			}
			if rec.Line <= last || len(rec.Fields) != len(headers) {
				t.Fatalf("record %+v after line %d, headers %q", rec, last, headers)
			}
			last = rec.Line
			for i, f := range rec.Fields {
				if f.Name != headers[i] || f.Column != i+1 || !utf8.ValidString(f.Value) {
					t.Fatalf("field %d: %+v, headers %q", i, f, headers)
				}
			}
		}
	})
}
