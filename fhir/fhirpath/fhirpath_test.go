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

package fhirpath

import (
	"encoding/json"
	"errors"
	"fmt"
	"go/build"
	"strings"
	"testing"
	"time"
)

// render prints a collection compactly: primitive values as written, complex ones by type.
func render(c Collection) string {
	parts := make([]string, len(c))
	for i, it := range c {
		switch v := it.Value.(type) {
		case string:
			parts[i] = v
		case json.Number:
			parts[i] = string(v)
		case bool:
			parts[i] = fmt.Sprint(v)
		case nil:
			parts[i] = "<" + it.Type + ">"
		default:
			parts[i] = "{" + it.Type + "}"
		}
	}
	return strings.Join(parts, ",")
}

func types(c Collection) string {
	parts := make([]string, len(c))
	for i, it := range c {
		parts[i] = it.Type
	}
	return strings.Join(parts, ",")
}

type evalCase struct {
	expr string
	want string // render() of the result, or "ERROR"
}

func runCases(t *testing.T, resource any, cases []evalCase, opts ...Option) {
	t.Helper()
	for _, tc := range cases {
		e, err := Compile(tc.expr)
		if err != nil {
			t.Errorf("Compile(%q): %v", tc.expr, err)
			continue
		}
		got, err := e.Evaluate(resource, opts...)
		if tc.want == "ERROR" {
			if err == nil {
				t.Errorf("%s = %s, want an error", tc.expr, render(got))
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		if r := render(got); r != tc.want {
			t.Errorf("%s = %q, want %q", tc.expr, r, tc.want)
		}
	}
}

func TestPatientPaths(t *testing.T) {
	p := exampleNamed(t, "Patient-example.json")
	runCases(t, p, []evalCase{
		{"Patient.name.family", "Chalmers,Windsor"},
		{"name.family", "Chalmers,Windsor"},
		{"Patient.name.given", "Peter,James,Jim,Peter,James"},
		{"Patient.name[1].given", "Jim"},
		{"Patient.name[5].given", ""},
		{"Patient.name.where(use = 'official').given.first()", "Peter"},
		{"Patient.name.where(use = 'usual').family", ""},
		{"Patient.name.given.last()", "James"},
		{"Patient.name.given.distinct()", "Peter,James,Jim"},
		{"Patient.name.given.count()", "5"},
		{"Patient.name.given.skip(3)", "Peter,James"},
		{"Patient.name.given.take(2)", "Peter,James"},
		{"Patient.name.given.tail()", "James,Jim,Peter,James"},
		{"Patient.name.family.single()", "ERROR"},
		{"Patient.name.where(use = 'usual').given.single()", "Jim"},
		{"Patient.birthDate", "1974-12-25"},
		{"Patient.deceased", "false"},
		{"Patient.gender", "male"},
		{"Person.name", ""}, // another resource type
		{"Resource.id", "example"},
		{"DomainResource.id", "example"},
		{"Patient.nosuchelement", ""},
		{"Patient.name.select(given.first() + ' ' + family)", "Peter Chalmers,Peter Windsor"},
		{"Patient.name.select(given).count()", "5"},
		{"Patient.name.all(given.exists())", "true"},
		{"Patient.name.all(family.exists())", "false"},
		{"Patient.name.exists(use = 'maiden')", "true"},
		{"Patient.name.exists(use = 'nickname')", "false"},
		{"Patient.name.given.where($this.startsWith('J'))", "James,Jim,James"},
		{"Patient.name.given.where($index = 1)", "James"},
		{"Patient.name.given.select($index)", "0,1,2,3,4"},
		{"Patient.telecom.where(system = 'phone').value", "(03) 5555 6473,(03) 3410 5613,(03) 5555 8834"},
		{"Patient.telecom.where(system='phone' and use='mobile').rank", "2"},
		{"Patient.contact.name.family", "du Marché"},
		{"Patient.contact.gender | Patient.gender", "female,male"},
		{"Patient.name.family | Patient.name.family", "Chalmers,Windsor"},
		{"Patient.name.family.union(Patient.contact.name.family)", "Chalmers,Windsor,du Marché"},
		{"Patient.name.given.combine(Patient.name.family).count()", "7"},
		{"Patient.name.given.intersect(Patient.name[1].given)", "Jim"},
		{"Patient.name.given.exclude('Peter')", "James,Jim,James"},
		{"Patient.name.given.isDistinct()", "false"},
		{"('Jim').subsetOf(Patient.name.given)", "true"},
		{"Patient.name.given.supersetOf('Jim' | 'Peter')", "true"},
		{"Patient.managingOrganization.reference", "Organization/1"},
		{"%resource.id", "example"},
		{"%rootResource.id", "example"},
		{"$this.id", "example"},
		{"Patient.`id`", "example"},
		{"%resource.name.family.first().length()", "8"},
		{"Patient.active", "true"},
		{"Patient.active.not()", "false"},
		{"Patient.name.empty()", "false"},
		{"Patient.photo.empty()", "true"},
		{"Patient.name.family.first().hasValue()", "true"},
		{"Patient.name.hasValue()", "false"},
		{"Patient.name[0].children().count()", "4"},
		{"Patient.contact.name.family.extension.value", "VV"},
		{"Patient.contact.name.descendants().where($this is string)", "du Marché,Bénédicte,VV"},
		{"Patient.descendants().count() > 50", "true"},
		{"Patient.name.given.repeat($this).count()", "3"},
		{"Patient.contact.repeat(name).family", "du Marché"},
		{"Patient.name.given.aggregate($total + $this.length(), 0)", "23"},
		{"Patient.name.given.aggregate(iif($total.empty(), $this, $total + ',' + $this))", "Peter,James,Jim,Peter,James"},
		{"Patient.name.trace('x').count()", "3"},
		{"Patient.name.given.exists() implies Patient.name.family.exists()", "true"},
	})
}

func TestTypes(t *testing.T) {
	cases := []struct {
		file, expr, values, types string
	}{
		{"Patient-example.json", "Patient.name", "{HumanName},{HumanName},{HumanName}", "HumanName,HumanName,HumanName"},
		{"Patient-example.json", "Patient.birthDate", "1974-12-25", "date"},
		{"Patient-example.json", "Patient.gender", "male", "code"},
		{"Patient-example.json", "Patient.deceased", "false", "boolean"},
		{"Patient-example.json", "Patient.identifier", "{Identifier}", "Identifier"},
		{"Patient-example.json", "Patient.contact", "{BackboneElement}", "BackboneElement"},
		{"Patient-example.json", "Patient.contact.relationship", "{CodeableConcept}", "CodeableConcept"},
		{"Patient-example.json", "Patient.telecom.rank", "1,2", "positiveInt,positiveInt"},
		{"Patient-example.json", "Patient.managingOrganization", "{Reference}", "Reference"},
		{"Patient-example.json", "Patient.text.div.substring(0, 4)", "<div", "string"},
		{"Patient-example.json", "Patient.meta.exists()", "false", "boolean"},
		{"Observation-example.json", "Observation.value", "{Quantity}", "Quantity"},
		{"Observation-example.json", "Observation.value as Quantity", "{Quantity}", "Quantity"},
		{"Observation-example.json", "(Observation.value as Quantity).value", "185", "decimal"},
		{"Observation-example.json", "Observation.value.as(Quantity).unit", "lbs", "string"},
		{"Observation-example.json", "Observation.value as CodeableConcept", "", ""},
		{"Observation-example.json", "Observation.value is Quantity", "true", "boolean"},
		{"Observation-example.json", "Observation.value.is(FHIR.Quantity)", "true", "boolean"},
		{"Observation-example.json", "Observation.value is string", "false", "boolean"},
		{"Observation-example.json", "Observation.valueQuantity.value", "185", "decimal"},
		{"Observation-example.json", "Observation.effective", "2016-03-28", "dateTime"},
		{"Observation-example.json", "Observation.effective.ofType(dateTime)", "2016-03-28", "dateTime"},
		{"Observation-example.json", "Observation.effective.ofType(Period)", "", ""},
		{"Observation-example.json", "(Observation.value as Quantity) | (Observation.value as SampledData)", "{Quantity}", "Quantity"},
		{"Observation-example.json", "Observation.code.coding.code", "29463-7,3141-9,27113001,body-weight", "code,code,code,code"},
		{"Observation-example.json", "Observation.subject.where(resolve() is Patient)", "{Reference}", "Reference"},
		{"Observation-example.json", "Observation.subject.where(resolve() is Group)", "", ""},
		{"Observation-example.json", "Observation.subject.resolve()", "<Patient>", "Patient"},
		{"Observation-example.json", "Observation.subject.resolve() is DomainResource", "true", "boolean"},
		{"Observation-f001.json", "Observation.effective.ofType(Period)", "{Period}", "Period"},
		{"Observation-f001.json", "Observation.effective.ofType(Period).start", "2013-04-02T09:30:10+01:00", "dateTime"},
		{"Observation-f001.json", "Observation.value.value", "6.3", "decimal"},
		{"Condition-f202.json", "Condition.onset.as(Age)", "{Age}", "Age"},
		{"Condition-f202.json", "Condition.onset as Quantity", "{Age}", "Age"}, // Age is a Quantity
		{"Condition-f202.json", "Condition.onset.as(Age).value", "52", "decimal"},
		{"Condition-f202.json", "Condition.onset.ofType(Range)", "", ""},
		{"Questionnaire-3141.json", "Questionnaire.item.item.linkId", "1.1,2.1", "string,string"},
		{"Questionnaire-3141.json", "Questionnaire.item.item", "{BackboneElement},{BackboneElement}", "BackboneElement,BackboneElement"},
		{"CarePlan-example.json", "CarePlan.addresses.resolve()", "{Condition}", "Condition"},
		{"CarePlan-example.json", "CarePlan.addresses.resolve().id", "p1", "id"},
		{"CarePlan-example.json", "CarePlan.contained", "{Condition}", "Condition"},
		{"CarePlan-example.json", "CarePlan.contained.ofType(Condition).id", "p1", "id"},
		{"CarePlan-example.json", "CarePlan.goal.resolve()", "<Goal>", "Goal"},
		{"Bundle-father.json", "Bundle.entry[0].resource as Composition", "{Composition}", "Composition"},
		{"Bundle-father.json", "(Bundle.entry[0].resource as Composition).title", "Discharge Summary", "string"},
		{"Bundle-father.json", "Bundle.entry.resource.ofType(Patient).id", "d1", "id"},
		{"Bundle-father.json", "Bundle.entry[0].resource as Patient", "", ""},
	}
	for _, tc := range cases {
		r := exampleNamed(t, tc.file)
		got, err := MustCompile(tc.expr).Evaluate(r)
		if err != nil {
			t.Errorf("%s on %s: %v", tc.expr, tc.file, err)
			continue
		}
		if v, ty := render(got), types(got); v != tc.values || ty != tc.types {
			t.Errorf("%s on %s = %q (%s), want %q (%s)", tc.expr, tc.file, v, ty, tc.values, tc.types)
		}
	}
}

func TestPrimitiveExtensions(t *testing.T) {
	p := exampleNamed(t, "Patient-example.json")
	runCases(t, p, []evalCase{
		{"Patient.birthDate.extension('http://hl7.org/fhir/StructureDefinition/patient-birthTime').value", "1974-12-25T14:35:45-05:00"},
		{"Patient.birthDate.hasExtension('http://hl7.org/fhir/StructureDefinition/patient-birthTime')", "true"},
		{"Patient.birthDate.hasExtension('http://example.org/other')", "false"},
		{"Patient.birthDate.extension.url", "http://hl7.org/fhir/StructureDefinition/patient-birthTime"},
		{"Patient.birthDate.extension.value.is(dateTime)", "true"},
		{"Patient.extension('http://hl7.org/fhir/StructureDefinition/patient-birthTime')", ""},
	})
	// an extension on one item of a repeating primitive, and a primitive with only an extension
	r, _ := Decode([]byte(`{"resourceType":"Patient","name":[{"given":["A",null,"C"],"_given":[null,{"extension":[{"url":"u","valueCode":"x"}]},{"id":"g3"}]}],
		"_gender":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/data-absent-reason","valueCode":"unknown"}]}}`))
	runCases(t, r, []evalCase{
		{"Patient.name.given.count()", "3"},
		{"Patient.name.given", "A,<string>,C"},
		{"Patient.name.given.hasValue()", "false"}, // not a single item
		{"Patient.name.given[1].hasValue()", "false"},
		{"Patient.name.given.extension('u').value", "x"},
		{"Patient.name.given[2].id", "g3"},
		{"Patient.gender.exists()", "true"},
		{"Patient.gender.hasValue()", "false"},
		{"Patient.gender.extension('http://hl7.org/fhir/StructureDefinition/data-absent-reason').value", "unknown"},
		{"Patient.gender = 'male'", ""},
	})
}

func TestOperators(t *testing.T) {
	p := exampleNamed(t, "Patient-example.json")
	runCases(t, p, []evalCase{
		// equality
		{"1 = 1", "true"}, {"1 = 1.0", "true"}, {"1.10 = 1.1", "true"}, {"1 = 2", "false"}, {"1 != 2", "true"},
		{"'a' = 'a'", "true"}, {"'a' = 'A'", "false"}, {"'a' ~ 'A'", "true"}, {"'a  b' ~ 'A B'", "true"}, {"'a' !~ 'b'", "true"},
		{"true = true", "true"}, {"true = false", "false"},
		{"{} = 1", ""}, {"1 = {}", ""}, {"{} != 1", ""},
		{"(1 | 2) = (1 | 2)", "true"}, {"(1 | 2) = (2 | 1)", "false"}, {"(1 | 2) ~ (2 | 1)", "true"}, {"(1 | 2) = 1", "false"},
		{"1 = '1'", "false"},
		{"Patient.gender = 'male'", "true"},
		{"Patient.birthDate = @1974-12-25", "true"},
		{"Patient.birthDate = '1974-12-25'", "true"},
		{"Patient.birthDate != @1974-12-26", "true"},
		{"Patient.deceased != false", "false"},
		{"Patient.deceased.exists() and Patient.deceased != false", "false"},
		{"Patient.name[0] = Patient.name[0]", "true"},
		{"Patient.name[0] = Patient.name[2]", "false"},
		{"1.2 ~ 1.23", "true"}, {"1.2 ~ 1.33", "false"},
		// decimals without loss of precision
		{"0.1 + 0.2 = 0.3", "true"},
		{"12345678901234567890.000000000000000001 > 12345678901234567890", "true"},
		{"12345678901234567890.000000000000000001 = 12345678901234567890", "false"},
		{"1.0 < 1.00000000000000000001", "true"},
		// comparison
		{"1 < 2", "true"}, {"2 <= 2", "true"}, {"3 > 2.5", "true"}, {"2 >= 3", "false"},
		{"'abc' < 'abd'", "true"}, {"'b' > 'a'", "true"},
		{"1 < 'a'", "ERROR"}, {"{} < 1", ""}, {"(1|2) < 3", "ERROR"},
		{"Patient.birthDate < @1975", "true"}, {"Patient.birthDate > @1974-12-24", "true"},
		{"5 'mg' < 6 'mg'", "true"}, {"5 'mg' < 6 'g'", ""}, {"5 'mg' = 5.0 'mg'", "true"},
		// dates with partial precision
		{"@2012 < @2013-01-01", "true"}, {"@2012 = @2012-01-01", ""}, {"@2012-01 < @2012-01-15", ""},
		{"@2012-01-01 < @2012-01-01T10:00:00Z", ""}, {"@2012-01-01 < @2012-01-02T10:00:00Z", "true"},
		{"@2012-01-01T10:00:00Z = @2012-01-01T10:00:00.000Z", "true"},
		{"@2012-01-01T10:00:00+02:00 = @2012-01-01T08:00:00Z", "true"},
		{"@2012-01-01T23:00:00-02:00 > @2012-01-02T00:30:00Z", "true"},
		{"@2012-01-01T10:00Z < @2012-01-01T10:00:01Z", ""},
		{"@2012-01-01T10:00:00.5Z > @2012-01-01T10:00:00Z", "true"},
		{"@T10:30 < @T11:00", "true"}, {"@T10:30 = @T10:30:00", ""},
		{"@2012-01-31 + 1 month", "2012-03-02"}, {"@2012-01-15 + 2 weeks", "2012-01-29"},
		{"@2012 + 1 year", "2013"}, {"@2012-01-01T10:00:00Z - 30 minutes", "2012-01-01T09:30:00Z"},
		{"@2012-01-01 + 1 'd'", "2012-01-02"},
		{"@2012-01-01 + 1 'kg'", "ERROR"},
		// boolean logic (three-valued)
		{"true and true", "true"}, {"true and false", "false"}, {"true and {}", ""}, {"false and {}", "false"},
		{"true or {}", "true"}, {"false or {}", ""}, {"false or false", "false"},
		{"true xor false", "true"}, {"true xor true", "false"}, {"true xor {}", ""},
		{"false implies {}", "true"}, {"true implies false", "false"}, {"{} implies true", "true"}, {"{} implies false", ""},
		{"(1|2) and true", "ERROR"},
		// membership
		{"'Jim' in Patient.name.given", "true"}, {"'Bob' in Patient.name.given", "false"},
		{"Patient.name.given contains 'James'", "true"}, {"{} in (1|2)", ""}, {"2 in {}", "false"},
		// arithmetic
		{"1 + 2", "3"}, {"1 + 2.5", "3.5"}, {"5 - 7", "-2"}, {"2 * 3", "6"}, {"1.5 * 2", "3"},
		{"7 / 2", "3.5"}, {"1 / 3", "0.33333333"}, {"6 / 3", "2"}, {"1 / 0", ""},
		{"7 div 2", "3"}, {"-7 div 2", "-3"}, {"7 mod 2", "1"}, {"-7 mod 2", "-1"}, {"7.5 mod 2", "1.5"}, {"5 div 0", ""},
		{"-(1 + 2)", "-3"}, {"+4", "4"}, {"2 + 3 * 4", "14"}, {"(2 + 3) * 4", "20"},
		{"'a' + 'b'", "ab"}, {"'a' + {}", ""}, {"'a' & {}", "a"}, {"'a' & 'b' & 1", "a" + "b1"},
		{"1 + 'a'", "ERROR"},
		{"5 'mg' + 2 'mg'", "{Quantity}"},
		{"(5 'mg' + 2 'mg').value", "7"},
		{"2 + 3 = 5 and 'x' = 'x'", "true"},
		{"Patient.name.given.count() + 1", "6"},
		// is / as on literals and System types
		{"'a' is String", "true"}, {"'a' is System.String", "true"}, {"1 is Integer", "true"}, {"1.5 is Decimal", "true"},
		{"1 is String", "false"}, {"true is Boolean", "true"}, {"@2012 is Date", "true"}, {"@2012T is DateTime", "true"},
		{"Patient.gender is code", "true"}, {"Patient.gender is string", "false"}, {"Patient.gender is String", "true"},
		{"Patient.birthDate is System.Date", "true"},
		{"Patient is DomainResource", "true"}, {"Patient is Resource", "true"}, {"Patient is Observation", "false"},
		{"Patient.name is HumanName", "ERROR"}, {"Patient.name.first() is HumanName", "true"}, {"Patient.name.first() is Element", "true"},
		{"Patient.contact.first() is BackboneElement", "true"},
		{"{} is String", ""},
		{"(1 | 'a' | 2).ofType(Integer)", "1,2"},
		{"('a' as String)", "a"}, {"(1 as String)", ""},
		// iif
		{"iif(true, 'a', 'b')", "a"}, {"iif(false, 'a', 'b')", "b"}, {"iif({}, 'a', 'b')", "b"}, {"iif(false, 'a')", ""},
		{"Patient.name.first().iif(family.exists(), family, 'none')", "Chalmers"},
		// indexer
		{"(10 | 20 | 30)[2]", "30"}, {"(10 | 20)[-1]", ""}, {"(10 | 20)['a']", "ERROR"},
		// empty collections
		{"{}", ""}, {"{}.count()", "0"}, {"{}.exists()", "false"}, {"{}.empty()", "true"}, {"{}.first()", ""},
		{"{}.not()", ""}, {"{}.all(false)", "true"},
	})
}

func TestFunctions(t *testing.T) {
	runCases(t, nil, []evalCase{
		{"'abcdef'.substring(2)", "cdef"}, {"'abcdef'.substring(2, 2)", "cd"}, {"'abc'.substring(5)", ""}, {"'abc'.substring(-1)", ""},
		{"'abcdef'.substring(3, 10)", "def"}, {"'日本語'.substring(1, 1)", "本"},
		{"'abc'.startsWith('ab')", "true"}, {"'abc'.startsWith('bc')", "false"}, {"'abc'.endsWith('bc')", "true"}, {"'abc'.endsWith('ab')", "false"},
		{"'abc'.contains('b')", "true"}, {"'abc'.contains('x')", "false"}, {"{}.contains('x')", ""},
		{"'abc'.indexOf('c')", "2"}, {"'abc'.indexOf('x')", "-1"},
		{"'AbC'.lower()", "abc"}, {"'AbC'.upper()", "ABC"}, {"'やまだ'.length()", "3"}, {"''.length()", "0"},
		{"'a-b-c'.replace('-', '+')", "a+b+c"}, {"'a-b-c'.split('-')", "a,b,c"}, {"('a' | 'b').join(',')", "a,b"}, {"('a' | 'b').join()", "ab"},
		{"'  x '.trim()", "x"}, {"'ab'.toChars()", "a,b"},
		{"'2012-01-01'.matches('^[0-9]{4}-[0-9]{2}-[0-9]{2}$')", "true"}, {"'abc'.matches('^b')", "false"}, {"'abc'.matches('b')", "true"},
		{"'abc'.matches('(')", "ERROR"}, {"'a1b2'.replaceMatches('[0-9]', '#')", "a#b#"},
		{"('a' | 'b').startsWith('a')", "ERROR"},
		{"1.toString()", "1"}, {"1.5.toString()", "1.5"}, {"true.toString()", "true"}, {"@2012-01.toString()", "2012-01"}, {"(5 'mg').toString()", "5 'mg'"},
		{"'12'.toInteger()", "12"}, {"'1.5'.toInteger()", ""}, {"'1.5'.toDecimal()", "1.5"}, {"'x'.toDecimal()", ""}, {"true.toInteger()", "1"},
		{"'yes'.toBoolean()", "true"}, {"'0'.toBoolean()", "false"}, {"'maybe'.toBoolean()", ""},
		{"'12'.convertsToInteger()", "true"}, {"'a'.convertsToInteger()", "false"}, {"'2012-01-01'.toDate()", "2012-01-01"},
		{"(-1.5).abs()", "1.5"}, {"1.5.ceiling()", "2"}, {"(-1.5).ceiling()", "-1"}, {"1.5.floor()", "1"}, {"(-1.5).floor()", "-2"},
		{"1.5.truncate()", "1"}, {"3.14159.round(2)", "3.14"}, {"2.5.round()", "3"},
		{"(true | false).allTrue()", "false"}, {"(true | true).allTrue()", "true"}, {"(true | false).anyTrue()", "true"},
		{"(false | false).allFalse()", "true"}, {"(true | false).anyFalse()", "true"}, {"{}.allTrue()", "true"}, {"{}.anyTrue()", "false"},
		{"(1 | 2 | 3).where($this > 1)", "2,3"}, {"(1 | 2 | 3).select($this * 2)", "2,4,6"}, {"(1 | 2 | 3).all($this > 0)", "true"},
		{"(1 | 2 | 3).exists($this > 2)", "true"}, {"(1 | 2 | 3).where($this > 1).count()", "2"},
		{"(1 | 2 | 2 | 3).count()", "3"}, {"(1).combine(1).count()", "2"}, {"(1).combine(1).distinct().count()", "1"},
		{"now() > @2020-01-01T00:00:00Z", "true"}, {"today() > @2020-01-01", "true"},
		{"%ucum", "http://unitsofmeasure.org"}, {"%sct", "http://snomed.info/sct"}, {"%loinc", "http://loinc.org"},
		{"%nope", "ERROR"}, {"%x + 1", "42"},
		{"'a' // a comment\n + 'b' /* another */", "ab"},
		{`'it\'s \u00e9'`, "it's é"},
		{"1.htmlChecks()", "true"},
	}, WithVariable("x", Collection{{Value: json.Number("41"), Type: "integer"}}))
}

func TestCompileErrors(t *testing.T) {
	for _, expr := range []string{
		"", "Patient.", "Patient.name[", "Patient.name[0", "(1 + 2", "1 +", "name.where(", "'abc",
		"Patient.name.nosuchfn()", "Patient.memberOf('x')", "Patient.type()", "1 is", "Patient.where()", "first(1)",
		"@20", "$foo", "%", "#", "1 2", "and", "Patient..name", strings.Repeat("(", 1000) + "1" + strings.Repeat(")", 1000),
		strings.Repeat("-", 1000) + "1", "substring(1,2,3)", "'it''s'",
	} {
		_, err := Compile(expr)
		if err == nil {
			t.Errorf("Compile(%q) succeeded", expr)
			continue
		}
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Compile(%q): %T is not a *SyntaxError", expr, err)
		}
	}
	_, err := Compile("Patient.name.where(use = 'x') |  foo(")
	var se *SyntaxError
	if !errors.As(err, &se) || se.Pos != 33 {
		t.Errorf("position of error: %v", err)
	}
	if e := MustCompile("Patient.name | Person.name"); e.String() != "Patient.name | Person.name" {
		t.Errorf("String() = %q", e.String())
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("MustCompile did not panic")
			}
		}()
		MustCompile("(")
	}()
	// long but flat unions are fine
	long := strings.Repeat("Patient.name | ", 500) + "Patient.name"
	if _, err := Compile(long); err != nil {
		t.Errorf("long union: %v", err)
	}
}

func TestResolver(t *testing.T) {
	obs := exampleNamed(t, "Observation-example.json")
	pat := exampleNamed(t, "Patient-example.json")
	var asked []string
	res := WithResolver(func(ref string) (any, bool) {
		asked = append(asked, ref)
		if ref == "Patient/example" {
			return pat, true
		}
		return nil, false
	})
	runCases(t, obs, []evalCase{
		{"Observation.subject.resolve().name.family", "Chalmers,Windsor"},
		{"Observation.subject.resolve() is Patient", "true"},
		{"Observation.subject.where(resolve().gender = 'male').reference", "Patient/example"},
	}, res)
	if len(asked) != 3 || asked[0] != "Patient/example" {
		t.Errorf("resolver asked %q", asked)
	}
	r, _ := Decode([]byte(`{"resourceType":"Observation","subject":{"reference":"http://example.org/fhir/Group/7/_history/2"},
		"performer":[{"type":"Practitioner","identifier":{"value":"x"}},{"reference":"urn:uuid:1234"},{"reference":"#nope"}],
		"focus":[{"reference":"http://hl7.org/fhir/ValueSet/abc|1.0"}]}`))
	runCases(t, r, []evalCase{
		{"Observation.subject.resolve()", "<Group>"},
		{"Observation.performer.resolve()", "<Practitioner>"},
		{"Observation.focus.resolve()", "<ValueSet>"},
		{"Observation.subject.where(resolve() is Patient)", ""},
	})
}

func TestHostileInput(t *testing.T) {
	// deep nesting
	deep := strings.Repeat(`{"extension":[`, 2000) + strings.Repeat(`]}`, 2000)
	r, err := Decode([]byte(`{"resourceType":"Patient","extension":[` + deep + `]}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, expr := range []string{"Patient.descendants().count()", "Patient.children().children()"} {
		if got, err := MustCompile(expr).Evaluate(r); err != nil {
			t.Errorf("%s: %v", expr, err)
		} else {
			t.Logf("%s = %s", expr, render(got))
		}
	}
	// repeat() compares each new item with all earlier ones: over this self-similar
	// structure that is cubic, and the evaluation budget stops it.
	start := time.Now()
	_, err = MustCompile("Patient.repeat(extension).count()").Evaluate(r)
	var ee *EvalError
	if err != nil && !errors.As(err, &ee) {
		t.Errorf("repeat: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("repeat took %v", d)
	}
	// a huge collection is refused, not exhausting memory
	var b strings.Builder
	b.WriteString(`{"resourceType":"Patient","name":[`)
	for i := range 20000 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"given":["a%d","b","c"]}`, i)
	}
	b.WriteString("]}")
	r, _ = Decode([]byte(b.String()))
	if got, err := MustCompile("Patient.name.given.count()").Evaluate(r); err != nil || render(got) != "60000" {
		t.Errorf("count = %v, %v", render(got), err)
	}
	if got, err := MustCompile("Patient.name.given.distinct().count()").Evaluate(r); err != nil || render(got) != "20002" {
		t.Errorf("distinct count = %v, %v", render(got), err)
	}
	if _, err := MustCompile("Patient.name.distinct().count()").Evaluate(r); err == nil {
		t.Errorf("quadratic distinct over 20000 complex items was not bounded")
	}
	if _, err := MustCompile("Patient.name.select(%resource.name.given).count()").Evaluate(r); err == nil {
		t.Errorf("cross product was not bounded")
	}
	// wrong JSON shapes where objects or arrays are expected
	for _, doc := range []string{`{"resourceType":"Patient","name":"x"}`, `{"resourceType":"Patient","name":[1,true,null,[]]}`,
		`{"resourceType":"Observation","valueQuantity":"x","valueString":5}`, `[1,2]`, `"x"`, `{"resourceType":5}`, `null`} {
		r, err := Decode([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		for _, expr := range []string{"Patient.name.given", "Observation.value as Quantity", "descendants()", "name.family = 'x'", "Observation.value.value > 1"} {
			MustCompile(expr).Evaluate(r) // must not panic
		}
	}
}

func TestElementTypes(t *testing.T) {
	for path, want := range map[string]string{
		"Observation.value":              "Quantity,CodeableConcept,string,boolean,integer,Range,Ratio,SampledData,time,dateTime,Period",
		"Observation.value[x]":           "Quantity,CodeableConcept,string,boolean,integer,Range,Ratio,SampledData,time,dateTime,Period",
		"Patient.name":                   "HumanName",
		"Patient.name.family":            "string",
		"Patient.contact":                "BackboneElement",
		"Patient.contact.name":           "HumanName",
		"Patient.id":                     "id",
		"Patient.meta.lastUpdated":       "instant",
		"Questionnaire.item.item.linkId": "string",
		"Extension.url":                  "uri",
		"Bundle.entry.resource":          "Resource",
		"Patient.nosuch":                 "",
		"Nosuch.name":                    "",
	} {
		if got := strings.Join(ElementTypes(path), ","); got != want {
			t.Errorf("ElementTypes(%s) = %s, want %s", path, got, want)
		}
	}
	if !IsChoiceElement("Observation.effective") || IsChoiceElement("Observation.status") {
		t.Error("IsChoiceElement")
	}
	if !IsResourceType("Patient") || !IsResourceType("DomainResource") || IsResourceType("HumanName") || IsResourceType("Nope") {
		t.Error("IsResourceType")
	}
	if !IsPrimitiveType("date") || IsPrimitiveType("Period") {
		t.Error("IsPrimitiveType")
	}
	if BaseType("Age") != "Quantity" || BaseType("code") != "string" || BaseType("Patient") != "DomainResource" {
		t.Error("BaseType")
	}
}

func TestMoreSemantics(t *testing.T) {
	r, _ := Decode([]byte(`{"resourceType":"Observation","valueQuantity":{"value":1.50,"code":"mg"},"effectiveDateTime":"2020-02-03T10:00:00+09:00",
		"component":[{"valueQuantity":{"value":100000000000000000000.000000000000000001}},{"valueInteger":3}]}`))
	runCases(t, r, []evalCase{
		{"Observation.value.value = 1.5", "true"},
		{"Observation.value.value.toString()", "1.50"},
		{"Observation.value > 1.4 'mg'", "true"},
		{"Observation.value < 1 'g'", ""}, // no UCUM conversion
		{"3 days = 3 'd'", "true"},
		{"Observation.effective = @2020-02-03T01:00:00Z", "true"},
		{"Observation.effective > @2020-02-03", ""},
		{"Observation.effective > @2020-02-02", "true"},
		{"Observation.component.value.ofType(Quantity).value > 100000000000000000000", "true"},
		{"Observation.component.value.ofType(integer)", "3"},
		{"Observation.component.value.ofType(Integer) + 1", "4"},
		{"Observation.component[0].value is System.Quantity", "true"},
	})
	if _, err := Decode([]byte(`{} {}`)); err == nil {
		t.Error("Decode accepted trailing data")
	}
}

func TestConcurrentEvaluate(t *testing.T) {
	p := exampleNamed(t, "Patient-example.json")
	e := MustCompile("Patient.name.where(given.first().matches('^J')).family | Patient.telecom.where(system = 'phone').value")
	want, err := e.Evaluate(p)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan string)
	for range 8 {
		go func() {
			for range 200 {
				got, err := e.Evaluate(p)
				if err != nil || render(got) != render(want) {
					done <- fmt.Sprint(render(got), err)
					return
				}
			}
			done <- ""
		}()
	}
	for range 8 {
		if msg := <-done; msg != "" {
			t.Error(msg)
		}
	}
}

func TestVariables(t *testing.T) {
	p := exampleNamed(t, "Patient-example.json")
	obs := exampleNamed(t, "Observation-example.json")
	runCases(t, obs, []evalCase{
		{"%patient.name.family", "Chalmers,Windsor"},
		{"%patient is Patient", "true"},
		{"%patient.birthDate is date", "true"},
		{"%typed.value", "185"},
		{"%typed is Quantity", "true"},
		{"Observation.subject.reference = 'Patient/' + %patient.id", "true"},
	}, WithVariable("patient", Collection{{Value: p}}),
		WithVariable("typed", Collection{{Value: obs.(map[string]any)["valueQuantity"], Type: "Quantity"}}))
}

// TestImports keeps the package free of infrastructure: the standard library and fhir only.
func TestImports(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		if first, _, _ := strings.Cut(imp, "/"); strings.Contains(first, ".") && imp != "github.com/kodomohub/kodomohub/fhir" {
			t.Errorf("fhirpath imports %s", imp)
		}
	}
}
