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
	"encoding/json"
	"math/big"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/kodomohub/kodomohub/fhir"
)

type function struct {
	min, max int
	typeArg  bool // the argument is a type specifier: is(), as(), ofType()
	impl     func(c *evalCtx, n *callNode, in Collection) (Collection, error)
}

// unsupported names known FHIRPath functions the package leaves out, with the reason.
var unsupported = map[string]string{
	"memberOf":          "needs a terminology service",
	"subsumes":          "needs a terminology service",
	"subsumedBy":        "needs a terminology service",
	"conformsTo":        "needs profile validation",
	"encode":            "not in FHIRPath R4",
	"decode":            "not in FHIRPath R4",
	"elementDefinition": "needs the full StructureDefinitions",
	"slice":             "needs the full StructureDefinitions",
	"checkModifiers":    "needs the full StructureDefinitions",
	"getValue":          "not supported",
	"comparable":        "needs UCUM",
	"type":              "type reflection is not implemented",
}

var functions = map[string]*function{
	// existence
	"empty": {0, 0, false, func(_ *evalCtx, _ *callNode, in Collection) (Collection, error) {
		return boolColl(len(in) == 0), nil
	}},
	"exists": {0, 1, false, func(c *evalCtx, n *callNode, in Collection) (Collection, error) {
		if len(n.args) == 0 {
			return boolColl(len(in) > 0), nil
		}
		found := false
		err := c.lambda(n, 0, in, func(_ int, _ Item, v Collection) (bool, error) {
			b, known, err := truth(v)
			found = known && b
			return !found, err
		})
		return boolColl(found), err
	}},
	"all": {1, 1, false, func(c *evalCtx, n *callNode, in Collection) (Collection, error) {
		all := true
		err := c.lambda(n, 0, in, func(_ int, _ Item, v Collection) (bool, error) {
			b, known, err := truth(v)
			all = known && b
			return all, err
		})
		return boolColl(all), err
	}},
	"allTrue":  {0, 0, false, boolAgg(true, true)},
	"anyTrue":  {0, 0, false, boolAgg(false, true)},
	"allFalse": {0, 0, false, boolAgg(true, false)},
	"anyFalse": {0, 0, false, boolAgg(false, false)},
	"subsetOf": {1, 1, false, func(c *evalCtx, n *callNode, in Collection) (Collection, error) {
		other, err := c.arg(n, 0)
		return boolColl(subset(c, in, other)), err
	}},
	"supersetOf": {1, 1, false, func(c *evalCtx, n *callNode, in Collection) (Collection, error) {
		other, err := c.arg(n, 0)
		return boolColl(subset(c, other, in)), err
	}},
	"count": {0, 0, false, func(_ *evalCtx, _ *callNode, in Collection) (Collection, error) {
		return Collection{intItem(int64(len(in)))}, nil
	}},
	"distinct": {0, 0, false, func(c *evalCtx, _ *callNode, in Collection) (Collection, error) {
		return c.union(nil, in)
	}},
	"isDistinct": {0, 0, false, func(c *evalCtx, _ *callNode, in Collection) (Collection, error) {
		d, err := c.union(nil, in)
		return boolColl(len(d) == len(in)), err
	}},

	// filtering and projection
	"where": {1, 1, false, func(c *evalCtx, n *callNode, in Collection) (Collection, error) {
		var out Collection
		err := c.lambda(n, 0, in, func(_ int, it Item, v Collection) (bool, error) {
			b, known, err := truth(v)
			if known && b {
				out = append(out, it)
			}
			return true, err
		})
		return out, err
	}},
	"select": {1, 1, false, func(c *evalCtx, n *callNode, in Collection) (Collection, error) {
		var out Collection
		err := c.lambda(n, 0, in, func(_ int, _ Item, v Collection) (bool, error) {
			var err error
			out, err = c.add(out, v...)
			return true, err
		})
		return out, err
	}},
	"repeat": {1, 1, false, func(c *evalCtx, n *callNode, in Collection) (Collection, error) {
		var out Collection
		var set itemSet
		for len(in) > 0 {
			var next Collection
			err := c.lambda(n, 0, in, func(_ int, _ Item, v Collection) (bool, error) {
				for _, it := range v {
					if !set.has(c, it) {
						set.add(c, it)
						var err error
						if out, err = c.add(out, it); err != nil {
							return false, err
						}
						next = append(next, it)
					}
				}
				return true, c.step(len(v))
			})
			if err != nil {
				return nil, err
			}
			in = next
		}
		return out, nil
	}},
	"aggregate": {1, 2, false, func(c *evalCtx, n *callNode, in Collection) (Collection, error) {
		total, err := c.arg(n, 1)
		if err != nil {
			return nil, err
		}
		save := c.total
		defer func() { c.total = save }()
		c.total = total
		err = c.lambda(n, 0, in, func(_ int, _ Item, v Collection) (bool, error) {
			c.total = v
			return true, nil
		})
		return c.total, err
	}},
	"ofType": {1, 1, true, func(_ *evalCtx, n *callNode, in Collection) (Collection, error) {
		return ofType(in, n.typ), nil
	}},
	"as": {1, 1, true, func(_ *evalCtx, n *callNode, in Collection) (Collection, error) {
		return ofType(in, n.typ), nil
	}},
	"is": {1, 1, true, func(_ *evalCtx, n *callNode, in Collection) (Collection, error) {
		switch len(in) {
		case 0:
			return nil, nil
		case 1:
			return boolColl(isType(in[0], n.typ)), nil
		}
		return nil, errorf("is() needs a single item, got %d", len(in))
	}},

	// subsetting
	"single": {0, 0, false, func(_ *evalCtx, _ *callNode, in Collection) (Collection, error) {
		if len(in) > 1 {
			return nil, errorf("single() got %d items", len(in))
		}
		return in, nil
	}},
	"first": {0, 0, false, func(_ *evalCtx, _ *callNode, in Collection) (Collection, error) {
		if len(in) == 0 {
			return nil, nil
		}
		return in[:1:1], nil
	}},
	"last": {0, 0, false, func(_ *evalCtx, _ *callNode, in Collection) (Collection, error) {
		if len(in) == 0 {
			return nil, nil
		}
		return in[len(in)-1:], nil
	}},
	"tail": {0, 0, false, func(_ *evalCtx, _ *callNode, in Collection) (Collection, error) {
		if len(in) == 0 {
			return nil, nil
		}
		return in[1:], nil
	}},
	"skip": {1, 1, false, func(c *evalCtx, n *callNode, in Collection) (Collection, error) {
		k, err := intArg(c, n, 0)
		if err != nil {
			return nil, err
		}
		if k <= 0 {
			return in, nil
		}
		if k >= int64(len(in)) {
			return nil, nil
		}
		return in[k:], nil
	}},
	"take": {1, 1, false, func(c *evalCtx, n *callNode, in Collection) (Collection, error) {
		k, err := intArg(c, n, 0)
		if err != nil {
			return nil, err
		}
		if k <= 0 {
			return nil, nil
		}
		if k >= int64(len(in)) {
			return in, nil
		}
		return in[:k:k], nil
	}},
	"intersect": {1, 1, false, func(c *evalCtx, n *callNode, in Collection) (Collection, error) {
		other, err := c.arg(n, 0)
		if err != nil {
			return nil, err
		}
		var out Collection
		for _, it := range in {
			if containsItem(c, other, it) && !containsItem(c, out, it) {
				out = append(out, it)
			}
		}
		return out, c.step(len(in) * len(other) / 64)
	}},
	"exclude": {1, 1, false, func(c *evalCtx, n *callNode, in Collection) (Collection, error) {
		other, err := c.arg(n, 0)
		if err != nil {
			return nil, err
		}
		var out Collection
		for _, it := range in {
			if !containsItem(c, other, it) {
				out = append(out, it)
			}
		}
		return out, c.step(len(in) * len(other) / 64)
	}},
	"union": {1, 1, false, func(c *evalCtx, n *callNode, in Collection) (Collection, error) {
		other, err := c.arg(n, 0)
		if err != nil {
			return nil, err
		}
		out, err := c.union(nil, in)
		if err != nil {
			return nil, err
		}
		return c.union(out, other)
	}},
	"combine": {1, 1, false, func(c *evalCtx, n *callNode, in Collection) (Collection, error) {
		other, err := c.arg(n, 0)
		if err != nil {
			return nil, err
		}
		return c.add(slices.Clip(in), other...)
	}},

	// logic and utility
	"iif": {2, 3, false, func(c *evalCtx, n *callNode, in Collection) (Collection, error) {
		if n.recv != nil {
			save := c.this
			defer func() { c.this = save }()
			c.this = in
		}
		cond, err := c.arg(n, 0)
		if err != nil {
			return nil, err
		}
		b, known, err := truth(cond)
		if err != nil {
			return nil, err
		}
		if known && b {
			return c.arg(n, 1)
		}
		return c.arg(n, 2)
	}},
	"not": {0, 0, false, func(_ *evalCtx, _ *callNode, in Collection) (Collection, error) {
		b, known, err := truth(in)
		if err != nil || !known {
			return nil, err
		}
		return boolColl(!b), nil
	}},
	"hasValue": {0, 0, false, func(_ *evalCtx, _ *callNode, in Collection) (Collection, error) {
		if len(in) != 1 {
			return boolColl(false), nil
		}
		switch in[0].Value.(type) {
		case string, json.Number, bool:
			return boolColl(true), nil
		}
		return boolColl(false), nil
	}},
	"htmlChecks": {0, 0, false, func(_ *evalCtx, _ *callNode, in Collection) (Collection, error) {
		return boolColl(true), nil // narrative is not checked
	}},
	"trace": {1, 2, false, func(_ *evalCtx, _ *callNode, in Collection) (Collection, error) {
		return in, nil
	}},
	"children": {0, 0, false, func(c *evalCtx, _ *callNode, in Collection) (Collection, error) {
		var out Collection
		for i := range in {
			var err error
			if out, err = c.allChildren(out, &in[i]); err != nil {
				return nil, err
			}
		}
		return out, nil
	}},
	"descendants": {0, 0, false, func(c *evalCtx, _ *callNode, in Collection) (Collection, error) {
		var out Collection
		for level := in; len(level) > 0; {
			start := len(out)
			for i := range level {
				var err error
				if out, err = c.allChildren(out, &level[i]); err != nil {
					return nil, err
				}
			}
			level = out[start:]
		}
		return out, nil
	}},
	"now": {0, 0, false, func(_ *evalCtx, _ *callNode, _ Collection) (Collection, error) {
		return Collection{{Value: time.Now().Format("2006-01-02T15:04:05.000Z07:00"), Type: "dateTime"}}, nil
	}},
	"today": {0, 0, false, func(_ *evalCtx, _ *callNode, _ Collection) (Collection, error) {
		return Collection{{Value: time.Now().Format("2006-01-02"), Type: "date"}}, nil
	}},
	"timeOfDay": {0, 0, false, func(_ *evalCtx, _ *callNode, _ Collection) (Collection, error) {
		return Collection{{Value: time.Now().Format("15:04:05.000"), Type: "time"}}, nil
	}},

	// conversion
	"toString": {0, 0, false, single(func(it Item) (Collection, error) {
		if s, ok := stringValue(it); ok {
			return Collection{strItem(s)}, nil
		}
		return nil, nil
	})},
	"toInteger": {0, 0, false, single(func(it Item) (Collection, error) {
		if i, ok := convInteger(it); ok {
			return Collection{intItem(i)}, nil
		}
		return nil, nil
	})},
	"convertsToInteger": {0, 0, false, single(func(it Item) (Collection, error) {
		_, ok := convInteger(it)
		return boolColl(ok), nil
	})},
	"toDecimal": {0, 0, false, single(func(it Item) (Collection, error) {
		if r, ok := convDecimal(it); ok {
			return Collection{ratItem(r, false)}, nil
		}
		return nil, nil
	})},
	"convertsToDecimal": {0, 0, false, single(func(it Item) (Collection, error) {
		_, ok := convDecimal(it)
		return boolColl(ok), nil
	})},
	"toBoolean": {0, 0, false, single(func(it Item) (Collection, error) {
		if b, ok := convBoolean(it); ok {
			return boolColl(b), nil
		}
		return nil, nil
	})},
	"convertsToBoolean": {0, 0, false, single(func(it Item) (Collection, error) {
		_, ok := convBoolean(it)
		return boolColl(ok), nil
	})},
	"convertsToString": {0, 0, false, single(func(it Item) (Collection, error) {
		_, ok := stringValue(it)
		return boolColl(ok), nil
	})},
	"toDate": {0, 0, false, single(func(it Item) (Collection, error) {
		s, ok := it.Value.(string)
		if d, okd := parseDateTime(s, false); ok && okd && d.prec <= 3 && !d.tz {
			return Collection{{Value: s, Type: "date"}}, nil
		} else if ok && okd {
			return Collection{{Value: s[:min(len(s), 10)], Type: "date"}}, nil
		}
		return nil, nil
	})},
	"toDateTime": {0, 0, false, single(func(it Item) (Collection, error) {
		s, ok := it.Value.(string)
		if _, okd := parseDateTime(s, false); ok && okd {
			return Collection{{Value: s, Type: "dateTime"}}, nil
		}
		return nil, nil
	})},

	// strings
	"indexOf": {1, 1, false, strFn(func(s string, a []string) (Collection, error) {
		i := strings.Index(s, a[0])
		if i > 0 {
			i = utf8.RuneCountInString(s[:i])
		}
		return Collection{intItem(int64(i))}, nil
	})},
	"substring": {1, 2, false, func(c *evalCtx, n *callNode, in Collection) (Collection, error) {
		s, ok, err := toStr(in)
		if err != nil || !ok {
			return nil, err
		}
		start, err := intArg(c, n, 0)
		if err != nil {
			return nil, err
		}
		r := []rune(s)
		if start < 0 || start >= int64(len(r)) {
			return nil, nil
		}
		end := int64(len(r))
		if len(n.args) > 1 {
			l, err := intArg(c, n, 1)
			if err != nil {
				return nil, err
			}
			end = min(end, start+max(l, 0))
		}
		return Collection{strItem(string(r[start:end]))}, nil
	}},
	"startsWith": {1, 1, false, strFn(func(s string, a []string) (Collection, error) {
		return boolColl(strings.HasPrefix(s, a[0])), nil
	})},
	"endsWith": {1, 1, false, strFn(func(s string, a []string) (Collection, error) {
		return boolColl(strings.HasSuffix(s, a[0])), nil
	})},
	"contains": {1, 1, false, strFn(func(s string, a []string) (Collection, error) {
		return boolColl(strings.Contains(s, a[0])), nil
	})},
	"upper": {0, 0, false, strFn(func(s string, _ []string) (Collection, error) {
		return Collection{strItem(strings.ToUpper(s))}, nil
	})},
	"lower": {0, 0, false, strFn(func(s string, _ []string) (Collection, error) {
		return Collection{strItem(strings.ToLower(s))}, nil
	})},
	"replace": {2, 2, false, strFn(func(s string, a []string) (Collection, error) {
		if len(s)*max(1, len(a[1])) > maxStringLen {
			return nil, errorf("replace() result too long")
		}
		return Collection{strItem(strings.ReplaceAll(s, a[0], a[1]))}, nil
	})},
	"matches": {1, 1, false, strFn(func(s string, a []string) (Collection, error) {
		re, err := compileRegexp(a[0])
		if err != nil {
			return nil, err
		}
		return boolColl(re.MatchString(s)), nil
	})},
	"replaceMatches": {2, 2, false, strFn(func(s string, a []string) (Collection, error) {
		re, err := compileRegexp(a[0])
		if err != nil {
			return nil, err
		}
		out := re.ReplaceAllString(s, a[1])
		if len(out) > maxStringLen {
			return nil, errorf("replaceMatches() result too long")
		}
		return Collection{strItem(out)}, nil
	})},
	"length": {0, 0, false, strFn(func(s string, _ []string) (Collection, error) {
		return Collection{intItem(int64(utf8.RuneCountInString(s)))}, nil
	})},
	"trim": {0, 0, false, strFn(func(s string, _ []string) (Collection, error) {
		return Collection{strItem(strings.TrimSpace(s))}, nil
	})},
	"toChars": {0, 0, false, strFn(func(s string, _ []string) (Collection, error) {
		var out Collection
		for _, r := range s {
			out = append(out, strItem(string(r)))
		}
		return out, nil
	})},
	"split": {1, 1, false, strFn(func(s string, a []string) (Collection, error) {
		var out Collection
		for _, p := range strings.Split(s, a[0]) {
			out = append(out, strItem(p))
		}
		return out, nil
	})},
	"join": {0, 1, false, func(c *evalCtx, n *callNode, in Collection) (Collection, error) {
		sepC, err := c.arg(n, 0)
		if err != nil {
			return nil, err
		}
		sep, _, err := toStr(sepC)
		if err != nil {
			return nil, err
		}
		parts := make([]string, 0, len(in))
		size := 0
		for _, it := range in {
			s, ok := stringValue(it)
			if !ok {
				return nil, errorf("join() needs strings, got %s", typeName(it))
			}
			size += len(s) + len(sep)
			if size > maxStringLen {
				return nil, errorf("join() result too long")
			}
			parts = append(parts, s)
		}
		return Collection{strItem(strings.Join(parts, sep))}, nil
	}},

	// math
	"abs":      {0, 0, false, mathFn(func(r *big.Rat) *big.Rat { return r.Abs(r) })},
	"ceiling":  {0, 0, false, mathFn(func(r *big.Rat) *big.Rat { return intPart(r, 1) })},
	"floor":    {0, 0, false, mathFn(func(r *big.Rat) *big.Rat { return intPart(r, -1) })},
	"truncate": {0, 0, false, mathFn(func(r *big.Rat) *big.Rat { return intPart(r, 0) })},
	"round": {0, 1, false, func(c *evalCtx, n *callNode, in Collection) (Collection, error) {
		p := int64(0)
		if len(n.args) > 0 {
			var err error
			if p, err = intArg(c, n, 0); err != nil {
				return nil, err
			}
		}
		if p < 0 || p > 20 {
			return nil, errorf("round() precision out of range")
		}
		if len(in) == 0 {
			return nil, nil
		}
		r, ok := num(in[0])
		if len(in) > 1 || !ok {
			return nil, errorf("round() needs a single number")
		}
		return Collection{ratItem(roundRat(r, int(p)), false)}, nil
	}},

	// FHIR
	"extension": {1, 1, false, func(c *evalCtx, n *callNode, in Collection) (Collection, error) {
		return c.extensions(n, in)
	}},
	"hasExtension": {1, 1, false, func(c *evalCtx, n *callNode, in Collection) (Collection, error) {
		v, err := c.extensions(n, in)
		return boolColl(len(v) > 0), err
	}},
	"resolve": {0, 0, false, func(c *evalCtx, _ *callNode, in Collection) (Collection, error) {
		var out Collection
		for _, it := range in {
			if r, ok := c.resolve(it); ok {
				var err error
				if out, err = c.add(out, r); err != nil {
					return nil, err
				}
			}
		}
		return out, nil
	}},
}

const maxStringLen = 1 << 20

func boolAgg(all, want bool) func(*evalCtx, *callNode, Collection) (Collection, error) {
	return func(_ *evalCtx, _ *callNode, in Collection) (Collection, error) {
		for _, it := range in {
			b, ok := it.Value.(bool)
			if !ok {
				return nil, errorf("expected booleans, got %s", typeName(it))
			}
			if all && b != want {
				return boolColl(false), nil
			}
			if !all && b == want {
				return boolColl(true), nil
			}
		}
		return boolColl(all), nil
	}
}

func subset(c *evalCtx, a, b Collection) bool {
	for _, it := range a {
		if !containsItem(c, b, it) {
			return false
		}
	}
	return true
}

func intArg(c *evalCtx, n *callNode, i int) (int64, error) {
	v, err := c.arg(n, i)
	if err != nil {
		return 0, err
	}
	k, ok := toInt(v)
	if !ok {
		return 0, errorf("%s() argument %d must be an integer", n.name, i+1)
	}
	return k, nil
}

// single wraps a function of one item: empty in, empty out; more than one is an error.
func single(f func(Item) (Collection, error)) func(*evalCtx, *callNode, Collection) (Collection, error) {
	return func(_ *evalCtx, n *callNode, in Collection) (Collection, error) {
		switch len(in) {
		case 0:
			return nil, nil
		case 1:
			return f(in[0])
		}
		return nil, errorf("%s() needs a single item, got %d", n.name, len(in))
	}
}

// strFn wraps a string function: the input and all arguments are single strings; any
// empty one makes the result empty.
func strFn(f func(s string, args []string) (Collection, error)) func(*evalCtx, *callNode, Collection) (Collection, error) {
	return func(c *evalCtx, n *callNode, in Collection) (Collection, error) {
		s, ok, err := toStr(in)
		if err != nil || !ok {
			return nil, err
		}
		args := make([]string, len(n.args))
		for i := range n.args {
			v, err := c.arg(n, i)
			if err != nil {
				return nil, err
			}
			a, ok, err := toStr(v)
			if err != nil || !ok {
				return nil, err
			}
			args[i] = a
		}
		return f(s, args)
	}
}

func mathFn(f func(*big.Rat) *big.Rat) func(*evalCtx, *callNode, Collection) (Collection, error) {
	return func(_ *evalCtx, n *callNode, in Collection) (Collection, error) {
		if len(in) == 0 {
			return nil, nil
		}
		r, ok := num(in[0])
		if len(in) > 1 || !ok {
			return nil, errorf("%s() needs a single number", n.name)
		}
		return Collection{ratItem(f(r), in[0].Type == "integer" || n.name != "abs")}, nil
	}
}

// intPart rounds r toward +inf (dir 1), -inf (-1) or zero (0).
func intPart(r *big.Rat, dir int) *big.Rat {
	q, m := new(big.Int).QuoRem(r.Num(), r.Denom(), new(big.Int))
	if m.Sign() != 0 && (dir > 0 && r.Sign() > 0 || dir < 0 && r.Sign() < 0) {
		q.Add(q, big.NewInt(int64(dir)))
	}
	return new(big.Rat).SetInt(q)
}

func convInteger(it Item) (int64, bool) {
	switch v := it.Value.(type) {
	case json.Number:
		i, err := strconv.ParseInt(string(v), 10, 32)
		return i, err == nil
	case string:
		i, err := strconv.ParseInt(strings.TrimPrefix(v, "+"), 10, 32)
		return i, err == nil
	case bool:
		if v {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

func convDecimal(it Item) (*big.Rat, bool) {
	switch v := it.Value.(type) {
	case json.Number:
		return parseRat(string(v))
	case string:
		if v == "" || strings.ContainsAny(v, "eE/") {
			return nil, false
		}
		return parseRat(v)
	case bool:
		if v {
			return big.NewRat(1, 1), true
		}
		return new(big.Rat), true
	}
	return nil, false
}

func convBoolean(it Item) (bool, bool) {
	switch v := it.Value.(type) {
	case bool:
		return v, true
	case string:
		switch strings.ToLower(v) {
		case "true", "t", "yes", "y", "1", "1.0":
			return true, true
		case "false", "f", "no", "n", "0", "0.0":
			return false, true
		}
	case json.Number:
		switch string(v) {
		case "1", "1.0":
			return true, true
		case "0", "0.0":
			return false, true
		}
	}
	return false, false
}

var regexps = struct {
	sync.Mutex
	m map[string]*regexp.Regexp
}{m: map[string]*regexp.Regexp{}}

// compileRegexp compiles a (RE2, so linear-time) pattern, caching a bounded number.
func compileRegexp(p string) (*regexp.Regexp, error) {
	regexps.Lock()
	defer regexps.Unlock()
	if re := regexps.m[p]; re != nil {
		return re, nil
	}
	if len(p) > 4096 {
		return nil, errorf("regular expression too long")
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, errorf("bad regular expression: %v", err)
	}
	if len(regexps.m) >= 256 {
		clear(regexps.m)
	}
	regexps.m[p] = re
	return re, nil
}

// allChildren appends every child element of it, in element-name order.
func (c *evalCtx) allChildren(out Collection, it *Item) (Collection, error) {
	var keys []string
	if m, ok := it.Value.(map[string]any); ok {
		keys = make([]string, 0, len(m))
		for k := range m {
			k = strings.TrimPrefix(k, "_")
			if k != "resourceType" && k != "" && !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	} else if it.ext != nil {
		keys = []string{"extension", "id"}
	}
	sort.Strings(keys)
	for _, k := range keys {
		var err error
		if out, err = c.children(out, it, k); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// extensions returns the extensions of the input items whose url is the argument.
func (c *evalCtx) extensions(n *callNode, in Collection) (Collection, error) {
	v, err := c.arg(n, 0)
	if err != nil {
		return nil, err
	}
	url, ok, err := toStr(v)
	if err != nil || !ok {
		return nil, err
	}
	var out Collection
	for i := range in {
		exts, err := c.children(nil, &in[i], "extension")
		if err != nil {
			return nil, err
		}
		for _, x := range exts {
			if m, ok := x.Value.(map[string]any); ok && m["url"] == url {
				if out, err = c.add(out, x); err != nil {
					return nil, err
				}
			}
		}
	}
	return out, nil
}

// resolve returns the target of a Reference (or of a reference/canonical string): the
// contained resource for "#id", the resolver's resource when there is one, and otherwise
// a content-less item typed by the target type.
func (c *evalCtx) resolve(it Item) (Item, bool) {
	var ref, typ string
	switch v := it.Value.(type) {
	case map[string]any:
		ref, _ = v["reference"].(string)
		typ, _ = v["type"].(string)
	case string:
		ref = v
	default:
		return Item{}, false
	}
	if id, ok := strings.CutPrefix(ref, "#"); ok && len(c.root) == 1 {
		if m, ok := c.root[0].Value.(map[string]any); ok {
			if id == "" {
				return c.root[0], true
			}
			cs, _ := m["contained"].([]any)
			for _, r := range cs {
				if rm, ok := r.(map[string]any); ok && rm["id"] == id {
					res := typedValue(rm, nil, "")
					return res, res.def != nil
				}
			}
		}
		return Item{}, false
	}
	if ref != "" && c.opts.resolver != nil {
		if r, ok := c.opts.resolver(ref); ok && r != nil {
			res := typedValue(r, nil, "")
			return res, true
		}
	}
	if ref != "" {
		s, _, _ := strings.Cut(ref, "|") // canonical version
		if r, ok := fhir.ParseReference(s); ok && r.Type != "" {
			typ = r.Type
		}
	}
	t := lookupType(typ)
	if t == nil || t.kind != 'r' {
		return Item{}, false
	}
	return Item{Type: typ, Path: typ, def: t}, true
}
