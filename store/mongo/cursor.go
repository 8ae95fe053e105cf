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
