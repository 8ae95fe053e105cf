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

package mongo_test

import (
	"context"
	"testing"
	"time"

	"github.com/kodomohub/kodomohub/store"
	"github.com/kodomohub/kodomohub/store/mongo"
	"github.com/kodomohub/kodomohub/store/mongo/mongotest"
	"github.com/kodomohub/kodomohub/store/storetest"
)

// TestOutbox runs the outbox's suite: stores opened on one database stand for the processes
// sharing it. The database is dropped once the case ends, through a handle of its own.
func TestOutbox(t *testing.T) {
	uri := mongotest.URI(t)
	storetest.RunOutbox(t, func(t *testing.T) storetest.Opener {
		db := mongotest.DBName()
		open := func(t *testing.T, now func() time.Time) store.Store {
			t.Helper()
			s, err := mongo.Open(context.Background(), uri, mongo.Options{Database: db, Timeout: time.Minute, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		t.Cleanup(func() {
			s := open(t, nil).(*mongo.Store)
			s.DropDatabase(context.Background())
			s.Close()
		})
		return open
	})
}
