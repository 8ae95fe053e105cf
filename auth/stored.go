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

package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"slices"
	"time"

	"github.com/kodomohub/kodomohub/store"
)

// The store-backed implementations of the auth interfaces: what the server and the admin
// commands use, so that every hub process on the same data sees the same clients, replayed
// assertions and audit chain.

// ClientKind is the store.Records kind of client registrations.
const ClientKind = "client"

// StoreClients keeps client registrations in a store (store.Records, kind ClientKind). A
// registration written by one process (the admin CLI) is seen by the others at their next
// token request.
type StoreClients struct {
	Records store.Records
}

var _ ClientStore = StoreClients{}

// storedClient is the stored form of a Client: scopes as their string, so that the record
// reads the same in a database shell.
type storedClient struct {
	ID           string          `json:"id"`
	Name         string          `json:"name,omitempty"`
	JWKS         json.RawMessage `json:"jwks,omitempty"`
	JWKSURL      string          `json:"jwksUrl,omitempty"`
	Scope        string          `json:"scope"`
	Facility     string          `json:"facility,omitempty"`
	FacilityKind string          `json:"facilityKind,omitempty"`
	Role         string          `json:"role"`
	Disabled     bool            `json:"disabled,omitempty"`
	RatePerSec   float64         `json:"ratePerSecond,omitempty"`
	RateBurst    int             `json:"rateBurst,omitempty"`
	Created      time.Time       `json:"created,omitzero"`
}

// Client implements ClientStore.
func (s StoreClients) Client(ctx context.Context, tenant, id string) (Client, error) {
	data, err := s.Records.GetRecord(ctx, tenant, ClientKind, id)
	if errors.Is(err, store.ErrNotFound) {
		return Client{}, fmt.Errorf("%w: %q", ErrUnknownClient, id)
	}
	if err != nil {
		return Client{}, err
	}
	return decodeClient(tenant, data)
}

func decodeClient(tenant string, data []byte) (Client, error) {
	var sc storedClient
	if err := json.Unmarshal(data, &sc); err != nil {
		return Client{}, fmt.Errorf("auth: stored client: %w", err)
	}
	scopes, err := ParseScopes(sc.Scope)
	if err != nil {
		return Client{}, fmt.Errorf("auth: stored client %s: %w", sc.ID, err)
	}
	return Client{ID: sc.ID, Tenant: tenant, Name: sc.Name, JWKS: sc.JWKS, JWKSURL: sc.JWKSURL,
		Scopes: scopes, Facility: sc.Facility, FacilityKind: sc.FacilityKind, Role: sc.Role,
		Disabled: sc.Disabled, RateLimit: Rate{PerSecond: sc.RatePerSec, Burst: sc.RateBurst}}, nil
}

// Put stores c (replacing a registration with the same id).
func (s StoreClients) Put(ctx context.Context, c Client, created time.Time) error {
	data, err := json.Marshal(storedClient{ID: c.ID, Name: c.Name, JWKS: c.JWKS, JWKSURL: c.JWKSURL,
		Scope: c.Scopes.String(), Facility: c.Facility, FacilityKind: c.FacilityKind, Role: c.Role,
		Disabled: c.Disabled, RatePerSec: c.RateLimit.PerSecond, RateBurst: c.RateLimit.Burst, Created: created})
	if err != nil {
		return err
	}
	return s.Records.PutRecord(ctx, c.Tenant, ClientKind, c.ID, data)
}

// List returns the tenant's clients by id.
func (s StoreClients) List(ctx context.Context, tenant string) ([]Client, error) {
	recs, err := s.Records.ListRecords(ctx, tenant, ClientKind)
	if err != nil {
		return nil, err
	}
	out := make([]Client, 0, len(recs))
	for _, r := range recs {
		c, err := decodeClient(tenant, r.Data)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// StoreReplay is the ReplayCache over store.Records.Once: an assertion id is remembered by
// every process on the same data until the assertion expires.
type StoreReplay struct {
	Records store.Records
}

var _ ReplayCache = StoreReplay{}

// Seen implements ReplayCache.
func (s StoreReplay) Seen(ctx context.Context, tenant, clientID, jti string, until time.Time) (bool, error) {
	return s.Records.Once(ctx, tenant, "jti/"+clientID+"/"+jti, until)
}

// StoreAudit is the AuditSink over a store's audit log: the store assigns the sequence
// numbers and chains the records, so several processes append to one chain.
type StoreAudit struct {
	Log store.AuditLog
}

var _ AuditSink = StoreAudit{}

// Append implements AuditSink. Records are encoded without their sequence number (the store
// assigns it; the hash binds it).
func (s StoreAudit) Append(ctx context.Context, tenant string, records []AuditRecord) error {
	entries := make([]store.AuditEntry, len(records))
	for i, r := range records {
		r.Seq, r.Tenant, r.Hash, r.PrevHash = 0, tenant, nil, nil
		entries[i] = searchFields(r)
		entries[i].Time, entries[i].Record = r.Recorded, r.Canonical()
	}
	_, err := s.Log.AppendAudit(ctx, tenant, entries)
	return err
}

// searchFields returns the search fields of the entry that stores r (derived from r alone, so
// that verification can check them against the chained record).
func searchFields(r AuditRecord) store.AuditEntry {
	entity := r.ResourceType
	if entity != "" && r.ResourceID != "" {
		entity += "/" + r.ResourceID
	}
	agent := r.Subject
	if agent == "" {
		agent = r.ClientID
	}
	return store.AuditEntry{Agent: agent, Patients: r.Patients, Entity: entity, Action: r.Action, Outcome: r.Outcome}
}

// sameSearchFields reports whether a stored entry's search fields are those of its record:
// the hash covers the record only, so a changed search field (hiding an access from the
// auditors' searches) is caught here.
func sameSearchFields(e store.AuditEntry) bool {
	r, err := DecodeAuditRecord(e.Record)
	if err != nil {
		return false
	}
	want := searchFields(r)
	return e.Agent == want.Agent && e.Entity == want.Entity && e.Action == want.Action &&
		e.Outcome == want.Outcome && slices.Equal(e.Patients, want.Patients)
}

// EntryRecord decodes a stored audit entry into its record, with Seq and Hash from the entry.
func EntryRecord(e store.AuditEntry) (AuditRecord, error) {
	r, err := DecodeAuditRecord(e.Record)
	if err != nil {
		return r, err
	}
	r.Seq, r.Hash = e.Seq, e.Hash
	return r, nil
}

// auditBatch is how many entries VerifyAuditLog reads at a time.
const auditBatch = 1000

// VerifyAuditLog checks a tenant's whole stored audit chain from seq 1 and that it ends at the
// stored head: a changed, inserted, reordered or removed entry (also the newest) is reported
// as a *ChainError. It returns the head it verified.
func VerifyAuditLog(ctx context.Context, log store.AuditLog, tenant string) (ChainHead, error) {
	// Read the head first: entries appended while verifying then lie beyond it.
	seq, hash, err := log.AuditHead(ctx, tenant)
	if err != nil {
		return ChainHead{}, err
	}
	links := func(yield func(Link, error) bool) {
		var after int64
		for after < seq {
			es, err := log.AuditEntries(ctx, tenant, after, auditBatch)
			if err != nil {
				yield(Link{}, err)
				return
			}
			if len(es) == 0 {
				return
			}
			for _, e := range es {
				if e.Seq > seq {
					return
				}
				if !sameSearchFields(e) {
					yield(Link{}, &ChainError{Seq: e.Seq, Problem: "the entry's search fields differ from its record"})
					return
				}
				if !yield(Link{Seq: e.Seq, Record: e.Record, Hash: e.Hash}, nil) {
					return
				}
				after = e.Seq
			}
		}
	}
	got, err := VerifyLinks(iter.Seq2[Link, error](links))
	if err != nil {
		return got, err
	}
	return got, checkHead(got, ChainHead{Seq: seq, Hash: hash})
}
