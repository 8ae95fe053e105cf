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
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/kodomohub/kodomohub/fhir"
	"github.com/kodomohub/kodomohub/fhir/search"
	"github.com/kodomohub/kodomohub/store"
	"github.com/kodomohub/kodomohub/store/internal/include"
	"github.com/kodomohub/kodomohub/store/internal/searchcursor"
)

// Search limits.
const (
	// maxSemiJoin bounds the resources a chain or _has clause may match: their ids become
	// an $in list of the outer query.
	maxSemiJoin = 1000
)

// condFalse matches no document.
var condFalse = bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: bson.A{}}}}}

func isFalse(d bson.D) bool {
	return len(d) == 1 && d[0].Key == "_id" && fmt.Sprint(d) == fmt.Sprint(condFalse)
}

// Search implements store.Store. See doc.go ("Search") for the query shapes.
func (s *Store) Search(ctx context.Context, tenant string, q *search.Query, opts store.SearchOptions) (store.SearchPage, error) {
	page := store.SearchPage{Total: -1}
	if q == nil {
		return page, fmt.Errorf("store/mongo: Search: nil query")
	}
	if _, err := s.Tenant(ctx, tenant); err != nil {
		return page, err
	}
	count := q.Count
	if count < 0 {
		count = opts.Count
		if count <= 0 {
			count = defaultCount
		}
	}
	count = min(count, maxCount)
	scope := searchcursor.Scope(tenant, q, opts)
	var after *cursor
	if q.Cursor != "" {
		key, err := s.cursorKey(ctx)
		if err != nil {
			return page, err
		}
		if after, err = searchcursor.Decode(key, scope, q.Cursor, len(q.Sort)); err != nil {
			return page, err
		}
	}
	b := &builder{s: s, ctx: ctx, tenant: tenant}
	p, err := b.filter(q, opts)
	if err != nil {
		return page, err
	}
	if q.Total == search.TotalAccurate || q.Total == search.TotalEstimate || q.Summary == "count" {
		if page.Total, err = b.count(p); err != nil {
			return page, err
		}
	}
	if q.Summary == "count" || count == 0 {
		return page, nil
	}
	keys := sortFields(q.Sort)
	sortSpec := bson.D{}
	for _, k := range keys {
		if k.p != "" {
			sortSpec = append(sortSpec, bson.E{Key: k.p, Value: -1})
		}
		sortSpec = append(sortSpec, bson.E{Key: k.f, Value: k.dir})
	}
	sortSpec = append(sortSpec, bson.E{Key: "r", Value: 1})
	if after != nil {
		p.filter = bson.D{{Key: "$and", Value: bson.A{p.filter, keysetAfter(keys, after)}}}
	}
	proj := bson.D{{Key: "ik", Value: 0}}
	withIx := len(q.Include) > 0 || len(q.RevInclude) > 0
	if !withIx && len(p.checks) == 0 {
		proj = append(proj, bson.E{Key: "ix", Value: 0})
	}
	rows, err := b.run(p, sortSpec, proj, count+1)
	if err != nil {
		return page, err
	}
	if len(rows) > count {
		key, err := s.cursorKey(ctx)
		if err != nil {
			return page, err
		}
		last := rows[count-1]
		c := cursor{Rid: last.R, Keys: make([]any, len(keys))}
		for i, k := range keys {
			c.Keys[i] = last.sortValue(k)
		}
		page.Next = searchcursor.Encode(key, scope, c)
		page.NextVisible = opts.Visible == nil || opts.Visible(rows[count].resource())
		rows = rows[:count]
	}
	for _, r := range rows {
		page.Resources = append(page.Resources, r.resource())
	}
	if withIx {
		if page.Included, err = b.includes(q, rows, opts.Visible); err != nil {
			return page, err
		}
	}
	return page, nil
}

func (d *resDoc) resource() fhir.Resource {
	return fhir.Resource{Type: d.Ty, ID: d.RID, Version: d.V, LastUpdated: time.UnixMilli(d.Ts).UTC(), Raw: d.Raw}
}

// findDocs runs a find on resources.
func (s *Store) findDocs(ctx context.Context, f bson.D, fo *options.FindOptionsBuilder) ([]*resDoc, error) {
	cur, err := s.res.Find(ctx, f, fo)
	if err != nil {
		return nil, unavailable("Search", err)
	}
	var out []*resDoc
	if err := cur.All(ctx, &out); err != nil {
		return nil, unavailable("Search", err)
	}
	return out, nil
}

// sortField is one sort key: its field, the presence field that puts resources without a
// value last ("" for _id and _lastUpdated, always present), and the direction.
type sortField struct {
	f, p string
	dir  int
}

func sortFields(ks []search.SortKey) []sortField {
	var out []sortField
	for _, k := range ks {
		dir := 1
		if k.Desc {
			dir = -1
		}
		switch k.Param.Code {
		case "_id":
			out = append(out, sortField{f: "id", dir: dir})
		case "_lastUpdated":
			out = append(out, sortField{f: "ts", dir: dir})
		default:
			end := ".a"
			if k.Desc {
				end = ".d"
			}
			out = append(out, sortField{f: "sk." + k.Param.Code + end, p: "sk." + k.Param.Code + ".p", dir: dir})
		}
	}
	return out
}

// sortValue is the value of sort field k of d (nil when d has none).
func (d *resDoc) sortValue(k sortField) any {
	switch k.f {
	case "id":
		return d.RID
	case "ts":
		return d.Ts
	}
	path := strings.Split(strings.TrimPrefix(k.f, "sk."), ".")
	if d.Sk == nil {
		return nil
	}
	rv, err := d.Sk.LookupErr(path...)
	if err != nil {
		return nil
	}
	switch rv.Type {
	case bson.TypeString:
		return rv.StringValue()
	case bson.TypeInt64:
		return rv.Int64()
	case bson.TypeInt32:
		return int64(rv.Int32())
	case bson.TypeDouble:
		return rv.Double()
	}
	return nil
}

// keysetAfter is "the document comes after the cursor" in the order of the sort fields
// (values before no value in both directions), then r.
func keysetAfter(keys []sortField, c *cursor) bson.D {
	var ors bson.A
	var eqs bson.A
	for i, k := range keys {
		v := c.Keys[i]
		if v != nil {
			op := "$gt"
			if k.dir < 0 {
				op = "$lt"
			}
			after := bson.D{{Key: k.f, Value: bson.D{{Key: op, Value: v}}}}
			if k.p != "" {
				after = bson.D{{Key: "$or", Value: bson.A{after, bson.D{{Key: k.p, Value: bson.D{{Key: "$exists", Value: false}}}}}}}
			}
			ors = append(ors, bson.D{{Key: "$and", Value: append(slices.Clone(eqs), after)}})
		}
		if v == nil {
			eqs = append(eqs, bson.D{{Key: k.p, Value: bson.D{{Key: "$exists", Value: false}}}})
		} else {
			eqs = append(eqs, bson.D{{Key: k.f, Value: v}})
		}
	}
	ors = append(ors, bson.D{{Key: "$and", Value: append(eqs, bson.D{{Key: "r", Value: bson.D{{Key: "$gt", Value: c.Rid}}}})}})
	return bson.D{{Key: "$or", Value: ors}}
}

// builder translates a query into a filter on resource documents.
type builder struct {
	s      *Store
	ctx    context.Context
	tenant string
}

// plan is a search's server filter and the clauses its candidates must still pass in Go:
// those whose filter is wider than the clause (date ranges, composites; every value
// clause on a server without per-element $elemMatch, see doc.go).
type plan struct {
	filter bson.D
	checks []*search.Clause
}

// match reports whether d passes the plan's Go checks.
func (p *plan) match(d *resDoc) bool {
	for _, c := range p.checks {
		if !checkClause(c, d) {
			return false
		}
	}
	return true
}

// checkClause evaluates a value clause (not a chain, _has or :missing) on the entries of d.
func checkClause(c *search.Clause, d *resDoc) bool {
	found := false
	for i := range d.Ix {
		x := &d.Ix[i]
		if x.C != c.Param.Code {
			continue
		}
		e := x.entry()
		for j := range c.Values {
			if search.MatchEntry(c, &c.Values[j], &e) {
				found = true
				break
			}
		}
		if found {
			break
		}
	}
	if c.Modifier == search.ModNot {
		return !found
	}
	return found
}

// filter is the plan of a whole search: tenant, live, types, compartment, clauses.
func (b *builder) filter(q *search.Query, opts store.SearchOptions) (plan, error) {
	var types []string
	switch {
	case q.Type != "":
		types = []string{q.Type}
	case len(q.Types) > 0:
		types = q.Types
	}
	var extra bson.A
	if cp := opts.Compartment; cp != nil {
		inScope := func(typ string) bool { return len(types) == 0 || slices.Contains(types, typ) }
		c, err := compartment(cp, inScope)
		if err != nil {
			return plan{}, err
		}
		extra = append(extra, c)
	}
	return b.plan(types, q.Type, q.Clauses, extra)
}

func (b *builder) plan(types []string, typ string, clauses []*search.Clause, extra bson.A) (plan, error) {
	p := plan{filter: b.base(types)}
	and := extra
	for _, c := range clauses {
		cd, exact, err := b.clause(c, typ)
		if err != nil {
			return p, err
		}
		if !exact || !b.s.exact.Load() && isValueClause(c) {
			p.checks = append(p.checks, c)
		}
		if len(cd) > 0 {
			and = append(and, cd)
		}
	}
	if len(and) > 0 {
		p.filter = append(p.filter, bson.E{Key: "$and", Value: and})
	}
	return p, nil
}

// isValueClause reports whether c is a plain clause on index entries (not a chain, _has,
// :missing, _id or _lastUpdated, which are exact everywhere).
func isValueClause(c *search.Clause) bool {
	return c.Chain == nil && c.Has == nil && c.Modifier != search.ModMissing && c.Param.Code != "_id" && c.Param.Code != "_lastUpdated"
}

// run returns up to limit matches of p in sort order (all when limit < 0).
func (b *builder) run(p plan, sortSpec bson.D, proj bson.D, limit int) ([]*resDoc, error) {
	fo := options.Find().SetSort(sortSpec).SetProjection(proj)
	if len(p.checks) == 0 && limit >= 0 {
		fo.SetLimit(int64(limit))
	} else {
		fo.SetBatchSize(1000) // candidates are checked here: fetch many at once
	}
	cur, err := b.s.res.Find(b.ctx, p.filter, fo)
	if err != nil {
		return nil, unavailable("Search", err)
	}
	defer cur.Close(b.ctx)
	var out []*resDoc
	for (limit < 0 || len(out) < limit) && cur.Next(b.ctx) {
		d := new(resDoc)
		if err := cur.Decode(d); err != nil {
			return nil, unavailable("Search", err)
		}
		if p.match(d) {
			out = append(out, d)
		}
	}
	if err := cur.Err(); err != nil {
		return nil, unavailable("Search", err)
	}
	return out, nil
}

// count counts the matches of p.
func (b *builder) count(p plan) (int64, error) {
	if len(p.checks) == 0 {
		n, err := b.s.res.CountDocuments(b.ctx, p.filter)
		if err != nil {
			return 0, unavailable("Search", err)
		}
		return n, nil
	}
	ds, err := b.run(p, bson.D{{Key: "r", Value: 1}}, bson.D{{Key: "ix", Value: 1}}, -1)
	return int64(len(ds)), err
}

// base selects the live resources of the tenant of the given types (all when empty).
func (b *builder) base(types []string) bson.D {
	f := bson.D{{Key: "t", Value: b.tenant}}
	switch len(types) {
	case 0:
	case 1:
		f = append(f, bson.E{Key: "ty", Value: types[0]})
	default:
		f = append(f, bson.E{Key: "ty", Value: bson.D{{Key: "$in", Value: types}}})
	}
	return append(f, bson.E{Key: "live", Value: true})
}

func or(ds ...bson.D) bson.D {
	var keep []bson.D
	for _, d := range ds {
		if !isFalse(d) {
			keep = append(keep, d)
		}
	}
	switch len(keep) {
	case 0:
		return condFalse
	case 1:
		return keep[0]
	}
	a := make(bson.A, len(keep))
	for i, d := range keep {
		a[i] = d
	}
	return bson.D{{Key: "$or", Value: a}}
}

func not(d bson.D) bson.D {
	if isFalse(d) {
		return bson.D{}
	}
	return bson.D{{Key: "$nor", Value: bson.A{d}}}
}

// ---- conditions on the index keys (ik) ----

func eqKey(k string) bson.D { return bson.D{{Key: "ik", Value: k}} }

func inKeys(ks []string) bson.D {
	if len(ks) == 0 {
		return condFalse
	}
	return bson.D{{Key: "ik", Value: bson.D{{Key: "$in", Value: ks}}}}
}

// rng is "some key k with lo <= k < hi" (gt: lo < k). On MongoDB, $elemMatch makes both
// bounds apply to one key, an index range; FerretDB 1.24 tests each bound on its own (a
// wider set, which the Go checks narrow).
func rng(lo, hi string, gt, le bool) bson.D {
	lop, hop := "$gte", "$lt"
	if gt {
		lop = "$gt"
	}
	if le {
		hop = "$lte"
	}
	return bson.D{{Key: "ik", Value: bson.D{{Key: "$elemMatch", Value: bson.D{{Key: lop, Value: lo}, {Key: hop, Value: hi}}}}}}
}

// prefixRng is "some key starts with p". Keys are valid UTF-8: every string with prefix p
// sorts below p+U+10FFFF but one that continues with U+10FFFF itself (a noncharacter).
func prefixRng(p string) bson.D { return rng(p, p+"\U0010FFFF", false, false) }

// top is above every encoded number or date suffix (hex digits).
const top = "g"

// prefixes lists every prefix of s at a rune boundary, s included.
func prefixes(s string) []string {
	ps := []string{""}
	for i := range s {
		if i > 0 {
			ps = append(ps, s[:i])
		}
	}
	return append(ps, s)
}

// clause is the server condition of c on resources of typ ("" when it varies), and
// whether it is exact on a server with per-element $elemMatch. An empty document matches
// everything.
func (b *builder) clause(c *search.Clause, typ string) (bson.D, bool, error) {
	switch {
	case c.Has != nil:
		d, err := b.has(c, typ)
		return d, true, err
	case c.Chain != nil:
		d, err := b.chain(c)
		return d, true, err
	case c.Param.Code == "_id":
		return idCond(c), true, nil
	case c.Param.Code == "_lastUpdated":
		if c.Modifier == search.ModMissing {
			if c.Missing {
				return condFalse, true, nil
			}
			return bson.D{}, true, nil
		}
		var ds []bson.D
		for _, v := range c.Values {
			ds = append(ds, tsCond(v.Prefix, v.Low, v.High))
		}
		return or(ds...), true, nil
	case c.Modifier == search.ModMissing:
		if c.Missing {
			return not(eqKey(key(c.Param.Code, tagAny))), true, nil
		}
		return eqKey(key(c.Param.Code, tagAny)), true, nil
	}
	exact := true
	var ds []bson.D
	for i := range c.Values {
		d, ok := valueCond(c, &c.Values[i])
		ds = append(ds, d)
		exact = exact && ok
	}
	f := or(ds...)
	if c.Modifier == search.ModNot {
		if !exact || !b.s.exact.Load() {
			return bson.D{}, false, nil // a wider positive set would make the negation narrower: Go decides
		}
		return not(f), true, nil
	}
	return f, exact, nil
}

// tsCond is a _lastUpdated comparison: the entry [ts, ts+1) (query.go, Date).
func tsCond(p search.Prefix, vl, vh int64) bson.D {
	ge := func(a int64) bson.D { return bson.D{{Key: "ts", Value: bson.D{{Key: "$gte", Value: a}}}} }
	lt := func(a int64) bson.D { return bson.D{{Key: "ts", Value: bson.D{{Key: "$lt", Value: a}}}} }
	eq := bson.D{{Key: "ts", Value: bson.D{{Key: "$gte", Value: vl}, {Key: "$lt", Value: vh}}}}
	switch p {
	case search.Eq:
		return eq
	case search.Ne:
		return or(lt(vl), ge(vh))
	case search.Gt:
		return ge(vh)
	case search.Lt:
		return lt(vl)
	case search.Ge:
		return or(ge(vh), eq)
	case search.Le:
		return or(lt(vl), eq)
	case search.Sa:
		return ge(vh)
	case search.Eb:
		return lt(vl)
	case search.Ap:
		return bson.D{{Key: "ts", Value: bson.D{{Key: "$lt", Value: vh}, {Key: "$gte", Value: vl}}}}
	}
	return condFalse
}

// idValues returns the ids a _id clause names: token semantics on an entry with no system.
func idValues(c *search.Clause) []string {
	var ids []string
	for _, v := range c.Values {
		if c.Modifier == search.ModText || c.Modifier == search.ModOfType {
			continue
		}
		if (!v.HasSystem || v.System == "") && v.Code != "" {
			ids = append(ids, v.Code)
		}
	}
	return ids
}

func idCond(c *search.Clause) bson.D {
	if c.Modifier == search.ModMissing {
		if c.Missing {
			return condFalse
		}
		return bson.D{}
	}
	ids := idValues(c)
	if c.Modifier == search.ModNot {
		return bson.D{{Key: "id", Value: bson.D{{Key: "$nin", Value: ids}}}}
	}
	if len(ids) == 0 {
		return condFalse
	}
	return bson.D{{Key: "id", Value: bson.D{{Key: "$in", Value: ids}}}}
}

// tokenCond is a token (or :identifier) value on keys of tags byCode (code \x00 system)
// and bySys (system \x00 code).
func tokenCond(code, byCode, bySys string, v *search.Value) bson.D {
	switch {
	case v.HasSystem && v.Code != "":
		return eqKey(key(code, byCode, v.Code, v.System))
	case v.Code != "":
		return prefixRng(keyPrefix(code, byCode) + v.Code + "\x00")
	case v.HasSystem: // "system|": any code of the system
		p := keyPrefix(code, bySys) + v.System + "\x00"
		return rng(p, p+"\U0010FFFF", true, false)
	}
	p := keyPrefix(code, byCode)
	return rng(p+"\x01", p+"\U0010FFFF", false, false) // any entry with a code
}

// numRanges is a number comparison on keys that start with p and end with encNum.
func numRanges(p string, v *search.Value) (bson.D, bool) {
	switch v.Prefix {
	case search.Eq:
		return rng(p+encNum(v.NumLow), p+encNum(v.NumHigh), false, false), true
	case search.Ne:
		return or(rng(p, p+encNum(v.NumLow), false, false), rng(p+encNum(v.NumHigh), p+top, false, false)), true
	case search.Gt, search.Sa:
		return rng(p+encNum(v.Num), p+top, true, false), true
	case search.Lt, search.Eb:
		return rng(p, p+encNum(v.Num), false, false), true
	case search.Ge:
		return rng(p+encNum(v.Num), p+top, false, false), true
	case search.Le:
		return rng(p, p+encNum(v.Num), false, true), true
	case search.Ap:
		d := v.Num / 10
		if d < 0 {
			d = -d
		}
		// |n - v| <= d as a range may differ from the float test in the last bit: checked in Go.
		return or(rng(p+encNum(v.Num-d), p+encNum(v.Num+d), false, true), rng(p+encNum(v.NumLow), p+encNum(v.NumHigh), false, false)), false
	}
	return condFalse, true
}

// dateRanges is a date comparison on the L (low first) and H (high first) keys of code.
func dateRanges(code string, p search.Prefix, vl, vh int64) (bson.D, bool) {
	pl, ph := keyPrefix(code, tagLow), keyPrefix(code, tagHigh)
	loGE := func(a int64) bson.D { return rng(pl+encInt(a), pl+top, false, false) }
	loLT := func(a int64) bson.D { return rng(pl, pl+encInt(a), false, false) }
	hiGT := func(a int64) bson.D { // hi > a: hi >= a+1
		if a == search.MaxTime {
			return condFalse
		}
		return rng(ph+encInt(a+1), ph+top, false, false)
	}
	hiLE := func(a int64) bson.D {
		if a == search.MaxTime {
			return rng(ph, ph+top, false, false)
		}
		return rng(ph, ph+encInt(a+1), false, false)
	}
	eq := rng(pl+encInt(vl), pl+encInt(vh), false, false) // vl <= lo < vh; hi <= vh is checked in Go
	switch p {
	case search.Eq:
		return eq, false
	case search.Ne:
		return or(loLT(vl), hiGT(vh)), true
	case search.Gt:
		return hiGT(vh), true
	case search.Lt:
		return loLT(vl), true
	case search.Ge:
		return or(hiGT(vh), eq), false
	case search.Le:
		return or(loLT(vl), eq), false
	case search.Sa:
		return loGE(vh), true
	case search.Eb:
		return hiLE(vl), true
	case search.Ap:
		return loLT(vh), false // lo < vh; hi > vl is checked in Go
	}
	return condFalse, true
}

// valueCond is the server condition of one value of plain clause c (query.go) and whether
// it is exact where $elemMatch is.
func valueCond(c *search.Clause, v *search.Value) (bson.D, bool) {
	code := c.Param.Code
	switch c.Param.Type {
	case search.String:
		switch c.Modifier {
		case search.ModExact:
			return eqKey(key(code, tagString, search.Normalize(v.Raw), v.Raw)), true
		case search.ModContains:
			// An index scan of the parameter's string keys; the substring is checked in Go.
			return prefixRng(keyPrefix(code, tagString)), false
		}
		return prefixRng(keyPrefix(code, tagString) + v.String), true
	case search.Token:
		switch c.Modifier {
		case search.ModText:
			return prefixRng(keyPrefix(code, tagText) + v.String), true
		case search.ModOfType:
			return eqKey(key(code, tagOfType, v.System, v.Code, v.Ident)), true
		}
		return tokenCond(code, tagToken, tagTokenSys, v), true
	case search.Reference:
		switch {
		case c.Modifier == search.ModIdentifier:
			return tokenCond(code, tagIdent, tagIdentSys, v), true
		case c.Modifier == search.ModAbove:
			var ks []string
			for _, p := range prefixes(v.RefURL) {
				ks = append(ks, key(code, tagURI, p))
			}
			return inKeys(ks), true
		case c.Modifier == search.ModBelow:
			return prefixRng(keyPrefix(code, tagURI) + v.RefURL), true
		case v.RefURL != "":
			return eqKey(key(code, tagURI, v.RefURL)), true
		}
		t := v.RefType
		switch {
		case t != "" && c.TargetType != "" && t != c.TargetType:
			return condFalse, true
		case t == "":
			t = c.TargetType
		}
		if t != "" {
			return eqKey(key(code, tagRef, v.RefID, t)), true
		}
		return prefixRng(keyPrefix(code, tagRef) + v.RefID + "\x00"), true
	case search.URI:
		switch c.Modifier {
		case search.ModAbove:
			var ks []string
			for _, p := range prefixes(v.Raw) {
				ks = append(ks, key(code, tagURI, p))
			}
			return inKeys(ks), true
		case search.ModBelow:
			return prefixRng(keyPrefix(code, tagURI) + v.Raw), true
		}
		return eqKey(key(code, tagURI, v.Raw)), true
	case search.Date:
		return dateRanges(code, v.Prefix, v.Low, v.High)
	case search.Number:
		return numRanges(keyPrefix(code, tagNum), v)
	case search.Quantity:
		switch {
		case v.HasSystem:
			return numRanges(keyPrefix(code, tagQty)+v.System+"\x00"+v.Code+"\x00", v)
		case v.Code != "":
			return numRanges(keyPrefix(code, tagUnit)+v.Code+"\x00", v)
		}
		return numRanges(keyPrefix(code, tagNum), v)
	case search.Composite:
		// Candidates by part 0 when it is a coded token; the parts are checked in Go.
		if len(v.Parts) > 0 && len(c.Param.Components) > 0 && c.Param.Components[0].Param != nil &&
			c.Param.Components[0].Param.Type == search.Token && v.Parts[0].Code != "" {
			p0 := &v.Parts[0]
			if p0.HasSystem {
				return eqKey(key(code, tagComp, p0.Code, p0.System)), false
			}
			return prefixRng(keyPrefix(code, tagComp) + p0.Code + "\x00"), false
		}
		return eqKey(key(code, tagAny)), false
	}
	return condFalse, true
}

// tooCostly is the error of a chain or _has that matches too many resources.
func tooCostly(what string) error {
	return fhir.Errorf(fhir.KindTooCostly, fhir.IssueTooCostly,
		"%s matches more than %d resources; narrow it with more search parameters", what, maxSemiJoin)
}

// chain matches resources whose reference c.Param points at a live resource of
// c.TargetType matching c.Chain: the targets are found first (at most maxSemiJoin), then
// their reference keys are an $in of the outer query.
func (b *builder) chain(c *search.Clause) (bson.D, error) {
	p, err := b.plan([]string{c.TargetType}, c.TargetType, []*search.Clause{c.Chain}, nil)
	if err != nil {
		return nil, err
	}
	docs, err := b.run(p, bson.D{{Key: "r", Value: 1}}, bson.D{{Key: "id", Value: 1}, {Key: "r", Value: 1}, {Key: "ix", Value: 1}}, maxSemiJoin+1)
	if err != nil {
		return nil, err
	}
	if len(docs) > maxSemiJoin {
		return nil, tooCostly("chained parameter " + c.Key)
	}
	ks := make([]string, 0, len(docs))
	for _, d := range docs {
		ks = append(ks, key(c.Param.Code, tagRef, d.RID, c.TargetType))
	}
	sort.Strings(ks)
	return inKeys(ks), nil
}

// has matches resources that a live resource of c.Has.Type matching c.Has.Clause points at
// through c.Has.Param: the referring resources are found first (at most maxSemiJoin), and
// the ids they point at become the condition.
func (b *builder) has(c *search.Clause, typ string) (bson.D, error) {
	h := c.Has
	p, err := b.plan([]string{h.Type}, h.Type, []*search.Clause{h.Clause}, bson.A{eqKey(key(h.Param.Code, tagAny))})
	if err != nil {
		return nil, err
	}
	docs, err := b.run(p, bson.D{{Key: "r", Value: 1}}, bson.D{{Key: "ix", Value: 1}, {Key: "r", Value: 1}}, maxSemiJoin+1)
	if err != nil {
		return nil, err
	}
	if len(docs) > maxSemiJoin {
		return nil, tooCostly("_has parameter " + c.Key)
	}
	byType := map[string][]string{}
	n := 0
	for _, d := range docs {
		for _, e := range d.Ix {
			if e.C == h.Param.Code && e.K == int32(search.KindValue) && e.Y == int32(search.Reference) && e.S != "" && e.V != "" &&
				(typ == "" || e.S == typ) && !slices.Contains(byType[e.S], e.V) {
				byType[e.S] = append(byType[e.S], e.V)
				n++
			}
		}
	}
	if n > maxSemiJoin {
		return nil, tooCostly("_has parameter " + c.Key)
	}
	types := make([]string, 0, len(byType))
	for t := range byType {
		types = append(types, t)
	}
	sort.Strings(types)
	var ds []bson.D
	for _, t := range types {
		ids := byType[t]
		sort.Strings(ids)
		d := bson.D{{Key: "id", Value: bson.D{{Key: "$in", Value: ids}}}}
		if typ == "" {
			d = append(bson.D{{Key: "ty", Value: t}}, d...)
		}
		ds = append(ds, d)
	}
	return or(ds...), nil
}

// maxCompartmentKeys bounds the reference keys of one compartment condition (owners times
// parameters): a facility roster of thousands of children is far below it.
const maxCompartmentKeys = 250_000

// compartment is the condition of a compartment: a reference key of one of the type's
// compartment parameters naming an owner (or an owner itself).
func compartment(cp *store.Compartment, inScope func(string) bool) (bson.D, error) {
	types := make([]string, 0, len(cp.Params))
	for typ := range cp.Params {
		types = append(types, typ)
	}
	sort.Strings(types)
	var ds []bson.D
	for _, typ := range types {
		if !inScope(typ) || len(cp.Params[typ]) == 0 {
			continue
		}
		if n := len(cp.Params[typ]) * len(cp.IDs); n > maxCompartmentKeys {
			return nil, fhir.Errorf(fhir.KindTooCostly, fhir.IssueTooCostly,
				"a compartment of %d %s resources is more than one query can run", len(cp.IDs), cp.Type)
		}
		ks := make([]string, 0, len(cp.Params[typ])*len(cp.IDs))
		for _, code := range cp.Params[typ] {
			for _, id := range cp.IDs {
				ks = append(ks, key(code, tagRef, id, cp.Type))
			}
		}
		ds = append(ds, bson.D{{Key: "ty", Value: typ}, {Key: "ik", Value: bson.D{{Key: "$in", Value: ks}}}})
	}
	if cp.IncludeOwner && inScope(cp.Type) {
		ds = append(ds, bson.D{{Key: "ty", Value: cp.Type}, {Key: "id", Value: bson.D{{Key: "$in", Value: cp.IDs}}}})
	}
	return or(ds...), nil
}

// ---- includes ----

// includes follows q.Include and q.RevInclude from the page's resources (package include).
func (b *builder) includes(q *search.Query, matches []*resDoc, visible func(fhir.Resource) bool) ([]fhir.Resource, error) {
	var vis func(*resDoc) bool
	if visible != nil {
		vis = func(r *resDoc) bool { return visible(r.resource()) }
	}
	rs, err := include.Follow(q, matches, func(r *resDoc) string { return r.ID }, vis, b.include, b.revInclude)
	out := make([]fhir.Resource, len(rs))
	for i, r := range rs {
		out[i] = r.resource()
	}
	return out, err
}

// isRef reports whether x is a reference entry that in follows.
func isRef(in search.Include, x *ent) bool {
	if x.K != int32(search.KindValue) || x.Y != int32(search.Reference) || x.S == "" || x.V == "" {
		return false
	}
	return in.Param == nil || x.C == in.Param.Code
}

// include returns the live resources that in's references of the sources point to.
func (b *builder) include(in search.Include, from []*resDoc) ([]*resDoc, error) {
	var keys []string
	for _, r := range from {
		if r.Ty != in.Type {
			continue
		}
		for i := range r.Ix {
			x := &r.Ix[i]
			if isRef(in, x) && (in.Target == "" || x.S == in.Target) {
				if k := resKey(b.tenant, x.S, x.V); !slices.Contains(keys, k) {
					keys = append(keys, k)
				}
			}
		}
	}
	if len(keys) == 0 {
		return nil, nil
	}
	sort.Strings(keys)
	keys = keys[:min(len(keys), include.MaxIncluded)]
	return b.s.findDocs(b.ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: keys}}}, {Key: "live", Value: true}},
		options.Find().SetSort(bson.D{{Key: "r", Value: 1}}).SetProjection(bson.D{{Key: "ik", Value: 0}}))
}

// revInclude returns the live resources of in.Type whose reference parameter points to one
// of the sources.
func (b *builder) revInclude(in search.Include, from []*resDoc) ([]*resDoc, error) {
	var codes []string
	if in.Param != nil {
		codes = []string{in.Param.Code}
	} else {
		for _, p := range search.Default().Params(in.Type) {
			if p.Type == search.Reference {
				codes = append(codes, p.Code)
			}
		}
	}
	var ks []string
	for _, r := range from {
		if in.Target != "" && r.Ty != in.Target || in.Param != nil && !in.Param.HasTarget(r.Ty) {
			continue
		}
		for _, c := range codes {
			ks = append(ks, key(c, tagRef, r.RID, r.Ty))
		}
	}
	if len(ks) == 0 {
		return nil, nil
	}
	return b.s.findDocs(b.ctx, bson.D{{Key: "t", Value: b.tenant}, {Key: "ty", Value: in.Type}, {Key: "live", Value: true},
		{Key: "ik", Value: bson.D{{Key: "$in", Value: ks}}}},
		options.Find().SetSort(bson.D{{Key: "r", Value: 1}}).SetLimit(include.MaxIncluded).SetProjection(bson.D{{Key: "ik", Value: 0}}))
}
