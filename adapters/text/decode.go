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

package text

import (
	"bytes"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/transform"
)

// Encoding is a character encoding of source files. Its values are the names a source's
// configuration uses (ParseEncoding accepts their aliases too).
type Encoding string

const (
	Auto  Encoding = ""      // detect (see the package doc)
	UTF8  Encoding = "utf-8" // UTF-8, with or without a byte order mark
	CP932 Encoding = "cp932" // Windows-31J: Shift_JIS with the NEC and IBM extensions

	iso2022JP Encoding = "iso-2022-jp" // only for DecodeISO2022JP: its state spans lines
)

// ParseEncoding returns the Encoding a configuration names: "" or "auto", "utf-8" (or
// "utf8"), "cp932" (or "windows-31j", "ms932", "shift_jis", "shift-jis", "sjis": a
// municipal "Shift_JIS" file is CP932 in practice). Case does not matter.
func ParseEncoding(name string) (Encoding, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "", "auto":
		return Auto, nil
	case "utf-8", "utf8":
		return UTF8, nil
	case "cp932", "windows-31j", "ms932", "shift_jis", "shift-jis", "sjis":
		return CP932, nil
	}
	return Auto, fmt.Errorf("text: unknown encoding %q (known: auto, utf-8, cp932)", name)
}

func (e Encoding) String() string {
	switch e {
	case Auto:
		return "auto"
	case UTF8:
		return "UTF-8"
	case CP932:
		return "CP932"
	case iso2022JP:
		return "ISO-2022-JP"
	}
	return string(e)
}

// IssueKind says what an Issue is.
type IssueKind uint8

const (
	// InvalidBytes are bytes that are not valid in the encoding: decoded as U+FFFD; the
	// record they are in cannot be imported.
	InvalidBytes IssueKind = iota + 1
	// PrivateUse is a private-use character (外字), kept as it is: a warning.
	PrivateUse
)

// Issue is a problem found in decoded text.
type Issue struct {
	Kind IssueKind
	// Line is the line, from 1; Column the character in that line, from 1, counting
	// decoded characters.
	Line, Column int
	// Offset is the byte offset of the character in the decoded (UTF-8) line, from 0;
	// RawOffset the offset of Raw in the line as read, from 0.
	Offset, RawOffset int
	// Raw are the bytes as the file has them: the invalid bytes, or the private-use
	// character in the file's encoding.
	Raw []byte
	// Rune is the private-use character; U+FFFD for InvalidBytes.
	Rune rune
	// Encoding is the encoding the bytes were read in.
	Encoding Encoding
}

// Reason describes the issue for a person, naming the line and the character.
func (is Issue) Reason() string {
	if is.Kind == PrivateUse {
		return fmt.Sprintf("private-use character %U (外字) at line %d, character %d: kept as it is", is.Rune, is.Line, is.Column)
	}
	if len(is.Raw) == 0 {
		return fmt.Sprintf("bytes at line %d, character %d are not valid %s", is.Line, is.Column, is.Encoding)
	}
	return fmt.Sprintf("bytes % X at line %d, character %d are not valid %s", is.Raw, is.Line, is.Column, is.Encoding)
}

// isPrivateUse reports whether r is a private-use character (Unicode category Co).
func isPrivateUse(r rune) bool {
	return r >= 0xe000 && (r <= 0xf8ff || r >= 0xf0000) && unicode.Is(unicode.Co, r)
}

// Decode decodes b, text in enc (UTF8 or CP932; Auto detects from b alone), into UTF-8
// and reports its problems, with lines counted from 1 at the start of b. It is meant for
// fields and short texts (a fixed-width field, a cell); a file is read with a Reader. A
// byte order mark is kept: only a Reader removes it, at the start of a file.
func Decode(enc Encoding, b []byte) (string, []Issue) {
	if enc == Auto {
		enc = detect(b, true)
	}
	var d lineDecoder
	d.enc = enc
	var out strings.Builder
	var issues []Issue
	line := 1
	for len(b) > 0 {
		l := b
		i := bytes.IndexByte(b, '\n')
		if i >= 0 {
			l, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		text, is := d.decode(line, l)
		out.WriteString(text)
		issues = append(issues, is...)
		if i >= 0 {
			out.WriteByte('\n')
		}
		line++
	}
	return out.String(), issues
}

// detect says which encoding b is in: UTF-8 when it is valid UTF-8 (an incomplete
// character at its end aside, unless complete says b is the whole text), CP932 otherwise.
// Pure ASCII is Auto: both read it alike.
func detect(b []byte, complete bool) Encoding {
	ascii := true
	for _, c := range b {
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return Auto
	}
	if !complete {
		// Drop a character cut by the end of the window.
		for i := 1; i <= utf8.UTFMax && i <= len(b); i++ {
			if utf8.RuneStart(b[len(b)-i]) {
				if !utf8.FullRune(b[len(b)-i:]) {
					b = b[:len(b)-i]
				}
				break
			}
		}
	}
	if utf8.Valid(b) {
		return UTF8
	}
	return CP932
}

// lineDecoder decodes lines (without their line end) of one encoding.
type lineDecoder struct {
	enc Encoding
	sj  transform.Transformer // CP932 decoder, stateless
	buf []byte
}

// decode decodes one line: its text and its issues, the line being number n.
func (d *lineDecoder) decode(n int, raw []byte) (string, []Issue) {
	switch d.enc {
	case CP932:
		return d.decodeCP932(n, raw)
	default: // UTF8, and Auto while every line so far was ASCII
		if utf8.Valid(raw) {
			s := string(raw)
			return s, privateUse(n, s, d.enc)
		}
		return d.decodeBadUTF8(n, raw)
	}
}

// privateUse finds the private-use characters of a valid line. Their UTF-8 forms start
// with EE, EF or F3, F4 (planes 15 and 16), so most lines are passed over without decoding.
func privateUse(n int, s string, enc Encoding) []Issue {
	lead := false
	for i := 0; i < len(s) && !lead; i++ {
		lead = s[i] == 0xee || s[i] == 0xef || s[i] == 0xf3 || s[i] == 0xf4
	}
	if !lead {
		return nil
	}
	var issues []Issue
	col := 0
	for off, r := range s {
		col++
		if isPrivateUse(r) {
			issues = append(issues, Issue{Kind: PrivateUse, Line: n, Column: col, Offset: off, RawOffset: off,
				Raw: []byte(string(r)), Rune: r, Encoding: enc})
		}
	}
	return issues
}

// decodeBadUTF8 decodes a line that is not valid UTF-8: each run of invalid bytes becomes
// one U+FFFD and one issue.
func (d *lineDecoder) decodeBadUTF8(n int, raw []byte) (string, []Issue) {
	out := d.buf[:0]
	var issues []Issue
	col := 0
	for i := 0; i < len(raw); {
		r, size := utf8.DecodeRune(raw[i:])
		col++
		if r == utf8.RuneError && size <= 1 {
			j := i + 1
			for j < len(raw) {
				if r, size := utf8.DecodeRune(raw[j:]); r != utf8.RuneError || size > 1 {
					break
				}
				j++
			}
			issues = append(issues, Issue{Kind: InvalidBytes, Line: n, Column: col, Offset: len(out), RawOffset: i,
				Raw: bytes.Clone(raw[i:j]), Rune: utf8.RuneError, Encoding: UTF8})
			out = utf8.AppendRune(out, utf8.RuneError)
			i = j
			continue
		}
		if isPrivateUse(r) {
			issues = append(issues, Issue{Kind: PrivateUse, Line: n, Column: col, Offset: len(out), RawOffset: i,
				Raw: bytes.Clone(raw[i : i+size]), Rune: r, Encoding: UTF8})
		}
		out = append(out, raw[i:i+size]...)
		i += size
	}
	d.buf = out
	return string(out), issues
}

// decodeCP932 decodes a CP932 line. The common case, a line x/text decodes without a
// replacement character, takes one pass; a line with one (invalid bytes, or 外字 of the
// user-defined area, which x/text does not map) is decoded again character by character.
func (d *lineDecoder) decodeCP932(n int, raw []byte) (string, []Issue) {
	if d.sj == nil {
		d.sj = japanese.ShiftJIS.NewDecoder()
	}
	need := 3 * len(raw) // a byte never becomes more than 3 UTF-8 bytes
	if cap(d.buf) < need {
		d.buf = make([]byte, need)
	}
	out := d.buf[:need]
	nDst, _, err := d.sj.Transform(out, raw, true)
	if err == nil && !bytes.Contains(out[:nDst], []byte("\ufffd")) {
		return string(out[:nDst]), nil // CP932 as x/text maps it has no private-use characters
	}
	return d.decodeCP932Slowly(n, raw)
}

// isLead and isTrail are the byte ranges of CP932's double-byte characters.
func isLead(c byte) bool  { return (0x81 <= c && c <= 0x9f) || (0xe0 <= c && c <= 0xfc) }
func isTrail(c byte) bool { return 0x40 <= c && c <= 0xfc && c != 0x7f }

// charLen is the length of the CP932 character at the start of b: 2 for a lead byte
// followed by a trail byte, 1 otherwise (an invalid lone lead byte too).
func charLen(b []byte) int {
	if len(b) >= 2 && isLead(b[0]) && isTrail(b[1]) {
		return 2
	}
	return 1
}

// CharBoundaries reports, for b in CP932, whether each offset 0..len(b) starts a character
// (or is the end): boundaries[i] is false only inside a double-byte character. Fixed-width
// layouts use it to find fields that cut a character in half.
func CharBoundaries(b []byte) []bool {
	bs := make([]bool, len(b)+1)
	for i := 0; i < len(b); i += charLen(b[i:]) {
		bs[i] = true
	}
	bs[len(b)] = true
	return bs
}

func (d *lineDecoder) decodeCP932Slowly(n int, raw []byte) (string, []Issue) {
	var out []byte
	var issues []Issue
	var one [utf8.UTFMax]byte
	bad := -1 // start of the current run of invalid bytes in raw, or -1
	col := 0
	flush := func(end int) {
		if bad < 0 {
			return
		}
		col++
		issues = append(issues, Issue{Kind: InvalidBytes, Line: n, Column: col, Offset: len(out), RawOffset: bad,
			Raw: bytes.Clone(raw[bad:end]), Rune: utf8.RuneError, Encoding: CP932})
		out = utf8.AppendRune(out, utf8.RuneError)
		bad = -1
	}
	for i := 0; i < len(raw); {
		size := charLen(raw[i:])
		c0 := raw[i]
		var r rune
		switch {
		case c0 < utf8.RuneSelf:
			r = rune(c0)
		case 0xa1 <= c0 && c0 <= 0xdf: // half-width katakana
			r = rune(c0) + (0xff61 - 0xa1)
		case c0 == 0x80: // as x/text and Windows: U+0080
			r = 0x80
		case size == 2 && 0xf0 <= c0 && c0 <= 0xf9: // user-defined area → U+E000… (Windows)
			c1 := int(raw[i+1])
			if c1 >= 0x80 {
				c1--
			}
			r = 0xe000 + rune(c0-0xf0)*188 + rune(c1-0x40)
		case size == 2:
			if k, _, err := d.sj.Transform(one[:], raw[i:i+2], true); err == nil {
				r, _ = utf8.DecodeRune(one[:k])
			} else {
				r = utf8.RuneError
			}
		default:
			r = utf8.RuneError
		}
		if r == utf8.RuneError {
			if bad < 0 {
				bad = i
			}
			i += size
			continue
		}
		flush(i)
		col++
		if isPrivateUse(r) {
			issues = append(issues, Issue{Kind: PrivateUse, Line: n, Column: col, Offset: len(out), RawOffset: i,
				Raw: bytes.Clone(raw[i : i+size]), Rune: r, Encoding: CP932})
		}
		out = utf8.AppendRune(out, r)
		i += size
	}
	flush(len(raw))
	return string(out), issues
}
