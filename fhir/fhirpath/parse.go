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
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits on what Compile accepts, so that evaluation recursion stays bounded.
const (
	maxExprLen = 64 << 10 // bytes of source
	maxDepth   = 200      // nesting of the syntax tree
)

// Expression is a compiled FHIRPath expression. It is safe for concurrent use.
type Expression struct {
	src  string
	root node
}

// String returns the source text of e.
func (e *Expression) String() string { return e.src }

// SyntaxError is the error Compile returns; Pos is the byte offset in the source.
type SyntaxError struct {
	Pos int
	Msg string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("fhirpath: at %d: %s", e.Pos, e.Msg) }

// Compile parses expr; errors name the position.
func Compile(expr string) (*Expression, error) {
	if len(expr) > maxExprLen {
		return nil, &SyntaxError{Pos: maxExprLen, Msg: "expression too long"}
	}
	toks, err := lex(expr)
	if err != nil {
		return nil, err
	}
	p := &parser{src: expr, toks: toks}
	n, err := p.parseExpr(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, p.errf(t, "unexpected %s", t.describe())
	}
	return &Expression{src: expr, root: n}, nil
}

// MustCompile is like Compile but panics on error; for expressions fixed in the source.
func MustCompile(expr string) *Expression {
	e, err := Compile(expr)
	if err != nil {
		panic(err)
	}
	return e
}

// Lexer.

type tokKind uint8

const (
	tEOF tokKind = iota
	tIdent
	tDelimIdent // `quoted`
	tString
	tNumber
	tDateTime
	tVar     // %name
	tSpecial // $this, $index, $total
	tOp
)

type token struct {
	kind tokKind
	text string // identifier, operator, decoded string, number, date literal without '@'
	pos  int
}

func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "end of expression"
	case tString:
		return "string '" + t.text + "'"
	}
	return "'" + t.text + "'"
}

var dateRE = regexp.MustCompile(`^@(?:T\d{2}(?::\d{2}(?::\d{2}(?:\.\d+)?)?)?|\d{4}(?:-\d{2}(?:-\d{2})?)?(?:T(?:\d{2}(?::\d{2}(?::\d{2}(?:\.\d+)?)?)?)?(?:Z|[+-]\d{2}:\d{2})?)?)`)

func lex(s string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			i++
			continue
		case c == '/' && i+1 < len(s) && s[i+1] == '/':
			for i < len(s) && s[i] != '\n' {
				i++
			}
			continue
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				return nil, &SyntaxError{Pos: i, Msg: "unterminated comment"}
			}
			i += end + 4
			continue
		}
		start := i
		switch {
		case isIdentStart(c):
			for i < len(s) && isIdentPart(s[i]) {
				i++
			}
			toks = append(toks, token{tIdent, s[start:i], start})
		case c >= '0' && c <= '9':
			for i < len(s) && s[i] >= '0' && s[i] <= '9' {
				i++
			}
			if i+1 < len(s) && s[i] == '.' && s[i+1] >= '0' && s[i+1] <= '9' {
				i++
				for i < len(s) && s[i] >= '0' && s[i] <= '9' {
					i++
				}
			}
			toks = append(toks, token{tNumber, s[start:i], start})
		case c == '\'' || c == '`':
			text, n, err := unquote(s[i:], c)
			if err != nil {
				return nil, &SyntaxError{Pos: i, Msg: err.Error()}
			}
			i += n
			k := tString
			if c == '`' {
				k = tDelimIdent
			}
			toks = append(toks, token{k, text, start})
		case c == '@':
			m := dateRE.FindString(s[i:])
			if m == "" {
				return nil, &SyntaxError{Pos: i, Msg: "malformed date/time literal"}
			}
			i += len(m)
			toks = append(toks, token{tDateTime, m[1:], start})
		case c == '%':
			i++
			switch {
			case i < len(s) && isIdentStart(s[i]):
				for i < len(s) && isIdentPart(s[i]) {
					i++
				}
				toks = append(toks, token{tVar, s[start+1 : i], start})
			case i < len(s) && (s[i] == '`' || s[i] == '\''):
				text, n, err := unquote(s[i:], s[i])
				if err != nil {
					return nil, &SyntaxError{Pos: i, Msg: err.Error()}
				}
				i += n
				toks = append(toks, token{tVar, text, start})
			default:
				return nil, &SyntaxError{Pos: start, Msg: "'%' must be followed by a name"}
			}
		case c == '$':
			i++
			for i < len(s) && isIdentPart(s[i]) {
				i++
			}
			name := s[start:i]
			if name != "$this" && name != "$index" && name != "$total" {
				return nil, &SyntaxError{Pos: start, Msg: "unknown special variable " + strconv.Quote(name)}
			}
			toks = append(toks, token{tSpecial, name, start})
		default:
			op := ""
			if i+1 < len(s) {
				switch two := s[i : i+2]; two {
				case "<=", ">=", "!=", "!~":
					op = two
				}
			}
			if op == "" {
				switch c {
				case '.', '[', ']', '(', ')', '{', '}', ',', '|', '+', '-', '*', '/', '&', '=', '~', '<', '>':
					op = s[i : i+1]
				default:
					r, _ := utf8.DecodeRuneInString(s[i:])
					return nil, &SyntaxError{Pos: i, Msg: fmt.Sprintf("unexpected character %q", r)}
				}
			}
			i += len(op)
			toks = append(toks, token{tOp, op, start})
		}
	}
	return append(toks, token{kind: tEOF, pos: len(s)}), nil
}

func isIdentStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isIdentPart(c byte) bool  { return isIdentStart(c) || c >= '0' && c <= '9' }

// unquote decodes a '…' string or `…` identifier at the start of s and returns its length.
func unquote(s string, q byte) (string, int, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == q:
			return b.String(), i + 1, nil
		case c == '\\':
			i++
			if i >= len(s) {
				return "", 0, fmt.Errorf("unterminated string")
			}
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'f':
				b.WriteByte('\f')
			case 'u':
				if i+4 >= len(s) {
					return "", 0, fmt.Errorf("malformed \\u escape")
				}
				v, err := strconv.ParseUint(s[i+1:i+5], 16, 32)
				if err != nil {
					return "", 0, fmt.Errorf("malformed \\u escape")
				}
				b.WriteRune(rune(v))
				i += 4
			default:
				b.WriteByte(s[i]) // \' \" \` \\ \/
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, fmt.Errorf("unterminated string")
}

// Parser: precedence climbing over the FHIRPath operator table.

type parser struct {
	src   string
	toks  []token
	i     int
	depth int
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) errf(t token, format string, args ...any) error {
	return &SyntaxError{Pos: t.pos, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) isOp(t token, op string) bool { return t.kind == tOp && t.text == op }

func (p *parser) expect(op string) (token, error) {
	t := p.next()
	if !p.isOp(t, op) {
		return t, p.errf(t, "expected '%s', found %s", op, t.describe())
	}
	return t, nil
}

// binary operator precedences (higher binds tighter).
func infixPrec(t token) int {
	switch t.kind {
	case tOp:
		switch t.text {
		case "*", "/":
			return 10
		case "+", "-", "&":
			return 9
		case "|":
			return 7
		case "<", ">", "<=", ">=":
			return 6
		case "=", "~", "!=", "!~":
			return 5
		}
	case tIdent:
		switch t.text {
		case "div", "mod":
			return 10
		case "is", "as":
			return 8
		case "in", "contains":
			return 4
		case "and":
			return 3
		case "or", "xor":
			return 2
		case "implies":
			return 1
		}
	}
	return 0
}

func (p *parser) enter(t token) error {
	p.depth++
	if p.depth > maxDepth {
		return p.errf(t, "expression nested too deeply")
	}
	return nil
}

func (p *parser) parseExpr(minPrec int) (node, error) {
	if err := p.enter(p.peek()); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	left, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		prec := infixPrec(t)
		if prec == 0 || prec <= minPrec {
			return left, nil
		}
		p.next()
		if t.text == "is" || t.text == "as" {
			typ, err := p.parseTypeSpec()
			if err != nil {
				return nil, err
			}
			left = &typeNode{op: t.text, x: left, typ: typ}
			continue
		}
		right, err := p.parseExpr(prec)
		if err != nil {
			return nil, err
		}
		if t.text == "|" {
			if u, ok := left.(*unionNode); ok {
				u.parts = append(u.parts, right)
				continue
			}
			left = &unionNode{parts: []node{left, right}}
			continue
		}
		if err := p.enter(t); err != nil { // left-nested chains count too
			return nil, err
		}
		left = &binaryNode{op: t.text, l: left, r: right}
	}
}

func (p *parser) parseTypeSpec() (string, error) {
	t := p.next()
	if t.kind != tIdent && t.kind != tDelimIdent {
		return "", p.errf(t, "expected a type name, found %s", t.describe())
	}
	name := t.text
	if n := p.peek(); p.isOp(n, ".") && (name == "FHIR" || name == "System") {
		p.next()
		t2 := p.next()
		if t2.kind != tIdent && t2.kind != tDelimIdent {
			return "", p.errf(t2, "expected a type name, found %s", t2.describe())
		}
		name += "." + t2.text
	}
	return name, nil
}

func (p *parser) parseUnary() (node, error) {
	t := p.peek()
	if p.isOp(t, "-") || p.isOp(t, "+") {
		p.next()
		if err := p.enter(t); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		x, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		if t.text == "+" {
			return x, nil
		}
		return &negNode{x: x}, nil
	}
	x, err := p.parseTerm()
	if err != nil {
		return nil, err
	}
	return p.parsePostfix(x)
}

func (p *parser) parsePostfix(x node) (node, error) {
	for n := 0; ; n++ {
		t := p.peek()
		if n > maxDepth {
			return nil, p.errf(t, "path too long")
		}
		switch {
		case p.isOp(t, "."):
			p.next()
			name := p.next()
			if name.kind != tIdent && name.kind != tDelimIdent {
				return nil, p.errf(name, "expected a name after '.', found %s", name.describe())
			}
			if name.kind == tIdent && p.isOp(p.peek(), "(") {
				f, err := p.parseCall(x, name)
				if err != nil {
					return nil, err
				}
				x = f
			} else {
				x = &memberNode{recv: x, name: name.text}
			}
		case p.isOp(t, "["):
			p.next()
			idx, err := p.parseExpr(0)
			if err != nil {
				return nil, err
			}
			if _, err := p.expect("]"); err != nil {
				return nil, err
			}
			x = &indexerNode{recv: x, idx: idx}
		default:
			return x, nil
		}
	}
}

var calendarUnits = map[string]string{
	"year": "a", "years": "a", "month": "mo", "months": "mo", "week": "wk", "weeks": "wk",
	"day": "d", "days": "d", "hour": "h", "hours": "h", "minute": "min", "minutes": "min",
	"second": "s", "seconds": "s", "millisecond": "ms", "milliseconds": "ms",
}

func (p *parser) parseTerm() (node, error) {
	t := p.next()
	switch t.kind {
	case tNumber:
		typ := "integer"
		if strings.Contains(t.text, ".") {
			typ = "decimal"
		}
		num := json.Number(t.text)
		if typ == "integer" {
			if _, err := strconv.ParseInt(t.text, 10, 32); err != nil {
				typ = "decimal" // beyond FHIR integer range: keep the value exactly
			}
		}
		if n := p.peek(); n.kind == tString || n.kind == tIdent && calendarUnits[n.text] != "" {
			p.next()
			q := map[string]any{"value": num}
			if n.kind == tString {
				q["unit"], q["code"], q["system"] = n.text, n.text, ucumSystem
			} else {
				q["unit"], q["code"] = n.text, calendarUnits[n.text]
				if !strings.HasSuffix(n.text, "s") {
					q["unit"] = n.text + "s"
				}
			}
			return &literalNode{val: Collection{{Value: q, Type: "Quantity"}}}, nil
		}
		return &literalNode{val: Collection{{Value: num, Type: typ}}}, nil
	case tString:
		return &literalNode{val: Collection{{Value: t.text, Type: "string"}}}, nil
	case tDateTime:
		s, typ := t.text, "dateTime"
		switch {
		case strings.HasPrefix(s, "T"):
			s, typ = s[1:], "time"
		case strings.HasSuffix(s, "T"):
			s = strings.TrimSuffix(s, "T")
		case !strings.Contains(s, "T"):
			typ = "date"
		}
		return &literalNode{val: Collection{{Value: s, Type: typ}}}, nil
	case tVar:
		return &varNode{name: t.text}, nil
	case tSpecial:
		return &specialNode{name: t.text}, nil
	case tDelimIdent:
		return &memberNode{name: t.text}, nil
	case tIdent:
		switch t.text {
		case "true", "false":
			return &literalNode{val: Collection{{Value: t.text == "true", Type: "boolean"}}}, nil
		}
		if p.isOp(p.peek(), "(") {
			return p.parseCall(nil, t)
		}
		if infixPrec(t) > 0 && t.text != "contains" && t.text != "in" {
			// keywords other than those that are also function names
			switch t.text {
			case "div", "mod", "and", "or", "xor", "implies", "is", "as":
				return nil, p.errf(t, "unexpected %s", t.describe())
			}
		}
		return &memberNode{name: t.text}, nil
	case tOp:
		switch t.text {
		case "(":
			x, err := p.parseExpr(0)
			if err != nil {
				return nil, err
			}
			if _, err := p.expect(")"); err != nil {
				return nil, err
			}
			return x, nil
		case "{":
			if _, err := p.expect("}"); err != nil {
				return nil, err
			}
			return &literalNode{}, nil
		}
	}
	return nil, p.errf(t, "unexpected %s", t.describe())
}

func (p *parser) parseCall(recv node, name token) (node, error) {
	p.next() // (
	fn, ok := functions[name.text]
	if !ok {
		if why, known := unsupported[name.text]; known {
			return nil, p.errf(name, "function %s() is not supported: %s", name.text, why)
		}
		return nil, p.errf(name, "unknown function %s()", name.text)
	}
	c := &callNode{recv: recv, name: name.text, fn: fn}
	if fn.typeArg {
		typ, err := p.parseTypeSpec()
		if err != nil {
			return nil, err
		}
		c.typ = typ
		if _, err := p.expect(")"); err != nil {
			return nil, err
		}
		return c, nil
	}
	if !p.isOp(p.peek(), ")") {
		for {
			a, err := p.parseExpr(0)
			if err != nil {
				return nil, err
			}
			c.args = append(c.args, a)
			t := p.next()
			if p.isOp(t, ")") {
				break
			}
			if !p.isOp(t, ",") {
				return nil, p.errf(t, "expected ',' or ')', found %s", t.describe())
			}
		}
	} else {
		p.next()
	}
	if len(c.args) < fn.min || len(c.args) > fn.max {
		if fn.min == fn.max {
			return nil, p.errf(name, "%s() takes %d argument(s), got %d", name.text, fn.min, len(c.args))
		}
		return nil, p.errf(name, "%s() takes %d to %d arguments, got %d", name.text, fn.min, fn.max, len(c.args))
	}
	return c, nil
}
