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
	"crypto/rand"
	"encoding/json"
	"errors"
	"math"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/kodomohub/kodomohub/auth"
	"github.com/kodomohub/kodomohub/fhir"
)

// The admin API of a tenant, for its municipal-admin role (and nobody else):
//
//	POST   /{tenant}/admin/clients        register a SMART backend-services client
//	GET    /{tenant}/admin/clients        list the registrations
//	DELETE /{tenant}/admin/clients/{id}   disable a client: no new tokens, and its tokens stop
//	                                      working within 30 s
//
// It does what `kodomohub client create|list` does, over HTTP with a token; every request is
// audited like a FHIR request. Errors are OperationOutcomes.

// clientRequest is the body of POST /{tenant}/admin/clients.
type clientRequest struct {
	ID           string          `json:"client_id,omitempty"`
	Name         string          `json:"name,omitempty"`
	JWKS         json.RawMessage `json:"jwks,omitempty"`
	JWKSURL      string          `json:"jwks_uri,omitempty"`
	Scope        string          `json:"scope"`
	Facility     string          `json:"facility,omitempty"`
	FacilityKind string          `json:"facility_kind,omitempty"`
	Role         string          `json:"role,omitempty"`
	RateLimit    float64         `json:"rate_limit,omitempty"`
}

// clientResponse describes a registration (never a key: the JWKS is public anyway, but the
// answer stays short).
type clientResponse struct {
	ID           string `json:"client_id"`
	Name         string `json:"name,omitempty"`
	Scope        string `json:"scope"`
	Facility     string `json:"facility,omitempty"`
	FacilityKind string `json:"facility_kind,omitempty"`
	Role         string `json:"role"`
	Disabled     bool   `json:"disabled,omitempty"`
	JWKSURL      string `json:"jwks_uri,omitempty"`
}

func describeClient(c auth.Client) clientResponse {
	return clientResponse{ID: c.ID, Name: c.Name, Scope: c.Scopes.String(), Facility: c.Facility,
		FacilityKind: c.FacilityKind, Role: c.Role, Disabled: c.Disabled, JWKSURL: c.JWKSURL}
}

// admin serves /{tenant}/admin/clients[/{id}].
func (s *Server) admin(c *gin.Context) {
	setInteraction(c, "admin")
	tenant, known, ok := s.tenantOf(c)
	if !ok {
		return
	}
	var st *auditState
	if known {
		st = s.startAudit(c, tenant.ID)
		st.typ = "admin/clients"
	}
	p, ok := s.authenticate(c, tenant.ID, known, st)
	if !ok {
		return
	}
	view := s.guard.View(c.Request.Context(), p, tenant.ID, declared(c))
	// decide asks the guard about a grant: an admin acts only on what it could grant itself.
	decide := func(op auth.Op, g auth.ClientGrant) bool {
		d := view.Decide(op, g)
		st.decided(d)
		if err := d.Denial(); err != nil {
			s.writeError(c, err)
			return false
		}
		return true
	}
	if !decide(auth.OpRead, auth.ClientGrant{}) {
		return
	}
	clients := auth.StoreClients{Records: s.store}
	ctx := c.Request.Context()
	id := c.Param("id")
	st.id = id
	switch {
	case c.Request.Method == http.MethodGet && id == "":
		list, err := clients.List(ctx, tenant.ID)
		if err != nil {
			s.writeError(c, err)
			return
		}
		out := make([]clientResponse, len(list))
		for i, cl := range list {
			out[i] = describeClient(cl)
		}
		s.writeJSON(c, http.StatusOK, out)
	case c.Request.Method == http.MethodPost && id == "":
		body, err := s.readBody(c)
		if err != nil {
			s.writeError(c, err)
			return
		}
		var req clientRequest
		if err := json.Unmarshal(body, &req); err != nil {
			s.writeError(c, fhir.Errorf(fhir.KindInvalid, fhir.IssueStructure, "the body is not a client registration: %v", err))
			return
		}
		spec := auth.ClientSpec{Tenant: tenant.ID, ID: req.ID, Name: req.Name, JWKS: req.JWKS, JWKSURL: req.JWKSURL,
			Scope: req.Scope, Facility: req.Facility, FacilityKind: req.FacilityKind, Role: req.Role}
		if req.RateLimit > 0 {
			spec.RateLimit = auth.Rate{PerSecond: req.RateLimit, Burst: int(math.Ceil(2 * req.RateLimit))}
		}
		cl, err := auth.NewClient(spec, rand.Reader)
		if err != nil {
			s.writeError(c, fhir.Errorf(fhir.KindInvalid, fhir.IssueInvalid, "%v", err))
			return
		}
		if !decide(auth.OpCreate, grantOf(cl)) {
			return
		}
		if req.ID != "" {
			if _, err := clients.Client(ctx, tenant.ID, req.ID); err == nil {
				s.writeError(c, fhir.Errorf(fhir.KindConflict, fhir.IssueDuplicate, "client %q exists already", req.ID))
				return
			}
		}
		if err := clients.Put(ctx, cl, s.now()); err != nil {
			s.writeError(c, err)
			return
		}
		st.id = cl.ID
		s.writeJSON(c, http.StatusCreated, describeClient(cl))
	case c.Request.Method == http.MethodDelete && id != "":
		cl, err := clients.Client(ctx, tenant.ID, id)
		if errors.Is(err, auth.ErrUnknownClient) {
			s.writeError(c, fhir.Errorf(fhir.KindNotFound, fhir.IssueNotFound, "no client %q", id))
			return
		}
		if err != nil {
			s.writeError(c, err)
			return
		}
		if !decide(auth.OpDelete, grantOf(cl)) {
			return
		}
		cl.Disabled = true
		if err := clients.Put(ctx, cl, s.now()); err != nil {
			s.writeError(c, err)
			return
		}
		s.writeJSON(c, http.StatusOK, describeClient(cl))
	default:
		s.writeError(c, methodNotAllowed(c.Request.Method, c.Request.URL.Path))
	}
}

// grantOf is what a client registration grants.
func grantOf(cl auth.Client) auth.ClientGrant {
	return auth.ClientGrant{Role: cl.Role, Facility: cl.Facility, FacilityKind: cl.FacilityKind, Scopes: cl.Scopes}
}
