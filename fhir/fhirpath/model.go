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
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/json"
	"io"
	"strings"
	"sync"
)

//go:generate go run ./internal/gen -core ../../../shared/fhir-r4/core -out model.json.gz -params testdata/searchparameters.json

// modelFile is the R4 type model written by internal/gen: for every type, its kind, base
// and own elements with their types.
//
//go:embed model.json.gz
var modelFile []byte

type typeInfo struct {
	name  string // "Patient", "HumanName", "code", or a backbone path "Patient.contact"
	kind  byte   // 'p' primitive, 'c' complex, 'r' resource, 'b' backbone element
	base  *typeInfo
	elems map[string]*elemInfo
}

type elemInfo struct {
	name   string
	types  []*typeInfo
	choice bool
	// bySuffix maps a choice element's JSON suffix ("Quantity", "DateTime") to its type.
	bySuffix map[string]*typeInfo
}

// fhirType is the FHIR type name items of t carry: backbone elements report their
// declared type (BackboneElement or Element).
func (t *typeInfo) fhirType() string {
	if t.kind == 'b' {
		return t.base.name
	}
	return t.name
}

func (t *typeInfo) element(name string) *elemInfo {
	for ; t != nil; t = t.base {
		if e := t.elems[name]; e != nil {
			return e
		}
	}
	return nil
}

// isA reports whether t is name or derives from it.
func (t *typeInfo) isA(name string) bool {
	for ; t != nil; t = t.base {
		if t.name == name {
			return true
		}
	}
	return false
}

type typeModel struct {
	types map[string]*typeInfo
}

var loadModel = sync.OnceValue(func() *typeModel {
	m, err := parseModel(modelFile)
	if err != nil {
		panic("fhirpath: embedded type model: " + err.Error()) // generated file; tested
	}
	return m
})

func parseModel(gz []byte) (*typeModel, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, err
	}
	var file map[string]struct {
		K string            `json:"k"`
		B string            `json:"b"`
		E map[string]string `json:"e"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		return nil, err
	}
	m := &typeModel{types: make(map[string]*typeInfo, len(file))}
	for name, d := range file {
		m.types[name] = &typeInfo{name: name, kind: d.K[0], elems: make(map[string]*elemInfo, len(d.E))}
	}
	get := func(name string) *typeInfo {
		t := m.types[name]
		if t == nil { // a type the package does not define (should not happen): opaque
			t = &typeInfo{name: name, kind: 'c'}
			m.types[name] = t
		}
		return t
	}
	for name, d := range file {
		t := m.types[name]
		if d.B != "" {
			t.base = get(d.B)
		}
		for en, ts := range d.E {
			e := &elemInfo{name: en}
			if strings.HasSuffix(en, "[x]") {
				e.name, e.choice = strings.TrimSuffix(en, "[x]"), true
				e.bySuffix = map[string]*typeInfo{}
			}
			for _, tn := range strings.Fields(ts) {
				et := get(tn)
				e.types = append(e.types, et)
				if e.choice {
					e.bySuffix[strings.ToUpper(tn[:1])+tn[1:]] = et
				}
			}
			t.elems[e.name] = e
		}
	}
	return m, nil
}

func lookupType(name string) *typeInfo { return loadModel().types[name] }

// ElementTypes returns the FHIR types of the element at path ("Observation.value" →
// Quantity, CodeableConcept, string, …; "Patient.contact" → BackboneElement), following
// types and contentReferences along the path ("Questionnaire.item.item.linkId" → string).
// A choice element may be written with or without [x]. It returns nil for an unknown path.
func ElementTypes(path string) []string {
	e := elementAt(path)
	if e == nil {
		return nil
	}
	out := make([]string, len(e.types))
	for i, t := range e.types {
		out[i] = t.fhirType()
	}
	return out
}

// IsChoiceElement reports whether path names a choice element (value[x]).
func IsChoiceElement(path string) bool {
	e := elementAt(path)
	return e != nil && e.choice
}

func elementAt(path string) *elemInfo {
	parts := strings.Split(path, ".")
	t := lookupType(parts[0])
	if t == nil || len(parts) < 2 {
		return nil
	}
	var e *elemInfo
	for _, p := range parts[1:] {
		if t == nil {
			return nil
		}
		e = t.element(strings.TrimSuffix(p, "[x]"))
		if e == nil || len(e.types) == 0 {
			return nil
		}
		t = nil
		if len(e.types) == 1 {
			t = e.types[0]
		}
	}
	return e
}

// IsResourceType reports whether name is an R4 resource type, including the abstract
// Resource and DomainResource.
func IsResourceType(name string) bool {
	t := lookupType(name)
	return t != nil && t.kind == 'r'
}

// IsPrimitiveType reports whether name is an R4 primitive type (string, date, code, …).
func IsPrimitiveType(name string) bool {
	t := lookupType(name)
	return t != nil && t.kind == 'p'
}

// BaseType returns the type name derives from ("Age" → "Quantity", "code" → "string",
// "Patient" → "DomainResource"), or "" if it has none or is unknown.
func BaseType(name string) string {
	if t := lookupType(name); t != nil && t.base != nil {
		return t.base.name
	}
	return ""
}
