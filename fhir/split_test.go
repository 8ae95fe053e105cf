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

package fhir

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzSplitObject checks the one-pass splitter against encoding/json: same members, same
// values, in document order.
func FuzzSplitObject(f *testing.F) {
	for _, s := range []string{`{"a":1,"b":[1,{"c":"}"}],"d":"\"x\\\\"}`, `{ "k\u00e9y" : null , "x":{"y":[]} }`, `{}`, `{"a":"b","a":"c"}`, `[1]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fields, err := splitObject(b)
		var m map[string]json.RawMessage
		jerr := json.Unmarshal(b, &m)
		if err != nil {
			if jerr == nil && m != nil && len(m) == countKeys(b) {
				t.Fatalf("splitObject failed on a valid object without duplicates: %v", err)
			}
			return
		}
		if jerr != nil {
			t.Fatalf("splitObject accepted what encoding/json rejects: %v", jerr)
		}
		if len(fields) != len(m) {
			t.Fatalf("%d members, encoding/json has %d", len(fields), len(m))
		}
		for _, f := range fields {
			var a, b any
			if json.Unmarshal(f.value, &a) != nil || json.Unmarshal(m[f.key], &b) != nil {
				t.Fatalf("member %q: value %q does not decode", f.key, f.value)
			}
			ab, _ := json.Marshal(a)
			bb, _ := json.Marshal(b)
			if !bytes.Equal(ab, bb) {
				t.Fatalf("member %q: %s, encoding/json has %s", f.key, ab, bb)
			}
		}
	})
}

// countKeys counts the top-level members with the slow decoder (duplicates counted).
func countKeys(b []byte) int {
	d := json.NewDecoder(bytes.NewReader(b))
	if tok, err := d.Token(); err != nil || tok != json.Delim('{') {
		return -1
	}
	n := 0
	for d.More() {
		if _, err := d.Token(); err != nil {
			return -1
		}
		var v json.RawMessage
		if d.Decode(&v) != nil {
			return -1
		}
		n++
	}
	return n
}
