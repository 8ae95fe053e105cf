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
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/kodomohub/kodomohub/conformance"
	"github.com/kodomohub/kodomohub/server"
)

// TestConditionalCreateAcrossServers: two servers on one store (as two processes would be)
// receive the same If-None-Exist creates at once; each identifier ends with one Patient.
func TestConditionalCreateAcrossServers(t *testing.T) {
	h := mustHub(t, "", server.Limits{})
	v, err := conformance.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	other := httptest.NewServer(server.New(server.Config{Store: h.store, Validator: v, Auth: h.dev, Version: "test"}).Handler())
	defer other.Close()
	urls := []string{h.url, other.URL}
	const idents, perServer = 4, 6
	var wg sync.WaitGroup
	status := make(chan int, idents*perServer*len(urls))
	for i := range idents {
		ident := fmt.Sprintf("urn:oid:1.2.392.100495.20.3.51.11|cond-%d", i)
		body := fmt.Sprintf(`{"resourceType":"Patient","identifier":[{"system":"urn:oid:1.2.392.100495.20.3.51.11","value":"cond-%d"}]}`, i)
		for _, base := range urls {
			for range perServer {
				wg.Add(1)
				go func() {
					defer wg.Done()
					hub := *h
					hub.url = base
					r := hub.do(req{method: "POST", path: "/misato/fhir/Patient", body: body,
						header: map[string]string{"If-None-Exist": "identifier=" + url.QueryEscape(ident)}})
					status <- r.StatusCode
				}()
			}
		}
	}
	wg.Wait()
	close(status)
	created := 0
	for s := range status {
		switch s {
		case http.StatusCreated:
			created++
		case http.StatusOK:
		default:
			t.Errorf("conditional create: status %d", s)
		}
	}
	if created != idents {
		t.Errorf("%d Patients created for %d identifiers", created, idents)
	}
	for i := range idents {
		r := h.get("/misato/fhir/Patient?identifier=" + url.QueryEscape(fmt.Sprintf("urn:oid:1.2.392.100495.20.3.51.11|cond-%d", i)))
		wantStatus(t, r, http.StatusOK)
		if n := len(r.json(t)["entry"].([]any)); n != 1 {
			t.Errorf("identifier cond-%d: %d Patients", i, n)
		}
	}
}
