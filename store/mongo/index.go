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
	"encoding/hex"
	"math"
	"sort"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/kodomohub/kodomohub/fhir/search"
)

// ent is a stored index entry (field ix of a resource document): search.Entry in short
// field names. Search decodes them to check candidates exactly.
type ent struct {
	C  string  `bson:"c"`
	Y  int32   `bson:"y"`
	K  int32   `bson:"k,omitempty"`
	S  string  `bson:"s,omitempty"`
	V  string  `bson:"v,omitempty"`
	X  string  `bson:"x,omitempty"`
	Lo int64   `bson:"lo,omitempty"`
	Hi int64   `bson:"hi,omitempty"`
	N  float64 `bson:"n,omitempty"`
	P  []ent   `bson:"p,omitempty"`
}

func toEnt(e *search.Entry) ent {
	x := ent{C: e.Code, Y: int32(e.Type), K: int32(e.Kind), S: e.System, V: e.Value, X: e.Text, Lo: e.Low, Hi: e.High, N: e.Num}
	for i := range e.Parts {
		x.P = append(x.P, toEnt(&e.Parts[i]))
	}
	return x
}

func (x *ent) entry() search.Entry {
	e := search.Entry{Code: x.C, Type: search.Type(x.Y), Kind: search.Kind(x.K), System: x.S, Value: x.V, Text: x.X,
		Low: x.Lo, High: x.Hi, Num: x.N}
	for i := range x.P {
		e.Parts = append(e.Parts, x.P[i].entry())
	}
	return e
}

// Key tags: the second segment of an index key "code\x00tag\x00…" (doc.go, "Index keys").
const (
	tagAny      = "m" // the resource has an entry of the code (for :missing)
	tagString   = "s" // value \x00 text
	tagToken    = "t" // code \x00 system
	tagTokenSys = "T" // system \x00 code
	tagText     = "e" // normalised display text of a token
	tagOfType   = "o" // type system \x00 type code \x00 identifier value
	tagRef      = "r" // id \x00 type
	tagIdent    = "i" // reference identifier: value \x00 system
	tagIdentSys = "I" // reference identifier: system \x00 value
	tagURI      = "u" // uri, or absolute reference / canonical URL
	tagLow      = "L" // date: enc(low) enc(high)
	tagHigh     = "H" // date: enc(high) enc(low)
	tagNum      = "n" // number or quantity: enc(num)
	tagQty      = "q" // quantity: system \x00 code \x00 enc(num)
	tagUnit     = "Q" // quantity: code or unit \x00 enc(num)
	tagComp     = "C" // composite: part 0's value \x00 system
)

func key(code, tag string, parts ...string) string {
	n := len(code) + len(tag) + 2
	for _, p := range parts {
		n += len(p) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, code...)
	b = append(b, 0)
	b = append(b, tag...)
	for _, p := range parts {
		b = append(b, 0)
		b = append(b, p...)
	}
	return string(b)
}

// keyPrefix is "code\x00tag\x00": every key of that tag starts with it.
func keyPrefix(code, tag string) string { return code + "\x00" + tag + "\x00" }

// encInt is an order-preserving fixed-width text form of an int64.
func encInt(x int64) string {
	var b [8]byte
	u := uint64(x) ^ 1<<63
	for i := 7; i >= 0; i-- {
		b[i] = byte(u)
		u >>= 8
	}
	return hex.EncodeToString(b[:])
}

// encNum is an order-preserving fixed-width text form of a float64.
func encNum(f float64) string {
	if f == 0 {
		f = 0 // -0 sorts with +0
	}
	u := math.Float64bits(f)
	if u&(1<<63) == 0 {
		u ^= 1 << 63
	} else {
		u = ^u
	}
	var b [8]byte
	for i := 7; i >= 0; i-- {
		b[i] = byte(u)
		u >>= 8
	}
	return hex.EncodeToString(b[:])
}

// keysOf returns the index keys of one entry.
func keysOf(e *search.Entry, add func(string)) {
	c := e.Code
	add(key(c, tagAny))
	if e.Type == search.Composite {
		if len(e.Parts) > 0 {
			p := &e.Parts[0]
			add(key(c, tagComp, p.Value, p.System))
		}
		return
	}
	switch e.Type {
	case search.String:
		add(key(c, tagString, e.Value, e.Text))
	case search.Token:
		switch e.Kind {
		case search.KindOfType:
			add(key(c, tagOfType, e.System, e.Value, e.Text))
		default:
			add(key(c, tagToken, e.Value, e.System))
			add(key(c, tagTokenSys, e.System, e.Value))
			if e.Text != "" {
				add(key(c, tagText, e.Text))
			}
		}
	case search.Reference:
		switch e.Kind {
		case search.KindURL:
			add(key(c, tagURI, e.Value))
		case search.KindIdentifier:
			add(key(c, tagIdent, e.Value, e.System))
			add(key(c, tagIdentSys, e.System, e.Value))
		default:
			add(key(c, tagRef, e.Value, e.System))
		}
	case search.URI:
		add(key(c, tagURI, e.Value))
	case search.Date:
		add(key(c, tagLow, encInt(e.Low)+encInt(e.High)))
		add(key(c, tagHigh, encInt(e.High)+encInt(e.Low)))
	case search.Number:
		add(key(c, tagNum, encNum(e.Num)))
	case search.Quantity:
		n := encNum(e.Num)
		add(key(c, tagNum, n))
		add(key(c, tagQty, e.System, e.Value, n))
		add(key(c, tagUnit, e.Value, n))
		if e.Text != e.Value {
			add(key(c, tagUnit, e.Text, n))
		}
	}
}

// sortVal is a resource's sort keys of one parameter: the lowest value (ascending) and the
// highest (descending).
type sortVal struct {
	asc, desc any
}

// encodeIndex builds the ik keys, the ix entries and the sk sort keys of a version's
// entries (doc.go).
func encodeIndex(entries []search.Entry) (keys []string, ix []ent, sk bson.D) {
	seen := map[string]bool{}
	add := func(k string) {
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	sorts := map[string]*sortVal{}
	var codes []string
	for i := range entries {
		e := &entries[i]
		if e.Code == "_id" || e.Code == "_lastUpdated" {
			continue // answered from the document's id and ts
		}
		keysOf(e, add)
		ix = append(ix, toEnt(e))
		if e.Kind != search.KindValue || e.Type == search.Composite {
			continue
		}
		var a, d any
		switch e.Type {
		case search.Date:
			a, d = e.Low, e.High
		case search.Number, search.Quantity:
			a, d = e.Num, e.Num
		case search.Reference:
			a = e.System + "/" + e.Value
			d = a
		default:
			a, d = e.Value, e.Value
		}
		sv := sorts[e.Code]
		if sv == nil {
			sorts[e.Code] = &sortVal{a, d}
			codes = append(codes, e.Code)
			continue
		}
		if compareAny(a, sv.asc) < 0 {
			sv.asc = a
		}
		if compareAny(d, sv.desc) > 0 {
			sv.desc = d
		}
	}
	sort.Strings(codes)
	sk = make(bson.D, 0, len(codes))
	for _, c := range codes {
		sv := sorts[c]
		sk = append(sk, bson.E{Key: c, Value: bson.D{{Key: "p", Value: int32(1)}, {Key: "a", Value: sv.asc}, {Key: "d", Value: sv.desc}}})
	}
	sort.Strings(keys)
	return keys, ix, sk
}

func compareAny(a, b any) int {
	switch a := a.(type) {
	case string:
		b, _ := b.(string)
		switch {
		case a < b:
			return -1
		case a > b:
			return 1
		}
	case int64:
		b, _ := b.(int64)
		switch {
		case a < b:
			return -1
		case a > b:
			return 1
		}
	case float64:
		b, _ := b.(float64)
		switch {
		case a < b:
			return -1
		case a > b:
			return 1
		}
	}
	return 0
}
