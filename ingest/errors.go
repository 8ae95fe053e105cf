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

package ingest

import (
	"errors"
	"fmt"
	"strings"

	"github.com/kodomohub/kodomohub/fhir"
	"github.com/kodomohub/kodomohub/store"
)

// Error returns err as the *fhir.Error a client gets for it: store sentinels (possibly in a
// *store.WriteError, whose resource is named) become their status and issue; a *fhir.Error
// and anything else pass unchanged (fhir.Outcome renders the rest as an internal error).
func Error(err error) error {
	if err == nil || fhir.AsError(err) != nil {
		return err
	}
	prefix := ""
	var we *store.WriteError
	if errors.As(err, &we) {
		prefix = we.Key.String() + ": "
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fhir.Wrap(err, fhir.KindNotFound, fhir.IssueNotFound, "%snot found", prefix)
	case errors.Is(err, store.ErrGone):
		return fhir.Wrap(err, fhir.KindGone, fhir.IssueDeleted, "%sthe resource has been deleted", prefix)
	case errors.Is(err, store.ErrVersionConflict):
		return fhir.Wrap(err, fhir.KindPreconditionFailed, fhir.IssueConflict, "%sthe resource has changed: the version in If-Match is not the current one", prefix)
	case errors.Is(err, store.ErrExists):
		return fhir.Wrap(err, fhir.KindConflict, fhir.IssueDuplicate, "%sa resource with this id exists already", prefix)
	case errors.Is(err, store.ErrReference):
		msg := err.Error()
		if we != nil {
			msg = we.Err.Error()
		}
		return fhir.Wrap(err, fhir.KindUnprocessable, fhir.IssueInvalid, "%s%s", prefix, msg)
	case errors.Is(err, store.ErrUnavailable):
		return fhir.Wrap(err, fhir.KindUnavailable, fhir.IssueTransient, "storage is unavailable; retry later")
	}
	return err
}

// AtEntry rewrites err's issues to point into Bundle.entry[i]: diagnostics prefixed with the
// entry, expressions under Bundle.entry[i].resource.
func AtEntry(err error, i int) error {
	err = Error(err)
	fe := fhir.AsError(err)
	if fe == nil {
		return err
	}
	out := &fhir.Error{Kind: fe.Kind, Err: fe.Err}
	prefix := fmt.Sprintf("Bundle.entry[%d]", i)
	for _, is := range fe.Issues {
		is.Diagnostics = prefix + ": " + is.Diagnostics
		exprs := make([]string, 0, len(is.Expression))
		for _, e := range is.Expression {
			if strings.HasPrefix(e, "Bundle.entry[") {
				exprs = append(exprs, e)
				continue
			}
			if _, rest, ok := strings.Cut(e, "."); ok && len(e) > 0 && e[0] >= 'A' && e[0] <= 'Z' {
				e = rest
			}
			exprs = append(exprs, prefix+".resource."+e)
		}
		is.Expression = exprs
		out.Issues = append(out.Issues, is)
	}
	return out
}

func multipleMatches(typ, criteria string, n int) error {
	return fhir.Errorf(fhir.KindPreconditionFailed, fhir.IssueMultiple,
		"%s?%s matches more than one resource (%d or more); make the criteria more selective", typ, criteria, n)
}
