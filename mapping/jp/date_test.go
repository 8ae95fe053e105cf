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
	"fmt"
	"strings"
	"testing"
	"time"
)

func d(y int, m time.Month, day int) Date { return Date{y, m, day} }

func TestParseDateEveryFormOfDomain(t *testing.T) {
	want := d(2023, time.June, 1)
	for _, s := range []string{
		// DOMAIN §2.3, each meaning 2023-06-01
		"令和5年6月1日", "令和５年６月１日", "R05.06.01", "R5.6.1", "R05/06/01", "5050601",
		"20230601", "2023/06/01", "2023-06-01",
		// and the variants met in files
		"2023年6月1日", "r05.06.01", "R05-06-01", "R050601", "令5.6.1", "令和05年06月01日",
		"  2023/06/01  ", "\u3000令和5年6月1日\u3000", "令和 5年 6月 1日", "R5. 6. 1",
		"２０２３／０６／０１", "２０２３－０６－０１", "２０２３年６月１日", "Ｒ０５．０６．０１", "ｒ５．６．１",
		"2023ー06ー01", "2023‐06‐01", "2023−06−01", "2023―06―01",
		"㋿5年6月1日", "西暦2023年6月1日", "2023/6/1 0:00", "2023/06/01 00:00:00", "2023-06-01 0:00:00.000",
		"令和5年6月1",
	} {
		got, err := ParseDate(s)
		if err != nil || got != want {
			t.Errorf("ParseDate(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
}

func TestParseDateErasAndBoundaries(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Date
	}{
		{"令和元年5月1日", d(2019, time.May, 1)},
		{"令和1年5月1日", d(2019, time.May, 1)},
		{"R元.5.1", d(2019, time.May, 1)},
		{"平成31年4月30日", d(2019, time.April, 30)},
		{"H31.04.30", d(2019, time.April, 30)},
		{"h31.4.30", d(2019, time.April, 30)},
		{"4310430", d(2019, time.April, 30)},
		{"㍻31年4月30日", d(2019, time.April, 30)},
		{"平成元年1月8日", d(1989, time.January, 8)},
		{"H1.1.8", d(1989, time.January, 8)},
		{"昭和64年1月7日", d(1989, time.January, 7)},
		{"S64.01.07", d(1989, time.January, 7)},
		{"3640107", d(1989, time.January, 7)},
		{"s60.4.1", d(1985, time.April, 1)},
		{"昭60.4.1", d(1985, time.April, 1)},
		// The shared boundary days are accepted in both eras.
		{"昭和元年12月25日", d(1926, time.December, 25)},
		{"大正15年12月25日", d(1926, time.December, 25)},
		{"T15.12.25", d(1926, time.December, 25)},
		{"大正元年7月30日", d(1912, time.July, 30)},
		{"明治45年7月30日", d(1912, time.July, 30)},
		{"M45.07.30", d(1912, time.July, 30)},
		{"m45.7.29", d(1912, time.July, 29)},
		{"1450730", d(1912, time.July, 30)},
		{"明治元年1月1日", d(1868, time.January, 1)},
		{"2024/02/29", d(2024, time.February, 29)},
		{"2000-02-29", d(2000, time.February, 29)},
	} {
		got, err := ParseDate(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseDate(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseDateCrossEraIsEraError(t *testing.T) {
	for _, tc := range []struct {
		in      string
		belongs Era
		inEra   string
		date    Date // with AllowCrossEra
	}{
		{"H31.05.01", Reiwa, "令和元年5月1日", d(2019, time.May, 1)},
		{"平成31年5月1日", Reiwa, "令和元年5月1日", d(2019, time.May, 1)},
		{"4310501", Reiwa, "令和元年5月1日", d(2019, time.May, 1)},
		{"平成32年1月1日", Reiwa, "令和2年1月1日", d(2020, time.January, 1)},
		{"昭和64年1月8日", Heisei, "平成元年1月8日", d(1989, time.January, 8)},
		{"令和元年4月30日", Heisei, "平成31年4月30日", d(2019, time.April, 30)},
		{"平成元年1月7日", Showa, "昭和64年1月7日", d(1989, time.January, 7)},
		{"大正元年7月29日", Meiji, "明治45年7月29日", d(1912, time.July, 29)},
		{"明治45年7月31日", Taisho, "大正元年7月31日", d(1912, time.July, 31)},
		{"昭和元年12月24日", Taisho, "大正15年12月24日", d(1926, time.December, 24)},
	} {
		_, err := ParseDate(tc.in)
		var ee *EraError
		if !errors.As(err, &ee) {
			t.Errorf("ParseDate(%q) error = %v, want an *EraError", tc.in, err)
			continue
		}
		if ee.Belongs != tc.belongs || ee.InEra != tc.inEra || ee.Gregorian != tc.date.String() {
			t.Errorf("ParseDate(%q): %+v", tc.in, ee)
		}
		if msg := err.Error(); !strings.Contains(msg, "belongs to "+tc.belongs.String()) || !strings.Contains(msg, tc.inEra) {
			t.Errorf("ParseDate(%q) message %q does not name %s and %s", tc.in, msg, tc.belongs, tc.inEra)
		}
		got, err := DateParser{AllowCrossEra: true}.ParseDate(tc.in)
		if err != nil || got != tc.date {
			t.Errorf("AllowCrossEra: ParseDate(%q) = %v, %v; want %v", tc.in, got, err, tc.date)
		}
	}
	_, err := ParseDate("H31.05.01")
	if want := `jp: date "H31.05.01" is 2019-05-01, outside 平成 (1989-01-08 to 2019-04-30); the day belongs to 令和 (令和元年5月1日)`; err.Error() != want {
		t.Errorf("message:\n got %s\nwant %s", err, want)
	}
}

func TestParseDateInvalidIsValueError(t *testing.T) {
	for _, tc := range []struct{ in, reason string }{
		{"2023年2月30日", "day 30 is not in February 2023"},
		{"2023/02/29", "day 29 is not in February 2023"},
		{"1900-02-29", "day 29 is not in February 1900"},
		{"令和5年2月30日", "day 30 is not in February 2023"},
		{"2023/13/01", "month 13 out of range"},
		{"2023/00/01", "month 0 out of range"},
		{"2023/06/00", "day 0 is not in June 2023"},
		{"00000101", "year 0 out of range"},
		{"2023/06", "no day (a year-month is not a date)"},
		{"令和5年6月", "no day after 月"},
		{"2023 06 01", "white space between digits"},
		{"R05.06/01", "mixed separators"},
		{"6050601", "era code 6 is not 1 (明治) to 5 (令和)"},
		{"0050601", "era code 0 is not 1 (明治) to 5 (令和)"},
		{"230601", "6 digits (a date has 8, YYYYMMDD, or 7, GYYMMDD)"},
		{"昭和0年1月1日", "era year 0 (the first year is 1 or 元)"},
		{"R123.1.1", "era year 123 has more than two digits"},
		{"23/06/01", "not a date form this package reads"},
		{"June 1, 2023", "not a date form this package reads"},
		{"令和", "no year after the era"},
		{"2023/06/01 12:30", "white space between digits"},
		{"2023/06/01x", "no day after the month"},
	} {
		_, err := ParseDate(tc.in)
		var ve *ValueError
		if !errors.As(err, &ve) || ve.Reason != tc.reason || ve.Value != tc.in || ve.What != "date" {
			t.Errorf("ParseDate(%q) error = %#v, want reason %q", tc.in, err, tc.reason)
		}
		if errors.Is(err, ErrEmpty) {
			t.Errorf("ParseDate(%q) is ErrEmpty", tc.in)
		}
	}
}

func TestParseDateBlankIsErrEmpty(t *testing.T) {
	for _, s := range []string{"", " ", "\u3000\u3000", "\t"} {
		if _, err := ParseDate(s); !errors.Is(err, ErrEmpty) {
			t.Errorf("ParseDate(%q) error = %v, want ErrEmpty", s, err)
		}
		if _, err := ParseYearMonth(s); !errors.Is(err, ErrEmpty) {
			t.Errorf("ParseYearMonth(%q) error = %v, want ErrEmpty", s, err)
		}
	}
}

// Every day from Meiji to 2100 reads back from its Gregorian, 和暦, letter and
// seven-digit forms.
func TestParseDateRoundTripsEveryDay(t *testing.T) {
	for day := d(1868, time.January, 1); day.Year <= 2100; day = day.AddDays(1) {
		e, y, ok := EraOf(day)
		if !ok {
			t.Fatalf("EraOf(%v) not ok", day)
		}
		forms := []string{
			day.String(), day.Wareki(),
			fmt.Sprintf("%c%02d.%02d.%02d", e.Letter(), y, int(day.Month), day.Day),
			fmt.Sprintf("%04d%02d%02d", day.Year, int(day.Month), day.Day),
		}
		if y < 100 {
			forms = append(forms, fmt.Sprintf("%d%02d%02d%02d", e.Code(), y, int(day.Month), day.Day))
		}
		for _, s := range forms {
			if got, err := ParseDate(s); err != nil || got != day {
				t.Fatalf("ParseDate(%q) = %v, %v; want %v", s, got, err, day)
			}
		}
	}
}

func TestParseYearMonth(t *testing.T) {
	want := YearMonth{2025, time.April}
	for _, s := range []string{
		"2025/04", "2025-04", "2025.04", "2025/4", "202504", "2025年4月", "令和7年4月", "R07.04", "R7/4",
		"r7.4", "R0704", "50704", "２０２５／０４", "令和７年４月", " 2025/04 ", "Ｒ０７．０４", "2025ー04",
	} {
		if got, err := ParseYearMonth(s); err != nil || got != want {
			t.Errorf("ParseYearMonth(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, tc := range []struct {
		in   string
		want YearMonth
	}{
		{"昭和64年1月", YearMonth{1989, time.January}}, // 1989-01-01 to 07 are Shōwa
		{"平成元年1月", YearMonth{1989, time.January}},  // from 1989-01-08, Heisei
		{"平成31年4月", YearMonth{2019, time.April}},
		{"令和元年5月", YearMonth{2019, time.May}},
		{"明治45年7月", YearMonth{1912, time.July}},
		{"大正元年7月", YearMonth{1912, time.July}},
	} {
		if got, err := ParseYearMonth(tc.in); err != nil || got != tc.want {
			t.Errorf("ParseYearMonth(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, tc := range []struct {
		in      string
		belongs Era
		inEra   string
	}{
		{"平成31年5月", Reiwa, "令和元年5月"},
		{"H31.05", Reiwa, "令和元年5月"},
		{"令和元年4月", Heisei, "平成31年4月"},
		{"大正元年6月", Meiji, "明治45年6月"},
		{"昭和64年2月", Heisei, "平成元年2月"},
	} {
		_, err := ParseYearMonth(tc.in)
		var ee *EraError
		if !errors.As(err, &ee) || ee.Belongs != tc.belongs || ee.InEra != tc.inEra || !strings.Contains(err.Error(), "the month belongs to") {
			t.Errorf("ParseYearMonth(%q) error = %v, want it to belong to %s (%s)", tc.in, err, tc.belongs, tc.inEra)
		}
		if _, err := (DateParser{AllowCrossEra: true}).ParseYearMonth(tc.in); err != nil {
			t.Errorf("AllowCrossEra: ParseYearMonth(%q): %v", tc.in, err)
		}
	}
	for _, s := range []string{"2025/04/01", "20250401", "令和7年4月1日", "2025/13", "2025", "25/04", "R07.04.01", "2025/04x"} {
		var ve *ValueError
		if _, err := ParseYearMonth(s); !errors.As(err, &ve) {
			t.Errorf("ParseYearMonth(%q) error = %v, want a *ValueError", s, err)
		}
	}
}

func TestEraOfBoundaryDayIsNewEra(t *testing.T) {
	for _, tc := range []struct {
		day  Date
		era  Era
		year int
	}{
		{d(1868, time.January, 1), Meiji, 1},
		{d(1912, time.July, 29), Meiji, 45},
		{d(1912, time.July, 30), Taisho, 1},
		{d(1926, time.December, 24), Taisho, 15},
		{d(1926, time.December, 25), Showa, 1},
		{d(1989, time.January, 7), Showa, 64},
		{d(1989, time.January, 8), Heisei, 1},
		{d(2019, time.April, 30), Heisei, 31},
		{d(2019, time.May, 1), Reiwa, 1},
		{d(2023, time.June, 1), Reiwa, 5},
	} {
		e, y, ok := EraOf(tc.day)
		if !ok || e != tc.era || y != tc.year {
			t.Errorf("EraOf(%v) = %v %d %v, want %v %d", tc.day, e, y, ok, tc.era, tc.year)
		}
	}
	if _, _, ok := EraOf(d(1867, time.December, 31)); ok {
		t.Error("EraOf(1867-12-31) ok")
	}
	if _, _, ok := EraOf(d(2023, time.February, 30)); ok {
		t.Error("EraOf(2023-02-30) ok")
	}
	if got := d(2019, time.May, 1).Wareki(); got != "令和元年5月1日" {
		t.Errorf("Wareki = %q", got)
	}
	if got := d(1867, time.May, 1).Wareki(); got != "" {
		t.Errorf("Wareki before Meiji = %q", got)
	}
	if got := (YearMonth{1989, time.January}).Wareki(); got != "昭和64年1月" {
		t.Errorf("YearMonth.Wareki = %q", got)
	}
	for e := Meiji; e <= Reiwa; e++ {
		if got := Era(e.Code()); got != e || e.Letter() == 0 || e.String() == "" {
			t.Errorf("era %d: %v %c %q", e, got, e.Letter(), e.String())
		}
	}
	if last, ok := Reiwa.Last(); ok {
		t.Errorf("Reiwa.Last() = %v", last)
	}
	if last, ok := Heisei.Last(); !ok || last != d(2019, time.April, 30) {
		t.Errorf("Heisei.Last() = %v %v", last, ok)
	}
}

func TestDate(t *testing.T) {
	a, b := d(2023, time.June, 1), d(2023, time.June, 2)
	if !a.Before(b) || !b.After(a) || a.Compare(a) != 0 || a.AddDays(1) != b || b.AddDays(-1) != a {
		t.Error("Compare/AddDays")
	}
	if got := a.Time(); !got.Equal(time.Date(2023, 6, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("Time = %v", got)
	}
	jst := time.FixedZone("JST", 9*3600)
	if got := DateOf(time.Date(2023, 5, 31, 16, 0, 0, 0, time.UTC).In(jst)); got != a {
		t.Errorf("DateOf in JST = %v", got)
	}
	if (Date{}).Valid() || d(2023, 2, 29).Valid() || !d(2024, 2, 29).Valid() || d(10000, 1, 1).Valid() {
		t.Error("Valid")
	}
	ym := YearMonth{2024, time.February}
	if ym.First() != d(2024, 2, 1) || ym.Last() != d(2024, 2, 29) || ym.String() != "2024-02" {
		t.Errorf("YearMonth %v %v %v", ym.First(), ym.Last(), ym)
	}
}
