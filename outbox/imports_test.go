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

package outbox_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImports keeps the package free of infrastructure: nothing it depends on is net/http,
// gin, the Prometheus client or a store backend.
func TestImports(t *testing.T) {
	list := func(args ...string) []string {
		t.Helper()
		out, err := exec.Command("go", append([]string{"list"}, args...)...).Output()
		if err != nil {
			t.Skipf("go list: %v", err)
		}
		return strings.Fields(string(out))
	}
	for _, dep := range list("-deps", ".") {
		if dep == "net/http" || strings.HasPrefix(dep, "github.com/gin-gonic/") || strings.HasPrefix(dep, "github.com/prometheus/") ||
			strings.HasPrefix(dep, "github.com/kodomohub/kodomohub/store/") {
			t.Errorf("outbox depends on %s", dep)
		}
	}
}
