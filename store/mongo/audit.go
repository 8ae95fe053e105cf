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
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	mongodrv "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/kodomohub/kodomohub/store"
)

// The audit trail (see doc.go, "Audit trail"): entries are inserted pending under an append's
// id, the insert of the append's record {st: "c"} into audittx commits them, and the head
// document then moves. Readers read up to the tail: the head, extended by the committed
// appends found after it.
//
// Sealing (store.AuditSeal, doc.go "Sealed heads"): a store with Options.AuditKey seals the
// last entry of every append, its record and the head document with the seal of the head that
// append makes; on a sealed trail (the head document has a seal) the tail extends only through
// appends that carry a seal, which a store with the key verifies. What stops the extension
// (an append without a seal, or with one that does not verify) blocks appends, not readers.

// auditGroup bounds the entries of one group append (one call's entries are never split).
const auditGroup = 256

// auditLease is how long the pending entries of an append hold the slots after the tail:
// an append that has not committed by then may be aborted by another process (it then starts
// again), so that a crash blocks the tenant's appends for this long at most.
func (s *Store) auditLease() time.Duration { return min(s.opts.Lease, 5*time.Second) }

// auditDoc is an audit entry document. Tx and La are set while the entry is pending (and
// until the recovery pass tidies a committed append); Bl is the seq of the last entry of the
// append it belongs to.
type auditDoc struct {
	ID  string   `bson:"_id"`
	T   string   `bson:"t"`
	Seq int64    `bson:"seq"`
	Ts  int64    `bson:"ts"`
	Rec []byte   `bson:"rec"`
	H   []byte   `bson:"h"`
	Ag  string   `bson:"ag"`
	Pa  []string `bson:"pa,omitempty"`
	En  string   `bson:"en"`
	Ety string   `bson:"ety"`
	Ac  string   `bson:"ac"`
	Oc  string   `bson:"oc"`
	Bl  int64    `bson:"bl"`
	Tx  string   `bson:"tx,omitempty"`
	La  int64    `bson:"la,omitempty"`
	// Seal is the seal of the head this entry makes, on the last entry of a sealed append.
	Seal *sealDoc `bson:"seal,omitempty"`
}

// sealDoc is the seal of a head (store.AuditSeal without Seq and Hash, which the document
// holding it gives): times in Unix ms.
type sealDoc struct {
	Ts   int64  `bson:"ts"`
	From int64  `bson:"from"`
	Fts  int64  `bson:"fts"`
	Mac  []byte `bson:"mac"`
}

// auditSeal is the contract's form of the seal of (seq, hash) (MAC nil without a seal).
func auditSeal(seq int64, hash []byte, sd *sealDoc) store.AuditSeal {
	s := store.AuditSeal{Seq: seq, Hash: hash}
	if sd != nil {
		s.Time, s.From, s.FromTime, s.MAC = time.UnixMilli(sd.Ts).UTC(), sd.From, time.UnixMilli(sd.Fts).UTC(), sd.Mac
	}
	return s
}

// sealOf seals (seq, hash) with the store's key at its clock, keeping the origin of prev.
func (s *Store) sealOf(tenant string, seq int64, hash []byte, prev *sealDoc) *sealDoc {
	sd := &sealDoc{Ts: s.opts.Now().UnixMilli(), From: prev.From, Fts: prev.Fts}
	sd.Mac = s.opts.AuditKey.MAC(tenant, auditSeal(seq, hash, sd))
	return sd
}

func (d *auditDoc) entry() store.AuditEntry {
	return store.AuditEntry{Seq: d.Seq, Time: time.UnixMilli(d.Ts).UTC(), Record: d.Rec, Hash: d.H,
		Agent: d.Ag, Patients: d.Pa, Entity: d.En, Action: d.Ac, Outcome: d.Oc}
}

// auditTxDoc is the record of an append: st "c" (committed: the entries up to Hi, the last
// one's hash H, and its seal on a sealed trail) or "a" (aborted).
type auditTxDoc struct {
	ID   string   `bson:"_id"`
	T    string   `bson:"t"`
	St   string   `bson:"st"`
	At   int64    `bson:"at"`
	Hi   int64    `bson:"hi,omitempty"`
	H    []byte   `bson:"h,omitempty"`
	Seal *sealDoc `bson:"seal,omitempty"`
}

// auditHeadDoc is a tenant's head document.
type auditHeadDoc struct {
	Seq  int64    `bson:"seq"`
	H    []byte   `bson:"h"`
	Seal *sealDoc `bson:"seal,omitempty"`
}

func auditKey(tenant string, seq int64) string { return tenant + "/" + strconv.FormatInt(seq, 10) }

// entityType is the type part of an entity, "Observation" of "Observation/o1".
func entityType(entity string) string {
	typ, _, _ := strings.Cut(entity, "/")
	return typ
}

// auditQueue is the group append of one tenant in this process: calls queue, and one
// leader at a time appends all that are queued with one record insert and one head update.
type auditQueue struct {
	mu      sync.Mutex
	reqs    []*auditReq
	running bool

	// The tail the leader last appended at: the next append tries the slot after it without
	// reading the head. Another process's append there is a duplicate key, and the tail is
	// read again. Only the leader uses these.
	known bool
	seq   int64
	hash  []byte
	seal  *sealDoc // the tail's seal (nil: the trail is not sealed)
}

type auditReq struct {
	entries []store.AuditEntry
	out     []store.AuditEntry
	err     error
	done    chan struct{}
}

func (s *Store) auditQueue(tenant string) *auditQueue {
	s.amu.Lock()
	defer s.amu.Unlock()
	q := s.audits[tenant]
	if q == nil {
		q = &auditQueue{}
		s.audits[tenant] = q
	}
	return q
}

// AppendAudit implements store.AuditLog. Concurrent calls of one tenant in this process are
// appended together; each call's entries stay consecutive, and each call gets the outcome of
// the append its entries were part of.
func (s *Store) AppendAudit(ctx context.Context, tenant string, entries []store.AuditEntry) ([]store.AuditEntry, error) {
	if _, err := s.Tenant(ctx, tenant); err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return nil, nil
	}
	q := s.auditQueue(tenant)
	r := &auditReq{entries: entries, done: make(chan struct{})}
	q.mu.Lock()
	q.reqs = append(q.reqs, r)
	lead := !q.running
	q.running = true
	q.mu.Unlock()
	if lead {
		go s.auditLead(tenant, q)
	}
	select {
	case <-r.done:
		return r.out, r.err
	case <-ctx.Done():
	}
	q.mu.Lock()
	if i := slices.Index(q.reqs, r); i >= 0 { // not taken yet: nothing of it is written
		q.reqs = slices.Delete(q.reqs, i, i+1)
	}
	q.mu.Unlock()
	select {
	case <-r.done: // finished meanwhile
		return r.out, r.err
	default:
	}
	// Taken or not, the caller gives up: like any unacknowledged write, the entries may or
	// may not be appended (all or none).
	return nil, fmt.Errorf("store/mongo: AppendAudit: %w", ctx.Err())
}

// auditLead appends what is queued until the queue is empty.
func (s *Store) auditLead(tenant string, q *auditQueue) {
	for {
		q.mu.Lock()
		n, k := 0, 0
		for k < len(q.reqs) && (k == 0 || n+len(q.reqs[k].entries) <= auditGroup) {
			n += len(q.reqs[k].entries)
			k++
		}
		if k == 0 {
			q.running = false
			q.mu.Unlock()
			return
		}
		group := slices.Clone(q.reqs[:k])
		q.reqs = slices.Delete(q.reqs, 0, k)
		q.mu.Unlock()
		all := make([]store.AuditEntry, 0, n)
		for _, r := range group {
			all = append(all, r.entries...)
		}
		ctx, cancel := context.WithTimeout(context.Background(), s.opts.Timeout+2*s.auditLease())
		out, err := s.appendAudit(ctx, tenant, q, all)
		cancel()
		off := 0
		for _, r := range group {
			if err == nil {
				r.out = out[off : off+len(r.entries) : off+len(r.entries)]
			}
			r.err = err
			off += len(r.entries)
			close(r.done)
		}
	}
}

// appendAudit appends entries as one append: all or none.
func (s *Store) appendAudit(ctx context.Context, tenant string, q *auditQueue, entries []store.AuditEntry) ([]store.AuditEntry, error) {
	for attempt := 0; ; attempt++ {
		if !q.known {
			tl, err := s.auditTail(ctx, tenant)
			if err != nil {
				return nil, err
			}
			if err := s.appendable(tenant, tl); err != nil {
				return nil, err
			}
			if tl.busy { // another process's append is under way after the tail
				if err := pause(ctx, attempt); err != nil {
					return nil, unavailable("AppendAudit", err)
				}
				continue
			}
			q.known, q.seq, q.hash, q.seal = true, tl.seq, tl.hash, tl.seal
		}
		tx := newTxID()
		out, docs := chainAudit(tenant, q.seq, q.hash, entries, tx, s.opts.Now().UnixMilli())
		var seal *sealDoc
		if q.seal != nil {
			// One HMAC per group: the last entry, the record and the head carry it.
			last := len(docs) - 1
			seal = s.sealOf(tenant, out[last].Seq, out[last].Hash, q.seal)
			d := docs[last].(auditDoc)
			d.Seal = seal
			docs[last] = d
		}
		won, err := s.insertAudit(ctx, tenant, tx, docs)
		if err != nil {
			q.known = false
			return nil, err
		}
		if !won { // the slot after the tail is taken: the tail has moved
			q.known = false
			continue
		}
		// The commit point: the insert of the append's record. Another process aborts a stale
		// append by inserting {st: "a"} under the same _id; exactly one of the two wins.
		last := out[len(out)-1]
		_, err = s.auditTx.InsertOne(ctx, auditTxDoc{ID: tx, T: tenant, St: "c", At: s.opts.Now().UnixMilli(), Hi: last.Seq, H: last.Hash, Seal: seal})
		switch {
		case mongodrv.IsDuplicateKeyError(err): // aborted after its lease: start again
			q.known = false
			continue
		case err != nil: // unknown outcome: the append is all or nothing, and unacknowledged
			q.known = false
			return nil, unavailable("AppendAudit", err)
		}
		q.seq, q.hash, q.seal = last.Seq, last.Hash, seal
		// The head follows. Should this fail, readers find the append after the head, and the
		// recovery pass moves it.
		s.moveAuditHead(ctx, tenant, last.Seq, last.Hash, seal)
		return out, nil
	}
}

// chainAudit numbers and hashes entries after (seq, prev) and returns them with their
// pending documents.
func chainAudit(tenant string, seq int64, prev []byte, entries []store.AuditEntry, tx string, la int64) ([]store.AuditEntry, []any) {
	out := make([]store.AuditEntry, len(entries))
	docs := make([]any, len(entries))
	last := seq + int64(len(entries))
	for i, e := range entries {
		e.Seq = seq + 1 + int64(i)
		e.Time = time.UnixMilli(e.Time.UnixMilli()).UTC() // kept to the millisecond
		if e.Record == nil {
			e.Record = []byte{}
		}
		e.Hash = store.AuditLink(prev, e.Seq, e.Record)
		prev = e.Hash
		out[i] = e
		docs[i] = auditDoc{ID: auditKey(tenant, e.Seq), T: tenant, Seq: e.Seq, Ts: e.Time.UnixMilli(), Rec: e.Record, H: e.Hash,
			Ag: e.Agent, Pa: e.Patients, En: e.Entity, Ety: entityType(e.Entity), Ac: e.Action, Oc: e.Outcome,
			Bl: last, Tx: tx, La: la}
	}
	return out, docs
}

// insertAudit inserts the pending entries of append tx, in order. It reports false when the
// first slot is taken (another append won it; nothing was inserted). A later slot can only
// hold a leftover of an aborted append whose cleanup was interrupted: it is removed and the
// insert goes on.
func (s *Store) insertAudit(ctx context.Context, tenant, tx string, docs []any) (bool, error) {
	off := 0
	for {
		_, err := s.audit.InsertMany(ctx, docs[off:], options.InsertMany().SetOrdered(true))
		if err == nil {
			return true, nil
		}
		var bwe mongodrv.BulkWriteException
		if !errors.As(err, &bwe) || bwe.WriteConcernError != nil || len(bwe.WriteErrors) != 1 || bwe.WriteErrors[0].Code != 11000 {
			s.abortAudit(tenant, tx) // some may be in, pending: nobody need wait for them
			return false, unavailable("AppendAudit", err)
		}
		i := off + bwe.WriteErrors[0].Index
		if i == 0 {
			return false, nil
		}
		id := docs[i].(auditDoc).ID
		var d auditDoc
		err = s.audit.FindOne(ctx, bson.D{{Key: "_id", Value: id}}, options.FindOne().SetProjection(bson.D{{Key: "tx", Value: 1}})).Decode(&d)
		switch {
		case errors.Is(err, mongodrv.ErrNoDocuments):
		case err != nil:
			s.abortAudit(tenant, tx)
			return false, unavailable("AppendAudit", err)
		case d.Tx == "" || d.Tx == tx:
			s.abortAudit(tenant, tx)
			return false, fmt.Errorf("store/mongo: AppendAudit: audit entry %s exists after the tail: the trail is inconsistent", id)
		default:
			// Aborting is always safe: an append that has not committed then fails to and starts again.
			st, err := s.settleAudit(ctx, tenant, d.Tx)
			if err != nil || st == "c" {
				s.abortAudit(tenant, tx)
				return false, cmpErr(err, fmt.Errorf("store/mongo: AppendAudit: audit entry %s committed after the tail: the trail is inconsistent", id))
			}
		}
		off = i
	}
}

func cmpErr(err, otherwise error) error {
	if err != nil {
		return err
	}
	return otherwise
}

// abortAudit aborts append tx (unless it committed) and deletes its entries.
func (s *Store) abortAudit(tenant, tx string) {
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.Timeout)
	defer cancel()
	s.settleAudit(ctx, tenant, tx)
}

// settleAudit decides append tx: it is aborted unless it has committed. Aborted entries are
// deleted. It returns "c", "a", or "" when the record of a committed append was tidied away
// meanwhile.
func (s *Store) settleAudit(ctx context.Context, tenant, tx string) (string, error) {
	_, err := s.auditTx.InsertOne(ctx, auditTxDoc{ID: tx, T: tenant, St: "a", At: s.opts.Now().UnixMilli()})
	switch {
	case err == nil:
		return "a", s.cleanupAudit(ctx, tx)
	case !mongodrv.IsDuplicateKeyError(err):
		return "", unavailable("audit recovery", err)
	}
	rec, err := s.auditRecord(ctx, tx)
	if err != nil || rec == nil {
		return "", err
	}
	if rec.St == "a" {
		return "a", s.cleanupAudit(ctx, tx)
	}
	return rec.St, nil
}

// cleanupAudit deletes the entries of an aborted append.
func (s *Store) cleanupAudit(ctx context.Context, tx string) error {
	if _, err := s.audit.DeleteMany(ctx, bson.D{{Key: "tx", Value: tx}}); err != nil {
		return unavailable("audit recovery", err)
	}
	return nil
}

// auditRecord returns the record of append tx (nil when there is none).
func (s *Store) auditRecord(ctx context.Context, tx string) (*auditTxDoc, error) {
	rec := new(auditTxDoc)
	err := s.auditTx.FindOne(ctx, bson.D{{Key: "_id", Value: tx}}).Decode(rec)
	switch {
	case errors.Is(err, mongodrv.ErrNoDocuments):
		return nil, nil
	case err != nil:
		return nil, unavailable("audit", err)
	}
	return rec, nil
}

// moveAuditHead moves a tenant's head forward to (seq, hash) with its seal (nil on a trail
// that is not sealed); it never moves it back (on MongoDB; on FerretDB two concurrent moves may
// leave the older one, which the next auditTail moves forward again).
func (s *Store) moveAuditHead(ctx context.Context, tenant string, seq int64, hash []byte, seal *sealDoc) error {
	set := bson.D{{Key: "seq", Value: seq}, {Key: "h", Value: hash}}
	if seal != nil {
		set = append(set, bson.E{Key: "seal", Value: seal})
	}
	_, err := s.auditHead.UpdateOne(ctx, bson.D{{Key: "_id", Value: tenant}, {Key: "seq", Value: bson.D{{Key: "$lt", Value: seq}}}},
		bson.D{{Key: "$set", Value: set}}, options.UpdateOne().SetUpsert(true))
	if err != nil && !mongodrv.IsDuplicateKeyError(err) { // a duplicate: the head is there already
		return unavailable("audit head", err)
	}
	return nil
}

var auditProbe = bson.D{{Key: "seq", Value: 1}, {Key: "h", Value: 1}, {Key: "bl", Value: 1}, {Key: "tx", Value: 1}, {Key: "la", Value: 1},
	{Key: "seal", Value: 1}}

// tail is a tenant's last committed entry as auditTail finds it.
type tail struct {
	seq  int64
	hash []byte
	seal *sealDoc // its seal; nil when the trail is not sealed
	// busy: a live pending append lies after the tail (an appender waits for it).
	busy bool
	// blocked says why the tail cannot be appended to although readers may read up to it: a
	// committed append after it without a valid seal, or a head that does not verify.
	blocked error
}

// auditTail returns a tenant's last committed entry: the head document, then every committed
// append found after it (the head is moved there). On the way it settles what it meets: an
// aborted append's entries are deleted, and a pending append past its lease is aborted. On a
// sealed trail it extends only through appends that carry a seal (verified when the store has
// the key); with the key, a trail whose head is not sealed is sealed first (sealFirst).
func (s *Store) auditTail(ctx context.Context, tenant string) (tl tail, err error) {
	var h auditHeadDoc
	err = s.auditHead.FindOne(ctx, bson.D{{Key: "_id", Value: tenant}}).Decode(&h)
	switch {
	case errors.Is(err, mongodrv.ErrNoDocuments):
		h.H = bytes.Clone(store.AuditGenesis)
	case err != nil:
		return tl, unavailable("audit head", err)
	}
	tl = tail{seq: h.Seq, hash: h.H, seal: h.Seal}
	moved := false
	defer func() {
		if moved && err == nil {
			s.moveAuditHead(ctx, tenant, tl.seq, tl.hash, tl.seal)
		}
	}()
	// sealed checks the seal of the append ending at (seq, hash) before the tail moves there.
	sealed := func(seq int64, hash []byte, sd *sealDoc) bool {
		switch {
		case tl.seal == nil:
			return true // a trail that is not sealed extends as it always did
		case sd == nil:
			tl.blocked = fmt.Errorf("store/mongo: audit entries after the head (entry %d) up to %d carry no seal: written without the audit key: %w",
				tl.seq, seq, store.ErrUnavailable)
			return false
		case s.opts.AuditKey != nil && !s.opts.AuditKey.Verify(tenant, auditSeal(seq, hash, sd)):
			tl.blocked = fmt.Errorf("store/mongo: audit entries after the head (entry %d) up to %d carry a seal that does not verify under the audit key: %w",
				tl.seq, seq, store.ErrUnavailable)
			return false
		}
		return true
	}
	for settled := 0; ; {
		var d auditDoc
		err := s.audit.FindOne(ctx, bson.D{{Key: "_id", Value: auditKey(tenant, tl.seq+1)}}, options.FindOne().SetProjection(auditProbe)).Decode(&d)
		switch {
		case errors.Is(err, mongodrv.ErrNoDocuments):
			return s.checkTail(ctx, tenant, tl, moved)
		case err != nil:
			return tl, unavailable("audit head", err)
		}
		if d.Tx != "" {
			rec, err := s.auditRecord(ctx, d.Tx)
			if err != nil {
				return tl, err
			}
			if rec != nil && rec.St == "c" {
				if !sealed(rec.Hi, rec.H, rec.Seal) {
					return s.checkTail(ctx, tenant, tl, moved)
				}
				tl.seq, tl.hash, tl.seal, moved = rec.Hi, rec.H, rec.Seal, true
				continue
			}
			if rec == nil {
				// Pending, or committed and tidied since it was read: read it again.
				err := s.audit.FindOne(ctx, bson.D{{Key: "_id", Value: d.ID}}, options.FindOne().SetProjection(auditProbe)).Decode(&d)
				switch {
				case errors.Is(err, mongodrv.ErrNoDocuments):
					continue
				case err != nil:
					return tl, unavailable("audit head", err)
				}
			}
			if d.Tx != "" {
				if (rec == nil || rec.St != "a") && s.opts.Now().UnixMilli()-d.La < s.auditLease().Milliseconds() {
					tl.busy = true // a live append: not in the chain yet
					return s.checkTail(ctx, tenant, tl, moved)
				}
				if settled++; settled > 100 {
					return tl, fmt.Errorf("store/mongo: audit entry %s stays pending: %w", d.ID, store.ErrUnavailable)
				}
				if _, err := s.settleAudit(ctx, tenant, d.Tx); err != nil {
					return tl, err
				}
				continue // committed or gone now: look again
			}
		}
		// Committed and tidied: its append ends at Bl.
		e := d
		if d.Bl != d.Seq {
			err = s.audit.FindOne(ctx, bson.D{{Key: "_id", Value: auditKey(tenant, d.Bl)}}, options.FindOne().SetProjection(auditProbe)).Decode(&e)
			switch {
			case errors.Is(err, mongodrv.ErrNoDocuments) || err == nil && e.Seq != d.Bl:
				return tl, fmt.Errorf("store/mongo: audit entry %d is missing: the trail is inconsistent", d.Bl)
			case err != nil:
				return tl, unavailable("audit head", err)
			}
		}
		if !sealed(e.Seq, e.H, e.Seal) {
			return s.checkTail(ctx, tenant, tl, moved)
		}
		tl.seq, tl.hash, tl.seal, moved = e.Seq, e.H, e.Seal, true
	}
}

// checkTail ends auditTail: with the key, the tail's seal (the head document's, or that of the
// last append it moved through) must verify, and a trail that is not sealed is sealed now.
func (s *Store) checkTail(ctx context.Context, tenant string, tl tail, moved bool) (tail, error) {
	key := s.opts.AuditKey
	switch {
	case key == nil || tl.blocked != nil:
	case tl.seal == nil:
		return s.sealFirst(ctx, tenant, tl)
	case !key.Verify(tenant, auditSeal(tl.seq, tl.hash, tl.seal)):
		what := "head"
		if moved {
			what = "last append"
		}
		tl.blocked = fmt.Errorf("store/mongo: the seal of the audit %s of %s (entry %d) does not verify under the audit key: it was rewritten, or the key is not this trail's: %w",
			what, tenant, tl.seq, store.ErrUnavailable)
	}
	return tl, nil
}

// sealFirst seals the head of a trail written without the key (an older hub, or a store opened
// without one) at its tail, once: the entries up to it were protected by the chain alone until
// now, which the seal records (From, FromTime). It refuses when the trail already holds a
// sealed entry (the head's seal was removed: sealing it again would cover a cut), and when
// another process sealed it meanwhile, it reads the tail again.
func (s *Store) sealFirst(ctx context.Context, tenant string, tl tail) (tail, error) {
	var d auditDoc
	err := s.audit.FindOne(ctx, bson.D{{Key: "t", Value: tenant}, {Key: "seal", Value: bson.D{{Key: "$exists", Value: true}}}},
		options.FindOne().SetProjection(bson.D{{Key: "seq", Value: 1}})).Decode(&d)
	switch {
	case err == nil:
		tl.blocked = fmt.Errorf("store/mongo: the audit head of %s (entry %d) is not sealed, but entry %d is: the head's seal was removed; not sealing it again: %w",
			tenant, tl.seq, d.Seq, store.ErrUnavailable)
		return tl, nil
	case !errors.Is(err, mongodrv.ErrNoDocuments):
		return tl, unavailable("seal audit head", err)
	}
	now := s.opts.Now().UnixMilli()
	seal := s.sealOf(tenant, tl.seq, tl.hash, &sealDoc{From: tl.seq, Fts: now})
	_, err = s.auditHead.UpdateOne(ctx, bson.D{{Key: "_id", Value: tenant}, {Key: "seal", Value: bson.D{{Key: "$exists", Value: false}}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "seq", Value: tl.seq}, {Key: "h", Value: tl.hash}, {Key: "seal", Value: seal}}}},
		options.UpdateOne().SetUpsert(true))
	switch {
	case mongodrv.IsDuplicateKeyError(err): // sealed by another process meanwhile
		var h auditHeadDoc
		if err := s.auditHead.FindOne(ctx, bson.D{{Key: "_id", Value: tenant}}).Decode(&h); err != nil || h.Seal == nil {
			return tl, unavailable("seal audit head", cmpErr(err, errors.New("the head is still not sealed")))
		}
		return s.auditTail(ctx, tenant)
	case err != nil:
		return tl, unavailable("seal audit head", err)
	}
	s.opts.Logger.Warn("store/mongo: sealed the audit head with the audit key; the entries up to it were covered by the chain alone until now",
		"tenant", tenant, "seq", tl.seq)
	tl.seal = seal
	return tl, nil
}

// appendable says whether an append may go after tl: not when the tail is blocked, and not by
// a store without the key on a sealed trail.
func (s *Store) appendable(tenant string, tl tail) error {
	switch {
	case tl.blocked != nil:
		return fmt.Errorf("store/mongo: AppendAudit: %w", tl.blocked)
	case s.opts.AuditKey == nil && tl.seal != nil:
		return fmt.Errorf("store/mongo: AppendAudit: the audit trail of %s is sealed with the audit key (from entry %d on): a store without the key cannot append to it: %w",
			tenant, tl.seal.From, store.ErrUnavailable)
	}
	return nil
}

// AuditHead implements store.AuditLog: the last committed entry.
func (s *Store) AuditHead(ctx context.Context, tenant string) (int64, []byte, error) {
	if _, err := s.Tenant(ctx, tenant); err != nil {
		return 0, nil, err
	}
	tl, err := s.auditTail(ctx, tenant)
	if err != nil {
		return 0, nil, err
	}
	return tl.seq, tl.hash, nil
}

// AuditSeal implements store.AuditLog: the tail and its seal, and the entries stored after it
// that are not part of a live append (Past).
func (s *Store) AuditSeal(ctx context.Context, tenant string) (store.AuditSeal, error) {
	if _, err := s.Tenant(ctx, tenant); err != nil {
		return store.AuditSeal{}, err
	}
	tl, err := s.auditTail(ctx, tenant)
	if err != nil {
		return store.AuditSeal{}, err
	}
	past, err := s.audit.CountDocuments(ctx, s.pastFilter(tenant, tl.seq))
	if err == nil && past > 0 {
		// An append may have committed since the tail was read: count from the tail now.
		if tl, err = s.auditTail(ctx, tenant); err == nil {
			past, err = s.audit.CountDocuments(ctx, s.pastFilter(tenant, tl.seq))
		}
	}
	if err != nil {
		return store.AuditSeal{}, unavailable("AuditSeal", err)
	}
	seal := auditSeal(tl.seq, tl.hash, tl.seal)
	seal.Past = past
	return seal, nil
}

// pastFilter selects a tenant's entries after seq that no live append holds: committed ones, and
// pending ones past their lease (which the recovery pass will abort).
func (s *Store) pastFilter(tenant string, seq int64) bson.D {
	return bson.D{{Key: "t", Value: tenant}, {Key: "seq", Value: bson.D{{Key: "$gt", Value: seq}}},
		{Key: "$or", Value: bson.A{
			bson.D{{Key: "tx", Value: bson.D{{Key: "$exists", Value: false}}}},
			bson.D{{Key: "la", Value: bson.D{{Key: "$lt", Value: s.opts.Now().Add(-s.auditLease()).UnixMilli()}}}},
		}}}
}

// VerifyAuditIndex implements store.AuditLog. The index of an entry is its own document: its
// _id ("t/seq": one document per seq), and ety, the type part of en, which only searches read.
// It reads the tenant's entries in seq order (fields of the index only) and reports a document
// under another _id (a search finds it twice), an ety that is not its entity's type (a search by
// type misses it and finds it elsewhere), and entries past the tail that no live append holds
// (the index has them, the trail does not).
func (s *Store) VerifyAuditIndex(ctx context.Context, tenant string) error {
	if _, err := s.Tenant(ctx, tenant); err != nil {
		return err
	}
	tl, err := s.auditTail(ctx, tenant)
	if err != nil {
		return err
	}
	var found store.AuditIndexError
	cur, err := s.audit.Find(ctx, bson.D{{Key: "t", Value: tenant}, {Key: "seq", Value: bson.D{{Key: "$lte", Value: tl.seq}}}},
		options.Find().SetSort(bson.D{{Key: "seq", Value: 1}}).SetBatchSize(1000).
			SetProjection(bson.D{{Key: "seq", Value: 1}, {Key: "en", Value: 1}, {Key: "ety", Value: 1}}))
	if err != nil {
		return unavailable("VerifyAuditIndex", err)
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var d struct {
			ID  string `bson:"_id"`
			Seq int64  `bson:"seq"`
			En  string `bson:"en"`
			Ety string `bson:"ety"`
		}
		if err := cur.Decode(&d); err != nil {
			return unavailable("VerifyAuditIndex", err)
		}
		if d.ID != auditKey(tenant, d.Seq) {
			found.Add("entry %d: indexed again as document %q (searches find it twice)", d.Seq, d.ID)
			continue
		}
		if want := entityType(d.En); d.Ety != want {
			found.Add("entry %d: filed under entity type %q, which it does not name (its entity is %q)", d.Seq, d.Ety, d.En)
		}
	}
	if err := cur.Err(); err != nil {
		return unavailable("VerifyAuditIndex", err)
	}
	// Past the tail as it is now: an append may have committed meanwhile.
	if tl, err = s.auditTail(ctx, tenant); err != nil {
		return err
	}
	cur, err = s.audit.Find(ctx, s.pastFilter(tenant, tl.seq), options.Find().SetSort(bson.D{{Key: "seq", Value: 1}}).
		SetLimit(store.MaxAuditIndexProblems+1).SetProjection(bson.D{{Key: "seq", Value: 1}}))
	if err != nil {
		return unavailable("VerifyAuditIndex", err)
	}
	var past []auditDoc
	if err := cur.All(ctx, &past); err != nil {
		return unavailable("VerifyAuditIndex", err)
	}
	for _, d := range past {
		found.Add("entry %d: in the index but not in the trail, whose head is entry %d", d.Seq, tl.seq)
	}
	return found.Err()
}

// AuditEntries implements store.AuditLog. It reads up to the tail, so it never returns an
// entry of an append that has not committed.
func (s *Store) AuditEntries(ctx context.Context, tenant string, after int64, limit int) ([]store.AuditEntry, error) {
	if _, err := s.Tenant(ctx, tenant); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = defaultCount
	}
	limit = min(limit, maxEvents)
	tl, err := s.auditTail(ctx, tenant)
	if err != nil {
		return nil, err
	}
	if after >= tl.seq {
		return nil, nil
	}
	cur, err := s.audit.Find(ctx, bson.D{{Key: "t", Value: tenant}, {Key: "seq", Value: bson.D{{Key: "$gt", Value: after}, {Key: "$lte", Value: tl.seq}}}},
		options.Find().SetSort(bson.D{{Key: "seq", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, unavailable("AuditEntries", err)
	}
	var ds []auditDoc
	if err := cur.All(ctx, &ds); err != nil {
		return nil, unavailable("AuditEntries", err)
	}
	es := make([]store.AuditEntry, len(ds))
	for i := range ds {
		es[i] = ds[i].entry()
	}
	return es, nil
}

// SearchAudit implements store.AuditLog: one find, newest first, up to the tail. Each
// condition is an equality on an indexed field ({t, field, seq}: the sort and Before ride on
// the index); an Entity without an id matches the type field ety. The conditions are checked
// again on the entries found (FerretDB's array matching is not MongoDB's).
func (s *Store) SearchAudit(ctx context.Context, tenant string, q store.AuditQuery) ([]store.AuditEntry, int64, error) {
	if _, err := s.Tenant(ctx, tenant); err != nil {
		return nil, 0, err
	}
	count := q.Count
	if count <= 0 {
		count = defaultCount
	}
	count = min(count, maxCount)
	tl, err := s.auditTail(ctx, tenant)
	if err != nil {
		return nil, 0, err
	}
	upper := tl.seq
	if q.Before > 0 {
		upper = min(upper, q.Before-1)
	}
	if upper < 1 {
		return nil, 0, nil
	}
	f := bson.D{{Key: "t", Value: tenant}}
	for _, c := range []struct{ field, value string }{{"ag", q.Agent}, {"pa", q.Patient}, {"ac", q.Action}, {"oc", q.Outcome}} {
		if c.value != "" {
			f = append(f, bson.E{Key: c.field, Value: c.value})
		}
	}
	switch {
	case strings.Contains(q.Entity, "/"):
		f = append(f, bson.E{Key: "en", Value: q.Entity})
	case q.Entity != "":
		f = append(f, bson.E{Key: "ety", Value: q.Entity})
	}
	f = append(f, bson.E{Key: "seq", Value: bson.D{{Key: "$lte", Value: upper}}})
	ts := bson.D{}
	if !q.Since.IsZero() {
		ts = append(ts, bson.E{Key: "$gte", Value: q.Since.UnixMilli()})
	}
	if !q.Until.IsZero() {
		ts = append(ts, bson.E{Key: "$lt", Value: q.Until.UnixMilli()})
	}
	if len(ts) > 0 {
		f = append(f, bson.E{Key: "ts", Value: ts})
	}
	fo := options.Find().SetSort(bson.D{{Key: "seq", Value: -1}}).SetBatchSize(int32(count + 1))
	if s.exact.Load() {
		fo.SetLimit(int64(count + 1)) // the filter is exact: a bounded (top-k) sort at worst
	}
	cur, err := s.audit.Find(ctx, f, fo)
	if err != nil {
		return nil, 0, unavailable("SearchAudit", err)
	}
	defer cur.Close(ctx)
	var es []store.AuditEntry
	for cur.Next(ctx) {
		var d auditDoc
		if err := cur.Decode(&d); err != nil {
			return nil, 0, unavailable("SearchAudit", err)
		}
		if !auditMatches(&d, q) {
			continue
		}
		if len(es) == count {
			return es, es[count-1].Seq, nil
		}
		es = append(es, d.entry())
	}
	if err := cur.Err(); err != nil {
		return nil, 0, unavailable("SearchAudit", err)
	}
	return es, 0, nil
}

// auditMatches checks an entry found by SearchAudit against q (Before aside).
func auditMatches(d *auditDoc, q store.AuditQuery) bool {
	switch {
	case !q.Since.IsZero() && d.Ts < q.Since.UnixMilli(), !q.Until.IsZero() && d.Ts >= q.Until.UnixMilli(),
		q.Agent != "" && d.Ag != q.Agent, q.Action != "" && d.Ac != q.Action, q.Outcome != "" && d.Oc != q.Outcome,
		q.Patient != "" && !slices.Contains(d.Pa, q.Patient):
		return false
	case strings.Contains(q.Entity, "/"):
		return d.En == q.Entity
	case q.Entity != "":
		return entityType(d.En) == q.Entity
	}
	return true
}

// recoverAudit finishes what appends left: committed ones are tidied (the head moved past
// them, their entries' pending marks removed, their records deleted), pending ones past the
// lease are aborted and their entries deleted, and aborted records are deleted after a day
// (long enough for a late commit attempt to fail).
func (s *Store) recoverAudit(ctx context.Context) error {
	now := s.opts.Now()
	cur, err := s.auditTx.Find(ctx, bson.D{{Key: "st", Value: "c"}}, options.Find().SetLimit(1000))
	if err != nil {
		return unavailable("audit recovery", err)
	}
	var rs []auditTxDoc
	if err := cur.All(ctx, &rs); err != nil {
		return unavailable("audit recovery", err)
	}
	if len(rs) > 0 {
		ids := make([]string, 0, len(rs))
		for _, r := range rs {
			if err := s.moveAuditHead(ctx, r.T, r.Hi, r.H, r.Seal); err != nil {
				return err
			}
			ids = append(ids, r.ID)
		}
		in := bson.D{{Key: "$in", Value: ids}}
		if _, err := s.audit.UpdateMany(ctx, bson.D{{Key: "tx", Value: in}}, bson.D{{Key: "$unset", Value: bson.D{{Key: "tx", Value: ""}, {Key: "la", Value: ""}}}}); err != nil {
			return unavailable("audit recovery", err)
		}
		if _, err := s.auditTx.DeleteMany(ctx, bson.D{{Key: "_id", Value: in}}); err != nil {
			return unavailable("audit recovery", err)
		}
	}
	stale := now.Add(-s.auditLease()).UnixMilli()
	cur, err = s.audit.Find(ctx, bson.D{{Key: "tx", Value: bson.D{{Key: "$exists", Value: true}}}, {Key: "la", Value: bson.D{{Key: "$lt", Value: stale}}}},
		options.Find().SetProjection(bson.D{{Key: "t", Value: 1}, {Key: "tx", Value: 1}}).SetLimit(10000))
	if err != nil {
		return unavailable("audit recovery", err)
	}
	var ps []auditDoc
	if err := cur.All(ctx, &ps); err != nil {
		return unavailable("audit recovery", err)
	}
	seen := map[string]bool{}
	var errs []error
	for _, p := range ps {
		if seen[p.Tx] {
			continue
		}
		seen[p.Tx] = true
		st, err := s.settleAudit(ctx, p.T, p.Tx)
		if err == nil && st == "c" { // committed since the first step: tidied next time
			continue
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := s.auditTx.DeleteMany(ctx, bson.D{{Key: "st", Value: "a"}, {Key: "at", Value: bson.D{{Key: "$lt", Value: now.Add(-24 * time.Hour).UnixMilli()}}}}); err != nil {
		errs = append(errs, unavailable("audit recovery", err))
	}
	return errors.Join(errs...)
}
