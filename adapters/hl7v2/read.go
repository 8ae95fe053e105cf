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
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/japanese"

	"github.com/kodomohub/kodomohub/adapters"
)

// MaxFileBytes is the largest file Read accepts. An SS-MIX2 file holds one message of a few
// kilobytes; a larger file is not one.
const MaxFileBytes = 16 << 20

// Read decodes the messages of one file (ISO-2022-JP, or UTF-8) into records, one per message,
// named name. A bad message is a *adapters.RowError and the next message is read; a file that
// cannot be read or is larger than MaxFileBytes ends the iteration with another error.
func Read(name string, r io.Reader) iter.Seq2[adapters.Record, error] {
	return func(yield func(adapters.Record, error) bool) {
		data, err := io.ReadAll(io.LimitReader(r, MaxFileBytes+1))
		if err != nil {
			yield(adapters.Record{}, fmt.Errorf("hl7v2: read %s: %w", name, err))
			return
		}
		if len(data) > MaxFileBytes {
			yield(adapters.Record{}, fmt.Errorf("hl7v2: %s is larger than %d bytes", name, MaxFileBytes))
			return
		}
		var msg []line
		flush := func() bool {
			if len(msg) == 0 {
				return true
			}
			rec, err := parseMessage(name, msg)
			msg = nil
			return yield(rec, err)
		}
		for l := range lines(data) {
			switch {
			case strings.TrimSpace(l.text) == "":
				continue
			case strings.HasPrefix(l.text, "MSH"):
				if !flush() {
					return
				}
				msg = append(msg, l)
			case batchSegment(l.text):
				if !flush() {
					return
				}
			case len(msg) == 0:
				if !yield(adapters.Record{}, rowError(name, l.n, "", clip(l.text), "a segment before the first MSH")) {
					return
				}
			default:
				msg = append(msg, l)
			}
		}
		flush()
	}
}

// batchSegment reports whether text is a file or batch header or trailer, which wraps
// messages and is not part of any.
func batchSegment(text string) bool {
	if len(text) < 3 {
		return false
	}
	switch text[:3] {
	case "FHS", "BHS", "BTS", "FTS":
		return len(text) == 3 || !alnum(text[3:4], 1, 1)
	}
	return false
}

// lines splits data at \r\n, \r or \n and decodes each line on its own: ISO-2022-JP never
// has these bytes inside a character, and every line starts in ASCII (RFC 1468). A writer that
// forgets ESC ( B before the break still gets its next segment read, since a segment starts
// with an ASCII name; a decoder of the whole stream would take the CR into a JIS character.
func lines(data []byte) iter.Seq[line] {
	utf8Text := isUTF8(data)
	return func(yield func(line) bool) {
		n := 0
		for len(data) > 0 {
			n++
			i := bytes.IndexAny(data, "\r\n")
			raw := data
			if i < 0 {
				data = nil
			} else {
				raw = data[:i]
				if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
					i++
				}
				data = data[i+1:]
			}
			if !yield(line{n, decodeLine(raw, utf8Text)}) {
				return
			}
		}
	}
}

// isUTF8 reports whether data is UTF-8 rather than ISO-2022-JP: bytes above 0x7F (which
// ISO-2022-JP never has), no ESC, and valid UTF-8.
func isUTF8(data []byte) bool {
	return slices.ContainsFunc(data, func(c byte) bool { return c >= utf8.RuneSelf }) &&
		!bytes.ContainsRune(data, 0x1b) && utf8.Valid(data)
}

func decodeLine(raw []byte, utf8Text bool) string {
	if utf8Text {
		return strings.TrimPrefix(string(raw), "\uFEFF")
	}
	if !bytes.ContainsRune(raw, 0x1b) && !slices.ContainsFunc(raw, func(c byte) bool { return c >= utf8.RuneSelf }) {
		return string(raw) // ASCII
	}
	text, err := japanese.ISO2022JP.NewDecoder().Bytes(raw)
	if err != nil { // the decoder replaces what it cannot read with U+FFFD; it does not fail
		return string(utf8.RuneError)
	}
	return string(text)
}

// ReadTree reads every file of an SS-MIX2 tree (Walk) and yields its messages (Read) with
// the parts of the file name first, as the fields file.patientId, file.date, file.dataType,
// file.orderNo, file.timestamp, file.department and file.condition. Record.File is the
// file's path in fsys. A message whose PID-3 names another patient than its file is a
// *adapters.RowError; so are the files Walk reports.
func ReadTree(fsys fs.FS) iter.Seq2[adapters.Record, error] {
	return func(yield func(adapters.Record, error) bool) {
		for f, err := range Walk(fsys) {
			if err != nil {
				if !yield(adapters.Record{}, err) {
					return
				}
				continue
			}
			if !readTreeFile(fsys, f, yield) {
				return
			}
		}
	}
}

func readTreeFile(fsys fs.FS, f File, yield func(adapters.Record, error) bool) bool {
	file, err := fsys.Open(f.Path)
	if err != nil {
		return yield(adapters.Record{}, rowError(f.Path, 0, "", "", "cannot read: "+err.Error()))
	}
	defer file.Close()
	for rec, err := range readFile(f.Path, f.Name, file) {
		if err != nil {
			if _, row := err.(*adapters.RowError); !row { // the file could not be read: report it, go on
				err = rowError(f.Path, 0, "", "", err.Error())
			}
		}
		if !yield(rec, err) {
			return false
		}
	}
	return true
}

// readFile reads the messages of an SS-MIX2 file named n, with the file-name parts first in
// each record and PID-3 checked against the name.
func readFile(path string, n FileName, r io.Reader) iter.Seq2[adapters.Record, error] {
	head := []adapters.Field{
		{Name: "file.patientId", Value: n.PatientID}, {Name: "file.date", Value: n.Date},
		{Name: "file.dataType", Value: n.DataType}, {Name: "file.orderNo", Value: n.OrderNo},
		{Name: "file.timestamp", Value: n.Timestamp}, {Name: "file.department", Value: n.Department},
		{Name: "file.condition", Value: n.Condition},
	}
	return func(yield func(adapters.Record, error) bool) {
		for rec, err := range Read(path, r) {
			if err == nil {
				err = samePatient(rec, n.PatientID)
			}
			if err != nil {
				if !yield(adapters.Record{}, err) {
					return
				}
				continue
			}
			rec.Fields = append(slices.Clip(head), rec.Fields...)
			if !yield(rec, nil) {
				return
			}
		}
	}
}

// samePatient checks that a message with a PID is about the file's patient: one of the
// repetitions of PID-3 carries the file's patient ID.
func samePatient(rec adapters.Record, pid string) error {
	var first string
	for _, f := range rec.Fields {
		if _, rest, ok := repetitionOf(f.Name, "PID-3"); ok && (rest == "" || rest == ".1" || rest == ".1.1") {
			if f.Value == pid {
				return nil
			}
			if first == "" {
				first = f.Value
			}
		}
	}
	if first == "" {
		return nil
	}
	return rowError(rec.File, rec.Line, "PID-3.1", first, fmt.Sprintf("not the patient %q of the file name", pid))
}

// repetitionOf splits a field name that starts with the field path base ("PID-3") into its
// repetition (from 1) and what follows it (".1", ".1.2" or "").
func repetitionOf(name, base string) (rep int, rest string, ok bool) {
	rest, ok = strings.CutPrefix(name, base)
	if !ok {
		return 0, "", false
	}
	rep = 1
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return 0, "", false
		}
		n, err := strconv.Atoi(rest[1:end])
		if err != nil {
			return 0, "", false
		}
		rep, rest = n, rest[end+1:]
	}
	if rest != "" && rest[0] != '.' {
		return 0, "", false // PID-30 is not PID-3
	}
	return rep, rest, true
}

// Lookup returns the value at an HL7 path. A path that ends in component or subcomponent 1
// also finds a value written without separators, as HL7 reads it: PID-3.1 finds "PID-3".
func Lookup(rec adapters.Record, path string) (string, bool) {
	for {
		if f, ok := rec.Get(path); ok {
			return f.Value, true
		}
		trimmed, ok := strings.CutSuffix(path, ".1")
		if !ok {
			return "", false
		}
		path = trimmed
	}
}

// Get is the value at an HL7 path (as Lookup), or "".
func Get(rec adapters.Record, path string) string {
	v, _ := Lookup(rec, path)
	return v
}
