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

package jp

import (
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Katakana returns s with its kana in full-width katakana, the form JP Core wants for a
// kana (SYL) name (DOMAIN §2.2):
//
//   - half-width katakana become full-width, a following ﾞ or ﾟ combining with the kana
//     before it (ﾔﾏﾀﾞ → ヤマダ, ﾊﾟ → パ, ｳﾞ → ヴ, ｰ → ー; ｡｢｣､･ → 。「」、・);
//   - hiragana become katakana (やまだ → ヤマダ, ゔ → ヴ, ゝゞ → ヽヾ);
//   - a voicing mark written apart (U+309B ゛, U+309C ゜ or the combining U+3099, U+309A)
//     combines with the kana before it where such a kana exists (カ゛ → ガ); one that cannot
//     combine stays as the spacing ゛ or ゜.
//
// Everything else, white space included, is left as it is: Katakana changes only kana,
// and the caller keeps the original value (for Provenance, DOMAIN §2.2).
func Katakana(s string) string { return foldKana(s, true) }

// foldKana widens half-width katakana and combines voicing marks; with hiragana it also
// turns hiragana into katakana.
func foldKana(s string, hiragana bool) string {
	if isPlainASCII(s) {
		return s
	}
	out := make([]rune, 0, len(s))
	for _, r := range s {
		switch {
		case r >= 0xFF61 && r <= 0xFF9F: // half-width katakana and punctuation
			r = []rune(norm.NFKC.String(string(r)))[0]
		case hiragana && (r >= 0x3041 && r <= 0x3096 || r == 0x309D || r == 0x309E): // hiragana, ゝ ゞ
			r += 0x60
		}
		var mark, spacing rune
		switch r {
		case 0x3099, 0x309B:
			mark, spacing = 0x3099, 0x309B
		case 0x309A, 0x309C:
			mark, spacing = 0x309A, 0x309C
		}
		if mark != 0 {
			if n := len(out); n > 0 {
				if c := []rune(norm.NFC.String(string([]rune{out[n-1], mark}))); len(c) == 1 {
					out[n-1] = c[0]
					continue
				}
			}
			r = spacing
		}
		out = append(out, r)
	}
	return string(out)
}

// IsKana reports whether s holds kana and nothing else: katakana (full- or half-width,
// with ー, ・ and the voicing marks), hiragana, and white space between them. It is false
// for a blank s, and for anything with kanji, Latin letters or digits.
func IsKana(s string) bool {
	kana := false
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
		case isKanaLetter(r):
			kana = true
		case r >= 0x3099 && r <= 0x309C, r == 0x30FB, r == 0x30FC, r == 0xFF65, r == 0xFF70, r == 0xFF9E, r == 0xFF9F:
		default:
			return false
		}
	}
	return kana
}

func isKanaLetter(r rune) bool {
	return r >= 0x3041 && r <= 0x3096 || r == 0x309D || r == 0x309E || // hiragana
		r >= 0x30A1 && r <= 0x30FA || r == 0x30FD || r == 0x30FE || // katakana
		r >= 0x31F0 && r <= 0x31FF || // small katakana extension (ㇰ …)
		r >= 0xFF66 && r <= 0xFF6F || r >= 0xFF71 && r <= 0xFF9D // half-width katakana
}

func isPlainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
