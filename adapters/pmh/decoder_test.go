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
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kodomohub/kodomohub/adapters/pmh"
	"github.com/kodomohub/kodomohub/importer"
	"github.com/kodomohub/kodomohub/internal/goldentest"
)

var _ importer.Decoder = pmh.Decoder{}

// TestDecoder: the importer gets Read's records, and the field names as headers.
func TestDecoder(t *testing.T) {
	data := goldentest.Read(t, "testdata/subsidy.json")
	headers, records, err := pmh.Decoder{}.Decode("subsidy.json", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var got []item
	for rec, err := range records {
		if err != nil {
			t.Fatal(err)
		}
		it := item{Line: rec.Line}
		for _, f := range rec.Fields {
			it.Fields = append(it.Fields, []string{f.Name, f.Value})
		}
		got = append(got, it)
	}
	if d := cmp.Diff(read(t, "subsidy.json", data), got); d != "" {
		t.Errorf("(-Read +Decode):\n%s", d)
	}
	if len(headers) != 21 || headers[0] != "orgSpecificCertificateTypeId" || headers[20] != "certificationDetail[1].itemValue" {
		t.Errorf("%d headers: %v", len(headers), headers)
	}
	if _, _, err := (pmh.Decoder{}).Decode("big", bytes.NewReader(make([]byte, pmh.MaxFileBytes+1))); err == nil {
		t.Error("a file too large to read is not Decode's error")
	}
}
