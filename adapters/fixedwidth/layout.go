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
	"cmp"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// Layout is the fields of a fixed-width record.
type Layout struct {
	Name   string
	Fields []Field
}

// Field is one field of a Layout.
type Field struct {
	Name   string
	Start  int // the field's first byte in the line, from 1
	Length int // in CP932 bytes
}

// End is the field's last byte, from 1.
func (f Field) End() int { return f.Start + f.Length - 1 }

// Width is the number of bytes a line needs to hold every field.
func (l *Layout) Width() int {
	w := 0
	for _, f := range l.Fields {
		w = max(w, f.End())
	}
	return w
}

// LayoutError lists every problem of a layout, each with its line in the layout's file
// (0 for a Layout given as a Go value).
type LayoutError struct {
	File     string
	Problems []LineError
}

// LineError is one problem of a layout.
type LineError struct {
	Line int
	Msg  string
}

func (e *LayoutError) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		switch {
		case e.File != "" && p.Line > 0:
			fmt.Fprintf(&b, "%s:%d: %s", e.File, p.Line, p.Msg)
		case e.File != "":
			fmt.Fprintf(&b, "%s: %s", e.File, p.Msg)
		default:
			fmt.Fprintf(&b, "layout: %s", p.Msg)
		}
	}
	return b.String()
}

// Validate checks that every field has a name of its own, a start from 1 and a length
// from 1, and that no two fields overlap. The error, a *LayoutError, lists every problem.
func (l *Layout) Validate() error {
	return l.validate("", nil)
}

// validate checks l; lines are the fields' lines in file, when read from one.
func (l *Layout) validate(file string, lines []int) error {
	lerr := &LayoutError{File: file}
	lineOf := func(i int) int {
		if i < len(lines) {
			return lines[i]
		}
		return 0
	}
	fail := func(i int, format string, args ...any) {
		lerr.Problems = append(lerr.Problems, LineError{lineOf(i), fmt.Sprintf(format, args...)})
	}
	if len(l.Fields) == 0 {
		lerr.Problems = append(lerr.Problems, LineError{0, "no fields"})
	}
	seen := map[string]int{}
	for i, f := range l.Fields {
		what := fmt.Sprintf("field %d (%s)", i+1, f.Name)
		switch first, dup := seen[f.Name]; {
		case f.Name == "":
			fail(i, "field %d: no name", i+1)
		case dup:
			fail(i, "%s: field %d has that name too", what, first)
		default:
			seen[f.Name] = i + 1
		}
		if f.Start < 1 {
			fail(i, "%s: start %d: bytes are counted from 1", what, f.Start)
		}
		if f.Length < 1 {
			fail(i, "%s: length %d: a field has at least one byte", what, f.Length)
		}
	}
	order := make([]int, len(l.Fields))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(l.Fields[a].Start, l.Fields[b].Start) })
	for k := 1; k < len(order); k++ {
		a, b := l.Fields[order[k-1]], l.Fields[order[k]]
		if a.Length >= 1 && b.Start <= a.End() {
			fail(order[k], "field %d (%s), bytes %d–%d, overlaps %s, bytes %d–%d", order[k]+1, b.Name, b.Start, b.End(), a.Name, a.Start, a.End())
		}
	}
	if len(lerr.Problems) > 0 {
		return lerr
	}
	return nil
}

// fieldSpec is a field as YAML gives it.
type fieldSpec struct {
	Name   string `yaml:"name"`
	Start  int    `yaml:"start"`
	Length int    `yaml:"length"`
	Pic    string `yaml:"pic"`
}

// LoadLayout reads a layout from YAML (the package doc shows the format); file names it in
// errors. The layout is validated: the error, a *LayoutError, lists every problem with its
// line.
func LoadLayout(file string, data []byte) (*Layout, error) {
	lerr := &LayoutError{File: file}
	fail := func(line int, format string, args ...any) {
		lerr.Problems = append(lerr.Problems, LineError{line, fmt.Sprintf(format, args...)})
	}
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		fail(0, "not valid YAML: %s", strings.TrimSpace(err.Error()))
		return nil, lerr
	}
	var root *ast.MappingNode
	if len(f.Docs) == 1 && f.Docs[0].Body != nil {
		root, _ = f.Docs[0].Body.(*ast.MappingNode)
	}
	if root == nil {
		fail(0, "a layout is one YAML document, a mapping with name and fields")
		return nil, lerr
	}
	l := &Layout{}
	var lines []int
	for _, kv := range root.Values {
		switch key := kv.Key.String(); key {
		case "name":
			if err := yaml.NodeToValue(kv.Value, &l.Name); err != nil {
				fail(lineOf(kv.Value), "name: %s", yamlMsg(err))
			}
		case "fields":
			seq, ok := kv.Value.(*ast.SequenceNode)
			if !ok {
				fail(lineOf(kv.Value), "fields: a list of fields")
				continue
			}
			next := 1
			for i, item := range seq.Values {
				line := lineOf(item)
				var fs fieldSpec
				if err := yaml.NodeToValue(item, &fs, yaml.DisallowUnknownField()); err != nil {
					fail(line, "field %d: %s", i+1, yamlMsg(err))
				}
				fd := Field{Name: fs.Name, Start: fs.Start, Length: fs.Length}
				if fd.Start == 0 {
					fd.Start = next
				}
				if fs.Pic != "" {
					n, err := picLength(fs.Pic)
					switch {
					case err != nil:
						fail(line, "field %d (%s): %v", i+1, fs.Name, err)
					case fs.Length != 0 && fs.Length != n:
						fail(line, "field %d (%s): length %d, but pic %s is %d bytes", i+1, fs.Name, fs.Length, fs.Pic, n)
					default:
						fd.Length = n
					}
				}
				next = fd.Start + fd.Length
				l.Fields = append(l.Fields, fd)
				lines = append(lines, line)
			}
		default:
			fail(lineOf(kv.Key), "unknown key %q (a layout has name and fields)", key)
		}
	}
	if err := l.validate(file, lines); err != nil {
		lerr.Problems = append(lerr.Problems, err.(*LayoutError).Problems...)
	}
	if len(lerr.Problems) > 0 {
		return nil, lerr
	}
	return l, nil
}

func lineOf(n ast.Node) int {
	if t := n.GetToken(); t != nil && t.Position != nil {
		return t.Position.Line
	}
	return 0
}

// yamlMsg is a go-yaml error without its position and source excerpt (the line is given).
func yamlMsg(err error) string {
	msg := strings.TrimSpace(strings.SplitN(err.Error(), "\n", 2)[0])
	if i := strings.Index(msg, "] "); strings.HasPrefix(msg, "[") && i > 0 {
		msg = msg[i+2:]
	}
	return msg
}

var picItem = regexp.MustCompile(`^([X9N])(?:\((\d{1,5})\))?`)

// picLength is the length in bytes of a COBOL picture of X, 9 and N: X(15) is 15, N(10) 20.
func picLength(pic string) (int, error) {
	rest, n := strings.ToUpper(strings.TrimSpace(pic)), 0
	if rest == "" {
		return 0, errors.New("pic: empty")
	}
	for rest != "" {
		m := picItem.FindStringSubmatch(rest)
		if m == nil {
			return 0, fmt.Errorf("pic %s: only X, 9 and N, each optionally as X(n)", pic)
		}
		k := 1
		if m[2] != "" {
			k, _ = strconv.Atoi(m[2])
		}
		if m[1] == "N" {
			k *= 2
		}
		n += k
		rest = rest[len(m[0]):]
	}
	return n, nil
}
