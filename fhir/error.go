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
	"strings"
)

// Kind says what went wrong, in terms a caller can act on, without choosing how a protocol
// reports it: server turns a kind into an HTTP status with one table (server/httpstatus), which
// Bundle.entry.response uses too, and a consumer of change events decides by kind whether a
// failure is worth retrying (Kind.Transient).
type Kind uint8

// The kinds of errors. The zero Kind is KindInternal: an error made without a kind is the
// hub's own fault.
const (
	KindInternal             Kind = iota // a fault of the hub; its details are never shown
	KindInvalid                          // the request is malformed: bad syntax, bad parameter
	KindTooCostly                        // the request is valid but asks for too much work
	KindUnauthenticated                  // no credentials, or credentials that do not hold
	KindForbidden                        // the caller may not do this
	KindNotFound                         // no such resource (or one the caller may not know of)
	KindMethodNotAllowed                 // the interaction is not defined on this target
	KindNotAcceptable                    // no representation the caller accepts
	KindTimeout                          // the request did not arrive in time
	KindConflict                         // the request conflicts with the current state
	KindGone                             // the resource was deleted
	KindPreconditionFailed               // a condition of the request (If-Match, criteria) fails
	KindTooLarge                         // the request body is too large
	KindURITooLong                       // the request target is too long
	KindUnsupportedMediaType             // the body's format is not one the hub reads
	KindUnprocessable                    // well-formed, but not a valid resource or reference
	KindThrottled                        // too many requests: slow down
	KindHeadersTooLarge                  // the request's header fields are too large
	KindNotImplemented                   // the operation is not implemented
	KindUnavailable                      // storage or a service the hub needs is unavailable
	kindCount
)

var kindNames = [kindCount]string{
	KindInternal: "internal", KindInvalid: "invalid", KindTooCostly: "too-costly",
	KindUnauthenticated: "unauthenticated", KindForbidden: "forbidden", KindNotFound: "not-found",
	KindMethodNotAllowed: "method-not-allowed", KindNotAcceptable: "not-acceptable",
	KindTimeout: "timeout", KindConflict: "conflict", KindGone: "gone",
	KindPreconditionFailed: "precondition-failed", KindTooLarge: "too-large",
	KindURITooLong: "uri-too-long", KindUnsupportedMediaType: "unsupported-media-type",
	KindUnprocessable: "unprocessable", KindThrottled: "throttled",
	KindHeadersTooLarge: "headers-too-large", KindNotImplemented: "not-implemented",
	KindUnavailable: "unavailable",
}

// Kinds lists every kind, for tables that must cover them all.
func Kinds() []Kind {
	ks := make([]Kind, kindCount)
	for i := range ks {
		ks[i] = Kind(i)
	}
	return ks
}

func (k Kind) String() string {
	if k < kindCount {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Transient reports whether the same request may succeed later unchanged: the hub or its
// storage was unavailable, too busy or too slow. Every other kind fails again until the
// request or the data changes.
func (k Kind) Transient() bool {
	switch k {
	case KindInternal, KindUnavailable, KindThrottled, KindTimeout:
		return true
	}
	return false
}

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

// Error is an error that carries its kind and the OperationOutcome issues a FHIR client gets
// for it. Every layer returns *Error (or wraps one) for a failure the client caused; anything
// else is an internal error, rendered without internal detail.
type Error struct {
	Kind   Kind
	Issues []Issue
	// Err is an optional underlying cause, kept for errors.Is/As and logs; it is never shown.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Kind.String())
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
func Errorf(kind Kind, code IssueType, format string, args ...any) *Error {
	return &Error{Kind: kind, Issues: []Issue{{Severity: SeverityError, Code: code, Diagnostics: fmt.Sprintf(format, args...)}}}
}

// ErrorAt returns an *Error with one issue naming the element at expression.
func ErrorAt(kind Kind, code IssueType, expression, format string, args ...any) *Error {
	return &Error{Kind: kind, Issues: []Issue{{Severity: SeverityError, Code: code,
		Diagnostics: fmt.Sprintf(format, args...), Expression: []string{expression}}}}
}

// Wrap returns an *Error with the given kind and issue that keeps err as its cause.
func Wrap(err error, kind Kind, code IssueType, format string, args ...any) *Error {
	e := Errorf(kind, code, format, args...)
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

// Outcome gives the kind of err and the OperationOutcome a client gets for it. Errors that are
// not *Error are KindInternal with a generic outcome: internal messages are not shown to
// clients.
func Outcome(err error) (Kind, OperationOutcome) {
	oo := OperationOutcome{ResourceType: "OperationOutcome"}
	e := AsError(err)
	switch {
	case e != nil && len(e.Issues) > 0:
		oo.Issue = e.Issues
		return e.Kind, oo
	case e != nil:
		oo.Issue = []Issue{{Severity: SeverityError, Code: IssueProcessing, Diagnostics: e.Kind.String()}}
		return e.Kind, oo
	}
	oo.Issue = []Issue{{Severity: SeverityError, Code: IssueException, Diagnostics: "internal server error"}}
	return KindInternal, oo
}

// KindOf is the kind of err: its *Error's, or KindInternal.
func KindOf(err error) Kind {
	if e := AsError(err); e != nil {
		return e.Kind
	}
	return KindInternal
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
