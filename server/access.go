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
	"sync"

	"github.com/gin-gonic/gin"

	"github.com/kodomohub/kodomohub/auth"
)

// Access control of one request. Every resource a request touches is decided by the guard
// (auth.Guard) through the request's view (auth.View), which holds what does not change from
// resource to resource (the principal's role, held labels, facility roster). The server's part
// is to ask before it reveals anything, and to answer a denial that depends on the resource
// (Decision.Hidden) exactly as it would answer if the resource did not exist: "not found" for
// reads, nothing for searches, counts and paging links, no match for conditional operations
// (docs/security.md). Denials that depend on the caller alone (its scopes and role on a type)
// are 403s with the reason.
//
// Callers declare a purpose of use and invoke break-glass with request headers:
//
//	X-Purpose-Of-Use: TREAT               a v3 ActReason code, recorded
//	X-Break-Glass-Reason: 緊急の安否確認     the reason; reaches labels the role does not hold

// Request headers of the access policy.
const (
	HeaderPurposeOfUse = "X-Purpose-Of-Use"
	HeaderBreakGlass   = "X-Break-Glass-Reason"
)

// allow decides op on t and records the decision in the audit record. An allowed access to a
// resource records its patients (and raises the alert of a break-glass); a denial is the
// request's error: a Hidden one is store.ErrNotFound (the answer for a resource that does
// not exist), any other a 403 with the reason, and a decision that could not be made an
// internal error.
func (rc *reqContext) allow(op auth.Op, t auth.Target) error {
	d := rc.view.Decide(op, t)
	rc.audit.decided(d)
	if err := d.Denial(); err != nil {
		return err
	}
	rc.accessed(t, d)
	return nil
}

// accessed records an allowed access to a resource: its patients in the audit record, and
// the alert of a break-glass access.
func (rc *reqContext) accessed(t auth.Target, d auth.Decision) {
	rc.audit.touched(d.Patients)
	if d.BreakGlass {
		typ, id := "", ""
		switch t := t.(type) {
		case auth.Stored:
			typ, id = t.Resource.Type, t.Resource.ID
		case auth.Body:
			typ, id = t.Type, t.ID
		}
		rc.breakGlass(typ, id, d)
	}
}

// shown decides a resource a search, an include or a history brings in (the store has
// already left out what the view's Visible refused): what may not be seen is left out
// silently and counted in the audit record.
func (rc *reqContext) shown(op auth.Op, t auth.Stored) bool {
	d := rc.view.Decide(op, t)
	if !d.Allowed || d.Err != nil {
		rc.audit.withheld()
		return false
	}
	rc.accessed(t, d)
	return true
}

// breakGlass raises the alert of a break-glass access: a warning in the log, the metric
// kodomohub_break_glass_total, and the audit record (purpose of use BTG).
func (rc *reqContext) breakGlass(typ, id string, d auth.Decision) {
	p := rc.view.Principal()
	rc.audit.mu.Lock()
	rc.audit.breakGlass = rc.view.Declared().BreakGlass
	rc.audit.mu.Unlock()
	rc.metrics.breakGlass.Inc()
	rc.log.Warn("break-glass access", "tenant", rc.tenant.ID, "subject", p.Subject, "role", p.Role,
		"resource", typ+"/"+id, "reason", d.Reason)
}

// auditState collects what a request touched, for its audit record.
type auditState struct {
	mu         sync.Mutex
	tenant     string
	principal  *auth.Principal
	typ, id    string
	vid        string
	patients   []string
	decision   string
	breakGlass string
	filtered   int
	done       bool
}

func (st *auditState) decided(d auth.Decision) {
	if st == nil {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.decision == "" || !d.Allowed || d.BreakGlass {
		st.decision = d.Reason
	}
}

// withheld counts a resource a search, an include or a history left out.
func (st *auditState) withheld() {
	st.mu.Lock()
	st.filtered++
	st.mu.Unlock()
}

func (st *auditState) touched(patients []string) {
	if st == nil || len(patients) == 0 {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, p := range patients {
		if !containsString(st.patients, p) {
			st.patients = append(st.patients, p)
		}
	}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// declared reads what the caller declared in the request's headers.
func declared(c *gin.Context) auth.Declared {
	return auth.Declared{Purpose: c.GetHeader(HeaderPurposeOfUse), BreakGlass: c.GetHeader(HeaderBreakGlass)}
}
