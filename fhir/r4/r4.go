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

// Package r4 gives the code that builds or reads resources (mapping, adapters, risk) typed
// access to R4 data types and resources. It is the only importer of the samply models
// (github.com/samply/golang-fhir-models), whose problems it contains:
//
//   - decoding is lenient (any resourceType is accepted, unknown elements are dropped):
//     Read checks resourceType, and what it returns is for reading only;
//   - encoding writes empty strings and objects for unset required and choice elements
//     ("occurrenceString": "", "vaccineCode": {}): Build drops every empty string, object
//     and array, none of which is ever valid FHIR;
//   - round trips lose contained resources and _element extensions: never re-encode a stored
//     resource through them.
//
// What Build returns is a raw resource like any other: it is validated by the write path
// (ingest) before it is stored. Another implementation (a fork, a generated subset) would
// change this package only.
package r4

import (
	"bytes"
	"encoding/json"
	"fmt"

	samply "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// The data types and resources the hub builds, re-exported so that callers never import samply.
type (
	Address         = samply.Address
	CodeableConcept = samply.CodeableConcept
	Coding          = samply.Coding
	ContactPoint    = samply.ContactPoint
	Extension       = samply.Extension
	HumanName       = samply.HumanName
	Identifier      = samply.Identifier
	Meta            = samply.Meta
	Period          = samply.Period
	Quantity        = samply.Quantity
	Reference       = samply.Reference

	Encounter             = samply.Encounter
	EpisodeOfCare         = samply.EpisodeOfCare
	Group                 = samply.Group
	Observation           = samply.Observation
	Patient               = samply.Patient
	QuestionnaireResponse = samply.QuestionnaireResponse
	RelatedPerson         = samply.RelatedPerson
)

// Name uses (HumanName.use) and administrative genders, as samply codes them.
type (
	NameUse              = samply.NameUse
	AdministrativeGender = samply.AdministrativeGender
)

// The codes the hub writes of samply's enumerations (samply numbers them: name them, never
// write their ordinals).
const (
	NameUseOfficial = samply.NameUseOfficial
	NameUseUsual    = samply.NameUseUsual
)

// Read decodes raw as a resourceType for reading only, after checking its resourceType,
// which samply does not. Contained resources and _element extensions are dropped: never
// write the result back.
func Read[T any](raw json.RawMessage, resourceType string) (*T, error) {
	var head struct {
		ResourceType string `json:"resourceType"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return nil, fmt.Errorf("r4: not a resource: %w", err)
	}
	if head.ResourceType != resourceType {
		return nil, fmt.Errorf("r4: want a %s, got %q", resourceType, head.ResourceType)
	}
	v := new(T)
	if err := json.Unmarshal(raw, v); err != nil {
		return nil, fmt.Errorf("r4: %s: %w", resourceType, err)
	}
	return v, nil
}

// Build encodes v (a samply value, or any JSON-encodable value) without the empty strings,
// objects and arrays samply writes. The result must still pass validation before it is stored.
func Build(v any) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("r4: %w", err)
	}
	return Prune(b)
}

// Prune drops every empty string, object and array from a JSON value, repeatedly (an object
// whose members were all empty goes too), and null values. Members keep their order and
// numbers their text.
func Prune(raw []byte) (json.RawMessage, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var out bytes.Buffer
	ok, err := prune(d, &out)
	if err != nil {
		return nil, fmt.Errorf("r4: %w", err)
	}
	if !ok {
		return json.RawMessage("{}"), nil
	}
	return out.Bytes(), nil
}

// prune copies the next JSON value of d to out without its empty parts; ok is false (and
// nothing written) when nothing is left of it.
func prune(d *json.Decoder, out *bytes.Buffer) (ok bool, err error) {
	tok, err := d.Token()
	if err != nil {
		return false, err
	}
	switch t := tok.(type) {
	case nil:
		return false, nil
	case string:
		if t == "" {
			return false, nil
		}
		b, _ := json.Marshal(t)
		out.Write(b)
		return true, nil
	case json.Number:
		out.WriteString(t.String())
		return true, nil
	case bool:
		out.WriteString(fmt.Sprint(t))
		return true, nil
	}
	open := tok.(json.Delim)
	start := out.Len()
	out.WriteByte(byte(open))
	n := 0
	for d.More() {
		mark := out.Len()
		if n > 0 {
			out.WriteByte(',')
		}
		if open == '{' {
			key, err := d.Token()
			if err != nil {
				return false, err
			}
			b, _ := json.Marshal(key)
			out.Write(b)
			out.WriteByte(':')
		}
		kept, err := prune(d, out)
		if err != nil {
			return false, err
		}
		if kept {
			n++
		} else {
			out.Truncate(mark)
		}
	}
	if _, err := d.Token(); err != nil { // the closing delimiter
		return false, err
	}
	if n == 0 {
		out.Truncate(start)
		return false, nil
	}
	if open == '{' {
		out.WriteByte('}')
	} else {
		out.WriteByte(']')
	}
	return true, nil
}
