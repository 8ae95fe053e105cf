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
	"strings"

	"golang.org/x/text/unicode/norm"
)

// Gender is a code of FHIR R4's administrative-gender (http://hl7.org/fhir/administrative-gender),
// the required binding of Patient.gender and RelatedPerson.gender.
type Gender string

// The four codes of R4's administrative-gender.
const (
	Male    Gender = "male"
	Female  Gender = "female"
	Other   Gender = "other"
	Unknown Gender = "unknown"
)

// sexes maps a source's sex value, after NFKC (full-width digits and letters), trimming and
// lower-casing, to its gender.
var sexes = map[string]Gender{
	"1": Male, "男": Male, "男性": Male, "m": Male, "male": Male,
	"2": Female, "女": Female, "女性": Female, "f": Female, "female": Female,
	// ISO/IEC 5218, which the 1/2 coding follows, has 0 "not known" and 9 "not applicable";
	// R4's value set has neither "not applicable" nor a better code for it than unknown.
	"0": Unknown, "9": Unknown, "不明": Unknown, "u": Unknown, "unknown": Unknown,
	"other": Other, "その他": Other,
}

// ParseSex reads a sex column (性別, DOMAIN §2.2): 1/男/男性/M/male → male, 2/女/女性/F/female
// → female, in full-width too; 0 and 9 (ISO/IEC 5218 "not known" and "not applicable"),
// 不明, U and unknown → unknown; other and その他 → other. Anything else is an error (3 is
// "other" in some layouts and "unknown" in others: a source that uses it maps it in its
// spec), as is a blank value, with ErrEmpty in its chain.
func ParseSex(s string) (Gender, error) {
	k := strings.ToLower(strings.TrimSpace(norm.NFKC.String(s)))
	if k == "" {
		return "", emptyError("sex", s)
	}
	g, ok := sexes[k]
	if !ok {
		return "", valueError("sex", s, "not 1/2, 男/女, M/F or male/female")
	}
	return g, nil
}
