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
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Resource is one stored version of a resource. Raw is the JSON as written (compacted), with
// id and meta.versionId/meta.lastUpdated stamped by the hub; it is nil for a delete.
type Resource struct {
	Type        string
	ID          string
	Version     int64
	LastUpdated time.Time
	Deleted     bool
	Raw         json.RawMessage
}

// VersionID is the version as FHIR writes it in meta.versionId.
func (r *Resource) VersionID() string { return strconv.FormatInt(r.Version, 10) }

// ETag is the weak entity tag for the version: W/"3".
func (r *Resource) ETag() string { return ETag(r.Version) }

// ETag formats a version as a weak entity tag.
func ETag(version int64) string { return `W/"` + strconv.FormatInt(version, 10) + `"` }

// ParseETag reads a version from an If-Match value: W/"3", "3" or 3.
func ParseETag(s string) (int64, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "W/")
	s = strings.Trim(s, `"`)
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 1 {
		return 0, Errorf(KindInvalid, IssueInvalid, "invalid version in ETag %q", s)
	}
	return v, nil
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)

// ValidID reports whether id follows the FHIR id rule: 1–64 of [A-Za-z0-9-.].
func ValidID(id string) bool { return idPattern.MatchString(id) }

// ControlChar returns the position, in characters from 0, and the value of the first
// character of s that no FHIR string-based value may contain (R4 string: [ \r\n\t\S]+;
// "SHALL NOT contain Unicode character points below 32, except for u0009, u0010 and
// u0013"): U+0000–U+001F other than TAB, LF and CR. It returns -1 when there is none. JSON
// refuses these characters raw but lets them through escaped ("\u0000").
func ControlChar(s string) (pos int, c rune) {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < 0x20 && b != '\t' && b != '\n' && b != '\r' {
			return utf8.RuneCountInString(s[:i]), rune(b)
		}
	}
	return -1, 0
}

// IsResourceType reports whether typ is a concrete R4 resource type.
func IsResourceType(typ string) bool {
	_, ok := slices.BinarySearch(ResourceTypes, typ)
	return ok
}

// FormatInstant writes t the way the hub stamps meta.lastUpdated: UTC, millisecond precision.
func FormatInstant(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// Head holds the top-level elements of a resource that the hub reads before storing it.
type Head struct {
	ResourceType string
	ID           string
	HasID        bool
}

// Limits bound what the decoder accepts from a client.
type Limits struct {
	// MaxDepth is the deepest allowed nesting of JSON objects and arrays.
	MaxDepth int
}

// DefaultLimits are used when a caller passes zero Limits.
var DefaultLimits = Limits{MaxDepth: 64}

// Parse checks that raw is one well-formed JSON object within the limits and returns its head.
// The errors are *Error of kind invalid (too-costly for nesting too deep).
func Parse(raw []byte, lim Limits) (Head, error) {
	var h Head
	if lim.MaxDepth == 0 {
		lim = DefaultLimits
	}
	if err := checkJSON(raw, lim.MaxDepth); err != nil {
		return h, err
	}
	fields, err := splitValid(raw)
	if err != nil {
		return h, err
	}
	for _, f := range fields {
		switch f.key {
		case "resourceType":
			if err := json.Unmarshal(f.value, &h.ResourceType); err != nil {
				return h, ErrorAt(KindInvalid, IssueStructure, "resourceType", "resourceType must be a string")
			}
		case "id":
			h.HasID = true
			if err := json.Unmarshal(f.value, &h.ID); err != nil {
				return h, ErrorAt(KindInvalid, IssueStructure, "id", "id must be a string")
			}
		}
	}
	if h.ResourceType == "" {
		return h, Errorf(KindInvalid, IssueRequired, "the resource has no resourceType")
	}
	if !IsResourceType(h.ResourceType) {
		return h, ErrorAt(KindInvalid, IssueNotSupported, "resourceType", "unknown resource type %q", h.ResourceType)
	}
	if pos, c := ControlChar(h.ID); h.HasID && pos >= 0 {
		return h, ErrorAt(KindInvalid, IssueValue, h.ResourceType+".id",
			"id %q: control character %U at position %d (counting characters from 0)", h.ID, c, pos)
	}
	if h.HasID && !ValidID(h.ID) {
		return h, ErrorAt(KindInvalid, IssueValue, h.ResourceType+".id", "id %q does not match [A-Za-z0-9-.]{1,64}", h.ID)
	}
	return h, nil
}

// checkJSON verifies syntax, UTF-8, that the top level is an object and the nesting depth.
func checkJSON(raw []byte, maxDepth int) error {
	if !json.Valid(raw) {
		var v any
		err := json.Unmarshal(raw, &v)
		return Wrap(err, KindInvalid, IssueStructure, "the body is not valid JSON: %v", err)
	}
	if !utf8.Valid(raw) {
		return Errorf(KindInvalid, IssueStructure, "the body is not valid UTF-8: FHIR JSON is UTF-8")
	}
	depth, inString, escaped := 0, false, false
	first := true
	for _, c := range raw {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > maxDepth {
				return Errorf(KindTooCostly, IssueTooCostly, "JSON nesting deeper than %d levels", maxDepth)
			}
		case '}', ']':
			depth--
		}
		if first && c != '{' {
			return Errorf(KindInvalid, IssueStructure, "a resource must be a JSON object")
		}
		first = false
	}
	return nil
}

type field struct {
	key   string
	value json.RawMessage
}

// splitObject returns the top-level members of a JSON object in document order.
// Duplicate member names are an error: FHIR JSON forbids them.
func splitObject(raw []byte) ([]field, error) {
	if !json.Valid(raw) {
		var v any
		err := json.Unmarshal(raw, &v)
		return nil, Wrap(err, KindInvalid, IssueStructure, "the body is not valid JSON: %v", err)
	}
	return splitValid(raw)
}

// splitValid is splitObject for input known to be valid JSON: one pass over the bytes,
// values kept as they are.
func splitValid(raw []byte) ([]field, error) {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return nil, Errorf(KindInvalid, IssueStructure, "a resource must be a JSON object")
	}
	i = skipSpace(raw, i+1)
	fields := make([]field, 0, 16)
	for i < len(raw) && raw[i] != '}' {
		end, escaped := scanString(raw, i)
		key := string(raw[i+1 : end-1])
		if escaped {
			if err := json.Unmarshal(raw[i:end], &key); err != nil {
				return nil, Wrap(err, KindInvalid, IssueStructure, "invalid property name")
			}
		}
		for _, f := range fields {
			if f.key == key {
				return nil, ErrorAt(KindInvalid, IssueStructure, key, "duplicate JSON property %q", key)
			}
		}
		i = skipSpace(raw, end) + 1 // the colon
		i = skipSpace(raw, i)
		vend := skipValue(raw, i)
		fields = append(fields, field{key, raw[i:vend:vend]})
		i = skipSpace(raw, vend)
		if i < len(raw) && raw[i] == ',' {
			i = skipSpace(raw, i+1)
		}
	}
	return fields, nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// scanString returns the index after the string literal starting at b[i] (a quote) and
// whether it needs decoding (escapes, or bytes beyond ASCII that encoding/json checks).
func scanString(b []byte, i int) (end int, escaped bool) {
	for i++; i < len(b); i++ {
		if b[i] >= 0x80 {
			escaped = true
		}
		switch b[i] {
		case '\\':
			escaped = true
			i++
		case '"':
			return i + 1, escaped
		}
	}
	return len(b), escaped
}

// skipValue returns the index after the JSON value starting at b[i].
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		end, _ := scanString(b, i)
		return end
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i, _ = scanString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return len(b)
	}
	for i < len(b) {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return i
}

func joinObject(fields []field) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(f.key)
		b.Write(k)
		b.WriteByte(':')
		b.Write(f.value)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// Stamp returns raw, compacted, with id, meta.versionId and meta.lastUpdated set; every
// other element keeps its value and its place. resourceType, id and meta lead the object.
func Stamp(raw []byte, id string, version int64, lastUpdated time.Time) ([]byte, error) {
	fields, err := splitObject(raw)
	if err != nil {
		return nil, err
	}
	var meta []field
	rest := make([]field, 0, len(fields))
	var rt json.RawMessage
	for _, f := range fields {
		switch f.key {
		case "resourceType":
			rt = f.value
		case "id":
		case "meta":
			if meta, err = splitObject(f.value); err != nil {
				return nil, ErrorAt(KindInvalid, IssueStructure, "meta", "meta must be an object")
			}
		default:
			rest = append(rest, f)
		}
	}
	vid, _ := json.Marshal(strconv.FormatInt(version, 10))
	lu, _ := json.Marshal(FormatInstant(lastUpdated))
	newMeta := []field{{"versionId", vid}, {"lastUpdated", lu}}
	for _, f := range meta {
		if f.key != "versionId" && f.key != "lastUpdated" {
			newMeta = append(newMeta, f)
		}
	}
	idJSON, _ := json.Marshal(id)
	out := append([]field{{"resourceType", rt}, {"id", idJSON}, {"meta", joinObject(newMeta)}}, rest...)
	var b bytes.Buffer
	if err := json.Compact(&b, joinObject(out)); err != nil {
		return nil, fmt.Errorf("fhir: stamp: %w", err)
	}
	return b.Bytes(), nil
}

// Element returns the raw value of a top-level element, or nil.
func Element(raw []byte, name string) json.RawMessage {
	fields, err := splitObject(raw)
	if err != nil {
		return nil
	}
	for _, f := range fields {
		if f.key == name {
			return f.value
		}
	}
	return nil
}

// WithoutElements returns raw without the named top-level elements (document order kept).
func WithoutElements(raw []byte, names ...string) ([]byte, error) {
	fields, err := splitObject(raw)
	if err != nil {
		return nil, err
	}
	fields = slices.DeleteFunc(fields, func(f field) bool { return slices.Contains(names, f.key) })
	return joinObject(fields), nil
}

// AddTag returns raw with a meta.tag coding added (unless one with the same system and code
// is there already). Element order is kept; meta is created when absent.
func AddTag(raw []byte, system, code, display string) ([]byte, error) {
	fields, err := splitObject(raw)
	if err != nil {
		return nil, err
	}
	type coding struct {
		System  string `json:"system,omitempty"`
		Code    string `json:"code,omitempty"`
		Display string `json:"display,omitempty"`
	}
	tag, _ := json.Marshal(coding{system, code, display})
	at := -1
	for i, f := range fields {
		if f.key == "meta" {
			at = i
		}
	}
	if at < 0 {
		meta, _ := json.Marshal(map[string][]json.RawMessage{"tag": {tag}})
		pos := 0
		for i, f := range fields {
			if f.key == "resourceType" || f.key == "id" {
				pos = i + 1
			}
		}
		fields = slices.Insert(fields, pos, field{"meta", meta})
		return joinObject(fields), nil
	}
	meta, err := splitObject(fields[at].value)
	if err != nil {
		return nil, ErrorAt(KindInvalid, IssueStructure, "meta", "meta must be an object")
	}
	found := false
	for i, f := range meta {
		if f.key != "tag" {
			continue
		}
		found = true
		var tags []coding
		if err := json.Unmarshal(f.value, &tags); err != nil {
			return nil, ErrorAt(KindInvalid, IssueStructure, "meta.tag", "meta.tag must be an array of Coding")
		}
		if slices.ContainsFunc(tags, func(c coding) bool { return c.System == system && c.Code == code }) {
			return raw, nil
		}
		var list []json.RawMessage
		_ = json.Unmarshal(f.value, &list)
		list = append(list, tag)
		meta[i].value, _ = json.Marshal(list)
	}
	if !found {
		list, _ := json.Marshal([]json.RawMessage{tag})
		meta = append(meta, field{"tag", list})
	}
	fields[at].value = joinObject(meta)
	return joinObject(fields), nil
}

// Keys returns the top-level element names of raw in document order.
func Keys(raw []byte) ([]string, error) {
	fields, err := splitObject(raw)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i] = f.key
	}
	return out, nil
}
