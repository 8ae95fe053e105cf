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
	"fmt"
	"strconv"
	"time"
)

// Date is a civil date of the Gregorian calendar, without a time or a time zone: what a
// FHIR date holds. The zero Date is not valid.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the civil date of t in t's own location (pass the clock's time in JST to
// get the date in Japan).
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// Valid reports whether d is a day of the calendar, between 0001-01-01 and 9999-12-31.
func (d Date) Valid() bool {
	return d.Year >= 1 && d.Year <= 9999 && d.Month >= time.January && d.Month <= time.December &&
		d.Day >= 1 && d.Day <= daysIn(d.Year, d.Month)
}

// String is the FHIR form, 2023-06-01.
func (d Date) String() string {
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// Time is d at midnight UTC.
func (d Date) Time() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC) }

// AddDays returns the date n days after d (before it when n is negative).
func (d Date) AddDays(n int) Date { return DateOf(d.Time().AddDate(0, 0, n)) }

// Compare returns -1, 0 or +1 as d is before, equal to or after e.
func (d Date) Compare(e Date) int {
	switch {
	case d.Year != e.Year:
		return cmpInt(d.Year, e.Year)
	case d.Month != e.Month:
		return cmpInt(int(d.Month), int(e.Month))
	default:
		return cmpInt(d.Day, e.Day)
	}
}

// Before reports whether d is before e.
func (d Date) Before(e Date) bool { return d.Compare(e) < 0 }

// After reports whether d is after e.
func (d Date) After(e Date) bool { return d.Compare(e) > 0 }

// Wareki writes d in its era, 令和5年6月1日, with 元年 for the first year of an era
// (令和元年5月1日). A day shared by two eras is written in the new one (see EraOf). It is ""
// for a day before Meiji or an invalid date. ParseDate reads it back while the era year
// has two digits (until 令和99年, 2117).
func (d Date) Wareki() string {
	e, y, ok := EraOf(d)
	if !ok {
		return ""
	}
	return e.String() + eraYear(y) + "年" + strconv.Itoa(int(d.Month)) + "月" + strconv.Itoa(d.Day) + "日"
}

// YearMonth is a month of the Gregorian calendar, for the 年月 columns of the sources
// (支給開始年月, 滞納開始年月, the month of an attendance row).
type YearMonth struct {
	Year  int
	Month time.Month
}

// Valid reports whether ym is a month between 0001-01 and 9999-12.
func (ym YearMonth) Valid() bool {
	return ym.Year >= 1 && ym.Year <= 9999 && ym.Month >= time.January && ym.Month <= time.December
}

// String is the FHIR partial-date form, 2025-04.
func (ym YearMonth) String() string { return fmt.Sprintf("%04d-%02d", ym.Year, int(ym.Month)) }

// First is the first day of the month.
func (ym YearMonth) First() Date { return Date{ym.Year, ym.Month, 1} }

// Last is the last day of the month.
func (ym YearMonth) Last() Date { return Date{ym.Year, ym.Month, daysIn(ym.Year, ym.Month)} }

// Wareki writes ym in the era of its first day, 令和7年4月 ("" before Meiji).
func (ym YearMonth) Wareki() string {
	e, y, ok := EraOf(ym.First())
	if !ok {
		return ""
	}
	return e.String() + eraYear(y) + "年" + strconv.Itoa(int(ym.Month)) + "月"
}

// Era is a Japanese era (元号) since the Meiji era, numbered by its de-facto numeric code
// (DOMAIN §2.3): Meiji 1 … Reiwa 5. The zero Era is no era.
type Era uint8

// The eras of DOMAIN §2.3.
const (
	Meiji  Era = iota + 1 // 明治 M 1: 1868-01-01 (by convention) to 1912-07-30
	Taisho                // 大正 T 2: 1912-07-30 to 1926-12-25
	Showa                 // 昭和 S 3: 1926-12-25 to 1989-01-07
	Heisei                // 平成 H 4: 1989-01-08 to 2019-04-30
	Reiwa                 // 令和 R 5: from 2019-05-01
)

var eras = [...]struct {
	name, abbr  string // 令和, 令
	letter      byte   // R
	first, last Date   // last is zero for the current era
}{
	Meiji:  {"明治", "明", 'M', Date{1868, time.January, 1}, Date{1912, time.July, 30}},
	Taisho: {"大正", "大", 'T', Date{1912, time.July, 30}, Date{1926, time.December, 25}},
	Showa:  {"昭和", "昭", 'S', Date{1926, time.December, 25}, Date{1989, time.January, 7}},
	Heisei: {"平成", "平", 'H', Date{1989, time.January, 8}, Date{2019, time.April, 30}},
	Reiwa:  {"令和", "令", 'R', Date{2019, time.May, 1}, Date{}},
}

func (e Era) valid() bool { return e >= Meiji && int(e) < len(eras) }

// String is the era's name in kanji, 令和.
func (e Era) String() string {
	if !e.valid() {
		return "Era(" + strconv.Itoa(int(e)) + ")"
	}
	return eras[e].name
}

// Letter is the era's letter, R for Reiwa (0 for an invalid Era).
func (e Era) Letter() byte {
	if !e.valid() {
		return 0
	}
	return eras[e].letter
}

// Code is the era's numeric code: 1 Meiji … 5 Reiwa, the first digit of the seven-digit
// form 5050601.
func (e Era) Code() int { return int(e) }

// First is the era's first day.
func (e Era) First() Date {
	if !e.valid() {
		return Date{}
	}
	return eras[e].first
}

// Last is the era's last day; ok is false for the current era, which has none yet.
func (e Era) Last() (last Date, ok bool) {
	if !e.valid() || e == Reiwa {
		return Date{}, false
	}
	return eras[e].last, true
}

// contains reports whether d is one of the era's days, both ends included: both writings
// of a day that ends one era and starts the next are in range.
func (e Era) contains(d Date) bool {
	last, ended := e.Last()
	return !d.Before(e.First()) && (!ended || !d.After(last))
}

// gregorianYear is the Gregorian year of the era's year y.
func (e Era) gregorianYear(y int) int { return eras[e].first.Year + y - 1 }

// EraOf returns the era a valid date belongs to and its year in that era (1 for 元年); ok is
// false before 1868-01-01. The two days that end one era and begin the next (1912-07-30,
// 1926-12-25) belong to the new era: the era changed on the day of the accession, so those
// days are 大正元年7月30日 and 昭和元年12月25日. The parsers accept the old era's writing of
// them too (明治45年7月30日, 大正15年12月25日), as the DOMAIN table lists them in both rows.
func EraOf(d Date) (e Era, year int, ok bool) {
	if !d.Valid() {
		return 0, 0, false
	}
	for e := Reiwa; e >= Meiji; e-- {
		if !d.Before(eras[e].first) {
			return e, d.Year - eras[e].first.Year + 1, true
		}
	}
	return 0, 0, false
}

func eraYear(y int) string {
	if y == 1 {
		return "元"
	}
	return strconv.Itoa(y)
}

func daysIn(y int, m time.Month) int {
	switch m {
	case time.February:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	default:
		return 31
	}
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
