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
