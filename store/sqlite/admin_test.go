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
	"strings"
	"testing"

	"github.com/kodomohub/kodomohub/store"
)

// TestAuditSearchUsesIndexes checks the plans of SearchAudit's queries of the index: a posting
// key's rows by its primary key with each block by its rowid, the blocks by rowid, and none sorts
// (both walks are in seq order already).
func TestAuditSearchUsesIndexes(t *testing.T) {
	ctx := context.Background()
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.CreateTenant(ctx, store.Tenant{ID: "misato"}); err != nil {
		t.Fatal(err)
	}
	al, _, err := s.auditHead(ctx, "misato")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		sql  string
		want []string // in the plan
	}{
		{postingsSQL + " AND b.tmax >= ? AND b.tmin < ? ORDER BY p.lo DESC",
			[]string{"SEARCH p USING PRIMARY KEY (key=? AND lo<?)", "SEARCH b USING INTEGER PRIMARY KEY (rowid=?)"}},
		{blocksSQL + " AND b.tmin < ? ORDER BY b.lo DESC",
			[]string{"SEARCH b USING INTEGER PRIMARY KEY (rowid<?)"}},
		{blockOfSQL,
			[]string{"SEARCH block USING INTEGER PRIMARY KEY (rowid<?)"}},
	} {
		args := make([]any, strings.Count(c.sql, "?"))
		for i := range args {
			args[i] = int64(1)
		}
		p := strings.Join(queryPlan(t, al.ix.r, c.sql, args...), "; ")
		for _, w := range c.want {
			if !strings.Contains(p, w) || strings.Contains(p, "TEMP B-TREE") {
				t.Errorf("%s: plan %q, want %q and no sort", c.sql, p, w)
			}
		}
	}
}
