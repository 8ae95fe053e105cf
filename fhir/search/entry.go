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

package search

import "math"

// Type is a search parameter type.
type Type uint8

// The search parameter types. Composite entries carry their components in Entry.Parts;
// Special parameters (Location near, _filter) are listed in the registry but never indexed.
const (
	String Type = iota + 1
	Token
	Reference
	Date
	Number
	Quantity
	URI
	Composite
	Special
)

var typeNames = [...]string{"", "string", "token", "reference", "date", "number", "quantity", "uri", "composite", "special"}

func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "unknown"
}

// ParseType returns the Type named s ("token"), or 0.
func ParseType(s string) Type {
	for i, n := range typeNames {
		if i > 0 && n == s {
			return Type(i)
		}
	}
	return 0
}

// Kind says which facet of a value an Entry indexes. Most entries are KindValue; the others
// exist so that modifiers can be answered from the index alone. A store keys its index rows
// by (Code, Kind) and must keep entries of different kinds apart: a KindIdentifier entry
// never answers a plain reference search, for example.
type Kind uint8

const (
	// KindValue is the value itself, as described for each Type on Entry.
	KindValue Kind = iota
	// KindIdentifier is the identifier of a Reference (Reference.identifier), for the
	// :identifier modifier: System is the identifier system, Value its value.
	KindIdentifier
	// KindOfType is an Identifier with a type, for the :of-type modifier of token
	// parameters: System and Value are one coding of Identifier.type, Text is
	// Identifier.value (exact).
	KindOfType
	// KindURL is an absolute reference or a canonical for a reference parameter: Value is
	// the URL without a |version suffix, System is empty. A reference search whose value is
	// an absolute URL matches these entries.
	KindURL
)

// Open ends of a date range: a Period without start has Low MinTime, one without end has
// High MaxTime.
const (
	MinTime int64 = math.MinInt64
	MaxTime int64 = math.MaxInt64
)

// Entry is one value of one search parameter of one resource version. Which fields are
// set depends on Type and Kind:
//
//	String     Value = Normalize(s); Text = s as written (for :exact).
//	Token      System|Value = system|code (code case-sensitive, as written); Text =
//	           Normalize(display or CodeableConcept.text) for :text. A CodeableConcept.text
//	           without a coding gives an entry with empty System and Value.
//	Reference  System = target type, Value = id of a local reference ("Patient/1" →
//	           Patient, 1); KindURL for absolute URLs and canonicals; KindIdentifier for
//	           Reference.identifier; a Reference with only a type gives System = type,
//	           Value = "" (so the parameter is not :missing).
//	Date       [Low, High) in Unix milliseconds; open ends are MinTime / MaxTime.
//	Number     Num = the value; Text = the decimal as written ("100.0").
//	Quantity   Num = value; System = unit system; Value = unit code; Text = unit (human).
//	URI        Value = the uri as written (case-sensitive).
//	Composite  Parts = one entry per component, in component order, each typed as its
//	           component parameter (Code of a part is the component parameter's code).
//
// Only Date uses Low and High: a number's precision comes from the search value (query.go).
type Entry struct {
	// Code is the search parameter code, e.g. "birthdate".
	Code string
	Type Type
	// Kind is the facet indexed; KindValue for most entries.
	Kind Kind
	// System is the token or quantity system, or the target type of a reference.
	System string
	// Value is the normalised string, the code, the reference id, the uri, or the quantity unit code.
	Value string
	// Text is the original string (String), normalised display (Token), identifier value
	// (KindOfType), unit (Quantity) or decimal text (Number).
	Text string
	// Low and High bound a date as [Low, High) in Unix milliseconds.
	Low, High int64
	// Num is the value of a number or quantity.
	Num float64
	// Parts are the components of a Composite entry.
	Parts []Entry
}
