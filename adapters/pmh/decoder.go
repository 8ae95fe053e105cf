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

package pmh

import (
	"io"
	"iter"
	"slices"

	"github.com/kodomohub/kodomohub/adapters"
)

// Decoder decodes one PMH file for the importer (it has the importer.Decoder method): the
// records are Read's, and the headers are the field names they carry, in the order first
// seen. A file that cannot be read is Decode's error.
type Decoder struct{}

// Decode implements importer.Decoder.
func (Decoder) Decode(name string, r io.Reader) ([]string, iter.Seq2[adapters.Record, error], error) {
	type item struct {
		rec adapters.Record
		err error
	}
	var items []item
	var headers []string
	seen := map[string]bool{}
	for rec, err := range Read(name, r) {
		if err != nil {
			if _, row := err.(*adapters.RowError); !row {
				return nil, nil, err
			}
		}
		for _, f := range rec.Fields {
			if !seen[f.Name] {
				seen[f.Name] = true
				headers = append(headers, f.Name)
			}
		}
		items = append(items, item{rec, err})
	}
	items = slices.Clip(items)
	return headers, func(yield func(adapters.Record, error) bool) {
		for _, it := range items {
			if !yield(it.rec, it.err) {
				return
			}
		}
	}, nil
}
