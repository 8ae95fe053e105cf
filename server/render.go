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

package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"os"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/kodomohub/kodomohub/fhir"
	"github.com/kodomohub/kodomohub/ingest"
	"github.com/kodomohub/kodomohub/server/httpstatus"
)

// statusClientClosed is recorded (metrics, logs) for requests whose client disconnected
// before the answer; nginx uses the same number.
const statusClientClosed = 499

const (
	mimeFHIRJSON  = "application/fhir+json"
	mimeJSON      = "application/json"
	mimeJSONPatch = "application/json-patch+json"
)

// negotiate picks the response media type from _format and Accept; ok is false when the
// client accepts nothing the server produces (406).
func negotiate(r *http.Request) (string, bool) {
	if f := r.URL.Query().Get("_format"); f != "" {
		switch strings.TrimSpace(strings.SplitN(f, ";", 2)[0]) {
		case "json", mimeFHIRJSON:
			return mimeFHIRJSON, true
		case mimeJSON:
			return mimeJSON, true
		}
		return "", false
	}
	accept := r.Header.Get("Accept")
	if accept == "" {
		return mimeFHIRJSON, true
	}
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		if q, ok := params["q"]; ok && (q == "0" || q == "0.0" || q == "0.00" || q == "0.000") {
			continue
		}
		switch mt {
		case mimeFHIRJSON, "*/*", "application/*":
			return mimeFHIRJSON, true
		case mimeJSON:
			return mimeJSON, true
		}
	}
	return "", false
}

// checkContentType enforces the request body's media type (415 otherwise).
func checkContentType(r *http.Request, allowed ...string) error {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil {
		return fhir.Errorf(fhir.KindUnsupportedMediaType, fhir.IssueNotSupported,
			"Content-Type must be one of %s", strings.Join(allowed, ", "))
	}
	for _, a := range allowed {
		if mt == a {
			return nil
		}
	}
	return fhir.Errorf(fhir.KindUnsupportedMediaType, fhir.IssueNotSupported,
		"Content-Type %q is not supported here; use one of %s", mt, strings.Join(allowed, ", "))
}

// readBody reads the request body within the size limit.
func (s *Server) readBody(c *gin.Context) ([]byte, error) {
	r := http.MaxBytesReader(c.Writer, c.Request.Body, s.limits.MaxBodyBytes)
	b, err := io.ReadAll(r)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, fhir.Errorf(fhir.KindTooLarge, fhir.IssueTooLong,
				"the request body exceeds %d bytes", s.limits.MaxBodyBytes)
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, fhir.Errorf(fhir.KindTimeout, fhir.IssueTimeout,
				"the request body did not arrive within %s (shorter than its Content-Length, or sent too slowly)", s.limits.BodyTimeout)
		}
		return nil, fhir.Wrap(err, fhir.KindInvalid, fhir.IssueStructure, "cannot read the request body")
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, fhir.Errorf(fhir.KindInvalid, fhir.IssueRequired, "the request body is empty")
	}
	return b, nil
}

// write sends a FHIR JSON body with the negotiated media type, indented when _pretty=true,
// once the request's audit record is written (a 500 OperationOutcome instead when it is not).
func (s *Server) write(c *gin.Context, status int, body []byte) {
	if err := s.finishAudit(c, status, outcomeText(status, body)); err != nil {
		status, body = s.unaudited(c, err)
	}
	mt, ok := negotiate(c.Request)
	if !ok {
		mt = mimeFHIRJSON
	}
	if c.Query("_pretty") == "true" {
		var b bytes.Buffer
		if json.Indent(&b, body, "", "  ") == nil {
			body = b.Bytes()
		}
	}
	c.Data(status, mt+"; charset=utf-8", body)
}

// writeEmpty sends a response without a body, once the audit record is written.
func (s *Server) writeEmpty(c *gin.Context, status int) {
	if err := s.finishAudit(c, status, ""); err != nil {
		status, body := s.unaudited(c, err)
		c.Data(status, mimeFHIRJSON+"; charset=utf-8", body)
		return
	}
	c.Status(status)
}

// unaudited drops what the response was to carry and returns the answer of a request whose
// audit record could not be written.
func (s *Server) unaudited(c *gin.Context, err error) (int, []byte) {
	h := c.Writer.Header()
	for _, k := range []string{"Location", "ETag", "Last-Modified", "Content-Location"} {
		h.Del(k)
	}
	status, oo := httpstatus.Outcome(auditFailed(err))
	return status, fhir.MarshalOutcome(oo)
}

// outcomeText is the diagnostics of an OperationOutcome body, for the audit record of a
// failed request.
func outcomeText(status int, body []byte) string {
	if status < 400 {
		return ""
	}
	var oo struct {
		Issue []struct {
			Diagnostics string `json:"diagnostics"`
		} `json:"issue"`
	}
	if json.Unmarshal(body, &oo) != nil || len(oo.Issue) == 0 {
		return ""
	}
	return oo.Issue[0].Diagnostics
}

// writeBundle sends a Bundle with its entries' stored bytes copied as they are.
func (rc *reqContext) writeBundle(b *fhir.Bundle) { rc.write(rc.c, http.StatusOK, b.Encode()) }

func (s *Server) writeJSON(c *gin.Context, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.writeError(c, err)
		return
	}
	s.write(c, status, b)
}

// writeError renders err as an OperationOutcome; store sentinels get their FHIR status.
func (s *Server) writeError(c *gin.Context, err error) {
	if errors.Is(context.Cause(c.Request.Context()), errReadBudget) {
		// The read's budget ran out: whatever failed after that failed because of it.
		err = fhir.Wrap(err, fhir.KindTooCostly, fhir.IssueTooCostly,
			"the request took longer than the %s a read may take; make it more selective (fewer or narrower parameters, a smaller _count)", s.limits.ReadTimeout)
	} else if c.Request.Context().Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		// The client went away: nobody reads an answer, and it is not a server failure.
		s.log.Debug("client gone", "path", c.Request.URL.Path, "err", err)
		s.finishAudit(c, statusClientClosed, "the client closed the connection")
		c.AbortWithStatus(statusClientClosed)
		return
	}
	err = storeError(err)
	status, oo := httpstatus.Outcome(err)
	if status >= 500 {
		s.log.Error("request failed", "path", c.Request.URL.Path, "status", status, "err", err)
	}
	if status == http.StatusUnauthorized {
		c.Header("WWW-Authenticate", `Bearer realm="kodomohub"`)
	}
	s.write(c, status, fhir.MarshalOutcome(oo))
	c.Abort()
}

// storeError maps store sentinels to *fhir.Error (ingest.Error); other errors pass unchanged.
func storeError(err error) error { return ingest.Error(err) }

// prefer is the parsed Prefer header.
type prefer struct {
	Return   string // minimal, representation, OperationOutcome
	Handling string // strict, lenient
}

func parsePrefer(h []string) prefer {
	var p prefer
	for _, v := range h {
		for _, part := range strings.Split(v, ",") {
			k, val, _ := strings.Cut(strings.TrimSpace(part), "=")
			val = strings.Trim(strings.TrimSpace(val), `"`)
			switch strings.TrimSpace(k) {
			case "return":
				p.Return = val
			case "handling":
				p.Handling = val
			}
		}
	}
	return p
}
