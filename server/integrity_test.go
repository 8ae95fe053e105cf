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

package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/kodomohub/kodomohub/server"
	"github.com/kodomohub/kodomohub/store"
)

// TestStrictDeleteOfReferencedIsRefused: under strict referential integrity a resource that
// another references is not deleted (409, naming the referrer), unless the same transaction
// deletes the referrer too; without integrity the delete goes through. The referrers are
// found by the store's _revinclude of every reference parameter: both backends.
func TestStrictDeleteOfReferencedIsRefused(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { strictDelete(t, mustHubOn(t, b.open(t), store.IntegrityStrict, nil)) })
	}
	off := mustHub(t, store.IntegrityOff, server.Limits{})
	wantStatus(t, off.put("/misato/fhir/Patient/p1", `{"resourceType":"Patient","id":"p1"}`), http.StatusCreated)
	wantStatus(t, off.put("/misato/fhir/Observation/o1", `{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"身長"},"subject":{"reference":"Patient/p1"}}`), http.StatusCreated)
	wantStatus(t, off.do(req{method: "DELETE", path: "/misato/fhir/Patient/p1"}), http.StatusOK)
}

func strictDelete(t *testing.T, h *hub) {
	wantStatus(t, h.put("/misato/fhir/Patient/p1", `{"resourceType":"Patient","id":"p1"}`), http.StatusCreated)
	wantStatus(t, h.put("/misato/fhir/Observation/o1", `{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"身長"},"subject":{"reference":"Patient/p1"}}`), http.StatusCreated)
	r := h.do(req{method: "DELETE", path: "/misato/fhir/Patient/p1"})
	wantStatus(t, r, http.StatusConflict)
	if !strings.Contains(string(r.body), "Observation/o1") || !strings.Contains(string(r.body), `"conflict"`) {
		t.Errorf("the refusal does not name the referrer: %s", r.body)
	}
	wantStatus(t, h.get("/misato/fhir/Patient/p1"), http.StatusOK)
	// The referrer can still be saved unchanged.
	wantStatus(t, h.put("/misato/fhir/Observation/o1", `{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"身長"},"subject":{"reference":"Patient/p1"}}`), http.StatusOK)

	// Also as a transaction entry, and as a conditional delete.
	r = h.post("/misato/fhir", `{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"DELETE","url":"Patient/p1"}}]}`)
	wantStatus(t, r, http.StatusConflict)
	if !strings.Contains(string(r.body), "Bundle.entry[0]") || !strings.Contains(string(r.body), "Observation/o1") {
		t.Errorf("the transaction's refusal: %s", r.body)
	}
	wantStatus(t, h.do(req{method: "DELETE", path: "/misato/fhir/Patient?_id=p1"}), http.StatusConflict)

	// A transaction that deletes the referrer as well deletes both.
	wantStatus(t, h.post("/misato/fhir", `{"resourceType":"Bundle","type":"transaction","entry":[`+
		`{"request":{"method":"DELETE","url":"Patient/p1"}},{"request":{"method":"DELETE","url":"Observation/o1"}}]}`), http.StatusOK)
	wantStatus(t, h.get("/misato/fhir/Patient/p1"), http.StatusGone)

	// Once the referrer no longer references it, the delete goes through.
	wantStatus(t, h.put("/misato/fhir/Patient/p2", `{"resourceType":"Patient","id":"p2"}`), http.StatusCreated)
	wantStatus(t, h.put("/misato/fhir/Observation/o2", `{"resourceType":"Observation","id":"o2","status":"final","code":{"text":"体重"},"subject":{"reference":"Patient/p2"}}`), http.StatusCreated)
	wantStatus(t, h.do(req{method: "DELETE", path: "/misato/fhir/Patient/p2"}), http.StatusConflict)
	wantStatus(t, h.do(req{method: "DELETE", path: "/misato/fhir/Observation/o2"}), http.StatusOK)
	wantStatus(t, h.do(req{method: "DELETE", path: "/misato/fhir/Patient/p2"}), http.StatusOK)
}

// TestUnresolvedURNIsRefused: a urn:uuid reference that names no entry of its transaction is
// refused, in a transaction and in a plain create, and nothing is stored.
func TestUnresolvedURNIsRefused(t *testing.T) {
	for _, integrity := range []string{store.IntegrityStrict, store.IntegrityOff} {
		t.Run(integrity, func(t *testing.T) {
			h := mustHub(t, integrity, server.Limits{})
			r := h.post("/misato/fhir/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"身長"},"subject":{"reference":"urn:uuid:9d0b1f2e-3c4d-4e5f-8a6b-7c8d9e0f1a2b"}}`)
			wantStatus(t, r, http.StatusUnprocessableEntity)
			if !strings.Contains(string(r.body), "Observation.subject.reference") {
				t.Errorf("the refusal does not name the element: %s", r.body)
			}
			r = h.post("/misato/fhir", `{"resourceType":"Bundle","type":"transaction","entry":[`+
				`{"fullUrl":"urn:uuid:11111111-1111-4111-8111-111111111111","request":{"method":"POST","url":"Patient"},"resource":{"resourceType":"Patient"}},`+
				`{"request":{"method":"POST","url":"Observation"},"resource":{"resourceType":"Observation","status":"final","code":{"text":"身長"},"subject":{"reference":"urn:uuid:22222222-2222-4222-8222-222222222222"}}}]}`)
			wantStatus(t, r, http.StatusUnprocessableEntity)
			if !strings.Contains(string(r.body), "Bundle.entry[1]") {
				t.Errorf("the refusal does not name the entry: %s", r.body)
			}
			if entries, _ := h.get("/misato/fhir/Patient").json(t)["entry"].([]any); len(entries) != 0 {
				t.Errorf("%d Patients stored by the refused transaction", len(entries))
			}
		})
	}
}

// TestReferenceToMissingVersionIsRefused: under strict integrity a versioned reference must
// name a version that exists.
func TestReferenceToMissingVersionIsRefused(t *testing.T) {
	obs := func(ref string) string {
		return `{"resourceType":"Observation","status":"final","code":{"text":"身長"},"subject":{"reference":"` + ref + `"}}`
	}
	h := mustHub(t, store.IntegrityStrict, server.Limits{})
	wantStatus(t, h.put("/misato/fhir/Patient/p1", `{"resourceType":"Patient","id":"p1"}`), http.StatusCreated)
	r := h.post("/misato/fhir/Observation", obs("Patient/p1/_history/99"))
	wantStatus(t, r, http.StatusUnprocessableEntity)
	if !strings.Contains(string(r.body), "Patient/p1/_history/99") {
		t.Errorf("the refusal does not name the reference: %s", r.body)
	}
	wantStatus(t, h.post("/misato/fhir", `{"resourceType":"Bundle","type":"transaction","entry":[`+
		`{"request":{"method":"POST","url":"Observation"},"resource":`+obs("Patient/p1/_history/2")+`}]}`), http.StatusUnprocessableEntity)
	wantStatus(t, h.post("/misato/fhir/Observation", obs("Patient/p1/_history/1")), http.StatusCreated)

	off := mustHub(t, store.IntegrityOff, server.Limits{})
	wantStatus(t, off.post("/misato/fhir/Observation", obs("Patient/p1/_history/99")), http.StatusCreated)
}

// TestReferenceTargetTypeIsChecked: a reference to a type the element does not allow is
// refused whatever the tenant's integrity (Observation.subject may not be an Organization).
func TestReferenceTargetTypeIsChecked(t *testing.T) {
	for _, integrity := range []string{store.IntegrityStrict, store.IntegrityOff} {
		t.Run(integrity, func(t *testing.T) {
			h := mustHub(t, integrity, server.Limits{})
			wantStatus(t, h.put("/misato/fhir/Organization/o1", `{"resourceType":"Organization","id":"o1","name":"みさと保育園"}`), http.StatusCreated)
			r := h.post("/misato/fhir/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"身長"},"subject":{"reference":"Organization/o1"}}`)
			wantStatus(t, r, http.StatusUnprocessableEntity)
			if !strings.Contains(string(r.body), "Observation.subject.reference") {
				t.Errorf("the refusal does not name the element: %s", r.body)
			}
			// An allowed target type of the same element, and of a repeating one.
			wantStatus(t, h.put("/misato/fhir/Patient/p1", `{"resourceType":"Patient","id":"p1"}`), http.StatusCreated)
			wantStatus(t, h.post("/misato/fhir/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"身長"},"subject":{"reference":"Patient/p1"},"performer":[{"reference":"Organization/o1"}]}`), http.StatusCreated)
		})
	}
}
