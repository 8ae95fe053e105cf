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

package search

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

var folder = cases.Fold()

// Normalize returns the form of s that string search compares (Entry.Value of string
// parameters, and the search value). The rules, applied in this order:
//
//  1. NFKC: full-width ASCII becomes ASCII (ＡＢＣ０１２ → ABC012), half-width katakana
//     becomes full-width with voicing marks composed (ﾔﾏﾀﾞ → ヤマダ, ｶﾞ → ガ, ｰ → ー),
//     compatibility characters are unified (㈱ → (株), ① → 1). Kanji variants that are
//     distinct characters stay distinct (髙 ≠ 高, 﨑 ≠ 崎).
//  2. Unicode case folding (ABC → abc, ß → ss).
//  3. Hiragana → katakana (やまだ → ヤマダ, ゔ → ヴ, small ぁ → ァ, ゝゞ → ヽヾ); voicing stays
//     (が ≠ か), and so do small kana (ァ ≠ ア) and the long vowel mark ー.
//  4. Latin diacritics are removed (é → e, Ö → o): combining marks U+0300–U+036F and
//     the other combining-diacritics blocks after canonical decomposition. The kana
//     voicing marks U+3099/U+309A are not diacritics here and stay composed.
//  5. All white space is removed (ASCII, U+3000 ideographic space, NBSP…), so that
//     "山田　太郎", "山田 太郎" and "山田太郎" are equal, as are "van der Berg" and "vanderberg".
//
// The default string search is a prefix match on the normalised forms, :contains a
// substring match, and :exact compares the original text without normalisation.
func Normalize(s string) string {
	if ascii(s) {
		return normalizeASCII(s)
	}
	s = norm.NFKC.String(s)
	s = folder.String(s)
	if needsDecompose(s) {
		s = stripDiacritics(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			continue
		case r >= 0x3041 && r <= 0x3096, r == 0x309D, r == 0x309E: // hiragana, ゝ ゞ
			r += 0x60
		}
		b.WriteRune(r)
	}
	return b.String()
}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func normalizeASCII(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' || isASCIISpace(c) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isASCIISpace(c):
			continue
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return string(b)
}

func isASCIISpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// needsDecompose reports whether s has a precomposed Latin, Greek or Cyrillic letter
// (U+00C0–U+04FF) or a Latin Extended Additional one, the only ones stripDiacritics changes.
func needsDecompose(s string) bool {
	for _, r := range s {
		if r >= 0xC0 && r <= 0x4FF || r >= 0x1E00 && r <= 0x1EFF || isDiacritic(r) {
			return true
		}
	}
	return false
}

func isDiacritic(r rune) bool {
	return r >= 0x0300 && r <= 0x036F || r >= 0x1AB0 && r <= 0x1AFF ||
		r >= 0x1DC0 && r <= 0x1DFF || r >= 0x20D0 && r <= 0x20FF || r >= 0xFE20 && r <= 0xFE2F
}

// stripDiacritics decomposes s (NFD), drops the combining diacritics and recomposes (NFC),
// which keeps kana voicing marks composed.
func stripDiacritics(s string) string {
	d := norm.NFD.String(s)
	var b strings.Builder
	b.Grow(len(d))
	for _, r := range d {
		if !isDiacritic(r) {
			b.WriteRune(r)
		}
	}
	return norm.NFC.String(b.String())
}
