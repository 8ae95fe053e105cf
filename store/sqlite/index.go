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
	"encoding/binary"
	"fmt"
	"math"

	"github.com/kodomohub/kodomohub/fhir/search"
)

// Index tables.
const (
	tblStr  = 1 // sp_str (pid, val, sys, txt): string, token, reference, uri
	tblDate = 2 // sp_date (pid, lo, hi)
	tblNum  = 3 // sp_num (pid, num, sys, val, txt): number, quantity
)

// Encoded row keys start with the table, plus keyV2 for the current encoding, which adds
// txt and the composite group. Keys written before migration 2 (without keyV2) decode with
// txt "" and group 0, as migration 2 converted their rows.
const keyV2 = 8

// Kinds of param rows beyond search.Kind.
const (
	// kindText: the Text of a token entry (normalised display or CodeableConcept.text), for :text.
	kindText = 8
	// kindPart + 4*i + kind: component i of a composite entry, of search.Kind kind.
	kindPart = 16
)

// Composite entries: their part rows store rid<<compShift | n in the rid column, n being the
// entry's number within the resource (1…maxGroups), so that the parts of one entry join.
const (
	compShift = 12
	maxGroups = 1<<compShift - 1
)

// irow is one index row without its rid.
type irow struct {
	tbl      byte
	pid      int64
	val, sys string
	txt      string
	lo, hi   int64
	num      float64
	grp      int64 // composite entry number, 0 for other rows
}

func tableOf(t search.Type) (byte, error) {
	switch t {
	case search.String, search.Token, search.Reference, search.URI:
		return tblStr, nil
	case search.Date:
		return tblDate, nil
	case search.Number, search.Quantity:
		return tblNum, nil
	case search.Composite:
		return 0, nil
	}
	return 0, fmt.Errorf("unknown search parameter type %d", t)
}

// rowOf returns the row of entry e (not a composite) in table tbl.
func rowOf(e *search.Entry, tbl byte, pid int64) irow {
	r := irow{tbl: tbl, pid: pid}
	switch tbl {
	case tblStr:
		r.val, r.sys = e.Value, e.System
		switch {
		case e.Type == search.String && e.Text != e.Value:
			r.txt = e.Text // :exact; equal text and value is the common case and costs nothing
		case e.Type == search.Token && e.Kind == search.KindOfType:
			r.txt = e.Text
		}
	case tblDate:
		r.lo, r.hi = e.Low, e.High
	case tblNum:
		r.num = e.Num
		if e.Type == search.Quantity {
			r.sys, r.val, r.txt = e.System, e.Value, e.Text
		}
	}
	return r
}

// ridOf is the value of the rid column of r for resource rid.
func (r irow) ridOf(rid int64) int64 {
	if r.grp != 0 {
		return rid<<compShift | r.grp
	}
	return rid
}

// key appends the encoding of r to b. Equal rows have equal encodings, so the encoding serves
// both as the stored form (resource.ix) and as a set key when an update diffs its rows.
func (r irow) key(b []byte) []byte {
	b = append(b, r.tbl|keyV2)
	b = binary.AppendUvarint(b, uint64(r.pid))
	b = binary.AppendUvarint(b, uint64(r.grp))
	str := func(s string) { b = binary.AppendUvarint(b, uint64(len(s))); b = append(b, s...) }
	switch r.tbl {
	case tblStr:
		str(r.val)
		str(r.sys)
		str(r.txt)
	case tblDate:
		b = binary.AppendVarint(b, r.lo)
		b = binary.AppendVarint(b, r.hi)
	case tblNum:
		b = binary.BigEndian.AppendUint64(b, math.Float64bits(r.num))
		str(r.sys)
		str(r.val)
		str(r.txt)
	}
	return b
}

// encodeKeys joins row keys into a resource.ix blob: each key prefixed by its length.
func encodeKeys(keys []string) []byte {
	n := 0
	for _, k := range keys {
		n += len(k) + 2
	}
	b := make([]byte, 0, n)
	for _, k := range keys {
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
	}
	return b
}

// decodeKeys splits a resource.ix blob into row keys.
func decodeKeys(b []byte) ([]string, error) {
	var keys []string
	for len(b) > 0 {
		n, w := binary.Uvarint(b)
		if w <= 0 || uint64(len(b)-w) < n {
			return nil, fmt.Errorf("corrupt index blob")
		}
		keys = append(keys, string(b[w:w+int(n)]))
		b = b[w+int(n):]
	}
	return keys, nil
}

// parseKey decodes one row key (of either encoding).
func parseKey(k string) (irow, error) {
	b := []byte(k)
	bad := fmt.Errorf("corrupt index row")
	if len(b) == 0 {
		return irow{}, bad
	}
	v2 := b[0]&keyV2 != 0
	r := irow{tbl: b[0] &^ keyV2}
	b = b[1:]
	uv := func() (int64, bool) {
		u, w := binary.Uvarint(b)
		if w <= 0 {
			return 0, false
		}
		b = b[w:]
		return int64(u), true
	}
	var ok bool
	if r.pid, ok = uv(); !ok {
		return irow{}, bad
	}
	if v2 {
		if r.grp, ok = uv(); !ok {
			return irow{}, bad
		}
	}
	str := func() (string, bool) {
		n, w := binary.Uvarint(b)
		if w <= 0 || uint64(len(b)-w) < n {
			return "", false
		}
		s := string(b[w : w+int(n)])
		b = b[w+int(n):]
		return s, true
	}
	ok = true
	strs := func(ps ...*string) {
		for _, p := range ps {
			var good bool
			*p, good = str()
			ok = ok && good
		}
	}
	switch r.tbl {
	case tblStr:
		strs(&r.val, &r.sys)
		if v2 {
			strs(&r.txt)
		}
	case tblDate:
		var w1, w2 int
		r.lo, w1 = binary.Varint(b)
		if w1 > 0 {
			r.hi, w2 = binary.Varint(b[w1:])
		}
		ok = w1 > 0 && w2 > 0
	case tblNum:
		if len(b) < 8 {
			return irow{}, bad
		}
		r.num, b = math.Float64frombits(binary.BigEndian.Uint64(b)), b[8:]
		strs(&r.sys, &r.val)
		if v2 {
			strs(&r.txt)
		}
	default:
		ok = false
	}
	if !ok {
		return irow{}, bad
	}
	return r, nil
}
