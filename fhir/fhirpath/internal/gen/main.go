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

// Command gen compiles the official FHIR R4 StructureDefinitions into the compact type
// model that package fhirpath embeds (model.json.gz), and copies the expressions of the
// R4 SearchParameter definitions into testdata/searchparameters.json for the tests.
//
// Run it from the fhir/fhirpath directory with go generate (see ../../doc.go):
//
//	go run ./internal/gen -core ../../../shared/fhir-r4/core
//
// The input is the hl7.fhir.core 4.0.1 package directory. Only base definitions are read
// (url http://hl7.org/fhir/StructureDefinition/{type}, not constraints such as
// SimpleQuantity). Each type keeps only the elements it defines itself; inherited ones are
// found through its base. Backbone elements become types of their own named by their
// path ("Patient.contact"), and contentReference elements point to such a type
// ("Questionnaire.item.item" → "Questionnaire.item").
//
// The output format (gzipped JSON):
//
//	{"Patient": {"k": "r", "b": "DomainResource", "e": {"name": "HumanName",
//	  "deceased[x]": "boolean dateTime", "contact": "Patient.contact", …}}, …}
//
// k is the kind (p primitive, c complex type, r resource, b backbone element), b the base
// type, e maps each element name (with [x] for choice elements) to its space-separated types.
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
	"strings"
)

type typeDef struct {
	Kind     string            `json:"k"`
	Base     string            `json:"b,omitempty"`
	Elements map[string]string `json:"e,omitempty"`
}

type structureDefinition struct {
	URL            string `json:"url"`
	Kind           string `json:"kind"`
	Type           string `json:"type"`
	Derivation     string `json:"derivation"`
	BaseDefinition string `json:"baseDefinition"`
	Snapshot       struct {
		Element []struct {
			Path string `json:"path"`
			Base struct {
				Path string `json:"path"`
			} `json:"base"`
			Type []struct {
				Code      string `json:"code"`
				Extension []struct {
					URL      string `json:"url"`
					ValueURL string `json:"valueUrl"`
				} `json:"extension"`
			} `json:"type"`
			ContentReference string `json:"contentReference"`
		} `json:"element"`
	} `json:"snapshot"`
}

const sdBase = "http://hl7.org/fhir/StructureDefinition/"

func main() {
	core := flag.String("core", "../../../shared/fhir-r4/core", "hl7.fhir.core 4.0.1 package directory")
	out := flag.String("out", "model.json.gz", "type model output")
	params := flag.String("params", "testdata/searchparameters.json", "SearchParameter expressions output")
	flag.Parse()
	if err := run(*core, *out, *params); err != nil {
		log.Fatal(err)
	}
}

func run(core, out, params string) error {
	files, err := filepath.Glob(filepath.Join(core, "StructureDefinition-*.json"))
	if err != nil {
		return err
	}
	types := map[string]*typeDef{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var sd structureDefinition
		if err := json.Unmarshal(raw, &sd); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		if sd.URL != sdBase+sd.Type || sd.Derivation == "constraint" {
			continue
		}
		var kind string
		switch sd.Kind {
		case "primitive-type":
			kind = "p"
		case "complex-type":
			kind = "c"
		case "resource":
			kind = "r"
		default:
			continue
		}
		td := &typeDef{Kind: kind, Base: strings.TrimPrefix(sd.BaseDefinition, sdBase), Elements: map[string]string{}}
		types[sd.Type] = td
		for _, e := range sd.Snapshot.Element {
			dot := strings.LastIndexByte(e.Path, '.')
			if dot < 0 {
				continue
			}
			if own := strings.SplitN(e.Base.Path, ".", 2)[0]; own != sd.Type {
				continue // inherited: found through the base type
			}
			parent, name := e.Path[:dot], e.Path[dot+1:]
			if kind == "p" && name == "value" {
				continue // the primitive's own value, not an element
			}
			owner := td
			if parent != sd.Type {
				owner = types[parent]
				if owner == nil {
					return fmt.Errorf("%s: %s before its parent", f, e.Path)
				}
			}
			if e.ContentReference != "" {
				owner.Elements[name] = strings.TrimPrefix(e.ContentReference, "#")
				continue
			}
			var codes []string
			for _, t := range e.Type {
				code := t.Code
				for _, x := range t.Extension {
					if x.URL == sdBase+"structuredefinition-fhir-type" {
						code = x.ValueURL
					}
				}
				code = strings.TrimPrefix(code, "http://hl7.org/fhirpath/System.")
				if code == "String" {
					code = "string"
				}
				if e.Path == "Resource.id" {
					code = "id" // the snapshot says string; the specification's table says id
				}
				codes = append(codes, code)
			}
			if len(codes) == 1 && (codes[0] == "BackboneElement" || codes[0] == "Element") {
				types[e.Path] = &typeDef{Kind: "b", Base: codes[0], Elements: map[string]string{}}
				owner.Elements[name] = e.Path
				continue
			}
			if len(codes) == 0 {
				return fmt.Errorf("%s: %s has no type", f, e.Path)
			}
			owner.Elements[name] = strings.Join(codes, " ")
		}
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	enc := json.NewEncoder(zw)
	if err := enc.Encode(types); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		return err
	}
	log.Printf("%s: %d types, %d bytes", out, len(types), buf.Len())
	return writeParams(core, params)
}

type searchParam struct {
	ID         string   `json:"id"`
	Code       string   `json:"code"`
	Type       string   `json:"type"`
	Base       []string `json:"base"`
	Expression string   `json:"expression"`
}

func writeParams(core, out string) error {
	files, err := filepath.Glob(filepath.Join(core, "SearchParameter-*.json"))
	if err != nil {
		return err
	}
	var list []searchParam
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var sp searchParam
		if err := json.Unmarshal(raw, &sp); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		if sp.Expression != "" {
			list = append(list, sp)
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	raw, err := json.MarshalIndent(list, "", " ")
	if err != nil {
		return err
	}
	log.Printf("%s: %d expressions", out, len(list))
	return os.WriteFile(out, append(raw, '\n'), 0o644)
}
