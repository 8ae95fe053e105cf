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

// This file defines the parsed form of a FHIR search (Query) and, in its comments, the
// exact match semantics that every store (store/sqlite, store/mongo) and the brute-force
// oracle (Registry.Match) implement. Where the R4 specification leaves a choice, the
// choice made here is the contract.
//
// # Structure
//
// A Query is the conjunction of its Clauses (repeated parameters: AND). A Clause is the
// disjunction of its Values (comma-separated: OR), unless it is a chain, a _has or a
// :missing test. A resource matches a clause when at least one of its index entries for
// the clause's parameter (as Registry.Extract produces them) matches at least one value.
// Only entries of the clause's Param.Code take part, and only those of the Kind the
// modifier names (KindValue unless said otherwise).
//
// # String (Param.Type String; entries: Value = Normalize(s), Text = s)
//
//	(none)     strings.HasPrefix(e.Value, v.String)     v.String = Normalize(value)
//	:contains  strings.Contains(e.Value, v.String)
//	:exact     e.Text == v.Raw (byte equality: case, accents, width and kana all matter)
//
// Normalize makes the default and :contains searches insensitive to case, accents,
// width, hiragana/katakana and white space (see Normalize). A normalised search value
// that is empty (the value was only spaces) matches every entry.
//
// # Token (entries: System|Value = system|code, Text = Normalize(display/text))
//
// A value is "code", "system|code", "|code" (no system) or "system|" (any code of the
// system). v.HasSystem is set when a "|" was written; v.System is then the system ("" for
// "|code").
//
//	(none)          (!v.HasSystem || e.System == v.System) && (v.Code == "" || e.Value == v.Code)
//	                && e.Value != ""   ("system|" needs a code; text-only entries never match)
//	:not            the clause matches when NO entry matches any value as in (none); a
//	                resource without entries for the parameter matches.
//	:text           strings.HasPrefix(e.Text, v.String), v.String = Normalize(value)
//	:of-type        value "system|code|identifier"; entries of KindOfType:
//	                e.System == v.System && e.Value == v.Code && e.Text == v.Ident
//	:above, :below  without a terminology server a code subsumes only itself: as (none).
//
// Codes and systems compare case-sensitively, as written.
//
// # Reference (entries: System = type, Value = id; KindURL; KindIdentifier)
//
// A value is "id", "Type/id", "Type/id/_history/n" (the version is ignored), an absolute
// URL, or a canonical "url|version" (the version is ignored). An absolute URL that starts
// with ParseOptions.BaseURL is taken as the relative reference after it.
//
//	relative         e.Kind == KindValue && e.Value == v.RefID &&
//	                 (v.RefType == "" || e.System == v.RefType) && (c.TargetType == "" || e.System == c.TargetType)
//	absolute URL     e.Kind == KindURL && e.Value == v.RefURL
//	:[type]          c.TargetType = type, as above; "Type/id" values must name that type
//	:identifier      entries of KindIdentifier, token semantics (system|value)
//	:above, :below   (canonicals) e.Kind == KindURL and e.Value is a prefix of v.RefURL
//	                 (:above) or v.RefURL is a prefix of e.Value (:below)
//
// Chained parameters ("subject:Patient.name=x", Clause.Chain): the resource matches when
// one of its KindValue entries e of c.Param with e.System == c.TargetType names a resource
// of that type and id that exists and matches c.Chain (recursively; chains nest). When the
// reference parameter has several target types, ParseQuery requires the type.
//
// Reverse chains ("_has:Observation:subject:code=x", Clause.Has): the resource R of type T
// and id I matches when some resource X of type Has.Type has a KindValue entry of
// Has.Param with System == T and Value == I, and X matches Has.Clause (which may itself
// be a chain or another _has).
//
// # Date (entries: [e.Low, e.High) in Unix ms; open ends MinTime/MaxTime)
//
// A value is [prefix]date, with date a FHIR date/dateTime/instant at any precision
// (DateRange, zone-less values in the registry's Location); its range is [v.Low, v.High).
//
//	eq (default)  v.Low <= e.Low && e.High <= v.High         (search range contains entry)
//	ne            !(eq)
//	gt            e.High > v.High                            (entry reaches after the range)
//	lt            e.Low < v.Low                              (entry starts before the range)
//	ge            gt || eq
//	le            lt || eq
//	sa            e.Low >= v.High                            (starts after)
//	eb            e.High <= v.Low                            (ends before)
//	ap            e.Low < v.High && e.High > v.Low, where ParseQuery already widened
//	              [v.Low, v.High) on each side by 10% of the distance between the value
//	              and ParseOptions.Now (at least one day)
//
// ne is evaluated per entry like every prefix: a resource with one entry in the range
// and one outside matches ne. Use :not-style logic in the client if that is not wanted.
//
// # Number (entries: e.Num; e.Text the decimal as written)
//
// The search value's precision defines its range (R4 3.1.1.4.2): "100" is [99.5, 100.5),
// "100.00" is [99.995, 100.005), "1e2" is [50, 150). v.Num is the value, [v.NumLow,
// v.NumHigh) the range.
//
//	eq (default)  v.NumLow <= e.Num && e.Num < v.NumHigh
//	ne            !(eq)
//	gt, sa        e.Num > v.Num
//	lt, eb        e.Num < v.Num
//	ge            e.Num >= v.Num
//	le            e.Num <= v.Num
//	ap            |e.Num - v.Num| <= 10% of |v.Num| (or within [v.NumLow, v.NumHigh))
//
// # Quantity (entries: e.Num, System = unit system, Value = unit code, Text = unit)
//
// A value is [prefix]number|system|code, [prefix]number||code or [prefix]number. The
// number compares as for Number; in addition
//
//	v.HasSystem   e.System == v.System && e.Value == v.Code
//	code only     e.Value == v.Code || e.Text == v.Code   (code or human unit)
//	number only   any unit
//
// There is no unit conversion (mg does not match g).
//
// # URI (entries: Value = uri)
//
//	(none)   e.Value == v.Raw
//	:above   strings.HasPrefix(v.Raw, e.Value)   (the entry is the value or an ancestor)
//	:below   strings.HasPrefix(e.Value, v.Raw)
//
// # Composite (entries: Type Composite, Parts = one entry per component)
//
// A value is "part$part…" with one part per component, each parsed by its component's
// type (prefixes allowed: "http://loinc.org|8480-6$gt100"). An entry matches when every
// part matches its value part by the rules above (no modifiers), so the parts of one entry
// come from the same element (one Observation, or one Observation.component).
//
// # :missing (every type)
//
// "p:missing=true" matches resources with no entry at all for p (of any Kind);
// "p:missing=false" matches resources with at least one.
//
// # Common parameters
//
// _id is a token (the id, no system), _lastUpdated a date (meta.lastUpdated), _tag and
// _security tokens (Coding), _profile and _source uris. They are ordinary clauses of their
// common Params (Param.Common).
//
// # Results
//
// Sort: for each SortKey in turn, ascending by the lowest entry value of the parameter
// (string: Value; token: Value; date: Low; number/quantity: Num; reference: System/Value;
// uri: Value), descending by the highest (date: High); resources without entries sort
// last in both directions; ties keep the store's own stable order (store/sqlite: the order
// in which resources were first written). _id and _lastUpdated sort by the id and
// meta.lastUpdated. Token entries without a code (a CodeableConcept with only text) take
// part with the empty string, so they sort first ascending.
//
// Count < 0: the server's default page size. Total, Summary, Elements, Include and
// RevInclude are handed to the store and the server as parsed; Cursor is opaque.

import "strings"

// Query is a parsed search. See the semantics at the top of this file.
type Query struct {
	// Type is the resource type searched, or "" for a system-level search.
	Type string
	// Types restricts a system-level search (_type); empty means every type.
	Types []string
	// Clauses are ANDed.
	Clauses []*Clause
	// Sort keys in order of precedence.
	Sort []SortKey
	// Count is the page size (_count); -1 when not given.
	Count int
	// Total is the _total mode; "" when not given.
	Total TotalMode
	// Summary is the _summary mode: "", "true", "count", "data", "text" or "false".
	Summary string
	// Elements lists the _elements names.
	Elements []string
	// Include and RevInclude are the _include and _revinclude directives, in order.
	Include, RevInclude []Include
	// Cursor is the server's opaque paging cursor (_cursor).
	Cursor string
	// Ignored lists the parameters ParseQuery ignored (ParseOptions.Lenient), as written,
	// sorted; the server leaves them out of the self link.
	Ignored []string
}

// Clause is one condition. Exactly one of Chain, Has, Values or the :missing test applies:
//
//   - Has != nil: reverse chain (_has); Param is nil.
//   - Chain != nil: Param is a reference parameter, TargetType the type it must point to,
//     and Chain the condition on that resource.
//   - Modifier == ModMissing: Missing says which way.
//   - otherwise: Values are ORed, with Modifier and TargetType as described for each type.
type Clause struct {
	// Key and Raw are the parameter name and value as written (Raw keeps the escapes),
	// from which SelfParams renders the self link. Chained and _has clauses carry the full
	// key ("subject:Patient.name"); their inner clauses carry the rest.
	Key, Raw string
	// Param is the parameter searched (for a chain, the reference parameter of this link).
	Param *Param
	// Modifier is the modifier written after ":" ("" for none; ModType for :[type]).
	Modifier Modifier
	// TargetType is the type of :[type] or of a chain link ("subject:Patient").
	TargetType string
	// Chain is the condition on the referenced resource of a chained parameter.
	Chain *Clause
	// Has is the reverse-chain condition of _has.
	Has *Has
	// Missing is the value of :missing.
	Missing bool
	// Values are ORed.
	Values []Value
}

// Has is a reverse chain: resources of Type whose reference parameter Param points to the
// searched resource and that match Clause.
type Has struct {
	Type   string
	Param  *Param
	Clause *Clause
}

// Value is one search value (one of the comma-separated alternatives), parsed for the
// parameter's type. Fields not used by the type are zero.
type Value struct {
	// Raw is the value as written, with escapes removed and without prefix
	// ("http://loinc.org|1234-5"; "2024-04" for "ge2024-04").
	Raw string
	// Prefix is the comparison of date, number and quantity values (Eq when none).
	Prefix Prefix
	// String is the normalised value of string searches and of token :text.
	String string
	// System and Code: token system|code, quantity unit system|code, :of-type type coding,
	// :identifier system|value. HasSystem is set when a "|" was written.
	System, Code string
	HasSystem    bool
	// Ident is the identifier value of a token :of-type search.
	Ident string
	// Low and High are the date range [Low, High) in Unix ms.
	Low, High int64
	// Num is the number or quantity value; [NumLow, NumHigh) its precision range.
	Num, NumLow, NumHigh float64
	// RefType and RefID are a relative reference ("Patient", "123"; RefType may be "").
	// RefURL is an absolute reference or canonical, without |version or _history.
	RefType, RefID, RefURL string
	// Parts are the component values of a composite search.
	Parts []Value
}

// SortKey is one _sort key.
type SortKey struct {
	Param *Param
	Desc  bool
}

// Include is one _include or _revinclude directive "Type:param[:target]".
type Include struct {
	// Type is the resource type whose reference parameter is followed: the source of the
	// references (for _include, the matched resources' type; for _revinclude, the type of
	// the resources to add).
	Type string
	// Param is the reference parameter; nil for "*" (every reference parameter of Type).
	Param *Param
	// Target restricts the referenced type ("" for any).
	Target string
	// Iterate is set for :iterate (also accepted: the R3 :recurse).
	Iterate bool
}

func (in Include) String() string {
	s := in.Type + ":"
	if in.Param == nil {
		s += "*"
	} else {
		s += in.Param.Code
	}
	if in.Target != "" {
		s += ":" + in.Target
	}
	return s
}

// TotalMode is the _total parameter.
type TotalMode string

// The _total modes.
const (
	TotalNone     TotalMode = "none"
	TotalEstimate TotalMode = "estimate"
	TotalAccurate TotalMode = "accurate"
)

// Prefix is a comparison prefix of date, number and quantity values.
type Prefix uint8

// The prefixes. Eq is the default.
const (
	Eq Prefix = iota
	Ne
	Gt
	Lt
	Ge
	Le
	Sa
	Eb
	Ap
)

var prefixNames = [...]string{"eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"}

func (p Prefix) String() string {
	if int(p) < len(prefixNames) {
		return prefixNames[p]
	}
	return "?"
}

// Modifier is a search parameter modifier.
type Modifier string

// The modifiers ParseQuery accepts (each for the types the semantics above list).
const (
	ModNone       Modifier = ""
	ModMissing    Modifier = "missing"
	ModExact      Modifier = "exact"
	ModContains   Modifier = "contains"
	ModText       Modifier = "text"
	ModNot        Modifier = "not"
	ModAbove      Modifier = "above"
	ModBelow      Modifier = "below"
	ModIdentifier Modifier = "identifier"
	ModOfType     Modifier = "of-type"
	// ModType is :[type] on a reference parameter; the type is in Clause.TargetType.
	ModType Modifier = "[type]"
)

// escape escapes the characters that separate values (",") and parts ("|", "$") and the
// backslash, the inverse of the unescaping ParseQuery does.
func escape(s string) string {
	if !strings.ContainsAny(s, `\,|$`) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if r == '\\' || r == ',' || r == '|' || r == '$' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
