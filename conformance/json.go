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
	"encoding/json"
	"errors"
	"sync"
	"unicode/utf8"
	"unsafe"
)

// A small JSON reader that builds a read-only tree over the input. Unlike encoding/json it
// keeps object members in order and sees duplicate keys at any depth; it allocates little
// because strings without escapes point into the input and member slices come from a
// pooled arena. Trees never outlive the Validate call that built them.

type jkind uint8

const (
	jNull jkind = iota
	jBool
	jNum
	jStr
	jObj
	jArr
)

func (k jkind) String() string {
	return [...]string{"null", "boolean", "number", "string", "object", "array"}[k]
}

// jvalue is one JSON value. For objects kids holds the members in order; for arrays it
// holds the items, with empty keys.
type jvalue struct {
	kind jkind
	dup  bool   // an object with a repeated key
	s    string // string contents, number literal, or "true"/"false"
	kids []member
}

type member struct {
	key string
	val jvalue
}

// get returns the member named key, or nil.
func (v *jvalue) get(key string) *jvalue {
	for i := range v.kids {
		if v.kids[i].key == key {
			return &v.kids[i].val
		}
	}
	return nil
}

const maxDepth = 128

var errSyntax = errors.New("syntax error")

type parser struct {
	raw   []byte
	pos   int
	err   string
	stack []member
	arena []member
	chunk int
	paths []path // lent to the walker
}

var parsers = sync.Pool{New: func() any { return &parser{} }}

func getParser(raw []byte) *parser {
	p := parsers.Get().(*parser)
	p.raw, p.pos, p.err = raw, 0, ""
	p.chunk = len(raw)/24 + 16
	return p
}

func putParser(p *parser) {
	p.raw = nil
	clear(p.stack[:cap(p.stack)])
	p.stack = p.stack[:0]
	clear(p.arena[:cap(p.arena)])
	p.arena = p.arena[:0]
	clear(p.paths[:cap(p.paths)])
	p.paths = p.paths[:0]
	parsers.Put(p)
}

// alloc returns a slice of n members, from the arena when it has room.
func (p *parser) alloc(n int) []member {
	if len(p.arena)+n > cap(p.arena) {
		size := max(p.chunk, n, 64)
		p.arena = make([]member, 0, size)
	}
	s := p.arena[len(p.arena) : len(p.arena)+n : len(p.arena)+n]
	p.arena = p.arena[:len(p.arena)+n]
	return s
}

func (p *parser) fail(msg string) error {
	if p.err == "" {
		p.err = msg
	}
	return errSyntax
}

func (p *parser) parse() (jvalue, error) {
	p.skipSpace()
	v, err := p.value(0)
	if err != nil {
		return v, err
	}
	p.skipSpace()
	if p.pos != len(p.raw) {
		return v, p.fail("unexpected data after the top-level value")
	}
	return v, nil
}

func (p *parser) skipSpace() {
	for p.pos < len(p.raw) {
		switch p.raw[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) value(depth int) (jvalue, error) {
	var v jvalue
	if p.pos >= len(p.raw) {
		return v, p.fail("unexpected end of JSON")
	}
	var err error
	switch c := p.raw[p.pos]; {
	case c == '{':
		v.kind = jObj
		v.kids, v.dup, err = p.object(depth + 1)
	case c == '[':
		v.kind = jArr
		v.kids, err = p.array(depth + 1)
	case c == '"':
		v.kind = jStr
		v.s, err = p.str()
	case c == 't':
		v.kind, err = jBool, p.literal("true")
		v.s = "true"
	case c == 'f':
		v.kind, err = jBool, p.literal("false")
		v.s = "false"
	case c == 'n':
		v.kind, err = jNull, p.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		v.kind = jNum
		v.s, err = p.number()
	default:
		err = p.fail("invalid character at offset " + itoa(p.pos))
	}
	return v, err
}

func (p *parser) literal(lit string) error {
	if len(p.raw)-p.pos < len(lit) || string(p.raw[p.pos:p.pos+len(lit)]) != lit {
		return p.fail("invalid literal at offset " + itoa(p.pos))
	}
	p.pos += len(lit)
	return nil
}

func (p *parser) number() (string, error) {
	start := p.pos
	raw := p.raw
	i := p.pos
	if i < len(raw) && raw[i] == '-' {
		i++
	}
	switch {
	case i < len(raw) && raw[i] == '0':
		i++
	case i < len(raw) && raw[i] >= '1' && raw[i] <= '9':
		for i < len(raw) && raw[i] >= '0' && raw[i] <= '9' {
			i++
		}
	default:
		return "", p.fail("invalid number at offset " + itoa(start))
	}
	if i < len(raw) && raw[i] == '.' {
		i++
		d := i
		for i < len(raw) && raw[i] >= '0' && raw[i] <= '9' {
			i++
		}
		if i == d {
			return "", p.fail("invalid number at offset " + itoa(start))
		}
	}
	if i < len(raw) && (raw[i] == 'e' || raw[i] == 'E') {
		i++
		if i < len(raw) && (raw[i] == '+' || raw[i] == '-') {
			i++
		}
		d := i
		for i < len(raw) && raw[i] >= '0' && raw[i] <= '9' {
			i++
		}
		if i == d {
			return "", p.fail("invalid number at offset " + itoa(start))
		}
	}
	p.pos = i
	return bstr(raw[start:i]), nil
}

// str reads a string token at p.pos.
func (p *parser) str() (string, error) {
	start := p.pos + 1
	raw := p.raw
	escaped := false
	i := start
	for ; i < len(raw); i++ {
		c := raw[i]
		if c == '"' {
			break
		}
		if c == '\\' {
			escaped = true
			i++
			continue
		}
		if c < 0x20 {
			return "", p.fail("control character in string at offset " + itoa(i))
		}
	}
	if i >= len(raw) {
		return "", p.fail("unterminated string at offset " + itoa(p.pos))
	}
	p.pos = i + 1
	body := raw[start:i]
	if !escaped {
		if !utf8.Valid(body) {
			return "", p.fail("invalid UTF-8 in string at offset " + itoa(start))
		}
		return bstr(body), nil
	}
	// Rare: let encoding/json unescape, then check what it did not.
	var s string
	if err := json.Unmarshal(raw[start-1:i+1], &s); err != nil {
		return "", p.fail("invalid string escape at offset " + itoa(start))
	}
	if !utf8.Valid(body) || !utf8.ValidString(s) {
		return "", p.fail("invalid UTF-8 in string at offset " + itoa(start))
	}
	return s, nil
}

func (p *parser) object(depth int) (kids []member, dup bool, err error) {
	if depth > maxDepth {
		return nil, false, p.fail("JSON nests deeper than " + itoa(maxDepth))
	}
	p.pos++ // {
	base := len(p.stack)
	p.skipSpace()
	if p.pos < len(p.raw) && p.raw[p.pos] == '}' {
		p.pos++
		return nil, false, nil
	}
	for {
		p.skipSpace()
		if p.pos >= len(p.raw) || p.raw[p.pos] != '"' {
			return nil, false, p.fail("expected a property name at offset " + itoa(p.pos))
		}
		key, err := p.str()
		if err != nil {
			return nil, false, err
		}
		p.skipSpace()
		if p.pos >= len(p.raw) || p.raw[p.pos] != ':' {
			return nil, false, p.fail("expected ':' at offset " + itoa(p.pos))
		}
		p.pos++
		p.skipSpace()
		for i := base; i < len(p.stack); i++ {
			if p.stack[i].key == key {
				dup = true
			}
		}
		p.stack = append(p.stack, member{key: key})
		idx := len(p.stack) - 1
		m, err := p.value(depth)
		if err != nil {
			return nil, false, err
		}
		p.stack[idx].val = m
		p.skipSpace()
		if p.pos >= len(p.raw) {
			return nil, false, p.fail("unexpected end of JSON in object")
		}
		if p.raw[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.raw[p.pos] == '}' {
			p.pos++
			break
		}
		return nil, false, p.fail("expected ',' or '}' at offset " + itoa(p.pos))
	}
	kids = p.alloc(len(p.stack) - base)
	copy(kids, p.stack[base:])
	clear(p.stack[base:])
	p.stack = p.stack[:base]
	return kids, dup, nil
}

func (p *parser) array(depth int) (kids []member, err error) {
	if depth > maxDepth {
		return nil, p.fail("JSON nests deeper than " + itoa(maxDepth))
	}
	p.pos++ // [
	base := len(p.stack)
	p.skipSpace()
	if p.pos < len(p.raw) && p.raw[p.pos] == ']' {
		p.pos++
		return nil, nil
	}
	for {
		p.skipSpace()
		p.stack = append(p.stack, member{})
		idx := len(p.stack) - 1
		m, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		p.stack[idx].val = m
		p.skipSpace()
		if p.pos >= len(p.raw) {
			return nil, p.fail("unexpected end of JSON in array")
		}
		if p.raw[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.raw[p.pos] == ']' {
			p.pos++
			break
		}
		return nil, p.fail("expected ',' or ']' at offset " + itoa(p.pos))
	}
	kids = p.alloc(len(p.stack) - base)
	copy(kids, p.stack[base:])
	clear(p.stack[base:])
	p.stack = p.stack[:base]
	return kids, nil
}

// bstr views b as a string without copying. b must not change while the string is used;
// Validate's input is only read, and its trees do not outlive the call.
func bstr(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b [20]byte
	n := len(b)
	neg := i < 0
	if neg {
		i = -i
	}
	for i > 0 {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
	}
	if neg {
		n--
		b[n] = '-'
	}
	return string(b[n:])
}
