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

package ingest_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/kodomohub/kodomohub/auth"
	"github.com/kodomohub/kodomohub/fhir"
	"github.com/kodomohub/kodomohub/store"
)

func entries(t *testing.T, bundle string) []fhir.BundleEntry {
	t.Helper()
	var b fhir.Bundle
	if err := json.Unmarshal([]byte(bundle), &b); err != nil {
		t.Fatal(err)
	}
	return b.Entry
}

// TestTransactionWithoutHTTP: a transaction of a family (child, mother, Observation) with
// urn:uuid references among its entries and a conditional create, written through ingest
// alone: ids are assigned, references rewritten, and the conditional create finds the child
// the second time (ingest's own search, as the caller).
func TestTransactionWithoutHTTP(t *testing.T) {
	ctx := context.Background()
	tw := mustTown(t, store.IntegrityStrict)
	_, staff := tw.principal(auth.DevClaims{Subject: "importer", Scope: "system/*.cruds", Role: auth.RoleMunicipalStaff})
	family := `{"resourceType":"Bundle","type":"transaction","entry":[
	 {"fullUrl":"urn:uuid:0f0e0d0c-0000-4000-8000-000000000001","request":{"method":"POST","url":"Patient","ifNoneExist":"identifier=urn:oid:1.2.392.100495.20.3.51.11234|0001"},
	  "resource":{"resourceType":"Patient","identifier":[{"system":"urn:oid:1.2.392.100495.20.3.51.11234","value":"0001"}],"name":[{"family":"山田","given":["花子"]}],"birthDate":"2025-04-01"}},
	 {"fullUrl":"urn:uuid:0f0e0d0c-0000-4000-8000-000000000002","request":{"method":"POST","url":"RelatedPerson"},
	  "resource":{"resourceType":"RelatedPerson","patient":{"reference":"urn:uuid:0f0e0d0c-0000-4000-8000-000000000001"},"name":[{"family":"山田","given":["春子"]}]}},
	 {"request":{"method":"POST","url":"Observation"},
	  "resource":{"resourceType":"Observation","status":"final","code":{"text":"体重"},"subject":{"reference":"urn:uuid:0f0e0d0c-0000-4000-8000-000000000001"},"performer":[{"reference":"urn:uuid:0f0e0d0c-0000-4000-8000-000000000002"}]}}]}`
	out, err := tw.in.Transaction(ctx, tw.req(staff), entries(t, family), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 3 || !out[0].Created || !out[1].Created || !out[2].Created {
		t.Fatalf("outcomes %+v, want three creates", out)
	}
	child, obs := out[0].Resource, out[2].Resource
	if !strings.Contains(string(obs.Raw), `"subject":{"reference":"Patient/`+child.ID+`"}`) ||
		!strings.Contains(string(obs.Raw), `"reference":"RelatedPerson/`+out[1].Resource.ID+`"`) || strings.Contains(string(obs.Raw), "urn:uuid") {
		t.Errorf("the Observation's references were not rewritten: %s", obs.Raw)
	}
	if r := last(t, tw.inAudit); r.Interaction != "bundle" || r.Action != "E" || r.Status != 200 || len(r.Patients) != 1 || r.Patients[0] != "Patient/"+child.ID {
		t.Errorf("the transaction's audit record: %+v", r)
	}

	// Again: the conditional create finds the child, and the new entries reference it.
	out, err = tw.in.Transaction(ctx, tw.req(staff), entries(t, family), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !out[0].Existing || out[0].Resource.ID != child.ID || !strings.Contains(string(out[2].Resource.Raw), "Patient/"+child.ID) {
		t.Errorf("the second transaction did not find the child %s: %+v", child.ID, out[0])
	}

	// Deleting the child while the family references it is refused, naming them.
	_, err = tw.in.Delete(ctx, tw.req(staff), "Patient", child.ID, "", 0)
	if statusOf(err) != 409 || !strings.Contains(err.Error(), "Observation/") || !strings.Contains(err.Error(), "RelatedPerson/") {
		t.Fatalf("delete of a referenced child: %v, want 409 naming the referrers", err)
	}
	if _, err := tw.st.Read(ctx, "misato", "Patient", child.ID); err != nil {
		t.Errorf("the child is gone after a refused delete: %v", err)
	}
}

// TestUnresolvedReferencesWithoutHTTP: the write-path checks hold for every caller, not only
// REST: an unresolved urn:uuid, a missing version and a disallowed target type are refused.
func TestUnresolvedReferencesWithoutHTTP(t *testing.T) {
	ctx := context.Background()
	tw := mustTown(t, store.IntegrityStrict)
	_, staff := tw.principal(auth.DevClaims{Subject: "importer", Scope: "system/*.cruds", Role: auth.RoleMunicipalStaff})
	if _, err := tw.in.Update(ctx, tw.req(staff), "Patient", "p1", []byte(`{"resourceType":"Patient","id":"p1"}`), "", 0); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ ref, want string }{
		{"urn:uuid:9d0b1f2e-3c4d-4e5f-8a6b-7c8d9e0f1a2b", "Observation.subject.reference"},
		{"Patient/p1/_history/99", "version 99 of Patient/p1 does not exist"},
		{"Organization/o1", "names a Organization"},
	} {
		body := `{"resourceType":"Observation","status":"final","code":{"text":"身長"},"subject":{"reference":"` + tc.ref + `"}}`
		_, err := tw.in.Create(ctx, tw.req(staff), "Observation", []byte(body), "")
		if statusOf(err) != 422 || !strings.Contains(fhir.AsError(err).Error(), tc.want) {
			t.Errorf("subject %s: %v, want 422 (%s)", tc.ref, err, tc.want)
		}
	}
}

// TestRefusedDeleteNamesOnlyVisibleReferrers: the 409 of a strict delete names the referrers
// the caller may read and only says that others exist (docs/security.md).
func TestRefusedDeleteNamesOnlyVisibleReferrers(t *testing.T) {
	ctx := context.Background()
	tw := mustTown(t, store.IntegrityStrict)
	_, staff := tw.principal(auth.DevClaims{Subject: "staff-1", Scope: "system/*.cruds", Role: auth.RoleMunicipalStaff})
	for _, w := range []struct{ typ, id, body string }{
		{"Organization", "nursery-1", `{"resourceType":"Organization","id":"nursery-1","name":"みさと保育園"}`},
		{"Patient", "on", `{"resourceType":"Patient","id":"on"}`},
		{"EpisodeOfCare", "eoc-1", `{"resourceType":"EpisodeOfCare","id":"eoc-1","status":"active","patient":{"reference":"Patient/on"},"managingOrganization":{"reference":"Organization/nursery-1"}}`},
		{"Observation", "seen", `{"resourceType":"Observation","id":"seen","status":"final","code":{"text":"体温"},"subject":{"reference":"Patient/on"}}`},
		{"Observation", "report", `{"resourceType":"Observation","id":"report","meta":{"security":[{"system":"https://kodomohub.jp/fhir/CodeSystem/security-category","code":"abuse-report"}]},"status":"final","code":{"text":"通告"},"subject":{"reference":"Patient/on"}}`},
	} {
		if _, err := tw.in.Update(ctx, tw.req(staff), w.typ, w.id, []byte(w.body), "", 0); err != nil {
			t.Fatalf("setup %s/%s: %v", w.typ, w.id, err)
		}
	}
	_, nursery := tw.principal(auth.DevClaims{Subject: "nursery-1-system", Scope: "system/*.cruds", Role: auth.RoleFacility,
		Facility: "Organization/nursery-1", FacilityKind: auth.FacilityNursery})
	_, err := tw.in.Delete(ctx, tw.req(nursery), "Patient", "on", "", 0)
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	if statusOf(err) != 409 || !strings.Contains(msg, "Observation/seen") || !strings.Contains(msg, "and others") || strings.Contains(msg, "report") {
		t.Fatalf("nursery deleting a referenced child: %v, want 409 naming Observation/seen and others, not the report", err)
	}
	_, err = tw.in.Delete(ctx, tw.req(staff), "Patient", "on", "", 0)
	if msg := err.Error(); statusOf(err) != 409 || !strings.Contains(msg, "Observation/report") || !strings.Contains(msg, "EpisodeOfCare/eoc-1") {
		t.Fatalf("staff deleting a referenced child: %v, want 409 naming every referrer", err)
	}
}
