package mongo

// Search cursors: the format and signing of store/internal/searchcursor, shared with
// store/sqlite; the signing key is this database's own.

import (
	"context"
	"crypto/rand"

	"github.com/kodomohub/kodomohub/store/internal/searchcursor"
)

const cursorSecret = "store/mongo/search-cursor"

// cursor is a position in a search's result order (package searchcursor, shared with the
// other backend).
type cursor = searchcursor.Cursor

// cursorKey returns the key that signs cursors, shared through the catalog by every process
// using the data directory.
func (s *Store) cursorKey(ctx context.Context) ([]byte, error) {
	s.kmu.Lock()
	defer s.kmu.Unlock()
	if s.ckey != nil {
		return s.ckey, nil
	}
	fresh := make([]byte, 32)
	rand.Read(fresh)
	key, err := s.LoadOrStoreSecret(ctx, cursorSecret, fresh)
	if err != nil {
		return nil, err
	}
	s.ckey = key
	return key, nil
}
