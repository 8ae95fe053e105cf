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

package search

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/kodomohub/kodomohub/fhir"
	"github.com/kodomohub/kodomohub/fhir/fhirpath"
)

// maxComposite bounds the entries one element yields for a composite parameter (the
// product of its components' values).
const maxComposite = 64

// Extract returns the index entries of resource (decoded with encoding/json UseNumber,
// as fhirpath.Decode does) for every searchable parameter of its resourceType: each
// parameter's FHIRPath expression is evaluated and the items are turned into entries by
// the parameter's type and the items' FHIR types (see Entry). Entries are grouped by
// parameter in code order and are unique within a parameter.
//
// An expression that fails on this resource does not stop the others: the entries of
// the parameters that worked are returned together with an error naming those that failed.
func (r *Registry) Extract(resource any) ([]Entry, error) {
	rt := resourceTypeOf(resource)
	params := r.sorted[rt]
	if rt == "" || params == nil {
		return nil, fhir.Errorf(fhir.KindInvalid, fhir.IssueInvalid, "search: cannot index a resource of type %q", rt)
	}
	out := make([]Entry, 0, 32)
	var errs []error
	for _, p := range params {
		if !p.Searchable() {
			continue
		}
		var err error
		if out, err = r.extract(out, p, resource); err != nil {
			errs = append(errs, fmt.Errorf("%s.%s: %w", rt, p.Code, err))
		}
	}
	return out, errors.Join(errs...)
}

// ExtractParam returns the entries of one parameter of resource.
func (r *Registry) ExtractParam(p *Param, resource any) ([]Entry, error) {
	return r.extract(nil, p, resource)
}

func resourceTypeOf(resource any) string {
	m, _ := resource.(map[string]any)
	rt, _ := m["resourceType"].(string)
	return rt
}

func (r *Registry) extract(out []Entry, p *Param, resource any) ([]Entry, error) {
	expr, err := p.compile()
	if err != nil {
		return out, err
	}
	items, err := expr.Evaluate(resource)
	if err != nil {
		return out, err
	}
	start := len(out)
	if p.Type == Composite {
		return r.composite(out, p, items)
	}
	for i := range items {
		out = r.appendItem(out, start, p.Code, p.Type, &items[i])
	}
	return out, nil
}

// composite evaluates each component on each element the composite expression selects,
// and appends one entry per combination of the components' entries.
func (r *Registry) composite(out []Entry, p *Param, items fhirpath.Collection) ([]Entry, error) {
	n := len(p.Components)
	if n == 0 {
		return out, nil
	}
	parts := make([][]Entry, n)
	for i := range items {
		for j := range p.Components {
			c := &p.Components[j]
			if c.Param == nil || !c.Param.Searchable() || c.Param.Type == Composite {
				return out, fmt.Errorf("component %s is not searchable", c.Definition)
			}
			expr, err := c.compileElem()
			if err != nil {
				return out, err
			}
			sub, err := expr.Evaluate(nil, fhirpath.WithVariable("elem", items[i:i+1]))
			if err != nil {
				return out, err
			}
			parts[j] = parts[j][:0]
			for k := range sub {
				parts[j] = r.appendItem(parts[j], 0, c.Param.Code, c.Param.Type, &sub[k])
			}
		}
		// Cartesian product of the parts, bounded.
		idx := make([]int, n)
		for count := 0; count < maxComposite; count++ {
			e := Entry{Code: p.Code, Type: Composite, Parts: make([]Entry, n)}
			for j := range n {
				if len(parts[j]) == 0 {
					goto next
				}
				e.Parts[j] = parts[j][idx[j]]
			}
			out = append(out, e)
			// advance the odometer
			for j := n - 1; ; j-- {
				if j < 0 {
					goto next
				}
				if idx[j]++; idx[j] < len(parts[j]) {
					break
				}
				idx[j] = 0
			}
		}
	next:
	}
	return out, nil
}

// compileElem compiles the component expression relative to %elem, the element the
// composite's expression selected (so the element keeps its FHIR type).
func (c *Component) compileElem() (*fhirpath.Expression, error) {
	c.once.Do(func() {
		parts := splitUnion(c.Expression)
		for i, s := range parts {
			if !strings.HasPrefix(s, "%") {
				parts[i] = "%elem." + s
			}
		}
		c.compiled, c.err = fhirpath.Compile(strings.Join(parts, " | "))
	})
	return c.compiled, c.err
}

// appendItem appends the entries of one item to out, skipping those already present in
// out[start:].
func (r *Registry) appendItem(out []Entry, start int, code string, typ Type, it *fhirpath.Item) []Entry {
	add := func(e Entry) {
		e.Code, e.Type = code, typ
		for i := start; i < len(out); i++ {
			if sameEntry(&out[i], &e) {
				return
			}
		}
		out = append(out, e)
	}
	ft := itemType(it)
	m, _ := it.Value.(map[string]any)
	switch typ {
	case String:
		switch ft {
		case "HumanName":
			for _, k := range [...]string{"family", "given", "prefix", "suffix", "text"} {
				eachString(m[k], func(s string) { add(stringEntry(s)) })
			}
		case "Address":
			for _, k := range [...]string{"line", "city", "district", "state", "postalCode", "country", "text"} {
				eachString(m[k], func(s string) { add(stringEntry(s)) })
			}
		default:
			if s, ok := it.Value.(string); ok {
				add(stringEntry(s))
			}
		}
	case Token:
		switch ft {
		case "Coding":
			if e, ok := coding(m); ok {
				add(e)
			}
		case "CodeableConcept":
			codings, _ := m["coding"].([]any)
			for _, c := range codings {
				if e, ok := coding(asMap(c)); ok {
					add(e)
				}
			}
			if t := str(m, "text"); t != "" {
				add(Entry{Text: Normalize(t)})
			}
		case "Identifier":
			sys, val := str(m, "system"), str(m, "value")
			if val != "" || sys != "" {
				add(Entry{System: sys, Value: val})
			}
			if typ := asMap(m["type"]); typ != nil && val != "" {
				codings, _ := typ["coding"].([]any)
				for _, c := range codings {
					cm := asMap(c)
					if code := str(cm, "code"); code != "" {
						add(Entry{Kind: KindOfType, System: str(cm, "system"), Value: code, Text: val})
					}
				}
			}
		case "ContactPoint":
			if v := str(m, "value"); v != "" {
				add(Entry{System: str(m, "system"), Value: v})
			}
		default:
			switch v := it.Value.(type) {
			case string:
				add(Entry{Value: v})
			case bool:
				add(Entry{Value: fmt.Sprint(v)})
			case json.Number:
				add(Entry{Value: v.String()})
			}
		}
	case Reference:
		switch v := it.Value.(type) {
		case string: // canonical, uri
			add(urlEntry(v))
		case map[string]any:
			if rt := str(v, "resourceType"); rt != "" { // a resource (Bundle.entry.resource)
				if id := str(v, "id"); id != "" {
					add(Entry{System: rt, Value: id})
				}
				break
			}
			ref := str(v, "reference")
			if ref != "" {
				if e, ok := referenceEntry(ref); ok {
					add(e)
				}
			}
			if id := asMap(v["identifier"]); id != nil {
				if val := str(id, "value"); val != "" {
					add(Entry{Kind: KindIdentifier, System: str(id, "system"), Value: val})
				}
			}
			if t := str(v, "type"); t != "" && ref == "" && v["identifier"] == nil {
				add(Entry{System: t})
			}
		}
	case Date:
		switch ft {
		case "Period":
			lo, hi := MinTime, MaxTime
			okS, okE := false, false
			if s := str(m, "start"); s != "" {
				if l, _, err := DateRange(s, r.loc); err == nil {
					lo, okS = l, true
				}
			}
			if s := str(m, "end"); s != "" {
				if _, h, err := DateRange(s, r.loc); err == nil {
					hi, okE = h, true
				}
			}
			if okS || okE {
				add(Entry{Low: lo, High: hi})
			}
		case "Timing":
			events, _ := m["event"].([]any)
			for _, ev := range events {
				if s, ok := ev.(string); ok {
					if lo, hi, err := DateRange(s, r.loc); err == nil {
						add(Entry{Low: lo, High: hi})
					}
				}
			}
		case "date", "dateTime", "instant", "":
			if s, ok := it.Value.(string); ok {
				if lo, hi, err := DateRange(s, r.loc); err == nil {
					add(Entry{Low: lo, High: hi})
				}
			}
		}
	case Number:
		if n, ok := it.Value.(json.Number); ok {
			if f, err := n.Float64(); err == nil {
				add(Entry{Num: f, Text: n.String()})
			}
		}
	case Quantity:
		if m == nil {
			break
		}
		n, ok := m["value"].(json.Number)
		if !ok {
			break
		}
		f, err := n.Float64()
		if err != nil {
			break
		}
		if ft == "Money" || (m["currency"] != nil && m["code"] == nil) {
			add(Entry{Num: f, System: "urn:iso:std:iso:4217", Value: str(m, "currency")})
			break
		}
		add(Entry{Num: f, System: str(m, "system"), Value: str(m, "code"), Text: str(m, "unit")})
	case URI:
		if s, ok := it.Value.(string); ok {
			add(Entry{Value: s})
		}
	}
	return out
}

func sameEntry(a, b *Entry) bool {
	return a.Kind == b.Kind && a.System == b.System && a.Value == b.Value && a.Text == b.Text &&
		a.Low == b.Low && a.High == b.High && a.Num == b.Num && len(a.Parts) == 0 && len(b.Parts) == 0
}

func stringEntry(s string) Entry { return Entry{Value: Normalize(s), Text: s} }

func coding(m map[string]any) (Entry, bool) {
	code, sys, disp := str(m, "code"), str(m, "system"), str(m, "display")
	if code == "" && sys == "" && disp == "" {
		return Entry{}, false
	}
	e := Entry{System: sys, Value: code}
	if disp != "" {
		e.Text = Normalize(disp)
	}
	return e, true
}

// referenceEntry returns the entry of a Reference.reference value.
func referenceEntry(ref string) (Entry, bool) {
	if strings.HasPrefix(ref, "#") || strings.Contains(ref, "?") {
		return Entry{}, false // contained, conditional
	}
	if r, ok := fhir.ParseReference(ref); ok && r.IsLocal() {
		return Entry{System: r.Type, Value: r.ID}, true
	}
	return Entry{Kind: KindURL, Value: trimURL(ref)}, true
}

// urlEntry returns the entry of a canonical or uri value of a reference parameter: a
// relative "Type/id" is a local reference, anything else a KindURL.
func urlEntry(s string) Entry {
	if r, ok := fhir.ParseReference(s); ok && r.IsLocal() {
		return Entry{System: r.Type, Value: r.ID}
	}
	return Entry{Kind: KindURL, Value: trimURL(s)}
}

// trimURL drops a canonical's |version and a reference's /_history/n.
func trimURL(s string) string {
	if i := strings.LastIndexByte(s, '|'); i >= 0 {
		s = s[:i]
	}
	if i := strings.Index(s, "/_history/"); i >= 0 {
		s = s[:i]
	}
	return s
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func eachString(v any, f func(string)) {
	switch v := v.(type) {
	case string:
		f(v)
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok {
				f(s)
			}
		}
	}
}

// itemType returns the FHIR type of it, guessing from the JSON shape when the FHIRPath
// evaluator does not know it.
func itemType(it *fhirpath.Item) string {
	switch it.Type {
	case "Age", "Duration", "Distance", "Count", "SimpleQuantity", "MoneyQuantity":
		return "Quantity"
	case "":
	default:
		return it.Type
	}
	m, ok := it.Value.(map[string]any)
	if !ok {
		return ""
	}
	has := func(k string) bool { _, ok := m[k]; return ok }
	switch {
	case has("coding"):
		return "CodeableConcept"
	case has("family") || has("given"):
		return "HumanName"
	case has("line") || has("city") || has("postalCode"):
		return "Address"
	case has("start") || has("end"):
		return "Period"
	case has("event") || has("repeat"):
		return "Timing"
	case has("currency"):
		return "Money"
	case has("reference"):
		return "Reference"
	case has("code") && has("system") && !has("value"):
		return "Coding"
	case has("value") && (has("unit") || has("code")):
		return "Quantity"
	case has("value") && has("system") && has("use") && !has("type"):
		return "ContactPoint"
	case has("value"):
		return "Identifier"
	}
	return ""
}
