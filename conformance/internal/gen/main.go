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

// Command gen compiles the official FHIR R4 StructureDefinitions, and the ValueSets and
// CodeSystems behind their required bindings, into the table the conformance package
// embeds (r4defs.json.gz).
//
// Run it from the conformance directory with go generate (see ../../doc.go):
//
//	go run ./internal/gen -core ../../shared/fhir-r4/core -out r4defs.json.gz
//
// The input is the hl7.fhir.core 4.0.1 package directory. Only the base definitions are
// read: every primitive type, complex type and resource whose StructureDefinition url is
// http://hl7.org/fhir/StructureDefinition/{type} (profiles such as SimpleQuantity and the
// extension definitions are left out).
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// The output format; conformance/table.go reads the same shapes.

type table struct {
	Version   string               `json:"version"`
	Types     map[string]*typeDef  `json:"types"`
	ValueSets map[string]*valueSet `json:"valueSets"`
}

type typeDef struct {
	Kind     string     `json:"kind"` // primitive-type, complex-type, resource
	Abstract bool       `json:"abstract,omitempty"`
	Elements []*element `json:"elements"`
}

type element struct {
	Path    string   `json:"p"`
	Min     int      `json:"min,omitempty"`
	Max     int      `json:"max"` // -1 for *
	Types   []string `json:"t,omitempty"`
	Binding string   `json:"b,omitempty"` // required ValueSet url
	Ref     string   `json:"r,omitempty"` // contentReference path, without '#'
	Summary bool     `json:"s,omitempty"` // isSummary: part of _summary=true
	// To are the resource types a Reference element may point to (its targetProfiles);
	// empty when it may point to any resource.
	To []string `json:"to,omitempty"`
}

type valueSet struct {
	// Codes maps a system to its codes. Nil with Unchecked set when the set cannot be
	// expanded from the package.
	Codes     map[string][]string `json:"codes,omitempty"`
	Unchecked string              `json:"unchecked,omitempty"`
}

// Input shapes.

type structureDefinition struct {
	ID       string `json:"id"`
	URL      string `json:"url"`
	Kind     string `json:"kind"`
	Type     string `json:"type"`
	Abstract bool   `json:"abstract"`
	Snapshot struct {
		Element []struct {
			Path string `json:"path"`
			Min  int    `json:"min"`
			Max  string `json:"max"`
			Type []struct {
				Code          string   `json:"code"`
				Profile       []string `json:"profile"`
				TargetProfile []string `json:"targetProfile"`
				Extension     []struct {
					URL      string `json:"url"`
					ValueURL string `json:"valueUrl"`
				} `json:"extension"`
			} `json:"type"`
			ContentReference string `json:"contentReference"`
			IsSummary        bool   `json:"isSummary"`
			Binding          *struct {
				Strength string `json:"strength"`
				ValueSet string `json:"valueSet"`
			} `json:"binding"`
		} `json:"element"`
	} `json:"snapshot"`
}

type vsInput struct {
	URL     string `json:"url"`
	Compose *struct {
		Include []vsInclude `json:"include"`
		Exclude []vsInclude `json:"exclude"`
	} `json:"compose"`
}

type vsInclude struct {
	System  string `json:"system"`
	Concept []struct {
		Code string `json:"code"`
	} `json:"concept"`
	Filter   []json.RawMessage `json:"filter"`
	ValueSet []string          `json:"valueSet"`
}

type concept struct {
	Code    string    `json:"code"`
	Concept []concept `json:"concept"`
}

type codeSystem struct {
	URL     string    `json:"url"`
	Content string    `json:"content"`
	Concept []concept `json:"concept"`
}

func main() {
	core := flag.String("core", "", "directory of the hl7.fhir.core 4.0.1 package")
	out := flag.String("out", "r4defs.json.gz", "output file")
	flag.Parse()
	if *core == "" {
		log.Fatal("gen: -core is required")
	}
	t, err := build(*core)
	if err != nil {
		log.Fatal(err)
	}
	var raw bytes.Buffer
	enc := json.NewEncoder(&raw)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(t); err != nil {
		log.Fatal(err)
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(raw.Bytes())
	if err := zw.Close(); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, gz.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
	unchecked := 0
	for _, vs := range t.ValueSets {
		if vs.Unchecked != "" {
			unchecked++
		}
	}
	log.Printf("gen: %d types, %d required value sets (%d unchecked), %d bytes json, %d bytes gzip",
		len(t.Types), len(t.ValueSets), unchecked, raw.Len(), gz.Len())
}

// profiles are the constraints on data types that base definitions name as type profiles;
// they are compiled as types of their own.
var profiles = map[string]bool{"http://hl7.org/fhir/StructureDefinition/SimpleQuantity": true}

// targets returns the resource types of a Reference's targetProfiles, nil when any resource
// may be the target (no profile, or Resource).
func targets(profiles []string) []string {
	var out []string
	for _, p := range profiles {
		name, ok := strings.CutPrefix(p, "http://hl7.org/fhir/StructureDefinition/")
		if !ok || name == "Resource" {
			return nil
		}
		out = append(out, name)
	}
	return out
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func build(core string) (*table, error) {
	t := &table{Version: "4.0.1", Types: map[string]*typeDef{}, ValueSets: map[string]*valueSet{}}
	files, _ := filepath.Glob(filepath.Join(core, "StructureDefinition-*.json"))
	if len(files) == 0 {
		return nil, fmt.Errorf("gen: no StructureDefinitions in %s", core)
	}
	required := map[string]bool{}
	for _, f := range files {
		var sd structureDefinition
		if err := readJSON(f, &sd); err != nil {
			return nil, err
		}
		name := sd.Type
		if profiles[sd.URL] {
			name = sd.ID // SimpleQuantity: a constrained Quantity, used as a profile on Quantity elements
		} else if sd.URL != "http://hl7.org/fhir/StructureDefinition/"+sd.Type || sd.ID != sd.Type {
			continue // a profile, extension definition or logical model
		}
		switch sd.Kind {
		case "primitive-type", "complex-type", "resource":
		default:
			continue
		}
		td := &typeDef{Kind: sd.Kind, Abstract: sd.Abstract}
		for i, e := range sd.Snapshot.Element {
			if i == 0 {
				continue // the type itself
			}
			el := &element{Path: name + strings.TrimPrefix(e.Path, sd.Type), Min: e.Min, Max: -1, Summary: e.IsSummary}
			if e.Max != "*" {
				n, err := strconv.Atoi(e.Max)
				if err != nil {
					return nil, fmt.Errorf("%s: %s: max %q", f, e.Path, e.Max)
				}
				el.Max = n
			}
			for _, ty := range e.Type {
				code := ty.Code
				if strings.HasPrefix(code, "http://hl7.org/fhirpath/System.") {
					code = strings.ToLower(strings.TrimPrefix(code, "http://hl7.org/fhirpath/System."))
					for _, x := range ty.Extension {
						if x.URL == "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type" {
							code = x.ValueURL
						}
					}
					if sd.Kind == "resource" && e.Path == sd.Type+".id" {
						code = "id" // Resource.id is an id, whatever the snapshot's System type says
					}
				}
				for _, p := range ty.Profile {
					if profiles[p] {
						code += "@" + p[strings.LastIndexByte(p, '/')+1:]
					}
				}
				el.Types = append(el.Types, code)
				if code == "Reference" {
					el.To = targets(ty.TargetProfile)
				}
			}
			el.Ref = strings.TrimPrefix(e.ContentReference, "#")
			if b := e.Binding; b != nil && b.Strength == "required" && b.ValueSet != "" {
				bindable := false
				for _, c := range el.Types {
					bindable = bindable || c == "code" || c == "Coding" || c == "CodeableConcept"
				}
				if bindable {
					el.Binding, _, _ = strings.Cut(b.ValueSet, "|")
					required[el.Binding] = true
				}
			}
			td.Elements = append(td.Elements, el)
		}
		t.Types[name] = td
	}

	vsByURL := map[string]*vsInput{}
	files, _ = filepath.Glob(filepath.Join(core, "ValueSet-*.json"))
	for _, f := range files {
		var vs vsInput
		if err := readJSON(f, &vs); err != nil {
			return nil, err
		}
		vsByURL[vs.URL] = &vs
	}
	csByURL := map[string]*codeSystem{}
	files, _ = filepath.Glob(filepath.Join(core, "CodeSystem-*.json"))
	for _, f := range files {
		var cs codeSystem
		if err := readJSON(f, &cs); err != nil {
			return nil, err
		}
		csByURL[cs.URL] = &cs
	}
	x := &expander{vs: vsByURL, cs: csByURL}
	for url := range required {
		codes, why := x.expand(url, 0)
		if why != "" {
			t.ValueSets[url] = &valueSet{Unchecked: why}
			continue
		}
		out := map[string][]string{}
		for sys, set := range codes {
			for c := range set {
				out[sys] = append(out[sys], c)
			}
			sort.Strings(out[sys])
		}
		t.ValueSets[url] = &valueSet{Codes: out}
	}
	return t, nil
}

type expander struct {
	vs map[string]*vsInput
	cs map[string]*codeSystem
}

type codeSet map[string]map[string]bool

func (s codeSet) add(sys, code string) {
	if s[sys] == nil {
		s[sys] = map[string]bool{}
	}
	s[sys][code] = true
}

// expand returns the codes of the value set, or a reason it cannot be expanded from the
// package.
func (x *expander) expand(url string, depth int) (codeSet, string) {
	url, _, _ = strings.Cut(url, "|")
	if depth > 10 {
		return nil, "value set imports nest too deeply"
	}
	vs := x.vs[url]
	if vs == nil {
		return nil, "value set not in the package"
	}
	if vs.Compose == nil {
		return nil, "value set has no compose"
	}
	out := codeSet{}
	for _, inc := range vs.Compose.Include {
		part, why := x.include(inc, depth)
		if why != "" {
			return nil, why
		}
		for sys, codes := range part {
			for c := range codes {
				out.add(sys, c)
			}
		}
	}
	for _, exc := range vs.Compose.Exclude {
		part, why := x.include(exc, depth)
		if why != "" {
			return nil, "exclude: " + why
		}
		for sys, codes := range part {
			for c := range codes {
				delete(out[sys], c)
			}
		}
	}
	return out, ""
}

func (x *expander) include(inc vsInclude, depth int) (codeSet, string) {
	if len(inc.Filter) > 0 {
		return nil, "include uses a filter on " + inc.System
	}
	var sys codeSet
	if inc.System != "" {
		sys = codeSet{}
		if len(inc.Concept) > 0 {
			for _, c := range inc.Concept {
				sys.add(inc.System, c.Code)
			}
		} else {
			cs := x.cs[inc.System]
			switch {
			case cs == nil:
				return nil, "code system " + inc.System + " is not in the package"
			case cs.Content != "complete":
				return nil, "code system " + inc.System + " content is " + cs.Content
			}
			var walk func([]concept)
			walk = func(cs []concept) {
				for _, c := range cs {
					sys.add(inc.System, c.Code)
					walk(c.Concept)
				}
			}
			walk(cs.Concept)
		}
	}
	// Imported value sets intersect with each other and with the system part.
	result := sys
	for _, u := range inc.ValueSet {
		part, why := x.expand(u, depth+1)
		if why != "" {
			return nil, why
		}
		if result == nil {
			result = part
			continue
		}
		next := codeSet{}
		for s, codes := range result {
			for c := range codes {
				if part[s][c] {
					next.add(s, c)
				}
			}
		}
		result = next
	}
	if result == nil {
		return nil, "include names neither a system nor a value set"
	}
	return result, ""
}
