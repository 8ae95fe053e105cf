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
	"testing"
	"time"
)

func TestDateRange(t *testing.T) {
	ms := func(s string) int64 {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UnixMilli()
	}
	for _, tc := range []struct {
		in        string
		low, high string
	}{
		{"2024", "2023-12-31T15:00:00Z", "2024-12-31T15:00:00Z"}, // JST
		{"2024-02", "2024-01-31T15:00:00Z", "2024-02-29T15:00:00Z"},
		{"2024-02-29", "2024-02-28T15:00:00Z", "2024-02-29T15:00:00Z"},
		{"2024-04-01T10:00:00Z", "2024-04-01T10:00:00Z", "2024-04-01T10:00:01Z"},
		{"2024-04-01T10:00:00+09:00", "2024-04-01T01:00:00Z", "2024-04-01T01:00:01Z"},
		{"2024-04-01T10:00:00.5-05:00", "2024-04-01T15:00:00.5Z", "2024-04-01T15:00:00.6Z"},
		{"2024-04-01T10:00:00.123456Z", "2024-04-01T10:00:00.123Z", "2024-04-01T10:00:00.124Z"},
		{"2024-04-01T10:00", "2024-04-01T01:00:00Z", "2024-04-01T01:01:00Z"},
		{"2024-04-01T24:00:00Z", "2024-04-02T00:00:00Z", "2024-04-02T00:00:01Z"},
	} {
		lo, hi, err := DateRange(tc.in, JST)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if lo != ms(tc.low) || hi != ms(tc.high) {
			t.Errorf("%s: [%d, %d), want [%d, %d)", tc.in, lo, hi, ms(tc.low), ms(tc.high))
		}
	}
	for _, bad := range []string{"", "20", "2024-13", "2024-02-30", "2024-01-01T", "2024-01-01T10", "2024-01-01Z",
		"2024-01-01T10:00:00+9:00", "2024-01-01T10:00:00.Z", "abcd", "2024/01/01", "0000"} {
		if _, _, err := DateRange(bad, JST); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	lo, _, _ := DateRange("2024-01-01", time.UTC)
	if lo != ms("2024-01-01T00:00:00Z") {
		t.Error("UTC location not honoured")
	}
}
