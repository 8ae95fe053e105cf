package sqlite_test

import (
	"testing"
	"time"

	"github.com/kodomohub/kodomohub/store"
	"github.com/kodomohub/kodomohub/store/sqlite"
	"github.com/kodomohub/kodomohub/store/storetest"
)

// TestOutbox runs the outbox's suite: stores opened on one data directory stand for the
// processes sharing it.
func TestOutbox(t *testing.T) {
	storetest.RunOutbox(t, func(t *testing.T) storetest.Opener {
		dir := t.TempDir()
		return func(t *testing.T, now func() time.Time) store.Store {
			return mustOpen(t, dir, sqlite.Options{Now: now})
		}
	})
}
