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

package sqlite

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kodomohub/kodomohub/fhir"
	"github.com/kodomohub/kodomohub/fhir/search"
	"github.com/kodomohub/kodomohub/store"
	"github.com/kodomohub/kodomohub/store/internal/include"
	"github.com/kodomohub/kodomohub/store/internal/searchcursor"
)

// cursorSecret names the key that signs search cursors.
const cursorSecret = "store/sqlite/search-cursor"

// Search implements store.Store. See doc.go ("Search") for the SQL.
func (s *Store) Search(ctx context.Context, tenant string, q *search.Query, opts store.SearchOptions) (store.SearchPage, error) {
	page := store.SearchPage{Total: -1}
	if q == nil {
		return page, fmt.Errorf("store/sqlite: Search: nil query")
	}
	t, err := s.tenantDB(ctx, tenant)
	if err != nil {
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
	tx, err := t.r.BeginTx(ctx, nil)
	if err != nil {
		return page, unavailable("Search", err)
	}
	b := &builder{t: t, ctx: ctx, tx: tx}
	defer b.release()
	defer tx.Rollback()
	pl := b.plan(q, opts)
	if len(b.errs) > 0 {
		return page, unavailable("Search", errors.Join(b.errs...))
	}
	if q.Total == search.TotalAccurate || q.Total == search.TotalEstimate || q.Summary == "count" {
		if page.Total, err = b.total(q, opts, pl); err != nil {
			return page, unavailable("Search", err)
		}
	}
	if q.Summary == "count" || count == 0 {
		return page, nil
	}
	rows, keys, err := b.page(q, pl, after, count+1)
	if err != nil {
		return page, unavailable("Search", err)
	}
	if len(rows) > count {
		key, err := s.cursorKey(ctx)
		if err != nil {
			return page, err
		}
		last := count - 1
		page.Next = searchcursor.Encode(key, scope, cursor{Rid: rows[last].rid, Keys: keys[last]})
		page.NextVisible = opts.Visible == nil || opts.Visible(rows[count].res)
		rows = rows[:count]
	}
	for _, r := range rows {
		page.Resources = append(page.Resources, r.res)
	}
	if len(q.Include) > 0 || len(q.RevInclude) > 0 {
		if page.Included, err = b.includes(q, rows, opts.Visible); err != nil {
			return page, unavailable("Search", err)
		}
	}
	return page, nil
}

// plan is a search's filter: the rids to start from (driver, or none: every resource of the
// types in scope) and the conditions every result must meet on resource alias r.
type plan struct {
	driver frag     // "SELECT rid …", or sql "" for a scan of the types in scope
	stream *group   // the driver as rid-ordered index rows, read by a join (nil: driver is IN)
	types  []string // the types in scope (none: all)
	where  frag     // the other tests on r
	// ridWhere is the tests that read only a rid: on the stream's rows, else on r.
	ridWhere frag
	empty    bool // nothing can match
	simple   bool // no clause and no compartment: the counts table answers the total
	count    frag // when set, the total straight from the index (countable)
}

func (b *builder) plan(q *search.Query, opts store.SearchOptions) plan {
	var types []string
	switch {
	case q.Type != "":
		types = []string{q.Type}
	case len(q.Types) > 0:
		types = q.Types
	}
	inScope := func(typ string) bool { return len(types) == 0 || slices.Contains(types, typ) }
	var where []frag
	// Choose the driver: the clause (or compartment) expected to match the fewest rows: the
	// best rank, and among several of the best ranks the one a capped count finds smallest.
	best, bestRank := -1, rankNone
	var bestDrv frag
	var bestStream *group
	var bestCovers []int
	type cand struct {
		i      int
		f      frag
		stream *group
		rank   int
		covers []int // the clauses the driver tests in full: i, or a set of date clauses
	}
	var cands []cand
	dates := b.dateDrivers(q)
	for i, c := range q.Clauses {
		d, rank := b.driver(c, q.Type, types)
		stream, covers := b.stream, []int{i}
		if dd, ok := dates[i]; ok && rankRange < rank {
			d, rank, stream, covers = dd.f, rankRange, nil, dd.covers
		}
		if rank < rankNone {
			cands = append(cands, cand{i, d, stream, rank, covers})
		}
	}
	slices.SortStableFunc(cands, func(x, y cand) int { return x.rank - y.rank })
	if len(cands) > 0 {
		c := cands[0]
		best, bestRank, bestDrv, bestStream, bestCovers = c.i, c.rank, c.f, c.stream, c.covers
	}
	// Among several candidates of the best rank, probe each and keep the smallest; when every
	// one of them reaches the probe's cap, probe the bounded candidates of lower ranks too
	// (an index range: a token with 400,000 rows loses to a one-day date range).
	if len(cands) > 1 && bestRank > rankID {
		least, top := int64(-1), bestRank
		var capped []cand // probed candidates that reached the cap
		for _, c := range cands {
			if c.rank != top && (least < probeCap || c.rank > rankRange) {
				break
			}
			n := b.probe(c.f, probeCap)
			if n >= probeCap {
				capped = append(capped, c)
			}
			if least < 0 || n < least {
				least, best, bestRank, bestDrv, bestStream, bestCovers = n, c.i, c.rank, c.f, c.stream, c.covers
			}
		}
		// Every candidate reached the cap and some of lower rank were among them: count
		// those again with a larger cap, and let one win only when it is smaller than
		// the best-ranked candidate's count, counted the same way.
		if least >= probeCap && len(capped) > 1 && capped[len(capped)-1].rank != top {
			least = -1
			for _, c := range capped {
				n := b.probe(c.f, probeCapWide)
				if least < 0 || n < least {
					least, best, bestRank, bestDrv, bestStream, bestCovers = n, c.i, c.rank, c.f, c.stream, c.covers
				}
			}
		}
	}
	var compTest frag
	if cp := opts.Compartment; cp != nil {
		var drv frag
		compTest, drv = b.compartment(cp, "r", inScope)
		if bestRank > rankKey {
			best, bestDrv, bestStream, bestCovers = -2, drv, nil, nil
		}
	}
	// With a stream driver, the clauses whose test reads nothing of a resource but its rid
	// are tested on the driver's rows, before the resource row is read: a candidate that
	// fails costs one index probe, not two.
	rid := "r"
	if bestStream != nil {
		rid = bestStream.x
	}
	var ridTests []frag
	for i, c := range q.Clauses {
		switch {
		case slices.Contains(bestCovers, i):
		case ridOnly(c):
			ridTests = append(ridTests, b.test(c, rid, q.Type))
		default:
			where = append(where, b.test(c, "r", q.Type))
		}
	}
	if best != -2 && opts.Compartment != nil {
		where = append(where, compTest)
	}
	p := plan{types: types, driver: bestDrv, where: and(where...), ridWhere: and(ridTests...), simple: len(q.Clauses) == 0 && opts.Compartment == nil}
	if best >= 0 {
		p.stream = bestStream
		if g := p.stream; g != nil && len(q.Clauses) == 1 && opts.Compartment == nil && q.Type != "" &&
			!strings.HasPrefix(q.Clauses[0].Param.Code, "_") {
			// One full-key clause of a param of q.Type: its index rows are those of live
			// current versions of that type, one per resource at most (rid completes the
			// primary key), so their count is the total without reading resource rows.
			p.count = cat("SELECT count(*) FROM ", tableNames[g.tbl], " ", g.x, " WHERE ", g.x, ".pid = ", arg{g.pid}, " AND ", g.f)
		}
	}
	p.empty = p.where.sql == "0" || p.ridWhere.sql == "0"
	return p
}

// live is "r is live and of a type in scope"; with indexed false, in a form that keeps SQLite
// from reading r through the resource_live index (unary +).
func (p plan) live(indexed bool) frag {
	col := "r."
	if !indexed {
		col = "+r."
	}
	f := frag{sql: col + "deleted = 0"}
	switch len(p.types) {
	case 0:
		return f
	case 1:
		return and(f, cat(col, "type = ", arg{p.types[0]}))
	}
	return and(f, cat(col, "type IN (", list(p.types), ")"))
}

// ridOnly reports whether the test of c reads nothing of its resource but the rid.
func ridOnly(c *search.Clause) bool {
	switch {
	case c.Has != nil:
		return false // compares the resource's type and id with references
	case c.Chain != nil:
		return true
	}
	return c.Param.Code != "_id" && c.Param.Code != "_lastUpdated"
}

// probeCap bounds the rows a driver's probe counts; probeCapWide, those of the second probe
// when every candidate reached probeCap.
const (
	probeCap     = 300
	probeCapWide = 5000
)

// probe counts the rows of driver d, up to limit.
func (b *builder) probe(d frag, limit int) int64 {
	f := cat("SELECT count(*) FROM (SELECT 1 FROM (", d, ") LIMIT ", strconv.Itoa(limit), ")")
	var n int64
	if err := b.queryRow(f.sql, f.args...).Scan(&n); err != nil {
		b.errs = append(b.errs, err)
	}
	return n
}

// order is the column that orders the rows of from by rid.
func (p plan) order() string {
	if p.stream != nil {
		return p.stream.x + ".rid"
	}
	return "r.rid"
}

// from is "resource r <join> WHERE <plan>" for rids after afterRid (0: from the start).
func (p plan) from(join string, afterRid int64) frag {
	if g := p.stream; g != nil {
		// The driver's index rows come in rid order: read them as the outer loop, so that a
		// page stops after its last row.
		cond := cat(g.x, ".pid = ", arg{g.pid}, " AND ", g.f)
		if afterRid > 0 {
			cond = cat(cond, " AND ", g.x, ".rid > ", arg{afterRid})
		}
		return cat(tableNames[g.tbl], " ", g.x, " CROSS JOIN resource r ON r.rid = ", g.x, ".rid ", join, "WHERE ", and(cond, p.ridWhere, p.live(true), p.where))
	}
	if p.driver.sql != "" {
		// The driver's rids, sorted and distinct (SQLite's IN list), each read by rowid: the
		// type and deleted tests are kept off the resource_live index (unary +), which would
		// cost a second probe per rid. The tests run on each rid in order until the page is
		// full.
		drv := p.driver
		if afterRid > 0 {
			drv = cat("SELECT rid FROM (", drv, ") WHERE rid > ", arg{afterRid})
		}
		return cat("resource r ", join, "WHERE ", and(cat("r.rid IN (", drv, ")"), p.live(false), p.ridWhere, p.where))
	}
	where := and(p.live(true), p.ridWhere, p.where)
	if afterRid > 0 {
		where = and(where, cat("r.rid > ", arg{afterRid}))
	}
	return cat("resource r ", join, "WHERE ", where)
}

func (b *builder) total(q *search.Query, opts store.SearchOptions, p plan) (int64, error) {
	if p.empty {
		return 0, nil
	}
	var f frag
	switch {
	case p.simple && q.Type != "":
		f = cat("SELECT coalesce((SELECT n FROM counts WHERE type = ", arg{q.Type}, "), 0)")
	case p.simple && len(q.Types) > 0:
		f = cat("SELECT coalesce(sum(n), 0) FROM counts WHERE type IN (", list(q.Types), ")")
	case p.simple:
		f = frag{sql: "SELECT coalesce(sum(n), 0) FROM counts"}
	case p.count.sql != "":
		f = p.count
	default:
		f = cat("SELECT count(*) FROM ", p.from("", 0))
	}
	var n int64
	err := b.queryRow(f.sql, f.args...).Scan(&n)
	return n, err
}

// row is one result with its key.
type row struct {
	rid int64
	res fhir.Resource
}

// sortKey returns the expression of the sort value of k on resource alias r: the lowest
// entry value ascending, the highest descending (query.go, Results); NULL when the
// resource has no entry.
func (b *builder) sortKey(k search.SortKey, typ string) string {
	agg := "min"
	if k.Desc {
		agg = "max"
	}
	p := k.Param
	switch p.Code {
	case "_id":
		return "r.id"
	case "_lastUpdated":
		return "r.ts"
	}
	pid := b.pid(keyOf(typ, p.Code, p.Type, 0))
	x := b.alias("x")
	var tbl, col string
	switch p.Type {
	case search.Date:
		tbl, col = "sp_date", x+".lo"
		if k.Desc {
			col = x + ".hi"
		}
	case search.Number, search.Quantity:
		tbl, col = "sp_num", x+".num"
	case search.Reference:
		tbl, col = "sp_str", x+".sys || '/' || "+x+".val"
	default:
		tbl, col = "sp_str", x+".val"
	}
	// pid is an integer from the param table, not a value of the client: written inline so
	// that the key expressions need no placeholders of their own.
	return fmt.Sprintf("(SELECT %s(%s) FROM %s %s WHERE %s.rid = r.rid AND %s.pid = %d)", agg, col, tbl, x, x, x, pid)
}

// page returns up to limit results after the cursor, in order, with their sort keys.
func (b *builder) page(q *search.Query, p plan, after *cursor, limit int) ([]row, [][]any, error) {
	if p.empty {
		return nil, nil, nil
	}
	f := b.pageSQL(q, p, after, limit)
	rs, err := b.query(f.sql, f.args...)
	if err != nil {
		return nil, nil, err
	}
	defer rs.Close()
	var out []row
	var keys [][]any
	for rs.Next() {
		var r row
		var ts int64
		dest := []any{&r.rid, &r.res.Type, &r.res.ID, &r.res.Version, &ts, (*[]byte)(&r.res.Raw)}
		k := make([]any, len(q.Sort))
		for i := range k {
			dest = append(dest, &k[i])
		}
		if err := rs.Scan(dest...); err != nil {
			return nil, nil, err
		}
		r.res.LastUpdated = time.UnixMilli(ts).UTC()
		out = append(out, r)
		keys = append(keys, k)
	}
	return out, keys, rs.Err()
}

// pageSQL is the query of one page: unsorted, rid order from the driver (or the type's
// rows); sorted, the keys of every match computed once (MATERIALIZED), then keyset and order.
func (b *builder) pageSQL(q *search.Query, p plan, after *cursor, limit int) frag {
	cols := "r.rid, r.type, r.id, v.ver, v.ts, v.raw"
	var f frag
	if len(q.Sort) == 0 {
		var afterRid int64
		if after != nil {
			afterRid = after.Rid
		}
		f = cat("SELECT ", cols, " FROM ", p.from("JOIN version v ON v.seq = r.seq ", afterRid), " ORDER BY ", p.order(), " LIMIT ", arg{limit})
	} else {
		var keys, order []string
		for i, k := range q.Sort {
			name := "k" + strconv.Itoa(i)
			keys = append(keys, b.sortKey(k, q.Type)+" AS "+name)
			dir := "ASC"
			if k.Desc {
				dir = "DESC"
			}
			order = append(order, "s."+name+" IS NULL, s."+name+" "+dir)
		}
		order = append(order, "s.rid")
		keyset := fTrue
		if after != nil {
			keyset = keysetAfter(q.Sort, after)
		}
		var kcols []string
		for i := range q.Sort {
			kcols = append(kcols, "s.k"+strconv.Itoa(i))
		}
		f = cat("WITH s AS MATERIALIZED (SELECT r.rid AS rid, ", strings.Join(keys, ", "), " FROM ", p.from("", 0), ") ",
			"SELECT ", cols, ", ", strings.Join(kcols, ", "), " FROM s JOIN resource r ON r.rid = s.rid JOIN version v ON v.seq = r.seq WHERE ",
			keyset, " ORDER BY ", strings.Join(order, ", "), " LIMIT ", arg{limit})
	}
	return f
}

// keysetAfter is "row s comes after the cursor" in the order of sort (NULLs last in both
// directions, then rid).
func keysetAfter(sort []search.SortKey, c *cursor) frag {
	var ors []frag
	var eqs []frag
	for i, k := range sort {
		col := "s.k" + strconv.Itoa(i)
		v := c.Keys[i]
		var after frag
		switch {
		case v == nil:
			after = fFalse // nothing sorts after a missing value but other missing values
		case k.Desc:
			after = cat("(", col, " IS NULL OR ", col, " < ", arg{v}, ")")
		default:
			after = cat("(", col, " IS NULL OR ", col, " > ", arg{v}, ")")
		}
		ors = append(ors, and(append(slices.Clone(eqs), after)...))
		eqs = append(eqs, cat(col, " IS ", arg{v}))
	}
	ors = append(ors, and(append(eqs, cat("s.rid > ", arg{c.Rid}))...))
	return or(ors...)
}

// ---- includes ----

// includes follows q.Include and q.RevInclude from the page's resources (package include).
func (b *builder) includes(q *search.Query, matches []row, visible func(fhir.Resource) bool) ([]fhir.Resource, error) {
	var vis func(row) bool
	if visible != nil {
		vis = func(r row) bool { return visible(r.res) }
	}
	rs, err := include.Follow(q, matches, func(r row) string { return r.res.Type + "/" + r.res.ID }, vis, b.include, b.revInclude)
	out := make([]fhir.Resource, len(rs))
	for i, r := range rs {
		out[i] = r.res
	}
	return out, err
}

// refPids are the pids of in's reference parameter (every reference parameter of in.Type
// for "*").
func (b *builder) refPids(in search.Include) []int64 {
	if in.Param != nil {
		if pid := b.pid(keyOf(in.Type, in.Param.Code, search.Reference, 0)); pid != 0 {
			return []int64{pid}
		}
		return nil
	}
	var pids []int64
	rows, err := b.query(`SELECT pid FROM param WHERE type = ? AND ptype = ? AND kind = 0 ORDER BY pid`,
		in.Type, search.Reference)
	if err != nil {
		b.errs = append(b.errs, err)
		return nil
	}
	defer rows.Close()
	for rows.Next() {
		var pid int64
		if rows.Scan(&pid) == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

const resCols = "r.rid, r.type, r.id, v.ver, v.ts, v.raw"

func (b *builder) rows(f frag) ([]row, error) {
	rs, err := b.query(f.sql, f.args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []row
	for rs.Next() {
		var r row
		var ts int64
		if err := rs.Scan(&r.rid, &r.res.Type, &r.res.ID, &r.res.Version, &ts, (*[]byte)(&r.res.Raw)); err != nil {
			return nil, err
		}
		r.res.LastUpdated = time.UnixMilli(ts).UTC()
		out = append(out, r)
	}
	return out, rs.Err()
}

// include returns the live resources that in's references of the sources point to.
func (b *builder) include(in search.Include, from []row) ([]row, error) {
	var rids []int64
	for _, r := range from {
		if r.res.Type == in.Type {
			rids = append(rids, r.rid)
		}
	}
	pids := b.refPids(in)
	if len(rids) == 0 || len(pids) == 0 {
		return nil, errors.Join(b.errs...)
	}
	target := fTrue
	if in.Target != "" {
		target = cat("x.sys = ", arg{in.Target})
	}
	// The targets' rids as an IN list (sorted, distinct), not a DISTINCT over the result rows,
	// which would compare their JSON.
	return b.rows(cat("SELECT ", resCols, " FROM resource r JOIN version v ON v.seq = r.seq WHERE r.rid IN (",
		"SELECT t.rid FROM sp_str x CROSS JOIN resource t ON t.type = x.sys AND t.id = x.val WHERE x.rid IN (", list(rids),
		") AND x.pid IN (", list(pids), ") AND ", target, ") AND +r.deleted = 0 ORDER BY r.rid LIMIT ", arg{include.MaxIncluded}))
}

// revInclude returns the live resources of in.Type whose reference parameter points to one
// of the sources.
func (b *builder) revInclude(in search.Include, from []row) ([]row, error) {
	pids := b.refPids(in)
	if len(pids) == 0 {
		return nil, errors.Join(b.errs...)
	}
	var refs []frag
	for _, r := range from {
		if in.Target != "" && r.res.Type != in.Target || in.Param != nil && !in.Param.HasTarget(r.res.Type) {
			continue
		}
		refs = append(refs, cat("(x.val = ", arg{r.res.ID}, " AND x.sys = ", arg{r.res.Type}, ")"))
	}
	if len(refs) == 0 {
		return nil, nil
	}
	return b.rows(cat("SELECT ", resCols, " FROM resource r JOIN version v ON v.seq = r.seq WHERE r.rid IN (",
		"SELECT x.rid FROM sp_str x WHERE x.pid IN (", list(pids), ") AND ", or(refs...), " AND x.txt = '') AND +r.type = ",
		arg{in.Type}, " ORDER BY r.rid LIMIT ", arg{include.MaxIncluded}))
}

// ---- cursors ----

// cursor is a position in a search's result order (package searchcursor, shared with the
// other backend).
type cursor = searchcursor.Cursor

// cursorKey returns the key that signs cursors, shared through the catalog by every process
// using the data directory.
func (s *Store) cursorKey(ctx context.Context) ([]byte, error) {
	return s.ckeys.Key(ctx, s, cursorSecret)
}
