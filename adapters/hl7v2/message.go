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

package hl7v2

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/kodomohub/kodomohub/adapters"
)

// MaxValues is the most values one message may have. An SS-MIX2 message has tens to a few
// hundred; the bound keeps a hostile file from costing more than its size suggests.
const MaxValues = 100_000

// line is one segment's text and where it is in the file.
type line struct {
	n    int // from 1
	text string
}

// delimiters are a message's separators, read from MSH-1 and MSH-2.
type delimiters struct {
	field, component, repetition, escape, subcomponent byte
}

// parseMessage turns the segments of one message (lines[0] is its MSH) into a record.
func parseMessage(file string, lines []line) (adapters.Record, error) {
	msh := lines[0]
	rec := adapters.Record{File: file, Line: msh.n}
	d, err := readDelimiters(msh.text)
	if err != nil {
		return rec, rowError(file, msh.n, "MSH-2", "", err.Error())
	}
	seen := map[string]int{}
	for _, l := range lines {
		name, err := segmentName(l.text, d)
		if err != nil {
			return rec, rowError(file, l.n, "", clip(l.text), err.Error())
		}
		seen[name]++
		seg := name
		if k := seen[name]; k > 1 {
			seg += "[" + strconv.Itoa(k) + "]"
		}
		if name == "MSH" && seen[name] > 1 {
			return rec, rowError(file, l.n, seg, "", "a second MSH inside one message")
		}
		fields := strings.Split(l.text, string(d.field))
		first := 1
		if name == "MSH" {
			// MSH-1 is the field separator itself, MSH-2 the encoding characters, as written.
			rec.Fields = append(rec.Fields, adapters.Field{Name: "MSH-1", Value: string(d.field)},
				adapters.Field{Name: "MSH-2", Value: fields[1]})
			fields, first = fields[2:], 3
		} else {
			fields = fields[1:]
		}
		for i, raw := range fields {
			if err := appendField(&rec, d, seg+"-"+strconv.Itoa(first+i), raw); err != nil {
				err.Problem.File, err.Problem.Line = file, l.n
				return rec, err
			}
		}
	}
	if err := checkHeader(rec); err != nil {
		err.Problem.File, err.Problem.Line = file, msh.n
		return rec, err
	}
	return rec, nil
}

// readDelimiters reads MSH-1 and MSH-2 from "MSH|^~\&|…".
func readDelimiters(msh string) (delimiters, error) {
	if len(msh) < 8 {
		return delimiters{}, fmt.Errorf("MSH too short for its separators: %q", msh)
	}
	f := msh[3]
	enc, _, _ := strings.Cut(msh[4:], string(f))
	if len(enc) != 4 && len(enc) != 5 { // v2.7 adds a truncation character, which v2.5 ignores
		return delimiters{}, fmt.Errorf("encoding characters %q: want 4 (^~\\&)", enc)
	}
	d := delimiters{field: f, component: enc[0], repetition: enc[1], escape: enc[2], subcomponent: enc[3]}
	all := []byte{d.field, d.component, d.repetition, d.escape, d.subcomponent}
	for i, c := range all {
		if c < 0x21 || c > 0x7e || '0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' {
			return d, fmt.Errorf("separator %q: want a printable ASCII character that is not a letter or digit", c)
		}
		for _, o := range all[:i] {
			if o == c {
				return d, fmt.Errorf("separator %q is used twice in MSH-1 and MSH-2", c)
			}
		}
	}
	return d, nil
}

// segmentName returns the name of a segment: three capitals or digits, starting with a capital,
// then the end of the line or the field separator.
func segmentName(text string, d delimiters) (string, error) {
	if len(text) < 3 || len(text) > 3 && text[3] != d.field {
		return "", fmt.Errorf("not a segment: a segment starts with a three-character name and %q", d.field)
	}
	name := text[:3]
	if name[0] < 'A' || name[0] > 'Z' || !alnum(name, 3, 3) || strings.ToUpper(name) != name {
		return "", fmt.Errorf("segment name %q: want three capitals or digits (PID, OBX, ZPR)", name)
	}
	return name, nil
}

// appendField adds the non-empty leaves of one field, named by the deepest level used.
func appendField(rec *adapters.Record, d delimiters, base, raw string) *adapters.RowError {
	if raw == "" {
		return nil
	}
	for r, rep := range strings.Split(raw, string(d.repetition)) {
		name := base
		if r > 0 {
			name += "[" + strconv.Itoa(r+1) + "]"
		}
		comps := strings.Split(rep, string(d.component))
		for c, comp := range comps {
			subs := strings.Split(comp, string(d.subcomponent))
			for s, sub := range subs {
				if sub == "" {
					continue
				}
				leaf := name
				if len(comps) > 1 || len(subs) > 1 {
					leaf += "." + strconv.Itoa(c+1)
				}
				if len(subs) > 1 {
					leaf += "." + strconv.Itoa(s+1)
				}
				v, err := unescape(sub, d)
				if err != nil {
					return rowError("", 0, leaf, clip(sub), err.Error())
				}
				if v == "" { // only formatting escapes (\H\, \.in\)
					continue
				}
				if len(rec.Fields) >= MaxValues {
					return rowError("", 0, leaf, "", fmt.Sprintf("the message has more than %d values", MaxValues))
				}
				rec.Fields = append(rec.Fields, adapters.Field{Name: leaf, Value: v})
			}
		}
	}
	return nil
}

// unescape replaces HL7 escape sequences and checks that the value is text.
func unescape(s string, d delimiters) (string, error) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' {
			return "", fmt.Errorf("control character %U", rune(c))
		}
	}
	if strings.ContainsRune(s, utf8.RuneError) {
		return "", fmt.Errorf("bytes that decode to nothing: neither ISO-2022-JP nor UTF-8 text")
	}
	if strings.IndexByte(s, d.escape) < 0 {
		return s, nil
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, d.escape)
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		b.WriteString(s[:i])
		end := strings.IndexByte(s[i+1:], d.escape)
		if end < 0 { // no closing escape character: kept as written
			b.WriteString(s[i:])
			return b.String(), nil
		}
		body := s[i+1 : i+1+end]
		s = s[i+2+end:]
		switch {
		case body == "F":
			b.WriteByte(d.field)
		case body == "S":
			b.WriteByte(d.component)
		case body == "T":
			b.WriteByte(d.subcomponent)
		case body == "R":
			b.WriteByte(d.repetition)
		case body == "E":
			b.WriteByte(d.escape)
		case body == "H" || body == "N": // highlighting on and off
		case body == ".br" || strings.HasPrefix(body, ".sp"):
			b.WriteByte('\n')
		case strings.HasPrefix(body, "."): // other formatting commands (.in, .ti, .sk, .ce, .fi, .nf)
		case body != "" && body[0] == 'X':
			raw, err := hex.DecodeString(body[1:])
			if err != nil || len(raw) == 0 {
				return "", fmt.Errorf("escape \\%s\\: want an even number of hex digits", body)
			}
			if !utf8.Valid(raw) {
				return "", fmt.Errorf("escape \\%s\\ is not UTF-8 text", body)
			}
			for _, c := range raw {
				if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
					return "", fmt.Errorf("escape \\%s\\ spells control character %U", body, rune(c))
				}
			}
			b.Write(raw)
		default: // locally defined (\Z…\) and character-set (\C…\, \M…\) escapes, kept as written
			b.WriteByte(d.escape)
			b.WriteString(body)
			b.WriteByte(d.escape)
		}
	}
}

// checkHeader checks the MSH fields every message needs.
func checkHeader(rec adapters.Record) *adapters.RowError {
	code := Get(rec, "MSH-9.1")
	if len(code) != 3 || !alnum(code, 3, 3) || strings.ToUpper(code) != code {
		return rowError("", 0, "MSH-9.1", code, "message type: want three capitals (ADT, ORU, OML, PPR)")
	}
	v := Get(rec, "MSH-12.1")
	if !strings.HasPrefix(v, "2.") {
		return rowError("", 0, "MSH-12", v, "version: want an HL7 v2 version (2.5)")
	}
	return nil
}

// clip shortens a value for a problem report.
func clip(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	i := max
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}
