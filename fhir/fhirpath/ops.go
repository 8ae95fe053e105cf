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
	"fmt"
	"math/big"
	"strings"
	"time"
)

type binaryNode struct {
	op   string
	l, r node
}

func (n *binaryNode) eval(c *evalCtx, _ Collection) (Collection, error) {
	a, err := n.l.eval(c, c.this)
	if err != nil {
		return nil, err
	}
	switch n.op {
	case "and", "or", "implies":
		// short-circuit where the left side decides
		x, xk, err := truth(a)
		if err != nil {
			return nil, err
		}
		if xk && (n.op == "and" && !x || n.op == "or" && x) {
			return boolColl(x), nil
		}
		if xk && n.op == "implies" && !x {
			return boolColl(true), nil
		}
	}
	b, err := n.r.eval(c, c.this)
	if err != nil {
		return nil, err
	}
	switch n.op {
	case "and", "or", "xor", "implies":
		return logic(n.op, a, b)
	case "=", "!=":
		if len(a) == 0 || len(b) == 0 {
			return nil, nil
		}
		if len(a) != len(b) {
			return boolColl(n.op == "!="), nil
		}
		res := true
		for i := range a {
			eq, ok := equal(c, a[i], b[i])
			if !ok {
				return nil, nil
			}
			if !eq {
				res = false
				break
			}
		}
		return boolColl(res == (n.op == "=")), c.step(0)
	case "~", "!~":
		res := len(a) == len(b)
		if res {
			// order does not matter for equivalence
			used := make([]bool, len(b))
			for _, x := range a {
				found := false
				for j, y := range b {
					if !used[j] && equivalent(c, x, y) {
						used[j], found = true, true
						break
					}
				}
				if !found {
					res = false
					break
				}
			}
		}
		return boolColl(res == (n.op == "~")), c.step(0)
	case "<", ">", "<=", ">=":
		if len(a) == 0 || len(b) == 0 {
			return nil, nil
		}
		if len(a) > 1 || len(b) > 1 {
			return nil, errorf("'%s' needs single items", n.op)
		}
		cmp, ok, err := compare(a[0], b[0])
		if err != nil || !ok {
			return nil, err
		}
		var res bool
		switch n.op {
		case "<":
			res = cmp < 0
		case ">":
			res = cmp > 0
		case "<=":
			res = cmp <= 0
		default:
			res = cmp >= 0
		}
		return boolColl(res), nil
	case "in", "contains":
		elem, coll := a, b
		if n.op == "contains" {
			elem, coll = b, a
		}
		if len(elem) == 0 {
			return nil, nil
		}
		if len(elem) > 1 {
			return nil, errorf("'%s' needs a single item", n.op)
		}
		if err := c.step(len(coll)); err != nil {
			return nil, err
		}
		return boolColl(containsItem(c, coll, elem[0])), c.step(0)
	case "&":
		s1, _, err := toStr(a)
		if err != nil {
			return nil, err
		}
		s2, _, err := toStr(b)
		if err != nil {
			return nil, err
		}
		return Collection{strItem(s1 + s2)}, nil
	}
	if len(a) == 0 || len(b) == 0 {
		return nil, nil
	}
	if len(a) > 1 || len(b) > 1 {
		return nil, errorf("'%s' needs single items", n.op)
	}
	return arith(n.op, a, b)
}

// logic is the three-valued and/or/xor/implies.
func logic(op string, a, b Collection) (Collection, error) {
	x, xk, err := truth(a)
	if err != nil {
		return nil, err
	}
	y, yk, err := truth(b)
	if err != nil {
		return nil, err
	}
	switch op {
	case "and":
		switch {
		case xk && !x || yk && !y:
			return boolColl(false), nil
		case xk && yk:
			return boolColl(true), nil
		}
	case "or":
		switch {
		case xk && x || yk && y:
			return boolColl(true), nil
		case xk && yk:
			return boolColl(false), nil
		}
	case "xor":
		if xk && yk {
			return boolColl(x != y), nil
		}
	case "implies":
		switch {
		case xk && !x, yk && y:
			return boolColl(true), nil
		case xk && yk:
			return boolColl(false), nil
		}
	}
	return nil, nil
}

// arith applies + - * / div mod to single items.
func arith(op string, a, b Collection) (Collection, error) {
	x, y := a[0], b[0]
	cx, cy := classOf(x), classOf(y)
	switch {
	case cx == cNum && cy == cNum:
		p, _ := num(x)
		q, _ := num(y)
		if p == nil || q == nil {
			return nil, errorf("malformed number")
		}
		integer := x.Type == "integer" && y.Type == "integer" || x.Type != "decimal" && y.Type != "decimal" && p.IsInt() && q.IsInt()
		r := new(big.Rat)
		switch op {
		case "+":
			r.Add(p, q)
		case "-":
			r.Sub(p, q)
		case "*":
			r.Mul(p, q)
		case "/":
			if q.Sign() == 0 {
				return nil, nil
			}
			return Collection{ratItem(r.Quo(p, q), false)}, nil
		case "div", "mod":
			if q.Sign() == 0 {
				return nil, nil
			}
			quo := new(big.Rat).Quo(p, q)
			t := new(big.Int).Quo(quo.Num(), quo.Denom()) // truncated
			if op == "div" {
				return Collection{ratItem(new(big.Rat).SetInt(t), true)}, nil
			}
			r.Sub(p, new(big.Rat).Mul(q, new(big.Rat).SetInt(t)))
		default:
			return nil, errorf("operator %s is not defined for numbers", op)
		}
		return Collection{ratItem(r, integer)}, nil
	case cx == cString && cy == cString && op == "+":
		return Collection{strItem(x.Value.(string) + y.Value.(string))}, nil
	case (cx == cDate || cx == cTime) && cy == cQuantity && (op == "+" || op == "-"):
		return dateAdd(x, y, op == "-")
	case cx == cQuantity && cy == cQuantity && (op == "+" || op == "-"):
		if quantityUnit(x.Value.(map[string]any)) != quantityUnit(y.Value.(map[string]any)) {
			return nil, nil
		}
		xv := Collection{{Value: x.Value.(map[string]any)["value"], Type: "decimal"}}
		yv := Collection{{Value: y.Value.(map[string]any)["value"], Type: "decimal"}}
		r, err := arith(op, xv, yv)
		if err != nil || len(r) == 0 {
			return nil, err
		}
		q := map[string]any{}
		for k, v := range x.Value.(map[string]any) {
			q[k] = v
		}
		q["value"] = r[0].Value
		return Collection{{Value: q, Type: "Quantity"}}, nil
	}
	return nil, errorf("operator %s is not defined for %s and %s", op, typeName(x), typeName(y))
}

// dateAdd adds a calendar or UCUM time quantity to a date, dateTime or time, keeping its
// precision.
func dateAdd(x, q Item, neg bool) (Collection, error) {
	isTime := classOf(x) == cTime
	d, ok := parseDateTime(x.Value.(string), isTime)
	if !ok {
		return nil, errorf("malformed %s %q", x.Type, x.Value)
	}
	qm := q.Value.(map[string]any)
	n, ok := toInt(Collection{{Value: qm["value"]}})
	if !ok {
		return nil, errorf("date arithmetic needs a whole number of units")
	}
	if neg {
		n = -n
	}
	if n > 1e7 || n < -1e7 {
		return nil, errorf("date arithmetic out of range")
	}
	k := int(n)
	t := time.Date(d.f[0], time.Month(max(d.f[1], 1)), max(d.f[2], 1), d.f[3], d.f[4], d.f[5], d.f[6], time.UTC)
	switch quantityUnit(qm) {
	case "a":
		t = t.AddDate(k, 0, 0)
	case "mo":
		t = t.AddDate(0, k, 0)
	case "wk":
		t = t.AddDate(0, 0, 7*k)
	case "d":
		t = t.AddDate(0, 0, k)
	case "h":
		t = t.Add(time.Duration(k) * time.Hour)
	case "min":
		t = t.Add(time.Duration(k) * time.Minute)
	case "s":
		t = t.Add(time.Duration(k) * time.Second)
	case "ms":
		t = t.Add(time.Duration(k) * time.Millisecond)
	default:
		return nil, errorf("cannot add %s to a %s", quantityUnit(qm), x.Type)
	}
	var b strings.Builder
	if !isTime {
		fmt.Fprintf(&b, "%04d", t.Year())
		if d.prec >= 2 {
			fmt.Fprintf(&b, "-%02d", int(t.Month()))
		}
		if d.prec >= 3 {
			fmt.Fprintf(&b, "-%02d", t.Day())
		}
		if d.prec >= 4 {
			b.WriteByte('T')
		}
	}
	if d.prec >= 4 {
		fmt.Fprintf(&b, "%02d", t.Hour())
	}
	if d.prec >= 5 {
		fmt.Fprintf(&b, ":%02d", t.Minute())
	}
	if d.prec >= 6 {
		fmt.Fprintf(&b, ":%02d", t.Second())
		if ns := t.Nanosecond(); ns != 0 || strings.Contains(x.Value.(string), ".") {
			fmt.Fprintf(&b, ".%03d", ns/1e6)
		}
	}
	if d.tz && d.prec >= 4 {
		if d.off == 0 {
			b.WriteByte('Z')
		} else {
			off, sign := d.off, '+'
			if off < 0 {
				off, sign = -off, '-'
			}
			fmt.Fprintf(&b, "%c%02d:%02d", sign, off/3600, off/60%60)
		}
	}
	return Collection{{Value: b.String(), Type: x.Type}}, nil
}
