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
	"strconv"
	"strings"
	"time"
)

func strItem(s string) Item { return Item{Value: s, Type: "string"} }
func boolItem(b bool) Item  { return Item{Value: b, Type: "boolean"} }
func intItem(i int64) Item {
	return Item{Value: json.Number(strconv.FormatInt(i, 10)), Type: "integer"}
}
func boolColl(b bool) Collection { return Collection{boolItem(b)} }

// value classes
type class uint8

const (
	cNone class = iota
	cBool
	cNum
	cString
	cDate // date, dateTime, instant
	cTime
	cQuantity
	cComplex
)

func classOf(it Item) class {
	switch v := it.Value.(type) {
	case bool:
		return cBool
	case json.Number:
		return cNum
	case string:
		switch it.Type {
		case "date", "dateTime", "instant":
			return cDate
		case "time":
			return cTime
		}
		return cString
	case map[string]any:
		if it.Type == "Quantity" || it.model() != nil && it.model().isA("Quantity") {
			if _, ok := v["value"].(json.Number); ok {
				return cQuantity
			}
		}
		return cComplex
	case int, int64, float64: // values built by callers
		return cNum
	}
	return cNone
}

// num returns the numeric value of it.
func num(it Item) (*big.Rat, bool) {
	switch v := it.Value.(type) {
	case json.Number:
		return parseRat(string(v))
	case int:
		return new(big.Rat).SetInt64(int64(v)), true
	case int64:
		return new(big.Rat).SetInt64(v), true
	case float64:
		r := new(big.Rat)
		if r.SetFloat64(v) == nil {
			return nil, false
		}
		return r, true
	}
	return nil, false
}

func parseRat(s string) (*big.Rat, bool) {
	if len(s) > 400 { // big exponents would make SetString allocate without bound
		return nil, false
	}
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.Atoi(s[i+1:])
		if err != nil || e > 400 || e < -400 {
			return nil, false
		}
	}
	r, ok := new(big.Rat).SetString(s)
	return r, ok
}

// cmpNum compares two numbers exactly, with a fast path for small integers.
func cmpNum(a, b Item) (int, bool) {
	if x, ok := a.Value.(json.Number); ok {
		if y, ok := b.Value.(json.Number); ok {
			if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
				if j, err := strconv.ParseInt(string(y), 10, 64); err == nil {
					switch {
					case i < j:
						return -1, true
					case i > j:
						return 1, true
					}
					return 0, true
				}
			}
		}
	}
	x, ok1 := num(a)
	y, ok2 := num(b)
	if !ok1 || !ok2 {
		return 0, false
	}
	return x.Cmp(y), true
}

func ratItem(r *big.Rat, integer bool) Item {
	if integer && r.IsInt() {
		return Item{Value: json.Number(r.Num().String()), Type: "integer"}
	}
	n, exact := r.FloatPrec()
	if !exact || n > 28 {
		n = 8
	}
	s := r.FloatString(n)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return Item{Value: json.Number(s), Type: "decimal"}
}

// equal is FHIRPath '=' on two items; ok is false when the result is empty (dates of
// different precision).
func equal(c *evalCtx, a, b Item) (eq, ok bool) {
	ca, cb := classOf(a), classOf(b)
	if ca == cString && cb == cDate || ca == cDate && cb == cString {
		if d, ok := promoteDate(a, b); ok {
			a, b, ca, cb = d[0], d[1], cDate, cDate
		}
	}
	if ca == cNone && a.Value == nil || cb == cNone && b.Value == nil {
		return false, false // a primitive with extensions only, or a resolve() stub
	}
	if ca != cb {
		return false, true
	}
	switch ca {
	case cBool:
		return a.Value == b.Value, true
	case cNum:
		c, ok := cmpNum(a, b)
		return ok && c == 0, ok
	case cString:
		return a.Value.(string) == b.Value.(string), true
	case cDate, cTime:
		c, ok := cmpDate(a.Value.(string), b.Value.(string), ca == cTime)
		return c == 0, ok
	case cQuantity:
		c, ok := cmpQuantity(a, b)
		return c == 0, ok
	case cComplex:
		budget := 1 << 16
		if c != nil {
			budget = max(maxSteps-c.steps, 0) + 1
		}
		left := budget
		eq := jsonEqual(a.Value, b.Value, 0, &left)
		if c != nil {
			c.steps += budget - left // over budget makes the next step() fail
		}
		return eq, true
	}
	return a.Value == nil && b.Value == nil && a.Type == b.Type, true
}

// promoteDate lets a string literal stand for a date when compared with one.
func promoteDate(a, b Item) ([2]Item, bool) {
	for _, it := range []*Item{&a, &b} {
		if classOf(*it) == cString {
			s := it.Value.(string)
			if _, ok := parseDateTime(s, false); !ok {
				return [2]Item{}, false
			}
			it.Type = "dateTime"
		}
	}
	return [2]Item{a, b}, true
}

func jsonEqual(a, b any, depth int, left *int) bool {
	*left--
	if depth > 100 || *left < 0 {
		return false
	}
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !jsonEqual(v, w, depth+1, left) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonEqual(x[i], y[i], depth+1, left) {
				return false
			}
		}
		return true
	case json.Number:
		y, ok := b.(json.Number)
		if !ok {
			return false
		}
		c, ok := cmpNum(Item{Value: x}, Item{Value: y})
		return ok && c == 0
	case string, bool, nil:
		return a == b
	}
	return false
}

// equivalent is FHIRPath '~'.
func equivalent(c *evalCtx, a, b Item) bool {
	ca, cb := classOf(a), classOf(b)
	if ca != cb {
		return false
	}
	switch ca {
	case cString:
		return normSpace(a.Value.(string)) == normSpace(b.Value.(string))
	case cNum:
		x, ok1 := num(a)
		y, ok2 := num(b)
		if !ok1 || !ok2 {
			return false
		}
		// to the precision of the less precise operand
		p := min(decimals(a.Value), decimals(b.Value))
		return roundRat(x, p).Cmp(roundRat(y, p)) == 0
	case cDate, cTime:
		c, ok := cmpDate(a.Value.(string), b.Value.(string), ca == cTime)
		return ok && c == 0
	}
	eq, ok := equal(c, a, b)
	return ok && eq
}

func normSpace(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), " ")) }

func decimals(v any) int {
	s, _ := v.(json.Number)
	if i := strings.IndexByte(string(s), '.'); i >= 0 {
		return len(s) - i - 1
	}
	return 0
}

func roundRat(r *big.Rat, p int) *big.Rat {
	s := r.FloatString(p)
	out, _ := new(big.Rat).SetString(s)
	return out
}

// compare orders a and b for < > <= >=; ok is false when the result is empty.
func compare(a, b Item) (int, bool, error) {
	ca, cb := classOf(a), classOf(b)
	if ca == cString && cb == cDate || ca == cDate && cb == cString {
		if d, ok := promoteDate(a, b); ok {
			a, b, ca, cb = d[0], d[1], cDate, cDate
		}
	}
	if ca != cb {
		return 0, false, errorf("cannot compare %s with %s", typeName(a), typeName(b))
	}
	switch ca {
	case cNum:
		c, ok := cmpNum(a, b)
		return c, ok, nil
	case cString:
		return strings.Compare(a.Value.(string), b.Value.(string)), true, nil
	case cDate, cTime:
		c, ok := cmpDate(a.Value.(string), b.Value.(string), ca == cTime)
		return c, ok, nil
	case cQuantity:
		c, ok := cmpQuantity(a, b)
		return c, ok, nil
	}
	return 0, false, errorf("cannot compare values of type %s", typeName(a))
}

func typeName(it Item) string {
	if it.Type != "" {
		return it.Type
	}
	return "unknown"
}

func quantityUnit(m map[string]any) string {
	if c, ok := m["code"].(string); ok {
		return calendarToUCUM(c)
	}
	u, _ := m["unit"].(string)
	return calendarToUCUM(u)
}

func calendarToUCUM(u string) string {
	if c := calendarUnits[u]; c != "" {
		return c
	}
	return u
}

// cmpQuantity compares quantities of the same unit; different units give an empty result
// (no UCUM conversion).
func cmpQuantity(a, b Item) (int, bool) {
	x, y := a.Value.(map[string]any), b.Value.(map[string]any)
	if quantityUnit(x) != quantityUnit(y) {
		return 0, false
	}
	return cmpNum(Item{Value: x["value"]}, Item{Value: y["value"]})
}

// Dates and times with partial precision.

type dateTime struct {
	f    [7]int // year, month, day, hour, minute, second, nanosecond
	prec int    // number of fields given: 1 year … 6 seconds (with any fraction)
	tz   bool
	off  int // offset east of UTC in seconds
}

func parseDateTime(s string, isTime bool) (dateTime, bool) {
	var d dateTime
	start := 0
	if isTime {
		start = 3
		s = "T" + s
	} else {
		if len(s) < 4 {
			return d, false
		}
		y, err := strconv.Atoi(s[:4])
		if err != nil {
			return d, false
		}
		d.f[0], d.prec, s = y, 1, s[4:]
	}
	seps := []byte{'-', '-', 'T', ':', ':'}
	for i := max(1, start); i < 6 && len(s) > 0; i++ {
		if s[0] != seps[i-1] || len(s) < 3 {
			break
		}
		v, err := strconv.Atoi(s[1:3])
		if err != nil || v < 0 {
			return d, false
		}
		d.f[i], d.prec, s = v, i+1, s[3:]
	}
	if d.prec == 6 && len(s) > 1 && s[0] == '.' {
		j := 1
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		frac := (s[1:j] + "000000000")[:9]
		n, err := strconv.Atoi(frac)
		if err != nil {
			return d, false
		}
		d.f[6], s = n, s[j:]
	}
	switch {
	case s == "":
	case s == "Z":
		d.tz = true
	case len(s) == 6 && (s[0] == '+' || s[0] == '-') && s[3] == ':':
		h, err1 := strconv.Atoi(s[1:3])
		m, err2 := strconv.Atoi(s[4:6])
		if err1 != nil || err2 != nil {
			return d, false
		}
		d.tz, d.off = true, (h*60+m)*60
		if s[0] == '-' {
			d.off = -d.off
		}
	default:
		return d, false
	}
	if isTime && d.prec < 4 {
		return d, false
	}
	return d, true
}

// utc shifts a dateTime given to the hour or finer with a timezone to UTC.
func (d dateTime) utc() dateTime {
	if !d.tz || d.off == 0 || d.prec < 4 {
		return d
	}
	t := time.Date(d.f[0], time.Month(max(d.f[1], 1)), max(d.f[2], 1), d.f[3], d.f[4], d.f[5], d.f[6], time.FixedZone("", d.off)).UTC()
	d.f = [7]int{t.Year(), int(t.Month()), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond()}
	d.off = 0
	return d
}

// cmpDate compares two date/time strings following the FHIRPath precision rules: fields
// are compared down to the coarser precision, and if they are all equal but the
// precisions differ the result is empty (ok false). Values without a timezone are taken
// as UTC.
func cmpDate(a, b string, isTime bool) (int, bool) {
	x, ok1 := parseDateTime(a, isTime)
	y, ok2 := parseDateTime(b, isTime)
	if !ok1 || !ok2 {
		if a == b {
			return 0, true
		}
		return 0, false
	}
	if !isTime {
		x, y = x.utc(), y.utc()
	}
	first := 0
	if isTime {
		first = 3
	}
	p := min(x.prec, y.prec)
	for i := first; i < p; i++ {
		if x.f[i] != y.f[i] {
			if x.f[i] < y.f[i] {
				return -1, true
			}
			return 1, true
		}
	}
	if p == 6 && x.f[6] != y.f[6] {
		if x.f[6] < y.f[6] {
			return -1, true
		}
		return 1, true
	}
	if x.prec != y.prec {
		return 0, false
	}
	return 0, true
}

// Boolean evaluation of collections.

// truth is the singleton evaluation of a collection as a boolean: known is false for
// the empty collection.
func truth(v Collection) (val, known bool, err error) {
	switch len(v) {
	case 0:
		return false, false, nil
	case 1:
		if b, ok := v[0].Value.(bool); ok {
			return b, true, nil
		}
		return true, true, nil // a single non-boolean item counts as true
	}
	return false, false, errorf("expected a single boolean, got %d items", len(v))
}

func toInt(v Collection) (int64, bool) {
	if len(v) != 1 {
		return 0, false
	}
	n, ok := v[0].Value.(json.Number)
	if !ok {
		if i, ok := v[0].Value.(int); ok {
			return int64(i), true
		}
		return 0, false
	}
	i, err := strconv.ParseInt(string(n), 10, 64)
	return i, err == nil
}

func toStr(v Collection) (string, bool, error) {
	switch len(v) {
	case 0:
		return "", false, nil
	case 1:
		s, ok := stringValue(v[0])
		if !ok {
			return "", false, errorf("expected a string, got %s", typeName(v[0]))
		}
		return s, true, nil
	}
	return "", false, errorf("expected a single string, got %d items", len(v))
}

// stringValue is toString() of one item.
func stringValue(it Item) (string, bool) {
	switch v := it.Value.(type) {
	case string:
		return v, true
	case json.Number:
		return string(v), true
	case bool:
		return strconv.FormatBool(v), true
	case map[string]any:
		if classOf(it) == cQuantity {
			val, _ := v["value"].(json.Number)
			u := quantityUnit(v)
			if _, cal := calendarUnits[u]; !cal {
				u = "'" + u + "'"
			}
			return string(val) + " " + u, true
		}
	}
	return "", false
}
