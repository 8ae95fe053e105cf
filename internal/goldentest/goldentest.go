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

// Package goldentest holds the golden-file helpers of the decoders' and the importer's tests:
// an output compared with a file of the repository, which `go test -update` rewrites.
package goldentest

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Read returns the bytes of path, or fails the test.
func Read(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// Write writes b to path, making its directory, or fails the test.
func Write(tb testing.TB, path string, b []byte) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		tb.Fatal(err)
	}
}

// Decode is the JSON value of b with its numbers as written; text saying so when b is not
// JSON (which then differs from any JSON value it is compared with).
func Decode(b []byte) (v any) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return "invalid JSON: " + err.Error()
	}
	return v
}

// JSON compares got with the JSON of the file path as JSON values (member order and spacing
// aside) and reports the difference; with update it writes got to path instead.
func JSON(tb testing.TB, path string, got []byte, update bool) {
	tb.Helper()
	if update {
		Write(tb, path, got)
		return
	}
	if d := cmp.Diff(Decode(Read(tb, path)), Decode(got)); d != "" {
		tb.Errorf("%s (-want +got):\n%s", path, d)
	}
}
