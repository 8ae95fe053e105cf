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
	"testing"
	"time"
)

func TestFiscalYear(t *testing.T) {
	for _, tc := range []struct {
		day  Date
		want int
	}{
		{d(2024, time.March, 31), 2023},
		{d(2024, time.April, 1), 2024},
		{d(2024, time.December, 31), 2024},
		{d(2025, time.January, 1), 2024},
	} {
		if got := FiscalYear(tc.day); got != tc.want {
			t.Errorf("FiscalYear(%v) = %d, want %d", tc.day, got, tc.want)
		}
	}
	if first, last := FiscalYearDates(2024); first != d(2024, time.April, 1) || last != d(2025, time.March, 31) {
		t.Errorf("FiscalYearDates(2024) = %v, %v", first, last)
	}
}

// A grade holds the children born 2 April to 1 April of the next year (DOMAIN §2.3).
func TestSchoolCohortIsSecondAprilToFirstApril(t *testing.T) {
	for _, tc := range []struct {
		birth Date
		want  int
	}{
		{d(2017, time.April, 1), 2023},
		{d(2017, time.April, 2), 2024},
		{d(2017, time.December, 31), 2024},
		{d(2018, time.January, 1), 2024},
		{d(2018, time.April, 1), 2024},
		{d(2018, time.April, 2), 2025},
		{d(2016, time.February, 29), 2022},
	} {
		if got := SchoolCohort(tc.birth); got != tc.want {
			t.Errorf("SchoolCohort(%v) = %d, want %d", tc.birth, got, tc.want)
		}
	}
	if first, last := CohortBirthDates(2024); first != d(2017, time.April, 2) || last != d(2018, time.April, 1) {
		t.Errorf("CohortBirthDates(2024) = %v, %v", first, last)
	}
	for birth := d(2010, time.January, 1); birth.Year < 2014; birth = birth.AddDays(1) {
		c := SchoolCohort(birth)
		if first, last := CohortBirthDates(c); birth.Before(first) || birth.After(last) {
			t.Fatalf("SchoolCohort(%v) = %d, whose births are %v to %v", birth, c, first, last)
		}
	}
	for _, tc := range []struct {
		birth      Date
		schoolYear int
		want       int
	}{
		{d(2018, time.April, 1), 2024, 1},  // 小1
		{d(2018, time.April, 2), 2024, 0},  // 年長
		{d(2018, time.April, 2), 2022, -2}, // 年少
		{d(2012, time.May, 5), 2024, 6},    // 小6
		{d(2011, time.May, 5), 2024, 7},    // 中1
	} {
		if got := SchoolGrade(tc.birth, tc.schoolYear); got != tc.want {
			t.Errorf("SchoolGrade(%v, %d) = %d, want %d", tc.birth, tc.schoolYear, got, tc.want)
		}
	}
}

// The Act on Calculating Age: an age is reached on the day before the anniversary.
func TestAgeAtCountsTheDayBeforeTheBirthday(t *testing.T) {
	for _, tc := range []struct {
		birth, at     Date
		years, months int
	}{
		{d(2018, time.April, 2), d(2024, time.April, 1), 6, 0},
		{d(2018, time.April, 2), d(2024, time.March, 31), 5, 11},
		{d(2018, time.April, 2), d(2024, time.April, 2), 6, 0},
		{d(2018, time.April, 1), d(2024, time.March, 31), 6, 0},
		{d(2020, time.February, 29), d(2021, time.February, 28), 1, 0},
		{d(2020, time.February, 29), d(2021, time.February, 27), 0, 11},
		{d(2020, time.February, 29), d(2024, time.February, 28), 4, 0},
		{d(2021, time.January, 31), d(2021, time.February, 28), 0, 1},
		{d(2021, time.January, 31), d(2021, time.February, 27), 0, 0},
		{d(2021, time.January, 31), d(2021, time.March, 30), 0, 2},
		{d(2023, time.June, 1), d(2023, time.June, 30), 0, 1},
		{d(2023, time.June, 1), d(2023, time.June, 29), 0, 0},
		{d(2023, time.June, 1), d(2023, time.June, 1), 0, 0},
		{d(2022, time.December, 1), d(2024, time.May, 31), 1, 6}, // 1歳6か月
		{d(2022, time.December, 1), d(2024, time.May, 30), 1, 5},
		{d(2000, time.January, 1), d(2023, time.December, 31), 24, 0},
	} {
		a, err := AgeAt(tc.birth, tc.at)
		if err != nil || a.Years != tc.years || a.Months != tc.months {
			t.Errorf("AgeAt(%v, %v) = %+v, %v; want %dy%dm", tc.birth, tc.at, a, err, tc.years, tc.months)
		}
		if a.InMonths() != tc.years*12+tc.months {
			t.Errorf("InMonths = %d", a.InMonths())
		}
	}
	if _, err := AgeAt(d(2023, time.June, 2), d(2023, time.June, 1)); err == nil {
		t.Error("AgeAt before birth: no error")
	}
	if _, err := AgeAt(d(2023, time.February, 30), d(2024, time.June, 1)); err == nil {
		t.Error("AgeAt of an invalid date: no error")
	}
}
