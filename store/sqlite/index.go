package sqlite

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/kodomohub/kodomohub/fhir/search"
)

// Index tables, as the first byte of an encoded index row.
const (
	tblStr  = 1 // sp_str (pid, val, sys): string, token, reference, uri
	tblDate = 2 // sp_date (pid, lo, hi)
	tblNum  = 3 // sp_num (pid, num, sys, val): number, quantity
)

// irow is one index row without its rid.
type irow struct {
	tbl      byte
	pid      int64
	val, sys string
	lo, hi   int64
	num      float64
}

func tableOf(t search.Type) (byte, error) {
	switch t {
	case search.String, search.Token, search.Reference, search.URI:
		return tblStr, nil
	case search.Date:
		return tblDate, nil
	case search.Number, search.Quantity:
		return tblNum, nil
	}
	return 0, fmt.Errorf("unknown search parameter type %d", t)
}

func rowOf(e search.Entry, tbl byte, pid int64) irow {
	r := irow{tbl: tbl, pid: pid}
	switch tbl {
	case tblStr:
		r.val, r.sys = e.Value, e.System
	case tblDate:
		r.lo, r.hi = e.Low, e.High
	case tblNum:
		r.num, r.sys, r.val = e.Num, e.System, e.Value
	}
	return r
}

// key appends the encoding of r to b. Equal rows have equal encodings, so the encoding serves
// both as the stored form (resource.ix) and as a set key when an update diffs its rows.
func (r irow) key(b []byte) []byte {
	b = append(b, r.tbl)
	b = binary.AppendUvarint(b, uint64(r.pid))
	str := func(s string) { b = binary.AppendUvarint(b, uint64(len(s))); b = append(b, s...) }
	switch r.tbl {
	case tblStr:
		str(r.val)
		str(r.sys)
	case tblDate:
		b = binary.AppendVarint(b, r.lo)
		b = binary.AppendVarint(b, r.hi)
	case tblNum:
		b = binary.BigEndian.AppendUint64(b, math.Float64bits(r.num))
		str(r.sys)
		str(r.val)
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

// parseKey decodes one row key.
func parseKey(k string) (irow, error) {
	b := []byte(k)
	bad := fmt.Errorf("corrupt index row")
	if len(b) == 0 {
		return irow{}, bad
	}
	r := irow{tbl: b[0]}
	b = b[1:]
	u, w := binary.Uvarint(b)
	if w <= 0 {
		return irow{}, bad
	}
	r.pid, b = int64(u), b[w:]
	str := func() (string, bool) {
		n, w := binary.Uvarint(b)
		if w <= 0 || uint64(len(b)-w) < n {
			return "", false
		}
		s := string(b[w : w+int(n)])
		b = b[w+int(n):]
		return s, true
	}
	ok := true
	switch r.tbl {
	case tblStr:
		var ok2 bool
		r.val, ok = str()
		r.sys, ok2 = str()
		ok = ok && ok2
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
		var ok2 bool
		r.sys, ok = str()
		r.val, ok2 = str()
		ok = ok && ok2
	default:
		ok = false
	}
	if !ok {
		return irow{}, bad
	}
	return r, nil
}
