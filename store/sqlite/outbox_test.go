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
