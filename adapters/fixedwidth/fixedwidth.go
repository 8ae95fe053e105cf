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
	"cmp"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"strings"

	"github.com/kodomohub/kodomohub/adapters"
	"github.com/kodomohub/kodomohub/adapters/text"
)

// The method every format's decoder has (the importer's Decoder).
var _ interface {
	Decode(name string, r io.Reader) ([]string, iter.Seq2[adapters.Record, error], error)
} = (*Decoder)(nil)

// Decoder decodes fixed-width files of one Layout.
type Decoder struct {
	Layout *Layout
	// MaxLineBytes bounds the memory a file can take: a longer line ends the iteration
	// with an error. text.DefaultMaxLineBytes (1 MiB) when 0.
	MaxLineBytes int
}

// Decode checks the layout and returns its field names in the order of their bytes (what
// a spec binds its columns to) and the records of r, a file called name (Record.File and
// the problems name it). The records are read from r as the iteration asks for them;
// ranging over them a second time yields nothing.
func (d *Decoder) Decode(name string, r io.Reader) (headers []string, records iter.Seq2[adapters.Record, error], err error) {
	if d.Layout == nil {
		return nil, nil, errors.New("fixedwidth: no layout")
	}
	if err := d.Layout.Validate(); err != nil {
		return nil, nil, fmt.Errorf("fixedwidth: %s: %w", cmp.Or(d.Layout.Name, "layout"), err)
	}
	fields := slices.Clone(d.Layout.Fields)
	slices.SortStableFunc(fields, func(a, b Field) int { return cmp.Compare(a.Start, b.Start) })
	dec := &decoding{file: name, fields: fields, width: d.Layout.Width(),
		src: text.NewReader(r, text.CP932, d.MaxLineBytes)}
	for _, f := range fields {
		headers = append(headers, f.Name)
	}
	return headers, dec.records, nil
}

type decoding struct {
	file    string
	fields  []Field // by start
	width   int
	src     *text.Reader
	started bool
}

func (d *decoding) records(yield func(adapters.Record, error) bool) {
	if d.started {
		return
	}
	d.started = true
	for {
		l, err := d.src.ReadLine()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			yield(adapters.Record{}, fmt.Errorf("fixedwidth: %s: %w", d.file, err))
			return
		}
		raw := l.Raw
		if l.Number == 1 && bytes.HasPrefix(raw, []byte("\xef\xbb\xbf")) {
			yield(adapters.Record{}, fmt.Errorf("fixedwidth: %s: starts with a UTF-8 byte order mark; fixed-width files are read as CP932", d.file))
			return
		}
		if len(raw) == 0 || (len(raw) == 1 && raw[0] == 0x1a) {
			continue
		}
		rec, problems, stop := d.record(l.Number, raw)
		for _, p := range problems {
			if !yield(adapters.Record{}, &adapters.RowError{Problem: p}) {
				return
			}
		}
		if stop {
			continue
		}
		if !yield(rec, nil) {
			return
		}
	}
}

// record decodes line n. Its problems are a row error (stop) or warnings (the record goes on).
func (d *decoding) record(n int, raw []byte) (rec adapters.Record, problems []adapters.Problem, stop bool) {
	rowError := func(p adapters.Problem) (adapters.Record, []adapters.Problem, bool) {
		p.File, p.Line = d.file, n
		return adapters.Record{}, []adapters.Problem{p}, true
	}
	if len(raw) < d.width {
		for _, f := range d.fields {
			if f.End() > len(raw) {
				return rowError(adapters.Problem{Column: f.Name,
					Reason: fmt.Sprintf("the line has %d bytes, the layout %d: field %s (bytes %d–%d) is cut short", len(raw), d.width, f.Name, f.Start, f.End())})
			}
		}
	}
	bounds := text.CharBoundaries(raw)
	for _, f := range d.fields {
		for _, at := range []int{f.Start - 1, f.End()} { // the offsets where the field starts and ends
			if !bounds[at] {
				edge := "ends"
				if at == f.Start-1 {
					edge = "starts"
				}
				return rowError(adapters.Problem{Column: f.Name,
					Reason: fmt.Sprintf("field %s (bytes %d–%d) %s inside a double-byte character (bytes %d–%d): the layout or the line is wrong",
						f.Name, f.Start, f.End(), edge, at, at+1)})
			}
		}
	}
	rec = adapters.Record{File: d.file, Line: n, Fields: make([]adapters.Field, len(d.fields))}
	var bad *adapters.Problem
	for i, f := range d.fields {
		v, issues := text.Decode(text.CP932, raw[f.Start-1:f.End()])
		v = strings.TrimRight(v, " \u3000")
		rec.Fields[i] = adapters.Field{Name: f.Name, Value: v, Column: f.Start}
		for _, is := range issues {
			at := f.Start + is.RawOffset // the byte in the line, from 1
			p := adapters.Problem{File: d.file, Line: n, Column: f.Name, Value: v}
			if is.Kind == text.InvalidBytes {
				if bad == nil {
					p.Reason = fmt.Sprintf("bytes % X at byte %d (field %s) are not valid CP932", is.Raw, at, f.Name)
					bad = &p
				}
				continue
			}
			p.Warning = true
			p.Reason = fmt.Sprintf("private-use character %U (外字) at byte %d (field %s): kept as it is", is.Rune, at, f.Name)
			problems = append(problems, p)
		}
	}
	if bad != nil {
		return adapters.Record{}, []adapters.Problem{*bad}, true
	}
	return rec, problems, false
}
