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

// Package searchcursor encodes the keyset paging cursors of the stores' searches: the sort
// keys and tiebreak of the last row of a page, signed with a key of the store and bound to
// the tenant and the query, so a cursor cannot be forged or replayed against another search.
// store/sqlite and store/mongo share it, so their cursors have one format.
package searchcursor

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/kodomohub/kodomohub/fhir"
	"github.com/kodomohub/kodomohub/fhir/search"
	"github.com/kodomohub/kodomohub/store"
)

// macBytes is the length of the signature kept in a cursor.
const macBytes = 16

// Cursor is a position in a result order: the sort keys and the tiebreak (Rid) of the last
// row of a page.
type Cursor struct {
	Rid  int64 `json:"r"`
	Keys []any `json:"k,omitempty"`
}

// Scope binds a cursor to the tenant and to what decides the order and the matches.
func Scope(tenant string, q *search.Query, opts store.SearchOptions) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\x00%s\x00%s\x00", tenant, q.Type, strings.Join(q.Types, ","))
	for _, c := range q.Clauses {
		fmt.Fprintf(&b, "%q=%q&", c.Key, c.Raw)
	}
	for _, k := range q.Sort {
		fmt.Fprintf(&b, "\x00%s:%v", k.Param.Code, k.Desc)
	}
	if cp := opts.Compartment; cp != nil {
		params, _ := json.Marshal(cp.Params) // map keys are sorted
		ids := fmt.Sprintf("%q", cp.IDs)
		if cp.Narrowing {
			ids = "narrowing"
		}
		fmt.Fprintf(&b, "\x00%s/%s/%v/%s", cp.Type, ids, cp.IncludeOwner, params)
	}
	return b.String()
}

// Encode signs c for scope with key. Cursor keys are typed in JSON: ["i", 1] int64,
// ["f", 1.5] float64, ["s", "x"] string, null.
func Encode(key []byte, scope string, c Cursor) string {
	keys := make([]any, len(c.Keys))
	for i, k := range c.Keys {
		switch k := k.(type) {
		case int64:
			keys[i] = []any{"i", strconv.FormatInt(k, 10)}
		case float64:
			keys[i] = []any{"f", strconv.FormatFloat(k, 'g', -1, 64)}
		case string:
			keys[i] = []any{"s", k}
		case []byte:
			keys[i] = []any{"s", string(k)}
		}
	}
	payload, _ := json.Marshal(Cursor{Rid: c.Rid, Keys: keys})
	return base64.RawURLEncoding.EncodeToString(payload) + "." + base64.RawURLEncoding.EncodeToString(mac(key, scope, payload))
}

func mac(key []byte, scope string, payload []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(scope))
	h.Write([]byte{0})
	h.Write(payload)
	return h.Sum(nil)[:macBytes]
}

func badCursor(why string) error {
	return &fhir.Error{Kind: fhir.KindInvalid, Err: store.ErrCursor, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
		Code: fhir.IssueInvalid, Diagnostics: "invalid _cursor: " + why + "; start the search again"}}}
}

// Decode checks a cursor issued for scope with key and returns it with nkeys sort keys; a
// bad cursor is an invalid *fhir.Error wrapping store.ErrCursor.
func Decode(key []byte, scope, s string, nkeys int) (*Cursor, error) {
	p64, m64, ok := strings.Cut(s, ".")
	if !ok {
		return nil, badCursor("malformed")
	}
	payload, err1 := base64.RawURLEncoding.DecodeString(p64)
	sum, err2 := base64.RawURLEncoding.DecodeString(m64)
	if err1 != nil || err2 != nil {
		return nil, badCursor("malformed")
	}
	if !hmac.Equal(sum, mac(key, scope, payload)) {
		return nil, badCursor("not issued for this search")
	}
	var raw struct {
		Rid  int64             `json:"r"`
		Keys []json.RawMessage `json:"k"`
	}
	if err := json.Unmarshal(payload, &raw); err != nil || len(raw.Keys) != nkeys {
		return nil, badCursor("malformed")
	}
	c := &Cursor{Rid: raw.Rid, Keys: make([]any, nkeys)}
	for i, k := range raw.Keys {
		var tv []string
		if string(k) == "null" {
			continue
		}
		if err := json.Unmarshal(k, &tv); err != nil || len(tv) != 2 {
			return nil, badCursor("malformed")
		}
		var err error
		switch tv[0] {
		case "i":
			c.Keys[i], err = strconv.ParseInt(tv[1], 10, 64)
		case "f":
			c.Keys[i], err = strconv.ParseFloat(tv[1], 64)
		case "s":
			c.Keys[i] = tv[1]
		default:
			err = errors.New("unknown key type")
		}
		if err != nil {
			return nil, badCursor("malformed")
		}
	}
	return c, nil
}

// Secrets is what a Keyring needs of its store: store.Store.LoadOrStoreSecret.
type Secrets interface {
	LoadOrStoreSecret(ctx context.Context, name string, value []byte) ([]byte, error)
}

// Keyring holds a store's cursor-signing key, loaded once from the secrets that every
// process using the same data shares (a fresh random key is stored by the first one).
type Keyring struct {
	mu  sync.Mutex
	key []byte
}

// Key returns the key kept under name in secrets.
func (k *Keyring) Key(ctx context.Context, secrets Secrets, name string) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.key != nil {
		return k.key, nil
	}
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	key, err := secrets.LoadOrStoreSecret(ctx, name, fresh)
	if err != nil {
		return nil, err
	}
	k.key = key
	return key, nil
}
