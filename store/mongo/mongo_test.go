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

// ferretOracleQueries is the number of random oracle queries against the embedded
// FerretDB, which answers every find by reading the whole collection (its SQLite handler
// reads by index only a filter on _id alone): the full 600 take most of an hour there.
// Against a real MongoDB (KODOMOHUB_TEST_MONGO_URI) the suite's default runs. An explicit
// KODOMOHUB_ORACLE_QUERIES wins either way.
const ferretOracleQueries = "40"

func TestConformance(t *testing.T) {
	if os.Getenv(mongotest.EnvURI) == "" && os.Getenv("KODOMOHUB_ORACLE_QUERIES") == "" {
		t.Setenv("KODOMOHUB_ORACLE_QUERIES", ferretOracleQueries)
	}
	uri := mongotest.URI(t) // KODOMOHUB_TEST_MONGO_URI, or an embedded FerretDB
	storetest.Run(t, func(t *testing.T) storetest.Opener {
		db := mongotest.DBName() // one database per case; the Shared cases open several stores on it
		return func(t *testing.T, now func() time.Time) store.Store {
			return mustOpen(t, uri, mongo.Options{Database: db, Timeout: time.Minute, Now: now})
		}
	})
}
