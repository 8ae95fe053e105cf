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
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/kodomohub/kodomohub/fhir"
	"github.com/kodomohub/kodomohub/fhir/search"
	"github.com/kodomohub/kodomohub/store"
)

// builder translates the clauses of a search into SQL over the index tables (see doc.go,
// "Search"). It resolves param keys to pids inside the search's read transaction.
type builder struct {
	t    *tenantDB
	ctx  context.Context
	tx   *sql.Tx
	n    int // alias counter
	errs []error

	lastComposite string // alias of part 0 of the last compositeRows
	stream        *group // set by driver when its rows come in rid order (fullKey)

	held []*cachedStmt // cached statements in use (release)
}

func (b *builder) alias(p string) string {
	b.n++
	return p + strconv.Itoa(b.n)
}

// pid returns the pid of k, or 0 (no index row has it: conditions on it match nothing).
func (b *builder) pid(k paramKey) int64 {
	b.t.pmu.RLock()
	pid, ok := b.t.pids[k]
	b.t.pmu.RUnlock()
	if ok {
		return pid
	}
	err := b.queryRow(`SELECT pid FROM param WHERE type = ? AND code = ? AND ptype = ? AND kind = ?`,
		k.typ, k.code, k.ptype, k.kind).Scan(&pid)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0 // not cached: a later write may add it
	case err != nil:
		b.errs = append(b.errs, err)
		return 0
	}
	b.t.pmu.Lock()
	b.t.pids[k] = pid // pids of committed rows never change
	b.t.pmu.Unlock()
	return pid
}

// pidsWhere lists the pids of code on typ (common codes: type ”) that satisfy cond.
func (b *builder) pidsWhere(typ, code string, cond frag) []int64 {
	k := keyOf(typ, code, 0, 0)
	f := cat(`SELECT pid FROM param WHERE type = `, arg{k.typ}, ` AND code = `, arg{k.code}, ` AND `, cond, ` ORDER BY pid`)
	rows, err := b.query(f.sql, f.args...)
	if err != nil {
		b.errs = append(b.errs, err)
		return nil
	}
	defer rows.Close()
	var pids []int64
	for rows.Next() {
		var pid int64
		if err := rows.Scan(&pid); err != nil {
			b.errs = append(b.errs, err)
			return nil
		}
		pids = append(pids, pid)
	}
	if err := rows.Err(); err != nil {
		b.errs = append(b.errs, err)
	}
	return pids
}

var tableNames = [...]string{tblStr: "sp_str", tblDate: "sp_date", tblNum: "sp_num"}

// cond is the condition of one search value on the columns of an index row alias x: rows
// of param kind in table tbl.
type cond struct {
	kind uint8
	tbl  byte
	f    frag
}

// prefixOf is "col starts with p", as an index range.
func prefixOf(col string, p string) frag {
	if p == "" {
		return fTrue
	}
	// Stored values are valid UTF-8, whose bytes never reach 0xFF: p+"\xff" bounds them.
	return cat(col, " >= ", arg{p}, " AND ", col, " < ", arg{p + "\xff"})
}

// prefixesOf is "col is a prefix of s": every byte prefix of s, as an IN list.
func prefixesOf(col string, s string) frag {
	ps := make([]string, 0, len(s)+1)
	for i := 0; i <= len(s); i++ {
		ps = append(ps, s[:i])
	}
	return cat(col, " IN (", list(ps), ")")
}

func tokenCond(x string, v *search.Value) frag {
	var fs []frag
	if v.HasSystem {
		fs = append(fs, cat(x, ".sys = ", arg{v.System}))
	}
	if v.Code != "" {
		fs = append(fs, cat(x, ".val = ", arg{v.Code}))
		if v.HasSystem {
			fs = append(fs, frag{sql: x + ".txt = ''"}) // completes the primary key: rids come in order
		}
	} else {
		fs = append(fs, frag{sql: x + ".val <> ''"})
	}
	return and(fs...)
}

// dateCond is the prefix p of value [vl, vh) on an entry [lo, hi) (query.go, Date). lt and
// ge name the SQL of "lo < a" and "hi > a"... for the columns at hand.
type dateCols struct {
	loGE, loLT, hiLE, hiGT func(a int64) frag
}

func cols(lo, hi string) dateCols {
	return dateCols{
		loGE: func(a int64) frag { return cat(lo, " >= ", arg{a}) },
		loLT: func(a int64) frag { return cat(lo, " < ", arg{a}) },
		hiLE: func(a int64) frag { return cat(hi, " <= ", arg{a}) },
		hiGT: func(a int64) frag { return cat(hi, " > ", arg{a}) },
	}
}

// tsCols are the date columns of _lastUpdated: the entry is [ts, ts+1).
func tsCols(ts string) dateCols {
	return dateCols{
		loGE: func(a int64) frag { return cat(ts, " >= ", arg{a}) },
		loLT: func(a int64) frag { return cat(ts, " < ", arg{a}) },
		hiLE: func(a int64) frag { return cat(ts, " < ", arg{a}) },  // ts+1 <= a
		hiGT: func(a int64) frag { return cat(ts, " >= ", arg{a}) }, // ts+1 > a
	}
}

func dateCond(c dateCols, p search.Prefix, vl, vh int64) frag {
	// eq also bounds lo from above (lo < hi <= vh), so that it is one index range.
	eq := and(c.loGE(vl), c.loLT(vh), c.hiLE(vh))
	switch p {
	case search.Eq:
		return eq
	case search.Ne:
		return or(c.loLT(vl), c.hiGT(vh))
	case search.Gt:
		return c.hiGT(vh)
	case search.Lt:
		return c.loLT(vl)
	case search.Ge:
		return or(c.hiGT(vh), eq)
	case search.Le:
		return or(c.loLT(vl), eq)
	case search.Sa:
		return c.loGE(vh)
	case search.Eb:
		return c.hiLE(vl)
	case search.Ap:
		return and(c.loLT(vh), c.hiGT(vl))
	}
	return fFalse
}

func numCond(col string, v *search.Value) frag {
	switch v.Prefix {
	case search.Eq:
		return cat(col, " >= ", arg{v.NumLow}, " AND ", col, " < ", arg{v.NumHigh})
	case search.Ne:
		return cat("NOT (", col, " >= ", arg{v.NumLow}, " AND ", col, " < ", arg{v.NumHigh}, ")")
	case search.Gt, search.Sa:
		return cat(col, " > ", arg{v.Num})
	case search.Lt, search.Eb:
		return cat(col, " < ", arg{v.Num})
	case search.Ge:
		return cat(col, " >= ", arg{v.Num})
	case search.Le:
		return cat(col, " <= ", arg{v.Num})
	case search.Ap:
		return cat("(abs(", col, " - ", arg{v.Num}, ") <= ", arg{math.Abs(v.Num) / 10}, " OR ",
			col, " >= ", arg{v.NumLow}, " AND ", col, " < ", arg{v.NumHigh}, ")")
	}
	return fFalse
}

// valueCond is the condition of value v of a clause of parameter type t with modifier mod
// and target type target (query.go), on index row alias x.
func valueCond(t search.Type, mod search.Modifier, target string, v *search.Value, x string) cond {
	str := func(kind uint8, f frag) cond { return cond{kind, tblStr, f} }
	switch t {
	case search.String:
		switch mod {
		case search.ModExact:
			txt := v.Raw
			if txt == search.Normalize(v.Raw) {
				txt = "" // stored as "" when the text is its normalised form
			}
			return str(0, cat(x, ".val = ", arg{search.Normalize(v.Raw)}, " AND ", x, ".sys = '' AND ", x, ".txt = ", arg{txt}))
		case search.ModContains:
			if v.String == "" {
				return str(0, fTrue)
			}
			return str(0, cat("instr(", x, ".val, ", arg{v.String}, ") > 0"))
		}
		return str(0, prefixOf(x+".val", v.String))
	case search.Token:
		switch mod {
		case search.ModText:
			return str(kindText, prefixOf(x+".val", v.String))
		case search.ModOfType:
			return str(uint8(search.KindOfType), cat(x, ".val = ", arg{v.Code}, " AND ", x, ".sys = ", arg{v.System}, " AND ", x, ".txt = ", arg{v.Ident}))
		}
		return str(0, tokenCond(x, v))
	case search.Reference:
		switch {
		case mod == search.ModIdentifier:
			return str(uint8(search.KindIdentifier), tokenCond(x, v))
		case mod == search.ModAbove:
			return str(uint8(search.KindURL), prefixesOf(x+".val", v.RefURL))
		case mod == search.ModBelow:
			return str(uint8(search.KindURL), prefixOf(x+".val", v.RefURL))
		case v.RefURL != "":
			return str(uint8(search.KindURL), cat(x, ".val = ", arg{v.RefURL}))
		}
		fs := []frag{cat(x, ".val = ", arg{v.RefID})}
		for _, typ := range []string{v.RefType, target} {
			if typ != "" {
				fs = append(fs, cat(x, ".sys = ", arg{typ}))
			}
		}
		if v.RefType != "" || target != "" {
			fs = append(fs, frag{sql: x + ".txt = ''"})
		}
		return str(0, and(fs...))
	case search.Date:
		return cond{0, tblDate, dateCond(cols(x+".lo", x+".hi"), v.Prefix, v.Low, v.High)}
	case search.Number:
		return cond{0, tblNum, numCond(x+".num", v)}
	case search.Quantity:
		f := numCond(x+".num", v)
		switch {
		case v.HasSystem:
			f = and(f, cat(x, ".sys = ", arg{v.System}, " AND ", x, ".val = ", arg{v.Code}))
		case v.Code != "":
			f = and(f, cat("(", x, ".val = ", arg{v.Code}, " OR ", x, ".txt = ", arg{v.Code}, ")"))
		}
		return cond{0, tblNum, f}
	case search.URI:
		switch mod {
		case search.ModAbove:
			return str(0, prefixesOf(x+".val", v.Raw))
		case search.ModBelow:
			return str(0, prefixOf(x+".val", v.Raw))
		}
		return str(0, cat(x, ".val = ", arg{v.Raw}))
	}
	return cond{0, tblStr, fFalse}
}

// partCond is the condition of composite part i (value v, component type t) on alias x, with
// its param kind.
func partCond(i int, t search.Type, v *search.Value, x string) cond {
	c := valueCond(t, search.ModNone, "", v, x)
	c.kind = uint8(kindPart + 4*i + int(c.kind))
	return c
}

// ---- clause tests: a condition on a resource alias ----

// test returns the condition that resource alias r (of type typ, "" when it varies) matches c.
func (b *builder) test(c *search.Clause, r, typ string) frag {
	switch {
	case c.Has != nil:
		x, h := b.alias("x"), b.alias("h")
		sysF := frag{sql: x + ".sys = " + r + ".type"}
		if typ != "" {
			sysF = cat(x, ".sys = ", arg{typ})
		}
		pid := b.pid(keyOf(c.Has.Type, c.Has.Param.Code, search.Reference, 0))
		return cat("EXISTS (SELECT 1 FROM sp_str ", x, " CROSS JOIN resource ", h, " ON ", h, ".rid = ", x, ".rid WHERE ",
			x, ".pid = ", arg{pid}, " AND ", x, ".val = ", r, ".id AND ", sysF, " AND ", x, ".txt = '' AND ",
			h, ".type = ", arg{c.Has.Type}, " AND ", b.test(c.Has.Clause, h, c.Has.Type), ")")
	case c.Chain != nil:
		x, t := b.alias("x"), b.alias("t")
		pid := b.pid(keyOf(typ, c.Param.Code, search.Reference, 0))
		return cat("EXISTS (SELECT 1 FROM sp_str ", x, " CROSS JOIN resource ", t, " ON ", t, ".type = ", arg{c.TargetType},
			" AND ", t, ".id = ", x, ".val WHERE ", x, ".rid = ", r, ".rid AND ", x, ".pid = ", arg{pid},
			" AND ", x, ".sys = ", arg{c.TargetType}, " AND ", t, ".deleted = 0 AND ", b.test(c.Chain, t, c.TargetType), ")")
	case c.Param.Code == "_id":
		return idCond(c, r+".id")
	case c.Param.Code == "_lastUpdated":
		return b.lastUpdatedCond(c, r+".ts")
	case c.Modifier == search.ModMissing:
		has := b.hasAny(c.Param, r, typ)
		if c.Missing {
			return not(has)
		}
		return has
	case c.Param.Type == search.Composite:
		var fs []frag
		for i := range c.Values {
			fs = append(fs, b.compositeTest(c, &c.Values[i], r, typ))
		}
		return or(fs...)
	}
	groups := b.groups(c, typ)
	// A single value that fixes every key column but rid is looked up in the primary key, where
	// the value's rows lie together in rid order (a few thousand pages for a code that 400,000
	// resources share), not in the index by rid, where each resource's rows lie apart (a page
	// per resource tested). SQLite sees the same cost in both unless rid is a range there.
	ridEq := " = " + r + ".rid"
	if len(groups) == 1 && len(c.Values) == 1 && fullKey(c) {
		ridEq = " BETWEEN " + r + ".rid AND " + r + ".rid"
	}
	var fs []frag
	for _, g := range groups {
		x := g.x
		fs = append(fs, cat("EXISTS (SELECT 1 FROM ", tableNames[g.tbl], " ", x, " WHERE ", x, ".rid", ridEq, " AND ",
			x, ".pid = ", arg{g.pid}, " AND ", g.f, ")"))
	}
	f := or(fs...)
	if c.Modifier == search.ModNot {
		return not(f)
	}
	return f
}

// group is the values of a clause that share a param row kind, ORed, on alias x.
type group struct {
	x   string
	pid int64
	tbl byte
	f   frag
}

// groups returns the value conditions of plain clause c on resources of typ, one group per
// param kind (pid) in the order of first appearance.
func (b *builder) groups(c *search.Clause, typ string) []group {
	x := b.alias("x")
	var gs []group
	byKind := map[uint8]int{}
	for i := range c.Values {
		vc := valueCond(c.Param.Type, c.Modifier, c.TargetType, &c.Values[i], x)
		j, ok := byKind[vc.kind]
		if !ok {
			j = len(gs)
			byKind[vc.kind] = j
			gs = append(gs, group{x: x, pid: b.pid(keyOf(typ, c.Param.Code, c.Param.Type, vc.kind)), tbl: vc.tbl, f: fFalse})
		}
		gs[j].f = or(gs[j].f, vc.f)
	}
	return gs
}

// compositeTest is "resource r has a composite entry of c.Param matching v".
func (b *builder) compositeTest(c *search.Clause, v *search.Value, r, typ string) frag {
	f := b.compositeRows(c, v, typ)
	if f.sql == "0" {
		return f
	}
	x0 := b.lastComposite
	return cat("EXISTS (SELECT 1 FROM ", f, " AND ", x0, ".rid BETWEEN (", r, ".rid << ", strconv.Itoa(compShift), ") AND (",
		r, ".rid << ", strconv.Itoa(compShift), ") + ", strconv.Itoa(maxGroups), ")")
}

// compositeRows is "table x0 WHERE <part 0> AND EXISTS(part 1 of the same entry)…" for value
// v; b.lastComposite names x0.
func (b *builder) compositeRows(c *search.Clause, v *search.Value, typ string) frag {
	if len(v.Parts) != len(c.Param.Components) || len(v.Parts) == 0 {
		return fFalse
	}
	var x0 string
	var head frag
	var rest []frag
	for i := range v.Parts {
		cp := c.Param.Components[i].Param
		if cp == nil {
			return fFalse
		}
		x := b.alias("x")
		pc := partCond(i, cp.Type, &v.Parts[i], x)
		pid := b.pid(keyOf(typ, c.Param.Code, cp.Type, pc.kind))
		if i == 0 {
			x0 = x
			head = cat(tableNames[pc.tbl], " ", x, " WHERE ", x, ".pid = ", arg{pid}, " AND ", pc.f)
			continue
		}
		rest = append(rest, cat("EXISTS (SELECT 1 FROM ", tableNames[pc.tbl], " ", x, " WHERE ", x, ".rid = ", x0, ".rid AND ",
			x, ".pid = ", arg{pid}, " AND ", pc.f, ")"))
	}
	b.lastComposite = x0
	return cat(head, " AND ", and(rest...))
}

// hasAny is "resource r has an entry of p (any kind)".
func (b *builder) hasAny(p *search.Param, r, typ string) frag {
	x := b.alias("x")
	if p.Type == search.Composite {
		if len(p.Components) == 0 || p.Components[0].Param == nil {
			return fFalse
		}
		tbl, _ := tableOf(p.Components[0].Param.Type)
		pids := b.pidsWhere(typ, p.Code, frag{sql: fmt.Sprintf("kind BETWEEN %d AND %d", kindPart, kindPart+3)})
		if len(pids) == 0 {
			return fFalse
		}
		return cat("EXISTS (SELECT 1 FROM ", tableNames[tbl], " ", x, " WHERE ", x, ".rid BETWEEN (", r, ".rid << ",
			strconv.Itoa(compShift), ") AND (", r, ".rid << ", strconv.Itoa(compShift), ") + ", strconv.Itoa(maxGroups),
			" AND ", x, ".pid IN (", list(pids), "))")
	}
	tbl, err := tableOf(p.Type)
	if err != nil {
		return fFalse
	}
	pids := b.pidsWhere(typ, p.Code, frag{sql: fmt.Sprintf("kind < %d", kindPart)})
	if len(pids) == 0 {
		return fFalse
	}
	return cat("EXISTS (SELECT 1 FROM ", tableNames[tbl], " ", x, " WHERE ", x, ".rid = ", r, ".rid AND ", x, ".pid IN (", list(pids), "))")
}

// idValues returns the ids a _id clause names: token semantics on an entry with no system.
func idValues(c *search.Clause) []string {
	var ids []string
	for _, v := range c.Values {
		if c.Modifier == search.ModText || c.Modifier == search.ModOfType {
			continue // the _id entry has no text and no type
		}
		if (!v.HasSystem || v.System == "") && v.Code != "" {
			ids = append(ids, v.Code)
		}
	}
	return ids
}

func idCond(c *search.Clause, col string) frag {
	if c.Modifier == search.ModMissing {
		if c.Missing {
			return fFalse
		}
		return fTrue
	}
	ids := idValues(c)
	f := fFalse
	if len(ids) > 0 {
		f = cat(col, " IN (", list(ids), ")")
	}
	if c.Modifier == search.ModNot {
		return not(f)
	}
	return f
}

func (b *builder) lastUpdatedCond(c *search.Clause, col string) frag {
	if c.Modifier == search.ModMissing {
		if c.Missing {
			return fFalse
		}
		return fTrue
	}
	var fs []frag
	for _, v := range c.Values {
		fs = append(fs, dateCond(tsCols(col), v.Prefix, v.Low, v.High))
	}
	return or(fs...)
}

// ---- drivers: the set of rids a search starts from ----

// Driver ranks: lower drives better (fewer rows expected).
const (
	rankID = iota
	rankKey
	rankEq
	rankPrefix
	rankRange
	rankScan
	rankNone
)

// driver returns a query of the rids of live resources of typ (any type when "") that
// match c, with its rank; rankNone (and an empty frag) when c is better tested row by row.
func (b *builder) driver(c *search.Clause, typ string, types []string) (frag, int) {
	b.stream = nil
	switch {
	case c.Has != nil:
		inner, rank := b.driver(c.Has.Clause, c.Has.Type, nil)
		b.stream = nil // the inner driver's rows are not this one's
		if rank == rankNone {
			h := b.alias("h")
			inner, rank = cat("SELECT ", h, ".rid FROM resource ", h, " WHERE ", h, ".type = ", arg{c.Has.Type}, " AND ",
				h, ".deleted = 0 AND ", b.test(c.Has.Clause, h, c.Has.Type)), rankScan
		}
		x, t := b.alias("x"), b.alias("t")
		pid := b.pid(keyOf(c.Has.Type, c.Has.Param.Code, search.Reference, 0))
		sys := frag{sql: "1"}
		if typ != "" {
			sys = cat(x, ".sys = ", arg{typ})
		}
		return cat("SELECT ", t, ".rid FROM sp_str ", x, " CROSS JOIN resource ", t, " ON ", t, ".type = ", x, ".sys AND ", t, ".id = ", x,
			".val WHERE ", x, ".pid = ", arg{pid}, " AND ", x, ".rid IN (", inner, ") AND ", sys, " AND ", t, ".deleted = 0"), min(rank+1, rankScan)
	case c.Chain != nil:
		inner, rank := b.driver(c.Chain, c.TargetType, nil)
		b.stream = nil
		t, x := b.alias("t"), b.alias("x")
		var which frag
		if rank == rankNone {
			which, rank = b.test(c.Chain, t, c.TargetType), rankScan
		} else {
			which = cat(t, ".rid IN (", inner, ")")
		}
		pid := b.pid(keyOf(typ, c.Param.Code, search.Reference, 0))
		return cat("SELECT ", x, ".rid FROM resource ", t, " CROSS JOIN sp_str ", x, " ON ", x, ".pid = ", arg{pid}, " AND ", x,
			".val = ", t, ".id AND ", x, ".sys = ", t, ".type AND ", x, ".txt = '' WHERE ", t, ".type = ", arg{c.TargetType},
			" AND ", t, ".deleted = 0 AND ", which), rank
	case c.Param.Code == "_id":
		if c.Modifier == search.ModNot || c.Modifier == search.ModMissing {
			return frag{}, rankNone
		}
		ids := idValues(c)
		if len(ids) == 0 {
			return frag{sql: "SELECT NULL AS rid WHERE 0"}, rankID
		}
		if typ != "" {
			types = []string{typ}
		} else if len(types) == 0 {
			types = fhir.ResourceTypes
		}
		return cat("SELECT rid FROM resource WHERE type IN (", list(types), ") AND id IN (", list(ids), ") AND deleted = 0"), rankID
	case c.Param.Code == "_lastUpdated", c.Modifier == search.ModMissing, c.Modifier == search.ModNot:
		return frag{}, rankNone
	case c.Param.Type == search.Composite:
		var fs []frag
		for i := range c.Values {
			f := b.compositeRows(c, &c.Values[i], typ)
			fs = append(fs, cat("SELECT ", b.lastComposite, ".rid >> ", strconv.Itoa(compShift), " AS rid FROM ", f))
		}
		return join(" UNION ALL ", fs), rankEq
	}
	rank := rankEq
	for i := range c.Values {
		rank = max(rank, valueRank(c.Param.Type, c.Modifier, &c.Values[i]))
	}
	var fs []frag
	gs := b.groups(c, typ)
	if len(gs) == 0 {
		return frag{sql: "SELECT NULL AS rid WHERE 0"}, rank
	}
	for _, g := range gs {
		fs = append(fs, cat("SELECT ", g.x, ".rid FROM ", tableNames[g.tbl], " ", g.x, " WHERE ", g.x, ".pid = ", arg{g.pid}, " AND ", g.f))
	}
	b.stream = nil
	if len(gs) == 1 && len(c.Values) == 1 && fullKey(c) {
		b.stream = &gs[0]
	}
	return join(" UNION ALL ", fs), rank
}

// fullKey reports whether the single value of c fixes every primary key column of its
// index rows but rid (pid, val, sys, txt): its rows then come in rid order, and the search
// can read them as a stream and stop at the page's end.
func fullKey(c *search.Clause) bool {
	v := &c.Values[0]
	switch c.Param.Type {
	case search.Token:
		return c.Modifier == search.ModOfType || c.Modifier == search.ModNone && v.HasSystem && v.Code != ""
	case search.Reference:
		return c.Modifier == search.ModNone && v.RefURL == "" && (v.RefType != "" || c.TargetType != "") ||
			c.Modifier == search.ModType && v.RefURL == ""
	case search.String:
		return c.Modifier == search.ModExact
	}
	return false
}

func valueRank(t search.Type, mod search.Modifier, v *search.Value) int {
	switch t {
	case search.Token:
		switch {
		case mod == search.ModText:
			return rankScan
		case mod == search.ModOfType, v.HasSystem && v.Code != "":
			return rankKey
		}
		return rankEq
	case search.Reference:
		if mod == search.ModBelow {
			return rankPrefix
		}
		return rankKey
	case search.String:
		switch {
		case mod == search.ModContains:
			return rankScan
		case mod == search.ModExact:
			return rankEq
		case len([]rune(v.String)) < 2:
			return rankRange
		}
		return rankPrefix
	case search.URI:
		return rankEq
	case search.Date:
		if v.Prefix == search.Eq {
			return rankRange
		}
		return rankScan
	case search.Number, search.Quantity:
		if v.Prefix == search.Eq {
			return rankRange
		}
		return rankScan
	}
	return rankScan
}

// compartment returns the test and the driver of opts.Compartment on resource alias r.
func (b *builder) compartment(cp *store.Compartment, r string, inScope func(string) bool) (test, drv frag) {
	if len(cp.IDs) == 0 {
		return fFalse, frag{sql: "SELECT NULL AS rid WHERE 0"}
	}
	// owner is the test of column col against the owners' ids: one id is an equality, several
	// a set read from one JSON argument (any number of ids, one bound parameter).
	owner := func(col string) frag {
		if len(cp.IDs) == 1 {
			return cat(col, " = ", arg{cp.IDs[0]})
		}
		ids, _ := json.Marshal(cp.IDs)
		return cat(col, " IN (SELECT value FROM json_each(", arg{string(ids)}, "))")
	}
	var pids []int64
	var tests, drvs []frag
	types := make([]string, 0, len(cp.Params))
	for typ := range cp.Params {
		types = append(types, typ)
	}
	slices.Sort(types)
	for _, typ := range types {
		if !inScope(typ) {
			continue
		}
		for _, code := range cp.Params[typ] {
			pid := b.pid(keyOf(typ, code, search.Reference, 0))
			if pid == 0 {
				continue
			}
			if strings.HasPrefix(code, "_") { // a common parameter: its pid is every type's
				x := b.alias("x")
				tests = append(tests, cat("(", r, ".type = ", arg{typ}, " AND EXISTS (SELECT 1 FROM sp_str ", x, " WHERE ", x,
					".rid = ", r, ".rid AND ", x, ".pid = ", arg{pid}, " AND ", owner(x+".val"), " AND ", x, ".sys = ",
					arg{cp.Type}, " AND ", x, ".txt = ''))"))
				drvs = append(drvs, cat("SELECT x.rid FROM sp_str x JOIN resource o ON o.rid = x.rid WHERE x.pid = ", arg{pid},
					" AND ", owner("x.val"), " AND x.sys = ", arg{cp.Type}, " AND x.txt = '' AND o.type = ", arg{typ}))
				continue
			}
			pids = append(pids, pid)
		}
	}
	if len(pids) > 0 {
		x := b.alias("x")
		tests = append(tests, cat("EXISTS (SELECT 1 FROM sp_str ", x, " WHERE ", x, ".rid = ", r, ".rid AND ", x, ".pid IN (",
			list(pids), ") AND ", owner(x+".val"), " AND ", x, ".sys = ", arg{cp.Type}, " AND ", x, ".txt = '')"))
		drvs = append(drvs, cat("SELECT rid FROM sp_str WHERE pid IN (", list(pids), ") AND ", owner("val"),
			" AND sys = ", arg{cp.Type}, " AND txt = ''"))
	}
	if cp.IncludeOwner && inScope(cp.Type) {
		tests = append(tests, cat("(", r, ".type = ", arg{cp.Type}, " AND ", owner(r+".id"), ")"))
		drvs = append(drvs, cat("SELECT rid FROM resource WHERE type = ", arg{cp.Type}, " AND ", owner("id")))
	}
	if len(drvs) == 0 {
		return fFalse, frag{sql: "SELECT NULL AS rid WHERE 0"}
	}
	return or(tests...), join(" UNION ALL ", drvs)
}

// dateBound is the range [lo, hi) of the lo column of the rows that can match value v of a
// date clause, for a param whose rows satisfy hi - lo <= span (span math.MaxInt64: no such
// bound). math.MinInt64 and math.MaxInt64 stand for no bound.
func dateBound(v *search.Value, span int64) (lo, hi int64) {
	lo, hi = math.MinInt64, math.MaxInt64
	finite := span < 1<<52 // dates are well inside ±2^52 ms: no overflow below
	vl, vh := v.Low, v.High
	switch v.Prefix {
	case search.Eq:
		lo, hi = vl, vh
	case search.Gt: // hi > vh, so lo >= hi - span > vh - span
		if finite {
			lo = vh - span + 1
		}
	case search.Lt:
		hi = vl
	case search.Ge:
		if finite {
			lo = min(vl, vh-span+1)
		}
	case search.Le:
		hi = vh
	case search.Sa:
		lo = vh
	case search.Eb: // hi <= vl and lo <= hi (a finite span says so)
		if finite {
			hi = vl + 1
		}
	case search.Ap:
		hi = vh
		if finite {
			lo = vl - span + 1
		}
	}
	return lo, hi
}

// dateDriver is the driver of a set of ANDed date clauses of one param.
type dateDriver struct {
	f      frag
	covers []int // the clauses it tests in full (their index in the query)
}

// dateDrivers returns drivers for the plain date clauses of q that bound the lo column of
// their param's rows on both sides, by the index of the set's first clause: a single range of
// the sp_date primary key. The ANDed clauses of one param make one range when no resource has
// more than one row of it (param.multi = 0: then "a row matches each clause" is "one row
// matches them all", and the driver tests every clause of the set); otherwise each clause
// counts alone. Bounds on hi become bounds on lo through param.span.
func (b *builder) dateDrivers(q *search.Query) map[int]dateDriver {
	byCode := map[string][]int{}
	var codes []string
	for i, c := range q.Clauses {
		if c.Has != nil || c.Chain != nil || c.Param == nil || c.Param.Type != search.Date || c.Modifier != search.ModNone ||
			c.Param.Code == "_lastUpdated" || len(c.Values) == 0 {
			continue
		}
		if byCode[c.Param.Code] == nil {
			codes = append(codes, c.Param.Code)
		}
		byCode[c.Param.Code] = append(byCode[c.Param.Code], i)
	}
	var out map[int]dateDriver
	for _, code := range codes {
		pid := b.pid(keyOf(q.Type, code, search.Date, 0))
		if pid == 0 {
			continue
		}
		var span int64
		var multi bool
		if err := b.queryRow(`SELECT span, multi FROM param WHERE pid = ?`, pid).Scan(&span, &multi); err != nil {
			b.errs = append(b.errs, err)
			return nil
		}
		sets := [][]int{byCode[code]}
		if multi {
			sets = nil
			for _, i := range byCode[code] {
				sets = append(sets, []int{i})
			}
		}
		for _, set := range sets {
			lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
			x := b.alias("x")
			var conds []frag
			for _, i := range set {
				c := q.Clauses[i]
				clo, chi := int64(math.MaxInt64), int64(math.MinInt64)
				var fs []frag
				for j := range c.Values {
					vlo, vhi := dateBound(&c.Values[j], span)
					clo, chi = min(clo, vlo), max(chi, vhi)
					fs = append(fs, valueCond(search.Date, search.ModNone, "", &c.Values[j], x).f)
				}
				lo, hi = max(lo, clo), min(hi, chi)
				conds = append(conds, or(fs...))
			}
			if lo == math.MinInt64 || hi == math.MaxInt64 {
				continue // unbounded on one side: a scan, not a driver
			}
			if out == nil {
				out = map[int]dateDriver{}
			}
			out[set[0]] = dateDriver{covers: set, f: cat("SELECT ", x, ".rid FROM sp_date ", x, " WHERE ", x, ".pid = ", arg{pid},
				" AND ", x, ".lo >= ", arg{lo}, " AND ", x, ".lo < ", arg{hi}, " AND ", and(conds...))}
		}
	}
	return out
}
