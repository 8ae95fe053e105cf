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

// Package mapping turns a source's records (package adapters) into FHIR resources, by
// declarative specs: YAML files, one per source, built in (embedded in the binary) or given
// by a town. A spec is checked when it loads, and every problem is listed with its file and
// line (SpecError).
//
// # The spec format
//
//	source: checkup                 # the source's name, as the import command names it
//	title: 乳幼児健診 (S4)
//	format: csv                     # the decoder: csv, fixedwidth, xlsx, hl7v2, pmh, fhir
//	columns:                        # the fields the spec reads, by the name templates use
//	  宛名番号: {required: true, aliases: [識別番号]}   # other header spellings accepted
//	  身長:                                            # optional
//	codes:                          # code maps: source value → code
//	  judgement: {異常なし: healthy, 要観察: observe}
//	resources:                      # what one record yields, in order
//	  - name: visit                 # unique; @visit is its reference (Encounter/<id>)
//	    type: Encounter
//	    key: "{宛名番号}|{受診日}"     # the natural key: the id is derived from it (ID), so a
//	                                # record imported again updates what it wrote before
//	    when: "{受診日}"              # optional: the resource only when this is not empty
//	    each: [精神発達, 言語]         # optional: one resource per listed column with a value
//	    body:                       # the resource without resourceType and id
//	      subject: {reference: "Patient?identifier=urn:kodomohub:{$lg}:resident-id|{宛名番号}"}
//	      period: {start: "{=date(受診日)}"}
//
// String values of a body are templates (template.go): text with {column}, {$variable},
// {@resource} and {=function(…)}. An empty value removes its element, so optional columns
// need no conditions; a function's error rejects the whole record with a problem naming the
// column, its value and the reason (records are imported whole or not at all). Unquoted
// numbers and booleans of the YAML stay numbers and booleans.
//
// Every resource gets meta.source urn:kodomohub:source:{source} (SourceURI) unless its body
// sets meta. References to the resources of other sources are conditional references on
// the town's identifiers (Patient?identifier=…): the write path resolves them, and a record
// whose person is unknown to the town is refused, never matched by name.
//
// Header names are matched without surrounding spaces and with full-width and half-width
// forms folded (Bind); a header the spec does not read is a warning, a required column no
// header gives an error.
package mapping
