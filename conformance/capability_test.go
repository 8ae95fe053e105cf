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

package conformance_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/kodomohub/kodomohub/conformance"
	"github.com/kodomohub/kodomohub/fhir"
)

func TestCapabilityStatement(t *testing.T) {
	all := []string{"read", "vread", "update", "patch", "delete", "history-instance", "history-type", "create", "search-type"}
	spec := conformance.ServerSpec{
		Name: "KodomohubMisato", Title: "kodomohub (misato)", Publisher: "kodomohub",
		Date:         "2024-04-01T00:00:00Z",
		SoftwareName: "kodomohub", SoftwareVersion: "0.1.0", ReleaseDate: "2024-04-01",
		ImplementationURL: "https://hub.example.jp/misato/fhir", ImplementationDescription: "Misato town",
		Formats:            []string{"json", "application/fhir+json"},
		PatchFormats:       []string{"application/json-patch+json"},
		SystemInteractions: []string{"transaction", "batch", "history-system"},
		Security: &conformance.SecuritySpec{CORS: true, SMART: true,
			Token: "https://hub.example.jp/misato/auth/token", Authorize: "https://idp.example.jp/authorize"},
	}
	for _, typ := range fhir.ResourceTypes {
		spec.Resources = append(spec.Resources, conformance.ResourceSpec{
			Type: typ, Interactions: all, Versioning: "versioned-update", ReadHistory: true, UpdateCreate: true,
			ConditionalCreate: true, ConditionalUpdate: true, ConditionalRead: "full-support", ConditionalDelete: "single",
		})
	}
	spec.Resources[0].SearchParams = []conformance.SearchParam{
		{Name: "_id", Type: "token", Definition: "http://hl7.org/fhir/SearchParameter/Resource-id", Documentation: "logical id"},
		{Name: "name", Type: "string"},
	}
	raw, err := conformance.CapabilityStatement(spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := conformance.Validate(raw); err != nil {
		t.Fatalf("the statement does not validate: %v", err)
	}
	var cs struct {
		FHIRVersion string `json:"fhirVersion"`
		Rest        []struct {
			Security struct {
				Extension []struct {
					URL       string `json:"url"`
					Extension []struct{ URL, ValueURI string }
				} `json:"extension"`
			} `json:"security"`
			Resource []struct {
				Type        string `json:"type"`
				Interaction []struct{ Code string }
			} `json:"resource"`
		} `json:"rest"`
	}
	if err := json.Unmarshal(raw, &cs); err != nil {
		t.Fatal(err)
	}
	if cs.FHIRVersion != "4.0.1" || len(cs.Rest) != 1 || len(cs.Rest[0].Resource) != len(fhir.ResourceTypes) {
		t.Fatalf("unexpected statement %s", raw[:200])
	}
	if r := cs.Rest[0].Resource[0]; r.Type != fhir.ResourceTypes[0] || len(r.Interaction) != len(all) {
		t.Errorf("first resource %+v", r)
	}
	if ext := cs.Rest[0].Security.Extension; len(ext) != 1 || len(ext[0].Extension) != 2 || ext[0].Extension[0].URL != "token" {
		t.Errorf("SMART extension %+v", ext)
	}

	// Minimal spec.
	if _, err := conformance.CapabilityStatement(conformance.ServerSpec{SoftwareName: "x"}); err != nil {
		t.Errorf("minimal: %v", err)
	}
}

func TestCapabilityStatementErrors(t *testing.T) {
	for name, spec := range map[string]conformance.ServerSpec{
		"no software":      {},
		"no description":   {SoftwareName: "x", ImplementationURL: "http://x"},
		"unknown type":     {SoftwareName: "x", Resources: []conformance.ResourceSpec{{Type: "Foo"}}},
		"duplicate type":   {SoftwareName: "x", Resources: []conformance.ResourceSpec{{Type: "Patient"}, {Type: "Patient"}}},
		"bad interaction":  {SoftwareName: "x", Resources: []conformance.ResourceSpec{{Type: "Patient", Interactions: []string{"fetch"}}}},
		"bad param type":   {SoftwareName: "x", Resources: []conformance.ResourceSpec{{Type: "Patient", SearchParams: []conformance.SearchParam{{Name: "a", Type: "text"}}}}},
		"bad system":       {SoftwareName: "x", SystemInteractions: []string{"everything"}},
		"bad versioning":   {SoftwareName: "x", Resources: []conformance.ResourceSpec{{Type: "Patient", Versioning: "yes"}}},
		"SMART no token":   {SoftwareName: "x", Security: &conformance.SecuritySpec{SMART: true}},
		"bad fhir version": {SoftwareName: "x", FHIRVersion: "9.9.9"},
	} {
		if _, err := conformance.CapabilityStatement(spec); err == nil || !strings.Contains(err.Error(), "conformance.CapabilityStatement") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}
