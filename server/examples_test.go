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
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kodomohub/kodomohub/conformance"
	"github.com/kodomohub/kodomohub/conformance/conformancetest"
	"github.com/kodomohub/kodomohub/server"
	"github.com/kodomohub/kodomohub/store"
)

// TestR4Examples writes every official R4 example with PUT under its own id into a tenant
// without referential integrity (15% of them cite resources outside the set) and reads it
// back: the result must equal the input except for id and the meta elements the hub stamps.
func TestR4Examples(t *testing.T) {
	h := mustHub(t, store.IntegrityOff, server.Limits{})
	examples := conformancetest.Examples(t)
	if len(examples) != 718 {
		t.Fatalf("%d examples, want 718", len(examples))
	}
	conformancetest.CheckSkipExamples(t)
	for _, name := range conformancetest.Names(t) {
		raw := examples[name]
		t.Run(name, func(t *testing.T) {
			if strings.HasPrefix(name, "AuditEvent-") {
				// The hub's AuditEvents are its own audit trail, append-only and written by
				// the hub alone: a client's PUT must be refused.
				var head struct{ ID string }
				_ = json.Unmarshal(raw, &head)
				if r := h.put("/misato/fhir/AuditEvent/"+head.ID, string(raw)); r.StatusCode != http.StatusMethodNotAllowed {
					t.Fatalf("PUT of an AuditEvent: %s, want 405", r.Status)
				}
				return
			}
			err := roundTrip(h, raw)
			switch reason, skip := conformancetest.SkipExamples[name]; {
			case skip && err == "":
				t.Fatalf("passes now; delete it from conformancetest.SkipExamples (%s)", reason)
			case skip && conformance.Default().Validate(raw) != nil && !strings.HasPrefix(err, "PUT: 422 "):
				t.Fatalf("not valid R4 (%s): the PUT must be refused with 422; got %s", reason, err)
			case skip:
				t.Skip(reason)
			case err != "":
				t.Fatal(err)
			}
		})
	}
}

func roundTrip(h *hub, raw []byte) string {
	var head struct {
		ResourceType string `json:"resourceType"`
		ID           string `json:"id"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return err.Error()
	}
	path := "/misato/fhir/" + head.ResourceType + "/" + head.ID
	r := h.put(path, string(raw))
	if r.StatusCode != http.StatusCreated && r.StatusCode != http.StatusOK {
		return "PUT: " + r.Status + ": " + string(r.body)
	}
	r = h.get(path)
	if r.StatusCode != http.StatusOK {
		return "GET: " + r.Status + ": " + string(r.body)
	}
	if d := cmp.Diff(comparable(raw), comparable(r.body)); d != "" {
		return "read back differs (-put +got):\n" + d
	}
	return ""
}

// comparable decodes a resource keeping decimal text, without id and the stamped meta
// elements (versionId, lastUpdated).
func comparable(b []byte) any {
	var v map[string]any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return "invalid JSON: " + err.Error()
	}
	delete(v, "id")
	if m, ok := v["meta"].(map[string]any); ok {
		delete(m, "versionId")
		delete(m, "lastUpdated")
		if len(m) == 0 {
			delete(v, "meta")
		}
	}
	return v
}
