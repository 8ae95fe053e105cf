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
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kodomohub/kodomohub/adapters/hl7v2"
	"github.com/kodomohub/kodomohub/importer"
)

var _ importer.Decoder = hl7v2.Decoder{}

// TestDecoder: the importer's view of one file of the tree is what ReadTree yields for it,
// with the field names as headers; a file whose name is not SS-MIX2's is one problem.
func TestDecoder(t *testing.T) {
	fsys := tree(t)
	const p = "000/012/0000123456/20250415/OML-11/0000123456_20250415_OML-11_000000000123456_20250415143000000_01_1"
	headers, records, err := hl7v2.Decoder{}.Decode(p, bytes.NewReader(fsys[p].Data))
	if err != nil {
		t.Fatal(err)
	}
	var want []item
	for _, it := range collect(t, hl7v2.ReadTree(fsys)) {
		if it.File == p {
			want = append(want, it)
		}
	}
	if d := cmp.Diff(want, collect(t, records)); d != "" {
		t.Errorf("records (-ReadTree +Decode):\n%s", d)
	}
	if len(headers) != len(want[0].Fields) || headers[0] != "file.patientId" || headers[len(headers)-1] != "OBX[4]-11" {
		t.Errorf("headers %v", headers)
	}

	_, records, err = hl7v2.Decoder{}.Decode("upload/README.txt", bytes.NewReader([]byte("notes")))
	got := collect(t, records)
	if err != nil || len(got) != 1 || got[0].Problem != "upload/README.txt:0: not an SS-MIX2 file name: 1 parts separated by _, want 7 (patient_date_datatype_order_timestamp_department_condition)" {
		t.Errorf("got %v, %+v", err, got)
	}
}
