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

// Command gen compiles the R4 SearchParameter definitions into the Go table of package
// search (zz_registry.go).
//
// Its input, searchparameters.json.gz, is a compact extract of the 1,400
// SearchParameter-*.json files of the R4 core package, kept in the repository so that
// neither the build nor the tests read anything outside it. To refresh the extract:
//
//	go run ./internal/gen -extract /path/to/fhir-r4/core
//
// go generate (in fhir/search) then rewrites zz_registry.go from it.
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"go/format"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// definition is the part of a SearchParameter the hub uses.
type definition struct {
	URL         string      `json:"url"`
	Code        string      `json:"code"`
	Base        []string    `json:"base,omitempty"`
	Type        string      `json:"type"`
	Expression  string      `json:"expression,omitempty"`
	Target      []string    `json:"target,omitempty"`
	Modifier    []string    `json:"modifier,omitempty"`
	Comparator  []string    `json:"comparator,omitempty"`
	MultipleOr  *bool       `json:"multipleOr,omitempty"`
	MultipleAnd *bool       `json:"multipleAnd,omitempty"`
	Component   []component `json:"component,omitempty"`
	XPathUsage  string      `json:"xpathUsage,omitempty"`
	Description string      `json:"description,omitempty"`
}

type component struct {
	Definition string `json:"definition"`
	Expression string `json:"expression"`
}

func main() {
	extract := flag.String("extract", "", "read SearchParameter-*.json from this directory and write -in")
	in := flag.String("in", "internal/gen/searchparameters.json.gz", "compact extract (input of generation)")
	out := flag.String("out", "zz_registry.go", "generated Go file")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("gen: ")
	if *extract != "" {
		if err := writeExtract(*extract, *in); err != nil {
			log.Fatal(err)
		}
		return
	}
	defs, err := readExtract(*in)
	if err != nil {
		log.Fatal(err)
	}
	src, err := generate(defs)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, src, 0o644); err != nil {
		log.Fatal(err)
	}
}

func writeExtract(dir, out string) error {
	files, err := filepath.Glob(filepath.Join(dir, "SearchParameter-*.json"))
	if err != nil {
		return err
	}
	var defs []definition
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var d definition
		if err := json.Unmarshal(b, &d); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		if d.URL == "" || d.Code == "" || d.Type == "" {
			return fmt.Errorf("%s: missing url, code or type", f)
		}
		defs = append(defs, d)
	}
	sort.Slice(defs, func(i, j int) bool { return defs[i].URL < defs[j].URL })
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Name = "searchparameters.json" // no ModTime: the extract is reproducible
	enc := json.NewEncoder(zw)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(defs); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	log.Printf("%d definitions → %s (%d bytes)", len(defs), out, buf.Len())
	return os.WriteFile(out, buf.Bytes(), 0o644)
}

func readExtract(file string) ([]definition, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	var defs []definition
	if err := json.NewDecoder(zr).Decode(&defs); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return defs, nil
}

var typeConst = map[string]string{
	"string": "String", "token": "Token", "reference": "Reference", "date": "Date", "number": "Number",
	"quantity": "Quantity", "uri": "URI", "composite": "Composite", "special": "Special",
}

// licence is the notice every Go file of the hub starts with (LICENSE).
const licence = `// Copyright 2026 The kodomohub Authors
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

`

func generate(defs []definition) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(licence)
	b.WriteString("// Code generated by internal/gen from the R4 SearchParameter definitions; DO NOT EDIT.\n\n")
	b.WriteString("package search\n\n")
	fmt.Fprintf(&b, "// definitions holds the %d SearchParameter definitions of FHIR R4 (4.0.1), sorted by URL.\n", len(defs))
	b.WriteString("var definitions = [...]Param{\n")
	for _, d := range defs {
		tc, ok := typeConst[d.Type]
		if !ok {
			return nil, fmt.Errorf("%s: unknown type %q", d.URL, d.Type)
		}
		b.WriteString("\t{\n")
		fmt.Fprintf(&b, "\t\tURL: %s,\n\t\tCode: %s,\n\t\tType: %s,\n", strconv.Quote(d.URL), strconv.Quote(d.Code), tc)
		if len(d.Base) > 0 {
			fmt.Fprintf(&b, "\t\tBase: %s,\n", strs(d.Base))
		}
		if d.Expression != "" {
			fmt.Fprintf(&b, "\t\tExpression: %s,\n", strconv.Quote(d.Expression))
		}
		if len(d.Target) > 0 {
			t := append([]string(nil), d.Target...)
			sort.Strings(t)
			fmt.Fprintf(&b, "\t\tTargets: %s,\n", strs(t))
		}
		if len(d.Modifier) > 0 {
			fmt.Fprintf(&b, "\t\tModifiers: %s,\n", strs(d.Modifier))
		}
		if len(d.Comparator) > 0 {
			fmt.Fprintf(&b, "\t\tComparators: %s,\n", strs(d.Comparator))
		}
		if d.MultipleOr != nil && !*d.MultipleOr {
			b.WriteString("\t\tNoMultipleOr: true,\n")
		}
		if d.MultipleAnd != nil && !*d.MultipleAnd {
			b.WriteString("\t\tNoMultipleAnd: true,\n")
		}
		if len(d.Component) > 0 {
			b.WriteString("\t\tComponents: []Component{\n")
			for _, c := range d.Component {
				fmt.Fprintf(&b, "\t\t\t{Definition: %s, Expression: %s},\n", strconv.Quote(c.Definition), strconv.Quote(c.Expression))
			}
			b.WriteString("\t\t},\n")
		}
		if d.XPathUsage != "" {
			fmt.Fprintf(&b, "\t\tXPathUsage: %s,\n", strconv.Quote(d.XPathUsage))
		}
		if d.Description != "" {
			fmt.Fprintf(&b, "\t\tDescription: %s,\n", strconv.Quote(strings.TrimSpace(d.Description)))
		}
		b.WriteString("\t},\n")
	}
	b.WriteString("}\n")
	return format.Source(b.Bytes())
}

func strs(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return "[]string{" + strings.Join(q, ", ") + "}"
}
