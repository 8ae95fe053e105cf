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

package store

import (
	"bytes"
	"fmt"
	"time"

	"github.com/kodomohub/kodomohub/fhir"
	"github.com/kodomohub/kodomohub/fhir/search"
)

// CheckWrite checks a write before a backend reads or stores anything for it: a known type, a
// valid id and action, index entries every backend can store, and a body whose resourceType is
// the write's type. For a create or update it returns the body stamped as version 1 at the Unix
// epoch (fhir.Stamp), which a backend may use as a template; nil for a delete.
func CheckWrite(w Write) ([]byte, error) {
	if !fhir.IsResourceType(w.Type) {
		return nil, fhir.Errorf(fhir.KindInvalid, fhir.IssueNotSupported, "unknown resource type %q", w.Type)
	}
	if !fhir.ValidID(w.ID) {
		return nil, fhir.Errorf(fhir.KindInvalid, fhir.IssueValue, "id %q does not match [A-Za-z0-9-.]{1,64}", w.ID)
	}
	switch w.Action {
	case Delete:
		return nil, nil
	case Create, Update:
	default:
		return nil, fhir.Errorf(fhir.KindInvalid, fhir.IssueInvalid, "unknown write action %q", w.Action)
	}
	for i := range w.Index {
		if err := checkEntry(&w.Index[i]); err != nil {
			return nil, fhir.Errorf(fhir.KindInternal, fhir.IssueException, "index entry %s: %v", w.Index[i].Code, err)
		}
	}
	b, err := fhir.Stamp(w.Resource, w.ID, 1, time.UnixMilli(0))
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(b, []byte(`{"resourceType":"`+w.Type+`","id":`)) {
		return nil, fhir.ErrorAt(fhir.KindInvalid, fhir.IssueInvalid, "resourceType", "resourceType is not %s", w.Type)
	}
	return b, nil
}

// checkEntry checks that e has a type the stores index, and a composite at most 8 plain parts.
func checkEntry(e *search.Entry) error {
	switch e.Type {
	case search.String, search.Token, search.Reference, search.URI, search.Date, search.Number, search.Quantity:
		return nil
	case search.Composite:
		if len(e.Parts) == 0 || len(e.Parts) > 8 {
			return fmt.Errorf("composite entry with %d parts", len(e.Parts))
		}
		for i := range e.Parts {
			if e.Parts[i].Type == search.Composite {
				return fmt.Errorf("composite part of a composite")
			}
			if err := checkEntry(&e.Parts[i]); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("unknown search parameter type %d", e.Type)
}
