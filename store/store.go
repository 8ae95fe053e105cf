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

package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kodomohub/kodomohub/fhir"
	"github.com/kodomohub/kodomohub/fhir/search"
)

// Sentinel errors. Backends return them (possibly wrapped); callers test with errors.Is.
var (
	// ErrNotFound: no such tenant, resource or version.
	ErrNotFound = errors.New("store: not found")
	// ErrGone: the resource's current version is a delete.
	ErrGone = errors.New("store: resource deleted")
	// ErrVersionConflict: a write's IfMatch did not name the current version.
	ErrVersionConflict = errors.New("store: version conflict")
	// ErrExists: a create named an id that is taken, or a tenant id is taken.
	ErrExists = errors.New("store: already exists")
	// ErrReference: a reference to a resource of the same tenant does not resolve (strict tenants).
	ErrReference = errors.New("store: unresolved reference")
	// ErrUnavailable: the backend cannot be reached now; the request may be retried.
	ErrUnavailable = errors.New("store: unavailable")
	// ErrCursor: a search cursor is malformed, was not issued by this store, or belongs to
	// another tenant or query. Backends return it wrapped in a *fhir.Error of kind invalid.
	ErrCursor = errors.New("store: invalid search cursor")
)

// Referential integrity modes of a tenant.
const (
	IntegrityStrict = "strict"
	IntegrityOff    = "off"
)

// ValidTenantID reports whether id can name a tenant: 1–32 of [a-z0-9-]. Every backend
// refuses to create a tenant with another id (CheckTenant), so a request naming one is for no
// town. The id is a file name (store/sqlite) and a key prefix (store/mongo) as it is.
func ValidTenantID(id string) bool {
	if len(id) == 0 || len(id) > 32 {
		return false
	}
	for _, c := range []byte(id) {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// CheckTenant checks a tenant before a backend creates or updates it: an id ValidTenantID
// accepts, a ReferentialIntegrity of IntegrityStrict or IntegrityOff and an LGCode that is
// empty or ValidLGCode. It returns t with an empty ReferentialIntegrity set to
// IntegrityStrict, the default.
func CheckTenant(t Tenant) (Tenant, error) {
	if t.LGCode != "" && !ValidLGCode(t.LGCode) {
		return t, fmt.Errorf("store: local government code %q: want 6 digits whose last is the check digit of the first 5", t.LGCode)
	}
	if !ValidTenantID(t.ID) {
		return t, fmt.Errorf("store: tenant id %q: want 1-32 of [a-z0-9-]", t.ID)
	}
	switch t.ReferentialIntegrity {
	case "":
		t.ReferentialIntegrity = IntegrityStrict
	case IntegrityStrict, IntegrityOff:
	default:
		return t, fmt.Errorf("store: referential integrity %q: want strict or off", t.ReferentialIntegrity)
	}
	return t, nil
}

// ValidLGCode reports whether code is a local government code (全国地方公共団体コード): 5
// digits and their check digit (weights 6, 5, 4, 3, 2; 11 minus the sum modulo 11, its last
// digit). Misato is 113816, Kawajima 113468.
func ValidLGCode(code string) bool {
	if len(code) != 6 {
		return false
	}
	sum := 0
	for i := range 6 {
		if code[i] < '0' || code[i] > '9' {
			return false
		}
		if i < 5 {
			sum += int(code[i]-'0') * (6 - i)
		}
	}
	return int(code[5]-'0') == (11-sum%11)%10
}

// Tenant is one town.
type Tenant struct {
	ID   string
	Name string
	// ReferentialIntegrity is IntegrityStrict (default) or IntegrityOff.
	ReferentialIntegrity string
	// LGCode is the town's 6-digit local government code (全国地方公共団体コード, with its
	// check digit), which the town's identifier systems carry; "" until it is set.
	LGCode  string
	Created time.Time
}

// Action says what a write or change event did.
type Action string

// Write actions.
const (
	Create Action = "create"
	Update Action = "update"
	Delete Action = "delete"
)

// Key names a resource within a tenant.
type Key struct{ Type, ID string }

func (k Key) String() string { return k.Type + "/" + k.ID }

// Write is one resource change inside a Commit.
type Write struct {
	Type, ID string
	// Action is Create (the id must be free: ErrExists otherwise), Update (creates the
	// resource when it does not exist, or when its current version is a delete) or Delete
	// (a no-op when the resource does not exist or is already deleted).
	Action Action
	// IfMatch, when non-zero, is the version the current version must be (ErrVersionConflict).
	IfMatch int64
	// Resource is the JSON body for Create and Update. The store stamps id, meta.versionId
	// and meta.lastUpdated (fhir.Stamp); the caller has validated it.
	Resource []byte
	// Index holds the search index entries of Resource.
	Index []search.Entry
	// Refs are the local references of Resource. On a strict tenant each must name a resource
	// whose current version is not a delete, or one created in the same Commit (ErrReference).
	Refs []Key
	// Method is the request that made the write, as Bundle.entry.request.method names it
	// (POST, PUT, PATCH, DELETE). The store keeps it with the version, for history.
	Method string
}

// Result is the outcome of one Write.
type Result struct {
	// Resource is the version written; for a no-op delete it has Deleted set and Version 0.
	Resource fhir.Resource
	// Created is true when the write made a resource exist that did not (create, or update
	// of a missing or deleted resource).
	Created bool
	// Noop is true for a delete of a missing or deleted resource: nothing was written.
	Noop bool
}

// WriteError says which write of a Commit failed. Err wraps a sentinel.
type WriteError struct {
	Index int
	Key   Key
	Err   error
}

func (e *WriteError) Error() string { return fmt.Sprintf("write %d (%s): %v", e.Index, e.Key, e.Err) }
func (e *WriteError) Unwrap() error { return e.Err }

// Event is one change event (outbox entry). Action is what the write did: Create when the
// resource did not exist or was deleted before (also for an Update), Update, or Delete. Time
// is the version's lastUpdated.
type Event struct {
	Seq     int64
	Type    string
	ID      string
	Version int64
	Action  Action
	Time    time.Time
}

// HistoryQuery selects versions for the history interaction. Type and ID narrow it to a type
// or an instance; both empty means the whole tenant. The history of an instance that never
// existed is ErrNotFound (a deleted one still has its history).
type HistoryQuery struct {
	Type, ID string
	// Since keeps versions with lastUpdated >= Since.
	Since time.Time
	// At keeps the versions that were current at that instant (lastUpdated <= At and no later
	// version with lastUpdated <= At); a delete version current then is listed too.
	At time.Time
	// Count is the page size (a backend may cap it).
	Count int
	// Before continues a listing: only versions with a change sequence below it. Zero starts
	// with the newest.
	Before int64
}

// HistoryPage is one page of history, newest first.
type HistoryPage struct {
	Versions []fhir.Resource
	// Seqs[i] is the change sequence of Versions[i].
	Seqs []int64
	// Requests[i] says how Versions[i] was written.
	Requests []VersionRequest
	// Next is the Before value of the following page, or 0 at the end.
	Next int64
}

// VersionRequest is how a version was written, for its history entry.
type VersionRequest struct {
	// Method is the Write.Method of the version; empty for versions written without one
	// (before the stores kept it).
	Method string
	// Created is true when the version made the resource exist: its first version, or the
	// first after a delete.
	Created bool
}

// SearchOptions are the server's settings of one Search.
type SearchOptions struct {
	// Count is the page size to use when q.Count < 0 (the server's default); the store may
	// cap it. Zero means the store's default.
	Count int
	// Compartment, when set, restricts results to resources in the compartment of Type/ID
	// for one of the IDs: a resource of type T matches when one of its reference entries
	// (KindValue) of the params Params[T] has System == Type and Value in IDs (plus the
	// compartment owners themselves when IncludeOwner). Types without params are not in the
	// compartment.
	Compartment *Compartment
	// Visible, when set, decides whether the caller may see a resource. The store does not
	// leave out the page's matches it refuses (the caller decides those, with its own
	// bookkeeping) but follows _include and _revinclude only from and to resources it
	// accepts, and reports in SearchPage.NextVisible whether the next page's first match is
	// one it accepts. It is called on the request's goroutine.
	Visible func(fhir.Resource) bool
}

// Compartment is a compartment (R4 CompartmentDefinition) instance, Patient/123, with the
// reference parameters that put each resource type in it; or the union of several such
// instances of one type (a facility's roster: Patient/123, Patient/456, …).
type Compartment struct {
	Type string
	// IDs are the owners' ids; none means an empty compartment. A backend may refuse a
	// list too long to run as one query (a fhir.Error with code too-costly).
	IDs []string
	// Params maps a resource type to its parameters that link it to the compartment owner
	// ("Observation": {"subject", "performer"}).
	Params map[string][]string
	// IncludeOwner adds the owner resources (Patient/123 itself).
	IncludeOwner bool
	// Narrowing says that the compartment is not part of the query but the part of the
	// tenant a caller may see (a facility's roster): a cursor stays valid when IDs change
	// between pages (a child joined or left the roster), as the keyset paging allows.
	Narrowing bool
}

// SearchPage is one page of search results.
type SearchPage struct {
	// Resources are the matches in order: by q.Sort, then by a stable tiebreak of the store
	// (insertion order for store/sqlite). Without q.Sort the order is the tiebreak alone.
	Resources []fhir.Resource
	// Included are the _include and _revinclude results of this page: deduplicated, never
	// one of Resources.
	Included []fhir.Resource
	// Total is the number of matches when q.Total is accurate (exact) or estimate (may be
	// approximate), or when q.Summary is "count"; -1 otherwise.
	Total int64
	// Next is the opaque cursor of the following page (passed back in q.Cursor with the
	// same query), "" at the end.
	Next string
	// NextVisible, when Next is set, reports whether the first match of the next page passes
	// SearchOptions.Visible (true without Visible). When it is false the caller reads on to
	// learn whether a match it may see follows.
	NextVisible bool
}

// Store is the storage contract. All methods are safe for concurrent use.
type Store interface {
	// CreateTenant registers a tenant (ErrExists when the id is taken).
	CreateTenant(ctx context.Context, t Tenant) error
	// Tenant returns a tenant (ErrNotFound). A tenant created by another process sharing the
	// same data is visible without a restart.
	Tenant(ctx context.Context, id string) (Tenant, error)
	// Tenants lists all tenants by id.
	Tenants(ctx context.Context) ([]Tenant, error)
	// UpdateTenant changes a tenant's settings (Name, ReferentialIntegrity, LGCode; not its
	// id or creation time), checked by CheckTenant: ErrNotFound for an unknown tenant. Other
	// processes sharing the store see the change within a second.
	UpdateTenant(ctx context.Context, t Tenant) error

	// Commit applies writes atomically. On failure nothing is written and the error is a
	// *WriteError for the write at fault (or ErrNotFound for an unknown tenant, or
	// ErrUnavailable).
	Commit(ctx context.Context, tenant string, writes []Write) ([]Result, error)
	// Read returns the current version. A deleted resource returns its delete version
	// (Deleted set) together with ErrGone.
	Read(ctx context.Context, tenant, typ, id string) (fhir.Resource, error)
	// VRead returns one version (ErrNotFound; a delete version comes with ErrGone).
	VRead(ctx context.Context, tenant, typ, id string, version int64) (fhir.Resource, error)
	// History lists versions newest first.
	History(ctx context.Context, tenant string, q HistoryQuery) (HistoryPage, error)
	// Events returns up to limit change events with Seq > after, in Seq order; fewer than
	// limit only when no more events follow (consumers such as the roster cache rely on it).
	Events(ctx context.Context, tenant string, after int64, limit int) ([]Event, error)

	// Search returns one page of the resources of tenant matching q (current, non-deleted
	// versions), by the semantics of package fhir/search (query.go) over the Index entries
	// of the writes; _id and _lastUpdated are answered from the resources themselves.
	// q.Type "" is a system-level search (q.Types narrows it) on common parameters.
	// q.Summary "count" returns no resources, only Total. Paging is keyset-based: the
	// cursor of a page names the last resource's sort keys and tiebreak, so writes between
	// pages never duplicate or skip a resource that did not change; a cursor is bound to
	// the tenant and the query (clauses, types, sort, compartment) it was issued for. A
	// cursor that is malformed or issued for another tenant or query is ErrCursor inside a
	// *fhir.Error of kind invalid. ErrNotFound for an unknown tenant.
	Search(ctx context.Context, tenant string, q *search.Query, opts SearchOptions) (SearchPage, error)

	// AuditLog, Records and Leases are the hub's own data beside the FHIR resources
	// (admin.go): the audit trail, client registrations and one-time keys, and the leased
	// consumption of change events.
	AuditLog
	Records
	Leases

	// LoadOrStoreSecret stores value under name unless a value is stored already, and returns
	// the stored value. Hubs sharing the data use it to agree on keys.
	LoadOrStoreSecret(ctx context.Context, name string, value []byte) ([]byte, error)
	// Ping reports whether the backend is reachable.
	Ping(ctx context.Context) error
	Close() error
}
