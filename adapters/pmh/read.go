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
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kodomohub/kodomohub/adapters"
)

const (
	// MaxFileBytes is the largest file Read accepts: some 100,000 persons, one batch of a city.
	MaxFileBytes = 64 << 20
	// MaxDepth is the deepest nesting of objects and arrays in one object.
	MaxDepth = 64
	// maxKeyChars is the longest municipalityIdentityKey PMH accepts.
	maxKeyChars = 100
)

// dropped are the members never carried into a record, with the reason (DOMAIN §2.5).
var dropped = map[string]string{
	"myNumber":           "My Number is never imported",
	"maxCopaymentAmount": "benefit amounts are never imported",
}

// Read decodes a PMH file into one record per object (see the package documentation).
func Read(name string, r io.Reader) iter.Seq2[adapters.Record, error] {
	return func(yield func(adapters.Record, error) bool) {
		data, err := io.ReadAll(io.LimitReader(r, MaxFileBytes+1))
		if err != nil {
			yield(adapters.Record{}, fmt.Errorf("pmh: read %s: %w", name, err))
			return
		}
		if len(data) > MaxFileBytes {
			yield(adapters.Record{}, fmt.Errorf("pmh: %s is larger than %d bytes", name, MaxFileBytes))
			return
		}
		f := &file{name: name, data: data, lines: lineCounter{data: data}}
		f.read(yield)
	}
}

type file struct {
	name  string
	data  []byte
	lines lineCounter
}

func (f *file) problem(off int, column, value, reason string) *adapters.RowError {
	return &adapters.RowError{Problem: adapters.Problem{File: f.name, Line: f.lines.at(off), Column: column, Value: value, Reason: reason}}
}

// read yields the file's objects: an array's elements, or the objects one after another.
func (f *file) read(yield func(adapters.Record, error) bool) {
	start := skipSpace(f.data, 0)
	if bytes.HasPrefix(f.data[start:], []byte("\uFEFF")) {
		start = skipSpace(f.data, start+3)
	}
	if start == len(f.data) {
		return
	}
	if f.data[start] == '[' {
		f.readArray(start, yield)
		return
	}
	for start < len(f.data) {
		dec := json.NewDecoder(bytes.NewReader(f.data[start:]))
		for {
			off := skipSpace(f.data, start+int(dec.InputOffset()))
			if off == len(f.data) {
				return
			}
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				if !yield(adapters.Record{}, f.problem(off, "", "", "not a JSON object: "+err.Error())) {
					return
				}
				start = nextObjectLine(f.data, off)
				break
			}
			if !f.object(off, raw, yield) {
				return
			}
		}
	}
}

func (f *file) readArray(start int, yield func(adapters.Record, error) bool) {
	dec := json.NewDecoder(bytes.NewReader(f.data[start:]))
	dec.Token() // [
	for dec.More() {
		off := skipSpace(f.data, start+int(dec.InputOffset()))
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			yield(adapters.Record{}, f.problem(off, "", "", "not JSON, the rest of the array cannot be read: "+err.Error()))
			return
		}
		if !f.object(off, raw, yield) {
			return
		}
	}
	if _, err := dec.Token(); err != nil { // ]
		off := skipSpace(f.data, start+int(dec.InputOffset()))
		yield(adapters.Record{}, f.problem(off, "", "", "the array does not end: "+err.Error()))
		return
	}
	if end := skipSpace(f.data, start+int(dec.InputOffset())); end < len(f.data) {
		yield(adapters.Record{}, f.problem(end, "", "", "data after the array"))
	}
}

// object turns one object, starting at off, into a record or its problems.
func (f *file) object(off int, raw json.RawMessage, yield func(adapters.Record, error) bool) bool {
	if raw[0] != '{' {
		return yield(adapters.Record{}, f.problem(off, "", "", "not a JSON object"))
	}
	if !utf8.Valid(raw) {
		return yield(adapters.Record{}, f.problem(off, "", "", "not UTF-8: PMH JSON is UTF-8"))
	}
	if depth(raw) > MaxDepth {
		return yield(adapters.Record{}, f.problem(off, "", "", fmt.Sprintf("nesting deeper than %d levels", MaxDepth)))
	}
	fl := flattener{f: f, base: off, raw: raw, lines: map[string]int{}, objects: map[string]bool{}, bad: map[string]bool{}}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	fl.value(dec, "")
	rec := adapters.Record{File: f.name, Line: f.lines.at(off), Fields: fl.fields}
	problems := append(fl.problems, f.check(rec, &fl)...)
	if len(problems) > 0 {
		for _, p := range problems {
			if !yield(adapters.Record{}, p) {
				return false
			}
		}
		return true
	}
	return yield(rec, nil)
}

// check applies what the package knows of PMH objects.
func (f *file) check(rec adapters.Record, fl *flattener) []error {
	var errs []error
	at := func(path string) int {
		if off, ok := fl.lines[path]; ok {
			return off
		}
		return fl.base
	}
	bad := func(path, value, format string, args ...any) {
		if !fl.bad[path] { // one problem a value: a refused value is not also missing
			errs = append(errs, f.problem(at(path), path, value, fmt.Sprintf(format, args...)))
		}
	}
	seg, hasSeg := rec.Get("modificationSeg")
	switch {
	case !hasSeg:
		bad("modificationSeg", "", "required: 1 (register or update) or 2 (delete)")
	case seg.Value != "1" && seg.Value != "2":
		bad("modificationSeg", seg.Value, "want 1 (register or update) or 2 (delete)")
	}
	key, hasKey := rec.Get("municipalityIdentityKey")
	switch {
	case !hasKey:
		bad("municipalityIdentityKey", "", "required: the town's key for the person")
	case utf8.RuneCountInString(key.Value) > maxKeyChars:
		bad("municipalityIdentityKey", "", "longer than %d characters", maxKeyChars)
	}
	if seg.Value == "1" && !fl.objects["basicFiveInfo"] {
		bad("basicFiveInfo", "", "required when modificationSeg is 1: name, nameKana, address, dateOfBirth, sex")
	}
	if d, ok := rec.Get("basicFiveInfo.dateOfBirth"); ok {
		if _, err := time.Parse("2006-01-02", d.Value); err != nil || len(d.Value) != 10 {
			bad(d.Name, d.Value, "want a date YYYY-MM-DD")
		}
	}
	for _, fd := range rec.Fields {
		for _, n := range fl.myNumbers {
			if strings.Contains(fd.Value, n) {
				bad(fd.Name, "", "carries the My Number, which is never imported")
			}
		}
	}
	return errs
}

// flattener names the values of one object by their paths.
type flattener struct {
	f         *file
	base      int // the object's offset in the file
	raw       []byte
	fields    []adapters.Field
	problems  []error
	lines     map[string]int  // path → offset of the value, for problems
	objects   map[string]bool // paths that hold an object
	bad       map[string]bool // paths already reported
	myNumbers []string        // the values of dropped myNumber members, to refuse copies
}

func (fl *flattener) value(dec *json.Decoder, path string) {
	off := fl.base + skipSpace(fl.raw, int(dec.InputOffset()))
	tok, err := dec.Token()
	if err != nil {
		return // raw is one valid JSON value: cannot happen
	}
	fl.lines[path] = off
	switch t := tok.(type) {
	case json.Delim:
		if t == '[' {
			for i := 0; dec.More(); i++ {
				fl.value(dec, path+"["+strconv.Itoa(i)+"]")
			}
			dec.Token() // ]
			return
		}
		fl.objects[path] = true
		seen := map[string]bool{}
		for dec.More() {
			koff := fl.base + skipSpace(fl.raw, int(dec.InputOffset()))
			k, _ := dec.Token()
			key := k.(string)
			child := key
			if path != "" {
				child = path + "." + key
			}
			if seen[key] {
				fl.problems = append(fl.problems, fl.f.problem(koff, child, "", "a member given twice"))
			}
			seen[key] = true
			if _, drop := dropped[key]; drop {
				var v any
				dec.Decode(&v)
				if key == "myNumber" {
					if s := fmt.Sprint(v); len(s) >= 12 {
						fl.myNumbers = append(fl.myNumbers, s)
					}
				}
				continue
			}
			fl.value(dec, child)
		}
		dec.Token() // }
	case string:
		if i := strings.IndexFunc(t, func(r rune) bool { return r < 0x20 && r != '\t' && r != '\n' && r != '\r' }); i >= 0 {
			fl.problems = append(fl.problems, fl.f.problem(off, path, "", fmt.Sprintf("control character %U", t[i])))
			fl.bad[path] = true
			return
		}
		if t != "" {
			fl.fields = append(fl.fields, adapters.Field{Name: path, Value: t})
		}
	case json.Number:
		fl.fields = append(fl.fields, adapters.Field{Name: path, Value: t.String()})
	case bool:
		fl.fields = append(fl.fields, adapters.Field{Name: path, Value: strconv.FormatBool(t)})
	case nil:
	}
}

// depth is the deepest nesting of objects and arrays in raw (valid JSON).
func depth(raw []byte) int {
	d, max, inString, escaped := 0, 0, false, false
	for _, c := range raw {
		switch {
		case inString && escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case inString:
			inString = c != '"'
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			d++
			max = maxInt(max, d)
		case c == '}' || c == ']':
			d--
		}
	}
	return max
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

// nextObjectLine is the offset of the next line after off that starts with "{" in its first
// column, as NDJSON lines and top-level pretty-printed objects do, or the end.
func nextObjectLine(data []byte, off int) int {
	for {
		i := bytes.IndexByte(data[off:], '\n')
		if i < 0 {
			return len(data)
		}
		off += i + 1
		if off < len(data) && data[off] == '{' {
			return off
		}
	}
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r' || data[i] == ',' || data[i] == ':') {
		i++
	}
	return i
}

// lineCounter turns offsets into line numbers; offsets mostly grow, so it counts on from the last.
type lineCounter struct {
	data      []byte
	off, line int
}

func (lc *lineCounter) at(off int) int {
	if lc.line == 0 || off < lc.off {
		lc.off, lc.line = 0, 1
	}
	lc.line += bytes.Count(lc.data[lc.off:off], []byte("\n"))
	lc.off = off
	return lc.line
}
