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

package synth

import (
	"fmt"
	"time"
)

// dateStyle is one of the ways DOMAIN §2.3 says sources write a date.
type dateStyle uint8

const (
	styleISO         dateStyle = iota // 2023-06-01
	styleSlash                        // 2023/06/01
	styleCompact                      // 20230601
	styleKanji                        // 令和5年6月1日 (令和元年5月1日)
	styleKanjiWide                    // 令和５年６月１日
	styleLetter                       // R05.06.01
	styleLetterBare                   // R5.6.1
	styleLetterSlash                  // R05/06/01
	styleEraCode                      // 5050601: era code and YYMMDD, as COBOL-era layouts keep it
)

// era is one of the Japanese eras of DOMAIN §2.3.
type era struct {
	name   string
	letter string
	code   int
	start  time.Time
}

var eras = []era{ // newest first
	{"令和", "R", 5, day(2019, 5, 1)},
	{"平成", "H", 4, day(1989, 1, 8)},
	{"昭和", "S", 3, day(1926, 12, 25)},
	{"大正", "T", 2, day(1912, 7, 30)},
	{"明治", "M", 1, day(1868, 1, 1)},
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// eraOf returns the era of d and the year within it (1 = 元年).
func eraOf(d time.Time) (era, int) {
	for _, e := range eras {
		if !d.Before(e.start) {
			return e, d.Year() - e.start.Year() + 1
		}
	}
	return eras[len(eras)-1], d.Year() - eras[len(eras)-1].start.Year() + 1
}

// formatDate writes d in style; the zero time is "".
func formatDate(d time.Time, s dateStyle) string {
	if d.IsZero() {
		return ""
	}
	y, m, dd := d.Date()
	switch s {
	case styleISO:
		return d.Format("2006-01-02")
	case styleSlash:
		return d.Format("2006/01/02")
	case styleCompact:
		return d.Format("20060102")
	}
	e, ey := eraOf(d)
	switch s {
	case styleKanji, styleKanjiWide:
		year := fmt.Sprint(ey)
		if ey == 1 {
			year = "元"
		}
		out := fmt.Sprintf("%s%s年%d月%d日", e.name, year, m, dd)
		if s == styleKanjiWide {
			out = fullWidthDigits(out)
		}
		return out
	case styleLetter:
		return fmt.Sprintf("%s%02d.%02d.%02d", e.letter, ey, m, dd)
	case styleLetterBare:
		return fmt.Sprintf("%s%d.%d.%d", e.letter, ey, m, dd)
	case styleLetterSlash:
		return fmt.Sprintf("%s%02d/%02d/%02d", e.letter, ey, m, dd)
	case styleEraCode:
		return fmt.Sprintf("%d%02d%02d%02d", e.code, ey, m, dd)
	}
	return fmt.Sprintf("%04d-%02d-%02d", y, m, dd)
}

// yearMonth writes d's month as YYYY/MM.
func yearMonth(d time.Time) string { return d.Format("2006/01") }

// schoolYear is the school and fiscal year (年度) of d: April to March.
func schoolYear(d time.Time) int {
	if d.Month() >= time.April {
		return d.Year()
	}
	return d.Year() - 1
}

// grade is the school grade of a child born on birth in school year fy: 1–6 elementary,
// 7–9 junior high, by the 2 April – 1 April cut-off of DOMAIN §2.3; ≤ 0 before school.
func grade(birth time.Time, fy int) int {
	cohort := birth.Year()
	if birth.Month() < time.April || birth.Month() == time.April && birth.Day() == 1 {
		cohort--
	}
	return fy - cohort - 6
}

// age is the age in whole years on d.
func age(birth, d time.Time) int {
	a := d.Year() - birth.Year()
	if d.Month() < birth.Month() || d.Month() == birth.Month() && d.Day() < birth.Day() {
		a--
	}
	return a
}

// ageMonths is the age in whole months on d.
func ageMonths(birth, d time.Time) int {
	m := (d.Year()-birth.Year())*12 + int(d.Month()) - int(birth.Month())
	if d.Day() < birth.Day() {
		m--
	}
	return m
}

func addDays(d time.Time, n int) time.Time { return d.AddDate(0, 0, n) }

func daysBetween(a, b time.Time) int { return int(b.Sub(a).Hours() / 24) }
