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
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// DateParser reads the date forms of DOMAIN §2.3. Its zero value is strict: a date written
// in an era it does not belong to is an *EraError.
type DateParser struct {
	// AllowCrossEra accepts a date written in the wrong era (H31.05.01, 平成32年1月1日) as
	// the Gregorian date it computes to (2019-05-01, 2020-01-01): the tenant option of
	// DOMAIN §2.3 for pre-printed forms that outlived their era.
	AllowCrossEra bool
}

// ParseDate reads s with the strict DateParser.
func ParseDate(s string) (Date, error) { return DateParser{}.ParseDate(s) }

// ParseYearMonth reads s with the strict DateParser.
func ParseYearMonth(s string) (YearMonth, error) { return DateParser{}.ParseYearMonth(s) }

// ParseDate reads a date in any form of DOMAIN §2.3 (the package documentation lists them)
// and returns it as a Gregorian Date. Errors: a *ValueError (its chain holds ErrEmpty for a
// blank value) for what is not a date, including days that do not exist (2023年2月30日) and
// a year-month without a day; an *EraError for a date outside the era it is written in,
// unless p.AllowCrossEra.
func (p DateParser) ParseDate(s string) (Date, error) {
	f, err := scanDate(s, true)
	if err != nil {
		return Date{}, err
	}
	d := Date{f.year, time.Month(f.month), f.day}
	if f.era != 0 {
		d.Year = f.era.gregorianYear(f.year)
	}
	if !d.Valid() {
		return Date{}, valueError("date", s, dayReason(d))
	}
	if f.era != 0 && !f.era.contains(d) && !p.AllowCrossEra {
		e := &EraError{What: "date", Value: s, Written: f.era, Gregorian: d.String(), InEra: d.Wareki()}
		e.Belongs, _, _ = EraOf(d)
		return Date{}, e
	}
	return d, nil
}

// ParseYearMonth reads a month, for the 年月 columns: 2025/04, 2025-04, 2025.04, 202504,
// 2025年4月, 令和7年4月, R07.04, R7/4, R0704 and 50704 (era code + YYMM), with the same
// characters, spaces and eras as ParseDate. A month is in an era when one of its days is:
// 昭和64年1月 and 平成元年1月 are both 1989-01, while 平成31年5月 is an *EraError (unless
// p.AllowCrossEra). A full date is an error, not a month.
func (p DateParser) ParseYearMonth(s string) (YearMonth, error) {
	f, err := scanDate(s, false)
	if err != nil {
		return YearMonth{}, err
	}
	ym := YearMonth{f.year, time.Month(f.month)}
	if f.era != 0 {
		ym.Year = f.era.gregorianYear(f.year)
	}
	if !ym.Valid() {
		return YearMonth{}, valueError("year-month", s, monthReason(ym.Year, f.month))
	}
	if f.era != 0 && !f.era.contains(ym.First()) && !f.era.contains(ym.Last()) && !p.AllowCrossEra {
		e := &EraError{What: "year-month", Value: s, Written: f.era, Gregorian: ym.String(), InEra: ym.Wareki()}
		e.Belongs, _, _ = EraOf(ym.First())
		return YearMonth{}, e
	}
	return ym, nil
}

// fields are what a date's writing says, before any calendar check.
type fields struct {
	era              Era // 0: year is Gregorian
	year, month, day int // day 0 for a year-month
}

func scanDate(s string, wantDay bool) (fields, error) {
	what := "date"
	if !wantDay {
		what = "year-month"
	}
	t, reason := normalizeDate(s)
	if reason != "" {
		return fields{}, valueError(what, s, reason)
	}
	if t == "" {
		return fields{}, emptyError(what, s)
	}
	f, reason := scanFields(t, wantDay)
	if reason != "" {
		return fields{}, valueError(what, s, reason)
	}
	return f, nil
}

// midnight is the time an Excel or database export appends to a date: 2023/06/01 0:00:00.
var midnight = regexp.MustCompile(`\s+0?0:00(:00(\.0+)?)?$`)

// normalizeDate folds s to ASCII digits, separators and kanji: NFKC (full-width digits and
// separators, ideographic space, the square era signs ㋿ ㍻ …), hyphen variants to '-', a
// trailing midnight time removed, and white space dropped. White space between two digits
// is refused (2023 06 01 is not a date this package guesses at).
func normalizeDate(s string) (string, string) {
	s = strings.TrimSpace(norm.NFKC.String(s))
	s = strings.Map(func(r rune) rune {
		if isDash(r) {
			return '-'
		}
		return r
	}, s)
	s = midnight.ReplaceAllString(s, "")
	rs := []rune(s)
	out := make([]rune, 0, len(rs))
	for i := 0; i < len(rs); {
		if !unicode.IsSpace(rs[i]) {
			out = append(out, rs[i])
			i++
			continue
		}
		j := i
		for j < len(rs) && unicode.IsSpace(rs[j]) {
			j++
		}
		if i > 0 && j < len(rs) && isASCIIDigit(rs[i-1]) && isASCIIDigit(rs[j]) {
			return "", "white space between digits"
		}
		i = j
	}
	return string(out), ""
}

// scanFields reads the normalised text t. The reason is "" when t is well formed.
func scanFields(t string, wantDay bool) (fields, string) {
	if strings.HasPrefix(t, "西暦") {
		t = t[len("西暦"):]
	}
	if era, n := eraPrefix(t); era != 0 {
		f, reason := scanEraFields(t[n:], wantDay)
		f.era = era
		return f, reason
	}
	if allDigits(t) {
		return scanCompact(t, wantDay)
	}
	// Western: YYYY年M月D日 or YYYY sep M sep D.
	y, rest := leadingDigits(t)
	if len(y) != 4 {
		return fields{}, "not a date form this package reads"
	}
	f, reason := scanMonthDay(rest, wantDay, "年")
	f.year = atoi(y)
	return f, reason
}

func scanEraFields(t string, wantDay bool) (fields, string) {
	var f fields
	var y string
	switch {
	case strings.HasPrefix(t, "元"):
		f.year, t = 1, t[len("元"):]
	default:
		y, t = leadingDigits(t)
		switch {
		case y == "":
			return f, "no year after the era"
		case t == "" && len(y) == 6 && wantDay, t == "" && len(y) == 4 && !wantDay:
			// R050601, R0704: the era letter and YYMMDD or YYMM.
			f.year, f.month = atoi(y[:2]), atoi(y[2:4])
			if wantDay {
				f.day = atoi(y[4:])
			}
			return f, checkEraYear(f.year)
		case len(y) > 2:
			return f, "era year " + y + " has more than two digits"
		}
		f.year = atoi(y)
	}
	if reason := checkEraYear(f.year); reason != "" {
		return f, reason
	}
	g, reason := scanMonthDay(t, wantDay, "年")
	g.year = f.year
	return g, reason
}

func checkEraYear(y int) string {
	if y == 0 {
		return "era year 0 (the first year is 1 or 元)"
	}
	return ""
}

// scanMonthDay reads what follows the year: 年M月D日 (or 年M月), or sep M sep D (or sep M)
// with the same separator . / or - throughout.
func scanMonthDay(t string, wantDay bool, year string) (fields, string) {
	var f fields
	if strings.HasPrefix(t, year) {
		t = t[len(year):]
		m, rest := leadingDigits(t)
		if m == "" || len(m) > 2 || !strings.HasPrefix(rest, "月") {
			return f, "no month after 年"
		}
		f.month, t = atoi(m), rest[len("月"):]
		if !wantDay {
			if t != "" {
				return f, "a date, not a year-month"
			}
			return f, ""
		}
		d, rest := leadingDigits(t)
		if d == "" {
			return f, "no day after 月"
		}
		if len(d) > 2 || (rest != "日" && rest != "") {
			return f, "unexpected text after the day"
		}
		f.day = atoi(d)
		return f, ""
	}
	if t == "" {
		return f, "no month"
	}
	sep := t[0]
	if sep != '.' && sep != '/' && sep != '-' {
		return f, "unexpected text after the year"
	}
	m, rest := leadingDigits(t[1:])
	if m == "" || len(m) > 2 {
		return f, "no month after the year"
	}
	f.month = atoi(m)
	if !wantDay {
		if rest != "" {
			return f, "a date, not a year-month"
		}
		return f, ""
	}
	if rest == "" {
		return f, "no day (a year-month is not a date)"
	}
	if rest[0] != sep {
		return f, "mixed separators"
	}
	d, rest := leadingDigits(rest[1:])
	if d == "" || len(d) > 2 || rest != "" {
		return f, "no day after the month"
	}
	f.day = atoi(d)
	return f, ""
}

// scanCompact reads a string of digits: YYYYMMDD or GYYMMDD (era code) for a date, YYYYMM
// or GYYMM for a month.
func scanCompact(t string, wantDay bool) (fields, string) {
	var f fields
	switch {
	case wantDay && len(t) == 8, !wantDay && len(t) == 6:
		f.year, f.month = atoi(t[:4]), atoi(t[4:6])
		if wantDay {
			f.day = atoi(t[6:])
		}
		return f, ""
	case wantDay && len(t) == 7, !wantDay && len(t) == 5:
		c := int(t[0] - '0')
		if c < int(Meiji) || c > int(Reiwa) {
			return f, "era code " + t[:1] + " is not 1 (明治) to 5 (令和)"
		}
		f.era, f.year, f.month = Era(c), atoi(t[1:3]), atoi(t[3:5])
		if wantDay {
			f.day = atoi(t[5:])
		}
		return f, checkEraYear(f.year)
	case wantDay:
		return f, strconv.Itoa(len(t)) + " digits (a date has 8, YYYYMMDD, or 7, GYYMMDD)"
	default:
		return f, strconv.Itoa(len(t)) + " digits (a year-month has 6, YYYYMM, or 5, GYYMM)"
	}
}

// eraPrefix returns the era t starts with and the era mark's length in bytes: the name
// (令和), its first kanji (令) or its letter in either case (R, r), the letter and kanji
// only when a year follows.
func eraPrefix(t string) (Era, int) {
	for e := Meiji; e <= Reiwa; e++ {
		if strings.HasPrefix(t, eras[e].name) {
			return e, len(eras[e].name)
		}
	}
	for e := Meiji; e <= Reiwa; e++ {
		if n := len(eras[e].abbr); strings.HasPrefix(t, eras[e].abbr) && yearFollows(t[n:]) {
			return e, n
		}
		if t != "" && (t[0] == eras[e].letter || t[0] == eras[e].letter+'a'-'A') && yearFollows(t[1:]) {
			return e, 1
		}
	}
	return 0, 0
}

func yearFollows(t string) bool {
	return strings.HasPrefix(t, "元") || t != "" && t[0] >= '0' && t[0] <= '9'
}

func dayReason(d Date) string {
	switch {
	case d.Year < 1 || d.Year > 9999:
		return "year " + strconv.Itoa(d.Year) + " out of range"
	case d.Month < time.January || d.Month > time.December:
		return "month " + strconv.Itoa(int(d.Month)) + " out of range"
	}
	return "day " + strconv.Itoa(d.Day) + " is not in " + d.Month.String() + " " + strconv.Itoa(d.Year)
}

func monthReason(y, m int) string {
	if y < 1 || y > 9999 {
		return "year " + strconv.Itoa(y) + " out of range"
	}
	return "month " + strconv.Itoa(m) + " out of range"
}

// leadingDigits splits t after its leading ASCII digits.
func leadingDigits(t string) (digits, rest string) {
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	return t[:i], t[i:]
}

func allDigits(t string) bool {
	d, rest := leadingDigits(t)
	return d != "" && rest == ""
}

// atoi reads at most 9 ASCII digits (callers pass short runs).
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s) && i < 9; i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

func isASCIIDigit(r rune) bool { return r >= '0' && r <= '9' }

// isDash reports whether r is one of the characters written for a hyphen in Japanese
// data: hyphens and dashes, the minus sign, box-drawing lines and the katakana long vowel
// mark ー (after NFKC, which also turns － and ｰ into - and ー).
func isDash(r rune) bool {
	switch r {
	case '-', '\u2010', '\u2011', '\u2012', '\u2013', '\u2014', '\u2015', '\u2212', '\u30FC', '\u2500', '\u2501', '\uFE63', '\uFF0D', '\uFF70':
		return true
	}
	return false
}
