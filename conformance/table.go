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

package conformance

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
)

// r4defs.json.gz is written by internal/gen (see gen.go) from the hl7.fhir.core 4.0.1
// package.
//
//go:embed r4defs.json.gz
var r4defs []byte

// The table's shapes; internal/gen writes the same.

type tableJSON struct {
	Version   string                   `json:"version"`
	Types     map[string]*typeDefJSON  `json:"types"`
	ValueSets map[string]*valueSetJSON `json:"valueSets"`
}

type typeDefJSON struct {
	Kind     string         `json:"kind"`
	Abstract bool           `json:"abstract"`
	Elements []*elementJSON `json:"elements"`
}

type elementJSON struct {
	Path    string   `json:"p"`
	Min     int      `json:"min"`
	Max     int      `json:"max"`
	Types   []string `json:"t"`
	Binding string   `json:"b"`
	Ref     string   `json:"r"`
	Summary bool     `json:"s"`
	To      []string `json:"to"`
}

type valueSetJSON struct {
	Codes     map[string][]string `json:"codes"`
	Unchecked string              `json:"unchecked"`
}

// The compiled schema.

// node is an object shape: a type, or a backbone element defined inline.
type node struct {
	path     string            // "Patient.contact"
	fields   map[string]*field // by JSON property name, choice variants spelled out
	elems    []*elemDef        // the elements, for the minimum cardinality check
	resource bool              // a resource root: resourceType is allowed
	ext      bool              // Extension: value[x] or extension, not both
}

// elemDef is one element of a StructureDefinition.
type elemDef struct {
	name    string // "given", "value[x]"
	min     int
	max     int // -1 for *
	choice  bool
	binding *valueSet
	summary bool // isSummary: kept by _summary=true
	idx     int  // position in node.elems
	// targets are the resource types a Reference element may point to; nil for any.
	targets []string
}

// field is one JSON property: an element, or one type of a choice element.
type field struct {
	elem *elemDef
	typ  string   // type code
	prim primKind // non-zero for primitive types
	node *node    // object shape for complex types and backbone elements
	res  bool     // a whole resource (contained, Bundle.entry.resource…)
}

type valueSet struct {
	url       string
	unchecked string
	codes     map[string]map[string]struct{} // system → codes
	all       map[string]struct{}            // codes of any system
}

func (vs *valueSet) hasCode(code string) bool {
	_, ok := vs.all[code]
	return ok
}

func (vs *valueSet) hasCoding(system, code string) bool {
	if system == "" {
		return vs.hasCode(code)
	}
	_, ok := vs.codes[system][code]
	return ok
}

type schema struct {
	types     map[string]*node // root shape of every complex type and resource
	resources map[string]bool  // concrete resource types
	valueSets map[string]*valueSet
}

func loadSchema() (*schema, error) {
	zr, err := gzip.NewReader(bytes.NewReader(r4defs))
	if err != nil {
		return nil, fmt.Errorf("conformance: embedded table: %w", err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("conformance: embedded table: %w", err)
	}
	var t tableJSON
	if err := json.Unmarshal(raw, &t); err != nil {
		return nil, fmt.Errorf("conformance: embedded table: %w", err)
	}
	return compile(&t)
}

func compile(t *tableJSON) (*schema, error) {
	s := &schema{types: map[string]*node{}, resources: map[string]bool{}, valueSets: map[string]*valueSet{}}
	for url, vj := range t.ValueSets {
		vs := &valueSet{url: url, unchecked: vj.Unchecked, codes: map[string]map[string]struct{}{}, all: map[string]struct{}{}}
		for sys, codes := range vj.Codes {
			m := make(map[string]struct{}, len(codes))
			for _, c := range codes {
				m[c] = struct{}{}
				vs.all[c] = struct{}{}
			}
			vs.codes[sys] = m
		}
		s.valueSets[url] = vs
	}
	prims := map[string]bool{}
	for name, td := range t.Types {
		if td.Kind == "primitive-type" {
			prims[name] = true
		}
		if td.Kind == "resource" && !td.Abstract {
			s.resources[name] = true
		}
	}
	// Pass 1: a node per type and per element that has children.
	all := map[string]map[string]*node{} // type → path → node
	for name, td := range t.Types {
		nodes := map[string]*node{name: {path: name, fields: map[string]*field{}, resource: td.Kind == "resource", ext: name == "Extension"}}
		for _, e := range td.Elements {
			parent := e.Path[:strings.LastIndexByte(e.Path, '.')]
			if nodes[parent] == nil {
				nodes[parent] = &node{path: parent, fields: map[string]*field{}}
			}
		}
		all[name] = nodes
		s.types[name] = nodes[name]
	}
	// Pass 2: fields.
	for name, td := range t.Types {
		nodes := all[name]
		for _, e := range td.Elements {
			dot := strings.LastIndexByte(e.Path, '.')
			parent, ename := nodes[e.Path[:dot]], e.Path[dot+1:]
			if td.Kind == "primitive-type" && ename == "value" {
				continue // the primitive's own value is the JSON value, not a property
			}
			ed := &elemDef{name: ename, min: e.Min, max: e.Max, summary: e.Summary, idx: len(parent.elems), targets: e.To}
			if e.Binding != "" {
				ed.binding = s.valueSets[e.Binding]
				if ed.binding == nil {
					return nil, fmt.Errorf("conformance: %s: value set %s missing from the table", e.Path, e.Binding)
				}
			}
			parent.elems = append(parent.elems, ed)
			if e.Ref != "" {
				ref := nodes[e.Ref]
				if ref == nil {
					return nil, fmt.Errorf("conformance: %s: contentReference %s has no children", e.Path, e.Ref)
				}
				parent.fields[ename] = &field{elem: ed, typ: "BackboneElement", node: ref}
				continue
			}
			if own := nodes[e.Path]; own != nil {
				typ := "BackboneElement"
				if len(e.Types) == 1 {
					typ = e.Types[0]
				}
				parent.fields[ename] = &field{elem: ed, typ: typ, node: own}
				continue
			}
			base, isChoice := strings.CutSuffix(ename, "[x]")
			ed.choice = isChoice
			for _, typ := range e.Types {
				typ, shape, _ := strings.Cut(typ, "@") // Quantity@SimpleQuantity
				if shape == "" {
					shape = typ
				}
				f := &field{elem: ed, typ: typ}
				switch {
				case prims[typ]:
					f.prim = primKinds[typ]
					if f.prim == 0 {
						return nil, fmt.Errorf("conformance: %s: unknown primitive type %s", e.Path, typ)
					}
				case typ == "Resource":
					f.res = true
				default:
					f.node = s.types[shape]
					if f.node == nil {
						return nil, fmt.Errorf("conformance: %s: unknown type %s", e.Path, shape)
					}
				}
				jname := ename
				if isChoice {
					jname = base + strings.ToUpper(typ[:1]) + typ[1:]
				}
				parent.fields[jname] = f
			}
			if len(e.Types) == 0 {
				return nil, fmt.Errorf("conformance: %s: element without type", e.Path)
			}
		}
	}
	return s, nil
}

// UncheckedValueSets lists the required value sets whose codes the validator cannot check
// because the R4 package does not define them (external code systems such as UCUM, BCP-13
// mime types and ISO 4217 currencies), each with the reason.
func (v *Validator) UncheckedValueSets() []string {
	var out []string
	for url, vs := range v.s.valueSets {
		if vs.unchecked != "" {
			out = append(out, url+": "+vs.unchecked)
		}
	}
	sort.Strings(out)
	return out
}
