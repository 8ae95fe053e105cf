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

package importer

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kodomohub/kodomohub/mapping"
)

//go:embed specs
var builtin embed.FS

// Specs are the mapping specs a hub knows, by source name: the built-in ones (specs/, in the
// binary) and those of a directory, which add sources or replace built-in ones.
type Specs struct {
	byName map[string]*mapping.Spec
}

// Builtin returns the built-in specs.
func Builtin() (*Specs, error) {
	s := &Specs{byName: map[string]*mapping.Spec{}}
	return s, s.load(builtin, "specs")
}

// AddDir loads every *.yaml of dir; a source already known is replaced. Every problem of
// every spec is reported.
func (s *Specs) AddDir(dir string) error {
	if _, err := os.Stat(dir); err != nil {
		return fmt.Errorf("importer: specs directory: %w", err)
	}
	return s.load(os.DirFS(dir), ".")
}

func (s *Specs) load(fsys fs.FS, dir string) error {
	names, err := fs.Glob(fsys, filepath.ToSlash(filepath.Join(dir, "*.yaml")))
	if err != nil {
		return err
	}
	var errs []error
	for _, n := range names {
		data, err := fs.ReadFile(fsys, n)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		sp, err := mapping.Load(n, data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.byName[sp.Source] = sp
	}
	return errors.Join(errs...)
}

// Get returns the spec of a source.
func (s *Specs) Get(source string) (*mapping.Spec, bool) {
	sp, ok := s.byName[source]
	return sp, ok
}

// Names lists the sources, sorted.
func (s *Specs) Names() []string {
	var ns []string
	for n := range s.byName {
		ns = append(ns, n)
	}
	slices.Sort(ns)
	return ns
}

// String lists the sources with their titles, one per line.
func (s *Specs) String() string {
	var b strings.Builder
	for _, n := range s.Names() {
		fmt.Fprintf(&b, "%s\t%s\n", n, s.byName[n].Title)
	}
	return b.String()
}

// NewSpecs returns specs made of sp (for tests and embedders).
func NewSpecs(sp ...*mapping.Spec) *Specs {
	s := &Specs{byName: map[string]*mapping.Spec{}}
	for _, x := range sp {
		s.byName[x.Source] = x
	}
	return s
}
