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
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// Collection is the result of an evaluation: an ordered list of items.
type Collection []Item

// Item is one value of a Collection.
type Item struct {
	// Value is the JSON value (map[string]any for complex types, string/json.Number/bool for
	// primitives), or nil for a resolve() stub or a primitive that has only extensions.
	Value any
	// Type is the FHIR type name: "HumanName", "Reference", "date", "dateTime", "code",
	// "Patient", "BackboneElement", … ("" if unknown).
	Type string
	// Path is the element path the item came from, e.g. "Patient.name".
	Path string

	def *typeInfo      // the type model entry, when known (backbone elements have their own)
	ext map[string]any // a primitive's "_element" sibling (id, extension)
}

// Option configures an evaluation.
type Option func(*options)

type options struct {
	resolver func(string) (any, bool)
	vars     map[string]Collection
}

// WithResolver lets resolve() return real content: r is called with the reference as
// written ("Patient/123", an absolute URL or a canonical). Without it, or when r reports
// !ok, resolve() returns a content-less item typed by the reference's target type.
func WithResolver(r func(reference string) (resource any, ok bool)) Option {
	return func(o *options) { o.resolver = r }
}

// WithVariable binds %name to v.
func WithVariable(name string, v Collection) Option {
	return func(o *options) {
		if o.vars == nil {
			o.vars = map[string]Collection{}
		}
		o.vars[name] = v
	}
}

// Decode is a helper: json.Unmarshal with UseNumber into any.
func Decode(raw []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, errors.New("fhirpath: trailing data after JSON value")
	}
	return v, nil
}

// Limits on one evaluation.
const (
	maxItems = 1 << 20 // items in any one collection
	maxSteps = 1 << 22 // items produced, visited or compared in total
)

// EvalError is the error Evaluate returns.
type EvalError struct {
	Expr string
	Msg  string
}

func (e *EvalError) Error() string { return "fhirpath: " + e.Expr + ": " + e.Msg }

type evalCtx struct {
	root  Collection // %resource
	opts  options
	this  Collection
	index int
	total Collection
	steps int
}

type evalErr string

func errorf(format string, args ...any) error { return evalErr(fmt.Sprintf(format, args...)) }
func (e evalErr) Error() string               { return string(e) }

// Evaluate runs e against a resource decoded by encoding/json with UseNumber
// (map[string]any, []any, string, json.Number, bool). The resource's type comes from
// resourceType.
func (e *Expression) Evaluate(resource any, opts ...Option) (out Collection, err error) {
	c := &evalCtx{}
	for _, o := range opts {
		o(&c.opts)
	}
	if resource != nil {
		c.root = Collection{typedValue(resource, nil, "")}
	}
	c.this = c.root
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, &EvalError{Expr: e.src, Msg: fmt.Sprint("internal error: ", r)}
		}
	}()
	out, err = e.root.eval(c, c.root)
	if err != nil {
		return nil, &EvalError{Expr: e.src, Msg: err.Error()}
	}
	return out, nil
}

// typedValue makes an item of v; a JSON object with a resourceType is typed by it.
func typedValue(v any, t *typeInfo, path string) Item {
	if m, ok := v.(map[string]any); ok && (t == nil || t.name == "Resource" || t.name == "DomainResource") {
		if rt, _ := m["resourceType"].(string); rt != "" {
			if rti := lookupType(rt); rti != nil && rti.kind == 'r' {
				t = rti
				if path == "" {
					path = rt
				}
			}
		}
	}
	it := Item{Value: v, Path: path, def: t}
	if t != nil {
		it.Type = t.fhirType()
	}
	return it
}

// model returns the type model entry of it: its own, or one found from Type or from a
// resourceType (for items built by callers, such as variables).
func (it *Item) model() *typeInfo {
	if it.def != nil {
		return it.def
	}
	if it.Type != "" {
		return lookupType(it.Type)
	}
	if m, ok := it.Value.(map[string]any); ok {
		if rt, _ := m["resourceType"].(string); rt != "" {
			if t := lookupType(rt); t != nil && t.kind == 'r' {
				return t
			}
		}
	}
	return nil
}

func (c *evalCtx) step(n int) error {
	c.steps += n
	if c.steps > maxSteps {
		return errorf("evaluation too large")
	}
	return nil
}

func (c *evalCtx) add(out Collection, it ...Item) (Collection, error) {
	if len(out)+len(it) > maxItems {
		return nil, errorf("collection too large")
	}
	if err := c.step(len(it)); err != nil {
		return nil, err
	}
	return append(out, it...), nil
}

type node interface {
	eval(c *evalCtx, focus Collection) (Collection, error)
}

type literalNode struct{ val Collection }

func (n *literalNode) eval(*evalCtx, Collection) (Collection, error) { return n.val, nil }

type specialNode struct{ name string }

func (n *specialNode) eval(c *evalCtx, _ Collection) (Collection, error) {
	switch n.name {
	case "$this":
		return c.this, nil
	case "$index":
		return Collection{intItem(int64(c.index))}, nil
	default:
		return c.total, nil
	}
}

const ucumSystem = "http://unitsofmeasure.org"

type varNode struct{ name string }

func (n *varNode) eval(c *evalCtx, _ Collection) (Collection, error) {
	if v, ok := c.opts.vars[n.name]; ok {
		return v, nil
	}
	switch n.name {
	case "resource", "rootResource", "context":
		return c.root, nil
	case "ucum":
		return Collection{strItem(ucumSystem)}, nil
	case "sct":
		return Collection{strItem("http://snomed.info/sct")}, nil
	case "loinc":
		return Collection{strItem("http://loinc.org")}, nil
	}
	return nil, errorf("undefined variable %%%s", n.name)
}

// memberNode navigates to the children called name of each input item. Without a
// receiver it applies to $this, and a capitalised name that is the type of $this (or one
// of its bases) selects $this itself ("Patient.name").
type memberNode struct {
	recv node
	name string
}

func (n *memberNode) eval(c *evalCtx, _ Collection) (Collection, error) {
	in := c.this
	if n.recv != nil {
		var err error
		if in, err = n.recv.eval(c, c.this); err != nil {
			return nil, err
		}
	} else if n.name != "" && n.name[0] >= 'A' && n.name[0] <= 'Z' {
		if len(in) > 0 && in[0].model() != nil && in[0].model().isA(n.name) {
			return in, nil
		}
	}
	var out Collection
	for i := range in {
		var err error
		if out, err = c.children(out, &in[i], n.name); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// children appends the children called name of it to out.
func (c *evalCtx) children(out Collection, it *Item, name string) (Collection, error) {
	m, ok := it.Value.(map[string]any)
	if !ok {
		if it.ext != nil && (name == "extension" || name == "id") {
			return c.appendValues(out, it.ext[name], nil, lookupType(map[string]string{"id": "string", "extension": "Extension"}[name]), it.Path+"."+name)
		}
		return out, nil
	}
	def := it.model()
	if def == nil { // untyped JSON
		if v, ok := m[name]; ok {
			return c.appendValues(out, v, m["_"+name], nil, it.Path+"."+name)
		}
		return out, nil
	}
	e := def.element(name)
	if e == nil {
		// Not an element of the type: a choice element written with its type
		// ("valueQuantity"), or data the model does not know.
		for i := 1; i < len(name); i++ {
			if name[i] >= 'A' && name[i] <= 'Z' {
				if ce := def.element(name[:i]); ce != nil && ce.choice {
					if t := ce.bySuffix[name[i:]]; t != nil {
						return c.appendValues(out, m[name], m["_"+name], t, it.Path+"."+name[:i])
					}
				}
				break
			}
		}
		if v, ok := m[name]; ok && name != "resourceType" {
			return c.appendValues(out, v, m["_"+name], nil, it.Path+"."+name)
		}
		return out, nil
	}
	path := it.Path + "." + name
	if !e.choice {
		v, ok := m[name]
		x, okx := m["_"+name]
		if !ok && !okx {
			return out, nil
		}
		return c.appendValues(out, v, x, e.types[0], path)
	}
	if len(m) <= len(e.types) { // fewer keys than types: scan the keys
		start := len(out)
		for k, v := range m {
			if len(k) > len(name) && strings.HasPrefix(k, name) {
				if t := e.bySuffix[k[len(name):]]; t != nil {
					var err error
					if out, err = c.appendValues(out, v, m["_"+k], t, path); err != nil {
						return nil, err
					}
				}
			} else if len(k) > len(name)+1 && k[0] == '_' && strings.HasPrefix(k[1:], name) {
				if _, dup := m[k[1:]]; !dup {
					if t := e.bySuffix[k[len(name)+1:]]; t != nil {
						var err error
						if out, err = c.appendValues(out, nil, v, t, path); err != nil {
							return nil, err
						}
					}
				}
			}
		}
		if len(out)-start > 1 { // invalid data with several choices: keep the model's order
			part := out[start:]
			slices.SortStableFunc(part, func(a, b Item) int {
				return slices.Index(e.types, a.def) - slices.Index(e.types, b.def)
			})
		}
		return out, nil
	}
	for _, t := range e.types {
		key := name + strings.ToUpper(t.name[:1]) + t.name[1:]
		v, ok := m[key]
		x, okx := m["_"+key]
		if ok || okx {
			var err error
			if out, err = c.appendValues(out, v, x, t, path); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// appendValues appends the items of the JSON value v (a value or an array) typed t, with
// the primitive extension sibling x.
func (c *evalCtx) appendValues(out Collection, v, x any, t *typeInfo, path string) (Collection, error) {
	if arr, ok := v.([]any); ok {
		xs, _ := x.([]any)
		if len(out)+len(arr) > maxItems {
			return nil, errorf("collection too large")
		}
		if err := c.step(len(arr)); err != nil {
			return nil, err
		}
		for i, e := range arr {
			var xe any
			if i < len(xs) {
				xe = xs[i]
			}
			if e == nil && xe == nil {
				continue
			}
			out = append(out, valueItem(e, xe, t, path))
		}
		// extensions of primitives whose array of values is absent or shorter
		for i := len(arr); i < len(xs); i++ {
			if xs[i] != nil {
				out = append(out, valueItem(nil, xs[i], t, path))
			}
		}
		return out, nil
	}
	if xs, ok := x.([]any); ok && v == nil {
		return c.appendValues(out, nil, xs, t, path)
	}
	if v == nil && x == nil {
		return out, nil
	}
	return c.add(out, valueItem(v, x, t, path))
}

func valueItem(v, x any, t *typeInfo, path string) Item {
	it := typedValue(v, t, path)
	if xm, ok := x.(map[string]any); ok {
		if _, complex := v.(map[string]any); !complex {
			it.ext = xm
		}
	}
	return it
}

type indexerNode struct{ recv, idx node }

func (n *indexerNode) eval(c *evalCtx, _ Collection) (Collection, error) {
	in, err := n.recv.eval(c, c.this)
	if err != nil {
		return nil, err
	}
	ix, err := n.idx.eval(c, c.this)
	if err != nil {
		return nil, err
	}
	if len(ix) == 0 {
		return nil, nil
	}
	i, ok := toInt(ix)
	if !ok {
		return nil, errorf("index must be an integer")
	}
	if i < 0 || i >= int64(len(in)) {
		return nil, nil
	}
	return in[i : i+1 : i+1], nil
}

type unionNode struct{ parts []node }

func (n *unionNode) eval(c *evalCtx, _ Collection) (Collection, error) {
	var out Collection
	for _, p := range n.parts {
		v, err := p.eval(c, c.this)
		if err != nil {
			return nil, err
		}
		if out, err = c.union(out, v); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// union appends the items of b not already in a (nor earlier in b).
func (c *evalCtx) union(a, b Collection) (Collection, error) {
	if len(a)+len(b) <= 16 { // small: compare directly
		for _, it := range b {
			if !containsItem(c, a, it) {
				a = append(a, it)
			}
		}
		return a, c.step(len(b))
	}
	var set itemSet
	for _, it := range a {
		if err := set.add(c, it); err != nil {
			return nil, err
		}
	}
	for _, it := range b {
		if set.has(c, it) {
			continue
		}
		if err := set.add(c, it); err != nil {
			return nil, err
		}
		var err error
		if a, err = c.add(a, it); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// itemSet finds equal items: primitives by a canonical key, complex values by identity
// and then by a (budgeted) deep comparison.
type itemSet struct {
	keys    map[string]bool
	complex Collection
}

func primitiveKey(it Item) (string, bool) {
	switch v := it.Value.(type) {
	case string:
		switch classOf(it) {
		case cDate:
			return "d" + v, true
		case cTime:
			return "t" + v, true
		}
		return "s" + v, true
	case bool:
		if v {
			return "T", true
		}
		return "F", true
	case json.Number:
		if r, ok := parseRat(string(v)); ok {
			return "n" + r.RatString(), true
		}
		return "n" + string(v), true
	case nil:
		return "0" + it.Type, true
	}
	return "", false
}

func (s *itemSet) add(c *evalCtx, it Item) error {
	if k, ok := primitiveKey(it); ok {
		if s.keys == nil {
			s.keys = map[string]bool{}
		}
		s.keys[k] = true
		return nil
	}
	s.complex = append(s.complex, it)
	return nil
}

func (s *itemSet) has(c *evalCtx, it Item) bool {
	if k, ok := primitiveKey(it); ok {
		return s.keys[k]
	}
	if c.step(len(s.complex)) != nil {
		return false // over budget: the caller's next add reports it
	}
	return containsItem(c, s.complex, it)
}

func containsItem(c *evalCtx, a Collection, it Item) bool {
	m, isMap := it.Value.(map[string]any)
	for _, x := range a {
		if isMap {
			if xm, ok := x.Value.(map[string]any); ok && sameMap(xm, m) {
				return true
			}
		}
		if eq, ok := equal(c, x, it); ok && eq {
			return true
		}
	}
	return false
}

// sameMap reports whether a and b are the same map (not merely equal).
func sameMap(a, b map[string]any) bool {
	return len(a) == len(b) && reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

type typeNode struct {
	op  string // is, as
	x   node
	typ string
}

func (n *typeNode) eval(c *evalCtx, _ Collection) (Collection, error) {
	in, err := n.x.eval(c, c.this)
	if err != nil {
		return nil, err
	}
	if n.op == "is" {
		if len(in) == 0 {
			return nil, nil
		}
		if len(in) > 1 {
			return nil, errorf("'is' needs a single item, got %d", len(in))
		}
		return boolColl(isType(in[0], n.typ)), nil
	}
	return ofType(in, n.typ), nil
}

func ofType(in Collection, typ string) Collection {
	var out Collection
	for _, it := range in {
		if isType(it, typ) {
			out = append(out, it)
		}
	}
	return out
}

// systemTypes maps the FHIRPath System types to the FHIR types whose values they hold.
var systemTypes = map[string][]string{
	"String":   {"string", "code", "id", "markdown", "uri", "url", "canonical", "oid", "uuid", "base64Binary", "xhtml"},
	"Boolean":  {"boolean"},
	"Integer":  {"integer", "positiveInt", "unsignedInt"},
	"Decimal":  {"decimal"},
	"Date":     {"date"},
	"DateTime": {"dateTime", "instant"},
	"Time":     {"time"},
	"Quantity": {"Quantity"},
}

// isType reports whether it is of type name: an exact match for primitive types, the type
// or a derived one for complex types and resources, and the FHIRPath System types
// (System.String, Integer, DateTime, …) for the FHIR types holding such values.
func isType(it Item, name string) bool {
	if rest, ok := strings.CutPrefix(name, "FHIR."); ok {
		name = rest
	} else if rest, ok := strings.CutPrefix(name, "System."); ok {
		name = rest
		if rest == "Quantity" {
			return it.Type == "Quantity" || it.model() != nil && it.model().isA("Quantity")
		}
		return slices.Contains(systemTypes[rest], it.Type)
	}
	if it.Type == name {
		return true
	}
	if t := lookupType(name); t != nil {
		def := it.model()
		if t.kind == 'p' || def == nil {
			return false
		}
		return def.isA(name)
	}
	return slices.Contains(systemTypes[name], it.Type)
}

type negNode struct{ x node }

func (n *negNode) eval(c *evalCtx, _ Collection) (Collection, error) {
	v, err := n.x.eval(c, c.this)
	if err != nil || len(v) == 0 {
		return nil, err
	}
	return arith("*", v, Collection{intItem(-1)})
}

type callNode struct {
	recv node
	name string
	fn   *function
	args []node
	typ  string // the type argument of is(), as(), ofType()
}

func (n *callNode) eval(c *evalCtx, _ Collection) (Collection, error) {
	in := c.this
	if n.recv != nil {
		var err error
		if in, err = n.recv.eval(c, c.this); err != nil {
			return nil, err
		}
	}
	if err := c.step(1); err != nil {
		return nil, err
	}
	return n.fn.impl(c, n, in)
}

// arg evaluates argument i in the context of the enclosing expression ($this).
func (c *evalCtx) arg(n *callNode, i int) (Collection, error) {
	if i >= len(n.args) {
		return nil, nil
	}
	return n.args[i].eval(c, c.this)
}

// lambda evaluates argument i once per input item, with $this and $index set.
func (c *evalCtx) lambda(n *callNode, i int, in Collection, f func(j int, it Item, v Collection) (bool, error)) error {
	saveThis, saveIndex := c.this, c.index
	defer func() { c.this, c.index = saveThis, saveIndex }()
	for j, it := range in {
		c.this, c.index = Collection{it}, j
		v, err := n.args[i].eval(c, c.this)
		if err != nil {
			return err
		}
		more, err := f(j, it, v)
		if err != nil || !more {
			return err
		}
	}
	return nil
}
