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

package audit

import (
	"context"
	"iter"
	"slices"

	"github.com/kodomohub/kodomohub/store"
)

// StoreSink is the Sink over a store's audit log: the store assigns the sequence
// numbers and chains the records, so several processes append to one chain.
type StoreSink struct {
	Log store.AuditLog
}

var _ Sink = StoreSink{}

// Append implements Sink. Records are encoded without their sequence number (the store
// assigns it; the hash binds it).
func (s StoreSink) Append(ctx context.Context, tenant string, records []Record) error {
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
func searchFields(r Record) store.AuditEntry {
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
	r, err := DecodeRecord(e.Record)
	if err != nil {
		return false
	}
	want := searchFields(r)
	return e.Agent == want.Agent && e.Entity == want.Entity && e.Action == want.Action &&
		e.Outcome == want.Outcome && slices.Equal(e.Patients, want.Patients)
}

// EntryRecord decodes a stored audit entry into its record, with Seq and Hash from the entry.
func EntryRecord(e store.AuditEntry) (Record, error) {
	r, err := DecodeRecord(e.Record)
	if err != nil {
		return r, err
	}
	r.Seq, r.Hash = e.Seq, e.Hash
	return r, nil
}

// auditBatch is how many entries VerifyLog reads at a time.
const auditBatch = 1000

// VerifyLog checks a tenant's whole stored audit chain from seq 1 and that it ends at the
// stored head: a changed, inserted, reordered or removed entry (also the newest) is reported
// as a *ChainError. It returns the head it verified.
func VerifyLog(ctx context.Context, log store.AuditLog, tenant string) (Head, error) {
	// Read the head first: entries appended while verifying then lie beyond it.
	seq, hash, err := log.AuditHead(ctx, tenant)
	if err != nil {
		return Head{}, err
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
	return got, checkHead(got, Head{Seq: seq, Hash: hash})
}
