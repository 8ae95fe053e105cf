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
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/kodomohub/kodomohub/fhir"
)

// primKind names a FHIR primitive type.
type primKind uint8

const (
	_ primKind = iota
	pBoolean
	pInteger
	pPositiveInt
	pUnsignedInt
	pDecimal
	pString
	pMarkdown
	pXhtml
	pID
	pCode
	pURI
	pURL
	pCanonical
	pOID
	pUUID
	pBase64
	pDate
	pDateTime
	pInstant
	pTime
)

var primKinds = map[string]primKind{
	"boolean": pBoolean, "integer": pInteger, "positiveInt": pPositiveInt, "unsignedInt": pUnsignedInt,
	"decimal": pDecimal, "string": pString, "markdown": pMarkdown, "xhtml": pXhtml, "id": pID,
	"code": pCode, "uri": pURI, "url": pURL, "canonical": pCanonical, "oid": pOID, "uuid": pUUID,
	"base64Binary": pBase64, "date": pDate, "dateTime": pDateTime, "instant": pInstant, "time": pTime,
}

// maxString is the longest string FHIR allows: 1 MiB characters.
const maxString = 1 << 20

// checkPrimitive checks a JSON value against a primitive type. It returns "" when the value
// is valid, or what is wrong with it.
func checkPrimitive(k primKind, typ string, v *jvalue) string {
	want := jStr
	switch k {
	case pBoolean:
		want = jBool
	case pInteger, pPositiveInt, pUnsignedInt, pDecimal:
		want = jNum
	}
	if v.kind != want {
		return "must be a JSON " + want.String() + " (FHIR " + typ + "), not a " + v.kind.String()
	}
	s := v.s
	switch k {
	case pBoolean, pDecimal:
		return "" // the JSON grammar is the FHIR grammar
	case pInteger, pPositiveInt, pUnsignedInt:
		if strings.ContainsAny(s, ".eE") {
			return "must be a whole number (FHIR " + typ + "), not " + s
		}
		n, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			return typ + " " + s + " is out of range (32-bit)"
		}
		if k == pPositiveInt && n < 1 {
			return "positiveInt must be 1 or more, not " + s
		}
		if k == pUnsignedInt && n < 0 {
			return "unsignedInt must be 0 or more, not " + s
		}
		return ""
	}
	if s == "" {
		return "empty string (FHIR " + typ + "): omit the element instead"
	}
	if pos, c := fhir.ControlChar(s); pos >= 0 {
		return controlMsg(c, pos) + "; FHIR " + typ + " allows no character below U+0020 other than TAB, LF and CR"
	}
	ok := true
	switch k {
	case pString, pMarkdown, pXhtml:
		if len(s) > maxString && utf8.RuneCountInString(s) > maxString {
			return typ + " is longer than 1 MiB characters"
		}
		if strings.TrimLeft(s, " \t\r\n") == "" {
			return typ + " has only whitespace"
		}
	case pID:
		ok = isID(s)
	case pCode:
		ok = isCode(s)
	case pURI, pURL, pCanonical:
		ok = !strings.ContainsAny(s, " \t\r\n")
	case pOID:
		ok = isOID(s)
	case pUUID:
		ok = isUUID(s)
	case pBase64:
		ok = isBase64(s)
	case pDate:
		ok = scanDate(s, false) == len(s)
	case pDateTime:
		ok = isDateTime(s, false)
	case pInstant:
		ok = isDateTime(s, true)
	case pTime:
		ok = scanTime(s) == len(s)
	}
	if !ok {
		return "invalid " + typ + " " + strconv.Quote(s) + ": " + formats[k]
	}
	return ""
}

// controlMsg says which control character is where: "control character U+0000 at
// position 3 (counting characters from 0)".
func controlMsg(c rune, pos int) string {
	return fmt.Sprintf("control character %U at position %d (counting characters from 0)", c, pos)
}

var formats = map[primKind]string{
	pID:        "an id is 1 to 64 of A-Z a-z 0-9 - .",
	pCode:      "a code has no leading, trailing or repeated whitespace",
	pURI:       "a uri has no whitespace",
	pURL:       "a url has no whitespace",
	pCanonical: "a canonical has no whitespace",
	pOID:       "an oid is urn:oid: followed by dotted numbers, e.g. urn:oid:1.2.3",
	pUUID:      "a uuid is urn:uuid: followed by a lower-case UUID",
	pBase64:    "not valid base64",
	pDate:      "a date is YYYY, YYYY-MM or YYYY-MM-DD",
	pDateTime:  "a dateTime is YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss[.fff] with a time zone (Z or ±hh:mm)",
	pInstant:   "an instant is YYYY-MM-DDThh:mm:ss[.fff] with a time zone (Z or ±hh:mm)",
	pTime:      "a time is hh:mm:ss[.fff]",
}

func isID(s string) bool {
	if len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

// isCode follows [^\s]+(\s[^\s]+)*.
func isCode(s string) bool {
	if isSpace(s[0]) || isSpace(s[len(s)-1]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if isSpace(s[i]) && isSpace(s[i-1]) {
			return false
		}
	}
	return true
}

func isOID(s string) bool {
	rest, ok := strings.CutPrefix(s, "urn:oid:")
	if !ok || len(rest) < 3 || rest[0] < '0' || rest[0] > '2' || rest[1] != '.' {
		return false
	}
	for _, arc := range strings.Split(rest[2:], ".") {
		if arc == "" || (arc[0] == '0' && len(arc) > 1) {
			return false
		}
		for i := 0; i < len(arc); i++ {
			if arc[i] < '0' || arc[i] > '9' {
				return false
			}
		}
	}
	return true
}

func isUUID(s string) bool {
	rest, ok := strings.CutPrefix(s, "urn:uuid:")
	if !ok || len(rest) != 36 {
		return false
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// isBase64 accepts standard base64 with padding; whitespace between characters is ignored.
func isBase64(s string) bool {
	n, pad := 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isSpace(c):
			continue
		case c == '=':
			pad++
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '+', c == '/':
			if pad > 0 {
				return false
			}
		default:
			return false
		}
		n++
	}
	return n > 0 && n%4 == 0 && pad <= 2
}

func digits(s string, i, n int) (int, bool) {
	if i+n > len(s) {
		return 0, false
	}
	v := 0
	for j := i; j < i+n; j++ {
		c := s[j]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// scanDate reads YYYY[-MM[-DD]] at the start of s and returns its length, or -1. With full
// set, all three parts are required.
func scanDate(s string, full bool) int {
	y, ok := digits(s, 0, 4)
	if !ok || y == 0 {
		return -1
	}
	if len(s) == 4 || s[4] != '-' {
		if full {
			return -1
		}
		return 4
	}
	m, ok := digits(s, 5, 2)
	if !ok || m < 1 || m > 12 {
		return -1
	}
	if len(s) == 7 || s[7] != '-' {
		if full {
			return -1
		}
		return 7
	}
	d, ok := digits(s, 8, 2)
	if !ok || d < 1 || d > daysIn(y, m) {
		return -1
	}
	return 10
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// scanTime reads hh:mm:ss[.f+] at the start of s and returns its length, or -1.
func scanTime(s string) int {
	h, ok1 := digits(s, 0, 2)
	m, ok2 := digits(s, 3, 2)
	sec, ok3 := digits(s, 6, 2)
	if !ok1 || !ok2 || !ok3 || s[2] != ':' || s[5] != ':' || h > 23 || m > 59 || sec > 60 {
		return -1
	}
	i := 8
	if i < len(s) && s[i] == '.' {
		i++
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == j {
			return -1
		}
	}
	return i
}

func isDateTime(s string, instant bool) bool {
	n := scanDate(s, instant)
	if n < 0 {
		return false
	}
	if n == len(s) {
		return !instant
	}
	if n != 10 || s[n] != 'T' {
		return false
	}
	s = s[n+1:]
	t := scanTime(s)
	if t < 0 {
		return false
	}
	z := s[t:]
	if z == "Z" {
		return true
	}
	if len(z) != 6 || (z[0] != '+' && z[0] != '-') || z[3] != ':' {
		return false
	}
	h, ok1 := digits(z, 1, 2)
	m, ok2 := digits(z, 4, 2)
	return ok1 && ok2 && m <= 59 && (h <= 13 || h == 14 && m == 0)
}
