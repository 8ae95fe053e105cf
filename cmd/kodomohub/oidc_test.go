package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kodomohub/kodomohub/e2e/oidc"
	"github.com/kodomohub/kodomohub/store"
	"github.com/kodomohub/kodomohub/store/sqlite"
)

// TestServeOIDC runs `serve --auth oidc` with a config file that trusts a real OpenID
// provider (oidc-provider from npm) for two towns, and checks that staff tokens from it
// work for their own town only.
func TestServeOIDC(t *testing.T) {
	idp := oidc.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	dir := t.TempDir()
	st, err := sqlite.Open(dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, id := range []string{"misato", "kawajima"} {
		if err := st.CreateTenant(ctx, store.Tenant{ID: id, Name: id}); err != nil {
			t.Fatal(err)
		}
	}
	addr := freeAddr(t)
	base := "http://" + addr
	cfg := fmt.Sprintf(`listen: %s
auth: oidc
oidc:
  tenants:
    misato:
      - {issuer: %q, audience: %q, roleClaim: role, facilityClaim: facility, tenantClaim: tenant}
    kawajima:
      - {issuer: %q, audience: %q, roleClaim: role, facilityClaim: facility, tenantClaim: tenant}
`, addr, idp.Issuer, base+"/misato/fhir", idp.Issuer, base+"/kawajima/fhir")
	cfgPath := filepath.Join(t.TempDir(), "kodomohub.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var f serveFlags
	fs := newFlagSet("serve")
	f.register(fs, "127.0.0.1:8080")
	if _, err := parseArgs(fs, []string{"--config", cfgPath, "--data", dir}); err != nil {
		t.Fatal(err)
	}
	if err := f.merge(fs); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- serve(ctx, st, &f, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard, func(string) { close(ready) })
	}()
	select {
	case <-ready:
	case err := <-errc:
		t.Fatalf("serve: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not start")
	}

	token := func(client, tenant string) string {
		t.Helper()
		tok, err := idp.Token(ctx, client, "user/*.cruds", base+"/"+tenant+"/fhir")
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	do := func(method, path, tok, body string) int {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/fhir+json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	misato := token("staff-misato", "misato")
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
		"ErrOtherTownsToken":    {"/misato/fhir/Patient/p1", token("staff-kawajima", "kawajima")},
		"ErrTokenForOtherTown":  {"/kawajima/fhir/Patient/p1", misato},
		"ErrWrongAudience":      {"/misato/fhir/Patient/p1", token("staff-misato", "kawajima")},
		"ErrDevTokenNotTrusted": {"/misato/fhir/Patient/p1", mustDevToken(t, dir)},
	} {
		t.Run(name, func(t *testing.T) {
			if got := do("GET", c.path, c.tok, ""); got != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", got)
			}
		})
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("serve ended with %v", err)
	}
}

func mustDevToken(t *testing.T, dir string) string {
	t.Helper()
	var out strings.Builder
	if err := run(context.Background(), []string{"dev-token", "--data", dir, "--tenant", "misato", "--scope", "system/*.cruds"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	return lastLine(out.String())
}

func TestServeOIDCNeedsIssuers(t *testing.T) {
	var f serveFlags
	fs := newFlagSet("serve")
	f.register(fs, "127.0.0.1:0")
	if _, err := parseArgs(fs, []string{"--auth", "oidc"}); err != nil {
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
