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
	"fmt"
	"io/fs"
	"iter"
	"path"
	"strings"
	"time"

	"github.com/kodomohub/kodomohub/adapters"
)

// FileName is the name of a file in SS-MIX2 standardised storage, split into its parts
// (the grammar is in the package documentation).
type FileName struct {
	PatientID  string // 患者ID
	Date       string // 診療日 yyyyMMdd, or "-"
	DataType   string // データ種別, e.g. ADT-00, OML-11
	OrderNo    string // オーダNO, or "-"
	Timestamp  string // 発生日時 yyyyMMddHHmmss[fff]
	Department string // 診療科 code, or "-"
	Condition  string // コンディションフラグ: "1" current, "0" superseded, "2"
}

// Current reports whether the file is the current version of its data (condition flag 1).
func (n FileName) Current() bool { return n.Condition == "1" }

// String is the file name.
func (n FileName) String() string {
	return strings.Join([]string{n.PatientID, n.Date, n.DataType, n.OrderNo, n.Timestamp, n.Department, n.Condition}, "_")
}

// ParseFileName splits an SS-MIX2 file name (without folders) into its parts. The error says
// which part does not fit.
func ParseFileName(name string) (FileName, error) {
	parts := strings.Split(name, "_")
	if len(parts) != 7 {
		return FileName{}, fmt.Errorf("%d parts separated by _, want 7 (patient_date_datatype_order_timestamp_department_condition)", len(parts))
	}
	n := FileName{parts[0], parts[1], parts[2], parts[3], parts[4], parts[5], parts[6]}
	switch {
	case !alnum(n.PatientID, 1, 15):
		return n, fmt.Errorf("patient ID %q: want 1 to 15 letters or digits", n.PatientID)
	case n.Date != "-" && !validTime("20060102", n.Date):
		return n, fmt.Errorf("date %q: want yyyyMMdd or -", n.Date)
	case !validDataType(n.DataType):
		return n, fmt.Errorf("data type %q: want three capitals and an optional -NN (ADT-00, OML-11)", n.DataType)
	case n.OrderNo != "-" && !alnum(n.OrderNo, 1, 15):
		return n, fmt.Errorf("order number %q: want up to 15 letters or digits, or -", n.OrderNo)
	case len(n.Timestamp) < 14 || len(n.Timestamp) > 17 || !digits(n.Timestamp) || !validTime("20060102150405", n.Timestamp[:14]):
		return n, fmt.Errorf("timestamp %q: want yyyyMMddHHmmssfff", n.Timestamp)
	case n.Department != "-" && !alnum(n.Department, 1, 3):
		return n, fmt.Errorf("department %q: want up to 3 letters or digits, or -", n.Department)
	case n.Condition != "0" && n.Condition != "1" && n.Condition != "2":
		return n, fmt.Errorf("condition flag %q: want 0, 1 or 2", n.Condition)
	}
	return n, nil
}

// File is one file of the tree: its slash-separated path in the walked file system and its
// parsed name.
type File struct {
	Path string
	Name FileName
}

// Walk yields every file below the root of fsys in lexical order (so, for one order, older
// timestamps first). A file whose name does not fit the grammar, or that sits in the wrong
// folders, is a *adapters.RowError (Line 0) and the walk goes on; so is a folder that cannot
// be read. Only an unreadable root ends the walk with another error.
func Walk(fsys fs.FS) iter.Seq2[File, error] {
	return func(yield func(File, error) bool) {
		stopped := false
		err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
			if stopped {
				return fs.SkipAll
			}
			if err != nil {
				if p == "." {
					return err
				}
				stopped = !yield(File{}, rowError(p, 0, "", "", "cannot read: "+err.Error()))
				return skip(d)
			}
			if p != "." && strings.HasPrefix(d.Name(), ".") {
				return skip(d)
			}
			if d.IsDir() || !d.Type().IsRegular() {
				return nil
			}
			f, err := placeFile(p)
			if err != nil {
				stopped = !yield(File{}, rowError(p, 0, "", "", err.Error()))
				return nil
			}
			stopped = !yield(f, nil)
			return nil
		})
		if err != nil && !stopped {
			yield(File{}, fmt.Errorf("hl7v2: walk: %w", err))
		}
	}
}

func skip(d fs.DirEntry) error {
	if d != nil && d.IsDir() {
		return fs.SkipDir
	}
	return nil
}

// placeFile parses the name of the file at p and checks its enclosing folders.
func placeFile(p string) (File, error) {
	dir, base := path.Split(p)
	n, err := ParseFileName(base)
	if err != nil {
		return File{}, fmt.Errorf("not an SS-MIX2 file name: %v", err)
	}
	folders := strings.Split(strings.TrimSuffix(dir, "/"), "/")
	want := []string{n.PatientID, n.Date, n.DataType}
	if len(folders) < len(want) || dir == "" {
		return File{}, fmt.Errorf("not in a %s/%s/%s folder", want[0], want[1], want[2])
	}
	got := folders[len(folders)-3:]
	for i, what := range []string{"patient ID", "date", "data type"} {
		if got[i] != want[i] {
			return File{}, fmt.Errorf("the file's %s %q is not its folder's %q", what, want[i], got[i])
		}
	}
	return File{Path: p, Name: n}, nil
}

func rowError(file string, line int, column, value, reason string) *adapters.RowError {
	return &adapters.RowError{Problem: adapters.Problem{File: file, Line: line, Column: column, Value: value, Reason: reason}}
}

func alnum(s string, min, max int) bool {
	if len(s) < min || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
			return false
		}
	}
	return true
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func validDataType(s string) bool {
	if len(s) != 3 && len(s) != 6 {
		return false
	}
	for i := 0; i < 3; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return len(s) == 3 || s[3] == '-' && digits(s[4:])
}

func validTime(layout, s string) bool {
	if len(s) != len(layout) || !digits(s) {
		return false
	}
	_, err := time.Parse(layout, s)
	return err == nil
}
