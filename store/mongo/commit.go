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
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	mrand "math/rand/v2"
	"slices"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	mongodrv "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/kodomohub/kodomohub/fhir"
	"github.com/kodomohub/kodomohub/store"
)

// Version actions (field act of a version).
const (
	actCreate = 1
	actUpdate = 2
	actDelete = 3
)

var actions = [...]store.Action{actCreate: store.Create, actUpdate: store.Update, actDelete: store.Delete}

// resDoc is a resource document: the committed current version of one resource, its
// index, and the lock of the transaction writing it.
type resDoc struct {
	ID   string   `bson:"_id"`
	T    string   `bson:"t"`
	Ty   string   `bson:"ty"`
	RID  string   `bson:"id"`
	V    int64    `bson:"v"`
	Live bool     `bson:"live"`
	Del  bool     `bson:"del"`
	Seq  int64    `bson:"seq"`
	Ts   int64    `bson:"ts"`
	R    int64    `bson:"r"`
	Raw  []byte   `bson:"raw"`
	Ik   []string `bson:"ik,omitempty"`
	Ix   []ent    `bson:"ix,omitempty"`
	Sk   bson.Raw `bson:"sk,omitempty"`
	Lk   string   `bson:"lk,omitempty"`
	La   int64    `bson:"la,omitempty"`
}

// verDoc is a version document. Tx, Ix, Sk and La are set only while it is pending.
type verDoc struct {
	ID  string        `bson:"_id"`
	T   string        `bson:"t"`
	Ty  string        `bson:"ty"`
	RID string        `bson:"id"`
	V   int64         `bson:"v"`
	Seq int64         `bson:"seq"`
	Ts  int64         `bson:"ts"`
	Act int32         `bson:"act"`
	Raw []byte        `bson:"raw,omitempty"`
	M   string        `bson:"m,omitempty"` // store.Write.Method
	R   int64         `bson:"r"`
	Tx  string        `bson:"tx,omitempty"`
	La  int64         `bson:"la,omitempty"`
	Ik  bson.RawValue `bson:"ik,omitempty"`
	Ix  bson.RawValue `bson:"ix,omitempty"`
	Sk  bson.RawValue `bson:"sk,omitempty"`
}

func (v *verDoc) resource() fhir.Resource {
	r := fhir.Resource{Type: v.Ty, ID: v.RID, Version: v.V, LastUpdated: time.UnixMilli(v.Ts).UTC(), Raw: v.Raw}
	if v.Act == actDelete {
		r.Deleted, r.Raw = true, nil
	}
	return r
}

// state is what a Commit knows of one resource: its committed state, then the state after
// each of the Commit's writes.
type state struct {
	key     string
	doc     bool // a document exists (maybe a placeholder, v 0)
	v       int64
	del     bool
	ts, r   int64
	startV  int64 // v when read: the lock condition
	written []int // indexes of the Commit's versions of this resource
}

// pver is one version a Commit writes.
type pver struct {
	w       int // write index
	st      *state
	v       int64
	act     int32
	seq, ts int64
	raw     []byte
	ik      []string
	ix      []ent
	sk      bson.D
}

// maxCommitWait bounds how long a Commit waits for locks held by other transactions.
const maxCommitWait = 2 * time.Minute

// Commit implements store.Store; see doc.go ("Writes") for the protocol. A Commit returns
// after its transaction record says committed; it then rolls its versions forward, which
// recovery finishes if the process dies first.
func (s *Store) Commit(ctx context.Context, tenant string, writes []store.Write) ([]store.Result, error) {
	tn, err := s.Tenant(ctx, tenant)
	if err != nil {
		return nil, err
	}
	if len(writes) == 0 {
		return nil, nil
	}
	for i, w := range writes {
		if _, err := store.CheckWrite(w); err != nil {
			return nil, &store.WriteError{Index: i, Key: store.Key{Type: w.Type, ID: w.ID}, Err: err}
		}
	}
	var keys []string
	seen := map[string]bool{}
	for _, w := range writes {
		k := resKey(tenant, w.Type, w.ID)
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	unlock := s.lockLocal(keys)
	defer unlock()
	start := time.Now()
	for attempt := 0; ; attempt++ {
		res, err, retry := s.try(ctx, tn, writes, keys)
		if !retry {
			return res, err
		}
		if time.Since(start) > maxCommitWait {
			return nil, fmt.Errorf("store/mongo: Commit: resources stay locked by other transactions: %w", store.ErrUnavailable)
		}
		d := time.Duration(1+mrand.IntN(1<<min(attempt, 7))) * time.Millisecond
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(d):
		}
	}
}

// lockLocal takes the in-process stripes of keys (in order: no deadlock) and returns their
// release. Writers of one process then wait here rather than retrying on the server.
func (s *Store) lockLocal(keys []string) func() {
	var idx []int
	for _, k := range keys {
		h := fnv.New32a()
		h.Write([]byte(k))
		idx = append(idx, int(h.Sum32()%uint32(len(s.stripes))))
	}
	slices.Sort(idx)
	idx = slices.Compact(idx)
	for _, i := range idx {
		s.stripes[i].Lock()
	}
	return func() {
		for _, i := range idx {
			s.stripes[i].Unlock()
		}
	}
}

func newTxID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// try runs one attempt of a Commit. retry is set when the attempt met a lock or a
// concurrent change and wrote nothing that stays.
func (s *Store) try(ctx context.Context, tn store.Tenant, writes []store.Write, keys []string) (_ []store.Result, _ error, retry bool) {
	tenant := tn.ID
	now := s.opts.Now().UnixMilli()
	// 1. Read the current documents; settle or wait for locks of other transactions.
	docs, err := s.findRes(ctx, keys)
	if err != nil {
		return nil, err, false
	}
	states := map[string]*state{}
	maxTs := int64(0)
	for _, k := range keys {
		st := &state{key: k}
		if d, ok := docs[k]; ok {
			if d.Lk != "" {
				st, err := s.txnState(ctx, d.Lk)
				if err != nil {
					return nil, err, false
				}
				if st != "f" && st != "d" { // a mark left by a finished roll forward is only a hint
					if err := s.settleLock(ctx, tenant, d.Lk, d.La, now); err != nil {
						return nil, err, false
					}
					return nil, nil, true
				}
			}
			st.doc, st.v, st.del, st.ts, st.r = true, d.V, d.Del, d.Ts, d.R
			maxTs = max(maxTs, d.Ts)
		}
		st.startV = st.v
		states[k] = st
	}
	ts := max(now, maxTs)
	// 2. Plan the versions, checking each write against the state it meets.
	results := make([]store.Result, len(writes))
	var vers []*pver
	for i, w := range writes {
		st := states[resKey(tenant, w.Type, w.ID)]
		fail := func(err error) ([]store.Result, error, bool) {
			return nil, &store.WriteError{Index: i, Key: store.Key{Type: w.Type, ID: w.ID}, Err: err}, false
		}
		if w.IfMatch != 0 && w.IfMatch != st.v {
			return fail(fmt.Errorf("%s/%s is at version %d, not %d: %w", w.Type, w.ID, st.v, w.IfMatch, store.ErrVersionConflict))
		}
		act := int32(actUpdate)
		switch w.Action {
		case store.Create:
			if st.v != 0 {
				return fail(fmt.Errorf("%s/%s: %w", w.Type, w.ID, store.ErrExists))
			}
			act = actCreate
		case store.Update:
			if st.v == 0 || st.del {
				act = actCreate
			}
		case store.Delete:
			if st.v == 0 || st.del {
				results[i] = store.Result{Resource: fhir.Resource{Type: w.Type, ID: w.ID, Deleted: true}, Noop: true}
				continue
			}
			act = actDelete
		}
		st.v++
		st.del = act == actDelete
		st.ts = ts
		pv := &pver{w: i, st: st, v: st.v, act: act, ts: ts}
		res := fhir.Resource{Type: w.Type, ID: w.ID, Version: st.v, LastUpdated: time.UnixMilli(ts).UTC(), Deleted: st.del}
		if !st.del {
			raw, err := fhir.Stamp(w.Resource, w.ID, st.v, res.LastUpdated)
			if err != nil {
				return fail(err)
			}
			res.Raw, pv.raw = raw, raw
			pv.ik, pv.ix, pv.sk = encodeIndex(w.Index)
		}
		st.written = append(st.written, len(vers))
		vers = append(vers, pv)
		results[i] = store.Result{Resource: res, Created: act == actCreate}
	}
	if tn.ReferentialIntegrity != store.IntegrityOff {
		if err := s.checkRefs(ctx, tenant, writes, states); err != nil {
			return nil, err, false
		}
	}
	if len(vers) == 0 {
		return results, nil, false // only no-op deletes
	}
	// 3. Lock every written resource: insert one lock document per resource (a unique _id:
	// exactly one transaction gets it, on MongoDB and on FerretDB alike, whose conditional
	// updates are not atomic), then check that each resource is at the version planned
	// (optimistic locking across processes), and mark the resource documents (a hint for
	// readers: Read of a document locked by a committed transaction looks further).
	tx := newTxID()
	var locked []string
	var lockDocs, inserts []any
	for _, k := range keys {
		st := states[k]
		if len(st.written) == 0 {
			continue
		}
		locked = append(locked, k)
		lockDocs = append(lockDocs, bson.D{{Key: "_id", Value: k}, {Key: "t", Value: tenant}, {Key: "tx", Value: tx}, {Key: "la", Value: now}})
		if !st.doc {
			w := writes[vers[st.written[0]].w]
			inserts = append(inserts, bson.D{{Key: "_id", Value: k}, {Key: "t", Value: tenant},
				{Key: "ty", Value: w.Type}, {Key: "id", Value: w.ID}, {Key: "v", Value: int64(0)}, {Key: "live", Value: false},
				{Key: "del", Value: false}, {Key: "r", Value: int64(0)}, {Key: "lk", Value: tx}, {Key: "la", Value: now}})
		}
	}
	if ok, err := s.acquire(ctx, tenant, tx, lockDocs, now); err != nil || !ok {
		return nil, err, err == nil
	}
	if len(inserts) > 0 {
		// A placeholder left by an aborted transaction may be there already: fine, the
		// check below reads what is there.
		if _, err := s.res.InsertMany(ctx, inserts, options.InsertMany().SetOrdered(false)); err != nil && !isDupOnly(err) {
			s.releaseLocks(tx, locked)
			return nil, unavailable("Commit", err), false
		}
	}
	cur, err := s.findRes(ctx, locked)
	if err != nil {
		s.releaseLocks(tx, locked)
		return nil, err, false
	}
	for _, k := range locked {
		if d := cur[k]; d == nil || d.V != states[k].startV {
			if err := s.releaseLocks(tx, locked); err != nil {
				return nil, err, false
			}
			return nil, nil, true // changed between the read and the lock: read again
		}
	}
	if _, err := s.res.UpdateMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: locked}}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "lk", Value: tx}, {Key: "la", Value: now}}}}); err != nil {
		s.releaseLocks(tx, locked)
		return nil, unavailable("Commit", err), false
	}
	// 4. Sequence numbers: one block for the Commit, registered as open until rolled forward.
	lo, err := s.allocSeqs(ctx, tenant, tx, int64(len(vers)), now)
	if err != nil {
		s.releaseLocks(tx, locked)
		return nil, err, false
	}
	for i, pv := range vers {
		pv.seq = lo + int64(i)
		if pv.st.r == 0 {
			pv.st.r = pv.seq
		}
	}
	// 5. Versions, pending under tx.
	docsV := make([]any, 0, len(vers))
	for i, pv := range vers {
		w := writes[pv.w]
		d := bson.D{{Key: "_id", Value: verKey(pv.st.key, pv.v)}, {Key: "t", Value: tenant}, {Key: "ty", Value: w.Type},
			{Key: "id", Value: w.ID}, {Key: "v", Value: pv.v}, {Key: "seq", Value: pv.seq}, {Key: "ts", Value: pv.ts},
			{Key: "act", Value: pv.act}, {Key: "r", Value: pv.st.r}, {Key: "tx", Value: tx}, {Key: "la", Value: now}}
		if pv.raw != nil {
			d = append(d, bson.E{Key: "raw", Value: pv.raw})
		}
		if w.Method != "" {
			d = append(d, bson.E{Key: "m", Value: w.Method})
		}
		if pv.st.written[len(pv.st.written)-1] == i { // the resource's last version: what it becomes
			d = append(d, bson.E{Key: "ik", Value: nonNil(pv.ik)}, bson.E{Key: "ix", Value: nonNil(pv.ix)}, bson.E{Key: "sk", Value: nonNilD(pv.sk)})
		}
		docsV = append(docsV, d)
	}
	if err := s.insertVersions(ctx, docsV); err != nil {
		s.abort(tenant, tx)
		return nil, err, false
	}
	// 6. The commit point: one insert. Recovery inserts "a" under the same _id to abort a
	// stale transaction, so exactly one of the two wins.
	if _, err := s.txns.InsertOne(ctx, bson.D{{Key: "_id", Value: tx}, {Key: "t", Value: tenant}, {Key: "st", Value: "c"},
		{Key: "at", Value: now}}); err != nil {
		if mongodrv.IsDuplicateKeyError(err) {
			return nil, fmt.Errorf("store/mongo: Commit: transaction aborted by recovery after its lease: %w", store.ErrUnavailable), false
		}
		// Unknown outcome: the record may or may not be written. Settle it later; the
		// answer is unavailable either way (an unacknowledged Commit is all or nothing).
		return nil, unavailable("Commit", err), false
	}
	s.setState(tx, "c")
	// 7. Roll forward. Failures are left to recovery: the Commit has happened.
	fs := make([]final, 0, len(locked))
	for _, k := range locked {
		st := states[k]
		last := vers[st.written[len(st.written)-1]]
		first := vers[st.written[0]]
		w := writes[last.w]
		var vids []string
		for _, j := range st.written {
			vids = append(vids, verKey(k, vers[j].v))
		}
		fs = append(fs, final{vids: vids, key: k, typ: w.Type, id: w.ID, v: last.v, act: last.act, seq: last.seq, ts: last.ts, r: st.r,
			raw: last.raw, ik: nonNil(last.ik), ix: nonNil(last.ix), sk: nonNilD(last.sk), prevV: first.v - 1, firstTs: first.ts})
	}
	if s.opts.Now().UnixMilli()-now > s.opts.Lease.Milliseconds()/2 {
		return results, nil, false // too late to be sure recovery has not started: leave it to recovery
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.Timeout)
	defer cancel()
	s.finalize(fctx, tenant, tx, fs)
	return results, nil, false
}

func nonNil[T any](a []T) []T {
	if a == nil {
		return []T{}
	}
	return a
}

func nonNilD(d bson.D) bson.D {
	if d == nil {
		return bson.D{}
	}
	return d
}

// isDupOnly reports whether err is a bulk write error made of duplicate key errors only.
func isDupOnly(err error) bool {
	var bwe mongodrv.BulkWriteException
	if !errors.As(err, &bwe) || bwe.WriteConcernError != nil || len(bwe.WriteErrors) == 0 {
		return false
	}
	for _, we := range bwe.WriteErrors {
		if we.Code != 11000 {
			return false
		}
	}
	return true
}

// findRes reads resource documents by _id (a bounded $in: the keys of one Commit).
func (s *Store) findRes(ctx context.Context, keys []string) (map[string]*resDoc, error) {
	out := map[string]*resDoc{}
	proj := bson.D{{Key: "raw", Value: 0}, {Key: "ik", Value: 0}, {Key: "ix", Value: 0}, {Key: "sk", Value: 0}}
	if !s.exact.Load() && len(keys) <= 64 {
		// FerretDB reads a document by _id directly, but scans the collection for an $in.
		for _, k := range keys {
			d := new(resDoc)
			err := s.res.FindOne(ctx, bson.D{{Key: "_id", Value: k}}, options.FindOne().SetProjection(proj)).Decode(d)
			switch {
			case errors.Is(err, mongodrv.ErrNoDocuments):
			case err != nil:
				return nil, unavailable("Commit", err)
			default:
				out[k] = d
			}
		}
		return out, nil
	}
	for len(keys) > 0 {
		n := min(len(keys), 500)
		cur, err := s.res.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: keys[:n]}}}},
			options.Find().SetProjection(bson.D{{Key: "raw", Value: 0}, {Key: "ik", Value: 0}, {Key: "ix", Value: 0}, {Key: "sk", Value: 0}}))
		if err != nil {
			return nil, unavailable("Commit", err)
		}
		var ds []*resDoc
		if err := cur.All(ctx, &ds); err != nil {
			return nil, unavailable("Commit", err)
		}
		for _, d := range ds {
			out[d.ID] = d
		}
		keys = keys[n:]
	}
	return out, nil
}

// checkRefs verifies on a strict tenant that every reference of a created or updated
// resource names a resource that exists and is not deleted once the Commit is applied.
func (s *Store) checkRefs(ctx context.Context, tenant string, writes []store.Write, states map[string]*state) error {
	var missing []string
	for _, w := range writes {
		if w.Action == store.Delete {
			continue
		}
		for _, ref := range w.Refs {
			if k := resKey(tenant, ref.Type, ref.ID); states[k] == nil && !slices.Contains(missing, k) {
				missing = append(missing, k)
			}
		}
	}
	others, err := s.findRes(ctx, missing)
	if err != nil {
		return err
	}
	for i, w := range writes {
		if w.Action == store.Delete {
			continue
		}
		for _, ref := range w.Refs {
			k := resKey(tenant, ref.Type, ref.ID)
			var ok bool
			if st := states[k]; st != nil {
				ok = st.v != 0 && !st.del
			} else if d := others[k]; d != nil {
				ok = d.V != 0 && !d.Del
			}
			if !ok {
				return &store.WriteError{Index: i, Key: store.Key{Type: w.Type, ID: w.ID},
					Err: fmt.Errorf("reference %s: %w", ref, store.ErrReference)}
			}
		}
	}
	return nil
}

// acquire inserts lock documents; it reports false (nothing held) when another transaction
// holds one of them, after settling those held past the lease.
func (s *Store) acquire(ctx context.Context, tenant, tx string, docs []any, now int64) (bool, error) {
	_, err := s.locks.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	if err == nil {
		return true, nil
	}
	var keys []string
	for _, d := range docs {
		keys = append(keys, d.(bson.D)[0].Value.(string))
	}
	rerr := s.releaseLocks(tx, keys)
	if !isDupOnly(err) {
		return false, unavailable("Commit", err)
	}
	if rerr != nil {
		return false, rerr
	}
	var bwe mongodrv.BulkWriteException
	errors.As(err, &bwe)
	for _, we := range bwe.WriteErrors {
		var l lockDoc
		if err := s.locks.FindOne(ctx, bson.D{{Key: "_id", Value: keys[we.Index]}}).Decode(&l); err == nil &&
			now-l.At >= s.opts.Lease.Milliseconds() {
			if err := s.settle(ctx, l.T, l.Tx); err != nil {
				return false, err
			}
		}
	}
	return false, nil
}

type lockDoc struct {
	ID string `bson:"_id"`
	T  string `bson:"t"`
	Tx string `bson:"tx"`
	At int64  `bson:"la"`
}

// releaseLocks undoes the lock step of a transaction on keys: placeholders go, the lock
// marks and the lock documents are removed. With keys nil it finds the transaction's lock
// documents (recovery).
func (s *Store) releaseLocks(tx string, keys []string) error {
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.Timeout)
	defer cancel()
	if keys == nil {
		cur, err := s.locks.Find(ctx, bson.D{{Key: "tx", Value: tx}})
		if err != nil {
			return unavailable("recover", err)
		}
		var ds []lockDoc
		if err := cur.All(ctx, &ds); err != nil {
			return unavailable("recover", err)
		}
		keys = []string{}
		for _, d := range ds {
			keys = append(keys, d.ID)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	in := bson.D{{Key: "$in", Value: keys}}
	if _, err := s.res.DeleteMany(ctx, bson.D{{Key: "_id", Value: in}, {Key: "lk", Value: tx}, {Key: "v", Value: int64(0)}}); err != nil {
		return unavailable("Commit", err)
	}
	if _, err := s.res.UpdateMany(ctx, bson.D{{Key: "_id", Value: in}, {Key: "lk", Value: tx}},
		bson.D{{Key: "$unset", Value: bson.D{{Key: "lk", Value: ""}, {Key: "la", Value: ""}}}}); err != nil {
		return unavailable("Commit", err)
	}
	if _, err := s.locks.DeleteMany(ctx, bson.D{{Key: "_id", Value: in}, {Key: "tx", Value: tx}}); err != nil {
		return unavailable("Commit", err)
	}
	return nil
}

// verKey is the _id of a version document.
func verKey(res string, v int64) string { return res + "/" + strconv.FormatInt(v, 10) }

// insertVersions inserts a transaction's pending versions. A version of the same number
// left by an aborted transaction (its writer went on after recovery aborted it) is removed
// first.
func (s *Store) insertVersions(ctx context.Context, docs []any) error {
	for attempt := 0; ; attempt++ {
		_, err := s.vers.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
		if err == nil {
			return nil
		}
		var bwe mongodrv.BulkWriteException
		if attempt > 2 || !isDupOnly(err) || !errors.As(err, &bwe) {
			return unavailable("Commit", err)
		}
		var again []any
		for _, we := range bwe.WriteErrors {
			d := docs[we.Index].(bson.D)
			id := d[0].Value.(string)
			var old verDoc
			if err := s.vers.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&old); err != nil {
				return unavailable("Commit", err)
			}
			if ok, err := s.visible(ctx, &old); err != nil || ok || old.Tx == "" {
				return fmt.Errorf("store/mongo: Commit: version %s exists: %w", id, store.ErrUnavailable)
			}
			if _, err := s.vers.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "tx", Value: old.Tx}}); err != nil {
				return unavailable("Commit", err)
			}
			again = append(again, d)
		}
		docs = again
	}
}

// abort marks tx aborted (unless it committed) and cleans up after it.
func (s *Store) abort(tenant, tx string) {
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.Timeout)
	defer cancel()
	s.settle(ctx, tenant, tx)
}

// allocSeqs reserves n sequence numbers for tx: a compare-and-set on the tenant's counter
// document that also records tx as open (its first seq and start time), so that Events
// never passes a sequence number whose transaction may still commit.
func (s *Store) allocSeqs(ctx context.Context, tenant, tx string, n, now int64) (int64, error) {
	s.smu.Lock()
	ss := s.seqs[tenant]
	if ss == nil {
		ss = &seqState{}
		s.seqs[tenant] = ss
	}
	s.smu.Unlock()
	ss.mu.Lock()
	defer ss.mu.Unlock()
	// The counter is updated under a lock document: FerretDB's conditional updates are not
	// atomic, inserts with a unique _id are.
	lock := bson.D{{Key: "_id", Value: "#seq/" + tenant}, {Key: "t", Value: tenant}, {Key: "tx", Value: tx}, {Key: "la", Value: now}}
	for attempt := 0; ; attempt++ {
		ok, err := s.acquire(ctx, tenant, tx, []any{lock}, s.opts.Now().UnixMilli())
		if err != nil {
			return 0, err
		}
		if ok {
			break
		}
		if attempt > 2000 {
			return 0, fmt.Errorf("store/mongo: Commit: sequence counter contended: %w", store.ErrUnavailable)
		}
		time.Sleep(time.Duration(1+mrand.IntN(1+min(attempt, 10))) * time.Millisecond)
	}
	defer s.locks.DeleteOne(context.WithoutCancel(ctx), bson.D{{Key: "_id", Value: "#seq/" + tenant}, {Key: "tx", Value: tx}})
	var c struct {
		N int64 `bson:"n"`
	}
	if err := s.counters.FindOne(ctx, bson.D{{Key: "_id", Value: tenant}}).Decode(&c); err != nil {
		return 0, unavailable("Commit", err)
	}
	// The open block first, then the counter: a reader that sees the new counter value
	// then sees the block (Events reads them in that order).
	if _, err := s.open.InsertOne(ctx, bson.D{{Key: "_id", Value: tx}, {Key: "t", Value: tenant}, {Key: "lo", Value: c.N + 1},
		{Key: "la", Value: now}}); err != nil {
		return 0, unavailable("Commit", err)
	}
	if _, err := s.counters.UpdateOne(ctx, bson.D{{Key: "_id", Value: tenant}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "n", Value: c.N + n}}}}); err != nil {
		return 0, unavailable("Commit", err)
	}
	return c.N + 1, nil
}

// final is the state a transaction leaves a resource in.
type final struct {
	vids         []string // the transaction's versions of the resource
	key, typ, id string
	v            int64
	act          int32
	seq, ts, r   int64
	raw          []byte
	ik, ix, sk   any
	prevV        int64 // the version before the transaction (0: none)
	firstTs      int64 // lastUpdated of the transaction's first version of it
}

// finalize rolls a committed transaction forward: resource documents take their new
// versions and lose the lock, the previous versions get their successor's time, the
// versions lose their pending marks, the counter forgets tx, and the record goes. Every
// step is idempotent: recovery repeats them after a crash.
func (s *Store) finalize(ctx context.Context, tenant, tx string, fs []final) error {
	var rm []mongodrv.WriteModel
	for _, f := range fs {
		del := f.act == actDelete
		doc := bson.D{{Key: "_id", Value: f.key}, {Key: "t", Value: tenant}, {Key: "ty", Value: f.typ}, {Key: "id", Value: f.id},
			{Key: "v", Value: f.v}, {Key: "live", Value: !del}, {Key: "del", Value: del}, {Key: "seq", Value: f.seq},
			{Key: "ts", Value: f.ts}, {Key: "r", Value: f.r}}
		if del {
			doc = append(doc, bson.E{Key: "ik", Value: bson.A{}}, bson.E{Key: "ix", Value: bson.A{}}, bson.E{Key: "sk", Value: bson.D{}})
		} else {
			doc = append(doc, bson.E{Key: "raw", Value: f.raw}, bson.E{Key: "ik", Value: f.ik}, bson.E{Key: "ix", Value: f.ix}, bson.E{Key: "sk", Value: f.sk})
		}
		// On MongoDB the replacement is conditional on the lock; FerretDB reads a document
		// directly only for a filter on _id alone (anything more scans the collection), so
		// there the lease keeps a late roll forward from overwriting a later transaction.
		filter := bson.D{{Key: "_id", Value: f.key}}
		if s.exact.Load() {
			filter = append(filter, bson.E{Key: "lk", Value: tx})
		}
		rm = append(rm, mongodrv.NewReplaceOneModel().SetFilter(filter).SetReplacement(doc))
	}
	if len(rm) > 0 {
		if err := bulk(ctx, s.res, rm); err != nil {
			return unavailable("finalize", err)
		}
	}
	keys := make([]string, 0, len(fs))
	for _, f := range fs {
		keys = append(keys, f.key)
	}
	if len(keys) > 0 {
		if _, err := s.locks.DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: keys}}}, {Key: "tx", Value: tx}}); err != nil {
			return unavailable("finalize", err)
		}
	}
	if _, err := s.open.DeleteOne(ctx, bson.D{{Key: "_id", Value: tx}}); err != nil {
		return unavailable("finalize", err)
	}
	if _, err := s.txns.UpdateOne(ctx, bson.D{{Key: "_id", Value: tx}}, bson.D{{Key: "$set", Value: bson.D{{Key: "st", Value: "f"}}}}); err != nil {
		return unavailable("finalize", err)
	}
	s.setState(tx, "f")
	return nil
}

// bulkChunk bounds the operations of one bulk write: FerretDB 1.24 stalls on update
// batches of more than about a hundred.
const bulkChunk = 50

// bulk runs ms unordered, in chunks.
func bulk(ctx context.Context, c *mongodrv.Collection, ms []mongodrv.WriteModel) error {
	for len(ms) > 0 {
		n := min(len(ms), bulkChunk)
		if _, err := c.BulkWrite(ctx, ms[:n], options.BulkWrite().SetOrdered(false)); err != nil {
			return err
		}
		ms = ms[n:]
	}
	return nil
}

// txnState returns the recorded outcome of tx: "c" committed, "a" aborted, "" none yet.
func (s *Store) txnState(ctx context.Context, tx string) (string, error) {
	s.xmu.Lock()
	st, ok := s.states[tx]
	s.xmu.Unlock()
	if ok {
		return st, nil
	}
	var d struct {
		St string `bson:"st"`
	}
	err := s.txns.FindOne(ctx, bson.D{{Key: "_id", Value: tx}}).Decode(&d)
	switch {
	case errors.Is(err, mongodrv.ErrNoDocuments):
		return "", nil
	case err != nil:
		return "", unavailable("transaction state", err)
	}
	s.setState(tx, d.St)
	return d.St, nil
}

func (s *Store) setState(tx, st string) {
	s.xmu.Lock()
	if len(s.states) > 100000 {
		clear(s.states)
	}
	s.states[tx] = st
	s.xmu.Unlock()
}

// settleLock deals with a lock met by a writer: a decided transaction is finished (rolled
// forward or cleaned up), a pending one past its lease is aborted; a live one is left to
// its owner (the caller waits).
func (s *Store) settleLock(ctx context.Context, tenant, tx string, lockedAt, now int64) error {
	if now-lockedAt < s.opts.Lease.Milliseconds() {
		return nil // the owner is within its lease: wait for it
	}
	return s.settle(ctx, tenant, tx)
}

// settle decides tx (aborting it unless it committed) and finishes it.
func (s *Store) settle(ctx context.Context, tenant, tx string) error {
	st, err := s.txnState(ctx, tx)
	if err != nil {
		return err
	}
	if st == "" {
		_, err := s.txns.InsertOne(ctx, bson.D{{Key: "_id", Value: tx}, {Key: "t", Value: tenant}, {Key: "st", Value: "a"},
			{Key: "at", Value: s.opts.Now().UnixMilli()}})
		switch {
		case err == nil:
			st = "a"
			s.setState(tx, st)
		case mongodrv.IsDuplicateKeyError(err):
			if st, err = s.txnState(ctx, tx); err != nil {
				return err
			}
		default:
			return unavailable("recover", err)
		}
	}
	switch st {
	case "c":
		return s.rollForward(ctx, tenant, tx)
	case "a":
		return s.cleanupAborted(ctx, tenant, tx)
	}
	return nil // finalized already
}

// committed reports whether a transaction state is a commit (rolled forward or not).
func committed(st string) bool { return st == "c" || st == "f" || st == "d" }

// cleanVersions finishes finalized transactions in two passes: their versions lose the
// pending marks (state "d"), and a later pass deletes records that have been "d" for a
// while (a reader that saw a mark may still look the record up).
func (s *Store) cleanVersions(ctx context.Context) error {
	old := s.opts.Now().Add(-time.Minute).UnixMilli()
	if _, err := s.txns.DeleteMany(ctx, bson.D{{Key: "st", Value: "d"}, {Key: "at", Value: bson.D{{Key: "$lt", Value: old}}}}); err != nil {
		return unavailable("recover", err)
	}
	cur, err := s.txns.Find(ctx, bson.D{{Key: "st", Value: "f"}}, options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}).SetLimit(1000))
	if err != nil {
		return unavailable("recover", err)
	}
	var ds []struct {
		ID string `bson:"_id"`
	}
	if err := cur.All(ctx, &ds); err != nil {
		return unavailable("recover", err)
	}
	if len(ds) == 0 {
		return nil
	}
	ids := make([]string, 0, len(ds))
	for _, d := range ds {
		ids = append(ids, d.ID)
	}
	if _, err := s.vers.UpdateMany(ctx, bson.D{{Key: "tx", Value: bson.D{{Key: "$in", Value: ids}}}},
		bson.D{{Key: "$unset", Value: bson.D{{Key: "tx", Value: ""}, {Key: "la", Value: ""}, {Key: "ik", Value: ""}, {Key: "ix", Value: ""}, {Key: "sk", Value: ""}}}}); err != nil {
		return unavailable("recover", err)
	}
	if _, err := s.txns.UpdateMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "st", Value: "d"}, {Key: "at", Value: s.opts.Now().UnixMilli()}}}}); err != nil {
		return unavailable("recover", err)
	}
	return nil
}

// rollForward finishes a committed transaction from its pending versions.
func (s *Store) rollForward(ctx context.Context, tenant, tx string) error {
	cur, err := s.vers.Find(ctx, bson.D{{Key: "tx", Value: tx}}, options.Find().SetSort(bson.D{{Key: "seq", Value: 1}}))
	if err != nil {
		return unavailable("recover", err)
	}
	var vs []verDoc
	if err := cur.All(ctx, &vs); err != nil {
		return unavailable("recover", err)
	}
	byKey := map[string]*final{}
	var order []string
	for _, v := range vs {
		k := resKey(v.T, v.Ty, v.RID)
		f := byKey[k]
		if f == nil {
			f = &final{key: k, typ: v.Ty, id: v.RID, prevV: v.V - 1, firstTs: v.Ts}
			byKey[k] = f
			order = append(order, k)
		}
		f.vids = append(f.vids, v.ID)
		if v.V >= f.v {
			f.v, f.act, f.seq, f.ts, f.r, f.raw = v.V, v.Act, v.Seq, v.Ts, v.R, v.Raw
			f.ik, f.ix, f.sk = bson.A{}, bson.A{}, bson.D{}
			if v.Ik.Type != 0 {
				f.ik = v.Ik
			}
			if v.Ix.Type != 0 {
				f.ix = v.Ix
			}
			if v.Sk.Type != 0 {
				f.sk = v.Sk
			}
		}
	}
	fs := make([]final, 0, len(order))
	for _, k := range order {
		fs = append(fs, *byKey[k])
	}
	return s.finalize(ctx, tenant, tx, fs)
}

// cleanupAborted removes what an aborted transaction wrote: its versions, its placeholder
// documents, its locks and its open sequence block. The aborted record stays (a day) so
// that a late commit attempt of the transaction fails.
func (s *Store) cleanupAborted(ctx context.Context, tenant, tx string) error {
	if _, err := s.vers.DeleteMany(ctx, bson.D{{Key: "tx", Value: tx}}); err != nil {
		return unavailable("recover", err)
	}
	if err := s.releaseLocks(tx, nil); err != nil {
		return err
	}
	if _, err := s.open.DeleteOne(ctx, bson.D{{Key: "_id", Value: tx}}); err != nil {
		return unavailable("recover", err)
	}
	return nil
}

// recoverLoop runs recover every RecoverEvery until Close.
func (s *Store) recoverLoop(base context.Context) {
	defer s.wg.Done()
	t := time.NewTicker(s.opts.RecoverEvery)
	defer t.Stop()
	for first := true; ; first = false {
		if !first {
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
		ctx, cancel := context.WithTimeout(base, 2*s.opts.Timeout)
		if !s.probed.Load() {
			s.probe(ctx)
		}
		if !s.indexed.Load() && s.ensureIndexes(ctx) == nil {
			s.indexed.Store(true)
		}
		s.recover(ctx)
		cancel()
	}
}

// recover settles every transaction that has held a lock, a sequence block or pending
// versions for longer than the lease, and finishes committed ones a crash interrupted.
// It is safe to run in any number of processes at once.
func (s *Store) recover(ctx context.Context) error {
	stale := s.opts.Now().UnixMilli() - s.opts.Lease.Milliseconds()
	type txRef struct{ tenant, tx string }
	var todo []txRef
	seen := map[string]bool{}
	add := func(tenant, tx string) {
		if tx != "" && !seen[tx] {
			seen[tx] = true
			todo = append(todo, txRef{tenant, tx})
		}
	}
	// Open sequence blocks, lock documents, lock marks and pending versions.
	for _, q := range []struct {
		c     *mongodrv.Collection
		field string
	}{{s.open, "_id"}, {s.locks, "tx"}, {s.res, "lk"}, {s.vers, "tx"}} {
		cur, err := q.c.Find(ctx, bson.D{{Key: q.field, Value: bson.D{{Key: "$exists", Value: true}}}, {Key: "la", Value: bson.D{{Key: "$lt", Value: stale}}}},
			options.Find().SetProjection(bson.D{{Key: "t", Value: 1}, {Key: q.field, Value: 1}}).SetLimit(10000))
		if err != nil {
			return unavailable("recover", err)
		}
		var ds []bson.M
		if err := cur.All(ctx, &ds); err != nil {
			return unavailable("recover", err)
		}
		for _, d := range ds {
			t, _ := d["t"].(string)
			tx, _ := d[q.field].(string)
			add(t, tx)
		}
	}
	// Committed records older than the lease: a roll forward was interrupted.
	cur, err := s.txns.Find(ctx, bson.D{{Key: "st", Value: "c"}, {Key: "at", Value: bson.D{{Key: "$lt", Value: stale}}}})
	if err != nil {
		return unavailable("recover", err)
	}
	var rs []struct {
		ID string `bson:"_id"`
		T  string `bson:"t"`
	}
	if err := cur.All(ctx, &rs); err != nil {
		return unavailable("recover", err)
	}
	for _, r := range rs {
		add(r.T, r.ID)
	}
	var errs []error
	for _, r := range todo {
		if err := s.settle(ctx, r.tenant, r.tx); err != nil {
			errs = append(errs, err)
		}
	}
	if err := s.cleanVersions(ctx); err != nil {
		errs = append(errs, err)
	}
	// Aborted records are kept a day: long enough for any late commit attempt to fail.
	if _, err := s.txns.DeleteMany(ctx, bson.D{{Key: "st", Value: "a"},
		{Key: "at", Value: bson.D{{Key: "$lt", Value: s.opts.Now().Add(-24 * time.Hour).UnixMilli()}}}}); err != nil {
		errs = append(errs, unavailable("recover", err))
	}
	if err := s.recoverAdmin(ctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Recover runs one recovery pass now (it also runs at Open and every Options.RecoverEvery).
func (s *Store) Recover(ctx context.Context) error { return s.recover(ctx) }
