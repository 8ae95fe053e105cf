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

package conformance_test

import (
	"encoding/json"
	"testing"

	"github.com/kodomohub/kodomohub/conformance"
	"github.com/kodomohub/kodomohub/conformance/conformancetest"
	"github.com/kodomohub/kodomohub/fhir"
)

// FuzzValidate checks that Validate never panics, always returns nil or a *fhir.Error with
// status 400 or 422 whose expressions carry no control character, and accepts only what
// encoding/json reads as an object, with no control character (other than TAB, LF, CR) in
// any string or property name. It is seeded with the smaller R4 examples and escaped
// control characters; crashers found go to testdata/fuzz/FuzzValidate.
func FuzzValidate(f *testing.F) {
	for _, raw := range conformancetest.Examples(f) {
		if len(raw) < 8<<10 {
			f.Add(raw)
		}
	}
	f.Add([]byte(`{"resourceType":"Patient","name":[{"given":["a",null],"_given":[null,{"id":"x"}]}]}`))
	f.Add([]byte(`{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","active":true}}]}`))
	for _, s := range []string{
		`{"resourceType":"Patient","id":"a\u0000","name":[{"family":"Yam\u0000ada","given":["\u001f"]}]}`,
		`{"resourceType":"Patient","na\u0000me":[{"family":"a"}],"_birthDate":{"id":"\u0001"}}`,
		`{"resourceType":"Patient","extension":[{"url":"http://x\u0002","valueString":"\u000b"}],"text":{"status":"generated","div":"<div>\u0007</div>"}}`,
		`{"resourceType":"Patient","contained":[{"resourceType":"Organization","id":"o","name":"\t\r\n\u007f\u0008"}]}`,
		"{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"a\x00\x1f\"}]}",
	} {
		f.Add([]byte(s))
	}
	v := conformance.Default()
	f.Fuzz(func(t *testing.T, raw []byte) {
		err := v.Validate(raw)
		if err == nil {
			var m map[string]any
			if json.Unmarshal(raw, &m) != nil {
				t.Fatalf("Validate accepted what encoding/json rejects: %q", raw)
			}
			if s, ok := controlString(m); ok {
				t.Fatalf("Validate accepted %q in %q", s, raw)
			}
			return
		}
		e := fhir.AsError(err)
		if e == nil || (e.Kind != fhir.KindInvalid && e.Kind != fhir.KindTooCostly && e.Kind != fhir.KindUnprocessable) || len(e.Issues) == 0 || len(e.Issues) > conformance.MaxIssues+1 {
			t.Fatalf("Validate(%q) = %#v", raw, err)
		}
		for _, is := range e.Issues {
			for _, x := range is.Expression {
				if pos, _ := fhir.ControlChar(x); pos >= 0 {
					t.Fatalf("expression %q carries a control character", x)
				}
			}
		}
	})
}

// controlString returns the first string or object key in v (decoded JSON) that holds a
// character FHIR does not allow.
func controlString(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		pos, _ := fhir.ControlChar(v)
		return v, pos >= 0
	case []any:
		for _, x := range v {
			if s, ok := controlString(x); ok {
				return s, true
			}
		}
	case map[string]any:
		for k, x := range v {
			if pos, _ := fhir.ControlChar(k); pos >= 0 {
				return k, true
			}
			if s, ok := controlString(x); ok {
				return s, true
			}
		}
	}
	return "", false
}
