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
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/kodomohub/kodomohub/auth"
	"github.com/kodomohub/kodomohub/fhir"
	"github.com/kodomohub/kodomohub/ingest"
	"github.com/kodomohub/kodomohub/server/httpstatus"
	"github.com/kodomohub/kodomohub/store"
)

// bundle processes a transaction or batch posted to the base URL: the request is read and
// limited here, the entries run through the write path (ingest.Transaction, ingest.Batch),
// and their outcomes are rendered as the response entries.
func (rc *reqContext) bundle() {
	if err := checkContentType(rc.c.Request, mimeFHIRJSON, mimeJSON); err != nil {
		rc.fail(err)
		return
	}
	body, err := rc.readBody(rc.c)
	if err != nil {
		rc.fail(err)
		return
	}
	head, err := fhir.Parse(body, fhir.Limits{MaxDepth: rc.limits.MaxDepth})
	if err != nil {
		rc.fail(err)
		return
	}
	if head.ResourceType != "Bundle" {
		rc.fail(fhir.ErrorAt(fhir.KindInvalid, fhir.IssueInvalid, "resourceType",
			"the base URL accepts a transaction or batch Bundle, not a %s", head.ResourceType))
		return
	}
	var b fhir.Bundle
	if err := json.Unmarshal(body, &b); err != nil {
		rc.fail(fhir.Wrap(err, fhir.KindInvalid, fhir.IssueStructure, "invalid Bundle: %v", err))
		return
	}
	if len(b.Entry) > rc.limits.MaxBundleEntries {
		rc.fail(fhir.ErrorAt(fhir.KindTooLarge, fhir.IssueTooCostly, "Bundle.entry",
			"the bundle has %d entries; at most %d are accepted", len(b.Entry), rc.limits.MaxBundleEntries))
		return
	}
	// Every entry is a request for the rate limit (the bundle itself counted as one).
	if p := rc.view.Principal(); len(b.Entry) > 1 {
		if ok, wait := rc.limiter.AllowN(p.RateKey(), p.Rate, len(b.Entry)-1); !ok {
			rc.metrics.rateLimited.Inc()
			rc.audit.decided(auth.Decision{Reason: "rate limit exceeded by the bundle's entries"})
			rc.tooMany(rc.c, wait, fmt.Sprintf("the bundle's %d entries exceed this client's request rate", len(b.Entry)))
			return
		}
	}
	ctx := rc.c.Request.Context()
	var outcomes []ingest.Outcome
	typ := b.Type + "-response"
	switch b.Type {
	case "transaction":
		outcomes, err = rc.ingest.Transaction(ctx, rc.ingestRequest(), b.Entry, rc.searchEntry)
	case "batch":
		outcomes, err = rc.ingest.Batch(ctx, rc.ingestRequest(), b.Entry, rc.searchEntry)
	default:
		err = fhir.ErrorAt(fhir.KindInvalid, fhir.IssueInvalid, "Bundle.type",
			"the base URL accepts Bundle.type transaction or batch, not %q", b.Type)
	}
	if err != nil {
		rc.fail(err)
		return
	}
	entries := make([]fhir.BundleEntry, len(outcomes))
	for i, o := range outcomes {
		entries[i] = rc.responseEntry(o)
	}
	rc.writeBundle(&fhir.Bundle{ResourceType: "Bundle", ID: rc.newID(),
		Type: typ, Timestamp: fhir.FormatInstant(rc.now()), Entry: entries})
}

// responseEntry renders the outcome of one entry.
func (rc *reqContext) responseEntry(o ingest.Outcome) fhir.BundleEntry {
	switch {
	case o.Err != nil:
		return errorEntry(o.Err)
	case o.Searchset != nil:
		return fhir.BundleEntry{Resource: o.Searchset, Response: &fhir.BundleResponse{Status: "200 OK"}}
	case o.Read:
		return readEntry(o.Resource)
	case o.Existing:
		return rc.existingEntry(o.Resource)
	}
	return rc.writeEntry(store.Result{Resource: o.Resource, Created: o.Created, Noop: o.Noop})
}

func errorEntry(err error) fhir.BundleEntry {
	status, oo := httpstatus.Outcome(storeError(err))
	return fhir.BundleEntry{Response: &fhir.BundleResponse{
		Status: statusLine(status), Outcome: fhir.MarshalOutcome(oo)}}
}

func statusLine(code int) string { return strconv.Itoa(code) + " " + http.StatusText(code) }

func readEntry(r fhir.Resource) fhir.BundleEntry {
	return fhir.BundleEntry{Resource: r.Raw, Response: &fhir.BundleResponse{
		Status: "200 OK", Etag: r.ETag(), LastModified: fhir.FormatInstant(r.LastUpdated)}}
}

// writeEntry is the response entry of a stored write, with the resource or an outcome as the
// client's Prefer header asks.
func (rc *reqContext) writeEntry(r store.Result) fhir.BundleEntry {
	res := r.Resource
	e := fhir.BundleEntry{Response: &fhir.BundleResponse{}}
	switch {
	case r.Noop:
		e.Response.Status = "204 No Content"
		return e
	case res.Deleted:
		e.Response.Status = "204 No Content"
		e.Response.Etag = res.ETag()
		return e
	case r.Created:
		e.Response.Status = "201 Created"
	default:
		e.Response.Status = "200 OK"
	}
	e.FullURL = rc.base + "/" + res.Type + "/" + res.ID
	e.Response.Location = res.Type + "/" + res.ID + "/_history/" + res.VersionID()
	e.Response.Etag = res.ETag()
	e.Response.LastModified = fhir.FormatInstant(res.LastUpdated)
	switch rc.prefer.Return {
	case "representation":
		if rc.view.Decide(auth.OpRead, auth.Stored{Resource: res}).Allowed {
			e.Resource = res.Raw
		}
	case "OperationOutcome":
		e.Response.Outcome = fhir.MarshalOutcome(fhir.Info("stored " + res.Type + "/" + res.ID))
	}
	return e
}

// existingEntry is the response entry of a conditional create that found its resource.
func (rc *reqContext) existingEntry(res fhir.Resource) fhir.BundleEntry {
	e := fhir.BundleEntry{FullURL: rc.base + "/" + res.Type + "/" + res.ID, Response: &fhir.BundleResponse{
		Status: "200 OK", Location: res.Type + "/" + res.ID + "/_history/" + res.VersionID(),
		Etag: res.ETag(), LastModified: fhir.FormatInstant(res.LastUpdated)}}
	if rc.prefer.Return == "representation" && rc.view.Decide(auth.OpRead, auth.Stored{Resource: res}).Allowed {
		e.Resource = res.Raw
	}
	return e
}

// searchEntry authorizes and parses the search of a GET Type?params entry
// (ingest.SearchEntry); its run answers the searchset after the transaction's commit.
func (rc *reqContext) searchEntry(e ingest.Entry) (func() ([]byte, error), error) {
	if err := rc.allow(auth.OpSearch, auth.Type(e.Type)); err != nil {
		return nil, err
	}
	q, err := rc.parseQuery(e.Type, e.Search)
	if err != nil {
		return nil, err
	}
	if _, err := decodePageCursor(q.Cursor); err != nil {
		return nil, err
	}
	return func() ([]byte, error) {
		b, err := rc.searchBundle(q, nil, e.Type)
		if err != nil {
			return nil, err
		}
		return b.Encode(), nil
	}, nil
}
