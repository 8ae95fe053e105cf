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
	"strconv"
	"strings"
	"sync"

	"github.com/kodomohub/kodomohub/fhir"
)

// MaxIssues caps the issues one Validate call reports.
const MaxIssues = 100

// Validator checks resources against the base FHIR R4 StructureDefinitions compiled into
// the package. It is safe for concurrent use.
type Validator struct {
	s *schema
}

// NewValidator compiles the embedded R4 definitions. It takes a few milliseconds; share the
// result (or use Default).
func NewValidator() (*Validator, error) {
	s, err := loadSchema()
	if err != nil {
		return nil, err
	}
	return &Validator{s: s}, nil
}

var defaultValidator = sync.OnceValues(NewValidator)

// Default returns the package's shared Validator, compiled on first use. It panics if the
// embedded table is broken, which the package's tests rule out.
func Default() *Validator {
	v, err := defaultValidator()
	if err != nil {
		panic(err)
	}
	return v
}

// Validate checks raw with the Default validator.
func Validate(raw []byte) error { return Default().Validate(raw) }

// Validate checks that raw is a FHIR R4 resource in JSON form that conforms to the base
// StructureDefinition of its resourceType (see the package comment for the rules). It
// returns nil when it does, a *fhir.Error of kind invalid when raw is not JSON at all, and
// otherwise a *fhir.Error of kind unprocessable and one issue per problem found (at most
// MaxIssues).
func (v *Validator) Validate(raw []byte) error {
	p := getParser(raw)
	defer putParser(p)
	root, err := p.parse()
	if err != nil {
		return fhir.Errorf(fhir.KindInvalid, fhir.IssueStructure, "the body is not valid JSON: %s", p.err)
	}
	w := walker{s: v.s, paths: p.paths[:0]}
	defer func() { p.paths = w.paths[:0] }()
	if root.kind != jObj {
		w.add(nil, fhir.IssueStructure, "a resource must be a JSON object, not a "+root.kind.String())
	} else {
		w.resource(&root, nil)
	}
	if len(w.issues) == 0 {
		return nil
	}
	return &fhir.Error{Kind: fhir.KindUnprocessable, Issues: w.issues}
}

// path is a FHIRPath-like location, built on the stack and turned into a string only when
// an issue is reported.
type path struct {
	parent *path
	name   string // element name; for a root, the resource type
	index  int    // -1 for a singleton
}

func (p *path) String() string {
	if p == nil {
		return ""
	}
	var segs [64]*path
	n := 0
	for q := p; q != nil && n < len(segs); q = q.parent {
		segs[n] = q
		n++
	}
	var b strings.Builder
	for i := n - 1; i >= 0; i-- {
		q := segs[i]
		if i != n-1 {
			b.WriteByte('.')
		}
		b.WriteString(q.name)
		if q.index >= 0 {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(q.index))
			b.WriteByte(']')
		}
	}
	return b.String()
}

type walker struct {
	s      *schema
	issues []fhir.Issue
	full   bool
	paths  []path // slab for path segments; a full slab is replaced, never grown
}

// at returns the path of name (at index, or -1) under parent.
func (w *walker) at(parent *path, name string, index int) *path {
	if len(w.paths) == cap(w.paths) {
		w.paths = make([]path, 0, 256)
	}
	w.paths = append(w.paths, path{parent, name, index})
	return &w.paths[len(w.paths)-1]
}

// extOf returns the member "_"+key of obj, or nil.
func extOf(obj *jvalue, key string) *jvalue {
	for i := range obj.kids {
		k := obj.kids[i].key
		if len(k) == len(key)+1 && k[0] == '_' && k[1:] == key {
			return &obj.kids[i].val
		}
	}
	return nil
}

func (w *walker) add(at *path, code fhir.IssueType, msg string) {
	if w.full {
		return
	}
	if len(w.issues) == MaxIssues {
		w.full = true
		w.issues = append(w.issues, fhir.Issue{Severity: fhir.SeverityError, Code: fhir.IssueTooCostly,
			Diagnostics: "more than " + strconv.Itoa(MaxIssues) + " issues; validation stopped"})
		return
	}
	is := fhir.Issue{Severity: fhir.SeverityError, Code: code, Diagnostics: msg}
	if at != nil {
		is.Expression = []string{at.String()}
	}
	w.issues = append(w.issues, is)
}

// resource validates a whole resource; at is nil for the top level, or where the resource
// sits inside another one (contained, Bundle.entry.resource…).
func (w *walker) resource(obj *jvalue, at *path) {
	rt := obj.get("resourceType")
	rtPath := w.at(at, "resourceType", -1)
	switch {
	case rt == nil:
		w.add(rtPath, fhir.IssueRequired, "the resource has no resourceType")
		return
	case rt.kind != jStr:
		w.add(rtPath, fhir.IssueStructure, "resourceType must be a string, not a "+rt.kind.String())
		return
	case !w.s.resources[rt.s]:
		w.add(rtPath, fhir.IssueValue, "unknown resource type "+strconv.Quote(rt.s))
		return
	}
	n := w.s.types[rt.s]
	if at == nil {
		at = w.at(nil, rt.s, -1)
	}
	w.object(obj, n, at)
}

// object validates the members of obj against the shape n.
func (w *walker) object(obj *jvalue, n *node, at *path) {
	if len(obj.kids) == 0 {
		w.add(at, fhir.IssueStructure, "empty object: omit the element instead")
		return
	}
	if obj.dup {
		w.duplicates(obj, at)
	}
	var seenBuf [48]uint16 // count of properties per element of n
	var seen []uint16
	if len(n.elems) <= len(seenBuf) {
		seen = seenBuf[:len(n.elems)]
	} else {
		seen = make([]uint16, len(n.elems))
	}
	for i := range obj.kids {
		m := &obj.kids[i]
		key := m.key
		if key == "resourceType" && n.resource {
			continue
		}
		if len(key) > 1 && key[0] == '_' {
			f := n.fields[key[1:]]
			if f == nil || f.prim == 0 {
				w.unknown(at, key, n)
				continue
			}
			if obj.get(key[1:]) != nil {
				continue // checked with its value
			}
			seen[f.elem.idx]++
			w.property(f, key[1:], nil, &m.val, at)
			continue
		}
		f := n.fields[key]
		if f == nil {
			w.unknown(at, key, n)
			continue
		}
		seen[f.elem.idx]++
		var ext *jvalue
		if f.prim != 0 {
			ext = extOf(obj, key)
		}
		w.property(f, key, &m.val, ext, at)
	}
	for i, e := range n.elems {
		switch {
		case seen[i] == 0 && e.min > 0:
			w.add(&path{at, strings.TrimSuffix(e.name, "[x]"), -1}, fhir.IssueRequired,
				"missing required element "+n.path+"."+e.name)
		case seen[i] > 1 && e.choice:
			w.add(&path{at, strings.TrimSuffix(e.name, "[x]"), -1}, fhir.IssueStructure,
				"only one type of "+n.path+"."+e.name+" may be given")
		}
	}
	if n.ext {
		hasValue, hasExt := false, obj.get("extension") != nil
		for i := range obj.kids {
			key := obj.kids[i].key
			hasValue = hasValue || (strings.HasPrefix(key, "value") || strings.HasPrefix(key, "_value")) && n.fields[strings.TrimPrefix(key, "_")] != nil
		}
		switch {
		case hasValue && hasExt:
			w.add(at, fhir.IssueStructure, "an extension has either a value[x] or nested extensions, not both")
		case !hasValue && !hasExt:
			w.add(at, fhir.IssueStructure, "an extension needs a value[x] or nested extensions")
		}
	}
}

// unknown reports the member key of the object at, which n does not define. A name with a
// control character (no element has one) is reported at the object, so that the
// expression does not carry the character.
func (w *walker) unknown(at *path, key string, n *node) {
	if pos, c := fhir.ControlChar(key); pos >= 0 {
		w.add(at, fhir.IssueStructure, "property name "+strconv.Quote(key)+" in "+n.path+": "+controlMsg(c, pos))
		return
	}
	w.add(w.at(at, key, -1), fhir.IssueStructure, "unknown element "+strconv.Quote(key)+" in "+n.path)
}

func (w *walker) duplicates(obj *jvalue, at *path) {
	for i := range obj.kids {
		if pos, _ := fhir.ControlChar(obj.kids[i].key); pos >= 0 {
			continue // reported as such by object
		}
		for j := 0; j < i; j++ {
			if obj.kids[j].key == obj.kids[i].key {
				w.add(w.at(at, obj.kids[i].key, -1), fhir.IssueStructure,
					"duplicate property "+strconv.Quote(obj.kids[i].key))
				break
			}
		}
	}
}

// property validates one element: val is its JSON value and ext the matching _name value for
// primitives; either may be nil.
func (w *walker) property(f *field, name string, val, ext *jvalue, at *path) {
	e := f.elem
	if e.max == 0 {
		w.add(w.at(at, name, -1), fhir.IssueStructure, "element "+strconv.Quote(name)+" is not allowed here")
		return
	}
	if e.max == 1 {
		if val != nil && val.kind == jArr || ext != nil && ext.kind == jArr {
			w.add(w.at(at, name, -1), fhir.IssueStructure, strconv.Quote(name)+" has at most one value: it must not be an array")
			return
		}
		w.item(f, val, ext, w.at(at, name, -1))
		return
	}
	// A repeating element: arrays, aligned for primitives.
	if val != nil && val.kind != jArr || ext != nil && ext.kind != jArr {
		w.add(w.at(at, name, -1), fhir.IssueStructure, strconv.Quote(name)+" repeats: it must be an array")
		return
	}
	count := 0
	if val != nil {
		count = len(val.kids)
	}
	if ext != nil {
		if val != nil && len(ext.kids) != len(val.kids) {
			w.add(w.at(at, "_"+name, -1), fhir.IssueStructure, "\"_"+name+"\" must have as many items as \""+name+"\"")
			return
		}
		count = max(count, len(ext.kids))
	}
	if count == 0 {
		w.add(w.at(at, name, -1), fhir.IssueStructure, "empty array: omit the element instead")
		return
	}
	if e.max > 0 && count > e.max {
		w.add(w.at(at, name, -1), fhir.IssueStructure, strconv.Quote(name)+" has "+strconv.Itoa(count)+
			" items; at most "+strconv.Itoa(e.max)+" are allowed")
	}
	for i := 0; i < count; i++ {
		var v, x *jvalue
		if val != nil {
			v = &val.kids[i].val
		}
		if ext != nil {
			x = &ext.kids[i].val
		}
		w.item(f, v, x, w.at(at, name, i))
	}
}

// item validates one value of an element (and its primitive extension).
func (w *walker) item(f *field, val, ext *jvalue, at *path) {
	if ext != nil && ext.kind == jNull && at.index >= 0 {
		ext = nil // alignment in _name arrays
	}
	if val != nil && val.kind == jNull && at.index >= 0 && f.prim != 0 && ext != nil {
		val = nil // alignment in value arrays: the extension carries the item
	}
	if val == nil && ext == nil {
		w.add(at, fhir.IssueStructure, "null is not allowed here (only to align a primitive array with its _extension array)")
		return
	}
	if ext != nil {
		if ext.kind != jObj {
			w.add(w.extPath(at), fhir.IssueStructure, "a primitive's extension (\"_"+at.name+"\") must be an object, not a "+ext.kind.String())
		} else {
			w.object(ext, w.s.types[f.typ], w.extPath(at))
		}
	}
	if val == nil {
		return
	}
	switch {
	case val.kind == jNull:
		w.add(at, fhir.IssueStructure, "null is not allowed here (only to align a primitive array with its _extension array)")
	case f.prim != 0:
		if msg := checkPrimitive(f.prim, f.typ, val); msg != "" {
			w.add(at, fhir.IssueValue, msg)
			return
		}
		if b := f.elem.binding; b != nil && b.unchecked == "" && f.prim == pCode && !b.hasCode(val.s) {
			w.add(at, fhir.IssueCodeInvalid, "code "+strconv.Quote(val.s)+" is not in the required value set "+b.url)
		}
	case val.kind != jObj:
		w.add(at, fhir.IssueStructure, "must be a JSON object ("+f.typ+"), not a "+val.kind.String())
	case f.res:
		w.resource(val, at)
	default:
		w.object(val, f.node, at)
		if b := f.elem.binding; b != nil && b.unchecked == "" && f.typ == "CodeableConcept" {
			w.codeableConcept(val, b, at)
		}
		if f.typ == "Reference" && f.elem.targets != nil {
			w.referenceTarget(val, f.elem.targets, at)
		}
	}
}

// referenceTarget checks that a literal reference (relative, absolute or conditional) names
// a resource type the element allows. References whose type the value does not tell
// (contained "#id", urn:uuid:, urn:oid:) are not checked here.
func (w *walker) referenceTarget(ref *jvalue, targets []string, at *path) {
	r := ref.get("reference")
	if r == nil || r.kind != jStr {
		return
	}
	typ := ""
	if t, _, cond := strings.Cut(r.s, "?"); cond && !strings.Contains(t, "/") {
		typ = t // a conditional reference: Type?criteria
	} else if parsed, ok := fhir.ParseReference(r.s); ok {
		typ = parsed.Type
	}
	if typ == "" || !w.s.resources[typ] {
		return
	}
	for _, t := range targets {
		if t == typ {
			return
		}
	}
	w.add(w.at(at, "reference", -1), fhir.IssueValue, "reference "+strconv.Quote(r.s)+" names a "+typ+
		"; this element may reference "+strings.Join(targets, ", "))
}

func (w *walker) extPath(at *path) *path {
	return w.at(at.parent, "_"+at.name, at.index)
}

// codeableConcept checks a required binding: at least one coding must be in the value set.
func (w *walker) codeableConcept(cc *jvalue, vs *valueSet, at *path) {
	codings := cc.get("coding")
	if codings == nil || codings.kind != jArr {
		if cc.get("coding") == nil {
			w.add(at, fhir.IssueCodeInvalid, "no coding from the required value set "+vs.url)
		}
		return
	}
	for i := range codings.kids {
		c := &codings.kids[i].val
		if c.kind != jObj {
			continue
		}
		var sys, code string
		if s := c.get("system"); s != nil && s.kind == jStr {
			sys = s.s
		}
		if s := c.get("code"); s != nil && s.kind == jStr {
			code = s.s
		}
		if code != "" && vs.hasCoding(sys, code) {
			return
		}
	}
	w.add(at, fhir.IssueCodeInvalid, "no coding from the required value set "+vs.url)
}
