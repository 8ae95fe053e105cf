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

package importer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kodomohub/kodomohub/adapters/csv"
	"github.com/kodomohub/kodomohub/adapters/hl7v2"
	"github.com/kodomohub/kodomohub/adapters/pmh"
	"github.com/kodomohub/kodomohub/importer"
)

var update = flag.Bool("update", false, "rewrite the golden files of TestGoldenSources")

// goldenOrder is the order sources are imported in: the registry first, as every other
// source names its people by their resident number.
var goldenOrder = []string{"resident-registry", "child-allowance", "public-assistance", "checkup", "vaccination",
	"postpartum", "ssmix2", "pmh", "nursery", "school-register", "school-attendance", "school-aid", "case-ledger",
	"disability", "ltc", "arrears"}

// TestGoldenSources imports a small synthetic town (testdata/golden/town: each source's files
// in its own encoding, as `kodomohub synth --residents 250 --seed 4` wrote them) through the
// built-in specs, and compares what each source wrote, resource by resource, with
// testdata/golden/SOURCE.ndjson (go test -run TestGoldenSources -update rewrites them), and
// its report with SOURCE.report.json.
func TestGoldenSources(t *testing.T) {
	tw := newTown(t)
	specs, err := importer.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	tw.im.Specs = specs
	tw.im.Decoders = map[string]importer.Decoder{"csv": &csv.Decoder{}, "hl7v2": hl7v2.Decoder{}, "pmh": pmh.Decoder{}}
	tw.im.Batch = 0
	ctx := context.Background()
	root := filepath.Join("testdata", "golden")
	for _, source := range goldenOrder {
		t.Run(source, func(t *testing.T) {
			var files []importer.File
			dir := filepath.Join(root, "town", source)
			filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
				if err == nil && d.Type().IsRegular() {
					path := p
					files = append(files, importer.File{Name: filepath.ToSlash(strings.TrimPrefix(p, root+string(filepath.Separator))),
						Open: func() (io.ReadCloser, error) { return os.Open(path) }})
				}
				return err
			})
			if len(files) == 0 {
				t.Fatalf("no files in %s", dir)
			}
			rep, err := tw.im.Import(ctx, importer.Options{Source: source, Request: tw.req}, files)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Imported == 0 {
				t.Fatalf("nothing imported: %+v", rep)
			}
			prov, err := tw.st.Read(ctx, "misato", "Provenance", rep.Provenance)
			if err != nil {
				t.Fatal(err)
			}
			var p struct {
				Target []struct{ Reference string }
			}
			json.Unmarshal(prov.Raw, &p)
			var lines []string
			for _, tg := range p.Target {
				typ, id, _ := strings.Cut(tg.Reference, "/")
				r, err := tw.st.Read(ctx, "misato", typ, id)
				if err != nil {
					t.Fatal(err)
				}
				lines = append(lines, string(canonical(t, r.Raw)))
			}
			slices.Sort(lines)
			lines = slices.Compact(lines)
			got := []byte(strings.Join(lines, "\n") + "\n")
			rep.Provenance = ""
			gotReport, _ := json.MarshalIndent(rep, "", "  ")
			compareGolden(t, filepath.Join(root, source+".ndjson"), got)
			compareGolden(t, filepath.Join(root, source+".report.json"), append(gotReport, '\n'))
		})
	}
}

// canonical is a stored resource without what each store run makes anew (meta.versionId,
// meta.lastUpdated), its members sorted.
func canonical(t *testing.T, raw []byte) []byte {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v map[string]any
	if err := d.Decode(&v); err != nil {
		t.Fatal(err)
	}
	if m, ok := v["meta"].(map[string]any); ok {
		delete(m, "versionId")
		delete(m, "lastUpdated")
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
	return bytes.TrimSpace(b.Bytes())
}

func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -run TestGoldenSources -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Fatalf("%s differs at line %d:\ngot  %s\nwant %s", path, i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("%s: %d lines, want %d", path, len(gl), len(wl))
	}
}
