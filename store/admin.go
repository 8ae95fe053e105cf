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
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"strings"
	"sync"
	"time"
)

// This file holds the parts of the contract that serve the hub itself rather than FHIR
// clients: the audit trail, small records (client registrations), one-time keys (token
// replay) and leased consumption of the change events. Every backend implements them, and
// store/storetest holds each to the same behaviour.

// ErrLeaseHeld: another owner holds an unexpired lease, or the caller's lease has expired
// and was taken over.
var ErrLeaseHeld = errors.New("store: lease held by another owner")

// AuditGenesis is the previous hash of a tenant's first audit entry.
var AuditGenesis = make([]byte, sha256.Size)

// AuditLink returns the hash of the audit entry with sequence seq and bytes record that
// follows an entry with hash prev: SHA-256(prev || uint64 big-endian seq || record).
func AuditLink(prev []byte, seq int64, record []byte) []byte {
	h := sha256.New()
	h.Write(prev)
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(seq))
	h.Write(n[:])
	h.Write(record)
	return h.Sum(nil)
}

// AuditEntry is one record of a tenant's append-only audit trail.
type AuditEntry struct {
	// Seq numbers a tenant's entries 1, 2, 3 … without gaps; the store assigns it.
	Seq int64
	// Time is when the access happened; the caller sets it.
	Time time.Time
	// Record is the caller's encoding of the record (audit.Record.Canonical); the store
	// keeps it byte for byte.
	Record []byte
	// Hash is AuditLink(previous entry's Hash or AuditGenesis, Seq, Record); the store sets it.
	Hash []byte

	// Search fields, copied from the record by the caller; AuditQuery filters on them.
	Agent    string   // who: the person's subject or the client id
	Patients []string // "Patient/ID" of everyone the access was about
	Entity   string   // "Type" or "Type/ID" of what was accessed
	Action   string   // C R U D E
	Outcome  string   // AuditEvent outcome code: 0 4 8 12
}

// AuditQuery selects audit entries, newest first. Zero fields do not filter.
type AuditQuery struct {
	// Since and Until bound Time: Since <= Time < Until.
	Since, Until time.Time
	// Agent, Patient (one of Patients), Entity, Action and Outcome must be equal when set.
	// Entity "Observation" matches entries of type Observation with or without an id.
	Agent, Patient, Entity, Action, Outcome string
	// Before continues a listing: only entries with Seq < Before. Zero starts with the newest.
	Before int64
	// Count is the page size (a backend may cap it; zero means its default).
	Count int
}

// AuditLog is a tenant's audit trail: append-only and hash-chained, so that a changed,
// inserted or removed entry breaks the chain.
type AuditLog interface {
	// AppendAudit appends entries, in order, durably and atomically (all or none): each gets
	// the next Seq after the tenant's head and its Hash; the appended entries are returned.
	// Concurrent appends, also from several processes, never share a Seq or fork the chain.
	// ErrNotFound for an unknown tenant, ErrUnavailable when the backend is unreachable, and
	// when the head cannot be sealed as the trail requires (see "Sealing the head" below: a
	// sealed trail and no key, a head that does not verify under the key).
	AppendAudit(ctx context.Context, tenant string, entries []AuditEntry) ([]AuditEntry, error)
	// AuditEntries returns up to limit entries with Seq > after, in Seq order, as stored
	// (Record and Hash byte for byte, and the search fields), for verification: the hash
	// covers the record, and a verifier checks the search fields against it.
	AuditEntries(ctx context.Context, tenant string, after int64, limit int) ([]AuditEntry, error)
	// AuditHead returns the Seq and Hash of the last entry appended ({0, AuditGenesis} when
	// there is none). The head is kept apart from the entries, so removing the newest entries
	// is detected too.
	AuditHead(ctx context.Context, tenant string) (seq int64, hash []byte, err error)
	// SearchAudit returns one page of the entries matching q, newest (highest Seq) first, and
	// the Before value of the next page (0 at the end).
	SearchAudit(ctx context.Context, tenant string, q AuditQuery) (entries []AuditEntry, next int64, err error)

	// AuditSeal returns the head as AuditHead does, with its seal as stored (see AuditSeal) and
	// the count of entries stored past it. It does not check the MAC: the store may hold no
	// key, and a verifier checks it with the key (AuditKey.Verify). ErrNotFound for an unknown
	// tenant.
	AuditSeal(ctx context.Context, tenant string) (AuditSeal, error)
	// VerifyAuditIndex re-derives, from the entries up to the head, what the index SearchAudit
	// reads must hold for them, and compares: an entry the index lacks or files under a key
	// (patient, agent, entity type) the entry does not name, or an entry the index holds that
	// the trail does not, is an *AuditIndexError. Entries not indexed yet (a backend may index
	// in the background) are not a mismatch. It changes nothing. ErrNotFound for an unknown
	// tenant.
	VerifyAuditIndex(ctx context.Context, tenant string) error
}

// Sealing the head.
//
// The chain (AuditLink) makes a changed, inserted or removed entry visible, but only up to a
// head that is itself trusted: whoever can write the store can cut entries off the end and
// write a head that matches what is left, and a head's checksum is no secret. A store given an
// AuditKey therefore seals every head it writes with HMAC-SHA256 under a key kept outside the
// store, and writes the same seal with the last entry of each append, so that entries it finds
// past the head (an appender stopped before moving the head) are taken into the chain only when
// their seal verifies. The threat it answers: someone who can write the data directory or the
// database, but cannot read the key file. They can still make the trail look like an earlier
// state of itself (a head and the entries up to it, copied before), which only a checkpoint kept
// elsewhere reveals (package audit); and they can make it unreadable, which is loud.
//
// A store with a key, opening a trail whose head was written without one (an older hub, or a
// store opened without a key), seals that head once, with From = its Seq and FromTime = now: the
// entries up to From were covered by the chain alone until then. It refuses to do so when the
// trail already holds a sealed entry (the head's seal was removed, not never written). A store
// without a key appends to a trail whose head is not sealed as before, and refuses to append to
// a sealed one (ErrUnavailable): it could not seal the new head. A store with a key refuses to
// append once a head it reads does not verify under its key (ErrUnavailable); readers still
// return what is stored.

// AuditSeal is a tenant's head as sealed with the audit key.
type AuditSeal struct {
	// Seq and Hash are the head: AuditHead's answer.
	Seq  int64
	Hash []byte
	// Time is when the store sealed this head (its clock, to the millisecond).
	Time time.Time
	// From is the head's Seq when the store began to seal the trail, FromTime when: the
	// entries up to From were protected by the chain alone until FromTime. From is 0 for a
	// trail sealed from its first entry.
	From     int64
	FromTime time.Time
	// MAC is AuditKey.MAC over the fields above; nil when the head is not sealed.
	MAC []byte
	// Past counts the entries stored after the head that continue the chain but that no head
	// covers: entries of an append that stopped before its head moved (a store with the key
	// takes them in when their seal verifies), or entries added by someone without the key.
	// Not covered by MAC.
	Past int64
}

// AuditKey computes and checks the MAC of audit heads: HMAC-SHA256 under a secret kept apart
// from the store (a key file, not the data directory or the database). It is safe for
// concurrent use.
type AuditKey struct {
	pool sync.Pool // of *auditMAC: HMAC states keyed once (Reset is then cheap)
}

// auditMAC is a keyed HMAC state with a buffer for its message.
type auditMAC struct {
	h   hash.Hash
	buf []byte
}

// MinAuditKeySize is the shortest secret NewAuditKey accepts.
const MinAuditKeySize = 32

// NewAuditKey returns the AuditKey of secret, which must be at least MinAuditKeySize random
// bytes.
func NewAuditKey(secret []byte) (*AuditKey, error) {
	if len(secret) < MinAuditKeySize {
		return nil, fmt.Errorf("store: audit key of %d bytes: want at least %d random bytes", len(secret), MinAuditKeySize)
	}
	secret = bytes.Clone(secret)
	k := &AuditKey{}
	k.pool.New = func() any { return &auditMAC{h: hmac.New(sha256.New, secret), buf: make([]byte, 0, 256)} }
	return k, nil
}

// auditMACDomain starts the message of every head MAC (a MAC over other data never equals one).
const auditMACDomain = "kodomohub audit head v1\x00"

// MAC returns the seal of s for tenant: HMAC-SHA256 over
//
//	"kodomohub audit head v1" 0x00, uint16 len(tenant), tenant, uint64 Seq, Hash (32 bytes),
//	int64 Time, uint64 From, int64 FromTime
//
// (integers big-endian, times as Unix milliseconds). s.MAC and s.Past are not covered.
func (k *AuditKey) MAC(tenant string, s AuditSeal) []byte {
	m := k.pool.Get().(*auditMAC)
	defer k.pool.Put(m)
	b := append(m.buf[:0], auditMACDomain...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(tenant)))
	b = append(b, tenant...)
	b = binary.BigEndian.AppendUint64(b, uint64(s.Seq))
	var h [sha256.Size]byte
	copy(h[:], s.Hash)
	b = append(b, h[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(s.Time.UnixMilli()))
	b = binary.BigEndian.AppendUint64(b, uint64(s.From))
	b = binary.BigEndian.AppendUint64(b, uint64(s.FromTime.UnixMilli()))
	m.buf = b
	m.h.Reset()
	m.h.Write(b)
	return m.h.Sum(make([]byte, 0, sha256.Size))
}

// Verify reports whether s carries the seal of its fields for tenant under k.
func (k *AuditKey) Verify(tenant string, s AuditSeal) bool {
	return len(s.MAC) == sha256.Size && len(s.Hash) == sha256.Size && hmac.Equal(s.MAC, k.MAC(tenant, s))
}

// AuditIndexError is VerifyAuditIndex's finding: where the index disagrees with the trail.
type AuditIndexError struct {
	// Problems are the first mismatches found (at most MaxAuditIndexProblems), each naming
	// the entry (seq) and the key or index row concerned.
	Problems []string
	// More counts the mismatches found beyond Problems.
	More int
}

// MaxAuditIndexProblems bounds AuditIndexError.Problems.
const MaxAuditIndexProblems = 50

func (e *AuditIndexError) Error() string {
	s := fmt.Sprintf("audit index disagrees with the trail: %s", strings.Join(e.Problems, "; "))
	if e.More > 0 {
		s += fmt.Sprintf("; and %d more", e.More)
	}
	return s
}

// Add records a problem (kept while fewer than MaxAuditIndexProblems are).
func (e *AuditIndexError) Add(format string, args ...any) {
	if len(e.Problems) < MaxAuditIndexProblems {
		e.Problems = append(e.Problems, fmt.Sprintf(format, args...))
	} else {
		e.More++
	}
}

// Err returns e when it holds a problem, else nil.
func (e *AuditIndexError) Err() error {
	if len(e.Problems) == 0 {
		return nil
	}
	return e
}

// Record is a small document the hub keeps per tenant beside the FHIR data (e.g. kind
// "client": a SMART backend-services client registration).
type Record struct {
	ID   string
	Data []byte
}

// Records keeps small per-tenant documents by kind and id, and one-time keys. A record
// written by one process is visible to every other process on the same data at once.
type Records interface {
	// PutRecord stores data under (kind, id), replacing what was there. ErrNotFound for an
	// unknown tenant.
	PutRecord(ctx context.Context, tenant, kind, id string, data []byte) error
	// GetRecord returns the data stored under (kind, id) or ErrNotFound.
	GetRecord(ctx context.Context, tenant, kind, id string) ([]byte, error)
	// ListRecords lists the records of a kind by id.
	ListRecords(ctx context.Context, tenant, kind string) ([]Record, error)
	// DeleteRecord removes a record (ErrNotFound when there is none).
	DeleteRecord(ctx context.Context, tenant, kind, id string) error
	// Once records key until the instant until and reports whether it was already recorded
	// and has not expired: of several concurrent calls with one key (from any process) exactly
	// one sees false. Expired keys may be purged.
	Once(ctx context.Context, tenant, key string, until time.Time) (seen bool, err error)
}

// Lease is a consumer's hold on a tenant's change events: one owner at a time processes
// them, from Position (the last Seq it acknowledged).
type Lease struct {
	Consumer, Owner string
	// Until is when the lease runs out (the lease is held while Until is after the store's
	// clock); a released lease has an Until in the past, a lease never claimed the zero time.
	Until    time.Time
	Position int64
}

// Leases let several hub processes share the consumption of change events: for each
// (tenant, consumer) one owner at a time holds a lease, processes events from the
// acknowledged position and acknowledges them; when it dies, another owner takes over once
// the lease expires and continues from the last acknowledged event (at-least-once delivery).
// Package outbox runs consumers on them (its package documentation gives the whole protocol).
//
// A lease whose events are never acknowledged is also a lock shared by every process using the
// store (the conditional writes take one per stripe of their criteria): ClaimLease takes it
// without reading events. The clock is the store's (its Options.Now, to the millisecond): the
// processes sharing a store must agree on the time to well within a ttl. Consumer names are
// the caller's; package outbox keeps to names without "/" so that they never meet the locks'
// ("conditional/N").
type Leases interface {
	// ClaimLease takes or renews the lease of (tenant, consumer) for owner until now+ttl, when
	// it is free, expired or already owner's, and returns it; Position is the last
	// acknowledged Seq (0 for a consumer never acknowledged). It reads no events: it is the
	// renewal of a consumer at work and the claim of a lock. ErrLeaseHeld when another owner
	// holds an unexpired lease, ErrNotFound for an unknown tenant; an empty owner is refused.
	ClaimLease(ctx context.Context, tenant, consumer, owner string, ttl time.Duration) (Lease, error)
	// ClaimEvents is ClaimLease followed by Events(tenant, lease.Position, limit): the lease
	// with up to limit events after its Position, in Seq order.
	ClaimEvents(ctx context.Context, tenant, consumer, owner string, ttl time.Duration, limit int) (Lease, []Event, error)
	// ReadLease returns the lease of (tenant, consumer) as stored, without claiming or
	// changing it: who holds it until when, and the acknowledged position. A consumer never
	// claimed is the zero Lease with Consumer set. ErrNotFound for an unknown tenant. It is a
	// read: a consumer looks before it claims, so that an idle or refused consumer writes
	// nothing.
	ReadLease(ctx context.Context, tenant, consumer string) (Lease, error)
	// AckEvents moves the position of (tenant, consumer) to seq (never backwards) when owner
	// still holds an unexpired lease; ErrLeaseHeld otherwise, and nothing changes. It does not
	// renew the lease. The position is durable: it survives the process and the store handle.
	AckEvents(ctx context.Context, tenant, consumer, owner string, seq int64) error
	// ReleaseLease ends owner's lease so that another owner can claim it at once (a no-op
	// when owner does not hold it); the position stays.
	ReleaseLease(ctx context.Context, tenant, consumer, owner string) error
}
