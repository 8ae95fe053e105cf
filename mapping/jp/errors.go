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
	"strconv"
)

// ErrEmpty is in the chain of the error every parser returns for an empty or blank value,
// so that a caller can tell a missing value (often allowed) from a wrong one.
var ErrEmpty = errors.New("empty")

// ValueError is a value a parser of this package cannot read. Its message names the kind
// of value, quotes it and says what is wrong, so that an import can report it as the reason
// of a bad row.
type ValueError struct {
	What   string // "date", "year-month", "sex", "postal code", "local government code", …
	Value  string // as given
	Reason string
	Err    error // ErrEmpty for a blank value, else nil
}

func (e *ValueError) Error() string {
	return "jp: " + e.What + " " + strconv.Quote(e.Value) + ": " + e.Reason
}

func (e *ValueError) Unwrap() error { return e.Err }

func valueError(what, value, reason string) *ValueError {
	return &ValueError{What: what, Value: value, Reason: reason}
}

func emptyError(what, value string) *ValueError {
	return &ValueError{What: what, Value: value, Reason: "empty", Err: ErrEmpty}
}

// EraError is a date (or month) written in an era it does not belong to: H31.05.01 or
// 平成31年5月1日 (a day of Reiwa, from forms printed before the change of era), 昭和64年1月8日
// (a day of Heisei). Strict parsing returns it; DateParser.AllowCrossEra accepts such dates
// as the Gregorian date they compute to, and so does a caller that takes Gregorian from
// the error to report a warning instead.
type EraError struct {
	What      string // "date" or "year-month"
	Value     string // as given
	Written   Era    // the era as written
	Gregorian string // what the writing computes to: 2019-05-01, or 2019-05 for a month
	Belongs   Era    // the era the day (or the month's first day) belongs to; 0 before Meiji
	InEra     string // the day written in the era it belongs to: 令和元年5月1日
}

func (e *EraError) Error() string {
	span := e.Written.First().String() + " to "
	if last, ok := e.Written.Last(); ok {
		span += last.String()
	} else {
		span = "from " + e.Written.First().String()
	}
	unit := "day"
	if e.What == "year-month" {
		unit = "month"
	}
	msg := fmt.Sprintf("jp: %s %q is %s, outside %s (%s)", e.What, e.Value, e.Gregorian, e.Written, span)
	if e.Belongs == 0 {
		return msg + "; the " + unit + " is before 明治"
	}
	return msg + "; the " + unit + " belongs to " + e.Belongs.String() + " (" + e.InEra + ")"
}
