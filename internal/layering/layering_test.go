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

package layering

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/kodomohub/kodomohub/"

// pkg is one package as go list sees it.
type pkg struct {
	imports, deps []string
}

func list(t *testing.T) map[string]pkg {
	t.Helper()
	readSources(t)
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}}|{{join .Imports " "}}|{{join .Deps " "}}`, module+"...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs := map[string]pkg{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		parts := strings.SplitN(line, "|", 3)
		if len(parts) != 3 {
			t.Fatalf("go list line %q", line)
		}
		pkgs[strings.TrimPrefix(parts[0], module)] = pkg{strings.Fields(parts[1]), strings.Fields(parts[2])}
	}
	return pkgs
}

// readSources reads every Go file and go.mod of the module. go list runs in another
// process, whose reads the test cache does not see: reading them here makes a changed import
// rerun the test instead of answering with a cached pass.
func readSources(t *testing.T) {
	t.Helper()
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules" || d.Name() == "testdata"):
			return filepath.SkipDir
		case !d.IsDir() && (strings.HasSuffix(path, ".go") || d.Name() == "go.mod"):
			_, err = os.ReadFile(path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// under reports whether path is dir or a package below it.
func under(path, dir string) bool { return path == dir || strings.HasPrefix(path, dir+"/") }

func TestLayers(t *testing.T) {
	pkgs := list(t)
	for _, must := range []string{"fhir", "store", "store/sqlite", "store/mongo", "ingest", "auth", "audit", "outbox", "server/httpstatus"} {
		if _, ok := pkgs[must]; !ok {
			t.Fatalf("package %s not listed: %v", must, pkgs)
		}
	}
	gin := func(dep string) bool { return strings.HasPrefix(dep, "github.com/gin-gonic/") }
	for path, p := range pkgs {
		// fhir and store choose no HTTP status: errors have kinds (fhir.Kind), which
		// server/httpstatus maps. Only store/mongo reaches net/http, through its driver.
		if under(path, "fhir") || under(path, "store") || under(path, "conformance") {
			if slices.Contains(p.imports, "net/http") {
				t.Errorf("%s imports net/http", path)
			}
			if path != "store/mongo" && !under(path, "store/mongo") && slices.Contains(p.deps, "net/http") {
				t.Errorf("%s depends on net/http", path)
			}
		}
		// The write path, the guard, the audit trail and the event loop are called by every
		// feature: no gin below the server.
		for _, layer := range []string{"ingest", "auth", "audit", "outbox", "fhir", "store", "conformance"} {
			if under(path, layer) && slices.ContainsFunc(p.deps, gin) {
				t.Errorf("%s depends on gin", path)
			}
		}
		// ingest and what is below it do not import the REST server (server/httpstatus, the
		// one table of statuses, is a leaf it may use for audit records).
		if !under(path, "server") && !under(path, "cmd") && !under(path, "e2e") && !under(path, "internal") {
			for _, im := range p.imports {
				if under(im, module+"server") && im != module+"server/httpstatus" {
					t.Errorf("%s imports %s", path, im)
				}
			}
		}
		// fhir/r4 is the only importer of the samply models (STYLE.md: use them at the edges).
		if path != "fhir/r4" && slices.ContainsFunc(p.imports, func(im string) bool {
			return strings.HasPrefix(im, "github.com/samply/")
		}) {
			t.Errorf("%s imports the samply models; use fhir/r4", path)
		}
		if under(path, "ingest") || under(path, "audit") || under(path, "outbox") {
			if slices.Contains(p.imports, "net/http") {
				t.Errorf("%s imports net/http", path)
			}
		}
	}
}

// TestLicenceNotice: every Go file, generated ones too, starts with the notice the Apache
// License 2.0 asks for (LICENSE).
func TestLicenceNotice(t *testing.T) {
	want, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	notice, _, ok := strings.Cut(string(want), "\n\n")
	if !ok || !strings.Contains(notice, "Apache License, Version 2.0") {
		t.Fatalf("doc.go does not start with the notice: %q", notice)
	}
	checked := 0
	err = filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules"):
			return filepath.SkipDir
		case d.IsDir() || !strings.HasSuffix(path, ".go"):
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if !strings.HasPrefix(string(b), notice+"\n\n") {
			t.Errorf("%s does not start with the licence notice", path)
		}
		checked++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 100 {
		t.Fatalf("checked %d files", checked)
	}
}
