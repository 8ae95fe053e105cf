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
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/kodomohub/kodomohub/audit"

	"github.com/kodomohub/kodomohub/auth"
	"github.com/kodomohub/kodomohub/fhir"
	"github.com/kodomohub/kodomohub/fhir/search"
	"github.com/kodomohub/kodomohub/store"
)

// The audit trail is served as AuditEvent resources, read-only: GET AuditEvent/{seq} and
// searches on the parameters below, newest first. Records are written by the hub alone;
// every write interaction on AuditEvent is refused.
//
//	date          recorded, with the prefixes eq ge gt le lt (several are ANDed)
//	agent         who: the staff member's subject or the client id (a Reference's id part)
//	patient       the patient the access was about: Patient/ID or ID
//	entity        what was accessed: Type/ID
//	entity-type   what type was accessed
//	action        C R U D E
//	outcome       0 4 8 12
//	_count, _cursor paging

// auditParams are the search parameters the audit trail answers.
var auditParams = map[string]bool{"date": true, "agent": true, "patient": true, "entity": true,
	"entity-type": true, "action": true, "outcome": true, "_count": true, "_cursor": true,
	"_format": true, "_pretty": true}

// postSearchAudit serves POST AuditEvent/_search: the form must be one.
func (rc *reqContext) postSearchAudit() {
	if _, err := rc.searchParams(true); err != nil {
		rc.fail(err)
		return
	}
	rc.searchAudit()
}

func (rc *reqContext) readAudit(id string) {
	if err := rc.allow(auth.OpRead, auth.AuditTrail{}); err != nil {
		rc.fail(err)
		return
	}
	seq, err := strconv.ParseInt(id, 10, 64)
	var es []store.AuditEntry
	if err == nil && seq > 0 {
		es, err = rc.store.AuditEntries(rc.c.Request.Context(), rc.tenant.ID, seq-1, 1)
		if err != nil {
			rc.fail(err)
			return
		}
	}
	if len(es) == 0 || es[0].Seq != seq {
		rc.fail(fhir.Errorf(fhir.KindNotFound, fhir.IssueNotFound, "no AuditEvent/%s", id))
		return
	}
	r, err := audit.EntryRecord(es[0])
	if err != nil {
		rc.fail(err)
		return
	}
	if err := rc.allow(auth.OpRead, auth.AuditEntry{Record: r}); errors.Is(err, store.ErrNotFound) {
		// another caller's record: answered as a record that does not exist
		rc.fail(fhir.Errorf(fhir.KindNotFound, fhir.IssueNotFound, "no AuditEvent/%s", id))
		return
	} else if err != nil {
		rc.fail(err)
		return
	}
	raw, err := rc.auditEvent(es[0])
	if err != nil {
		rc.fail(err)
		return
	}
	rc.write(rc.c, http.StatusOK, raw)
}

func (rc *reqContext) auditEvent(e store.AuditEntry) ([]byte, error) {
	r, err := audit.EntryRecord(e)
	if err != nil {
		return nil, err
	}
	return fhir.Stamp(r.AuditEvent(rc.base), strconv.FormatInt(e.Seq, 10), 1, e.Time)
}

// searchAudit serves an AuditEvent search. An auditor searches the whole trail; any other
// role sees at most the records of its own requests: the search is narrowed to the caller as
// agent, and each record is decided again (same subject and issuer), with paging over what
// the caller may see only.
func (rc *reqContext) searchAudit() {
	if err := rc.allow(auth.OpSearch, auth.AuditTrail{}); err != nil {
		rc.fail(err)
		return
	}
	q, err := rc.auditQuery()
	if err != nil {
		rc.fail(err)
		return
	}
	b := fhir.Bundle{ResourceType: "Bundle", ID: rc.newID(), Type: "searchset", Timestamp: fhir.FormatInstant(rc.now())}
	b.Link = append(b.Link, fhir.BundleLink{Relation: "self", URL: rc.selfURL(nil)})
	agent := rc.view.AuditAgent()
	if agent != "" && q.Agent != "" && q.Agent != agent {
		rc.writeBundle(&b) // another caller's records: none the caller may see
		return
	}
	if agent != "" {
		q.Agent = agent
	}
	want := q.Count
	var shown []store.AuditEntry
	var next int64
	for want > 0 {
		q.Count = want - len(shown) + 1
		es, more, err := rc.store.SearchAudit(rc.c.Request.Context(), rc.tenant.ID, q)
		if err != nil {
			rc.fail(err)
			return
		}
		full := false
		for _, e := range es {
			r, err := audit.EntryRecord(e)
			if err != nil {
				rc.fail(err)
				return
			}
			if d := rc.view.Decide(auth.OpRead, auth.AuditEntry{Record: r}); !d.Allowed {
				continue
			}
			if len(shown) == want {
				full = true // a further record the caller may see: there is a next page
				break
			}
			shown = append(shown, e)
		}
		if full {
			next = shown[len(shown)-1].Seq
			break
		}
		if more == 0 {
			break
		}
		q.Before = more
	}
	for _, e := range shown {
		raw, err := rc.auditEvent(e)
		if err != nil {
			rc.fail(err)
			return
		}
		b.Entry = append(b.Entry, fhir.BundleEntry{FullURL: rc.base + "/AuditEvent/" + strconv.FormatInt(e.Seq, 10),
			Resource: raw, Search: &fhir.BundleSearch{Mode: "match"}})
	}
	if next != 0 {
		b.Link = append(b.Link, fhir.BundleLink{Relation: "next",
			URL: rc.selfURL(map[string]string{"_cursor": strconv.FormatInt(next, 10)})})
	}
	rc.writeBundle(&b)
}

// auditQuery reads the search parameters of the audit trail.
func (rc *reqContext) auditQuery() (store.AuditQuery, error) {
	var q store.AuditQuery
	params := rc.c.Request.URL.Query()
	if rc.c.Request.Method == http.MethodPost {
		params = rc.c.Request.PostForm
	}
	bad := func(name, format string, args ...any) error {
		return fhir.ErrorAt(fhir.KindInvalid, fhir.IssueValue, name, format, args...)
	}
	for name, vs := range params {
		if !auditParams[name] {
			if rc.prefer.Handling == "lenient" {
				continue
			}
			return q, fhir.Errorf(fhir.KindInvalid, fhir.IssueNotSupported,
				"the audit trail cannot be searched by %q (it answers date, agent, patient, entity, entity-type, action, outcome)", name)
		}
		v := vs[len(vs)-1]
		switch name {
		case "date":
			for _, d := range vs {
				if err := auditDate(&q, d, rc.registry.Location()); err != nil {
					return q, bad("date", "%v", err)
				}
			}
		case "agent":
			q.Agent = v[strings.LastIndexByte(v, '/')+1:]
		case "patient":
			q.Patient = auth.PatientContext(strings.TrimPrefix(v, rc.base+"/"))
		case "entity":
			q.Entity = strings.TrimPrefix(v, rc.base+"/")
		case "entity-type":
			if !fhir.IsResourceType(v) {
				return q, bad("entity-type", "%q is not a resource type", v)
			}
			if q.Entity == "" {
				q.Entity = v
			}
		case "action":
			if !strings.Contains("CRUDE", v) || len(v) != 1 {
				return q, bad("action", "action is one of C R U D E")
			}
			q.Action = v
		case "outcome":
			q.Outcome = v
		case "_count":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return q, bad("_count", "_count must be a non-negative integer")
			}
			q.Count = min(n, rc.limits.MaxCount)
		case "_cursor":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				return q, fhir.Wrap(errors.New("bad cursor"), fhir.KindInvalid, fhir.IssueValue, "invalid _cursor")
			}
			q.Before = n
		}
	}
	if q.Count == 0 {
		q.Count = rc.limits.DefaultCount
	}
	return q, nil
}

// auditDate narrows q by one date parameter value: [prefix]date.
func auditDate(q *store.AuditQuery, v string, loc *time.Location) error {
	prefix := "eq"
	if len(v) > 2 && v[0] >= 'a' && v[0] <= 'z' {
		prefix, v = v[:2], v[2:]
	}
	low, high, err := search.DateRange(v, loc)
	if err != nil {
		return err
	}
	lo, hi := time.UnixMilli(low), time.UnixMilli(high)
	since := func(t time.Time) {
		if t.After(q.Since) {
			q.Since = t
		}
	}
	until := func(t time.Time) {
		if q.Until.IsZero() || t.Before(q.Until) {
			q.Until = t
		}
	}
	switch prefix {
	case "eq":
		since(lo)
		until(hi)
	case "ge":
		since(lo)
	case "gt":
		since(hi)
	case "le":
		until(hi)
	case "lt":
		until(lo)
	default:
		return errors.New("the audit trail's date takes the prefixes eq ge gt le lt")
	}
	return nil
}
