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
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// AddressKey returns the form of an address, or of one of its parts, that different
// writings of the same address share: for matching records, never for storing (Address
// keeps the text as written). The rules, in order:
//
//  1. NFKC (full-width digits, letters and hyphens become ASCII, half-width katakana
//     full-width), lower case, white space removed, 大字 removed;
//  2. the hyphen variants ‐ ‑ ‒ – — ― − ─ ━ become '-', and so does the long vowel mark ー
//     after a digit (1ー2, typed for 1-2; コーポ keeps its ー); a '-' not followed by a
//     digit is dropped;
//  3. kanji numerals before 丁目, 番地, 番 or 号 become digits (三丁目 → 3丁目, 二十三番 → 23番);
//  4. after a digit, 丁目, 番地, 番地の, 番 and 号 become '-', as does の between digits:
//     3丁目2番1号, 3丁目2-1, ３－２－１ and 3-2-1 are all 3-2-1, 1175番地の2 is 1175-2;
//     a '-' left without a digit after it is dropped (101号室 → 101室);
//  5. ヶ, ケ, ヵ and が between two kanji become ケ (霞が関, 霞ヶ関 → 霞ケ関), and ノ between
//     two kanji becomes の (丸ノ内 → 丸の内).
//
// The rules are applied again until nothing changes (removing a space or a '-' can bring
// together what NFKC or a rule joins), so AddressKey(AddressKey(s)) == AddressKey(s).
func AddressKey(s string) string {
	for range 8 {
		k := addressKey(s)
		if k == s {
			break
		}
		s = k
	}
	return s
}

func addressKey(s string) string {
	s = strings.ToLower(norm.NFKC.String(s))
	s = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
	for strings.Contains(s, "大字") {
		s = strings.ReplaceAll(s, "大字", "")
	}
	rs := []rune(s)
	for i, r := range rs {
		if isDash(r) && (r != 'ー' || i > 0 && isASCIIDigit(rs[i-1])) {
			rs[i] = '-'
		}
	}
	rs = dropLooseDashes(rs)
	rs = kanjiNumbers(rs)
	rs = numberSuffixes(rs)
	rs = dropLooseDashes(rs)
	for i := 1; i+1 < len(rs); i++ {
		if !unicode.Is(unicode.Han, rs[i-1]) || !unicode.Is(unicode.Han, rs[i+1]) {
			continue
		}
		switch rs[i] {
		case 'ヶ', 'ケ', 'ヵ', 'が':
			rs[i] = 'ケ'
		case 'ノ':
			rs[i] = 'の'
		}
	}
	return string(rs)
}

// dropLooseDashes collapses runs of '-' and drops every '-' that no digit follows.
func dropLooseDashes(rs []rune) []rune {
	out := rs[:0]
	for i, r := range rs {
		if r == '-' && (i+1 == len(rs) || !isASCIIDigit(rs[i+1])) {
			continue
		}
		out = append(out, r)
	}
	return out
}

var numberSuffix = []string{"丁目", "番地の", "番地", "番", "号"}

// suffixAt returns the length in runes of the number suffix at rs[i:], or 0.
func suffixAt(rs []rune, i int) int {
	for _, suf := range numberSuffix {
		n := len([]rune(suf))
		if i+n <= len(rs) && string(rs[i:i+n]) == suf {
			return n
		}
	}
	return 0
}

// kanjiNumbers writes in digits the runs of kanji numerals that a number suffix follows.
func kanjiNumbers(rs []rune) []rune {
	out := make([]rune, 0, len(rs))
	for i := 0; i < len(rs); {
		j := i
		for j < len(rs) && strings.ContainsRune("〇一二三四五六七八九十", rs[j]) {
			j++
		}
		if j == i {
			out = append(out, rs[i])
			i++
			continue
		}
		if n, ok := kanjiNumber(rs[i:j]); ok && suffixAt(rs, j) > 0 {
			out = append(out, []rune(strconv.Itoa(n))...)
		} else {
			out = append(out, rs[i:j]...)
		}
		i = j
	}
	return out
}

// kanjiNumber reads 三, 十, 十五, 二十, 二十三 or positional 一〇 (up to four digits).
func kanjiNumber(rs []rune) (int, bool) {
	digit := func(r rune) int { return strings.IndexRune("〇一二三四五六七八九", r) / len("一") }
	if k := strings.IndexRune(string(rs), '十'); k >= 0 {
		tens, ones := []rune(string(rs)[:k]), []rune(string(rs)[k+len("十"):])
		if len(tens) > 1 || len(ones) > 1 || strings.ContainsRune(string(ones), '十') || (len(tens) == 1 && tens[0] == '〇') {
			return 0, false
		}
		n := 10
		if len(tens) == 1 {
			n = digit(tens[0]) * 10
		}
		if len(ones) == 1 {
			n += digit(ones[0])
		}
		return n, true
	}
	if len(rs) > 4 {
		return 0, false
	}
	n := 0
	for _, r := range rs {
		n = n*10 + digit(r)
	}
	return n, true
}

// numberSuffixes turns a number suffix after a digit (or after a digit and '-') into '-',
// and の between digits too.
func numberSuffixes(rs []rune) []rune {
	out := make([]rune, 0, len(rs))
	afterNumber := func() (digit, dash bool) {
		n := len(out)
		switch {
		case n > 0 && isASCIIDigit(out[n-1]):
			return true, false
		case n > 1 && out[n-1] == '-' && isASCIIDigit(out[n-2]):
			return false, true
		}
		return false, false
	}
	for i := 0; i < len(rs); {
		digit, dash := afterNumber()
		if digit || dash {
			n := suffixAt(rs, i)
			if n == 0 && rs[i] == 'の' && i+1 < len(rs) && isASCIIDigit(rs[i+1]) {
				n = 1
			}
			if n > 0 {
				if digit {
					out = append(out, '-')
				}
				i += n
				continue
			}
		}
		out = append(out, rs[i])
		i++
	}
	return out
}
