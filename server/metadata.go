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
	"net/http"
	"sync"

	"github.com/gin-gonic/gin"

	"github.com/kodomohub/kodomohub/conformance"
	"github.com/kodomohub/kodomohub/fhir"
	"github.com/kodomohub/kodomohub/fhir/search"
	"github.com/kodomohub/kodomohub/store"
)

// Spec returns the CapabilityStatement description of a tenant whose FHIR base is base. Its
// interactions and operations are read from the route table (routes.go), so that the
// statement says what the router does.
func (s *Server) Spec(tenant store.Tenant, base string) conformance.ServerSpec {
	spec := conformance.ServerSpec{
		Name:                      "Kodomohub",
		Title:                     "kodomohub FHIR API — " + tenant.ID,
		SoftwareName:              "kodomohub",
		SoftwareVersion:           s.version,
		ImplementationURL:         base,
		ImplementationDescription: "kodomohub child-data linkage hub, tenant " + tenant.ID,
		FHIRVersion:               "4.0.1",
		Formats:                   []string{mimeFHIRJSON, mimeJSON},
		PatchFormats:              []string{mimeJSONPatch},
		SystemInteractions:        capabilities(systemLevel),
	}
	if s.importer != nil {
		spec.SystemOperations = operations("")
	}
	revIncludes := map[string][]string{} // target type → "Source:param"
	for _, t := range fhir.ResourceTypes {
		for _, p := range s.registry.Params(t) {
			if p.Searchable() && p.Type == search.Reference {
				for _, target := range p.Targets {
					revIncludes[target] = append(revIncludes[target], t+":"+p.Code)
				}
			}
		}
	}
	if s.tokens != nil {
		spec.Security = &conformance.SecuritySpec{SMART: true, Token: s.tokens.TokenURL(tenant.ID),
			Description: "SMART App Launch v2 scopes on tokens from the town's identity provider; " +
				"SMART Backend Services (private_key_jwt, RS384/ES384) at the token endpoint; " +
				"configuration at .well-known/smart-configuration"}
	}
	for _, t := range fhir.ResourceTypes {
		if t == "AuditEvent" {
			spec.Resources = append(spec.Resources, auditEventSpec(s.registry))
			continue
		}
		rs := conformance.ResourceSpec{
			Type:              t,
			Profile:           "http://hl7.org/fhir/StructureDefinition/" + t,
			Interactions:      capabilities(typeLevel, instanceLevel),
			Versioning:        "versioned",
			ReadHistory:       true,
			UpdateCreate:      true,
			ConditionalCreate: true,
			ConditionalUpdate: true,
			ConditionalRead:   "not-supported",
			ConditionalDelete: "single",
			SearchInclude:     []string{"*"},
			SearchRevInclude:  revIncludes[t],
			Operations:        operations(t),
		}
		for _, p := range s.registry.Params(t) {
			if !p.Searchable() {
				continue
			}
			rs.SearchParams = append(rs.SearchParams, conformance.SearchParam{
				Name: p.Code, Type: p.Type.String(), Definition: p.URL})
			if p.Type == search.Reference {
				rs.SearchInclude = append(rs.SearchInclude, t+":"+p.Code)
			}
		}
		spec.Resources = append(spec.Resources, rs)
	}
	return spec
}

var capabilityCache sync.Map // version, tenant and base URL → []byte

func (s *Server) metadata(c *gin.Context, tenant store.Tenant) {
	base := s.baseURL(c.Request, tenant.ID)
	key := s.version + "\x00" + tenant.ID + "\x00" + tenant.Name + "\x00" + base
	if b, ok := capabilityCache.Load(key); ok {
		s.write(c, http.StatusOK, b.([]byte))
		return
	}
	b, err := conformance.CapabilityStatement(s.Spec(tenant, base))
	if err != nil {
		s.writeError(c, err)
		return
	}
	capabilityCache.Store(key, b)
	s.write(c, http.StatusOK, b)
}

// auditEventSpec describes AuditEvent as served: the hub's audit trail, read and searched
// (auditevent.go), never written by clients: the town's append-only, hash-chained audit
// trail, written by the hub for every access (IHE Basic Audit Log Patterns).
func auditEventSpec(reg *search.Registry) conformance.ResourceSpec {
	rs := conformance.ResourceSpec{
		Type:              "AuditEvent",
		Profile:           "http://hl7.org/fhir/StructureDefinition/AuditEvent",
		Interactions:      typeCapabilities("AuditEvent"),
		Versioning:        "no-version",
		ConditionalRead:   "not-supported",
		ConditionalDelete: "not-supported",
	}
	for _, code := range []string{"date", "agent", "patient", "entity", "entity-type", "action", "outcome"} {
		if p, ok := reg.Lookup("AuditEvent", code); ok {
			rs.SearchParams = append(rs.SearchParams, conformance.SearchParam{Name: p.Code, Type: p.Type.String(), Definition: p.URL})
		}
	}
	return rs
}
