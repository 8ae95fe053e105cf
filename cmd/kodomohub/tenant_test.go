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

package main

import (
	"errors"
	"strings"
	"testing"
)

// TestTenantLGCode: a town gets its local government code at creation or later with
// tenant configure; a code whose check digit is wrong is a usage error.
func TestTenantLGCode(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := runCLI(t, "tenant", "create", "misato", "--name", "美里町", "--data", dir); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCLI(t, "tenant", "create", "kawajima", "--name", "川島町", "--lg-code", "113468", "--data", dir); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]string{
		{"tenant", "configure", "misato", "--lg-code", "113817", "--data", dir},
		{"tenant", "create", "x", "--name", "x", "--lg-code", "11381", "--data", dir},
		{"tenant", "configure", "misato", "--data", dir},
	} {
		if _, _, err := runCLI(t, bad...); !errors.Is(err, errUsage) {
			t.Errorf("%v: err %v, want a usage error", bad, err)
		}
	}
	out, _, err := runCLI(t, "tenant", "configure", "misato", "--lg-code", "113816", "--data", dir)
	if err != nil || !strings.Contains(out, "local government code 113816") {
		t.Fatalf("configure: %q %v", out, err)
	}
	out, _, err = runCLI(t, "tenant", "list", "--data", dir)
	if err != nil || out != "kawajima\t川島町\tstrict\t113468\nmisato\t美里町\tstrict\t113816\n" {
		t.Errorf("list: %q %v", out, err)
	}
}
