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

package fhirjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/kodomohub/kodomohub/adapters"
)

// BundleIdentifierSystem is the system of a JP-CLINS Bundle.identifier.
const BundleIdentifierSystem = "http://jpfhir.jp/fhir/clins/bundle-identifier"

// The meta.tag systems that declare a JP-CLINS bundle's resource type: the profile's, and the
// implementation guide's older text (which DOMAIN S7 quotes).
const (
	ResourceTypeTagSystem       = "http://jpfhir.jp/fhir/clins/CodeSystem/BundleResourceType_CS"
	LegacyResourceTypeTagSystem = "http://jpfhir.jp/fhir/clins/BundleResourceType"
)

// clinicalTypes are the resource types a JP-CLINS bundle may declare.
var clinicalTypes = map[string]bool{"AllergyIntolerance": true, "Condition": true, "Observation": true, "MedicationRequest": true}

// BundleID is a JP-CLINS report-unit identifier (報告単位識別ID).
type BundleID struct {
	Institution   string // 保険医療機関番号, 10 digits
	InsuredPerson string // 被保険者個人識別子: insurer:symbol:number:branch
	LocalID       string // the hospital's id of the report unit
}

// String is the identifier's value: institution^insured-person^local-id. With
// BundleIdentifierSystem it is the upload's natural key.
func (id BundleID) String() string { return id.Institution + "^" + id.InsuredPerson + "^" + id.LocalID }

var (
	institutionPattern = regexp.MustCompile(`^[0-9]{10}$`)
	insurerPattern     = regexp.MustCompile(`^[0-9A-Za-z]{8}$`)
	branchPattern      = regexp.MustCompile(`^([0-9]{2})?$`)
	localIDPattern     = regexp.MustCompile(`^[A-Z0-9-]{1,128}$`)
)

// ParseBundleID splits and checks a JP-CLINS Bundle.identifier value.
func ParseBundleID(value string) (BundleID, error) {
	parts := strings.Split(value, "^")
	if len(parts) != 3 {
		return BundleID{}, fmt.Errorf("%d parts separated by ^, want 3 (institution^insured-person^local-id)", len(parts))
	}
	id := BundleID{parts[0], parts[1], parts[2]}
	if !institutionPattern.MatchString(id.Institution) {
		return id, fmt.Errorf("institution number %q: want 10 digits", id.Institution)
	}
	insured := strings.Split(id.InsuredPerson, ":")
	switch {
	case len(insured) != 4:
		return id, fmt.Errorf("insured-person identifier: %d parts separated by :, want 4 (insurer:symbol:number:branch)", len(insured))
	case !insurerPattern.MatchString(insured[0]):
		return id, fmt.Errorf("insured-person identifier: insurer number %q: want 8 letters or digits", insured[0])
	case insured[2] == "":
		return id, errors.New("insured-person identifier: no insured number")
	case !branchPattern.MatchString(insured[3]):
		return id, fmt.Errorf("insured-person identifier: branch %q: want 2 digits or nothing", insured[3])
	case utf8.RuneCountInString(id.InsuredPerson) > 51:
		return id, errors.New("insured-person identifier longer than 51 characters")
	case !localIDPattern.MatchString(id.LocalID):
		return id, fmt.Errorf("local id %q: want 1 to 128 capitals, digits or hyphens", id.LocalID)
	}
	return id, nil
}

// Bundle is a JP-CLINS bundle whose shape has been checked.
type Bundle struct {
	File         string
	Identifier   BundleID
	ResourceType string     // the clinical type declared in meta.tag
	Patient      Resource   // entry[0]
	Entries      []Resource // the entries of the declared type, in order
	// Dropped lists, as warnings, the entries of types that JP-CLINS does not process.
	Dropped []adapters.Problem
}

// ReadBundle reads a JP-CLINS bundle and checks its shape (see the package documentation).
// Every problem is a *adapters.RowError, all joined in the error; the bundle is nil then, as
// JP-CLINS takes or refuses a report unit whole. A file that cannot be read or is larger than
// lim.MaxBytes is another error.
func ReadBundle(name string, r io.Reader, lim Limits) (*Bundle, error) {
	lim = lim.withDefaults()
	data, err := io.ReadAll(io.LimitReader(r, int64(lim.MaxBytes)+1))
	if err != nil {
		return nil, fmt.Errorf("fhirjson: read %s: %w", name, err)
	}
	if len(data) > lim.MaxBytes {
		return nil, fmt.Errorf("fhirjson: %s is larger than %d bytes", name, lim.MaxBytes)
	}
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	head, err := parseResource(name, 1, data, lim)
	if err != nil {
		return nil, fhirProblem(name, 1, "", err)
	}
	c := bundleCheck{name: name, data: data, b: &Bundle{File: name}}
	if head.Type != "Bundle" {
		c.fail("", "resourceType", "a JP-CLINS upload is a Bundle, not %s", head.Type)
		return nil, c.err()
	}
	// Members are read by their exact names (encoding/json would also take "Entry" for entry).
	top, _ := object(data)
	var bundleType string
	if json.Unmarshal(top["type"], &bundleType); bundleType != "collection" {
		c.fail("type", "type", "type %q: a JP-CLINS bundle is a collection", bundleType)
	}
	c.identifier(top["identifier"])
	meta, _ := object(top["meta"])
	var tags []json.RawMessage
	json.Unmarshal(meta["tag"], &tags)
	for _, raw := range tags {
		tag, _ := object(raw)
		system, code := str(tag["system"]), str(tag["code"])
		if system != ResourceTypeTagSystem && system != LegacyResourceTypeTagSystem {
			continue
		}
		if c.b.ResourceType != "" {
			c.fail("meta", "meta.tag", "more than one resource type declared (%s, %s)", c.b.ResourceType, code)
		}
		c.b.ResourceType = code
	}
	switch {
	case c.b.ResourceType == "":
		c.fail("meta", "meta.tag", "no meta.tag with system %s declares the resource type", ResourceTypeTagSystem)
	case !clinicalTypes[c.b.ResourceType]:
		c.fail("meta", "meta.tag", "declared resource type %q: want AllergyIntolerance, Condition, Observation or MedicationRequest", c.b.ResourceType)
	}

	var entries []json.RawMessage
	if raw, ok := top["entry"]; ok && json.Unmarshal(raw, &entries) != nil {
		c.fail("entry", "entry", "entry is not an array")
	}
	lines := entryLines(data)
	fullURLs := map[string]int{}
	patients := 0
	for i, raw := range entries {
		path := fmt.Sprintf("entry[%d]", i)
		line := 1
		if i < len(lines) {
			line = lines[i]
		}
		e, ok := object(raw)
		if !ok {
			c.failAt(line, path, "an entry that is not an object")
			continue
		}
		fullURL := str(e["fullUrl"])
		switch prev, dup := fullURLs[fullURL]; {
		case fullURL == "":
			c.failAt(line, path+".fullUrl", "an entry without fullUrl")
		case dup:
			c.failAt(line, path+".fullUrl", "fullUrl %s is also entry[%d]'s", fullURL, prev)
		default:
			fullURLs[fullURL] = i
		}
		resource := e["resource"]
		if len(resource) == 0 || string(resource) == "null" {
			c.failAt(line, path+".resource", "an entry without resource")
			continue
		}
		res, err := parseResource(name, line, resource, lim)
		if err != nil {
			c.errs = append(c.errs, fhirProblem(name, line, path+".resource", err))
			continue
		}
		switch {
		case res.Type == "Patient":
			patients++
			if i != 0 {
				c.failAt(line, path+".resource.resourceType", "a Patient that is not entry[0]: the bundle has one Patient, first")
			} else {
				c.b.Patient = res
			}
		case i == 0:
			c.failAt(line, path+".resource.resourceType", "entry[0] has type %s: the first entry is the Patient", res.Type)
		case res.Type == c.b.ResourceType:
			c.b.Entries = append(c.b.Entries, res)
		case clinicalTypes[res.Type] && clinicalTypes[c.b.ResourceType]:
			c.failAt(line, path+".resource.resourceType", "an entry of type %s in a bundle declared %s: a report unit holds one type", res.Type, c.b.ResourceType)
		case clinicalTypes[res.Type]: // the declared type is missing or wrong, reported above
		default:
			c.b.Dropped = append(c.b.Dropped, adapters.Problem{File: name, Line: line, Column: path + ".resource.resourceType",
				Value: res.Type, Reason: "JP-CLINS does not process this type: entry dropped", Warning: true})
		}
	}
	if patients == 0 {
		c.fail("entry", "entry", "no Patient entry")
	}
	if len(c.b.Entries) == 0 && clinicalTypes[c.b.ResourceType] {
		c.fail("entry", "entry", "no %s entry, the declared type", c.b.ResourceType)
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	return c.b, nil
}

// bundleCheck collects a bundle's problems.
type bundleCheck struct {
	name string
	data []byte
	b    *Bundle
	errs []error
}

// fail reports a problem at the top-level member key (its line) named column.
func (c *bundleCheck) fail(key, column, format string, args ...any) {
	c.failAt(memberLine(c.data, key), column, format, args...)
}

func (c *bundleCheck) failAt(line int, column, format string, args ...any) {
	c.errs = append(c.errs, rowError(c.name, line, column, fmt.Sprintf(format, args...)))
}

func (c *bundleCheck) err() error { return errors.Join(c.errs...) }

// identifier reads Bundle.identifier: one Identifier, or (as the guide's example writes it)
// an array holding one with the JP-CLINS system.
func (c *bundleCheck) identifier(raw json.RawMessage) {
	if len(raw) == 0 || string(raw) == "null" {
		c.fail("", "identifier", "no identifier: the report unit's %s identifier is required", BundleIdentifierSystem)
		return
	}
	var list []json.RawMessage
	if _, ok := object(raw); ok {
		list = []json.RawMessage{raw}
	} else if json.Unmarshal(raw, &list) != nil {
		c.fail("identifier", "identifier", "not an Identifier")
		return
	}
	for _, one := range list {
		id, _ := object(one)
		if str(id["system"]) != BundleIdentifierSystem {
			continue
		}
		parsed, err := ParseBundleID(str(id["value"]))
		if err != nil {
			c.fail("identifier", "identifier.value", "%s", err)
			return
		}
		c.b.Identifier = parsed
		return
	}
	c.fail("identifier", "identifier.system", "no identifier with system %s", BundleIdentifierSystem)
}

// object decodes a JSON object into its members by exact name; ok is false for anything else.
func object(raw []byte) (members map[string]json.RawMessage, ok bool) {
	if len(raw) == 0 || json.Unmarshal(raw, &members) != nil || members == nil {
		return nil, false
	}
	return members, true
}

// str is a JSON string's value, or "" for anything else.
func str(raw json.RawMessage) string {
	var s string
	json.Unmarshal(raw, &s)
	return s
}

// memberLine is the line of a top-level member of the JSON object in data, or 1.
func memberLine(data []byte, key string) int {
	if key == "" {
		return 1
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil {
		return 1
	}
	for dec.More() {
		off := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return 1
		}
		if tok == key {
			return 1 + bytes.Count(data[:skipSpace(data, int(off))], []byte("\n"))
		}
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return 1
		}
	}
	return 1
}

// entryLines are the lines where each element of the top-level "entry" array starts.
func entryLines(data []byte) []int {
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil {
		return nil
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		if tok != "entry" {
			var skip json.RawMessage
			if dec.Decode(&skip) != nil {
				return nil
			}
			continue
		}
		if t, err := dec.Token(); err != nil || t != json.Delim('[') {
			return nil
		}
		var lines []int
		last, line := 0, 1
		for dec.More() {
			start := skipSpace(data, int(dec.InputOffset()))
			line += bytes.Count(data[last:start], []byte("\n"))
			last = start
			lines = append(lines, line)
			var skip json.RawMessage
			if dec.Decode(&skip) != nil {
				return lines
			}
		}
		return lines
	}
	return nil
}

// skipSpace skips whitespace and the comma between values from i.
func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r' || data[i] == ',' || data[i] == ':') {
		i++
	}
	return i
}
