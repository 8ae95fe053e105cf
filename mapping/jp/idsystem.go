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

// PersonKeySystem is the system of the hub-wide person key (DOMAIN §3.2): a random UUID
// the hub assigns at the first match or at a handover, the same in every town. It is never
// derived from My Number or the resident-record code.
const PersonKeySystem = "urn:kodomohub:person"

// The identifier systems of a town (DOMAIN §3.2) carry its local government code, so the
// same number in two towns never collides. Values are kept as in the source, leading zeros
// too.

// ResidentIDSystem is the system of the town's resident number (宛名番号/識別番号/児童宛名番号):
// urn:kodomohub:{lg}:resident-id.
func ResidentIDSystem(lg LGCode) string { return townSystem(lg, "resident-id") }

// HouseholdIDSystem is the system of the town's household number (世帯番号), the Group's
// identifier: urn:kodomohub:{lg}:household-id.
func HouseholdIDSystem(lg LGCode) string { return townSystem(lg, "household-id") }

// MCHIDSystem is the system of the health-management person number, where it differs from
// the resident number: urn:kodomohub:{lg}:mch-id.
func MCHIDSystem(lg LGCode) string { return townSystem(lg, "mch-id") }

// PMHKeySystem is the system of the PMH per-town key (municipalityIdentityKey):
// urn:kodomohub:{lg}:pmh-key.
func PMHKeySystem(lg LGCode) string { return townSystem(lg, "pmh-key") }

// YotaikyoCaseSystem is the system of the 要対協 case ledger number:
// urn:kodomohub:{lg}:yotaikyo-case.
func YotaikyoCaseSystem(lg LGCode) string { return townSystem(lg, "yotaikyo-case") }

// SchoolPupilIDSystem is the system of a school's pupil numbers:
// urn:kodomohub:{lg}:school:{schoolCode}:pupil-id. The school code, after NFKC
// (full-width digits and letters), must be letters, digits, '.', '_' or '-' only: anything
// else (a colon, a space, a slash) would change the system's structure, and is an error.
func SchoolPupilIDSystem(lg LGCode, schoolCode string) (string, error) {
	c, err := urnPart("school code", schoolCode)
	if err != nil {
		return "", err
	}
	return townSystem(lg, "school:"+c+":pupil-id"), nil
}

// FacilityChildIDSystem is the system of a nursery's or other facility's child numbers:
// urn:kodomohub:{lg}:facility:{facilityID}:child-id, with the facility ID (施設コード) checked
// as SchoolPupilIDSystem checks a school code.
func FacilityChildIDSystem(lg LGCode, facilityID string) (string, error) {
	c, err := urnPart("facility ID", facilityID)
	if err != nil {
		return "", err
	}
	return townSystem(lg, "facility:"+c+":child-id"), nil
}

func townSystem(lg LGCode, kind string) string { return "urn:kodomohub:" + string(lg) + ":" + kind }

func urnPart(what, s string) (string, error) {
	k := strings.TrimSpace(norm.NFKC.String(s))
	if k == "" {
		return "", emptyError(what, s)
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '.' || c == '_' || c == '-') {
			return "", valueError(what, s, "only letters, digits, '.', '_' and '-' may stand in an identifier system")
		}
	}
	return k, nil
}
