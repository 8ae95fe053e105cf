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

package xlsx

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"
	"unicode"

	"github.com/xuri/excelize/v2"

	"github.com/kodomohub/kodomohub/adapters"
)

// Limits that apply unless a Decoder sets its own.
const (
	DefaultMaxFileBytes  = 64 << 20  // the workbook file
	DefaultMaxUnzipBytes = 256 << 20 // all its parts, expanded
	maxParts             = 10000     // parts in the zip
	inMemoryPart         = 16 << 20  // larger sheets and shared strings go to a temporary file
)

// The method every format's decoder has (the importer's Decoder).
var _ interface {
	Decode(name string, r io.Reader) ([]string, iter.Seq2[adapters.Record, error], error)
} = (*Decoder)(nil)

// Decoder decodes one sheet of a workbook.
type Decoder struct {
	Sheet     string // the sheet's name; the workbook's first sheet when ""
	HeaderRow int    // the header's row number; the first row with a value when 0
	// MaxFileBytes and MaxUnzipBytes bound what a workbook may take (see the package doc);
	// DefaultMaxFileBytes and DefaultMaxUnzipBytes when 0.
	MaxFileBytes, MaxUnzipBytes int64
}

// ErrNotWorkbook is the error of a file that is not an .xlsx or .xlsm workbook.
var ErrNotWorkbook = errors.New("not an Excel workbook (.xlsx or .xlsm)")

// ErrTooLarge is the error of a workbook beyond the Decoder's limits.
var ErrTooLarge = errors.New("workbook too large")

// Decode reads the workbook r, a file called name (Record.File and the problems name it),
// and the header of its sheet, and returns the header names and the records. The records
// are read as the iteration asks for them; ranging over them a second time yields nothing.
func (d *Decoder) Decode(name string, r io.Reader) (headers []string, records iter.Seq2[adapters.Record, error], err error) {
	dec, err := d.open(name, r)
	if err != nil {
		return nil, nil, fmt.Errorf("xlsx: %s: %w", name, err)
	}
	if err := dec.header(d.HeaderRow); err != nil {
		dec.close()
		return nil, nil, fmt.Errorf("xlsx: %s: sheet %s: %w", name, dec.sheet, err)
	}
	return dec.names, dec.records, nil
}

// open reads the workbook and opens the sheet's rows.
func (d *Decoder) open(name string, r io.Reader) (dec *decoding, err error) {
	maxFile, maxUnzip := d.MaxFileBytes, d.MaxUnzipBytes
	if maxFile <= 0 {
		maxFile = DefaultMaxFileBytes
	}
	if maxUnzip <= 0 {
		maxUnzip = DefaultMaxUnzipBytes
	}
	b, err := io.ReadAll(io.LimitReader(r, maxFile+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > maxFile {
		return nil, fmt.Errorf("%w: the file has more than %d bytes", ErrTooLarge, maxFile)
	}
	if err := checkZip(b, maxUnzip); err != nil {
		return nil, err
	}
	defer func() { // excelize reads what the file says: a malformed part must not panic the import
		if p := recover(); p != nil {
			dec, err = nil, fmt.Errorf("%w: excelize: %v", ErrNotWorkbook, p)
		}
	}()
	f, err := excelize.OpenReader(bytes.NewReader(b), excelize.Options{
		UnzipSizeLimit:    maxUnzip,
		UnzipXMLSizeLimit: min(inMemoryPart, maxUnzip),
		ShortDatePattern:  "yyyy-mm-dd", // built-in date formats 14 and 22 (isoDates)
	})
	if err != nil {
		if f != nil {
			f.Close()
		}
		if errors.Is(err, excelize.ErrWorkbookFileFormat) || errors.Is(err, zip.ErrFormat) {
			return nil, fmt.Errorf("%w: %v", ErrNotWorkbook, err)
		}
		if strings.Contains(err.Error(), "unzip size exceeds") { // excelize's own size check
			return nil, fmt.Errorf("%w: %v", ErrTooLarge, err)
		}
		return nil, fmt.Errorf("%w: %v", ErrNotWorkbook, err)
	}
	sheets := f.GetSheetList()
	sheet := d.Sheet
	switch {
	case len(sheets) == 0:
		f.Close()
		return nil, fmt.Errorf("%w: no sheets", ErrNotWorkbook)
	case sheet == "":
		sheet = sheets[0]
	default:
		found := false
		for _, s := range sheets {
			found = found || s == sheet
		}
		if !found {
			f.Close()
			return nil, fmt.Errorf("no sheet %q (the workbook has %s)", sheet, strings.Join(sheets, ", "))
		}
	}
	isoDates(f)
	rows, err := f.Rows(sheet)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("sheet %s: %w", sheet, err)
	}
	return &decoding{file: name, sheet: sheet, f: f, rows: rows}, nil
}

// checkZip refuses what is not a zip holding a workbook, a zip whose parts would expand
// beyond maxUnzip, from the sizes its directory declares (archive/zip then refuses to read
// more than a part declares, so they hold), and a zip with a damaged part.
func checkZip(b []byte, maxUnzip int64) error {
	if bytes.HasPrefix(b, []byte{0xd0, 0xcf, 0x11, 0xe0}) {
		return fmt.Errorf("%w: an Excel 97–2003 .xls file or an encrypted workbook; save it as .xlsx", ErrNotWorkbook)
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNotWorkbook, err)
	}
	if len(zr.File) > maxParts {
		return fmt.Errorf("%w: %d parts in the zip (at most %d)", ErrTooLarge, len(zr.File), maxParts)
	}
	var total uint64
	workbook := false
	for _, zf := range zr.File {
		total += zf.UncompressedSize64
		if total > uint64(maxUnzip) || zf.UncompressedSize64 > uint64(maxUnzip) {
			return fmt.Errorf("%w: its parts expand to more than %d bytes (a zip bomb?)", ErrTooLarge, maxUnzip)
		}
		workbook = workbook || strings.EqualFold(zf.Name, "xl/workbook.xml")
	}
	if !workbook {
		return fmt.Errorf("%w: a zip without xl/workbook.xml", ErrNotWorkbook)
	}
	// excelize does not report a part it cannot expand: it keeps what it read, and a sheet
	// cut short would lose its last rows without a word. Every part is expanded once here,
	// into nothing, so that archive/zip checks its size and checksum.
	for _, zf := range zr.File {
		rc, err := zf.Open()
		if err == nil {
			_, err = io.Copy(io.Discard, rc)
			rc.Close()
		}
		if err != nil {
			return fmt.Errorf("%w: part %s is damaged: %v", ErrNotWorkbook, zf.Name, err)
		}
	}
	return nil
}

// decoding is one sheet being decoded.
type decoding struct {
	file, sheet string
	f           *excelize.File
	rows        *excelize.Rows
	row         int // the sheet's row number of the last row read
	names       []string
	warnings    []adapters.Problem // of the header, yielded before the first record
	started     bool
}

func (d *decoding) close() {
	d.rows.Close()
	d.f.Close()
}

// next reads the next row; ok is false at the end of the sheet.
func (d *decoding) next() (cells []string, ok bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			ok, err = false, fmt.Errorf("row %d: excelize: %v", d.row, p)
		}
	}()
	if !d.rows.Next() {
		return nil, false, d.rows.Error()
	}
	d.row++ // excelize's Rows.Next stops at every row number, also at rows the sheet omits
	cells, err = d.rows.Columns()
	return cells, true, err
}

func (d *decoding) header(at int) error {
	for {
		cells, ok, err := d.next()
		switch {
		case err != nil:
			return err
		case !ok && at > 0:
			return fmt.Errorf("no row %d for the header", at)
		case !ok:
			return errors.New("no header: the sheet is empty")
		case at > 0 && d.row < at:
			continue
		case at == 0 && allEmpty(cells):
			continue
		}
		for len(cells) > 0 && strings.TrimSpace(cells[len(cells)-1]) == "" {
			cells = cells[:len(cells)-1]
		}
		if len(cells) == 0 {
			return fmt.Errorf("row %d, the header, is empty", d.row)
		}
		seen := map[string]int{}
		var dups []string
		for i, c := range cells {
			n := strings.Trim(c, " \t\u3000")
			d.names = append(d.names, n)
			if first, ok := seen[n]; ok && n != "" {
				dups = append(dups, fmt.Sprintf("%q in columns %s and %s", n, colName(first), colName(i+1)))
			} else if !ok {
				seen[n] = i + 1
			}
			for _, pu := range privateUse(c) {
				d.warnings = append(d.warnings, adapters.Problem{File: d.file, Line: d.row, Column: n, Value: c, Warning: true,
					Reason: fmt.Sprintf("private-use character %U (外字) in cell %s%d: kept as it is", pu, colName(i+1), d.row)})
			}
		}
		if len(dups) > 0 {
			return fmt.Errorf("row %d: the header names a column twice: %s", d.row, strings.Join(dups, ", "))
		}
		return nil
	}
}

func (d *decoding) records(yield func(adapters.Record, error) bool) {
	if d.started {
		return
	}
	d.started = true
	defer d.close()
	for _, w := range d.warnings {
		if !yield(adapters.Record{}, &adapters.RowError{Problem: w}) {
			return
		}
	}
	for {
		cells, ok, err := d.next()
		if !ok && err == nil {
			return
		}
		if err != nil {
			if !ok { // the sheet cannot be read further
				yield(adapters.Record{}, fmt.Errorf("xlsx: %s: sheet %s: %w", d.file, d.sheet, err))
				return
			}
			p := adapters.Problem{File: d.file, Line: d.row, Reason: fmt.Sprintf("row %d cannot be read: %v", d.row, err)}
			if !yield(adapters.Record{File: d.file, Line: d.row}, &adapters.RowError{Problem: p}) {
				return
			}
			continue
		}
		if allEmpty(cells) {
			continue
		}
		if p := d.beyond(cells); p != nil {
			if !yield(adapters.Record{File: d.file, Line: d.row}, &adapters.RowError{Problem: *p}) {
				return
			}
			continue
		}
		rec := adapters.Record{File: d.file, Line: d.row, Fields: make([]adapters.Field, len(d.names))}
		for i, n := range d.names {
			v := ""
			if i < len(cells) {
				v = cells[i]
			}
			rec.Fields[i] = adapters.Field{Name: n, Value: v, Column: i + 1}
			for _, pu := range privateUse(v) {
				w := adapters.Problem{File: d.file, Line: d.row, Column: n, Value: v, Warning: true,
					Reason: fmt.Sprintf("private-use character %U (外字) in cell %s%d: kept as it is", pu, colName(i+1), d.row)}
				if !yield(adapters.Record{}, &adapters.RowError{Problem: w}) {
					return
				}
			}
		}
		if !yield(rec, nil) {
			return
		}
	}
}

// beyond is the problem of a row with a value right of the header's last column, or nil.
func (d *decoding) beyond(cells []string) *adapters.Problem {
	for i := len(d.names); i < len(cells); i++ {
		if cells[i] != "" {
			return &adapters.Problem{File: d.file, Line: d.row, Value: cells[i],
				Reason: fmt.Sprintf("cell %s%d has a value, but the header ends at column %s", colName(i+1), d.row, colName(len(d.names)))}
		}
	}
	return nil
}

func allEmpty(cells []string) bool {
	for _, c := range cells {
		if c != "" {
			return false
		}
	}
	return true
}

// privateUse lists the private-use characters (外字) of s.
func privateUse(s string) []rune {
	var pu []rune
	for _, r := range s {
		if unicode.Is(unicode.Co, r) {
			pu = append(pu, r)
		}
	}
	return pu
}

// colName is the letters of column n, from 1 (A, …, Z, AA, …).
func colName(n int) string {
	name, err := excelize.ColumnNumberToName(n)
	if err != nil {
		return fmt.Sprint(n)
	}
	return name
}
