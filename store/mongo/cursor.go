package mongo

// Search cursors: the format and signing of store/internal/searchcursor, shared with
// store/sqlite; the signing key is this database's own.

import (
	"context"

	"github.com/kodomohub/kodomohub/store/internal/searchcursor"
)

const cursorSecret = "store/mongo/search-cursor"

// cursor is a position in a search's result order (package searchcursor, shared with the
// other backend).
type cursor = searchcursor.Cursor

// cursorKey returns the key that signs cursors, shared through the catalog by every process
// using the data directory.
func (s *Store) cursorKey(ctx context.Context) ([]byte, error) {
	return s.ckeys.Key(ctx, s, cursorSecret)
}
