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
	"time"
)

// FiscalYear is the fiscal and school year (年度) d falls in: the year of the 1 April that
// starts it (DOMAIN §2.3). 2024-03-31 is in 2023, 2024-04-01 in 2024.
func FiscalYear(d Date) int {
	if d.Month < time.April {
		return d.Year - 1
	}
	return d.Year
}

// FiscalYearDates returns the first and last day of fiscal year fy: fy-04-01 and
// (fy+1)-03-31.
func FiscalYearDates(fy int) (first, last Date) {
	return Date{fy, time.April, 1}, Date{fy + 1, time.March, 31}
}

// SchoolCohort is the school year in which a child born on birth enters the first grade
// of elementary school (小学校入学年度). The School Education Act (Art. 17) sends a child to
// school from the first school year that begins after the day following the day the child
// reaches 6, and the Act on Calculating Age has the child reach 6 on the day before the
// sixth birthday; so a grade holds the children born 2 April to 1 April of the next year:
// born 2017-04-02 … 2018-04-01 → 2024.
func SchoolCohort(birth Date) int {
	return FiscalYear(birth.AddDays(-1)) + 7
}

// CohortBirthDates returns the first and last birth date of the children who enter the
// first grade in school year cohort: (cohort-7)-04-02 and (cohort-6)-04-01.
func CohortBirthDates(cohort int) (first, last Date) {
	return Date{cohort - 7, time.April, 2}, Date{cohort - 6, time.April, 1}
}

// SchoolGrade is the grade a child born on birth is in, by age, during school year
// schoolYear: 1 to 6 for elementary school (小1–小6), 7 to 9 for junior high school
// (中1–中3), 10 to 12 for high school; 0 is the last year before school (年長, the 5歳児
// class of a nursery), -1 年中 (4歳児), -2 年少 (3歳児) and so on. It is the grade of the
// child's cohort, not a record of enrolment: a child held back or sent abroad has another.
func SchoolGrade(birth Date, schoolYear int) int {
	return schoolYear - SchoolCohort(birth) + 1
}

// Age is an age in completed years and months.
type Age struct {
	Years  int
	Months int // 0 to 11
}

// InMonths is the age in months (月齢): Years*12 + Months.
func (a Age) InMonths() int { return a.Years*12 + a.Months }

// AgeAt returns the age at date at of a person born on birth, as the law counts it: by the
// Act on Calculating Age (年齢計算ニ関スル法律) and Civil Code Art. 143, age is counted from
// the day of birth and each year (or month) is reached at the end of the day before its
// anniversary. So on the day before the birthday the person has reached the new age
// (満N歳に達した日 is that day): born 2018-04-02, the age at 2024-04-01 is 6. Someone born on
// 29 February reaches each age on 28 February; born on 31 January, the first month is
// reached on the last day of February. It is an error when a date is invalid or at is
// before birth.
func AgeAt(birth, at Date) (Age, error) {
	if !birth.Valid() || !at.Valid() {
		return Age{}, errors.New("jp: AgeAt: invalid date")
	}
	if at.Before(birth) {
		return Age{}, errors.New("jp: AgeAt: " + at.String() + " is before the birth date " + birth.String())
	}
	// Reached by the end of at = completed on the next day by the calendar.
	next := at.AddDays(1)
	months := (next.Year-birth.Year)*12 + int(next.Month) - int(birth.Month)
	if next.Day < birth.Day {
		months--
	}
	return Age{months / 12, months % 12}, nil
}
