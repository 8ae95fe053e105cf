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

package conformance

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kodomohub/kodomohub/fhir"
)

// ServerSpec describes what a FHIR server supports, for CapabilityStatement.
type ServerSpec struct {
	// Name is a computer-friendly name of the statement ("KodomohubMisato"); Title and
	// Publisher are optional.
	Name, Title, Publisher string
	// Date is the statement's date (dateTime); empty means now (UTC, seconds).
	Date string
	// SoftwareName is required; SoftwareVersion and ReleaseDate (dateTime) are optional.
	SoftwareName, SoftwareVersion, ReleaseDate string
	// ImplementationURL is the base URL of this server ("https://hub/misato/fhir");
	// ImplementationDescription is required when the URL is set.
	ImplementationURL, ImplementationDescription string
	// FHIRVersion defaults to 4.0.1.
	FHIRVersion string
	// Formats are the mime types or short forms ("json") served; default ["json"].
	Formats []string
	// PatchFormats are the patch mime types accepted ("application/json-patch+json").
	PatchFormats []string
	// Resources are the resource types served.
	Resources []ResourceSpec
	// SystemInteractions: "transaction", "batch", "search-system", "history-system".
	SystemInteractions []string
	// SystemOperations are the operations on the base ($import-source).
	SystemOperations []Operation
	// Security is the optional security block (SMART on FHIR).
	Security *SecuritySpec
}

// ResourceSpec is what the server supports for one resource type.
type ResourceSpec struct {
	Type    string // "Patient"
	Profile string // canonical URL of the base profile, optional
	// Interactions: "read", "vread", "update", "patch", "delete", "history-instance",
	// "history-type", "create", "search-type".
	Interactions []string
	// Versioning: "no-version", "versioned" or "versioned-update"; empty leaves it out.
	Versioning        string
	ReadHistory       bool
	UpdateCreate      bool
	ConditionalCreate bool
	ConditionalUpdate bool
	// ConditionalRead: "not-supported", "modified-since", "not-match", "full-support".
	ConditionalRead string
	// ConditionalDelete: "not-supported", "single", "multiple".
	ConditionalDelete string
	SearchInclude     []string
	SearchRevInclude  []string
	SearchParams      []SearchParam
	// Operations are the operations on the type or its instances ($everything, $validate).
	Operations []Operation
}

// Operation is an operation a server supports: its name without the "$" and the canonical
// URL of its OperationDefinition.
type Operation struct {
	Name, Definition string
}

// SearchParam is one supported search parameter.
type SearchParam struct {
	Name          string // the code used in URLs: "family"
	Type          string // number, date, string, token, reference, composite, quantity, uri, special
	Definition    string // canonical URL of the SearchParameter, optional
	Documentation string // optional
}

// SecuritySpec is CapabilityStatement.rest.security.
type SecuritySpec struct {
	CORS bool
	// SMART adds the SMART-on-FHIR service code and the oauth-uris extension with the
	// endpoints below (Token is required, the rest optional).
	SMART                                                  bool
	Authorize, Token, Register, Manage, Introspect, Revoke string
	Description                                            string
}

var (
	typeInteractions = []string{"read", "vread", "update", "patch", "delete", "history-instance",
		"history-type", "create", "search-type"}
	systemInteractions = []string{"transaction", "batch", "delete", "history-system", "search-system"}
	searchParamTypes   = []string{"number", "date", "string", "token", "reference", "composite", "quantity", "uri", "special"}
)

type csJSON struct {
	ResourceType   string            `json:"resourceType"`
	Name           string            `json:"name,omitempty"`
	Title          string            `json:"title,omitempty"`
	Status         string            `json:"status"`
	Date           string            `json:"date"`
	Publisher      string            `json:"publisher,omitempty"`
	Kind           string            `json:"kind"`
	Software       *csSoftware       `json:"software,omitempty"`
	Implementation *csImplementation `json:"implementation,omitempty"`
	FHIRVersion    string            `json:"fhirVersion"`
	Format         []string          `json:"format"`
	PatchFormat    []string          `json:"patchFormat,omitempty"`
	Rest           []csRest          `json:"rest"`
}

type csSoftware struct {
	Name        string `json:"name"`
	Version     string `json:"version,omitempty"`
	ReleaseDate string `json:"releaseDate,omitempty"`
}

type csImplementation struct {
	Description string `json:"description"`
	URL         string `json:"url,omitempty"`
}

type csRest struct {
	Mode        string          `json:"mode"`
	Security    *csSecurity     `json:"security,omitempty"`
	Resource    []csResource    `json:"resource,omitempty"`
	Interaction []csInteraction `json:"interaction,omitempty"`
	Operation   []csOperation   `json:"operation,omitempty"`
}

type csExtension struct {
	URL       string        `json:"url"`
	ValueURI  string        `json:"valueUri,omitempty"`
	Extension []csExtension `json:"extension,omitempty"`
}

type csCoding struct {
	System  string `json:"system"`
	Code    string `json:"code"`
	Display string `json:"display,omitempty"`
}

type csCodeableConcept struct {
	Coding []csCoding `json:"coding,omitempty"`
	Text   string     `json:"text,omitempty"`
}

type csSecurity struct {
	Extension   []csExtension       `json:"extension,omitempty"`
	CORS        *bool               `json:"cors,omitempty"`
	Service     []csCodeableConcept `json:"service,omitempty"`
	Description string              `json:"description,omitempty"`
}

type csInteraction struct {
	Code string `json:"code"`
}

type csSearchParam struct {
	Name          string `json:"name"`
	Definition    string `json:"definition,omitempty"`
	Type          string `json:"type"`
	Documentation string `json:"documentation,omitempty"`
}

type csResource struct {
	Type              string          `json:"type"`
	Profile           string          `json:"profile,omitempty"`
	Interaction       []csInteraction `json:"interaction,omitempty"`
	Versioning        string          `json:"versioning,omitempty"`
	ReadHistory       bool            `json:"readHistory,omitempty"`
	UpdateCreate      bool            `json:"updateCreate,omitempty"`
	ConditionalCreate bool            `json:"conditionalCreate,omitempty"`
	ConditionalRead   string          `json:"conditionalRead,omitempty"`
	ConditionalUpdate bool            `json:"conditionalUpdate,omitempty"`
	ConditionalDelete string          `json:"conditionalDelete,omitempty"`
	SearchInclude     []string        `json:"searchInclude,omitempty"`
	SearchRevInclude  []string        `json:"searchRevInclude,omitempty"`
	SearchParam       []csSearchParam `json:"searchParam,omitempty"`
	Operation         []csOperation   `json:"operation,omitempty"`
}

type csOperation struct {
	Name       string `json:"name"`
	Definition string `json:"definition"`
}

// CapabilityStatement builds the CapabilityStatement JSON of a server (kind instance,
// status active, one rest entry in server mode). Resources are listed in type order. The
// result is checked with the Default validator; an error means spec is inconsistent.
func CapabilityStatement(spec ServerSpec) ([]byte, error) {
	const op = "conformance.CapabilityStatement"
	if spec.SoftwareName == "" {
		return nil, fmt.Errorf("%s: SoftwareName is required", op)
	}
	if spec.ImplementationURL != "" && spec.ImplementationDescription == "" {
		return nil, fmt.Errorf("%s: ImplementationDescription is required with ImplementationURL", op)
	}
	cs := csJSON{
		ResourceType: "CapabilityStatement",
		Name:         spec.Name,
		Title:        spec.Title,
		Status:       "active",
		Date:         spec.Date,
		Publisher:    spec.Publisher,
		Kind:         "instance",
		Software:     &csSoftware{Name: spec.SoftwareName, Version: spec.SoftwareVersion, ReleaseDate: spec.ReleaseDate},
		FHIRVersion:  orDefault(spec.FHIRVersion, "4.0.1"),
		Format:       spec.Formats,
		PatchFormat:  spec.PatchFormats,
	}
	if cs.Date == "" {
		cs.Date = time.Now().UTC().Format(time.RFC3339)
	}
	if len(cs.Format) == 0 {
		cs.Format = []string{"json"}
	}
	if spec.ImplementationDescription != "" {
		cs.Implementation = &csImplementation{Description: spec.ImplementationDescription, URL: spec.ImplementationURL}
	}
	rest := csRest{Mode: "server"}
	if s := spec.Security; s != nil {
		sec := &csSecurity{Description: s.Description}
		if s.CORS {
			sec.CORS = &s.CORS
		}
		if s.SMART {
			if s.Token == "" {
				return nil, fmt.Errorf("%s: SMART security needs a Token endpoint", op)
			}
			oauth := csExtension{URL: "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"}
			for _, u := range []struct{ name, uri string }{{"token", s.Token}, {"authorize", s.Authorize},
				{"register", s.Register}, {"manage", s.Manage}, {"introspect", s.Introspect}, {"revoke", s.Revoke}} {
				if u.uri != "" {
					oauth.Extension = append(oauth.Extension, csExtension{URL: u.name, ValueURI: u.uri})
				}
			}
			sec.Extension = []csExtension{oauth}
			sec.Service = []csCodeableConcept{{Coding: []csCoding{{
				System: "http://terminology.hl7.org/CodeSystem/restful-security-service", Code: "SMART-on-FHIR", Display: "SMART-on-FHIR"}},
				Text: "OAuth2 using SMART-on-FHIR profile (see http://docs.smarthealthit.org)"}}
		}
		if sec.CORS != nil || sec.Service != nil || sec.Description != "" {
			rest.Security = sec
		}
	}
	resources := slices.Clone(spec.Resources)
	slices.SortFunc(resources, func(a, b ResourceSpec) int { return strings.Compare(a.Type, b.Type) })
	for i, r := range resources {
		if !fhir.IsResourceType(r.Type) {
			return nil, fmt.Errorf("%s: unknown resource type %q", op, r.Type)
		}
		if i > 0 && resources[i-1].Type == r.Type {
			return nil, fmt.Errorf("%s: resource type %s listed twice", op, r.Type)
		}
		cr := csResource{Type: r.Type, Profile: r.Profile, Versioning: r.Versioning, ReadHistory: r.ReadHistory,
			UpdateCreate: r.UpdateCreate, ConditionalCreate: r.ConditionalCreate, ConditionalRead: r.ConditionalRead,
			ConditionalUpdate: r.ConditionalUpdate, ConditionalDelete: r.ConditionalDelete,
			SearchInclude: r.SearchInclude, SearchRevInclude: r.SearchRevInclude}
		for _, in := range r.Interactions {
			if !slices.Contains(typeInteractions, in) {
				return nil, fmt.Errorf("%s: %s: unknown interaction %q", op, r.Type, in)
			}
			cr.Interaction = append(cr.Interaction, csInteraction{Code: in})
		}
		for _, sp := range r.SearchParams {
			if sp.Name == "" || !slices.Contains(searchParamTypes, sp.Type) {
				return nil, fmt.Errorf("%s: %s: search parameter %q has type %q", op, r.Type, sp.Name, sp.Type)
			}
			cr.SearchParam = append(cr.SearchParam, csSearchParam{Name: sp.Name, Definition: sp.Definition, Type: sp.Type, Documentation: sp.Documentation})
		}
		for _, o := range r.Operations {
			if o.Name == "" || strings.HasPrefix(o.Name, "$") || o.Definition == "" {
				return nil, fmt.Errorf("%s: %s: operation %q needs a name without $ and a definition", op, r.Type, o.Name)
			}
			cr.Operation = append(cr.Operation, csOperation(o))
		}
		rest.Resource = append(rest.Resource, cr)
	}
	for _, in := range spec.SystemInteractions {
		if !slices.Contains(systemInteractions, in) {
			return nil, fmt.Errorf("%s: unknown system interaction %q", op, in)
		}
		rest.Interaction = append(rest.Interaction, csInteraction{Code: in})
	}
	for _, o := range spec.SystemOperations {
		if o.Name == "" || strings.HasPrefix(o.Name, "$") || o.Definition == "" {
			return nil, fmt.Errorf("%s: system operation %q needs a name without $ and a definition", op, o.Name)
		}
		rest.Operation = append(rest.Operation, csOperation(o))
	}
	cs.Rest = []csRest{rest}
	out, err := json.Marshal(cs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if err := Validate(out); err != nil {
		return nil, fmt.Errorf("%s: the statement does not validate: %w", op, err)
	}
	return out, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
