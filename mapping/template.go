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
	"fmt"
	"strings"
	"unicode"
)

// A template is a string of a spec's resource body: literal text with expressions in braces.
//
//	"urn:kodomohub:{$lg}:resident-id"   text with a variable
//	"{宛名番号}"                          a column's value (a string)
//	"{=date(生年月日)}"                   the value of a function: a string, a number, an
//	                                     object or a list, which replaces the whole element
//	"{@person}"                          the reference (Type/id) of another resource of the
//	                                     same record
//
// Expressions: a column name (as the spec's columns name it, any text without ( ) , ' { });
// $var (lg, tenant, source, file, and in an `each` resource column and value); @name;
// 'literal'; a call name(arg, …) of a function of funcs.go. Text with an empty column or
// variable in it is empty, and an empty value (or a function's nil) removes its element from
// the body: optional columns need no conditions. "{{" and "}}" are literal braces.
type template struct {
	parts []part
	// whole is set for a template that is one "{=expr}" (or one "{expr}"): its value is the
	// expression's, of any type.
	whole *expr
}

type part struct {
	text string
	e    *expr
}

type exprKind uint8

const (
	columnExpr exprKind = iota
	varExpr
	refExpr
	literalExpr
	callExpr
)

// expr is one compiled expression.
type expr struct {
	kind exprKind
	name string // column, variable, resource, literal value or function name
	args []*expr
	fn   *function
}

// parseTemplate compiles s; scope checks each name it uses.
func parseTemplate(s string, sc *scope) (*template, error) {
	t := &template{}
	var lit strings.Builder
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "{{"):
			lit.WriteByte('{')
			i += 2
		case strings.HasPrefix(s[i:], "}}"):
			lit.WriteByte('}')
			i += 2
		case s[i] == '}':
			return nil, fmt.Errorf("%q: a } without its {", s)
		case s[i] == '{':
			end := closing(s, i+1)
			if end < 0 {
				return nil, fmt.Errorf("%q: a { without its }", s)
			}
			src := s[i+1 : end]
			whole := strings.HasPrefix(src, "=")
			e, err := parseExpr(strings.TrimPrefix(src, "="), sc)
			if err != nil {
				return nil, fmt.Errorf("%q: %w", s, err)
			}
			if lit.Len() > 0 {
				t.parts = append(t.parts, part{text: lit.String()})
				lit.Reset()
			}
			t.parts = append(t.parts, part{e: e})
			if whole && (i != 0 || end != len(s)-1) {
				return nil, fmt.Errorf("%q: {=…} must be the whole value", s)
			}
			i = end + 1
		default:
			lit.WriteByte(s[i])
			i++
		}
	}
	if lit.Len() > 0 {
		t.parts = append(t.parts, part{text: lit.String()})
	}
	if len(t.parts) == 1 && t.parts[0].e != nil {
		t.whole = t.parts[0].e
	}
	return t, nil
}

// closing finds the } that closes an expression starting at i, skipping quoted literals.
func closing(s string, i int) int {
	quoted := false
	for ; i < len(s); i++ {
		switch {
		case s[i] == '\'':
			quoted = !quoted
		case s[i] == '}' && !quoted:
			return i
		case s[i] == '{' && !quoted:
			return -1
		}
	}
	return -1
}

// literal reports whether t has no expression: its text is its value.
func (t *template) literal() (string, bool) {
	if len(t.parts) == 0 {
		return "", true
	}
	if len(t.parts) == 1 && t.parts[0].e == nil {
		return t.parts[0].text, true
	}
	return "", false
}

type exprParser struct {
	s  string
	i  int
	sc *scope
}

func parseExpr(s string, sc *scope) (*expr, error) {
	p := &exprParser{s: s, sc: sc}
	e, err := p.expr()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i != len(p.s) {
		return nil, fmt.Errorf("unexpected %q in expression %q", p.s[p.i:], s)
	}
	return e, nil
}

func (p *exprParser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func (p *exprParser) expr() (*expr, error) {
	p.space()
	if p.i >= len(p.s) {
		return nil, fmt.Errorf("an empty expression")
	}
	switch c := p.s[p.i]; c {
	case '\'':
		end := strings.IndexByte(p.s[p.i+1:], '\'')
		if end < 0 {
			return nil, fmt.Errorf("a ' without its end")
		}
		e := &expr{kind: literalExpr, name: p.s[p.i+1 : p.i+1+end]}
		p.i += end + 2
		return e, nil
	case '$', '@':
		p.i++
		name := p.word()
		if name == "" {
			return nil, fmt.Errorf("a name must follow %c", c)
		}
		if c == '$' {
			if !p.sc.vars[name] {
				return nil, fmt.Errorf("unknown variable $%s (known: %s)", name, p.sc.varList())
			}
			return &expr{kind: varExpr, name: name}, nil
		}
		if !p.sc.resources[name] {
			return nil, fmt.Errorf("@%s names no resource of this spec", name)
		}
		return &expr{kind: refExpr, name: name}, nil
	}
	name := p.word()
	if name == "" {
		return nil, fmt.Errorf("unexpected %q", p.s[p.i:])
	}
	p.space()
	if p.i < len(p.s) && p.s[p.i] == '(' {
		return p.call(name)
	}
	if !p.sc.columns[name] {
		return nil, fmt.Errorf("column %q is not among the spec's columns", name)
	}
	return &expr{kind: columnExpr, name: name}, nil
}

// word reads a name: up to a delimiter, without surrounding spaces.
func (p *exprParser) word() string {
	start := p.i
	for p.i < len(p.s) && !strings.ContainsRune("(),'{}$@", rune(p.s[p.i])) {
		p.i++
	}
	return strings.TrimSpace(p.s[start:p.i])
}

func (p *exprParser) call(name string) (*expr, error) {
	fn, ok := funcs[name]
	if !ok || !isIdent(name) {
		return nil, fmt.Errorf("unknown function %s (known: %s)", name, funcList())
	}
	p.i++ // (
	e := &expr{kind: callExpr, name: name, fn: fn}
	for {
		p.space()
		if p.i < len(p.s) && p.s[p.i] == ')' && len(e.args) == 0 {
			p.i++
			break
		}
		var arg *expr
		if fn.codeMap && len(e.args) == 0 {
			m := p.word()
			if !p.sc.codes[m] {
				return nil, fmt.Errorf("%s: %q names no code map of the spec", name, m)
			}
			arg = &expr{kind: literalExpr, name: m}
		} else {
			var err error
			if arg, err = p.expr(); err != nil {
				return nil, err
			}
		}
		e.args = append(e.args, arg)
		p.space()
		if p.i >= len(p.s) {
			return nil, fmt.Errorf("%s( without its )", name)
		}
		if p.s[p.i] == ')' {
			p.i++
			break
		}
		if p.s[p.i] != ',' {
			return nil, fmt.Errorf("unexpected %q in the arguments of %s", p.s[p.i:], name)
		}
		p.i++
	}
	if len(e.args) < fn.minArgs || (fn.maxArgs >= 0 && len(e.args) > fn.maxArgs) {
		return nil, fmt.Errorf("%s takes %s, not %d", name, fn.arity(), len(e.args))
	}
	return e, nil
}

func isIdent(s string) bool {
	for _, r := range s {
		if !(r == '_' || r == '-' || r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r))) {
			return false
		}
	}
	return s != ""
}
