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

package oidc

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// Client is an OAuth client of the provider: one staff member's or system's credentials
// for one tenant. Scope lists every scope the client may get (oidc-provider drops any
// other requested scope without error).
type Client struct {
	ID       string `json:"client_id"`
	Secret   string `json:"client_secret"`
	Scope    string `json:"scope"`
	Tenant   string `json:"tenant,omitempty"`
	Role     string `json:"role,omitempty"`
	Facility string `json:"facility,omitempty"`
}

// DefaultClients are used when Start is given none.
var DefaultClients = []Client{
	{ID: "staff-misato", Secret: "staff-misato-secret", Tenant: "misato", Role: "municipal-staff",
		Scope: "user/*.cruds user/*.rs user/Patient.rs user/Observation.rs user/AuditEvent.rs"},
	{ID: "staff-kawajima", Secret: "staff-kawajima-secret", Tenant: "kawajima", Role: "municipal-staff",
		Scope: "user/*.cruds user/*.rs user/Patient.rs user/Observation.rs"},
	{ID: "auditor-misato", Secret: "auditor-misato-secret", Tenant: "misato", Role: "auditor",
		Scope: "user/AuditEvent.rs"},
	{ID: "nursery-misato", Secret: "nursery-misato-secret", Tenant: "misato", Role: "facility",
		Facility: "Organization/nursery-1", Scope: "user/Patient.rs user/Observation.cruds"},
}

// Provider is a running oidc-provider.
type Provider struct {
	// Issuer is the provider's issuer URL (http://127.0.0.1:PORT).
	Issuer string
	// TokenURL is its token endpoint.
	TokenURL string

	clients map[string]Client
}

// Dir is the folder with package.json and server.js.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}

// Start starts a provider serving clients (DefaultClients when none) and stops it when the
// test ends. It runs `npm ci` first when node_modules is missing (the npm registry must be
// reachable then). The test is skipped only when node is not installed.
func Start(tb testing.TB, clients ...Client) *Provider {
	tb.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		tb.Skip("node is not installed: the oidc-provider end-to-end tests need Node.js 20 or later")
	}
	if len(clients) == 0 {
		clients = DefaultClients
	}
	dir := Dir()
	if err := Install(dir); err != nil {
		tb.Fatal(err)
	}
	cj, err := json.Marshal(clients)
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(node, "server.js")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PORT=0", "KODOMOHUB_OIDC_CLIENTS="+string(cj))
	var stderr syncBuffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	type ready struct {
		Issuer string `json:"issuer"`
	}
	got := make(chan ready, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var r ready
			if json.Unmarshal(sc.Bytes(), &r) == nil && r.Issuer != "" {
				got <- r
				break
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	var r ready
	select {
	case r = <-got:
	case <-time.After(60 * time.Second):
		tb.Fatalf("oidc-provider did not start within 60s; stderr:\n%s", stderr.String())
	}
	p := &Provider{Issuer: r.Issuer, clients: map[string]Client{}}
	for _, c := range clients {
		p.clients[c.ID] = c
	}
	if err := p.waitDiscovery(30 * time.Second); err != nil {
		tb.Fatalf("%v; stderr:\n%s", err, stderr.String())
	}
	return p
}

func (p *Provider) waitDiscovery(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		resp, err := http.Get(p.Issuer + "/.well-known/openid-configuration")
		if err == nil {
			var doc struct {
				Issuer   string `json:"issuer"`
				TokenURL string `json:"token_endpoint"`
			}
			derr := json.NewDecoder(resp.Body).Decode(&doc)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && derr == nil && doc.Issuer == p.Issuer {
				p.TokenURL = doc.TokenURL
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("oidc-provider discovery at %s not ready: %v", p.Issuer, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Token returns a JWT access token for clientID with the requested scope (space
// separated) and audience resource (the hub's tenant FHIR base, for instance), from the
// client_credentials grant.
func (p *Provider) Token(ctx context.Context, clientID, scope, resource string) (string, error) {
	c, ok := p.clients[clientID]
	if !ok {
		return "", fmt.Errorf("oidc: no client %q", clientID)
	}
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {scope}, "resource": {resource}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(c.ID), url.QueryEscape(c.Secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var tr struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.Unmarshal(body, &tr); err != nil {
		return "", fmt.Errorf("oidc: token response %d: %s", resp.StatusCode, body)
	}
	if resp.StatusCode != http.StatusOK || tr.AccessToken == "" {
		return "", fmt.Errorf("oidc: token: %d %s: %s", resp.StatusCode, tr.Error, tr.Description)
	}
	return tr.AccessToken, nil
}

var installMu sync.Mutex

// Install runs `npm ci` (or `npm install` without a lock file) in dir when its node_modules
// lacks oidc-provider. Concurrent test processes are serialised by a lock file.
func Install(dir string) error {
	installMu.Lock()
	defer installMu.Unlock()
	installed := func() bool {
		_, err := os.Stat(filepath.Join(dir, "node_modules", "oidc-provider", "package.json"))
		return err == nil
	}
	if installed() {
		return nil
	}
	unlock, err := lockFile(filepath.Join(dir, ".npm-install.lock"))
	if err != nil {
		return err
	}
	defer unlock()
	if installed() { // another process installed it while we waited
		return nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return errors.New("oidc: npm is not installed (it comes with Node.js)")
	}
	args := []string{"ci", "--no-audit", "--no-fund"}
	if _, err := os.Stat(filepath.Join(dir, "package-lock.json")); err != nil {
		args[0] = "install"
	}
	cmd := exec.Command(npm, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("oidc: npm %s in %s: %v\n%s", args[0], dir, err, out.String())
	}
	return nil
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
