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
	"fmt"
	"maps"
	"math"
	"math/big"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kodomohub/kodomohub/fhir"
)

// ParseOptions configure ParseQuery.
type ParseOptions struct {
	// Lenient ignores unknown and unsupported parameters (Prefer: handling=lenient) and
	// lists them in Query.Ignored instead of failing. Invalid values still fail.
	Lenient bool
	// Now is the time the ap prefix of dates is relative to; zero means time.Now().
	Now time.Time
	// BaseURL is the server's base for this request ("https://hub.example/misato/fhir"): a
	// reference value that starts with it is taken as the relative reference after it.
	BaseURL string
	// Limits bound the cost of the query; zero fields take DefaultLimits, negative ones
	// turn a limit off (NoLimits turns them all off, for queries the server writes).
	Limits Limits
}

// ParseQuery parses the parameters of a search on resourceType ("" for a system-level
// search) into a Query. The errors are *fhir.Error of kind invalid (too-costly when every issue is) whose issues name every
// offending parameter (expression "http."+name, and in the diagnostics):
//
//   - too-costly: a query beyond ParseOptions.Limits (checked first, before any value is
//     parsed);
//   - value: a name or value with a control character (U+0000–U+001F, U+007F);
//   - not-supported: unknown or unsupported parameters (see ParseOptions.Lenient);
//   - invalid: invalid values.
//
// The semantics of the result are documented in query.go.
func (r *Registry) ParseQuery(resourceType string, params url.Values, opts ParseOptions) (*Query, error) {
	if resourceType != "" && r.byType[resourceType] == nil {
		return nil, fhir.Errorf(fhir.KindInvalid, fhir.IssueNotSupported, "unknown resource type %q", resourceType)
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	opts.Limits = opts.Limits.withDefaults()
	keys := slices.Sorted(maps.Keys(params))
	if issues := checkLimits(keys, params, opts.Limits); len(issues) > 0 {
		return nil, queryError(issues)
	}
	p := &parser{r: r, opts: opts, q: &Query{Type: resourceType, Count: -1}}
	for _, key := range keys {
		for _, raw := range params[key] {
			p.param(key, raw)
		}
	}
	if len(p.issues) > 0 {
		return nil, queryError(p.issues)
	}
	slices.Sort(p.q.Ignored)
	p.q.Ignored = slices.Compact(p.q.Ignored)
	return p.q, nil
}

// queryError is the error of a query with issues: too costly when each issue says so,
// invalid otherwise.
func queryError(issues []fhir.Issue) *fhir.Error {
	kind := fhir.KindTooCostly
	for _, is := range issues {
		if is.Code != fhir.IssueTooCostly {
			kind = fhir.KindInvalid
			break
		}
	}
	return &fhir.Error{Kind: kind, Issues: issues}
}

type parser struct {
	r      *Registry
	opts   ParseOptions
	q      *Query
	issues []fhir.Issue
}

// parseError is a problem with one parameter. unsupported problems (unknown names,
// unsupported features) are ignored in lenient mode; the others never are.
type parseError struct {
	unsupported bool
	costly      bool // beyond ParseOptions.Limits
	msg         string
}

func (e *parseError) Error() string { return e.msg }

func unsupported(format string, args ...any) error {
	return &parseError{unsupported: true, msg: fmt.Sprintf(format, args...)}
}

func invalid(format string, args ...any) error {
	return &parseError{msg: fmt.Sprintf(format, args...)}
}

func (p *parser) fail(key string, err error) {
	pe, _ := err.(*parseError)
	if pe == nil {
		pe = &parseError{msg: err.Error()}
	}
	if pe.unsupported && p.opts.Lenient {
		p.q.Ignored = append(p.q.Ignored, key)
		return
	}
	code := fhir.IssueInvalid
	switch {
	case pe.unsupported:
		code = fhir.IssueNotSupported
	case pe.costly:
		code = fhir.IssueTooCostly
	}
	p.issues = append(p.issues, issueAt(key, code, "search parameter %q: %s", key, pe.msg))
}

// param handles one key=value pair.
func (p *parser) param(key, raw string) {
	name, mod, _ := strings.Cut(key, ":")
	q := p.q
	var err error
	switch name {
	case "_format", "_pretty":
		return // the server's business
	case "_cursor":
		q.Cursor = raw
		return
	case "_count":
		n, e := strconv.Atoi(raw)
		if e != nil || n < 0 || mod != "" {
			err = invalid("want a non-negative integer")
		} else {
			q.Count = n
		}
	case "_total":
		switch t := TotalMode(raw); t {
		case TotalNone, TotalEstimate, TotalAccurate:
			q.Total = t
		default:
			err = invalid("want none, estimate or accurate")
		}
	case "_summary":
		switch raw {
		case "true", "count", "data", "text", "false":
			q.Summary = raw
		default:
			err = invalid("want true, count, data, text or false")
		}
	case "_elements":
		for _, el := range strings.Split(raw, ",") {
			el = strings.TrimSpace(el)
			if el == "" {
				continue
			}
			if !validElement(el) {
				err = invalid("%q is not an element name", el)
				break
			}
			q.Elements = append(q.Elements, el)
		}
	case "_sort":
		err = p.sort(raw)
	case "_include", "_revinclude":
		err = p.include(name == "_revinclude", mod, raw)
	case "_type":
		err = p.types(raw)
	case "_text", "_content", "_query", "_filter", "_list", "_contained", "_containedType":
		err = unsupported("not supported by this server")
	default:
		if raw == "" {
			return // an empty parameter is ignored
		}
		var c *Clause
		if c, err = p.clause(q.Type, key, raw, 0); err == nil && c != nil {
			c.Key, c.Raw = key, raw
			q.Clauses = append(q.Clauses, c)
		}
	}
	if err != nil {
		p.fail(key, err)
	}
}

func validElement(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || c == '[' || c == ']') {
			return false
		}
	}
	return true
}

func (p *parser) types(raw string) error {
	for _, t := range strings.Split(raw, ",") {
		if !fhir.IsResourceType(t) {
			return invalid("%q is not a resource type", t)
		}
		if p.q.Type != "" && t != p.q.Type {
			return invalid("_type %s on a %s search", t, p.q.Type)
		}
		if p.q.Type == "" && !slices.Contains(p.q.Types, t) {
			p.q.Types = append(p.q.Types, t)
		}
	}
	return nil
}

func (p *parser) sort(raw string) error {
	for _, k := range strings.Split(raw, ",") {
		k = strings.TrimSpace(k)
		if k == "" {
			continue
		}
		desc := strings.HasPrefix(k, "-")
		code := strings.TrimPrefix(k, "-")
		prm, ok := p.r.Lookup(p.q.Type, code)
		if !ok {
			return unsupported("unknown sort parameter %q", code)
		}
		if !prm.Sortable() {
			return unsupported("cannot sort by %q (%s)", code, prm.Type)
		}
		p.q.Sort = append(p.q.Sort, SortKey{Param: prm, Desc: desc})
	}
	return nil
}

func (p *parser) include(rev bool, mod, raw string) error {
	in := Include{}
	switch mod {
	case "":
	case "iterate", "recurse":
		in.Iterate = true
	default:
		return unsupported("unknown modifier :%s", mod)
	}
	if raw == "*" {
		if rev || p.q.Type == "" {
			return unsupported("* needs a type-level _include")
		}
		in.Type = p.q.Type
	} else {
		parts := strings.Split(raw, ":")
		if len(parts) < 2 || len(parts) > 3 {
			return invalid("want Type:parameter[:targetType]")
		}
		in.Type = parts[0]
		if !fhir.IsResourceType(in.Type) {
			return invalid("%q is not a resource type", in.Type)
		}
		if !rev && !in.Iterate && p.q.Type != "" && in.Type != p.q.Type {
			return invalid("_include of %s on a %s search (use :iterate)", in.Type, p.q.Type)
		}
		if parts[1] != "*" {
			prm, ok := p.r.Lookup(in.Type, parts[1])
			if !ok {
				return unsupported("%s has no search parameter %q", in.Type, parts[1])
			}
			if prm.Type != Reference || !prm.Searchable() {
				return invalid("%s:%s is not a reference parameter", in.Type, parts[1])
			}
			in.Param = prm
		}
		if len(parts) == 3 {
			in.Target = parts[2]
			if !fhir.IsResourceType(in.Target) || in.Param != nil && !in.Param.HasTarget(in.Target) {
				return invalid("%q is not a target type of %s:%s", in.Target, in.Type, parts[1])
			}
		}
		if rev && !in.Iterate && p.q.Type != "" && in.Param != nil && !in.Param.HasTarget(p.q.Type) {
			return invalid("%s:%s does not refer to %s", in.Type, parts[1], p.q.Type)
		}
	}
	if rev {
		p.q.RevInclude = append(p.q.RevInclude, in)
	} else {
		p.q.Include = append(p.q.Include, in)
	}
	return nil
}

// clause parses key=raw searched on typ: a plain parameter with an optional modifier, a
// chain or a _has.
func (p *parser) clause(typ, key, raw string, depth int) (*Clause, error) {
	if over(depth, p.opts.Limits.MaxDepth) {
		return nil, &parseError{costly: true, msg: fmt.Sprintf("more than %d chain or _has links; at most %d are allowed",
			p.opts.Limits.MaxDepth, p.opts.Limits.MaxDepth)}
	}
	if rest, ok := strings.CutPrefix(key, "_has:"); ok {
		parts := strings.SplitN(rest, ":", 3)
		if len(parts) != 3 || parts[2] == "" {
			return nil, invalid("want _has:Type:reference:parameter")
		}
		if !fhir.IsResourceType(parts[0]) {
			return nil, invalid("%q is not a resource type", parts[0])
		}
		ref, ok := p.r.Lookup(parts[0], parts[1])
		if !ok {
			return nil, unsupported("%s has no search parameter %q", parts[0], parts[1])
		}
		if ref.Type != Reference || !ref.Searchable() {
			return nil, invalid("%s:%s is not a reference parameter", parts[0], parts[1])
		}
		if typ != "" && !ref.HasTarget(typ) {
			return nil, invalid("%s:%s does not refer to %s", parts[0], parts[1], typ)
		}
		inner, err := p.clause(parts[0], parts[2], raw, depth+1)
		if err != nil || inner == nil {
			return nil, err
		}
		inner.Key, inner.Raw = parts[2], raw
		return &Clause{Has: &Has{Type: parts[0], Param: ref, Clause: inner}}, nil
	}
	if head, rest, ok := strings.Cut(key, "."); ok && !strings.HasPrefix(key, "_has") {
		code, mod, _ := strings.Cut(head, ":")
		ref, ok := p.r.Lookup(typ, code)
		if !ok {
			return nil, unsupported("unknown search parameter %q%s", code, forType(typ))
		}
		if ref.Type != Reference || !ref.Searchable() {
			return nil, invalid("%q is not a reference parameter: it cannot be chained", code)
		}
		target := mod
		switch {
		case target != "":
			if !fhir.IsResourceType(target) || !ref.HasTarget(target) {
				return nil, invalid("%q is not a target type of %s", target, code)
			}
		case len(ref.Targets) == 1 && ref.Targets[0] != "Resource":
			target = ref.Targets[0]
		default:
			return nil, invalid("%s may refer to %s: name the type (%s:%s.%s)", code,
				strings.Join(ref.Targets, ", "), code, firstTarget(ref), rest)
		}
		inner, err := p.clause(target, rest, raw, depth+1)
		if err != nil || inner == nil {
			return nil, err
		}
		inner.Key, inner.Raw = rest, raw
		return &Clause{Param: ref, TargetType: target, Chain: inner}, nil
	}
	code, mod, hasMod := strings.Cut(key, ":")
	prm, ok := p.r.Lookup(typ, code)
	if !ok {
		return nil, unsupported("unknown search parameter %q%s", code, forType(typ))
	}
	if !prm.Searchable() {
		return nil, unsupported("%q (%s) is not supported by this server", code, prm.Type)
	}
	c := &Clause{Param: prm}
	if hasMod {
		if err := p.modifier(c, mod); err != nil {
			return nil, err
		}
	}
	if c.Modifier == ModMissing {
		switch raw {
		case "true", "false":
			c.Missing = raw == "true"
			return c, nil
		}
		return nil, invalid("want :missing=true or :missing=false")
	}
	for _, piece := range splitEscaped(raw, ',') {
		if piece == "" {
			continue
		}
		v, err := p.value(prm, c, piece)
		if err != nil {
			return nil, invalid("%v", err)
		}
		c.Values = append(c.Values, v)
	}
	if len(c.Values) == 0 {
		return nil, nil
	}
	return c, nil
}

func forType(typ string) string {
	if typ == "" {
		return " (system-level search: common parameters only)"
	}
	return " for " + typ
}

func firstTarget(p *Param) string {
	if len(p.Targets) > 0 && p.Targets[0] != "Resource" {
		return p.Targets[0]
	}
	return "Patient"
}

// modifier checks that mod applies to c.Param's type and sets it on c.
func (p *parser) modifier(c *Clause, mod string) error {
	m := Modifier(mod)
	t := c.Param.Type
	if m == ModMissing {
		c.Modifier = m
		return nil
	}
	if t == Reference && mod != "" && mod[0] >= 'A' && mod[0] <= 'Z' {
		if !fhir.IsResourceType(mod) || !c.Param.HasTarget(mod) {
			return invalid("%q is not a target type of %s", mod, c.Param.Code)
		}
		c.Modifier, c.TargetType = ModType, mod
		return nil
	}
	ok := false
	switch t {
	case String:
		ok = m == ModExact || m == ModContains
	case Token:
		ok = m == ModNot || m == ModText || m == ModAbove || m == ModBelow || m == ModOfType
	case Reference:
		ok = m == ModIdentifier || m == ModAbove || m == ModBelow
	case URI:
		ok = m == ModAbove || m == ModBelow
	}
	if !ok {
		return unsupported("modifier :%s is not supported on %s parameters", mod, t)
	}
	c.Modifier = m
	return nil
}

// value parses one (escaped) search value of prm.
func (p *parser) value(prm *Param, c *Clause, s string) (Value, error) {
	var v Value
	mod := c.Modifier
	switch prm.Type {
	case String, URI:
		v.Raw = unescape(s)
		if prm.Type == String {
			v.String = Normalize(v.Raw)
		}
	case Token:
		v.Raw = unescape(s)
		parts := splitEscaped(s, '|')
		switch {
		case mod == ModText:
			v.String = Normalize(v.Raw)
		case mod == ModOfType:
			if len(parts) != 3 || parts[1] == "" || parts[2] == "" {
				return v, fmt.Errorf("want system|code|value for :of-type")
			}
			v.System, v.Code, v.Ident, v.HasSystem = unescape(parts[0]), unescape(parts[1]), unescape(parts[2]), true
		case len(parts) == 1:
			v.Code = unescape(parts[0])
		case len(parts) == 2:
			v.System, v.Code, v.HasSystem = unescape(parts[0]), unescape(parts[1]), true
			if v.System == "" && v.Code == "" {
				return v, fmt.Errorf("empty token %q", v.Raw)
			}
		default:
			return v, fmt.Errorf("want [system|]code, not %q", v.Raw)
		}
	case Reference:
		v.Raw = unescape(s)
		if mod == ModIdentifier {
			parts := splitEscaped(s, '|')
			switch len(parts) {
			case 1:
				v.Code = unescape(parts[0])
			case 2:
				v.System, v.Code, v.HasSystem = unescape(parts[0]), unescape(parts[1]), true
			default:
				return v, fmt.Errorf("want [system|]value, not %q", v.Raw)
			}
			if v.Code == "" {
				return v, fmt.Errorf("empty identifier value")
			}
			break
		}
		if err := p.reference(prm, c, &v); err != nil {
			return v, err
		}
	case Date:
		v.Prefix, v.Raw = prefix(unescape(s))
		lo, hi, err := DateRange(v.Raw, p.r.loc)
		if err != nil {
			return v, fmt.Errorf("%q: %v", v.Raw, err)
		}
		v.Low, v.High = lo, hi
		if v.Prefix == Ap {
			now := p.opts.Now.UnixMilli()
			w := max(abs64(now-lo)/10, 24*60*60*1000)
			v.Low, v.High = lo-w, hi+w
		}
	case Number:
		v.Prefix, v.Raw = prefix(unescape(s))
		n, lo, hi, err := decimalRange(v.Raw)
		if err != nil {
			return v, err
		}
		v.Num, v.NumLow, v.NumHigh = n, lo, hi
	case Quantity:
		parts := splitEscaped(s, '|')
		if len(parts) != 1 && len(parts) != 3 {
			return v, fmt.Errorf("want [prefix]number[|system|code], not %q", unescape(s))
		}
		v.Prefix, v.Raw = prefix(unescape(parts[0]))
		n, lo, hi, err := decimalRange(v.Raw)
		if err != nil {
			return v, err
		}
		v.Num, v.NumLow, v.NumHigh = n, lo, hi
		if len(parts) == 3 {
			v.System, v.Code = unescape(parts[1]), unescape(parts[2])
			v.HasSystem = v.System != ""
		}
		v.Raw = unescape(s)
	case Composite:
		v.Raw = unescape(s)
		parts := splitEscaped(s, '$')
		if len(parts) != len(prm.Components) {
			return v, fmt.Errorf("want %d $-separated parts, not %q", len(prm.Components), v.Raw)
		}
		for i, part := range parts {
			cp := prm.Components[i].Param
			if cp == nil || !cp.Searchable() || cp.Type == Composite {
				return v, fmt.Errorf("component %d is not searchable", i+1)
			}
			pv, err := p.value(cp, &Clause{Param: cp}, part)
			if err != nil {
				return v, err
			}
			v.Parts = append(v.Parts, pv)
		}
	default:
		return v, fmt.Errorf("%s parameters are not supported", prm.Type)
	}
	return v, nil
}

func (p *parser) reference(prm *Param, c *Clause, v *Value) error {
	ref := v.Raw
	if b := strings.TrimSuffix(p.opts.BaseURL, "/"); b != "" && strings.HasPrefix(ref, b+"/") {
		ref = ref[len(b)+1:]
	}
	switch {
	case ref == "":
		return fmt.Errorf("empty reference")
	case strings.Contains(ref, ":"): // absolute URL, urn, canonical
		v.RefURL = trimURL(ref)
		if c.Modifier == ModType {
			return fmt.Errorf(":%s needs an id or %s/id, not a URL", c.TargetType, c.TargetType)
		}
	case c.Modifier == ModAbove || c.Modifier == ModBelow:
		return fmt.Errorf(":%s needs an absolute URL", c.Modifier)
	case strings.Contains(ref, "/"):
		r, ok := fhir.ParseReference(ref)
		if !ok || !r.IsLocal() {
			return fmt.Errorf("%q is not a reference (Type/id)", ref)
		}
		if !prm.HasTarget(r.Type) {
			return fmt.Errorf("%s cannot refer to %s", prm.Code, r.Type)
		}
		if c.TargetType != "" && r.Type != c.TargetType {
			return fmt.Errorf("%s is not a %s", ref, c.TargetType)
		}
		v.RefType, v.RefID = r.Type, r.ID
	default:
		if !fhir.ValidID(ref) {
			return fmt.Errorf("%q is not a resource id", ref)
		}
		v.RefType, v.RefID = c.TargetType, ref
	}
	return nil
}

// prefix splits a comparison prefix off s.
func prefix(s string) (Prefix, string) {
	if len(s) > 2 {
		if c := s[2]; c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' {
			for i, n := range prefixNames {
				if s[:2] == n {
					return Prefix(i), s[2:]
				}
			}
		}
	}
	return Eq, s
}

// decimalRange parses a FHIR decimal search value and returns it with the range its
// precision implies: half a unit of its last significant digit on each side.
func decimalRange(s string) (n, lo, hi float64, err error) {
	mant, exp, hasExp := strings.Cut(strings.ToLower(s), "e")
	digits := strings.TrimLeft(mant, "+-")
	intPart, frac, _ := strings.Cut(digits, ".")
	if digits == "" || intPart == "" && frac == "" || !allDigits(intPart) || !allDigits(frac) {
		return 0, 0, 0, fmt.Errorf("%q is not a number", s)
	}
	e := 0
	if hasExp {
		if e, err = strconv.Atoi(exp); err != nil || e > 300 || e < -300 {
			return 0, 0, 0, fmt.Errorf("%q is not a number", s)
		}
	}
	n, err = strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(n, 0) || math.IsNaN(n) {
		return 0, 0, 0, fmt.Errorf("%q is not a number", s)
	}
	// Exact decimal arithmetic, so that the bounds are the floats of "0.35" and "0.45"
	// for "0.4", as the stored values are.
	x, ok := new(big.Rat).SetString(s)
	if !ok {
		return 0, 0, 0, fmt.Errorf("%q is not a number", s)
	}
	half := big.NewRat(5, 1)
	scale := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(e-len(frac)-1))), nil))
	if e-len(frac)-1 < 0 {
		half.Quo(half, scale)
	} else {
		half.Mul(half, scale)
	}
	lo, _ = new(big.Rat).Sub(x, half).Float64()
	hi, _ = new(big.Rat).Add(x, half).Float64()
	return n, lo, hi, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// splitEscaped splits s at the separators sep that are not escaped by a backslash; the
// pieces keep their escapes.
func splitEscaped(s string, sep byte) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case sep:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// unescape removes the backslashes of \, \| \$ and \\.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// SelfParams renders q as the parameters of its canonical self link: the search clauses
// as written, then the result parameters in a normal form; ignored parameters are left out.
func (q *Query) SelfParams() url.Values {
	v := url.Values{}
	for _, c := range q.Clauses {
		v.Add(c.Key, c.Raw)
	}
	if len(q.Types) > 0 {
		v.Set("_type", strings.Join(q.Types, ","))
	}
	if len(q.Sort) > 0 {
		keys := make([]string, len(q.Sort))
		for i, k := range q.Sort {
			keys[i] = k.Param.Code
			if k.Desc {
				keys[i] = "-" + keys[i]
			}
		}
		v.Set("_sort", strings.Join(keys, ","))
	}
	if q.Count >= 0 {
		v.Set("_count", strconv.Itoa(q.Count))
	}
	if q.Total != "" {
		v.Set("_total", string(q.Total))
	}
	if q.Summary != "" {
		v.Set("_summary", q.Summary)
	}
	if len(q.Elements) > 0 {
		v.Set("_elements", strings.Join(q.Elements, ","))
	}
	for _, in := range q.Include {
		v.Add(includeKey("_include", in), in.String())
	}
	for _, in := range q.RevInclude {
		v.Add(includeKey("_revinclude", in), in.String())
	}
	if q.Cursor != "" {
		v.Set("_cursor", q.Cursor)
	}
	return v
}

func includeKey(k string, in Include) string {
	if in.Iterate {
		return k + ":iterate"
	}
	return k
}
