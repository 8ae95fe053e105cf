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

// Package conformance checks resources against the official FHIR R4 (4.0.1) definitions
// and describes the server in a CapabilityStatement.
//
// # Validation
//
// Validator.Validate (or the package-level Validate, which uses Default) checks every write
// against the base StructureDefinition of its resourceType, compiled into the binary:
//
//   - the body is one JSON object with a known, concrete resourceType;
//   - no unknown elements anywhere: in backbone elements, in data types, in elements
//     defined by contentReference (Questionnaire.item.item), in primitive extensions;
//   - cardinality: required elements are present, an element with max 1 is not an array,
//     a repeating element is an array, no element whose max is 0 (SimpleQuantity.comparator);
//   - primitive formats: boolean, integer, positiveInt, unsignedInt (JSON numbers in 32-bit
//     range), decimal (any JSON number, never a string), id, code (no leading, trailing or
//     repeated whitespace), uri/url/canonical (no whitespace), oid, uuid, base64Binary,
//     date, dateTime (a time needs a zone), instant, time (with calendar-valid days),
//     string/markdown/xhtml (non-empty, not only whitespace, at most 1 MiB characters);
//   - no control characters: no string-based primitive (string, code, id, uri, markdown,
//     xhtml, base64Binary…, element ids and extension urls included) and no property name
//     holds a character below U+0020 other than TAB, LF and CR (R4 string: [ \r\n\t\S]+).
//     JSON refuses them raw and lets them through escaped ("\u0000"); the issue (value, or
//     structure for a property name, reported at its object) says which character is at
//     which position, counting characters from 0. DEL (U+007F) is allowed, as in R4;
//   - choice elements (value[x]): at most one of valueString, valueQuantity…, and only the
//     types the definition allows;
//   - required bindings: a code must be in the value set; a CodeableConcept must have at
//     least one coding (system and code) from it;
//   - primitive extensions (_birthDate, _given): an object, or an array aligned with the
//     values, where null marks a missing value or extension;
//   - extensions and modifierExtensions: url is required, and an extension has either one
//     value[x] or nested extensions, not both (ext-1);
//   - contained resources, Bundle.entry.resource and Parameters.parameter.resource are
//     validated as whole resources of their own resourceType;
//   - no empty objects, arrays or strings, no null outside primitive-extension alignment,
//     no duplicate property names at any depth;
//   - reference target types: a literal reference (relative "Patient/1", absolute, or
//     conditional "Patient?identifier=…") names a resource type among the element's
//     targetProfiles (Observation.subject: Patient, Group, Device or Location), issue code
//     value at Element.reference. Contained (#id) and urn: references, whose type the value
//     does not tell, and elements that allow any resource are not checked; whether the
//     referenced resource exists is the store's concern (referential integrity).
//
// FHIRPath invariants (the constraint elements of the definitions, other than ext-1 above)
// are not evaluated; nor are profiles (meta.profile, targetProfiles that are not base
// resource types), extension definitions, or bindings other than required. The value sets that cannot be expanded from
// the R4 package are not checked: mimetypes (BCP-13), currencies (ISO 4217), ucum-units
// and the LOINC answer list LL379-9 (see Validator.UncheckedValueSets).
//
// Issues are collected, up to MaxIssues, and returned as a *fhir.Error of kind unprocessable (422):
// code structure (unknown or malformed elements), required (missing elements), value
// (primitive formats) or code-invalid (bindings), each with an expression such as
// "Patient.name[0].given[1]" (choice elements use their JSON name: "Observation.valueQuantity").
// A body that is not JSON at all is of kind invalid (400).
//
// # The compiled definitions
//
// r4defs.json.gz (about 60 KB) is generated from the hl7.fhir.core 4.0.1 package by
// internal/gen, from a checkout that has ../shared next to the repository:
//
//	cd conformance && go generate
//
// which runs
//
//	go run ./internal/gen -core ../../shared/fhir-r4/core -out r4defs.json.gz
//
// It holds the snapshot elements (path, cardinality, types, contentReference, required
// binding) of every primitive type, complex type and resource, plus SimpleQuantity, and the
// codes of every value set with a required binding, expanded from the package's CodeSystems
// (whole systems with nested concepts, concept lists, imported value sets, excludes).
// Nothing under ../shared is read at run time or by tests.
//
// # Examples for tests
//
// testdata/examples/examples.tar.gz is a gzipped tar of the 718 resources of
// hl7.fhir.r4.examples 4.0.1, named Type-id.json. Other packages' tests read them with
// conformancetest.Examples(t), which returns a map from file name to JSON. A few of them are
// not valid R4 (required elements missing, reference targets not allowed):
// conformancetest.SkipExamples is the one list of the examples tests skip, each with its reason.
//
// # CapabilityStatement
//
// CapabilityStatement builds the statement from a ServerSpec and checks it with the
// validator before returning it.
package conformance

//go:generate go run ./internal/gen -core ../../shared/fhir-r4/core -out r4defs.json.gz
