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
	"errors"
	"time"
)

var errDate = errors.New("not a FHIR date, dateTime or instant")

// DateRange returns the range [low, high) in Unix milliseconds that a FHIR date, dateTime
// or instant covers at its precision: "2024" is the whole year, "2024-04-01" the day,
// "2024-04-01T10:00:00+09:00" the second, "…T10:00:00.5Z" the 100 ms. A value without a
// time zone (dates always, search values may omit it) is taken in loc. Search values may
// also stop at minutes ("2024-04-01T10:00"), as the FHIR search syntax allows.
func DateRange(s string, loc *time.Location) (low, high int64, err error) {
	n := len(s)
	num := func(i, w int) (int, bool) {
		if i+w > n {
			return 0, false
		}
		v := 0
		for _, c := range []byte(s[i : i+w]) {
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	year, ok := num(0, 4)
	if !ok || year == 0 {
		return 0, 0, errDate
	}
	month, day := 1, 1
	i := 4
	unit := "y"
	if i < n {
		if s[i] != '-' {
			return 0, 0, errDate
		}
		if month, ok = num(i+1, 2); !ok || month < 1 || month > 12 {
			return 0, 0, errDate
		}
		i += 3
		unit = "m"
	}
	if i < n {
		if s[i] != '-' {
			return 0, 0, errDate
		}
		if day, ok = num(i+1, 2); !ok || day < 1 || day > daysIn(year, month) {
			return 0, 0, errDate
		}
		i += 3
		unit = "d"
	}
	hour, min, sec, nsec := 0, 0, 0, 0
	var step time.Duration
	if i < n {
		if s[i] != 'T' {
			return 0, 0, errDate
		}
		if hour, ok = num(i+1, 2); !ok || hour > 24 || i+3 >= n || s[i+3] != ':' {
			return 0, 0, errDate
		}
		if min, ok = num(i+4, 2); !ok || min > 59 {
			return 0, 0, errDate
		}
		i += 6
		step = time.Minute
		if i < n && s[i] == ':' {
			if sec, ok = num(i+1, 2); !ok || sec > 60 {
				return 0, 0, errDate
			}
			i += 3
			step = time.Second
			if i < n && s[i] == '.' {
				j := i + 1
				scale := int(time.Second)
				for j < n && s[j] >= '0' && s[j] <= '9' {
					scale /= 10
					if scale > 0 {
						nsec += int(s[j]-'0') * scale
					}
					j++
				}
				if j == i+1 {
					return 0, 0, errDate
				}
				step = time.Duration(max(scale, int(time.Millisecond)))
				i = j
			}
		}
		if hour == 24 && (min != 0 || sec != 0 || nsec != 0) {
			return 0, 0, errDate
		}
		unit = "t"
	}
	zone := loc
	if i < n {
		if unit != "t" {
			return 0, 0, errDate
		}
		switch s[i] {
		case 'Z':
			if i+1 != n {
				return 0, 0, errDate
			}
			zone = time.UTC
		case '+', '-':
			zh, ok1 := num(i+1, 2)
			zm, ok2 := num(i+4, 2)
			if !ok1 || !ok2 || i+6 != n || s[i+3] != ':' || zh > 14 || zm > 59 {
				return 0, 0, errDate
			}
			off := zh*3600 + zm*60
			if s[i] == '-' {
				off = -off
			}
			zone = time.FixedZone("", off)
		default:
			return 0, 0, errDate
		}
	}
	t := time.Date(year, time.Month(month), day, hour, min, sec, nsec, zone)
	var end time.Time
	switch unit {
	case "y":
		end = t.AddDate(1, 0, 0)
	case "m":
		end = t.AddDate(0, 1, 0)
	case "d":
		end = t.AddDate(0, 0, 1)
	default:
		t = t.Truncate(time.Millisecond)
		end = t.Add(step)
	}
	return t.UnixMilli(), end.UnixMilli(), nil
}

func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
