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
	stdcsv "encoding/csv" // aliased: this package is "csv" too
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"
	"unicode/utf8"

	"github.com/kodomohub/kodomohub/adapters"
	"github.com/kodomohub/kodomohub/adapters/text"
)

// DefaultMaxRecordBytes is the longest record (all its lines) a Decoder reads unless told
// otherwise: 1 MiB.
const DefaultMaxRecordBytes = 1 << 20

// The method every format's decoder has (the importer's Decoder).
var _ interface {
	Decode(name string, r io.Reader) ([]string, iter.Seq2[adapters.Record, error], error)
} = (*Decoder)(nil)

// Decoder decodes delimited text files. The zero value reads comma-separated files in a
// detected encoding, with the default limits.
type Decoder struct {
	Comma      rune          // the delimiter; ',' when 0 ('\t' for tab-separated files)
	Encoding   text.Encoding // text.Auto (detect) unless set
	LazyQuotes bool          // accept quotes RFC 4180 does not (encoding/csv's LazyQuotes)
	// MaxLineBytes and MaxRecordBytes bound the memory a file can take: a longer line or
	// record ends the iteration with an error. text.DefaultMaxLineBytes and
	// DefaultMaxRecordBytes (1 MiB each) when 0.
	MaxLineBytes, MaxRecordBytes int
}

// ErrRecordTooLong ends the iteration at a record longer than Decoder.MaxRecordBytes.
var ErrRecordTooLong = errors.New("record too long")

// Decode reads the header of r, a file called name (Record.File and the problems name it),
// and returns the header names (trimmed, in file order) and the records. The records are
// read from r as the iteration asks for them; ranging over them a second time yields
// nothing.
func (d *Decoder) Decode(name string, r io.Reader) (headers []string, records iter.Seq2[adapters.Record, error], err error) {
	feed := &feeder{src: text.NewReader(r, d.Encoding, d.MaxLineBytes), maxRecord: d.MaxRecordBytes}
	if feed.maxRecord <= 0 {
		feed.maxRecord = DefaultMaxRecordBytes
	}
	cr := stdcsv.NewReader(feed)
	if d.Comma != 0 {
		cr.Comma = d.Comma
	}
	cr.LazyQuotes = d.LazyQuotes
	cr.FieldsPerRecord = -1 // counted here, to report them as problems
	cr.ReuseRecord = true
	dec := &decoding{file: name, cr: cr, feed: feed}
	if err := dec.header(); err != nil {
		return nil, nil, fmt.Errorf("csv: %s: %w", name, err)
	}
	return dec.names, dec.records, nil
}

// decoding is one file being decoded.
type decoding struct {
	file     string
	cr       *stdcsv.Reader
	feed     *feeder
	names    []string
	warnings []adapters.Problem // of the header, yielded before the first record
	fields   []string           // the last record read
	started  bool
}

// read reads the next record, marking where it ends for the record limit.
func (d *decoding) read() ([]string, error) {
	fields, err := d.cr.Read()
	d.feed.mark = d.cr.InputOffset()
	if err != nil && d.feed.err != nil && !errors.Is(d.feed.err, io.EOF) {
		return nil, d.feed.err // the feeder's own error (encoding/csv may have wrapped it)
	}
	d.fields = fields
	if err != nil {
		d.fields = nil
	}
	return fields, err
}

func (d *decoding) header() error {
	for {
		fields, err := d.read()
		if errors.Is(err, io.EOF) {
			return errors.New("no header: the file is empty")
		}
		if err != nil {
			return err
		}
		start, end := d.lines()
		issues := d.feed.take(start, end)
		if allEmpty(fields) {
			continue
		}
		var bad []string
		for _, is := range issues {
			if is.Kind == text.InvalidBytes {
				bad = append(bad, is.Reason())
			}
		}
		if len(bad) > 0 {
			return fmt.Errorf("the header cannot be read: %s (read as %s)", strings.Join(bad, "; "), d.feed.src.Encoding())
		}
		seen := map[string]int{}
		var dups []string
		for i, f := range fields {
			n := strings.Trim(f, " \t\u3000")
			d.names = append(d.names, n)
			if first, ok := seen[n]; ok && n != "" {
				dups = append(dups, fmt.Sprintf("%q in columns %d and %d", n, first, i+1))
			} else if !ok {
				seen[n] = i + 1
			}
		}
		if len(dups) > 0 {
			return fmt.Errorf("line %d: the header names a column twice: %s", start, strings.Join(dups, ", "))
		}
		for _, is := range issues {
			d.warnings = append(d.warnings, adapters.Problem{File: d.file, Line: is.Line,
				Column: d.names[d.fieldAt(is)], Reason: is.Reason(), Warning: true})
		}
		return nil
	}
}

// lines are the first and last line of the last record read.
func (d *decoding) lines() (start, end int) {
	start, _ = d.cr.FieldPos(0)
	last := len(d.fields) - 1
	end, _ = d.cr.FieldPos(last)
	return start, end + strings.Count(d.fields[last], "\n")
}

// fieldAt is the index of the field of the last record read that holds is.
func (d *decoding) fieldAt(is text.Issue) int {
	i := 0
	for j := range d.fields {
		line, col := d.cr.FieldPos(j)
		if line > is.Line || (line == is.Line && col-1 > is.Offset) {
			break
		}
		i = j
	}
	return i
}

func (d *decoding) records(yield func(adapters.Record, error) bool) {
	if d.started {
		return
	}
	d.started = true
	for _, w := range d.warnings {
		if !yield(adapters.Record{}, &adapters.RowError{Problem: w}) {
			return
		}
	}
	for {
		fields, err := d.read()
		var pe *stdcsv.ParseError
		switch {
		case errors.Is(err, io.EOF):
			return
		case errors.As(err, &pe):
			if !yield(adapters.Record{File: d.file, Line: pe.StartLine}, d.parseError(pe, len(fields))) {
				return
			}
			continue
		case err != nil:
			yield(adapters.Record{}, fmt.Errorf("csv: %s: %w", d.file, err))
			return
		}
		start, end := d.lines()
		issues := d.feed.take(start, end)
		if allEmpty(fields) {
			continue
		}
		if p := d.check(start, issues); p != nil {
			if !yield(adapters.Record{File: d.file, Line: start}, &adapters.RowError{Problem: *p}) {
				return
			}
			continue
		}
		rec := adapters.Record{File: d.file, Line: start, Fields: make([]adapters.Field, len(fields))}
		for i, f := range fields {
			rec.Fields[i] = adapters.Field{Name: d.names[i], Value: f, Column: i + 1}
		}
		for _, is := range issues { // private-use characters: warnings, the record goes on
			i := d.fieldAt(is)
			w := adapters.Problem{File: d.file, Line: is.Line, Column: d.names[i], Value: fields[i], Reason: is.Reason(), Warning: true}
			if !yield(adapters.Record{}, &adapters.RowError{Problem: w}) {
				return
			}
		}
		if !yield(rec, nil) {
			return
		}
	}
}

// check is the problem that stops the last record read, or nil: a wrong number of fields,
// or bytes not valid in the encoding.
func (d *decoding) check(start int, issues []text.Issue) *adapters.Problem {
	fields := d.fields
	switch n := len(d.names); {
	case len(fields) > n:
		return &adapters.Problem{File: d.file, Line: start, Value: fields[n],
			Reason: fmt.Sprintf("%d fields, but the header has %d columns", len(fields), n)}
	case len(fields) < n:
		return &adapters.Problem{File: d.file, Line: start, Column: d.names[len(fields)],
			Reason: fmt.Sprintf("%d fields, but the header has %d columns: %s and what follows it missing", len(fields), n, d.names[len(fields)])}
	}
	var first *text.Issue
	bad := 0
	for k, is := range issues {
		if is.Kind == text.InvalidBytes {
			if first == nil {
				first = &issues[k]
			}
			bad++
		}
	}
	if first == nil {
		return nil
	}
	i := d.fieldAt(*first)
	reason := first.Reason()
	if bad > 1 {
		reason += fmt.Sprintf(" (and %d more in this record)", bad-1)
	}
	return &adapters.Problem{File: d.file, Line: first.Line, Column: d.names[i], Value: fields[i], Reason: reason}
}

// parseError is the row error of a record encoding/csv could not parse after reading its
// first field fields (the field with the bad quote).
func (d *decoding) parseError(pe *stdcsv.ParseError, field int) *adapters.RowError {
	col := pe.Column
	if t, ok := d.feed.text(pe.Line); ok && col >= 1 && col-1 <= len(t) {
		col = utf8.RuneCountInString(t[:col-1]) + 1
	}
	d.feed.take(pe.StartLine, pe.Line)
	reason := fmt.Sprintf("%v, at line %d, character %d", pe.Err, pe.Line, col)
	if pe.StartLine != pe.Line {
		reason = fmt.Sprintf("%v, at line %d, character %d (the record starts at line %d)", pe.Err, pe.Line, col, pe.StartLine)
	}
	p := adapters.Problem{File: d.file, Line: pe.StartLine, Reason: reason}
	if field < len(d.names) {
		p.Column = d.names[field]
	}
	return &adapters.RowError{Problem: p}
}

func allEmpty(fields []string) bool {
	for _, f := range fields {
		if f != "" {
			return false
		}
	}
	return true
}
