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

package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// TestServeOIDC runs `serve --auth oidc` with a config file that trusts a real OpenID
// provider (oidc-provider from npm) for two towns, and checks that staff tokens from it
// work for their own town only.
func TestServeOIDC(t *testing.T) {
	h := startHub(t)
	do := func(method, path, tok, body string) int {
		t.Helper()
		return h.do(t, "oidc", method, path, tok, body).status
	}
	misato := h.token(t, "staff-misato", "misato")
	if got := do("PUT", "/misato/fhir/Patient/p1", misato, `{"resourceType":"Patient","id":"p1","name":[{"family":"山田"}]}`); got != http.StatusCreated {
		t.Fatalf("staff of misato writing to misato: %d", got)
	}
	if got := do("GET", "/misato/fhir/Patient/p1", misato, ""); got != http.StatusOK {
		t.Fatalf("staff of misato reading misato: %d", got)
	}
	for name, c := range map[string]struct {
		path, tok string
	}{
		"ErrNoToken":            {"/misato/fhir/Patient/p1", ""},
		"ErrOtherTownsToken":    {"/misato/fhir/Patient/p1", h.token(t, "staff-kawajima", "kawajima")},
		"ErrTokenForOtherTown":  {"/kawajima/fhir/Patient/p1", misato},
		"ErrWrongAudience":      {"/misato/fhir/Patient/p1", h.token(t, "staff-misato", "kawajima")},
		"ErrDevTokenNotTrusted": {"/misato/fhir/Patient/p1", mustDevToken(t, h.storeArgs...)},
	} {
		t.Run(name, func(t *testing.T) {
			if got := do("GET", c.path, c.tok, ""); got != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", got)
			}
		})
	}
}

func mustDevToken(t *testing.T, storeArgs ...string) string {
	t.Helper()
	var out strings.Builder
	if err := run(context.Background(), append(append([]string{"dev-token"}, storeArgs...), "--tenant", "misato", "--scope", "system/*.cruds"), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	return lastLine(out.String())
}

func TestServeOIDCNeedsIssuers(t *testing.T) {
	var f serveFlags
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	f.register(fs, "127.0.0.1:0")
	if err := fs.Parse([]string{"--auth", "oidc"}); err != nil {
		t.Fatal(err)
	}
	if _, err := authenticator(context.Background(), nil, &f, io.Discard); err == nil || !strings.Contains(err.Error(), "oidc.tenants") {
		t.Fatalf("err %v, want a pointer to the config", err)
	}
	f.file.OIDC.Tenants = map[string][]issuerConfig{"misato": {{Issuer: "not a url"}}}
	if _, err := authenticator(context.Background(), nil, &f, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "issuer") || !strings.Contains(err.Error(), "audience") {
		t.Fatalf("err %v, want both problems reported", err)
	}
}

// TestServeNeedsPublicURLOffLoopback: outside dev mode the Host header is never reflected
// into links, so a hub listening on a non-loopback address must be told its public URL.
func TestServeNeedsPublicURLOffLoopback(t *testing.T) {
	var f serveFlags
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	f.register(fs, "127.0.0.1:0")
	if err := fs.Parse([]string{"--auth", "oidc"}); err != nil {
		t.Fatal(err)
	}
	_, err := newServer(context.Background(), nil, &f, slog.New(slog.DiscardHandler), io.Discard, "0.0.0.0:8080", nil)
	if err == nil || !strings.Contains(err.Error(), "--public-url") {
		t.Fatalf("err %v, want --public-url required", err)
	}
	f.publicURL = "https://hub.example.lg.jp"
	_, err = newServer(context.Background(), nil, &f, slog.New(slog.DiscardHandler), io.Discard, "0.0.0.0:8080", nil)
	if err == nil || strings.Contains(err.Error(), "--public-url") {
		t.Fatalf("err %v: with a public URL the next complaint is the missing issuers", err)
	}
}
