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

package mapping

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/text/width"

	"github.com/kodomohub/kodomohub/fhir"
)

// Formats are the decoders a spec may name (the packages under adapters).
var Formats = []string{"csv", "fixedwidth", "xlsx", "hl7v2", "pmh", "fhir"}

// Spec maps one source's records to FHIR resources. Load reads one from YAML (doc.go has
// the format).
type Spec struct {
	Source string // the source's name: resident-registry, checkup, …
	Title  string
	Format string // one of Formats
	File   string // where the spec was read from; errors name it
	// Columns are the record's fields the spec reads, by the name templates use.
	Columns []Column
	// Codes are the code maps: name → source value → code.
	Codes     map[string]map[string]string
	Resources []*Resource
}

// Column is a field the spec reads: its name in templates and the other names (header
// spellings of vendors) a file may give it.
type Column struct {
	Name     string
	Aliases  []string
	Required bool
}

// Resource is one resource a record yields (or one per column of Each).
type Resource struct {
	Name string // unique in the spec; @Name refers to it
	Type string // an R4 resource type
	line int
	key  *template
	when *template
	// Each, when set, makes one resource per listed column that has a value; templates see
	// the column's name as $column and its value as $value.
	Each []string
	// Collect names a list element of the body (member) that the records sharing the
	// resource's key build together: the resource is written once, after the records, with
	// the elements of each record in order (a household's Group and its members).
	Collect string
	body    *bodyNode
}

// bodyNode is a compiled resource body: a mapping, a list, a template (a string scalar)
// or a literal number or boolean.
type bodyNode struct {
	kind nodeKind
	keys []string
	vals []*bodyNode
	tmpl *template
	raw  string // a number or boolean, as written
	line int
	// when, on an object, keeps the object only when its value is not empty (the key
	// "when" is not written): a component whose column is empty goes with its code.
	when *template
}

// SpecError lists every problem of a spec, each with its file and line.
type SpecError struct {
	File     string
	Problems []LineError
}

// LineError is one problem of a spec.
type LineError struct {
	Line int
	Msg  string
}

func (e *SpecError) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%s:%d: %s", e.File, p.Line, p.Msg)
	}
	return b.String()
}

// scope is what a spec's templates may name.
type scope struct {
	columns, vars, resources, codes map[string]bool
}

func (s *scope) varList() string {
	var vs []string
	for v := range s.vars {
		vs = append(vs, "$"+v)
	}
	slices.Sort(vs)
	return strings.Join(vs, ", ")
}

// baseVars are the variables every template may use.
var baseVars = []string{"lg", "tenant", "source", "file"}

// Load reads a spec from YAML. file names it in errors. Every problem found is reported,
// each with its line, in a *SpecError.
func Load(file string, data []byte) (*Spec, error) {
	serr := &SpecError{File: file}
	fail := func(line int, format string, args ...any) {
		serr.Problems = append(serr.Problems, LineError{line, fmt.Sprintf(format, args...)})
	}
	root, err := parseYAML(data)
	if err != nil {
		fail(1, "%v", err)
		return nil, serr
	}
	if root.kind != mapNode {
		fail(root.line, "a spec is a mapping with source, format, columns, codes and resources")
		return nil, serr
	}
	sp := &Spec{File: file, Codes: map[string]map[string]string{}}
	known(root, fail, "source", "title", "format", "columns", "codes", "resources")
	sp.Source = scalar(root, "source", fail, true)
	sp.Title = scalar(root, "title", fail, false)
	sp.Format = scalar(root, "format", fail, true)
	if sp.Format != "" && !slices.Contains(Formats, sp.Format) {
		fail(root.get("format").line, "format %q is not one of %s", sp.Format, strings.Join(Formats, ", "))
	}
	sc := &scope{columns: map[string]bool{}, vars: map[string]bool{}, resources: map[string]bool{}, codes: map[string]bool{}}
	for _, v := range baseVars {
		sc.vars[v] = true
	}
	if cols := root.get("columns"); cols == nil || cols.kind != mapNode {
		fail(root.line, "columns: a mapping of the columns the spec reads is required")
	} else {
		seen := map[string]string{}
		for i, name := range cols.keys {
			c := Column{Name: name}
			v := cols.vals[i]
			switch v.kind {
			case nullNode:
			case mapNode:
				known(v, fail, "required", "aliases")
				if r := v.get("required"); r != nil {
					b, err := strconv.ParseBool(r.text)
					if r.kind != scalarNode || err != nil {
						fail(r.line, "required: true or false")
					}
					c.Required = b
				}
				if a := v.get("aliases"); a != nil {
					if a.kind != seqNode {
						fail(a.line, "aliases: a list of header names")
					}
					for _, al := range a.vals {
						c.Aliases = append(c.Aliases, al.text)
					}
				}
			default:
				fail(v.line, "column %s: null or a mapping with required and aliases", name)
			}
			for _, n := range append([]string{name}, c.Aliases...) {
				k := headerKey(n)
				if other, dup := seen[k]; dup {
					fail(v.line, "header name %q is already a name of column %s", n, other)
				}
				seen[k] = name
			}
			sc.columns[name] = true
			sp.Columns = append(sp.Columns, c)
		}
	}
	if codes := root.get("codes"); codes != nil {
		if codes.kind != mapNode {
			fail(codes.line, "codes: a mapping of code maps")
		} else {
			for i, name := range codes.keys {
				m := codes.vals[i]
				if m.kind != mapNode {
					fail(m.line, "code map %s: a mapping from source values to codes", name)
					continue
				}
				cm := map[string]string{}
				for j, from := range m.keys {
					if m.vals[j].kind != scalarNode || m.vals[j].text == "" {
						fail(m.vals[j].line, "code map %s: %q must map to a code", name, from)
					}
					cm[from] = m.vals[j].text
				}
				sp.Codes[name] = cm
				sc.codes[name] = true
			}
		}
	}
	res := root.get("resources")
	if res == nil || res.kind != seqNode || len(res.vals) == 0 {
		fail(root.line, "resources: a list of the resources a record yields is required")
		return nil, serr
	}
	// Names first, so that any resource may refer to any other.
	for _, r := range res.vals {
		if n := r.get("name"); n != nil && n.kind == scalarNode {
			if sc.resources[n.text] {
				fail(n.line, "resource name %q is used twice", n.text)
			}
			sc.resources[n.text] = true
		}
	}
	eachNames := map[string]bool{}
	for _, r := range res.vals {
		rs := compileResource(r, sc, fail)
		if rs == nil {
			continue
		}
		if len(rs.Each) > 0 {
			eachNames[rs.Name] = true
		}
		sp.Resources = append(sp.Resources, rs)
	}
	for _, r := range sp.Resources {
		walkExprs(r, func(e *expr, line int) {
			if e.kind == refExpr && eachNames[e.name] {
				fail(line, "@%s: a resource made per column (each) cannot be referred to", e.name)
			}
		})
	}
	if len(serr.Problems) > 0 {
		return nil, serr
	}
	return sp, nil
}

// known reports keys of n that are not among keys.
func known(n *node, fail func(int, string, ...any), keys ...string) {
	for i, k := range n.keys {
		if !slices.Contains(keys, k) {
			fail(n.vals[i].line, "unknown key %q (known: %s)", k, strings.Join(keys, ", "))
		}
	}
}

func scalar(n *node, key string, fail func(int, string, ...any), required bool) string {
	v := n.get(key)
	switch {
	case v == nil && required:
		fail(n.line, "%s is required", key)
	case v == nil:
	case v.kind != scalarNode:
		fail(v.line, "%s must be a scalar", key)
	default:
		return v.text
	}
	return ""
}

func compileResource(n *node, sc *scope, fail func(int, string, ...any)) *Resource {
	if n.kind != mapNode {
		fail(n.line, "a resource is a mapping with name, type, key and body")
		return nil
	}
	known(n, fail, "name", "type", "key", "when", "each", "collect", "body")
	r := &Resource{line: n.line, Name: scalar(n, "name", fail, true), Type: scalar(n, "type", fail, true)}
	if r.Type != "" && !fhir.IsResourceType(r.Type) {
		fail(n.get("type").line, "%q is not an R4 resource type", r.Type)
	}
	rsc := sc
	if each := n.get("each"); each != nil {
		if each.kind != seqNode || len(each.vals) == 0 {
			fail(each.line, "each: a list of columns")
		}
		for _, c := range each.vals {
			if !sc.columns[c.text] {
				fail(c.line, "each: column %q is not among the spec's columns", c.text)
			}
			r.Each = append(r.Each, c.text)
		}
		rsc = &scope{columns: sc.columns, resources: sc.resources, codes: sc.codes, vars: map[string]bool{"column": true, "value": true}}
		for v := range sc.vars {
			rsc.vars[v] = true
		}
	}
	compile := func(key string, required bool) *template {
		v := n.get(key)
		if v == nil {
			if required {
				fail(n.line, "resource %s: %s is required", r.Name, key)
			}
			return nil
		}
		if v.kind != scalarNode {
			fail(v.line, "%s must be a string template", key)
			return nil
		}
		t, err := parseTemplate(v.text, rsc)
		if err != nil {
			fail(v.line, "%v", err)
		}
		return t
	}
	r.key = compile("key", true)
	r.when = compile("when", false)
	body := n.get("body")
	if body == nil || body.kind != mapNode {
		fail(n.line, "resource %s: body (a mapping) is required", r.Name)
		return r
	}
	if c := n.get("collect"); c != nil {
		r.Collect = c.text
		if el := body.get(c.text); el == nil || el.kind != seqNode {
			fail(c.line, "collect: %q must be a list element of the body", c.text)
		}
		if len(r.Each) > 0 {
			fail(c.line, "a resource cannot both collect and be made per column (each)")
		}
	}
	for _, k := range body.keys {
		if k == "resourceType" || k == "id" {
			fail(body.line, "resource %s: the body must not set %s (type and key give them)", r.Name, k)
		}
	}
	r.body = compileBody(body, rsc, fail)
	return r
}

func compileBody(n *node, sc *scope, fail func(int, string, ...any)) *bodyNode {
	b := &bodyNode{kind: n.kind, line: n.line}
	switch n.kind {
	case mapNode:
		for i, k := range n.keys {
			v := n.vals[i]
			if k == "when" {
				if v.kind != scalarNode {
					fail(v.line, "when must be a string template")
					continue
				}
				t, err := parseTemplate(v.text, sc)
				if err != nil {
					fail(v.line, "%v", err)
					continue
				}
				b.when = t
				continue
			}
			b.keys = append(b.keys, k)
			b.vals = append(b.vals, compileBody(v, sc, fail))
		}
	case seqNode:
		for _, v := range n.vals {
			b.vals = append(b.vals, compileBody(v, sc, fail))
		}
	case scalarNode:
		if !n.quoted && isJSONScalar(n.text) {
			b.raw = n.text
			return b
		}
		t, err := parseTemplate(n.text, sc)
		if err != nil {
			fail(n.line, "%v", err)
			t = &template{}
		}
		b.tmpl = t
	}
	return b
}

// isJSONScalar reports whether an unquoted YAML scalar is a JSON number or boolean.
func isJSONScalar(s string) bool {
	if s == "true" || s == "false" {
		return true
	}
	var n json.Number
	return json.Unmarshal([]byte(s), &n) == nil
}

// walkExprs calls f for each expression of r's templates.
func walkExprs(r *Resource, f func(e *expr, line int)) {
	var inTemplate func(t *template, line int)
	var inExpr func(e *expr, line int)
	inExpr = func(e *expr, line int) {
		f(e, line)
		for _, a := range e.args {
			inExpr(a, line)
		}
	}
	inTemplate = func(t *template, line int) {
		if t == nil {
			return
		}
		for _, p := range t.parts {
			if p.e != nil {
				inExpr(p.e, line)
			}
		}
	}
	inTemplate(r.key, r.line)
	inTemplate(r.when, r.line)
	var walk func(b *bodyNode)
	walk = func(b *bodyNode) {
		if b == nil {
			return
		}
		inTemplate(b.tmpl, b.line)
		inTemplate(b.when, b.line)
		for _, v := range b.vals {
			walk(v)
		}
	}
	walk(r.body)
}

// headerKey is how header names compare: without surrounding spaces (full-width too),
// full-width and half-width forms folded.
func headerKey(s string) string {
	return width.Fold.String(strings.Trim(s, " \t\u3000\ufeff"))
}
