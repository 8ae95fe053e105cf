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
	"context"
	"log/slog"
	"slices"
	"sync"

	"github.com/kodomohub/kodomohub/audit"

	"github.com/kodomohub/kodomohub/auth"
	"github.com/kodomohub/kodomohub/fhir"
	"github.com/kodomohub/kodomohub/server/httpstatus"
)

// trail collects what a call decided and touched, for the audit record ingest writes for
// a call without a Recorder. It keeps what the REST server's request record keeps, by the
// same rules: the reason of the first decision, replaced by any denial or break-glass; the
// patients of every allowed access.
type trail struct {
	log        *slog.Logger
	tenant     string
	mu         sync.Mutex
	decision   string
	breakGlass bool
	patients   []string
}

// Decided implements Recorder.
func (t *trail) Decided(d auth.Decision) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.decision == "" || !d.Allowed || d.BreakGlass {
		t.decision = d.Reason
	}
}

// Accessed implements Recorder: the patients, and the alert of a break-glass access.
func (t *trail) Accessed(target auth.Target, d auth.Decision) {
	t.mu.Lock()
	for _, p := range d.Patients {
		if !slices.Contains(t.patients, p) {
			t.patients = append(t.patients, p)
		}
	}
	if d.BreakGlass {
		t.breakGlass = true
	}
	t.mu.Unlock()
	if d.BreakGlass {
		typ, id := targetKey(target)
		t.log.Warn("break-glass access", "tenant", t.tenant, "resource", typ+"/"+id, "reason", d.Reason)
	}
}

func targetKey(t auth.Target) (typ, id string) {
	switch t := t.(type) {
	case auth.Stored:
		return t.Resource.Type, t.Resource.ID
	case auth.Body:
		return t.Type, t.ID
	}
	return "", ""
}

// actions maps interactions to AuditEvent actions (C R U D E), as the REST server does.
var actions = map[string]string{
	"create": "C", "update": "U", "update-conditional": "U", "patch": "U", "patch-conditional": "U",
	"delete": "D", "delete-conditional": "D",
}

// what a call was, for its audit record: the interaction and the resource as the caller
// named it (no id for a create or a conditional operation, as in the URL of the same REST
// request), the criteria as its query.
type what struct {
	interaction string
	typ, id     string
	query       string
}

// finish appends the call's audit record when ingest writes it (no Recorder): status is what
// REST would answer (Status of the outcome or of the error). An error appending fails the
// call, as it fails a REST request: the caller must not treat the write as unrecorded.
func (c *call) finish(w what, status int, err error) error {
	if c.own == nil || c.audit == nil {
		return err
	}
	t := c.own
	t.mu.Lock()
	action := actions[w.interaction]
	switch {
	case action == "":
		action = "E"
	case action == "U" && status == statusCreated:
		action = "C"
	}
	r := audit.Record{Tenant: c.tenant(), Recorded: c.now().UTC(), Action: action, Interaction: w.interaction,
		Outcome: audit.OutcomeFor(status), Status: status, Address: c.req.Address, Purpose: c.req.Declared.Purpose,
		Decision: t.decision, ResourceType: w.typ, ResourceID: w.id, Query: w.query,
		Patients: slices.Clone(t.patients), RequestID: c.req.RequestID}
	if t.breakGlass {
		r.BreakGlass = c.req.Declared.BreakGlass
	}
	if p := c.req.Principal; p != nil {
		r.Subject, r.Issuer, r.ClientID, r.Role, r.Facility = p.Subject, p.Issuer, p.ClientID, p.Role, p.Facility
	}
	if err != nil {
		_, oo := fhir.Outcome(Error(err))
		if len(oo.Issue) > 0 {
			r.OutcomeDesc = oo.Issue[0].Diagnostics
		}
	}
	t.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.ctx), c.auditTimeout)
	defer cancel()
	if aerr := c.audit.Append(ctx, c.tenant(), []audit.Record{r}); aerr != nil {
		c.log.Error("audit record not written: the call fails", "tenant", c.tenant(), "err", aerr)
		return fhir.Wrap(aerr, fhir.KindInternal, fhir.IssueException,
			"the write could not be recorded in the audit trail")
	}
	return err
}

// The statuses of successful writes, named here because ingest does not import net/http.
const (
	statusOK      = 200
	statusCreated = 201
)

// statusOf is the status REST answers for an outcome of interaction, or for err: the audit
// record of a write through ingest reads as the REST write's would.
func statusOf(o Outcome, err error) int {
	if err != nil {
		return httpstatus.Of(fhir.KindOf(Error(err)))
	}
	if o.Created {
		return statusCreated
	}
	return statusOK
}
