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

// Package importertest helps tests of code that imports: a plain UTF-8 CSV decoder that needs
// no adapter package, and files held in memory.
package importertest

import (
	"encoding/csv"
	"errors"
	"io"
	"iter"
	"strings"

	"github.com/kodomohub/kodomohub/adapters"
	"github.com/kodomohub/kodomohub/importer"
)

// CSV decodes UTF-8 comma-separated text with a header row, each row a record (line = its
// position + 1: no quoted newlines). adapters/csv is the decoder of real files.
type CSV struct{}

// Decode implements importer.Decoder.
func (CSV) Decode(name string, r io.Reader) ([]string, iter.Seq2[adapters.Record, error], error) {
	rows, err := csv.NewReader(r).ReadAll()
	if err != nil || len(rows) == 0 {
		return nil, nil, errors.New("importertest: not a CSV with a header")
	}
	return rows[0], func(yield func(adapters.Record, error) bool) {
		for i, row := range rows[1:] {
			rec := adapters.Record{File: name, Line: i + 2}
			for j, v := range row {
				rec.Fields = append(rec.Fields, adapters.Field{Name: rows[0][j], Value: v, Column: j + 1})
			}
			if !yield(rec, nil) {
				return
			}
		}
	}, nil
}

// File is an in-memory file.
func File(name, content string) importer.File {
	return importer.File{Name: name, Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(content)), nil }}
}
