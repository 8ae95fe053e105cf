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
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime/debug"
	"time"

	"github.com/kodomohub/kodomohub/audit"

	"github.com/goccy/go-yaml"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kodomohub/kodomohub/auth"
	"github.com/kodomohub/kodomohub/conformance"
	"github.com/kodomohub/kodomohub/server"
	"github.com/kodomohub/kodomohub/store"
)

// fileConfig is the --config file (YAML; JSON is YAML too). Flags given on the command line
// override it.
type fileConfig struct {
	Listen    string `yaml:"listen"`
	PublicURL string `yaml:"publicURL"`
	Auth      string `yaml:"auth"`
	Data      string `yaml:"data"`
	Limits    struct {
		MaxBodyBytes     int64         `yaml:"maxBodyBytes"`
		MaxDepth         int           `yaml:"maxDepth"`
		MaxBundleEntries int           `yaml:"maxBundleEntries"`
		DefaultCount     int           `yaml:"defaultCount"`
		MaxCount         int           `yaml:"maxCount"`
		MaxURLBytes      int           `yaml:"maxURLBytes"`
		ReadTimeout      time.Duration `yaml:"readTimeout"`
	} `yaml:"limits"`
	SQLite struct {
		Synchronous string `yaml:"synchronous"`
	} `yaml:"sqlite"`
	Mongo struct {
		URI          string        `yaml:"uri"`
		Database     string        `yaml:"database"`
		WriteConcern string        `yaml:"writeConcern"`
		ReadConcern  string        `yaml:"readConcern"`
		Timeout      time.Duration `yaml:"timeout"`
		Pool         uint64        `yaml:"pool"`
	} `yaml:"mongo"`
	LogLevel string `yaml:"logLevel"`
	// RateLimit is the default per-client request rate (a client registration may set its
	// own); zero means none.
	RateLimit struct {
		PerSecond float64 `yaml:"perSecond"`
		Burst     int     `yaml:"burst"`
	} `yaml:"rateLimit"`
	// OIDC lists, per tenant, the identity providers whose tokens --auth oidc trusts.
	OIDC struct {
		Tenants map[string][]issuerConfig `yaml:"tenants"`
	} `yaml:"oidc"`
	Audit auditConfig `yaml:"audit"` // auditcfg.go
}

// issuerConfig is one trusted identity provider of a tenant (auth.IssuerConfig).
type issuerConfig struct {
	Issuer            string `yaml:"issuer"`
	Audience          string `yaml:"audience"`
	ClientID          string `yaml:"clientID"`
	JWKSURL           string `yaml:"jwksURL"`
	RoleClaim         string `yaml:"roleClaim"`
	FacilityClaim     string `yaml:"facilityClaim"`
	FacilityKindClaim string `yaml:"facilityKindClaim"`
	TenantClaim       string `yaml:"tenantClaim"`
	ScopeClaim        string `yaml:"scopeClaim"`
}

// issuers turns the config file's oidc section into the authenticator's source, checking
// every entry.
func (fc *fileConfig) issuers() (auth.StaticIssuers, error) {
	out := auth.StaticIssuers{}
	var errs []error
	for tenant, list := range fc.OIDC.Tenants {
		for i, ic := range list {
			u, err := url.Parse(ic.Issuer)
			if err != nil || u.Scheme == "" || u.Host == "" {
				errs = append(errs, fmt.Errorf("oidc.tenants.%s[%d].issuer: want an absolute URL, not %q", tenant, i, ic.Issuer))
			}
			if ic.Audience == "" {
				errs = append(errs, fmt.Errorf("oidc.tenants.%s[%d].audience: required (usually the tenant's FHIR base URL)", tenant, i))
			}
			out[tenant] = append(out[tenant], auth.IssuerConfig{Issuer: ic.Issuer, Audience: ic.Audience, ClientID: ic.ClientID,
				JWKSURL: ic.JWKSURL, RoleClaim: ic.RoleClaim, FacilityClaim: ic.FacilityClaim,
				FacilityKindClaim: ic.FacilityKindClaim, TenantClaim: ic.TenantClaim, ScopeClaim: ic.ScopeClaim})
		}
	}
	return out, errors.Join(errs...)
}

func loadConfig(path string) (fileConfig, error) {
	var fc fileConfig
	if path == "" {
		return fc, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return fc, err
	}
	if err := yaml.UnmarshalWithOptions(b, &fc, yaml.Strict()); err != nil {
		return fc, fmt.Errorf("%s: %w", path, err)
	}
	return fc, nil
}

type serveFlags struct {
	listen, authMode, config, publicURL, logLevel string
	cpuProfile                                    string
	storage                                       storageFlags
	limits                                        server.Limits
	rate                                          auth.Rate
	audit                                         auditFlags
	file                                          fileConfig // the --config file, as read
}

func (f *serveFlags) register(fs *pflag.FlagSet, defaultListen string) {
	fs.StringVar(&f.listen, "listen", defaultListen, "address to listen on")
	fs.StringVar(&f.authMode, "auth", "oidc", "authentication: oidc, or dev (tokens from kodomohub dev-token; loopback only)")
	fs.StringVar(&f.config, "config", "", "YAML configuration file")
	fs.StringVar(&f.publicURL, "public-url", "", "externally visible base URL (required on a non-loopback address; default: http://LISTEN-ADDRESS)")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file (for benchmarks)")
	fs.Int64Var(&f.limits.MaxBodyBytes, "max-body-bytes", server.DefaultLimits.MaxBodyBytes, "largest request body")
	fs.IntVar(&f.limits.MaxDepth, "max-json-depth", server.DefaultLimits.MaxDepth, "deepest JSON nesting accepted")
	fs.IntVar(&f.limits.MaxBundleEntries, "max-bundle-entries", server.DefaultLimits.MaxBundleEntries, "largest transaction or batch")
	fs.Float64Var(&f.rate.PerSecond, "rate-limit", 0, "default requests per second per client or user (0: no limit; a client registration may set its own)")
	fs.IntVar(&f.rate.Burst, "rate-burst", 0, "burst of the default rate limit (default: 2 s worth)")
	f.storage.register(fs)
	f.audit.register(fs)
	f.storage.audit = &f.audit
}

// merge applies the config file to every flag the command line did not set.
func (f *serveFlags) merge(fs *pflag.FlagSet) error {
	fc, err := loadConfig(f.config)
	if err != nil {
		return err
	}
	f.file = fc
	set := map[string]bool{}
	fs.Visit(func(fl *pflag.Flag) { set[fl.Name] = true })
	str := func(name string, dst *string, v string) {
		if !set[name] && v != "" {
			*dst = v
		}
	}
	str("listen", &f.listen, fc.Listen)
	str("auth", &f.authMode, fc.Auth)
	str("public-url", &f.publicURL, fc.PublicURL)
	str("log-level", &f.logLevel, fc.LogLevel)
	str("data", &f.storage.data, fc.Data)
	str("sqlite-synchronous", &f.storage.sync, fc.SQLite.Synchronous)
	str("mongo-uri", &f.storage.mongoURI, fc.Mongo.URI)
	str("mongo-db", &f.storage.mongoDB, fc.Mongo.Database)
	str("mongo-write-concern", &f.storage.mongoWrite, fc.Mongo.WriteConcern)
	str("mongo-read-concern", &f.storage.mongoRead, fc.Mongo.ReadConcern)
	if !set["mongo-timeout"] && fc.Mongo.Timeout > 0 {
		f.storage.mongoTimeout = fc.Mongo.Timeout
	}
	if !set["mongo-pool"] && fc.Mongo.Pool > 0 {
		f.storage.mongoPool = fc.Mongo.Pool
	}
	if !set["max-body-bytes"] && fc.Limits.MaxBodyBytes > 0 {
		f.limits.MaxBodyBytes = fc.Limits.MaxBodyBytes
	}
	if !set["max-json-depth"] && fc.Limits.MaxDepth > 0 {
		f.limits.MaxDepth = fc.Limits.MaxDepth
	}
	if !set["max-bundle-entries"] && fc.Limits.MaxBundleEntries > 0 {
		f.limits.MaxBundleEntries = fc.Limits.MaxBundleEntries
	}
	f.limits.DefaultCount, f.limits.MaxCount = fc.Limits.DefaultCount, fc.Limits.MaxCount
	f.limits.MaxURLBytes, f.limits.ReadTimeout = fc.Limits.MaxURLBytes, fc.Limits.ReadTimeout
	if !set["rate-limit"] && fc.RateLimit.PerSecond > 0 {
		f.rate.PerSecond = fc.RateLimit.PerSecond
	}
	if !set["rate-burst"] && fc.RateLimit.Burst > 0 {
		f.rate.Burst = fc.RateLimit.Burst
	}
	if f.rate.PerSecond > 0 && f.rate.Burst <= 0 {
		f.rate.Burst = int(math.Ceil(2 * f.rate.PerSecond))
	}
	f.audit.merge(set, fc.Audit)
	return nil
}

func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("%w: --log-level: %v", errUsage, err)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

func newServeCmd() *cobra.Command {
	var f serveFlags
	c := &cobra.Command{
		Use:   "serve",
		Short: "Run the FHIR server, on the embedded store or on MongoDB",
		Long: `Serve the FHIR R4 API of every tenant, on the embedded store (--data DIR, the default)
or on MongoDB (--mongo-uri URI). Settings come from flags, or from the YAML file given with
--config (flags win; see the README for the file's keys).

--auth oidc (the default) accepts access tokens from the identity providers the config file
trusts for each town; --auth dev accepts tokens minted by kodomohub dev-token for the same
data, and only on a loopback address. Both accept the hub's own SMART Backend Services
tokens. The server stops cleanly on SIGINT or SIGTERM.`,
		Example: `  kodomohub serve --data /var/lib/kodomohub --config /etc/kodomohub/kodomohub.yaml
  kodomohub serve --auth dev --listen 127.0.0.1:8080 --data ./data`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return runServe(c.Context(), c.Flags(), &f, c.OutOrStdout(), c.ErrOrStderr())
		},
	}
	f.register(c.Flags(), "127.0.0.1:8080")
	return c
}

func runServe(ctx context.Context, fs *pflag.FlagSet, f *serveFlags, stdout, stderr io.Writer) error {
	if err := f.merge(fs); err != nil {
		return err
	}
	log, err := newLogger(stderr, f.logLevel)
	if err != nil {
		return err
	}
	tuneGC(log)
	st, err := f.storage.open(log)
	if err != nil {
		return err
	}
	defer st.Close()
	return serve(ctx, st, f, log, stdout, nil)
}

// serve runs the HTTP server on st until ctx ends. ready, when set, is called with the bound
// address once the listener is open.
func serve(ctx context.Context, st store.Store, f *serveFlags, log *slog.Logger, stdout io.Writer, ready func(addr string)) error {
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return err
	}
	defer ln.Close()
	metrics, stopOutbox, err := startOutbox(ctx, st, log) // outbox.go
	if err != nil {
		return err
	}
	defer stopOutbox()
	srv, err := newServer(ctx, st, f, log, stdout, ln.Addr().String(), metrics)
	if err != nil {
		return err
	}
	stopCheckpoints, err := f.audit.startCheckpoints(st, f.storage.data, log) // the last ones once requests have stopped
	if err != nil {
		return err
	}
	defer stopCheckpoints()
	stop, err := startCPUProfile(f.cpuProfile)
	if err != nil {
		return err
	}
	defer stop()
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	log.Info("kodomohub listening", "addr", ln.Addr().String(), "version", version)
	if ready != nil {
		ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// newServer wires the server: authentication (the configured people's tokens and the hub's
// own backend-services tokens), the access policy with the roster kept in the store, the
// audit trail and the token endpoint. addr is the address listened on, the public base when
// --public-url is not set; metrics, when set, is the registry /metrics serves.
func newServer(ctx context.Context, st store.Store, f *serveFlags, log *slog.Logger, stdout io.Writer, addr string, metrics *prometheus.Registry) (*server.Server, error) {
	// The Host header is never reflected into links outside dev mode: on a loopback address
	// the listener is the public base; anywhere else the operator must say what it is.
	base := f.publicURL
	if base == "" && f.authMode != "dev" && !loopback(addr) {
		return nil, fmt.Errorf("%w: --public-url (publicURL in the config) is required when listening on %s, a non-loopback address: links must not be built from the request's Host header", errUsage, addr)
	}
	if base == "" {
		base = "http://" + addr
	}
	people, err := authenticator(ctx, st, f, stdout)
	if err != nil {
		return nil, err
	}
	validator, err := conformance.NewValidator()
	if err != nil {
		return nil, err
	}
	tokens, err := auth.NewTokenService(ctx, st, auth.StoreClients{Records: st}, auth.StoreReplay{Records: st}, base)
	if err != nil {
		return nil, err
	}
	cfg := server.Config{
		Store:     st,
		Validator: validator,
		Auth:      auth.Chain(people, tokens),
		Guard:     &auth.Guard{Roster: &auth.StoreRoster{Store: st}},
		Audit:     audit.StoreSink{Log: st},
		Tokens:    tokens,
		RateLimit: f.rate,
		Limits:    f.limits,
		PublicURL: base,
		TrustHost: f.authMode == "dev" && f.publicURL == "",
		Logger:    log,
		Version:   version,
	}
	if metrics != nil {
		cfg.Registerer, cfg.Gatherer = metrics, metrics
	}
	return server.New(cfg), nil
}

// authenticator builds the configured authentication. Dev mode refuses non-loopback
// addresses: its tokens are minted by anyone who can read the data.
func authenticator(ctx context.Context, st store.Store, f *serveFlags, stdout io.Writer) (auth.Authenticator, error) {
	switch f.authMode {
	case "dev":
		if !loopback(f.listen) {
			return nil, fmt.Errorf("--auth dev listens on loopback addresses only (127.0.0.1, [::1], localhost), not %q", f.listen)
		}
		fmt.Fprintln(stdout, "*** DEV AUTH: tokens from `kodomohub dev-token` are accepted. Never use this with real data. ***")
		return auth.NewDev(ctx, st)
	case "oidc":
		issuers, err := f.file.issuers()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.config, err)
		}
		if len(issuers) == 0 {
			return nil, fmt.Errorf("--auth oidc needs trusted issuers: list them per tenant under oidc.tenants in the --config file")
		}
		return auth.NewOIDC(issuers), nil
	}
	return nil, fmt.Errorf("%w: --auth must be oidc or dev", errUsage)
}

func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Garbage collector settings of serve, unless GOGC or GOMEMLIMIT say otherwise. The Go heap of
// a server is small (≈ 13 MB live under the search benchmark; SQLite's page caches are outside
// it) while every request allocates, so with GOGC=100 the collector ran ≈ 40 times a second and
// took ≈ 10 % of the CPU. serveGCPercent lets the heap grow to 5× the live data between cycles
// (tens of MB); serveMemoryLimit makes the collector run as often as needed once the heap nears
// it, so a burst of large bundles cannot take the process far past it.
const (
	serveGCPercent   = 400
	serveMemoryLimit = 512 << 20
)

func tuneGC(log *slog.Logger) {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(serveGCPercent)
		log.Debug("garbage collector", "GOGC", serveGCPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(serveMemoryLimit)
		log.Debug("garbage collector", "GOMEMLIMIT", serveMemoryLimit)
	}
}
