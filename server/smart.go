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
	"errors"
	"math"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/kodomohub/kodomohub/auth"
	"github.com/kodomohub/kodomohub/fhir"
	"github.com/kodomohub/kodomohub/store"
)

// The SMART endpoints of a tenant: its configuration document (public), the Backend
// Services token endpoint and the public keys of the hub's tokens.

// smartConfiguration serves /{tenant}/fhir/.well-known/smart-configuration.
func (s *Server) smartConfiguration(c *gin.Context, tenant store.Tenant) {
	if c.Request.Method != http.MethodGet {
		s.writeError(c, methodNotAllowed(c.Request.Method, ".well-known/smart-configuration"))
		return
	}
	var doc map[string]any
	if s.tokens != nil {
		doc = auth.SmartConfiguration(s.tokens.Issuer(tenant.ID), s.tokens.TokenURL(tenant.ID),
			s.tokens.Issuer(tenant.ID)+"/jwks")
	} else {
		// No token service: tokens come from the town's identity provider only.
		doc = map[string]any{"capabilities": []string{"permission-v1", "permission-v2", "permission-user"},
			"token_endpoint_auth_methods_supported": []string{}, "grant_types_supported": []string{}}
	}
	b, _ := json.Marshal(doc)
	c.Header("Cache-Control", "public, max-age=300")
	c.Data(http.StatusOK, "application/json", b)
}

// token serves POST /{tenant}/auth/token: client_credentials with private_key_jwt. Every
// request, granted or refused, is audited in the tenant's chain. Errors are OAuth error
// documents, as RFC 6749 asks of a token endpoint.
func (s *Server) token(c *gin.Context) {
	setInteraction(c, "token")
	if s.tokens == nil || !store.ValidTenantID(c.Param("tenant")) {
		oauthError(c, &auth.OAuthError{Status: http.StatusNotFound, Code: "invalid_request",
			Description: "no token endpoint here"})
		return
	}
	// A town that does not exist answers as one whose client is unknown: the token service
	// finds no client there.
	tenant, known, ok := s.tenantOf(c)
	if !ok {
		return
	}
	st := &auditState{tenant: tenant.ID}
	if known {
		st = s.startAudit(c, tenant.ID)
	}
	st.typ = "token"
	if ok, wait := s.tokenLimiter.Allow("token "+c.ClientIP(), auth.Rate{}); !ok {
		s.metrics.rateLimited.Inc()
		st.decision = "too many token requests from " + c.ClientIP()
		c.Header("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		if aerr := s.finishAudit(c, http.StatusTooManyRequests, st.decision); aerr != nil {
			oauthError(c, &auth.OAuthError{Status: http.StatusInternalServerError, Code: "server_error"})
			return
		}
		oauthError(c, &auth.OAuthError{Status: http.StatusTooManyRequests, Code: "slow_down",
			Description: "too many token requests from this address; retry later"})
		return
	}
	resp, err := s.tokens.Token(c.Request, tenant.ID)
	client := c.Request.PostForm.Get("client_id")
	status := http.StatusOK
	var oe *auth.OAuthError
	if err != nil {
		if !errors.As(err, &oe) {
			s.log.Error("token request failed", "tenant", tenant.ID, "err", err)
			oe = &auth.OAuthError{Status: http.StatusInternalServerError, Code: "server_error"}
		}
		status = oe.Status
		st.decision = "token refused: " + oe.Code + ": " + oe.Description
	} else {
		st.decision = "token granted: " + resp.Scope
	}
	if client != "" {
		st.principal = &auth.Principal{Subject: client, ClientID: client, Tenant: tenant.ID}
	}
	if aerr := s.finishAudit(c, status, st.decision); aerr != nil {
		oauthError(c, &auth.OAuthError{Status: http.StatusInternalServerError, Code: "server_error",
			Description: "the request could not be recorded in the audit trail"})
		return
	}
	if oe != nil {
		oauthError(c, oe)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Header("Pragma", "no-cache")
	c.JSON(http.StatusOK, resp)
}

func oauthError(c *gin.Context, oe *auth.OAuthError) {
	c.Header("Cache-Control", "no-store")
	if oe.Status == http.StatusUnauthorized {
		c.Header("WWW-Authenticate", `Bearer error="invalid_client"`)
	}
	c.JSON(oe.Status, oe)
}

// jwks serves the public keys that verify the hub's access tokens.
func (s *Server) jwks(c *gin.Context) {
	if s.tokens == nil {
		s.writeError(c, fhir.Errorf(fhir.KindNotFound, fhir.IssueNotFound, "this hub issues no tokens"))
		return
	}
	c.Data(http.StatusOK, "application/json", s.tokens.PublicJWKS())
}
