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
	"errors"
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// The seeds of each target are in testdata/fuzz/<target>; go test runs them as tests.

func FuzzParseDate(f *testing.F) {
	f.Add("令和5年6月1日")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseDate(s)
		cross, crossErr := DateParser{AllowCrossEra: true}.ParseDate(s)
		if err != nil {
			var ve *ValueError
			var ee *EraError
			switch {
			case errors.As(err, &ee):
				if crossErr != nil || cross.String() != ee.Gregorian {
					t.Fatalf("%q: %v, but AllowCrossEra gives %v, %v", s, err, cross, crossErr)
				}
			case errors.As(err, &ve):
				if crossErr == nil {
					t.Fatalf("%q: %v, but AllowCrossEra gives %v", s, err, cross)
				}
			default:
				t.Fatalf("%q: error of type %T: %v", s, err, err)
			}
			return
		}
		if crossErr != nil || cross != got {
			t.Fatalf("%q: %v, but AllowCrossEra gives %v, %v", s, got, cross, crossErr)
		}
		if !got.Valid() {
			t.Fatalf("%q: invalid %#v", s, got)
		}
		if back, err := ParseDate(got.String()); err != nil || back != got {
			t.Fatalf("%q → %v → %v, %v", s, got, back, err)
		}
		// An era year has at most two digits in the forms ParseDate reads.
		if _, y, ok := EraOf(got); ok && y < 100 {
			w := got.Wareki()
			if back, err := ParseDate(w); err != nil || back != got {
				t.Fatalf("%q → %v → %q → %v, %v", s, got, w, back, err)
			}
		}
	})
}

func FuzzParseYearMonth(f *testing.F) {
	f.Add("令和7年4月")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseYearMonth(s)
		if err != nil {
			var ve *ValueError
			var ee *EraError
			if !errors.As(err, &ve) && !errors.As(err, &ee) {
				t.Fatalf("%q: error of type %T: %v", s, err, err)
			}
			return
		}
		if !got.Valid() {
			t.Fatalf("%q: invalid %#v", s, got)
		}
		if back, err := ParseYearMonth(got.String()); err != nil || back != got {
			t.Fatalf("%q → %v → %v, %v", s, got, back, err)
		}
		if _, y, ok := EraOf(got.First()); ok && y < 100 {
			w := got.Wareki()
			if back, err := ParseYearMonth(w); err != nil || back != got {
				t.Fatalf("%q → %v → %q → %v, %v", s, got, w, back, err)
			}
		}
		if _, err := ParseDate(s); err == nil {
			t.Fatalf("%q is both a year-month and a date", s)
		}
	})
}

var postalForm = regexp.MustCompile(`^[0-9]{3}-[0-9]{4}$`)

func FuzzSplitAddress(f *testing.F) {
	f.Add("〒350-0192 埼玉県比企郡川島町平沼1175", "コーポ川島101号")
	f.Fuzz(func(t *testing.T, address, katagaki string) {
		a := SplitAddress(address, katagaki)
		if a.PostalCode != "" && !postalForm.MatchString(a.PostalCode) {
			t.Fatalf("postal code %q", a.PostalCode)
		}
		// Nothing is dropped or reordered: the parts give back the address without its
		// postal code, white space aside.
		rest := strings.TrimSpace(address)
		if _, n := leadingPostalCode(rest); n > 0 {
			rest = rest[n:]
		}
		lines := a.Line
		if k := strings.TrimSpace(katagaki); k != "" {
			if len(lines) == 0 || lines[len(lines)-1] != k {
				t.Fatalf("katagaki %q not the last line of %q", k, lines)
			}
			lines = lines[:len(lines)-1]
		}
		if got, want := noSpace(a.State+a.City+strings.Join(lines, "")), noSpace(rest); got != want {
			t.Fatalf("SplitAddress(%q) = %#v: parts %q, want %q", address, a, got, want)
		}
		if a.City != "" && strings.TrimSpace(a.City) != a.City {
			t.Fatalf("city %q has white space", a.City)
		}
		if k := AddressKey(address); AddressKey(k) != k {
			t.Fatalf("AddressKey(%q) = %q, but AddressKey of that is %q", address, k, AddressKey(k))
		}
		if pc, err := PostalCode(address); err == nil && !postalForm.MatchString(pc) {
			t.Fatalf("PostalCode(%q) = %q", address, pc)
		}
	})
}

func noSpace(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

func FuzzKatakana(f *testing.F) {
	f.Add("ﾔﾏﾀﾞ ﾀﾛｳ")
	f.Fuzz(func(t *testing.T, s string) {
		k := Katakana(s)
		if Katakana(k) != k {
			t.Fatalf("Katakana(%q) = %q, but Katakana of that is %q", s, k, Katakana(k))
		}
		if utf8.ValidString(s) && utf8.RuneCountInString(k) > utf8.RuneCountInString(s) {
			t.Fatalf("Katakana(%q) = %q is longer", s, k)
		}
		for _, r := range k {
			if r >= 0x3041 && r <= 0x3096 || r >= 0xFF61 && r <= 0xFF9F || r == 0x3099 || r == 0x309A {
				t.Fatalf("Katakana(%q) = %q keeps %U", s, k, r)
			}
		}
		if IsKana(s) && !IsKana(k) {
			t.Fatalf("IsKana(%q) but not IsKana(%q)", s, k)
		}
		if n, err := KanaName(s); err == nil && (!n.Kana || !IsKana(n.Text)) {
			t.Fatalf("KanaName(%q) = %+v", s, n)
		}
	})
}
