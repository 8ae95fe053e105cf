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

package server

import "testing"

func TestPageCursorForgetsOldPagesSafely(t *testing.T) {
	var pc pageCursor
	for i := range 12 {
		pc = pc.push(string(rune('a' + i)))
	}
	if len(pc.Stack) != maxPageStack || !pc.Truncated || pc.current() != "l" {
		t.Fatalf("after 12 pages: %+v", pc)
	}
	back := 0
	for {
		prev, ok := pc.previous()
		if !ok {
			break
		}
		pc, back = prev, back+1
	}
	// Page 12 can go back to page 5 (stack e…l holds the cursors of pages 5…12); page 5's
	// predecessor is forgotten, so it gets no previous link instead of the first page.
	if back != maxPageStack-1 || pc.current() != "e" {
		t.Fatalf("went back %d pages to %q", back, pc.current())
	}
	round, err := decodePageCursor(pc.encode())
	if err != nil || round.current() != "e" || !round.Truncated {
		t.Fatalf("round trip: %+v %v", round, err)
	}
}
