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

package ingest

import (
	"context"
	"log/slog"
	"time"

	"github.com/kodomohub/kodomohub/audit"

	"github.com/google/uuid"

	"github.com/kodomohub/kodomohub/auth"
	"github.com/kodomohub/kodomohub/fhir"
	"github.com/kodomohub/kodomohub/fhir/search"
	"github.com/kodomohub/kodomohub/store"
)

// Store is what ingest needs of the storage; store.Store satisfies it.
type Store interface {
	Commit(ctx context.Context, tenant string, writes []store.Write) ([]store.Result, error)
	Read(ctx context.Context, tenant, typ, id string) (fhir.Resource, error)
	VRead(ctx context.Context, tenant, typ, id string, version int64) (fhir.Resource, error)
	Search(ctx context.Context, tenant string, q *search.Query, opts store.SearchOptions) (store.SearchPage, error)
	ClaimLease(ctx context.Context, tenant, consumer, owner string, ttl time.Duration) (store.Lease, error)
	ReleaseLease(ctx context.Context, tenant, consumer, owner string) error
}

// Validator checks a resource body against the R4 definitions: nil, or a *fhir.Error whose
// issues name the elements at fault. *conformance.Validator is one.
type Validator interface {
	Validate(raw []byte) error
}

// Guard gives the access decisions of one principal in one town; *auth.Guard is one. The
// view's Decide is asked for every entry and every resource a write touches.
type Guard interface {
	View(ctx context.Context, p *auth.Principal, tenant string, decl auth.Declared) *auth.View
}

// Recorder receives the decisions of one call, for the audit record of the request that
// carries it (the REST server's record of an HTTP request). Decided gets every decision,
// Accessed every allowed access to a resource (its patients, a break-glass).
type Recorder interface {
	Decided(d auth.Decision)
	Accessed(t auth.Target, d auth.Decision)
}

// Config holds an Ingester's dependencies.
type Config struct {
	Store     Store
	Validator Validator
	// Registry extracts the search index entries; nil means search.Default().
	Registry *search.Registry
	// Guard decides every access; nil means a guard with the registry and no roster.
	Guard Guard
	// Audit receives the audit record of each call made without a Recorder (adapters, the
	// risk engine, linkage, handover); nil records nothing.
	Audit audit.Sink
	// AuditTimeout bounds the append of one audit record (default 5 s).
	AuditTimeout time.Duration
	// MaxDepth is the deepest JSON nesting accepted (default fhir.DefaultLimits).
	MaxDepth int
	// LockOwner names this process's conditional-write leases; "" means a fresh one.
	LockOwner string
	Logger    *slog.Logger
	Now       func() time.Time
	NewID     func() string
}

// Ingester is the one write path. It is safe for concurrent use; share one per process (its
// conditional-write locks serialise the conditional writes of the process).
type Ingester struct {
	store        Store
	validator    Validator
	registry     *search.Registry
	guard        Guard
	audit        audit.Sink
	auditTimeout time.Duration
	limits       fhir.Limits
	log          *slog.Logger
	now          func() time.Time
	newID        func() string
	cond         condLocks
}

// New builds an Ingester.
func New(cfg Config) *Ingester {
	in := &Ingester{store: cfg.Store, validator: cfg.Validator, registry: cfg.Registry, guard: cfg.Guard,
		audit: cfg.Audit, auditTimeout: cfg.AuditTimeout, limits: fhir.Limits{MaxDepth: cfg.MaxDepth},
		log: cfg.Logger, now: cfg.Now, newID: cfg.NewID, cond: condLocks{owner: cfg.LockOwner}}
	if in.registry == nil {
		in.registry = search.Default()
	}
	if in.guard == nil {
		in.guard = &auth.Guard{Registry: in.registry}
	}
	if in.auditTimeout <= 0 {
		in.auditTimeout = 5 * time.Second
	}
	if in.limits.MaxDepth <= 0 {
		in.limits = fhir.DefaultLimits
	}
	if in.log == nil {
		in.log = slog.Default()
	}
	if in.now == nil {
		in.now = time.Now
	}
	if in.newID == nil {
		in.newID = uuid.NewString
	}
	if in.cond.owner == "" {
		in.cond.owner = "ingest-" + uuid.NewString()
	}
	return in
}

// Request is who writes, where, and how the outcome is recorded: what does not change from
// entry to entry of one call.
type Request struct {
	Tenant    store.Tenant
	Principal *auth.Principal
	Declared  auth.Declared
	// Base is the tenant's FHIR base URL as the caller names it: absolute references under it
	// are local, and absolute bundle request URLs must start with it. May be "".
	Base string
	// View, when set, is the principal's view already taken for this request (the REST
	// server's); otherwise ingest takes one from the Guard for the call.
	View *auth.View
	// Recorder, when set, receives the decisions and the caller writes the audit record
	// (the REST server, whose record covers the whole HTTP request). Otherwise ingest appends
	// one record per call to Config.Audit, with the fields REST gives the same interaction.
	Recorder Recorder
	// Matches, when set, runs the search of a conditional operation or reference as the
	// caller and returns up to two matches the caller may see (the REST server passes its
	// search, with chains and _has). Otherwise ingest searches the store itself, as the
	// caller, without chained or _has criteria.
	Matches func(ctx context.Context, typ, criteria string) ([]fhir.Resource, error)
	// Address and RequestID go to the audit record ingest writes (the source of the data:
	// an adapter's file, a client address).
	Address, RequestID string
	// DryRun checks, decides and audits every write as usual but stores nothing: an
	// outcome's Resource is the body that would have been written (unstamped), and checks
	// that only the store makes (strict referential integrity, If-Match) are not made.
	DryRun bool
}

// Outcome is what one operation or bundle entry did.
type Outcome struct {
	// Resource is the version written (a delete version for a delete), the resource a
	// conditional create found (Existing), or the version a GET entry read.
	Resource fhir.Resource
	// Created: the write made a resource exist that did not (create, or update of a missing
	// or deleted resource).
	Created bool
	// Existing: a conditional create found Resource; nothing was written.
	Existing bool
	// Noop: a delete found nothing to delete (or nothing the caller may see).
	Noop bool
	// Unchanged: an update or patch whose result is the current version's content (meta's
	// versionId and lastUpdated aside); nothing was written and Resource is that version.
	// Importing a file again creates no versions.
	Unchanged bool
	// Read: a GET entry; Resource is what it read.
	Read bool
	// Searchset is the result of a GET Type?params entry, from the caller's SearchEntry.
	Searchset []byte
	// Err is the failure of this entry alone: a batch entry, or a search entry run after
	// its transaction committed.
	Err error
}

// call is one call's state: the request with its view and its record.
type call struct {
	*Ingester
	ctx  context.Context
	req  *Request
	view *auth.View
	rec  Recorder
	own  *trail // the record ingest writes itself, when the request has no Recorder
}

func (in *Ingester) start(ctx context.Context, req *Request) *call {
	c := &call{Ingester: in, ctx: ctx, req: req, view: req.View, rec: req.Recorder}
	if c.view == nil {
		c.view = in.guard.View(ctx, req.Principal, req.Tenant.ID, req.Declared)
	}
	if c.rec == nil {
		c.own = &trail{log: in.log, tenant: req.Tenant.ID}
		c.rec = c.own
	}
	return c
}

func (c *call) tenant() string { return c.req.Tenant.ID }

func (c *call) strict() bool { return c.req.Tenant.ReferentialIntegrity != store.IntegrityOff }
