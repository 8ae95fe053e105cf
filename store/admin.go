package store

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
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
	// Record is the caller's encoding of the record (auth.AuditRecord.Canonical); the store
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
	// ErrNotFound for an unknown tenant, ErrUnavailable when the backend is unreachable.
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
	Until           time.Time
	Position        int64
}

// Leases let several hub processes share the consumption of change events: for each
// (tenant, consumer) one owner at a time holds a lease, processes events from the
// acknowledged position and acknowledges them; when it dies, another owner takes over once
// the lease expires and continues from the last acknowledged event (at-least-once delivery).
// A lease whose events are never acknowledged is also a lock shared by every process using the
// store (the server's conditional writes take one per stripe of their criteria).
type Leases interface {
	// ClaimEvents takes or renews the lease of (tenant, consumer) for owner until now+ttl,
	// when it is free, expired or already owner's, and returns it with up to limit events
	// after its Position, in Seq order. ErrLeaseHeld when another owner holds it.
	ClaimEvents(ctx context.Context, tenant, consumer, owner string, ttl time.Duration, limit int) (Lease, []Event, error)
	// AckEvents moves the position of (tenant, consumer) to seq (never backwards) when owner
	// still holds an unexpired lease; ErrLeaseHeld otherwise, and nothing changes.
	AckEvents(ctx context.Context, tenant, consumer, owner string, seq int64) error
	// ReleaseLease ends owner's lease so that another owner can claim it at once (a no-op
	// when owner does not hold it).
	ReleaseLease(ctx context.Context, tenant, consumer, owner string) error
}
