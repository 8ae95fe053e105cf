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
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestStampKeepsElementsAndOrder(t *testing.T) {
	in := `{ "resourceType": "Patient", "meta": {"profile": ["http://jpfhir.jp/fhir/core/StructureDefinition/JP_Patient"], "versionId": "9"},
	  "name": [{"family": "山田"}], "id": "old", "birthDate": "2020-01-01", "_birthDate": {"extension": [{"url": "x", "valueString": "令和2年"}]} }`
	at := time.Date(2026, 4, 1, 9, 30, 0, 123456789, time.FixedZone("JST", 9*3600))
	out, err := Stamp([]byte(in), "p1", 3, at)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"resourceType":"Patient","id":"p1","meta":{"versionId":"3","lastUpdated":"2026-04-01T00:30:00.123Z",` +
		`"profile":["http://jpfhir.jp/fhir/core/StructureDefinition/JP_Patient"]},"name":[{"family":"山田"}],` +
		`"birthDate":"2020-01-01","_birthDate":{"extension":[{"url":"x","valueString":"令和2年"}]}}`
	if string(out) != want {
		t.Fatalf("got  %s\nwant %s", out, want)
	}
}

func TestParse(t *testing.T) {
	for _, c := range []struct {
		name, in string
		kind     Kind // of the error, when typ is ""
		typ, id  string
	}{
		{"OK", `{"resourceType":"Patient","id":"a-1.b"}`, 0, "Patient", "a-1.b"},
		{"NoID", `{"resourceType":"Observation"}`, 0, "Observation", ""},
		{"ErrSyntax", `{"resourceType":`, KindInvalid, "", ""},
		{"ErrArray", `[]`, KindInvalid, "", ""},
		{"ErrNoType", `{"id":"x"}`, KindInvalid, "", ""},
		{"ErrUnknownType", `{"resourceType":"Child"}`, KindInvalid, "", ""},
		{"ErrTypeNotString", `{"resourceType":1}`, KindInvalid, "", ""},
		{"ErrBadID", `{"resourceType":"Patient","id":"a b"}`, KindInvalid, "", ""},
		{"ErrLongID", `{"resourceType":"Patient","id":"` + strings.Repeat("a", 65) + `"}`, KindInvalid, "", ""},
		{"ErrControlInID", `{"resourceType":"Patient","id":"a\u0000"}`, KindInvalid, "", ""},
		{"ErrDuplicate", `{"resourceType":"Patient","id":"a","id":"b"}`, KindInvalid, "", ""},
		{"ErrDeep", `{"resourceType":"Patient","x":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + `}`, KindTooCostly, "", ""},
		{"ErrNotUTF8", "{\"resourceType\":\"Patient\",\"id\":\"x\",\"text\":\"\x8a\"}", KindInvalid, "", ""},
		{"DeepInString", `{"resourceType":"Patient","id":"x","y":"` + strings.Repeat("[", 70) + `"}`, 0, "Patient", "x"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h, err := Parse([]byte(c.in), Limits{})
			if c.typ == "" {
				var fe *Error
				if !errors.As(err, &fe) || fe.Kind != c.kind {
					t.Fatalf("err %v, want kind %s", err, c.kind)
				}
				return
			}
			if err != nil || h.ResourceType != c.typ || h.ID != c.id {
				t.Fatalf("got %+v, %v", h, err)
			}
		})
	}
}

func TestControlChar(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		pos  int
		c    rune
	}{
		{"NoneInPlainText", "Yamada 太郎", -1, 0},
		{"TabLineFeedCarriageReturnAllowed", "a\tb\r\nc", -1, 0},
		{"DeleteAllowed", "a\x7f", -1, 0},
		{"NULFound", "ab\x00", 2, 0},
		{"PositionInCharacters", "山田\x1f", 2, 0x1f},
		{"FirstOneReported", "\x01\x02", 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if pos, c := ControlChar(tc.in); pos != tc.pos || c != tc.c {
				t.Fatalf("ControlChar(%q) = %d, %U; want %d, %U", tc.in, pos, c, tc.pos, tc.c)
			}
		})
	}
}

func TestParseNamesTheControlCharacterInID(t *testing.T) {
	_, err := Parse([]byte(`{"resourceType":"Patient","id":"p\u0001"}`), Limits{})
	e := AsError(err)
	if e == nil || e.Kind != KindInvalid || e.Issues[0].Code != IssueValue || e.Issues[0].Expression[0] != "Patient.id" ||
		!strings.Contains(e.Issues[0].Diagnostics, "U+0001 at position 1") {
		t.Fatalf("got %v, want 400 value at Patient.id naming U+0001 at position 1", err)
	}
}

func TestParseReference(t *testing.T) {
	for in, want := range map[string]Reference{
		"Patient/123":            {Type: "Patient", ID: "123"},
		"Patient/123/_history/2": {Type: "Patient", ID: "123", Version: "2"},
		"https://hub.example.jp/misato/fhir/Patient/p1": {Base: "https://hub.example.jp/misato/fhir", Type: "Patient", ID: "p1"},
		"urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a": {URN: "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a"},
		"#med1": {Contained: "med1"},
	} {
		got, ok := ParseReference(in)
		if !ok || got != want {
			t.Errorf("%s: got %+v %v, want %+v", in, got, ok, want)
		}
		if got.String() != in {
			t.Errorf("%s: String() = %s", in, got.String())
		}
	}
	for _, bad := range []string{"", "123", "Child/1", "Patient/", "Patient?identifier=x", "foo/Patient/1"} {
		if r, ok := ParseReference(bad); ok {
			t.Errorf("%q parsed as %+v", bad, r)
		}
	}
}

func TestOutcome(t *testing.T) {
	kind, oo := Outcome(ErrorAt(KindUnprocessable, IssueValue, "Patient.birthDate", "bad date %q", "x"))
	b, _ := json.Marshal(oo)
	if kind != KindUnprocessable || string(b) != `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"value","diagnostics":"bad date \"x\"","expression":["Patient.birthDate"]}]}` {
		t.Fatalf("%s %s", kind, b)
	}
	kind, oo = Outcome(errors.New("disk on fire at /var/lib/x"))
	if kind != KindInternal || strings.Contains(oo.Issue[0].Diagnostics, "disk") {
		t.Fatalf("internal errors must not leak: %s %+v", kind, oo)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{`{"resourceType":"Patient","id":"p1","meta":{"versionId":"1"}}`, `{"resourceType":"Bundle","entry":[{"resource":{}}]}`, `[`, `{"a":"\u0000"}`,
		`{"resourceType":"Patient","id":"p\u0000"}`, `{"resourceType":"Pati\u0000ent"}`, `{"resourceType":"Patient","i\u0000d":"x","name":[{"family":"\u001f"}]}`,
		"{\"resourceType\":\"Patient\",\"id\":\"p\x01\"}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := Parse(b, Limits{})
		if err != nil {
			if AsError(err) == nil {
				t.Fatalf("Parse returned a non-FHIR error: %v", err)
			}
			return
		}
		if pos, _ := ControlChar(h.ID); pos >= 0 {
			t.Fatalf("Parse accepted the id %q", h.ID)
		}
		out, err := Stamp(b, "x", 1, time.Unix(0, 0))
		if err != nil {
			t.Fatalf("Stamp failed on a parsed resource: %v", err)
		}
		h2, err := Parse(out, Limits{MaxDepth: 1000})
		if err != nil || h2.ResourceType != h.ResourceType || h2.ID != "x" {
			t.Fatalf("stamped resource does not parse back: %v %+v\n%s", err, h2, out)
		}
	})
}

func TestKinds(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range Kinds() {
		name := k.String()
		if name == "" || seen[name] || strings.HasPrefix(name, "kind(") {
			t.Errorf("kind %d is named %q", k, name)
		}
		seen[name] = true
	}
	if Kind(0) != KindInternal || KindInvalid.Transient() || !KindUnavailable.Transient() {
		t.Errorf("the zero kind must be internal; invalid is not transient, unavailable is")
	}
	err := fmt.Errorf("wrapped: %w", Errorf(KindConflict, IssueConflict, "changed"))
	if KindOf(err) != KindConflict || KindOf(errors.New("x")) != KindInternal || err.Error() != "wrapped: conflict: changed" {
		t.Errorf("KindOf/Error: %s %s %q", KindOf(err), KindOf(errors.New("x")), err.Error())
	}
}
