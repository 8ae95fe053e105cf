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

// Package conformancetest gives other packages' tests the official FHIR R4 example
// resources that the conformance package validates.
package conformancetest

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
)

// ExamplesFile is the archive of the examples, relative to the conformance directory: a
// gzipped tar of the 718 JSON resources of hl7.fhir.r4.examples 4.0.1 (as in
// /work/shared/fhir-r4/examples, without package.json), each named Type-id.json.
const ExamplesFile = "testdata/examples/examples.tar.gz"

var load = sync.OnceValues(func() (map[string][]byte, error) {
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		return nil, fmt.Errorf("conformancetest: cannot locate the source directory")
	}
	return ReadExamples(filepath.Join(filepath.Dir(self), "..", filepath.FromSlash(ExamplesFile)))
})

// Examples returns the R4 example resources by file name ("Patient-example.json"). The map
// is shared: callers must not modify it or its byte slices. It fails the test if the archive
// cannot be read.
func Examples(t testing.TB) map[string][]byte {
	t.Helper()
	m, err := load()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// SkipExamples are the examples that the tests running them through the hub (validation in
// package conformance, write and read back in package server) skip, by file name, with the
// reason, grouped by cause. It is the one list: a test that skips an example skips it for the
// reason given here, and fails when a skipped example passes, so the list only shrinks.
// Callers must not modify it.
var SkipExamples = map[string]string{
	// Not valid R4 as published: the validator refuses them, and the hub answers a write of
	// them with 422, as it must. Required elements missing:
	"Questionnaire-qs1.json": "nested items (Questionnaire.item.item) have no linkId, which is 1..1",
	"ig-r4.json":             "ImplementationGuide has no name and no status, both 1..1",
	// Reference targets the element does not allow (the validator checks targetProfile).
	"DeviceMetric-example.json":        "DeviceMetric.parent references a DeviceDefinition; only Device is allowed",
	"DeviceUseStatement-example.json":  "DeviceUseStatement.reasonReference references a Procedure, not an allowed target",
	"MedicationRequest-medrx0301.json": "MedicationRequest.dispenseRequest.performer references a Practitioner; only Organization is allowed",
	"Observation-clinical-gender.json": "Observation.performer references an Encounter, not an allowed target",
}

// CheckSkipExamples fails t when SkipExamples names a file that is not an example, or skips
// more than 2% of the examples.
func CheckSkipExamples(t testing.TB) {
	t.Helper()
	m := Examples(t)
	for name := range SkipExamples {
		if m[name] == nil {
			t.Errorf("SkipExamples names %s, which is not an example", name)
		}
	}
	if max := len(m) * 2 / 100; len(SkipExamples) > max {
		t.Errorf("%d skipped examples; at most %d (2%%) allowed", len(SkipExamples), max)
	}
}

// Names returns the sorted file names of the examples.
func Names(t testing.TB) []string {
	m := Examples(t)
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ReadExamples reads an examples archive (a gzipped tar of JSON files).
func ReadExamples(file string) (map[string][]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("conformancetest: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("conformancetest: %s: %w", file, err)
	}
	tr := tar.NewReader(zr)
	out := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("conformancetest: %s: %w", file, err)
		}
		if h.Typeflag != tar.TypeReg || !strings.HasSuffix(h.Name, ".json") {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("conformancetest: %s: %w", file, err)
		}
		out[filepath.Base(h.Name)] = b
	}
	return out, nil
}
