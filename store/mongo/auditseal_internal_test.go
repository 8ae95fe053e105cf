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

package mongo

import (
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/kodomohub/kodomohub/store"
	"github.com/kodomohub/kodomohub/store/mongo/mongotest"
	"github.com/kodomohub/kodomohub/store/storetest"
)

// auditData is a database that storetest.RunAuditIntegrity damages through the documents of its
// audit trails, as someone who can write the database (but cannot read the key) would.
type auditData struct {
	uri, db string
}

func TestAuditIntegrity(t *testing.T) {
	uri := mongotest.URI(t)
	storetest.RunAuditIntegrity(t, func(t *testing.T) storetest.AuditData {
		d := &auditData{uri: uri, db: mongotest.DBName()}
		t.Cleanup(func() {
			s := d.raw(t)
			s.DropDatabase(bg)
		})
		return d
	})
}

func (d *auditData) open(t *testing.T, key *store.AuditKey) *Store {
	t.Helper()
	s, err := Open(bg, d.uri, Options{Database: d.db, AuditKey: key, RecoverEvery: -1, Timeout: time.Minute,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func (d *auditData) Open(t *testing.T, key *store.AuditKey) store.Store { return d.open(t, key) }

// raw is the intruder's connection: a store whose collections the damages write directly.
func (d *auditData) raw(t *testing.T) *Store { return d.open(t, nil) }

// entry reads the document of tenant's entry seq.
func (d *auditData) entry(t *testing.T, s *Store, tenant string, seq int64) auditDoc {
	t.Helper()
	var doc auditDoc
	if err := s.audit.FindOne(bg, bson.D{{Key: "_id", Value: auditKey(tenant, seq)}}).Decode(&doc); err != nil {
		t.Fatalf("entry %d: %v", seq, err)
	}
	return doc
}

func (d *auditData) Cut(t *testing.T, tenant string, keep int64, how storetest.Cut) {
	s := d.raw(t)
	if _, err := s.audit.DeleteMany(bg, bson.D{{Key: "t", Value: tenant}, {Key: "seq", Value: bson.D{{Key: "$gt", Value: keep}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.auditTx.DeleteMany(bg, bson.D{{Key: "t", Value: tenant}}); err != nil {
		t.Fatal(err)
	}
	last := d.entry(t, s, tenant, keep)
	update := bson.D{{Key: "$set", Value: bson.D{{Key: "seq", Value: keep}, {Key: "h", Value: last.H}}}}
	switch how {
	case storetest.CutNoSeal:
		update = append(update, bson.E{Key: "$unset", Value: bson.D{{Key: "seal", Value: ""}}})
	case storetest.CutReplay:
		if last.Seal == nil {
			t.Fatalf("entry %d ends no sealed append", keep)
		}
		update = bson.D{{Key: "$set", Value: bson.D{{Key: "seq", Value: keep}, {Key: "h", Value: last.H}, {Key: "seal", Value: last.Seal}}}}
	}
	if _, err := s.auditHead.UpdateOne(bg, bson.D{{Key: "_id", Value: tenant}}, update); err != nil {
		t.Fatal(err)
	}
}

func (d *auditData) Rewind(t *testing.T, tenant string, to int64) {
	s := d.raw(t)
	last := d.entry(t, s, tenant, to)
	if last.Seal == nil {
		t.Fatalf("entry %d ends no sealed append", to)
	}
	if _, err := s.auditHead.UpdateOne(bg, bson.D{{Key: "_id", Value: tenant}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "seq", Value: to}, {Key: "h", Value: last.H}, {Key: "seal", Value: last.Seal}}}}); err != nil {
		t.Fatal(err)
	}
}

func (d *auditData) Forge(t *testing.T, tenant string, n int) {
	s := d.raw(t)
	var h auditHeadDoc
	if err := s.auditHead.FindOne(bg, bson.D{{Key: "_id", Value: tenant}}).Decode(&h); err != nil {
		t.Fatal(err)
	}
	es := make([]store.AuditEntry, n)
	for i := range es {
		es[i] = store.AuditEntry{Time: time.Now(), Record: fmt.Appendf(nil, `{"forged":%d}`, i), Agent: "someone-else", Entity: "Patient/p1", Action: "R", Outcome: "0"}
	}
	_, docs := chainAudit(tenant, h.Seq, h.H, es, "", 0) // committed and tidied, as it looks
	if _, err := s.audit.InsertMany(bg, docs); err != nil {
		t.Fatal(err)
	}
}

func (d *auditData) IndexDamages() map[string]func(t *testing.T, tenant string, seq int64) int64 {
	return map[string]func(t *testing.T, tenant string, seq int64) int64{
		// Searches by entity type read ety alone: the entry is missed under its type and found
		// under another.
		"filed under another entity type": func(t *testing.T, tenant string, seq int64) int64 {
			s := d.raw(t)
			if _, err := s.audit.UpdateOne(bg, bson.D{{Key: "_id", Value: auditKey(tenant, seq)}},
				bson.D{{Key: "$set", Value: bson.D{{Key: "ety", Value: "Immunization"}}}}); err != nil {
				t.Fatal(err)
			}
			return seq
		},
		// A document past the tail that no append holds: the collection has it, the trail not.
		"an entry past the head": func(t *testing.T, tenant string, _ int64) int64 {
			s := d.raw(t)
			var h auditHeadDoc
			if err := s.auditHead.FindOne(bg, bson.D{{Key: "_id", Value: tenant}}).Decode(&h); err != nil {
				t.Fatal(err)
			}
			_, docs := chainAudit(tenant, h.Seq+1, h.H, []store.AuditEntry{{Time: time.Now(), Record: []byte("{}"), Agent: "ghost", Entity: "Patient"}}, "", 0)
			if _, err := s.audit.InsertOne(bg, docs[0]); err != nil {
				t.Fatal(err)
			}
			return h.Seq + 2
		},
	}
}
