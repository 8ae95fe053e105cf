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
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/text/width"

	"github.com/kodomohub/kodomohub/adapters"
	"github.com/kodomohub/kodomohub/fhir"
	"github.com/kodomohub/kodomohub/fhir/r4"
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

// Binding is a spec bound to the headers of one file: which header gives each column.
type Binding struct {
	spec   *Spec
	header map[string]string // column → the header name as written in the file
}

// Bind matches a file's header names to the spec's columns. A required column no header
// gives is an error naming it and its other accepted names; a header no column reads is a
// warning (it is ignored).
func (sp *Spec) Bind(file string, headers []string) (*Binding, []adapters.Problem, error) {
	b := &Binding{spec: sp, header: map[string]string{}}
	byKey := map[string]string{}
	for _, c := range sp.Columns {
		for _, n := range append([]string{c.Name}, c.Aliases...) {
			byKey[headerKey(n)] = c.Name
		}
	}
	var warnings []adapters.Problem
	for _, h := range headers {
		col, ok := byKey[headerKey(h)]
		switch {
		case !ok && !structured(sp.Format):
			warnings = append(warnings, adapters.Problem{File: file, Line: 1, Column: h, Warning: true,
				Reason: fmt.Sprintf("column %q is not read by %s: ignored", h, sp.Source)})
		case !ok:
		case b.header[col] != "":
			return nil, warnings, fmt.Errorf("%s: columns %q and %q both give %s", file, b.header[col], h, col)
		default:
			b.header[col] = h
		}
	}
	var missing []string
	for _, c := range sp.Columns {
		if c.Required && b.header[c.Name] == "" {
			m := c.Name
			if len(c.Aliases) > 0 {
				m += " (or " + strings.Join(c.Aliases, ", ") + ")"
			}
			missing = append(missing, m)
		}
	}
	if len(missing) > 0 {
		return nil, warnings, fmt.Errorf("%s: %s needs the column %s", file, sp.Source, strings.Join(missing, "; "))
	}
	return b, warnings, nil
}

// structured reports whether records of a format are named by path (HL7 v2, JSON): the
// fields a spec does not read are many and expected, not a warning.
func structured(format string) bool {
	return format == "hl7v2" || format == "pmh" || format == "fhir"
}

// Env is what a record's templates see besides its columns.
type Env struct {
	Tenant string
	LG     string // the town's local government code
}

// Output is one resource a record yields.
type Output struct {
	Name string // the spec's resource name
	Type string
	ID   string // from the natural key: the same record gives the same id
	Key  string
	Body json.RawMessage // resourceType, id, meta.source and the body; not yet validated
	// Collect is the spec resource's Collect: the caller merges the outputs with this id
	// (Collected) and writes the result once.
	Collect string
}

// evalCtx is the evaluation of one record.
type evalCtx struct {
	spec    *Spec
	b       *Binding
	rec     adapters.Record
	vars    map[string]string
	ids     map[string]string // resource name → Type/id
	problem *adapters.Problem
}

// Apply maps one record to its resources. A record with a bad value yields no resources and
// one problem naming the column, its value and the reason: records are imported whole or
// not at all.
func (b *Binding) Apply(rec adapters.Record, env Env) ([]Output, *adapters.Problem) {
	sp := b.spec
	c := &evalCtx{spec: sp, b: b, rec: rec, ids: map[string]string{},
		vars: map[string]string{"lg": env.LG, "tenant": env.Tenant, "source": sp.Source, "file": rec.File}}
	for _, col := range sp.Columns {
		if col.Required && strings.TrimSpace(c.column(col.Name)) == "" {
			return nil, &adapters.Problem{File: rec.File, Line: rec.Line, Column: b.header[col.Name],
				Reason: "the value is required"}
		}
	}
	type job struct {
		r       *Resource
		column  string // for each
		present bool
	}
	var jobs []job
	for _, r := range sp.Resources {
		if len(r.Each) == 0 {
			jobs = append(jobs, job{r: r})
			continue
		}
		for _, col := range r.Each {
			if strings.TrimSpace(c.column(col)) != "" {
				jobs = append(jobs, job{r: r, column: col})
			}
		}
	}
	// Ids first: bodies may refer to any resource of the record.
	keys := make([]string, len(jobs))
	skip := make([]bool, len(jobs))
	for i, j := range jobs {
		c.setEach(j.column)
		if j.r.when != nil {
			v, err := c.template(j.r.when)
			if err != nil {
				return nil, c.fail(err)
			}
			if !truthy(v) {
				skip[i] = true
				continue
			}
		}
		k, err := c.keyText(j.r.key)
		if err != nil {
			return nil, c.fail(err)
		}
		keys[i] = k
		if keys[i] == "" {
			return nil, &adapters.Problem{File: rec.File, Line: rec.Line,
				Reason: fmt.Sprintf("the key of %s is empty", j.r.Name)}
		}
		if j.column == "" {
			c.ids[j.r.Name] = j.r.Type + "/" + ID(sp.Source, j.r.Name, keys[i])
		}
	}
	var out []Output
	for i, j := range jobs {
		if skip[i] {
			continue
		}
		c.setEach(j.column)
		var buf bytes.Buffer
		id := ID(sp.Source, j.r.Name, keys[i])
		fmt.Fprintf(&buf, `{"resourceType":%q,"id":%q`, j.r.Type, id)
		if j.r.body.get("meta") == nil {
			fmt.Fprintf(&buf, `,"meta":{"source":%q}`, SourceURI(sp.Source))
		}
		for k, key := range j.r.body.keys {
			var val bytes.Buffer
			if err := c.write(&val, j.r.body.vals[k]); err != nil {
				return nil, c.fail(err)
			}
			kb, _ := json.Marshal(key)
			buf.WriteByte(',')
			buf.Write(kb)
			buf.WriteByte(':')
			buf.Write(val.Bytes())
		}
		buf.WriteByte('}')
		body, err := r4.Prune(buf.Bytes())
		if err != nil {
			return nil, c.fail(fmt.Errorf("%s: %v", j.r.Name, err))
		}
		out = append(out, Output{Name: j.r.Name, Type: j.r.Type, ID: id, Key: keys[i], Body: body, Collect: j.r.Collect})
	}
	return out, nil
}

// Collected merges outputs of one collected resource (same id, in record order): the first
// body with the Collect list of every output appended in order, without duplicates.
func Collected(outs []Output) (json.RawMessage, error) {
	if len(outs) == 0 {
		return nil, fmt.Errorf("mapping: nothing to collect")
	}
	var first map[string]json.RawMessage
	if err := json.Unmarshal(outs[0].Body, &first); err != nil {
		return nil, err
	}
	field := outs[0].Collect
	var items []json.RawMessage
	seen := map[string]bool{}
	for _, o := range outs {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(o.Body, &m); err != nil {
			return nil, err
		}
		var list []json.RawMessage
		if raw, ok := m[field]; ok {
			if err := json.Unmarshal(raw, &list); err != nil {
				return nil, fmt.Errorf("mapping: %s of %s is not a list", field, o.ID)
			}
		}
		for _, it := range list {
			if !seen[string(it)] {
				seen[string(it)] = true
				items = append(items, it)
			}
		}
	}
	// Rewrite the first body in its own order, with the merged list.
	var buf bytes.Buffer
	d := json.NewDecoder(bytes.NewReader(outs[0].Body))
	if _, err := d.Token(); err != nil {
		return nil, err
	}
	buf.WriteByte('{')
	n := 0
	wrote := false
	for d.More() {
		kt, err := d.Token()
		if err != nil {
			return nil, err
		}
		var v json.RawMessage
		if err := d.Decode(&v); err != nil {
			return nil, err
		}
		key := kt.(string)
		if n > 0 {
			buf.WriteByte(',')
		}
		n++
		kb, _ := json.Marshal(key)
		buf.Write(kb)
		buf.WriteByte(':')
		if key == field {
			lb, _ := json.Marshal(items)
			buf.Write(lb)
			wrote = true
			continue
		}
		buf.Write(v)
	}
	if !wrote && len(items) > 0 {
		kb, _ := json.Marshal(field)
		lb, _ := json.Marshal(items)
		if n > 0 {
			buf.WriteByte(',')
		}
		buf.Write(kb)
		buf.WriteByte(':')
		buf.Write(lb)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

func (b *bodyNode) get(key string) *bodyNode {
	for i, k := range b.keys {
		if k == key {
			return b.vals[i]
		}
	}
	return nil
}

// IDs returns the Type/id of each resource rec yields, without building them: what Apply
// would write, for a caller that plans the writes of a file. A record Apply refuses may
// still give ids here.
func (b *Binding) IDs(rec adapters.Record, env Env) []string {
	sp := b.spec
	c := &evalCtx{spec: sp, b: b, rec: rec, ids: map[string]string{},
		vars: map[string]string{"lg": env.LG, "tenant": env.Tenant, "source": sp.Source, "file": rec.File}}
	var ids []string
	for _, r := range sp.Resources {
		if len(r.Each) > 0 || r.Collect != "" {
			continue // per-column resources have their own keys; collected ones are merged
		}
		if r.when != nil {
			v, err := c.template(r.when)
			if err != nil || !truthy(v) {
				continue
			}
		}
		k, err := c.keyText(r.key)
		if err != nil || k == "" {
			continue
		}
		ids = append(ids, r.Type+"/"+ID(sp.Source, r.Name, k))
	}
	return ids
}

// SourceURI is the meta.source of what a source's import writes.
func SourceURI(source string) string { return "urn:kodomohub:source:" + source }

// ID is the id of the resource name of source with natural key key: the same in every
// import, so that importing a record again updates what the last import wrote.
func ID(source, name, key string) string {
	h := sha256.Sum256([]byte(source + "\x00" + name + "\x00" + key))
	return name + "-" + hex.EncodeToString(h[:10])
}

func (c *evalCtx) setEach(column string) {
	if column == "" {
		delete(c.vars, "column")
		delete(c.vars, "value")
		return
	}
	c.vars["column"] = column
	c.vars["value"] = c.column(column)
}

// column is the record's value of a spec column ("" when the file has no such column).
func (c *evalCtx) column(name string) string {
	h := c.b.header[name]
	if h == "" {
		return ""
	}
	return c.rec.Value(h)
}

// rowError is an error about a value of the record.
type rowError struct {
	column, value, reason string
}

func (e *rowError) Error() string { return e.reason }

func (c *evalCtx) fail(err error) *adapters.Problem {
	p := &adapters.Problem{File: c.rec.File, Line: c.rec.Line, Reason: err.Error()}
	if re, ok := err.(*rowError); ok {
		p.Column, p.Value, p.Reason = c.b.header[re.column], re.value, re.reason
		if p.Column == "" {
			p.Column = re.column
		}
	}
	return p
}

// write writes the JSON of a body node.
func (c *evalCtx) write(w *bytes.Buffer, b *bodyNode) error {
	switch b.kind {
	case nullNode:
		w.WriteString("null")
	case mapNode:
		if b.when != nil {
			v, err := c.template(b.when)
			if err != nil {
				return err
			}
			if !truthy(v) {
				w.WriteString("null")
				return nil
			}
		}
		w.WriteByte('{')
		for i, k := range b.keys {
			if i > 0 {
				w.WriteByte(',')
			}
			kb, _ := json.Marshal(k)
			w.Write(kb)
			w.WriteByte(':')
			if err := c.write(w, b.vals[i]); err != nil {
				return err
			}
		}
		w.WriteByte('}')
	case seqNode:
		w.WriteByte('[')
		for i, v := range b.vals {
			if i > 0 {
				w.WriteByte(',')
			}
			if err := c.write(w, v); err != nil {
				return err
			}
		}
		w.WriteByte(']')
	default:
		if b.tmpl == nil {
			w.WriteString(b.raw)
			return nil
		}
		v, err := c.template(b.tmpl)
		if err != nil {
			return err
		}
		enc, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("line %d: %v", b.line, err)
		}
		w.Write(enc)
	}
	return nil
}

// template evaluates t: the whole expression's value, or the text of its parts ("" when a
// part is empty).
func (c *evalCtx) template(t *template) (any, error) {
	if t.whole != nil {
		v, err := c.eval(t.whole)
		return v.v, err
	}
	var b strings.Builder
	for _, p := range t.parts {
		if p.e == nil {
			b.WriteString(p.text)
			continue
		}
		v, err := c.eval(p.e)
		if err != nil {
			return nil, err
		}
		s := v.str()
		if s == "" {
			return "", nil
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

// keyText evaluates a key: its parts joined, empty ones included (a key's optional parts may
// be empty; only a key with no value at all is refused).
func (c *evalCtx) keyText(t *template) (string, error) {
	var b strings.Builder
	empty := true
	for _, p := range t.parts {
		if p.e == nil {
			b.WriteString(p.text)
			continue
		}
		v, err := c.eval(p.e)
		if err != nil {
			return "", err
		}
		if s := v.str(); s != "" {
			empty = false
			b.WriteString(s)
		}
	}
	if empty {
		return "", nil
	}
	return b.String(), nil
}

func (c *evalCtx) eval(e *expr) (value, error) {
	switch e.kind {
	case columnExpr:
		s := c.column(e.name)
		if s == "" {
			return value{column: e.name}, nil
		}
		return value{v: s, column: e.name}, nil
	case varExpr:
		s := c.vars[e.name]
		v := value{}
		if s != "" {
			v.v = s
		}
		if e.name == "value" {
			v.column = c.vars["column"]
		}
		return v, nil
	case refExpr:
		return value{v: c.ids[e.name]}, nil
	case literalExpr:
		return value{v: e.name}, nil
	}
	args := make([]value, len(e.args))
	column := ""
	for i, a := range e.args {
		v, err := c.eval(a)
		if err != nil {
			return value{}, err
		}
		args[i] = v
		if column == "" && v.column != "" && !(e.fn.codeMap && i == 0) {
			column = v.column
		}
	}
	out, err := e.fn.call(c, args)
	if err != nil {
		if _, ok := err.(*rowError); ok {
			return value{}, err
		}
		val := ""
		for i, a := range args {
			if a.column == column && !(e.fn.codeMap && i == 0) {
				val = a.str()
				break
			}
		}
		return value{}, &rowError{column: column, value: val, reason: err.Error()}
	}
	return value{v: out, column: column}, nil
}

func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	}
	return true
}
