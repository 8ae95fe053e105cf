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
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/kodomohub/kodomohub/audit"

	"github.com/gin-gonic/gin"

	"github.com/kodomohub/kodomohub/fhir"
	"github.com/kodomohub/kodomohub/store"
)

// Every request under /{tenant}/fhir (but the CapabilityStatement and the SMART
// configuration, which are public) and every token request leaves one audit record in the
// tenant's chain: who (the principal, or nothing when authentication failed), what (the
// interaction, the resource, the query, the patients touched), why (purpose of use,
// break-glass), the policy's reason and the outcome. The record is appended before the
// response is sent; when it cannot be written the request fails with 500 and no data leaves.

const auditKey = "kodomohub.audit"

// startAudit attaches a fresh audit state to a request of tenant.
func (s *Server) startAudit(c *gin.Context, tenant string) *auditState {
	st := &auditState{tenant: tenant}
	c.Set(auditKey, st)
	return st
}

func auditOf(c *gin.Context) *auditState {
	v, ok := c.Get(auditKey)
	if !ok {
		return nil
	}
	return v.(*auditState)
}

// actions maps interactions to AuditEvent actions (C R U D E).
var actions = map[string]string{
	"create": "C", "read": "R", "vread": "R", "history-instance": "R",
	"update": "U", "update-conditional": "U", "patch": "U", "patch-conditional": "U",
	"delete": "D", "delete-conditional": "D",
}

// finishAudit appends the audit record of c's request, answered with status, once per
// request. A request without audit state (health, metrics, unknown tenant) records nothing.
func (s *Server) finishAudit(c *gin.Context, status int, desc string) error {
	st := auditOf(c)
	if st == nil || s.audit == nil {
		return nil
	}
	st.mu.Lock()
	if st.done {
		st.mu.Unlock()
		return nil
	}
	st.done = true
	interaction := c.GetString(interactionKey)
	action := actions[interaction]
	switch {
	case action == "":
		action = "E"
	case action == "U" && status == http.StatusCreated:
		action = "C" // an update that created the resource
	}
	r := audit.Record{Tenant: st.tenant, Recorded: s.now().UTC(), Action: action, Interaction: interaction,
		Outcome: audit.OutcomeFor(status), Status: status, Address: c.ClientIP(),
		Purpose: c.GetHeader(HeaderPurposeOfUse), Decision: st.decision, BreakGlass: st.breakGlass,
		ResourceType: st.typ, ResourceID: st.id, VersionID: st.vid, Query: c.Request.URL.RawQuery,
		Patients: st.patients, RequestID: c.GetHeader("X-Request-Id")}
	if p := st.principal; p != nil {
		r.Subject, r.Issuer, r.ClientID, r.Role, r.Facility = p.Subject, p.Issuer, p.ClientID, p.Role, p.Facility
	}
	if st.filtered > 0 {
		r.Decision = strings.TrimPrefix(r.Decision+"; "+strconv.Itoa(st.filtered)+" results withheld by the policy", "; ")
	}
	if status >= 400 {
		r.OutcomeDesc = desc
	}
	st.mu.Unlock()
	// The access happened even when the client has gone away: record it regardless.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request.Context()), s.auditTimeout)
	defer cancel()
	if err := s.audit.Append(ctx, st.tenant, []audit.Record{r}); err != nil {
		s.metrics.auditFailures.Inc()
		s.log.Error("audit record not written: request failed", "tenant", st.tenant, "path", c.Request.URL.Path, "err", err)
		return err
	}
	return nil
}

// auditFailed is the answer when the audit record could not be written: 503 when the store
// is unreachable (the request may be retried), 500 otherwise.
func auditFailed(err error) *fhir.Error {
	if errors.Is(err, store.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
		return fhir.Errorf(fhir.KindUnavailable, fhir.IssueTransient,
			"the access could not be recorded in the audit trail (storage unavailable), so it was not carried out; retry later")
	}
	return fhir.Errorf(fhir.KindInternal, fhir.IssueException,
		"the access could not be recorded in the audit trail, so it was not carried out")
}
