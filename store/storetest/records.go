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

package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kodomohub/kodomohub/store"
)

func mustGetRecord(t testing.TB, rs store.Records, tenant, kind, id string) []byte {
	t.Helper()
	b, err := rs.GetRecord(ctx, tenant, kind, id)
	if err != nil {
		t.Fatalf("GetRecord(%s, %s, %s): %v", tenant, kind, id, err)
	}
	return b
}

func mustListRecords(t testing.TB, rs store.Records, tenant, kind string) string {
	t.Helper()
	list, err := rs.ListRecords(ctx, tenant, kind)
	if err != nil {
		t.Fatalf("ListRecords(%s, %s): %v", tenant, kind, err)
	}
	var b bytes.Buffer
	for _, r := range list {
		fmt.Fprintf(&b, "%s=%q ", r.ID, r.Data)
	}
	return b.String()
}

func testRecords(t *testing.T, s store.Store, rs store.Records) {
	mustTenant(t, s, "misato", "")
	if _, err := rs.GetRecord(ctx, "misato", "client", "app1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetRecord of a missing record: %v, want ErrNotFound", err)
	}
	if got := mustListRecords(t, rs, "misato", "client"); got != "" {
		t.Fatalf("ListRecords of an empty kind = %s", got)
	}
	bin := []byte{'{', 0, 0xff, '}'}
	for _, r := range []struct{ kind, id, data string }{
		{"client", "app2", `{"v":1}`}, {"client", "app1", string(bin)}, {"client", "app10", `{}`},
		{"other", "app1", `{"kind":"other"}`}, {"client", "app2", `{"v":2}`}, // replaces
	} {
		data := []byte(r.data)
		if err := rs.PutRecord(ctx, "misato", r.kind, r.id, data); err != nil {
			t.Fatalf("PutRecord(%s, %s): %v", r.kind, r.id, err)
		}
		data[0] = 'X' // the store keeps its own copy
	}
	if got := mustGetRecord(t, rs, "misato", "client", "app1"); !bytes.Equal(got, bin) {
		t.Fatalf("GetRecord(client, app1) = %q, want %q byte for byte", got, bin)
	}
	if got := mustGetRecord(t, rs, "misato", "client", "app2"); string(got) != `{"v":2}` {
		t.Fatalf("GetRecord after a replace = %s, want the second value", got)
	}
	if got := mustGetRecord(t, rs, "misato", "other", "app1"); string(got) != `{"kind":"other"}` {
		t.Fatalf("GetRecord(other, app1) = %s: kinds must not share ids", got)
	}
	if got, want := mustListRecords(t, rs, "misato", "client"), `app1="{\x00\xff}" app10="{}" app2="{\"v\":2}" `; got != want {
		t.Fatalf("ListRecords(client) = %s\nwant %s (by id, one per id)", got, want)
	}
	if err := rs.DeleteRecord(ctx, "misato", "client", "app1"); err != nil {
		t.Fatalf("DeleteRecord: %v", err)
	}
	if _, err := rs.GetRecord(ctx, "misato", "client", "app1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetRecord after DeleteRecord: %v, want ErrNotFound", err)
	}
	if err := rs.DeleteRecord(ctx, "misato", "client", "app1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("DeleteRecord of a deleted record: %v, want ErrNotFound", err)
	}
	if err := rs.DeleteRecord(ctx, "misato", "nokind", "app2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("DeleteRecord of a missing record: %v, want ErrNotFound", err)
	}
	if got, want := mustListRecords(t, rs, "misato", "client"), `app10="{}" app2="{\"v\":2}" `; got != want {
		t.Fatalf("ListRecords(client) after a delete = %s, want %s", got, want)
	}
	if got := mustGetRecord(t, rs, "misato", "other", "app1"); string(got) != `{"kind":"other"}` {
		t.Fatalf("deleting client/app1 changed other/app1: %s", got)
	}
}

func testRecordsIsolation(t *testing.T, s store.Store, rs store.Records) {
	mustTenant(t, s, "misato", "")
	mustTenant(t, s, "kawajima", "")
	for _, tenant := range []string{"misato", "kawajima"} {
		if err := rs.PutRecord(ctx, tenant, "client", "app", []byte(tenant)); err != nil {
			t.Fatal(err)
		}
	}
	if err := rs.PutRecord(ctx, "misato", "client", "only-m", []byte("m")); err != nil {
		t.Fatal(err)
	}
	if got := mustGetRecord(t, rs, "kawajima", "client", "app"); string(got) != "kawajima" {
		t.Fatalf("kawajima client/app = %s", got)
	}
	if _, err := rs.GetRecord(ctx, "kawajima", "client", "only-m"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("kawajima reads misato's record: %v", err)
	}
	if got := mustListRecords(t, rs, "kawajima", "client"); got != `app="kawajima" ` {
		t.Fatalf("ListRecords(kawajima) = %s", got)
	}
	if err := rs.DeleteRecord(ctx, "kawajima", "client", "only-m"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("kawajima deletes misato's record: %v", err)
	}
	if err := rs.DeleteRecord(ctx, "kawajima", "client", "app"); err != nil {
		t.Fatal(err)
	}
	if got := mustGetRecord(t, rs, "misato", "client", "app"); string(got) != "misato" {
		t.Fatalf("misato client/app after kawajima's delete = %s", got)
	}
	until := time.Now().Add(time.Hour)
	if seen, err := rs.Once(ctx, "misato", "jti-1", until); err != nil || seen {
		t.Fatalf("Once(misato) = %v, %v", seen, err)
	}
	if seen, err := rs.Once(ctx, "kawajima", "jti-1", until); err != nil || seen {
		t.Fatalf("Once(kawajima) after the same key in misato = %v, %v; want false", seen, err)
	}
	for name, err := range map[string]error{
		"PutRecord": rs.PutRecord(ctx, "nowhere", "client", "app", []byte("x")),
		"GetRecord": func() error { _, err := rs.GetRecord(ctx, "nowhere", "client", "app"); return err }(),
		"ListRecords": func() error {
			_, err := rs.ListRecords(ctx, "nowhere", "client")
			return err
		}(),
		"DeleteRecord": rs.DeleteRecord(ctx, "nowhere", "client", "app"),
		"Once":         func() error { _, err := rs.Once(ctx, "nowhere", "k", until); return err }(),
	} {
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s on an unknown tenant: %v, want ErrNotFound", name, err)
		}
	}
}

func mustOnce(t testing.TB, rs store.Records, key string, until time.Time) bool {
	t.Helper()
	seen, err := rs.Once(ctx, "misato", key, until)
	if err != nil {
		t.Fatalf("Once(%s): %v", key, err)
	}
	return seen
}

func testOnce(t *testing.T, s store.Store, rs store.Records) {
	mustTenant(t, s, "misato", "")
	until := time.Now().Add(time.Hour)
	if mustOnce(t, rs, "jti-1", until) {
		t.Fatal("first Once(jti-1) = true, want false")
	}
	for range 2 {
		if !mustOnce(t, rs, "jti-1", until) {
			t.Fatal("Once(jti-1) again = false, want true: a replay")
		}
	}
	if mustOnce(t, rs, "jti-2", until) {
		t.Fatal("first Once(jti-2) = true: keys must not share")
	}
}

func testOnceConcurrent(t *testing.T, s store.Store, rs store.Records) {
	mustTenant(t, s, "misato", "")
	until := time.Now().Add(time.Hour)
	const callers = 12
	for key := range 3 {
		var wg sync.WaitGroup
		results := make([]bool, callers)
		errs := make([]error, callers)
		for i := range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i], errs[i] = rs.Once(ctx, "misato", fmt.Sprint("race-", key), until)
			}()
		}
		wg.Wait()
		fresh := 0
		for i := range callers {
			if errs[i] != nil {
				t.Fatalf("Once: %v", errs[i])
			}
			if !results[i] {
				fresh++
			}
		}
		if fresh != 1 {
			t.Fatalf("key race-%d: %d of %d concurrent Once calls saw false, want exactly 1", key, fresh, callers)
		}
	}
}

func testOnceExpired(t *testing.T, s store.Store, rs store.Records) {
	mustTenant(t, s, "misato", "")
	past := time.Now().Add(-time.Second)
	if mustOnce(t, rs, "old", past) {
		t.Fatal("first Once(old) = true")
	}
	if mustOnce(t, rs, "old", time.Now().Add(time.Hour)) {
		t.Fatal("Once(old) after its until passed = true, want false: the key had expired")
	}
	if !mustOnce(t, rs, "old", time.Now().Add(time.Hour)) {
		t.Fatal("Once(old) recorded again = false, want true")
	}
}
