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
	"strconv"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// LGCode is a 6-digit local government code (全国地方公共団体コード, DOMAIN §3.1): the
// prefecture (2 digits, 01 北海道 … 47 沖縄県), the municipality (3 digits) and a mod-11
// check digit. ParseLGCode and CompleteLGCode return only valid codes.
type LGCode string

// ParseLGCode reads a 6-digit local government code (full-width digits and a hyphen before
// the check digit allowed: 11346-8) and checks its prefecture and its check digit:
// 113816 (美里町) and 113468 (川島町) are valid, 113817 is not. A blank value is an error with
// ErrEmpty in its chain.
func ParseLGCode(s string) (LGCode, error) {
	k, err := lgDigits(s, 6)
	if err != nil {
		return "", err
	}
	if c := lgCheckDigit(k[:5]); k[5] != c {
		return "", valueError("local government code", s, "check digit "+k[5:]+" is wrong (the first five digits give "+string(c)+")")
	}
	return LGCode(k), nil
}

// CompleteLGCode appends the check digit to a 5-digit code: 11381 → 113816.
func CompleteLGCode(five string) (LGCode, error) {
	k, err := lgDigits(five, 5)
	if err != nil {
		return "", err
	}
	return LGCode(k + string(lgCheckDigit(k))), nil
}

// Prefecture is the name of the code's prefecture (埼玉県 for 113816), "" for an invalid code.
func (lg LGCode) Prefecture() string {
	if len(lg) < 2 {
		return ""
	}
	n, err := strconv.Atoi(string(lg[:2]))
	if err != nil || n < 1 || n > len(prefectures) {
		return ""
	}
	return prefectures[n-1]
}

// lgCheckDigit computes the check digit of five digits: the digits weighted 6, 5, 4, 3, 2
// are summed, and the check digit is the last digit of 11 minus the sum's remainder
// modulo 11 (so a remainder of 0 gives 1, and 1 gives 0).
func lgCheckDigit(five string) byte {
	sum := 0
	for i := 0; i < 5; i++ {
		sum += int(five[i]-'0') * (6 - i)
	}
	return byte('0' + (11-sum%11)%10)
}

// lgDigits reads n digits (full-width allowed, dashes ignored) starting with a prefecture
// code.
func lgDigits(s string, n int) (string, error) {
	k := strings.Map(func(r rune) rune {
		if isDash(r) {
			return -1
		}
		return r
	}, strings.TrimSpace(norm.NFKC.String(s)))
	switch {
	case k == "":
		return "", emptyError("local government code", s)
	case len(k) != n || !allDigits(k):
		return "", valueError("local government code", s, "not "+strconv.Itoa(n)+" digits")
	}
	if reason := checkPrefecture(k); reason != "" {
		return "", valueError("local government code", s, reason)
	}
	return k, nil
}

func checkPrefecture(k string) string {
	if p := atoi(k[:2]); p < 1 || p > len(prefectures) {
		return "prefecture " + k[:2] + " is not 01 to 47"
	}
	return ""
}
