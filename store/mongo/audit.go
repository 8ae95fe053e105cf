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
}

func (d *auditDoc) entry() store.AuditEntry {
	return store.AuditEntry{Seq: d.Seq, Time: time.UnixMilli(d.Ts).UTC(), Record: d.Rec, Hash: d.H,
		Agent: d.Ag, Patients: d.Pa, Entity: d.En, Action: d.Ac, Outcome: d.Oc}
}

// auditTxDoc is the record of an append: st "c" (committed: the entries up to Hi, the last
// one's hash H) or "a" (aborted).
type auditTxDoc struct {
	ID string `bson:"_id"`
	T  string `bson:"t"`
	St string `bson:"st"`
	At int64  `bson:"at"`
	Hi int64  `bson:"hi,omitempty"`
	H  []byte `bson:"h,omitempty"`
}

// auditHeadDoc is a tenant's head document.
type auditHeadDoc struct {
	Seq int64  `bson:"seq"`
	H   []byte `bson:"h"`
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
			seq, hash, busy, err := s.auditTail(ctx, tenant)
			if err != nil {
				return nil, err
			}
			if busy { // another process's append is under way after the tail
				if err := pause(ctx, attempt); err != nil {
					return nil, unavailable("AppendAudit", err)
				}
				continue
			}
			q.known, q.seq, q.hash = true, seq, hash
		}
		tx := newTxID()
		out, docs := chainAudit(tenant, q.seq, q.hash, entries, tx, s.opts.Now().UnixMilli())
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
		_, err = s.auditTx.InsertOne(ctx, auditTxDoc{ID: tx, T: tenant, St: "c", At: s.opts.Now().UnixMilli(), Hi: last.Seq, H: last.Hash})
		switch {
		case mongodrv.IsDuplicateKeyError(err): // aborted after its lease: start again
			q.known = false
			continue
		case err != nil: // unknown outcome: the append is all or nothing, and unacknowledged
			q.known = false
			return nil, unavailable("AppendAudit", err)
		}
		q.seq, q.hash = last.Seq, last.Hash
		// The head follows. Should this fail, readers find the append after the head, and the
		// recovery pass moves it.
		s.moveAuditHead(ctx, tenant, last.Seq, last.Hash)
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

// moveAuditHead moves a tenant's head forward to (seq, hash); it never moves it back (on
// MongoDB; on FerretDB two concurrent moves may leave the older one, which the next
// auditTail moves forward again).
func (s *Store) moveAuditHead(ctx context.Context, tenant string, seq int64, hash []byte) error {
	_, err := s.auditHead.UpdateOne(ctx, bson.D{{Key: "_id", Value: tenant}, {Key: "seq", Value: bson.D{{Key: "$lt", Value: seq}}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "seq", Value: seq}, {Key: "h", Value: hash}}}}, options.UpdateOne().SetUpsert(true))
	if err != nil && !mongodrv.IsDuplicateKeyError(err) { // a duplicate: the head is there already
		return unavailable("audit head", err)
	}
	return nil
}

var auditProbe = bson.D{{Key: "seq", Value: 1}, {Key: "h", Value: 1}, {Key: "bl", Value: 1}, {Key: "tx", Value: 1}, {Key: "la", Value: 1}}

// auditTail returns the seq and hash of a tenant's last committed entry: the head document,
// then every committed append found after it (the head is moved there). On the way it
// settles what it meets: an aborted append's entries are deleted, and a pending append past
// its lease is aborted. busy reports a live pending append after the tail.
func (s *Store) auditTail(ctx context.Context, tenant string) (seq int64, hash []byte, busy bool, err error) {
	var h auditHeadDoc
	err = s.auditHead.FindOne(ctx, bson.D{{Key: "_id", Value: tenant}}).Decode(&h)
	switch {
	case errors.Is(err, mongodrv.ErrNoDocuments):
		h.H = bytes.Clone(store.AuditGenesis)
	case err != nil:
		return 0, nil, false, unavailable("audit head", err)
	}
	seq, hash = h.Seq, h.H
	moved := false
	defer func() {
		if moved && err == nil {
			s.moveAuditHead(ctx, tenant, seq, hash)
		}
	}()
	for settled := 0; ; {
		var d auditDoc
		err := s.audit.FindOne(ctx, bson.D{{Key: "_id", Value: auditKey(tenant, seq+1)}}, options.FindOne().SetProjection(auditProbe)).Decode(&d)
		switch {
		case errors.Is(err, mongodrv.ErrNoDocuments):
			return seq, hash, false, nil
		case err != nil:
			return 0, nil, false, unavailable("audit head", err)
		}
		if d.Tx != "" {
			rec, err := s.auditRecord(ctx, d.Tx)
			if err != nil {
				return 0, nil, false, err
			}
			if rec != nil && rec.St == "c" {
				seq, hash, moved = rec.Hi, rec.H, true
				continue
			}
			if rec == nil {
				// Pending, or committed and tidied since it was read: read it again.
				err := s.audit.FindOne(ctx, bson.D{{Key: "_id", Value: d.ID}}, options.FindOne().SetProjection(auditProbe)).Decode(&d)
				switch {
				case errors.Is(err, mongodrv.ErrNoDocuments):
					continue
				case err != nil:
					return 0, nil, false, unavailable("audit head", err)
				}
			}
			if d.Tx != "" {
				if (rec == nil || rec.St != "a") && s.opts.Now().UnixMilli()-d.La < s.auditLease().Milliseconds() {
					return seq, hash, true, nil // a live append: not in the chain yet
				}
				if settled++; settled > 100 {
					return 0, nil, false, fmt.Errorf("store/mongo: audit entry %s stays pending: %w", d.ID, store.ErrUnavailable)
				}
				if _, err := s.settleAudit(ctx, tenant, d.Tx); err != nil {
					return 0, nil, false, err
				}
				continue // committed or gone now: look again
			}
		}
		// Committed and tidied: its append ends at Bl.
		if d.Bl == d.Seq {
			seq, hash, moved = d.Seq, d.H, true
			continue
		}
		var e auditDoc
		err = s.audit.FindOne(ctx, bson.D{{Key: "_id", Value: auditKey(tenant, d.Bl)}}, options.FindOne().SetProjection(auditProbe)).Decode(&e)
		switch {
		case errors.Is(err, mongodrv.ErrNoDocuments) || err == nil && e.Seq != d.Bl:
			return 0, nil, false, fmt.Errorf("store/mongo: audit entry %d is missing: the trail is inconsistent", d.Bl)
		case err != nil:
			return 0, nil, false, unavailable("audit head", err)
		}
		seq, hash, moved = e.Seq, e.H, true
	}
}

// AuditHead implements store.AuditLog: the last committed entry.
func (s *Store) AuditHead(ctx context.Context, tenant string) (int64, []byte, error) {
	if _, err := s.Tenant(ctx, tenant); err != nil {
		return 0, nil, err
	}
	seq, hash, _, err := s.auditTail(ctx, tenant)
	if err != nil {
		return 0, nil, err
	}
	return seq, hash, nil
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
	tail, _, _, err := s.auditTail(ctx, tenant)
	if err != nil {
		return nil, err
	}
	if after >= tail {
		return nil, nil
	}
	cur, err := s.audit.Find(ctx, bson.D{{Key: "t", Value: tenant}, {Key: "seq", Value: bson.D{{Key: "$gt", Value: after}, {Key: "$lte", Value: tail}}}},
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
	upper, _, _, err := s.auditTail(ctx, tenant)
	if err != nil {
		return nil, 0, err
	}
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
			if err := s.moveAuditHead(ctx, r.T, r.Hi, r.H); err != nil {
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
