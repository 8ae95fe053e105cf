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

package synth

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
	"golang.org/x/text/width"
)

// Encodings of the files written.
const (
	CP932    = "CP932"       // Shift_JIS as Windows writes it (NEC and IBM extensions: 髙, 﨑, ①)
	UTF8BOM  = "UTF-8 BOM"   // UTF-8 starting with EF BB BF, as Excel writes "CSV UTF-8"
	UTF8     = "UTF-8"       // UTF-8 without a BOM
	ISO2022  = "ISO-2022-JP" // the HL7 v2 messages of SS-MIX2
	bomBytes = "\xEF\xBB\xBF"
)

// table is a CSV file being written, one row at a time: rows go straight to the file
// through a buffer, so memory does not grow with the file.
type table struct {
	g      *generator
	info   *fileInfo
	f      *os.File
	bw     *bufio.Writer
	enc    io.WriteCloser // the CP932 encoder, nil for UTF-8
	cw     *csv.Writer
	header []string
	cols   map[string]int
	rec    []string
	line   int // the line of the last row written; the header is line 1
}

// newTable creates dir/name and writes its header.
func (g *generator) newTable(source, name, encoding string, crlf bool, realFormat string, header []string) (*table, error) {
	rel := filepath.ToSlash(filepath.Join(source, name))
	path := filepath.Join(g.outDir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	t := &table{g: g, f: f, bw: bufio.NewWriterSize(f, 64<<10), header: header, cols: map[string]int{}, rec: make([]string, len(header))}
	t.info = g.addFile(fileInfo{FileSummary: FileSummary{Source: source, Path: rel, Format: "csv", Encoding: encoding, RealFormat: realFormat}})
	var w io.Writer = t.bw
	switch encoding {
	case CP932:
		t.enc = transform.NewWriter(t.bw, japanese.ShiftJIS.NewEncoder())
		w = t.enc
	case UTF8BOM:
		t.bw.WriteString(bomBytes)
	}
	t.cw = csv.NewWriter(w)
	t.cw.UseCRLF = crlf
	for i, h := range header {
		t.cols[h] = i
	}
	t.line = 1
	return t, t.cw.Write(header)
}

// set puts v in column col of the row being built.
func (t *table) set(col, v string) {
	i, ok := t.cols[col]
	if !ok {
		panic("synth: no column " + col + " in " + t.info.Path)
	}
	t.rec[i] = v
}

// emit writes the row being built as the record of person (-1 for none) and returns its line.
func (t *table) emit(person int32) int {
	t.write()
	t.info.Rows++
	if person >= 0 {
		t.g.refs = append(t.g.refs, recordRef{person: person, file: t.info.index, line: int32(t.line)})
	}
	return t.line
}

// emitBroken writes the row being built as a deliberately broken row, expected to be
// reported by an import with its line and column.
func (t *table) emitBroken(person int32, column, reason string) int {
	value := ""
	if i, ok := t.cols[column]; ok {
		value = t.rec[i]
	}
	t.write()
	t.info.Rows++
	t.info.Broken++
	t.g.addBroken(t.info, t.line, column, value, reason, person)
	return t.line
}

// emitRaw writes fields as they are (a row with the wrong number of fields).
func (t *table) emitRaw(person int32, fields []string, reason string) int {
	t.cw.Write(fields)
	t.line++
	t.info.Rows++
	t.info.Broken++
	t.g.addBroken(t.info, t.line, "", "", reason, person)
	return t.line
}

func (t *table) write() {
	t.cw.Write(t.rec)
	t.line++
	clear(t.rec)
}

func (t *table) close() error {
	t.cw.Flush()
	err := t.cw.Error()
	if t.enc != nil {
		if cerr := t.enc.Close(); err == nil {
			err = cerr
		}
	}
	if ferr := t.bw.Flush(); err == nil {
		err = ferr
	}
	if cerr := t.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("synth: %s: %w", t.info.Path, err)
	}
	return nil
}

// halfWidth writes full-width katakana as half-width (ﾔﾏﾀﾞ ﾀﾛｳ), as older systems do.
func halfWidth(kana string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(kana) {
		switch r {
		case 0x3099:
			b.WriteRune('ﾞ')
		case 0x309A:
			b.WriteRune('ﾟ')
		default:
			b.WriteString(width.Narrow.String(string(r)))
		}
	}
	return b.String()
}

// hiragana writes katakana as hiragana (ヤマダ → やまだ), as some forms are filled in.
func hiragana(kana string) string {
	return strings.Map(func(r rune) rune {
		if 'ァ' <= r && r <= 'ヶ' {
			return r - 0x60
		}
		return r
	}, kana)
}
