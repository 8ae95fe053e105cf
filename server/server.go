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
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/kodomohub/kodomohub/audit"
	"github.com/kodomohub/kodomohub/importer"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kodomohub/kodomohub/auth"
	"github.com/kodomohub/kodomohub/fhir"
	"github.com/kodomohub/kodomohub/fhir/search"
	"github.com/kodomohub/kodomohub/ingest"
	"github.com/kodomohub/kodomohub/store"
)

// Validator checks a resource against the R4 definitions. It returns nil or a *fhir.Error
// whose issues name the elements at fault.
type Validator interface {
	Validate(raw []byte) error
}

// Limits bound what one request may ask of the server.
type Limits struct {
	// MaxBodyBytes is the largest request body (413 beyond it).
	MaxBodyBytes int64
	// MaxDepth is the deepest JSON nesting accepted.
	MaxDepth int
	// MaxBundleEntries is the largest transaction or batch.
	MaxBundleEntries int
	// DefaultCount and MaxCount bound page sizes.
	DefaultCount, MaxCount int
	// MaxURLBytes bounds the request URL (414 beyond it).
	MaxURLBytes int
	// MaxHeaderBytes bounds the request's header fields (431 beyond it, an OperationOutcome;
	// the HTTP server's own larger bound answers in plain text).
	MaxHeaderBytes int
	// BodyTimeout bounds the time a client takes to send the request body: a body shorter
	// than its Content-Length, or one sent too slowly, ends the request (408) instead of
	// holding the connection.
	BodyTimeout time.Duration
	// ReadTimeout is the budget of one read, search or history: beyond it the request is
	// refused as too costly (400) and its store work stopped, so that a heavy query costs its
	// sender, not everyone.
	ReadTimeout time.Duration
	// MaxImportBytes bounds one $import-source upload (413 beyond it), and ImportTimeout the
	// time its client takes to send it.
	MaxImportBytes int64
	ImportTimeout  time.Duration
}

// DefaultLimits are the limits used for zero fields of Config.Limits.
var DefaultLimits = Limits{
	MaxBodyBytes:     16 << 20,
	MaxDepth:         64,
	MaxBundleEntries: 1000,
	DefaultCount:     50,
	MaxCount:         1000,
	MaxURLBytes:      8 << 10,
	MaxHeaderBytes:   64 << 10,
	BodyTimeout:      30 * time.Second,
	ReadTimeout:      10 * time.Second,
	MaxImportBytes:   1 << 30,
	ImportTimeout:    10 * time.Minute,
}

// Config holds the server's dependencies.
type Config struct {
	Store     store.Store
	Validator Validator
	// Registry holds the search parameters; nil means search.Default().
	Registry *search.Registry
	Auth     auth.Authenticator
	// Guard decides every access; nil means a guard with the registry and no roster.
	Guard *auth.Guard
	// Audit receives one record per request that touches a tenant's data; nil records
	// nothing (unit tests of other concerns).
	Audit audit.Sink
	// AuditTimeout bounds the append of one audit record (default 5 s).
	AuditTimeout time.Duration
	// Tokens, when set, serves the SMART Backend Services token endpoint
	// /{tenant}/auth/token and the hub's token keys.
	Tokens *auth.TokenService
	// RateLimit is the per-principal request rate (a client's registration may set its own);
	// zero means no limit.
	RateLimit auth.Rate
	Limits    Limits
	// PublicURL is the externally visible base (scheme://host[:port][/prefix]) of every link
	// the server writes.
	PublicURL string
	// TrustHost derives the base from each request's Host header instead, when PublicURL is
	// empty: for dev mode and tests only, as a client chooses the Host it sends.
	TrustHost bool
	// FailedAuthRate bounds failed authentications per client address (every tenant, known or
	// not), and TokenRate the token requests per client address; zero fields mean defaults.
	FailedAuthRate, TokenRate auth.Rate
	Logger                    *slog.Logger
	// Registerer receives the HTTP metrics; Gatherer serves /metrics. Nil means a new registry.
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer
	Now        func() time.Time
	NewID      func() string
	Version    string
	// Specs and Decoders, when Specs is set, serve $import-source: the sources a town may
	// upload files of, and the decoders of their formats.
	Specs    *importer.Specs
	Decoders map[string]importer.Decoder
}

// Server is the FHIR REST API.
type Server struct {
	store        store.Store
	validator    Validator
	registry     *search.Registry
	authn        auth.Authenticator
	guard        *auth.Guard
	audit        audit.Sink
	tokens       *auth.TokenService
	limiter      *auth.RateLimiter
	rate         auth.Rate
	limits       Limits
	auditTimeout time.Duration
	publicURL    string
	trustHost    bool
	failLimiter  *auth.RateLimiter
	tokenLimiter *auth.RateLimiter
	log          *slog.Logger
	metrics      *metrics
	gatherer     prometheus.Gatherer
	now          func() time.Time
	newID        func() string
	version      string
	engine       *gin.Engine
	ingest       *ingest.Ingester
	importer     *importer.Importer // nil: no $import-source
	imports      importJobs
}

// Default rates of failed authentications and of token requests per client address: enough
// for a misconfigured client to see its errors, too few to try tokens or client keys at scale.
var (
	DefaultFailedAuthRate = auth.Rate{PerSecond: 5, Burst: 30}
	DefaultTokenRate      = auth.Rate{PerSecond: 5, Burst: 30}
)

func orRate(r, def auth.Rate) auth.Rate {
	if r.PerSecond > 0 {
		return r
	}
	return def
}

// New builds a Server.
func New(cfg Config) *Server {
	s := &Server{
		store: cfg.Store, validator: cfg.Validator, registry: cfg.Registry, authn: cfg.Auth, guard: cfg.Guard,
		audit: cfg.Audit, auditTimeout: cfg.AuditTimeout, tokens: cfg.Tokens,
		limiter: &auth.RateLimiter{Default: cfg.RateLimit},
		limits:  cfg.Limits, publicURL: cfg.PublicURL, trustHost: cfg.TrustHost, log: cfg.Logger,
		failLimiter:  &auth.RateLimiter{Default: orRate(cfg.FailedAuthRate, DefaultFailedAuthRate)},
		tokenLimiter: &auth.RateLimiter{Default: orRate(cfg.TokenRate, DefaultTokenRate)},
		now:          cfg.Now, newID: cfg.NewID, version: cfg.Version,
	}
	if s.registry == nil {
		s.registry = search.Default()
	}
	if s.guard == nil {
		s.guard = &auth.Guard{Registry: s.registry}
	}
	if s.auditTimeout <= 0 {
		s.auditTimeout = 5 * time.Second
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.publicURL == "" && !s.trustHost {
		s.publicURL = "http://localhost"
		s.log.Warn("server: neither PublicURL nor TrustHost is set; links name http://localhost")
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.newID == nil {
		s.newID = uuid.NewString
	}
	s.limits = withDefaults(s.limits)
	s.ingest = ingest.New(ingest.Config{Store: s.store, Validator: s.validator, Registry: s.registry, Guard: s.guard,
		MaxDepth: s.limits.MaxDepth, LockOwner: "serve-" + uuid.NewString(), Logger: s.log, Now: s.now, NewID: s.newID})
	if cfg.Specs != nil {
		// Imports run after their request: their writes are audited by ingest, one record
		// per transaction, as the caller's.
		w := ingest.New(ingest.Config{Store: s.store, Validator: s.validator, Registry: s.registry, Guard: s.guard,
			Audit: cfg.Audit, AuditTimeout: s.auditTimeout, MaxDepth: s.limits.MaxDepth, LockOwner: "import-" + uuid.NewString(),
			Logger: s.log, Now: s.now, NewID: s.newID})
		s.importer = &importer.Importer{Writer: w, Specs: cfg.Specs, Decoders: cfg.Decoders, Now: s.now,
			Exists: importer.StoreExists(s.store)}
	}
	reg, gat := cfg.Registerer, cfg.Gatherer
	if reg == nil {
		r := prometheus.NewRegistry()
		r.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), collectors.NewGoCollector())
		reg, gat = r, r
	}
	s.metrics = newMetrics(reg)
	s.gatherer = gat

	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.HandleMethodNotAllowed = false
	e.Use(s.recover, s.instrument)
	e.GET("/healthz", func(c *gin.Context) { c.String(http.StatusOK, "ok\n") })
	e.GET("/readyz", s.ready)
	e.GET("/metrics", gin.WrapH(promhttp.HandlerFor(gat, promhttp.HandlerOpts{})))
	e.Any("/:tenant/auth/token", s.token)
	e.GET("/:tenant/auth/jwks", s.jwks)
	e.Any("/:tenant/admin/clients", s.admin)
	e.Any("/:tenant/admin/clients/:id", s.admin)
	e.Any("/:tenant/fhir", s.fhir)
	e.Any("/:tenant/fhir/*path", s.fhir)
	e.NoRoute(func(c *gin.Context) {
		s.writeError(c, fhir.Errorf(fhir.KindNotFound, fhir.IssueNotFound, "no such endpoint: %s", c.Request.URL.Path))
	})
	s.engine = e
	return s
}

// Handler returns the http.Handler serving every route.
func (s *Server) Handler() http.Handler { return s.engine }

// Engine returns the gin engine, for mounting more routes (the dashboard) beside the API.
func (s *Server) Engine() *gin.Engine { return s.engine }

func withDefaults(l Limits) Limits {
	d := DefaultLimits
	if l.MaxBodyBytes > 0 {
		d.MaxBodyBytes = l.MaxBodyBytes
	}
	if l.MaxDepth > 0 {
		d.MaxDepth = l.MaxDepth
	}
	if l.MaxBundleEntries > 0 {
		d.MaxBundleEntries = l.MaxBundleEntries
	}
	if l.DefaultCount > 0 {
		d.DefaultCount = l.DefaultCount
	}
	if l.MaxCount > 0 {
		d.MaxCount = l.MaxCount
	}
	if l.MaxURLBytes > 0 {
		d.MaxURLBytes = l.MaxURLBytes
	}
	if l.ReadTimeout > 0 {
		d.ReadTimeout = l.ReadTimeout
	}
	if l.MaxImportBytes > 0 {
		d.MaxImportBytes = l.MaxImportBytes
	}
	if l.ImportTimeout > 0 {
		d.ImportTimeout = l.ImportTimeout
	}
	if l.MaxHeaderBytes > 0 {
		d.MaxHeaderBytes = l.MaxHeaderBytes
	}
	if l.BodyTimeout > 0 {
		d.BodyTimeout = l.BodyTimeout
	}
	return d
}

func (s *Server) ready(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.writeError(c, fhir.Wrap(err, fhir.KindUnavailable, fhir.IssueTransient, "storage unavailable"))
		return
	}
	c.String(http.StatusOK, "ready\n")
}

func (s *Server) recover(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			if r == http.ErrAbortHandler {
				panic(r)
			}
			s.log.Error("panic in handler", "panic", r, "path", c.Request.URL.Path)
			if !c.Writer.Written() {
				s.writeError(c, fhir.Errorf(fhir.KindInternal, fhir.IssueException, "internal server error"))
			}
			c.Abort()
		}
	}()
	c.Next()
}
