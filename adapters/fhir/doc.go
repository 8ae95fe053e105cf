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

// Package fhirjson reads FHIR R4 JSON files that arrive as files: JP-CLINS bundles (電子カルテ
// 情報共有サービス, DOMAIN S7) and NDJSON (one resource a line, as FHIR bulk data writes it). It
// lives in adapters/fhir; its name is fhirjson so that the mapping and the importer, which
// also import the hub's own package fhir, need no alias, and because it is what it reads:
// FHIR JSON, kept raw.
//
// No typed models: a resource is its json.RawMessage, read with the hub's fhir.Parse (well-formed
// UTF-8 JSON, an object, nesting within Limits.MaxDepth, a known resourceType, a valid id).
// Validation against the R4 definitions happens on the write path, not here.
//
// # JP-CLINS bundles
//
// A JP-CLINS upload (jami-fhir-jp-wg/clinical-core, core6spec and the JP_Bundle_CLINS profile)
// is a Bundle of type collection holding one report unit (１報告単位) of one patient:
//
//   - Bundle.identifier, system http://jpfhir.jp/fhir/clins/bundle-identifier, value
//     institution^insured-person^local-id: the 10-digit medical institution number (保険医療
//     機関番号), the insured-person identifier (被保険者個人識別子: insurer number (8 letters or
//     digits) ":" symbol ":" number ":" branch (2 digits or empty), at most 51 characters) and
//     the hospital's id of the report ([A-Z0-9-]{1,128}). A resend with the same identifier
//     replaces the earlier upload: the importer uses it as the natural key of the upload.
//     R4 allows one identifier; the guide's older example writes an array, which is accepted
//     when one of its identifiers has that system.
//   - meta.tag with system http://jpfhir.jp/fhir/clins/CodeSystem/BundleResourceType_CS (the
//     profile) or http://jpfhir.jp/fhir/clins/BundleResourceType (the guide's text, and DOMAIN
//     S7) declares the one clinical type it carries: AllergyIntolerance, Condition, Observation
//     or MedicationRequest.
//   - entry[0] is the Patient, and it is the only Patient; at least one entry of the declared
//     type follows; every entry has a fullUrl, none twice.
//
// ReadBundle checks that shape and reports every problem at once, each a *adapters.RowError
// with the line where the element starts and its path (entry[3].resource.resourceType). An
// entry of another of the four clinical types mixes report units and is an error; an entry of
// any other type is not processed by JP-CLINS either (the guide: discarded, not an error), so
// it is dropped and listed in Bundle.Dropped as a warning.
//
// # NDJSON
//
// ReadNDJSON yields one Resource a line (blank lines skipped, a UTF-8 BOM and CRLF accepted);
// a bad line is a *adapters.RowError with its line number and the next line is read. A line
// longer than Limits.MaxBytes is refused without being held in memory.
package fhirjson
