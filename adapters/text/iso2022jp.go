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
	"unicode/utf8"

	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/transform"
)

// DecodeISO2022JP decodes b, text in ISO-2022-JP (RFC 1468 as SS-MIX2 writes HL7 v2
// messages; JIS X 0212 and half-width katakana accepted, and the NEC special characters
// of row 13 such as ①), into UTF-8. Escape sequences are honoured across the whole of b,
// as a message's segments may rely on them. Lines end with CR, LF or CRLF (HL7 v2 ends its
// segments with CR), so an Issue's Line is a segment's number, from 1.
//
// Bytes the decoder cannot map become U+FFFD and an InvalidBytes issue, whose Raw is nil
// and RawOffset -1: ISO-2022-JP's shift states leave no one-to-one place in b. Private-use
// characters are reported as PrivateUse issues.
func DecodeISO2022JP(b []byte) (string, []Issue) {
	out, _, err := transform.Bytes(japanese.ISO2022JP.NewDecoder(), b)
	if err != nil { // x/text's decoder replaces what it cannot read and returns no error
		out = []byte(string(utf8.RuneError))
	}
	s := string(out)
	var issues []Issue
	line, col, lineStart := 1, 0, 0
	for off, r := range s {
		switch r {
		case '\n':
			if off > 0 && s[off-1] == '\r' {
				lineStart = off + 1
				continue
			}
			fallthrough
		case '\r':
			line, col, lineStart = line+1, 0, off+1
			continue
		}
		col++
		switch {
		case r == utf8.RuneError:
			issues = append(issues, Issue{Kind: InvalidBytes, Line: line, Column: col, Offset: off - lineStart,
				RawOffset: -1, Rune: r, Encoding: iso2022JP})
		case isPrivateUse(r):
			issues = append(issues, Issue{Kind: PrivateUse, Line: line, Column: col, Offset: off - lineStart,
				RawOffset: -1, Rune: r, Encoding: iso2022JP})
		}
	}
	return s, issues
}
