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

package hl7v2

import (
	"io"
	"iter"
	"path"
	"path/filepath"
	"slices"

	"github.com/kodomohub/kodomohub/adapters"
)

// Decoder decodes one SS-MIX2 file for the importer (it has the importer.Decoder method).
// The file's name must be an SS-MIX2 file name (its folders are not checked: Walk does that
// for a whole tree); a name that is not is one *adapters.RowError. Records are as ReadTree
// makes them, the file-name parts first and PID-3 checked; the headers are the field names
// the file's records carry, in the order first seen.
type Decoder struct{}

// Decode implements importer.Decoder.
func (Decoder) Decode(name string, r io.Reader) ([]string, iter.Seq2[adapters.Record, error], error) {
	base := path.Base(filepath.ToSlash(name))
	n, err := ParseFileName(base)
	if err != nil {
		io.Copy(io.Discard, r) // the importer digests what it read
		bad := rowError(name, 0, "", "", "not an SS-MIX2 file name: "+err.Error())
		return nil, func(yield func(adapters.Record, error) bool) { yield(adapters.Record{}, bad) }, nil
	}
	var items []item
	var headers []string
	seen := map[string]bool{}
	for rec, err := range readFile(name, n, r) {
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
	return headers, replay(items), nil
}

type item struct {
	rec adapters.Record
	err error
}

func replay(items []item) iter.Seq2[adapters.Record, error] {
	return func(yield func(adapters.Record, error) bool) {
		for _, it := range slices.Clip(items) {
			if !yield(it.rec, it.err) {
				return
			}
		}
	}
}
