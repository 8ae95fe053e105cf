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
	"strings"

	"github.com/kodomohub/kodomohub/adapters"
	"github.com/kodomohub/kodomohub/fhir/r4"
)

// Applying a spec: binding it to a file's headers, and mapping each record to its resources.

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

// newEval starts the evaluation of rec.
func (b *Binding) newEval(rec adapters.Record, env Env) *evalCtx {
	return &evalCtx{spec: b.spec, b: b, rec: rec, ids: map[string]string{},
		vars: map[string]string{"lg": env.LG, "tenant": env.Tenant, "source": b.spec.Source, "file": rec.File}}
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
	c := b.newEval(rec, env)
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
	c := b.newEval(rec, env)
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
