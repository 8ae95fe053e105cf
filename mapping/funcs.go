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
	"time"

	"golang.org/x/text/width"
)

// value is an evaluated argument: its value (nil, a string, json.Number, bool, or a JSON
// object or list as map[string]any / []any) and the column it came from, which an error
// about it names.
type value struct {
	v      any
	column string
}

// str is the value as text ("" for nil).
func (v value) str() string {
	switch x := v.v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	}
	b, _ := json.Marshal(v.v)
	return string(b)
}

// function is one function templates may call. call gets the evaluated arguments and
// returns the value (nil removes the element) or an error about the row.
type function struct {
	minArgs, maxArgs int // maxArgs -1: any number
	// codeMap: the first argument names a code map of the spec (not an expression).
	codeMap bool
	doc     string
	call    func(c *evalCtx, args []value) (any, error)
}

func (f *function) arity() string {
	switch {
	case f.maxArgs < 0:
		return fmt.Sprintf("at least %d arguments", f.minArgs)
	case f.minArgs == f.maxArgs:
		return fmt.Sprintf("%d arguments", f.minArgs)
	}
	return fmt.Sprintf("%d to %d arguments", f.minArgs, f.maxArgs)
}

// funcs are the functions of templates. Those about Japanese data (dates, names, addresses,
// sex, 続柄) are in jpfuncs.go.
var funcs = map[string]*function{}

// unary is a one-argument function that gives nothing for an empty (or all-space) value
// and otherwise calls f with the value without its surrounding spaces (full-width ones too).
func unary(doc string, f func(s string) (any, error)) *function {
	return &function{minArgs: 1, maxArgs: 1, doc: doc, call: func(c *evalCtx, a []value) (any, error) {
		s := strings.TrimSpace(a[0].str())
		if s == "" {
			return nil, nil
		}
		return f(s)
	}}
}

func register(name string, f *function) {
	if _, dup := funcs[name]; dup {
		panic("mapping: function " + name + " registered twice")
	}
	funcs[name] = f
}

func funcList() string {
	names := make([]string, 0, len(funcs))
	for n := range funcs {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

func init() {
	register("code", &function{minArgs: 2, maxArgs: 2, codeMap: true,
		doc: "code(map, x): the code map's code for x's value; a value the map does not have is an error",
		call: func(c *evalCtx, a []value) (any, error) {
			s := strings.TrimSpace(a[1].str())
			if s == "" {
				return nil, nil
			}
			m := c.spec.Codes[a[0].str()]
			if code, ok := m[s]; ok {
				return code, nil
			}
			if code, ok := m[width.Fold.String(s)]; ok {
				return code, nil
			}
			return nil, fmt.Errorf("%q is not one of the values of %s (%s)", s, a[0].str(), strings.Join(sortedKeys(m), ", "))
		}})
	register("int", unary("int(x): an integer (full-width digits accepted)",
		func(s string) (any, error) {
			n, err := strconv.ParseInt(width.Fold.String(s), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%q is not an integer", s)
			}
			return json.Number(strconv.FormatInt(n, 10)), nil
		}))
	register("decimal", unary("decimal(x): a decimal number as written (full-width digits accepted)",
		func(s string) (any, error) {
			d := width.Fold.String(s)
			if _, err := strconv.ParseFloat(d, 64); err != nil || strings.ContainsAny(d, "eEinfINFxX_") {
				return nil, fmt.Errorf("%q is not a decimal number", s)
			}
			d = strings.TrimPrefix(d, "+")
			if strings.HasPrefix(d, ".") {
				d = "0" + d
			}
			return json.Number(d), nil
		}))
	register("bool", unary("bool(x): true for 1, 有, あり, ○, 〇, はい, true, yes; false for 0, 無, なし, ×, いいえ, false, no",
		func(s string) (any, error) {
			switch strings.ToLower(width.Fold.String(s)) {
			case "1", "有", "あり", "○", "〇", "はい", "true", "yes", "y":
				return true, nil
			case "0", "無", "なし", "×", "いいえ", "false", "no", "n":
				return false, nil
			}
			return nil, fmt.Errorf("%q is not a yes/no value", s)
		}))
	register("first", &function{minArgs: 1, maxArgs: -1,
		doc: "first(x, …): the first non-empty value",
		call: func(c *evalCtx, a []value) (any, error) {
			for _, v := range a {
				if v.str() != "" {
					return v.v, nil
				}
			}
			return nil, nil
		}})
	register("if", &function{minArgs: 3, maxArgs: 3,
		doc: "if(x, a, b): a when x has a value (not empty, not false), b otherwise",
		call: func(c *evalCtx, a []value) (any, error) {
			if truthy(a[0].v) {
				return a[1].v, nil
			}
			return a[2].v, nil
		}})
	register("eq", &function{minArgs: 2, maxArgs: 2,
		doc:  "eq(x, y): true when x and y are the same text",
		call: func(c *evalCtx, a []value) (any, error) { return a[0].str() == a[1].str(), nil }})
	register("not", &function{minArgs: 1, maxArgs: 1,
		doc:  "not(x): true when x is empty or false, false otherwise",
		call: func(c *evalCtx, a []value) (any, error) { return !truthy(a[0].v), nil }})
	register("score", &function{minArgs: 2, maxArgs: 2,
		doc: "score(x, max): an integer score from 0 to max (a questionnaire item, a total)",
		call: func(c *evalCtx, a []value) (any, error) {
			s := strings.TrimSpace(width.Fold.String(a[0].str()))
			if s == "" {
				return nil, nil
			}
			max, err := strconv.Atoi(a[1].str())
			if err != nil {
				return nil, fmt.Errorf("score: the maximum %q is not a number", a[1].str())
			}
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 || n > max {
				return nil, fmt.Errorf("%q is not a score from 0 to %d", a[0].str(), max)
			}
			return json.Number(strconv.Itoa(n)), nil
		}})
	register("postpartumtype", unary("postpartumtype(days): the checkup-type of a postpartum checkup on that day after birth: postpartum-2w up to day 21, postpartum-1m after",
		func(s string) (any, error) {
			n, err := strconv.Atoi(width.Fold.String(s))
			if err != nil || n < 0 || n > 365 {
				return nil, fmt.Errorf("%q is not a number of days after birth", s)
			}
			if n <= 21 {
				return "postpartum-2w", nil
			}
			return "postpartum-1m", nil
		}))
	register("join", &function{minArgs: 2, maxArgs: -1,
		doc: "join(sep, x, …): the non-empty values joined by sep",
		call: func(c *evalCtx, a []value) (any, error) {
			var parts []string
			for _, v := range a[1:] {
				if s := strings.TrimSpace(v.str()); s != "" {
					parts = append(parts, s)
				}
			}
			if len(parts) == 0 {
				return nil, nil
			}
			return strings.Join(parts, a[0].str()), nil
		}})
	register("hl7time", unary("hl7time(x): an HL7 v2 DTM (YYYY[MM[DD[HH[MM[SS[.S…]]]]]][+/-ZZZZ]) as a FHIR dateTime; without a zone, Japan time (+09:00)",
		func(s string) (any, error) { return hl7Time(s) }))
	register("text", unary("text(x): x without surrounding spaces (full-width ones too)",
		func(s string) (any, error) { return s, nil }))
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// hl7Time converts an HL7 v2 DTM to a FHIR dateTime.
func hl7Time(s string) (string, error) {
	digits, zone := s, ""
	if i := strings.IndexAny(s, "+-"); i > 0 {
		digits, zone = s[:i], s[i:]
	}
	frac := ""
	if i := strings.IndexByte(digits, '.'); i >= 0 {
		digits, frac = digits[:i], digits[i:]
	}
	bad := fmt.Errorf("%q is not an HL7 date and time (YYYYMMDDHHMMSS)", s)
	for _, r := range digits {
		if r < '0' || r > '9' {
			return "", bad
		}
	}
	if len(zone) > 0 && (len(zone) != 5 || strings.ContainsFunc(zone[1:], func(r rune) bool { return r < '0' || r > '9' })) {
		return "", bad
	}
	layouts := map[int]string{4: "2006", 6: "200601", 8: "20060102", 10: "2006010215", 12: "200601021504", 14: "20060102150405"}
	layout, ok := layouts[len(digits)]
	if !ok || (frac != "" && len(digits) != 14) {
		return "", bad
	}
	t, err := time.Parse(layout, digits)
	if err != nil {
		return "", bad
	}
	switch len(digits) {
	case 4:
		return t.Format("2006"), nil
	case 6:
		return t.Format("2006-01"), nil
	case 8:
		return t.Format("2006-01-02"), nil
	}
	if zone == "" {
		zone = "+0900"
	}
	out := t.Format("2006-01-02T15:04:05")
	if frac != "" && len(frac) > 1 {
		out += frac
	}
	return out + zone[:3] + ":" + zone[3:], nil
}
