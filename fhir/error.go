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

package fhir

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// IssueType is an OperationOutcome issue code (http://hl7.org/fhir/issue-type).
type IssueType string

// The issue types the hub reports.
const (
	IssueInvalid       IssueType = "invalid"
	IssueStructure     IssueType = "structure"
	IssueRequired      IssueType = "required"
	IssueValue         IssueType = "value"
	IssueInvariant     IssueType = "invariant"
	IssueSecurity      IssueType = "security"
	IssueLogin         IssueType = "login"
	IssueForbidden     IssueType = "forbidden"
	IssueProcessing    IssueType = "processing"
	IssueNotSupported  IssueType = "not-supported"
	IssueDuplicate     IssueType = "duplicate"
	IssueMultiple      IssueType = "multiple-matches"
	IssueNotFound      IssueType = "not-found"
	IssueDeleted       IssueType = "deleted"
	IssueTooLong       IssueType = "too-long"
	IssueCodeInvalid   IssueType = "code-invalid"
	IssueConflict      IssueType = "conflict"
	IssueTransient     IssueType = "transient"
	IssueTooCostly     IssueType = "too-costly"
	IssueException     IssueType = "exception"
	IssueThrottled     IssueType = "throttled"
	IssueTimeout       IssueType = "timeout"
	IssueInformational IssueType = "informational"
)

// Severity is an OperationOutcome issue severity.
type Severity string

// Issue severities.
const (
	SeverityFatal       Severity = "fatal"
	SeverityError       Severity = "error"
	SeverityWarning     Severity = "warning"
	SeverityInformation Severity = "information"
)

// Issue is one OperationOutcome.issue.
type Issue struct {
	Severity    Severity  `json:"severity"`
	Code        IssueType `json:"code"`
	Diagnostics string    `json:"diagnostics,omitempty"`
	// Expression holds FHIRPath expressions naming the element at fault, e.g. "Patient.birthDate".
	Expression []string `json:"expression,omitempty"`
}

// Error is an error that carries the HTTP status and the OperationOutcome issues a FHIR
// client gets for it. Every layer returns *Error (or wraps one) for a failure the client
// caused; anything else is rendered as a 500 without internal detail.
type Error struct {
	Status int
	Issues []Issue
	// Err is an optional underlying cause, kept for errors.Is/As and logs; it is never shown.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d", e.Status)
	for i, is := range e.Issues {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		if len(is.Expression) > 0 {
			b.WriteString(strings.Join(is.Expression, ","))
			b.WriteString(": ")
		}
		b.WriteString(is.Diagnostics)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with one error-severity issue.
func Errorf(status int, code IssueType, format string, args ...any) *Error {
	return &Error{Status: status, Issues: []Issue{{Severity: SeverityError, Code: code, Diagnostics: fmt.Sprintf(format, args...)}}}
}

// ErrorAt returns an *Error with one issue naming the element at expression.
func ErrorAt(status int, code IssueType, expression, format string, args ...any) *Error {
	return &Error{Status: status, Issues: []Issue{{Severity: SeverityError, Code: code,
		Diagnostics: fmt.Sprintf(format, args...), Expression: []string{expression}}}}
}

// Wrap returns an *Error with the given status and issue that keeps err as its cause.
func Wrap(err error, status int, code IssueType, format string, args ...any) *Error {
	e := Errorf(status, code, format, args...)
	e.Err = err
	return e
}

// AsError returns the *Error in err's chain, or nil.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// OperationOutcome is the resource form of a set of issues.
type OperationOutcome struct {
	ResourceType string  `json:"resourceType"`
	ID           string  `json:"id,omitempty"`
	Issue        []Issue `json:"issue"`
}

// Outcome builds the OperationOutcome for err. Errors that are not *Error become a generic
// 500 outcome: internal messages are not shown to clients.
func Outcome(err error) (status int, oo OperationOutcome) {
	oo.ResourceType = "OperationOutcome"
	if e := AsError(err); e != nil && len(e.Issues) > 0 {
		return e.Status, OperationOutcome{ResourceType: "OperationOutcome", Issue: e.Issues}
	}
	if e := AsError(err); e != nil {
		return e.Status, OperationOutcome{ResourceType: "OperationOutcome", Issue: []Issue{{
			Severity: SeverityError, Code: IssueProcessing, Diagnostics: http.StatusText(e.Status)}}}
	}
	oo.Issue = []Issue{{Severity: SeverityError, Code: IssueException, Diagnostics: "internal server error"}}
	return http.StatusInternalServerError, oo
}

// Info builds an OperationOutcome with one informational issue.
func Info(msg string) OperationOutcome {
	return OperationOutcome{ResourceType: "OperationOutcome", Issue: []Issue{{
		Severity: SeverityInformation, Code: IssueInformational, Diagnostics: msg}}}
}

// MarshalOutcome encodes an OperationOutcome.
func MarshalOutcome(oo OperationOutcome) []byte {
	b, _ := json.Marshal(oo) // only strings: cannot fail
	return b
}
