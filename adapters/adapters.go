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

// Package adapters is what every source decoder gives the mapping: records, decoded to UTF-8,
// that remember where in their file they came from, and the problems found in them. One
// subpackage per format decodes files into Records: csv (delimited text, Shift_JIS/CP932 or
// UTF-8), fixedwidth (COBOL-era layouts measured in CP932 bytes), xlsx (Excel workbooks),
// hl7v2 (SS-MIX2 trees of HL7 v2.5 messages in ISO-2022-JP), fhir (JP-CLINS bundles, NDJSON)
// and pmh (the PMH JSON). Package text detects and decodes the encodings they share.
//
// A decoder never stops at a bad row: the row's problem is reported (a *RowError from the
// iterator) and the next row is read. Only a file that cannot be read at all ends the
// iteration with another error.
package adapters

import (
	"fmt"
	"strings"
)

// Record is one row of a table, or one message or object of a structured file.
type Record struct {
	// File is the file's name as given to the decoder (a path, or an upload's name).
	File string
	// Line is where the record starts in File, from 1 (a table's header row is line 1, its
	// first data row line 2); a message's or object's position for formats without lines.
	Line int
	// Fields are the record's values in source order. A table's field is named by its
	// header as written in the file (the mapping applies header maps); a fixed-width
	// layout's by the layout's field name; an HL7 v2 field by its path (PID-5.1, OBX[2]-5);
	// a JSON value by its path (basicFiveInfo.nameKana).
	Fields []Field
}

// Field is one value of a record.
type Field struct {
	Name  string
	Value string // UTF-8; trailing spaces of fixed-width fields removed, nothing else changed
	// Column is where the value is: a table's column, from 1; a fixed-width field's first
	// byte, from 1; 0 where the format has no columns.
	Column int
}

// Get returns the first field named name.
func (r Record) Get(name string) (Field, bool) {
	for _, f := range r.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// Value is the value of the first field named name, or "".
func (r Record) Value(name string) string {
	f, _ := r.Get(name)
	return f.Value
}

// Problem is something wrong (or worth a warning) in the input, where a person can find it:
// the report of an import is a list of them, one JSON object per line with these keys.
type Problem struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Column string `json:"column,omitempty"` // the header or field name, as written in the file
	Value  string `json:"value,omitempty"`
	Reason string `json:"reason"`
	// Warning marks a problem that does not stop the record (an unknown column, a
	// private-use character kept); the record is still imported.
	Warning bool `json:"warning,omitempty"`
}

func (p Problem) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:%d", p.File, p.Line)
	if p.Column != "" {
		fmt.Fprintf(&b, " [%s]", p.Column)
	}
	if p.Value != "" {
		fmt.Fprintf(&b, " %q", p.Value)
	}
	b.WriteString(": ")
	b.WriteString(p.Reason)
	return b.String()
}

// RowError is a record that could not be decoded: the iteration goes on with the next one.
type RowError struct {
	Problem Problem
}

func (e *RowError) Error() string { return e.Problem.String() }
