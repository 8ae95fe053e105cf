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
	"errors"
	"strings"
	"testing"

	"github.com/kodomohub/kodomohub/conformance"
	"github.com/kodomohub/kodomohub/fhir"
)

// want is one expected issue: its code and expression.
type want struct {
	code fhir.IssueType
	expr string
}

func TestValidate(t *testing.T) {
	ext := `{"url":"http://example.org/x","valueString":"y"}`
	tests := []struct {
		name string
		in   string
		want []want // nil: valid
	}{
		// Resource envelope.
		{"minimal patient", `{"resourceType":"Patient"}`, nil},
		{"typical patient", `{"resourceType":"Patient","id":"p1","meta":{"versionId":"1","lastUpdated":"2024-04-01T09:00:00.123+09:00"},
			"identifier":[{"system":"urn:oid:1.2.392.200119.6.102","value":"123"}],"active":true,
			"name":[{"use":"official","family":"山田","given":["太郎"]}],"gender":"male","birthDate":"2018-04-01",
			"address":[{"city":"美里町","postalCode":"123-4567"}],"multipleBirthInteger":2}`, nil},
		{"array top level", `[]`, []want{{fhir.IssueStructure, ""}}},
		{"no resourceType", `{"id":"x"}`, []want{{fhir.IssueRequired, "resourceType"}}},
		{"resourceType not string", `{"resourceType":1}`, []want{{fhir.IssueStructure, "resourceType"}}},
		{"unknown resourceType", `{"resourceType":"Foo"}`, []want{{fhir.IssueValue, "resourceType"}}},
		{"abstract resourceType", `{"resourceType":"DomainResource"}`, []want{{fhir.IssueValue, "resourceType"}}},

		// Unknown elements, anywhere.
		{"unknown top", `{"resourceType":"Patient","foo":1}`, []want{{fhir.IssueStructure, "Patient.foo"}}},
		{"unknown in data type", `{"resourceType":"Patient","name":[{"family":"a","foo":1}]}`, []want{{fhir.IssueStructure, "Patient.name[0].foo"}}},
		{"unknown in backbone", `{"resourceType":"Patient","contact":[{"gender":"male","foo":1}]}`, []want{{fhir.IssueStructure, "Patient.contact[0].foo"}}},
		{"unknown in nested data type", `{"resourceType":"Patient","identifier":[{"period":{"start":"2020","foo":"x"}}]}`, []want{{fhir.IssueStructure, "Patient.identifier[0].period.foo"}}},
		{"contentReference ok", `{"resourceType":"Questionnaire","status":"active","item":[{"linkId":"1","type":"group","item":[{"linkId":"1.1","type":"string","item":[{"linkId":"1.1.1","type":"display"}]}]}]}`, nil},
		{"contentReference unknown", `{"resourceType":"Questionnaire","status":"active","item":[{"linkId":"1","type":"group","item":[{"linkId":"1.1","type":"string","foo":true}]}]}`,
			[]want{{fhir.IssueStructure, "Questionnaire.item[0].item[0].foo"}}},
		{"contentReference required", `{"resourceType":"Questionnaire","status":"active","item":[{"linkId":"1","type":"group","item":[{"type":"string"}]}]}`,
			[]want{{fhir.IssueRequired, "Questionnaire.item[0].item[0].linkId"}}},

		// Cardinality.
		{"array for max 1", `{"resourceType":"Patient","gender":["male"]}`, []want{{fhir.IssueStructure, "Patient.gender"}}},
		{"object array for max 1", `{"resourceType":"Patient","maritalStatus":[{"text":"x"}]}`, []want{{fhir.IssueStructure, "Patient.maritalStatus"}}},
		{"single for max *", `{"resourceType":"Patient","name":{"family":"a"}}`, []want{{fhir.IssueStructure, "Patient.name"}}},
		{"primitive single for max *", `{"resourceType":"Patient","name":[{"given":"a"}]}`, []want{{fhir.IssueStructure, "Patient.name[0].given"}}},
		{"required missing", `{"resourceType":"Observation"}`, []want{{fhir.IssueRequired, "Observation.status"}, {fhir.IssueRequired, "Observation.code"}}},
		{"required in backbone", `{"resourceType":"Patient","link":[{"type":"seealso"}]}`, []want{{fhir.IssueRequired, "Patient.link[0].other"}}},
		{"required choice", `{"resourceType":"MedicationRequest","status":"active","intent":"order","subject":{"reference":"Patient/1"}}`,
			[]want{{fhir.IssueRequired, "MedicationRequest.medication"}}},
		{"max 0 in constrained type", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":1},
			"referenceRange":[{"low":{"value":1,"comparator":"<"}}]}`, []want{{fhir.IssueStructure, "Observation.referenceRange[0].low.comparator"}}},

		// Primitive formats.
		{"bad id", `{"resourceType":"Patient","id":"a b"}`, []want{{fhir.IssueValue, "Patient.id"}}},
		{"long id", `{"resourceType":"Patient","id":"` + strings.Repeat("a", 65) + `"}`, []want{{fhir.IssueValue, "Patient.id"}}},
		{"bad date month", `{"resourceType":"Patient","birthDate":"2020-13-01"}`, []want{{fhir.IssueValue, "Patient.birthDate"}}},
		{"bad date day", `{"resourceType":"Patient","birthDate":"2021-02-29"}`, []want{{fhir.IssueValue, "Patient.birthDate"}}},
		{"leap day", `{"resourceType":"Patient","birthDate":"2020-02-29"}`, nil},
		{"year zero", `{"resourceType":"Patient","birthDate":"0000"}`, []want{{fhir.IssueValue, "Patient.birthDate"}}},
		{"date with time", `{"resourceType":"Patient","birthDate":"2020-01-01T00:00:00Z"}`, []want{{fhir.IssueValue, "Patient.birthDate"}}},
		{"partial dates", `{"resourceType":"Patient","birthDate":"2020-01","deceasedDateTime":"2021"}`, nil},
		{"dateTime without zone", `{"resourceType":"Patient","deceasedDateTime":"2020-01-01T10:00:00"}`, []want{{fhir.IssueValue, "Patient.deceasedDateTime"}}},
		{"dateTime hour only", `{"resourceType":"Patient","deceasedDateTime":"2020-01-01T10Z"}`, []want{{fhir.IssueValue, "Patient.deceasedDateTime"}}},
		{"dateTime zones", `{"resourceType":"Patient","deceasedDateTime":"2020-01-01T10:00:00.5+14:00"}`, nil},
		{"dateTime bad zone", `{"resourceType":"Patient","deceasedDateTime":"2020-01-01T10:00:00+15:00"}`, []want{{fhir.IssueValue, "Patient.deceasedDateTime"}}},
		{"instant without time", `{"resourceType":"Patient","meta":{"lastUpdated":"2020-01-01"}}`, []want{{fhir.IssueValue, "Patient.meta.lastUpdated"}}},
		{"time", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueTime":"23:59:60.25"}`, nil},
		{"bad time", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueTime":"24:00:00"}`, []want{{fhir.IssueValue, "Observation.valueTime"}}},
		{"decimal as string", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":"1.0"}}`, []want{{fhir.IssueValue, "Observation.valueQuantity.value"}}},
		{"decimal exponent", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":1.5e3}}`, nil},
		{"integer fraction", `{"resourceType":"Patient","multipleBirthInteger":1.5}`, []want{{fhir.IssueValue, "Patient.multipleBirthInteger"}}},
		{"integer range", `{"resourceType":"Patient","multipleBirthInteger":3000000000}`, []want{{fhir.IssueValue, "Patient.multipleBirthInteger"}}},
		{"integer as string", `{"resourceType":"Patient","multipleBirthInteger":"2"}`, []want{{fhir.IssueValue, "Patient.multipleBirthInteger"}}},
		{"unsignedInt negative", `{"resourceType":"Patient","photo":[{"size":-1}]}`, []want{{fhir.IssueValue, "Patient.photo[0].size"}}},
		{"positiveInt zero", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueSampledData":{"origin":{"value":0},"period":1,"dimensions":0}}`,
			[]want{{fhir.IssueValue, "Observation.valueSampledData.dimensions"}}},
		{"boolean as string", `{"resourceType":"Patient","active":"true"}`, []want{{fhir.IssueValue, "Patient.active"}}},
		{"uri with space", `{"resourceType":"Patient","identifier":[{"system":"http://a b"}]}`, []want{{fhir.IssueValue, "Patient.identifier[0].system"}}},
		{"url with space", `{"resourceType":"Patient","photo":[{"url":"http://a b"}]}`, []want{{fhir.IssueValue, "Patient.photo[0].url"}}},
		{"canonical with space", `{"resourceType":"Questionnaire","status":"active","derivedFrom":["http://a b"]}`, []want{{fhir.IssueValue, "Questionnaire.derivedFrom[0]"}}},
		{"oid", `{"resourceType":"Patient","extension":[{"url":"http://x","valueOid":"urn:oid:1.2.3"}]}`, nil},
		{"bad oid", `{"resourceType":"Patient","extension":[{"url":"http://x","valueOid":"1.2.3"}]}`, []want{{fhir.IssueValue, "Patient.extension[0].valueOid"}}},
		{"uuid", `{"resourceType":"Patient","extension":[{"url":"http://x","valueUuid":"urn:uuid:c757873d-ec9a-4326-a141-556f43239520"}]}`, nil},
		{"bad uuid", `{"resourceType":"Patient","extension":[{"url":"http://x","valueUuid":"urn:uuid:C757873D-EC9A-4326-A141-556F43239520"}]}`, []want{{fhir.IssueValue, "Patient.extension[0].valueUuid"}}},
		{"code whitespace", `{"resourceType":"Patient","gender":" male"}`, []want{{fhir.IssueValue, "Patient.gender"}}},
		{"code inner whitespace", `{"resourceType":"Patient","communication":[{"language":{"coding":[{"code":"a  b"}]}}]}`, []want{{fhir.IssueValue, "Patient.communication[0].language.coding[0].code"}}},
		{"base64", `{"resourceType":"Patient","photo":[{"data":"aGVsbG8="}]}`, nil},
		{"bad base64", `{"resourceType":"Patient","photo":[{"data":"!!!!"}]}`, []want{{fhir.IssueValue, "Patient.photo[0].data"}}},
		{"empty markdown", `{"resourceType":"Questionnaire","status":"active","description":""}`, []want{{fhir.IssueValue, "Questionnaire.description"}}},
		{"empty string", `{"resourceType":"Patient","name":[{"family":""}]}`, []want{{fhir.IssueValue, "Patient.name[0].family"}}},
		{"string as number", `{"resourceType":"Patient","name":[{"family":1}]}`, []want{{fhir.IssueValue, "Patient.name[0].family"}}},
		{"object as string", `{"resourceType":"Patient","maritalStatus":"M"}`, []want{{fhir.IssueStructure, "Patient.maritalStatus"}}},

		// Choice types.
		{"choice one", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueString":"a"}`, nil},
		{"choice two", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueString":"a","valueBoolean":true}`, []want{{fhir.IssueStructure, "Observation.value"}}},
		{"choice type not allowed", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueReference":{"reference":"Patient/1"}}`, []want{{fhir.IssueStructure, "Observation.valueReference"}}},
		{"choice base name", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"value":"a"}`, []want{{fhir.IssueStructure, "Observation.value"}}},

		// Required bindings.
		{"code not in value set", `{"resourceType":"Patient","gender":"boy"}`, []want{{fhir.IssueCodeInvalid, "Patient.gender"}}},
		{"code in backbone", `{"resourceType":"Patient","link":[{"other":{"reference":"Patient/2"},"type":"sibling"}]}`, []want{{fhir.IssueCodeInvalid, "Patient.link[0].type"}}},
		{"status code", `{"resourceType":"Observation","status":"done","code":{"text":"x"}}`, []want{{fhir.IssueCodeInvalid, "Observation.status"}}},
		{"CodeableConcept required ok", `{"resourceType":"Condition","subject":{"reference":"Patient/1"},"clinicalStatus":{"coding":[{"system":"http://example.org","code":"x"},{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]}}`, nil},
		{"CodeableConcept required wrong system", `{"resourceType":"Condition","subject":{"reference":"Patient/1"},"clinicalStatus":{"coding":[{"system":"http://example.org","code":"active"}]}}`,
			[]want{{fhir.IssueCodeInvalid, "Condition.clinicalStatus"}}},
		{"CodeableConcept required text only", `{"resourceType":"Condition","subject":{"reference":"Patient/1"},"clinicalStatus":{"text":"active"}}`,
			[]want{{fhir.IssueCodeInvalid, "Condition.clinicalStatus"}}},
		{"unchecked value set", `{"resourceType":"Patient","photo":[{"contentType":"x-made/up"}]}`, nil},

		// Primitive extensions.
		{"_element object", `{"resourceType":"Patient","birthDate":"2020-01-01","_birthDate":{"extension":[` + ext + `]}}`, nil},
		{"_element alone", `{"resourceType":"Patient","_birthDate":{"extension":[` + ext + `]}}`, nil},
		{"_element not object", `{"resourceType":"Patient","birthDate":"2020-01-01","_birthDate":"x"}`, []want{{fhir.IssueStructure, "Patient._birthDate"}}},
		{"_element unknown", `{"resourceType":"Patient","birthDate":"2020-01-01","_birthDate":{"foo":1}}`, []want{{fhir.IssueStructure, "Patient._birthDate.foo"}}},
		{"_element of complex", `{"resourceType":"Patient","_name":[{"id":"x"}]}`, []want{{fhir.IssueStructure, "Patient._name"}}},
		{"_element of unknown", `{"resourceType":"Patient","_foo":{"id":"x"}}`, []want{{fhir.IssueStructure, "Patient._foo"}}},
		{"aligned arrays", `{"resourceType":"Patient","name":[{"given":["a",null,"c"],"_given":[null,{"extension":[` + ext + `]},null]}]}`, nil},
		{"null without extension", `{"resourceType":"Patient","name":[{"given":["a",null]}]}`, []want{{fhir.IssueStructure, "Patient.name[0].given[1]"}}},
		{"null in both", `{"resourceType":"Patient","name":[{"given":["a",null],"_given":[null,null]}]}`, []want{{fhir.IssueStructure, "Patient.name[0].given[1]"}}},
		{"misaligned arrays", `{"resourceType":"Patient","name":[{"given":["a","b"],"_given":[null]}]}`, []want{{fhir.IssueStructure, "Patient.name[0]._given"}}},
		{"_array item unknown", `{"resourceType":"Patient","name":[{"given":["a","b"],"_given":[null,{"foo":1}]}]}`, []want{{fhir.IssueStructure, "Patient.name[0]._given[1].foo"}}},
		{"_array for single", `{"resourceType":"Patient","birthDate":"2020","_birthDate":[{"id":"a"}]}`, []want{{fhir.IssueStructure, "Patient.birthDate"}}},
		{"_choice", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"_valueString":{"extension":[` + ext + `]}}`, nil},

		// Extensions.
		{"extension ok", `{"resourceType":"Patient","extension":[` + ext + `,{"url":"http://x","extension":[` + ext + `]}]}`, nil},
		{"extension without url", `{"resourceType":"Patient","extension":[{"valueString":"x"}]}`, []want{{fhir.IssueRequired, "Patient.extension[0].url"}}},
		{"extension two values", `{"resourceType":"Patient","extension":[{"url":"http://x","valueString":"x","valueBoolean":true}]}`, []want{{fhir.IssueStructure, "Patient.extension[0].value"}}},
		{"extension value and nested", `{"resourceType":"Patient","extension":[{"url":"http://x","valueString":"x","extension":[` + ext + `]}]}`, []want{{fhir.IssueStructure, "Patient.extension[0]"}}},
		{"extension neither", `{"resourceType":"Patient","extension":[{"url":"http://x"}]}`, []want{{fhir.IssueStructure, "Patient.extension[0]"}}},
		{"extension bad value", `{"resourceType":"Patient","extension":[{"url":"http://x","valueDate":"x"}]}`, []want{{fhir.IssueValue, "Patient.extension[0].valueDate"}}},
		{"modifierExtension in backbone", `{"resourceType":"Patient","contact":[{"modifierExtension":[{"valueString":"x"}]}]}`, []want{{fhir.IssueRequired, "Patient.contact[0].modifierExtension[0].url"}}},
		{"extension in data type", `{"resourceType":"Patient","name":[{"extension":[{"url":"http://x","valueFoo":1}]}]}`,
			[]want{{fhir.IssueStructure, "Patient.name[0].extension[0].valueFoo"}, {fhir.IssueStructure, "Patient.name[0].extension[0]"}}},

		// Nested resources.
		{"contained ok", `{"resourceType":"Patient","contained":[{"resourceType":"Organization","id":"o","name":"x"}],"managingOrganization":{"reference":"#o"}}`, nil},
		{"contained invalid", `{"resourceType":"Patient","contained":[{"resourceType":"Organization","id":"o","foo":"x"}]}`, []want{{fhir.IssueStructure, "Patient.contained[0].foo"}}},
		{"contained no type", `{"resourceType":"Patient","contained":[{"id":"o"}]}`, []want{{fhir.IssueRequired, "Patient.contained[0].resourceType"}}},
		{"bundle entry", `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Observation","code":{"text":"x"}},"request":{"method":"POST","url":"Observation"}}]}`,
			[]want{{fhir.IssueRequired, "Bundle.entry[0].resource.status"}}},
		{"bundle entry bad method", `{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"FETCH","url":"Observation"}}]}`,
			[]want{{fhir.IssueCodeInvalid, "Bundle.entry[0].request.method"}}},
		{"parameters resource", `{"resourceType":"Parameters","parameter":[{"name":"p","resource":{"resourceType":"Patient","gender":"x"}}]}`,
			[]want{{fhir.IssueCodeInvalid, "Parameters.parameter[0].resource.gender"}}},
		{"nested bundle in bundle", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","foo":1}}]}}]}`,
			[]want{{fhir.IssueStructure, "Bundle.entry[0].resource.entry[0].resource.foo"}}},

		// Empty values and nulls.
		{"empty object", `{"resourceType":"Patient","meta":{}}`, []want{{fhir.IssueStructure, "Patient.meta"}}},
		{"empty array", `{"resourceType":"Patient","name":[]}`, []want{{fhir.IssueStructure, "Patient.name"}}},
		{"empty object in array", `{"resourceType":"Patient","name":[{}]}`, []want{{fhir.IssueStructure, "Patient.name[0]"}}},
		{"null", `{"resourceType":"Patient","active":null}`, []want{{fhir.IssueStructure, "Patient.active"}}},
		{"null complex in array", `{"resourceType":"Patient","name":[null]}`, []want{{fhir.IssueStructure, "Patient.name[0]"}}},
		{"whitespace string", `{"resourceType":"Patient","name":[{"text":"  "}]}`, []want{{fhir.IssueValue, "Patient.name[0].text"}}},

		// Duplicate keys.
		{"duplicate top", `{"resourceType":"Patient","active":true,"active":false}`, []want{{fhir.IssueStructure, "Patient.active"}}},
		{"duplicate nested", `{"resourceType":"Patient","name":[{"family":"a","family":"b"}]}`, []want{{fhir.IssueStructure, "Patient.name[0].family"}}},
		{"duplicate in contained", `{"resourceType":"Patient","contained":[{"resourceType":"Organization","name":"a","name":"b"}]}`, []want{{fhir.IssueStructure, "Patient.contained[0].name"}}},

		// Several issues at once.
		{"all issues", `{"resourceType":"Patient","foo":1,"gender":"boy","birthDate":"x","name":{"family":"a"}}`,
			[]want{{fhir.IssueStructure, "Patient.foo"}, {fhir.IssueCodeInvalid, "Patient.gender"}, {fhir.IssueValue, "Patient.birthDate"}, {fhir.IssueStructure, "Patient.name"}}},
	}
	v, err := conformance.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := v.Validate([]byte(tt.in))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			e := fhir.AsError(err)
			if e == nil {
				t.Fatalf("Validate = %v, want a *fhir.Error", err)
			}
			if e.Kind != fhir.KindUnprocessable {
				t.Errorf("kind %s, want unprocessable", e.Kind)
			}
			if len(e.Issues) != len(tt.want) {
				t.Errorf("got %d issues, want %d: %v", len(e.Issues), len(tt.want), err)
			}
			for _, w := range tt.want {
				if !hasIssue(e, w) {
					t.Errorf("missing issue %s at %q in %v", w.code, w.expr, err)
				}
			}
			for _, is := range e.Issues {
				if is.Severity != fhir.SeverityError || is.Diagnostics == "" {
					t.Errorf("issue %+v: want severity error and diagnostics", is)
				}
			}
		})
	}
}

func hasIssue(e *fhir.Error, w want) bool {
	for _, is := range e.Issues {
		expr := ""
		if len(is.Expression) > 0 {
			expr = is.Expression[0]
		}
		if is.Code == w.code && expr == w.expr {
			return true
		}
	}
	return false
}

func TestValidateNotJSON(t *testing.T) {
	for _, in := range []string{``, `{`, `{"resourceType":"Patient",}`, `{"a":1} x`, "{\"a\":\"\xff\"}", `{"a":01}`, `{"a":"\x"}`,
		strings.Repeat("[", 200) + strings.Repeat("]", 200)} {
		err := conformance.Validate([]byte(in))
		e := fhir.AsError(err)
		if e == nil || e.Kind != fhir.KindInvalid || e.Issues[0].Code != fhir.IssueStructure {
			t.Errorf("Validate(%q) = %v, want 400 structure", in, err)
		}
	}
}

func TestValidateIssueCap(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"resourceType":"Patient"`)
	for i := range 150 {
		b.WriteString(`,"x` + strings.Repeat("y", i) + `":1`)
	}
	b.WriteString("}")
	e := fhir.AsError(conformance.Validate([]byte(b.String())))
	if e == nil || len(e.Issues) != conformance.MaxIssues+1 || e.Issues[conformance.MaxIssues].Code != fhir.IssueTooCostly {
		t.Fatalf("want %d issues ending in too-costly, got %v", conformance.MaxIssues+1, e)
	}
	var fe *fhir.Error
	if !errors.As(error(e), &fe) {
		t.Fatal("not a *fhir.Error")
	}
}

func TestUncheckedValueSets(t *testing.T) {
	got := strings.Join(conformance.Default().UncheckedValueSets(), "\n")
	for _, vs := range []string{"ValueSet/mimetypes", "ValueSet/ucum-units", "ValueSet/currencies"} {
		if !strings.Contains(got, vs) {
			t.Errorf("UncheckedValueSets misses %s:\n%s", vs, got)
		}
	}
}

// Control characters: every string-based primitive, wherever it sits (data types,
// extensions, primitive extensions, contained and bundled resources), and every property
// name are refused when they hold a character below U+0020 other than TAB, LF and CR. JSON
// lets them through only escaped, so the inputs escape them.
func TestValidateControlCharacters(t *testing.T) {
	obs := `"status":"final","code":{"text":"x"}`
	for _, tc := range []struct {
		name string
		in   string
		code fhir.IssueType // "" when valid
		expr string
		diag string // text the issue's diagnostics must contain
	}{
		{"ErrNULInFamily", `{"resourceType":"Patient","name":[{"family":"Yam\u0000ada"}]}`,
			fhir.IssueValue, "Patient.name[0].family", "U+0000 at position 3"},
		{"ErrPositionCountsCharacters", `{"resourceType":"Patient","name":[{"given":["太郎","山田\u0001"]}]}`,
			fhir.IssueValue, "Patient.name[0].given[1]", "U+0001 at position 2"},
		{"ErrVerticalTab", `{"resourceType":"Patient","name":[{"text":"a\u000bb"}]}`,
			fhir.IssueValue, "Patient.name[0].text", "U+000B at position 1"},
		{"ErrFormFeed", `{"resourceType":"Patient","name":[{"text":"a\fb"}]}`,
			fhir.IssueValue, "Patient.name[0].text", "U+000C"},
		{"ErrUnitSeparatorInID", `{"resourceType":"Patient","id":"p1\u001f"}`,
			fhir.IssueValue, "Patient.id", "U+001F at position 2"},
		{"ErrControlBeforeBindingInCode", `{"resourceType":"Patient","gender":"male\u0000"}`,
			fhir.IssueValue, "Patient.gender", "U+0000 at position 4"},
		{"ErrControlInURI", `{"resourceType":"Patient","identifier":[{"system":"urn:x\u0002","value":"1"}]}`,
			fhir.IssueValue, "Patient.identifier[0].system", "U+0002"},
		{"ErrControlInMarkdown", `{"resourceType":"Questionnaire","status":"active","description":"line\r\n\u0007bell"}`,
			fhir.IssueValue, "Questionnaire.description", "U+0007 at position 6"},
		{"ErrControlInXHTML", `{"resourceType":"Patient","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">\u0008</div>"}}`,
			fhir.IssueValue, "Patient.text.div", "U+0008"},
		{"ErrControlInBase64", `{"resourceType":"Patient","photo":[{"data":"aGVs\u0000bG8="}]}`,
			fhir.IssueValue, "Patient.photo[0].data", "U+0000 at position 4"},
		{"ErrControlInExtensionURL", `{"resourceType":"Patient","extension":[{"url":"http://x\u0003","valueBoolean":true}]}`,
			fhir.IssueValue, "Patient.extension[0].url", "U+0003"},
		{"ErrControlInExtensionValue", `{"resourceType":"Patient","extension":[{"url":"http://x","extension":[{"url":"y","valueString":"\u0004"}]}]}`,
			fhir.IssueValue, "Patient.extension[0].extension[0].valueString", "U+0004 at position 0"},
		{"ErrControlInPrimitiveExtensionID", `{"resourceType":"Patient","birthDate":"2020","_birthDate":{"id":"a\u0005","extension":[{"url":"x","valueCode":"y"}]}}`,
			fhir.IssueValue, "Patient._birthDate.id", "U+0005"},
		{"ErrControlInElementID", `{"resourceType":"Patient","name":[{"id":"n\u0006","family":"a"}]}`,
			fhir.IssueValue, "Patient.name[0].id", "U+0006"},
		{"ErrControlInContained", `{"resourceType":"Patient","contained":[{"resourceType":"Organization","id":"o","name":"\u0010org"}]}`,
			fhir.IssueValue, "Patient.contained[0].name", "U+0010 at position 0"},
		{"ErrControlInBundleEntry", `{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"urn:uuid:c757873d-ec9a-4326-a141-556f43239520","resource":{"resourceType":"Observation",` + obs + `,"valueString":"\u001e"}}]}`,
			fhir.IssueValue, "Bundle.entry[0].resource.valueString", "U+001E"},
		{"ErrControlInPropertyName", `{"resourceType":"Patient","na\u0000me":[{"family":"a"}]}`,
			fhir.IssueStructure, "Patient", `property name "na\x00me" in Patient: control character U+0000 at position 2`},
		{"ErrControlInNestedPropertyName", `{"resourceType":"Patient","name":[{"\u0001":"a"}]}`,
			fhir.IssueStructure, "Patient.name[0]", "U+0001 at position 0"},
		{"ErrControlInPrimitiveExtensionName", `{"resourceType":"Patient","_birth\u0002Date":{"id":"a"}}`,
			fhir.IssueStructure, "Patient", "U+0002"},
		{"TabLineFeedCarriageReturnOK", `{"resourceType":"Questionnaire","status":"active","description":"a\tb\r\nc\n"}`, "", "", ""},
		{"DeleteOK", `{"resourceType":"Patient","name":[{"text":"a\u007fb"}]}`, "", "", ""},
		{"EscapedPrintableOK", `{"resourceType":"Patient","name":[{"family":"\u5c71\u7530 \"A\""}]}`, "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := conformance.Validate([]byte(tc.in))
			if tc.code == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			e := fhir.AsError(err)
			if e == nil || e.Kind != fhir.KindUnprocessable || len(e.Issues) != 1 {
				t.Fatalf("Validate = %v, want a 422 with one issue", err)
			}
			is := e.Issues[0]
			if is.Code != tc.code || len(is.Expression) != 1 || is.Expression[0] != tc.expr || !strings.Contains(is.Diagnostics, tc.diag) {
				t.Fatalf("issue %+v, want %s at %s saying %q", is, tc.code, tc.expr, tc.diag)
			}
			if strings.ContainsFunc(is.Diagnostics+is.Expression[0], func(r rune) bool { return r < 0x20 }) {
				t.Fatalf("the issue carries a control character: %q", is)
			}
		})
	}
}

// A raw control character is not JSON at all (400); an escaped one passes fhir.Parse, which
// reads only the head, and is caught by Validate (422), which every write runs after Parse.
func TestControlCharacterReachesValidator(t *testing.T) {
	raw := []byte("{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"a\x00\"}]}")
	if e := fhir.AsError(conformance.Validate(raw)); e == nil || e.Kind != fhir.KindInvalid || e.Issues[0].Code != fhir.IssueStructure {
		t.Fatalf("raw NUL: %v, want 400 structure", e)
	}
	if _, err := fhir.Parse(raw, fhir.Limits{}); fhir.AsError(err) == nil || fhir.AsError(err).Kind != fhir.KindInvalid {
		t.Fatalf("fhir.Parse accepted a raw NUL: %v", err)
	}
	escaped := []byte(`{"resourceType":"Patient","name":[{"family":"a\u0000"}]}`)
	if _, err := fhir.Parse(escaped, fhir.Limits{}); err != nil {
		t.Fatalf("fhir.Parse: %v", err)
	}
	if e := fhir.AsError(conformance.Validate(escaped)); e == nil || e.Kind != fhir.KindUnprocessable || e.Issues[0].Expression[0] != "Patient.name[0].family" {
		t.Fatalf("escaped NUL: %v, want 422 at Patient.name[0].family", e)
	}
}
