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
	"os"
	"testing"
	"time"

	"github.com/kodomohub/kodomohub/store"
	"github.com/kodomohub/kodomohub/store/mongo"
	"github.com/kodomohub/kodomohub/store/mongo/mongotest"
	"github.com/kodomohub/kodomohub/store/storetest"
)

// mustOpen opens a Store on a fresh database of the server at uri, dropped at the end.
func mustOpen(tb testing.TB, uri string, opts mongo.Options) *mongo.Store {
	tb.Helper()
	if opts.Database == "" {
		opts.Database = mongotest.DBName()
	}
	s, err := mongo.Open(context.Background(), uri, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		s.DropDatabase(context.Background())
		s.Close()
	})
	return s
}

// testTimeout bounds each operation of the test stores: generous, because the embedded
// FerretDB shares the machine with the test and with whatever else runs (make test runs
// packages in parallel), and one of its scans can take seconds on a loaded machine.
const testTimeout = 3 * time.Minute

// TestConformance runs the suite on a fresh database per case; the Shared cases open several
// stores on it. On the embedded FerretDB the search oracle runs at its small size (storetest
// EnvOracle) unless KODOMOHUB_TEST_ORACLE says otherwise (make test-oracle runs the full one);
// against a real MongoDB (KODOMOHUB_TEST_MONGO_URI) it runs at full size.
func TestConformance(t *testing.T) {
	if os.Getenv(mongotest.EnvURI) == "" && os.Getenv(storetest.EnvOracle) == "" {
		t.Setenv(storetest.EnvOracle, "small")
	}
	uri := mongotest.URI(t) // KODOMOHUB_TEST_MONGO_URI, or an embedded FerretDB
	storetest.Run(t, func(t *testing.T) storetest.Opener {
		db := mongotest.DBName()
		return func(t *testing.T, now func() time.Time) store.Store {
			return mustOpen(t, uri, mongo.Options{Database: db, Timeout: testTimeout, Now: now})
		}
	})
}
