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

// Package httpstatus is the one table that turns an error's kind (fhir.Kind) into the HTTP status
// a FHIR client gets: for a REST answer, for a Bundle.entry.response, and for the status an
// audit record keeps of a write made without HTTP (through ingest), so that it reads the same
// as the REST write would. Nothing below server chooses an HTTP status.
package httpstatus

import (
	"net/http"

	"github.com/kodomohub/kodomohub/fhir"
)

var table = [...]int{
	fhir.KindInternal:             http.StatusInternalServerError,
	fhir.KindInvalid:              http.StatusBadRequest,
	fhir.KindTooCostly:            http.StatusBadRequest,
	fhir.KindUnauthenticated:      http.StatusUnauthorized,
	fhir.KindForbidden:            http.StatusForbidden,
	fhir.KindNotFound:             http.StatusNotFound,
	fhir.KindMethodNotAllowed:     http.StatusMethodNotAllowed,
	fhir.KindNotAcceptable:        http.StatusNotAcceptable,
	fhir.KindTimeout:              http.StatusRequestTimeout,
	fhir.KindConflict:             http.StatusConflict,
	fhir.KindGone:                 http.StatusGone,
	fhir.KindPreconditionFailed:   http.StatusPreconditionFailed,
	fhir.KindTooLarge:             http.StatusRequestEntityTooLarge,
	fhir.KindURITooLong:           http.StatusRequestURITooLong,
	fhir.KindUnsupportedMediaType: http.StatusUnsupportedMediaType,
	fhir.KindUnprocessable:        http.StatusUnprocessableEntity,
	fhir.KindThrottled:            http.StatusTooManyRequests,
	fhir.KindHeadersTooLarge:      http.StatusRequestHeaderFieldsTooLarge,
	fhir.KindNotImplemented:       http.StatusNotImplemented,
	fhir.KindUnavailable:          http.StatusServiceUnavailable,
}

// Of is the HTTP status of an error of kind k (500 for a kind the table does not know).
func Of(k fhir.Kind) int {
	if int(k) < len(table) && table[k] != 0 {
		return table[k]
	}
	return http.StatusInternalServerError
}

// Outcome is the HTTP status and the OperationOutcome a client gets for err (fhir.Outcome).
func Outcome(err error) (int, fhir.OperationOutcome) {
	k, oo := fhir.Outcome(err)
	return Of(k), oo
}
