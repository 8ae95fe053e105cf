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

package httpstatus

import (
	"errors"
	"fmt"
	"testing"

	"github.com/kodomohub/kodomohub/fhir"
)

// TestEveryKindHasItsStatus: a kind added to fhir without a row here would answer 500.
func TestEveryKindHasItsStatus(t *testing.T) {
	if len(table) != len(fhir.Kinds()) {
		t.Fatalf("the table has %d rows for %d kinds", len(table), len(fhir.Kinds()))
	}
	for _, k := range fhir.Kinds() {
		s := Of(k)
		switch {
		case k == fhir.KindInternal && s != 500:
			t.Errorf("internal → %d", s)
		case k != fhir.KindInternal && (s < 400 || s == 500):
			t.Errorf("%s → %d, want its own 4xx or 5xx", k, s)
		case k.Transient() != ((s >= 500 && s != 501) || s == 408 || s == 429):
			t.Errorf("%s → %d, but Transient() = %v", k, s, k.Transient())
		}
	}
	if Of(fhir.Kind(200)) != 500 {
		t.Errorf("an unknown kind should answer 500")
	}
}

func TestOutcome(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
	}{
		{fhir.Errorf(fhir.KindNotFound, fhir.IssueNotFound, "no Patient/x"), 404},
		{fmt.Errorf("reading: %w", fhir.Errorf(fhir.KindGone, fhir.IssueDeleted, "deleted")), 410},
		{fhir.ErrorAt(fhir.KindUnprocessable, fhir.IssueValue, "Patient.birthDate", "bad date"), 422},
		{fhir.Errorf(fhir.KindTooCostly, fhir.IssueTooCostly, "too many values"), 400},
		{errors.New("disk full"), 500},
	} {
		status, oo := Outcome(tc.err)
		if status != tc.status || len(oo.Issue) != 1 {
			t.Errorf("%v: %d %+v, want %d and one issue", tc.err, status, oo, tc.status)
		}
	}
}
