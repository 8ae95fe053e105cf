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

// Package fhirpath provides a FHIRPath evaluator over FHIR R4 resources held as decoded
// JSON (map[string]any, []any, string, json.Number, bool), typed by a compact model of the
// R4 StructureDefinitions, for search index extraction, search oracles, validation
// invariants and rules.
//
// Compile an expression once and evaluate it many times, concurrently if need be:
//
//	e := fhirpath.MustCompile("(Observation.value as Quantity) | (Observation.value as SampledData)")
//	res, _ := fhirpath.Decode(raw)
//	items, err := e.Evaluate(res)
//	for _, it := range items {
//		_ = it.Type // "Quantity"; it.Value is the JSON object
//	}
//
// Every expression of the 1,384 R4 SearchParameter definitions that have one compiles and
// evaluates (testdata/searchparameters.json; the tests run each against the R4 examples).
//
// # Types
//
// Each result item carries its FHIR type: navigation follows the R4 type model, so
// Observation.value yields the item stored under valueQuantity typed Quantity,
// Patient.birthDate a "date", Patient.contact a "BackboneElement", and contained resources
// and Bundle.entry.resource are typed by their resourceType. Primitive extensions (the
// "_birthDate" siblings) are reachable from the primitive: Patient.birthDate.extension('…').
// The model is generated from the hl7.fhir.core 4.0.1 package by internal/gen and embedded
// as model.json.gz (about 25 kB); regenerate it from this directory with
//
//	go generate
//
// which runs go run ./internal/gen -core ../../../shared/fhir-r4/core and also refreshes
// testdata/searchparameters.json. ElementTypes, IsChoiceElement, IsResourceType,
// IsPrimitiveType and BaseType expose the model.
//
// is, as and ofType match FHIR primitive types exactly (a canonical is not a uri, a code
// not a string), complex types and resources with their subtypes (an Age is a Quantity,
// a Patient is a DomainResource), and the System types String, Boolean, Integer, Decimal,
// Date, DateTime, Time and Quantity (with or without "System.") by the FHIR types holding
// such values. as and the as() function filter a collection of any size.
//
// # resolve()
//
// resolve() never fetches. A "#id" reference resolves to the contained resource. Otherwise
// the resolver given WithResolver is asked; without one, or when it reports nothing,
// resolve() returns a content-less item (Value nil) typed by the reference's target type,
// taken from the reference (Patient/123, an absolute URL ending in Type/id, a canonical) or
// from Reference.type, so that where(resolve() is Patient) works.
//
// # Supported
//
// Paths, indexers, $this, $index, $total, %resource, %rootResource, %context, %ucum,
// %sct, %loinc and variables given WithVariable; literals (strings, integers, decimals,
// booleans, @date/@dateTime/@time, quantities such as 5 'mg' and 3 days, {}); operators
// | = != ~ !~ < > <= >= and or xor implies in contains is as + - * / div mod &, unary -;
// functions empty exists all allTrue anyTrue allFalse anyFalse subsetOf supersetOf count
// distinct isDistinct where select repeat aggregate ofType as is single first last tail skip
// take intersect exclude union combine iif not hasValue children descendants trace
// toString toInteger toDecimal toBoolean toDate toDateTime convertsToString
// convertsToInteger convertsToDecimal convertsToBoolean indexOf substring startsWith
// endsWith contains upper lower replace matches replaceMatches length trim toChars split
// join abs ceiling floor truncate round now today timeOfDay extension hasExtension resolve
// htmlChecks (always true).
//
// Numbers are compared and computed exactly (math/big.Rat), so 0.1 + 0.2 = 0.3 and long
// decimals keep their precision; / gives up to 8 decimal places when the quotient does not
// terminate. Dates, dateTimes and times compare field by field down to the coarser
// precision; when those fields are equal but the precisions differ the result is empty
// (@2012 = @2012-01-01 is {}). Values with a timezone are compared in UTC; a value without
// one is taken as UTC. Quantities compare and add only when their units (code, else unit)
// are the same; calendar words equal their UCUM codes (3 days = 3 'd').
//
// # Not supported
//
//   - terminology: memberOf, subsumes, subsumedBy (Compile reports them);
//   - conformsTo, elementDefinition, slice, checkModifiers, getValue, comparable;
//   - UCUM unit conversion (5 'mg' < 1 'g' is empty), and quantity * and /;
//   - the math functions exp, ln, log, power, sqrt; long (L) and Integer64 literals;
//   - type reflection (type()), define-variable, and the %vs-, %ext- constant forms;
//   - string literals as types of is/as (only identifiers), and the R5 additions.
//
// # Safety
//
// Compile limits the source to 64 KiB and the syntax tree to 200 levels, so evaluation
// recursion is bounded. Evaluate bounds every collection (1M items) and the total work
// (items produced, visited and compared); past either it returns an *EvalError instead of
// exhausting memory or time. Regular expressions are RE2 (linear time). A panic in
// evaluation is recovered and returned as an *EvalError.
package fhirpath
