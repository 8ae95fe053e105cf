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
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"text/tabwriter"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/kodomohub/kodomohub/adapters"
	"github.com/kodomohub/kodomohub/adapters/csv"
	"github.com/kodomohub/kodomohub/adapters/hl7v2"
	"github.com/kodomohub/kodomohub/adapters/pmh"
	"github.com/kodomohub/kodomohub/adapters/xlsx"
	"github.com/kodomohub/kodomohub/audit"
	"github.com/kodomohub/kodomohub/auth"
	"github.com/kodomohub/kodomohub/conformance"
	"github.com/kodomohub/kodomohub/importer"
	"github.com/kodomohub/kodomohub/ingest"
)

// errSomeRows is the error of an import that imported some rows and refused others (exit 1).
var errSomeRows = errors.New("some rows were not imported")

// importFlags are the flags of kodomohub import.
type importFlags struct {
	storage                storageFlags
	tenant, source, report string
	specs, as, keyFile     string
	cpuProfile             string
	dryRun, progress       bool
}

func newImportCmd() *cobra.Command {
	var f importFlags
	c := &cobra.Command{
		Use:   "import --tenant ID --source NAME [--dry-run] [--report FILE] FILE|DIR...",
		Short: "Import a source's files (CP932 or UTF-8 CSV, SS-MIX2 HL7 v2, PMH JSON) into a town",
		Long: `Import files of a source into a town through its mapping spec and the one write path:
every resource is validated, decided by the access policy and audited like any write. Good
rows are imported while bad ones are reported with file, line, column, value and reason (a
table on the terminal; JSON lines with --report). Importing the same files again writes
nothing new. A directory stands for the files in it.

Exit status: 0 when every row was imported, 1 when some rows were not, 2 when the import
could not run (unknown source, unreadable file, missing columns, a town without its local
government code).

Sources: ` + strings.Join(builtinSources(), ", ") + `.`,
		Example: `  kodomohub import --data ./data --tenant misato --source resident-registry 住民記録.csv
  kodomohub import --data ./data --tenant misato --source checkup --dry-run --report bad.jsonl kenshin/`,
		RunE: func(c *cobra.Command, args []string) error {
			return runImport(c.Context(), &f, args, c.OutOrStdout(), c.ErrOrStderr())
		},
	}
	fs := c.Flags()
	f.storage.register(fs)
	fs.StringVar(&f.tenant, "tenant", "", "town to import into")
	fs.StringVar(&f.source, "source", "", "source of the files: "+strings.Join(builtinSources(), ", "))
	fs.BoolVar(&f.dryRun, "dry-run", false, "check and report as an import would, write nothing")
	fs.StringVar(&f.report, "report", "", "write every refused row as a JSON line (file, line, column, value, reason) to FILE")
	fs.StringVar(&f.specs, "specs", "", "directory of mapping specs (*.yaml) that add sources or replace built-in ones")
	fs.StringVar(&f.as, "as", "", "who imports, for the audit trail (default: the OS user)")
	fs.StringVar(&f.keyFile, "audit-key-file", "", "the audit head key, as serve uses it (default with --data: DIR/audit.key)")
	fs.BoolVar(&f.progress, "progress", true, "show a progress bar when stderr is a terminal")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the import to this file (for benchmarks)")
	return c
}

// builtinSources are the sources of the built-in specs.
func builtinSources() []string {
	s, err := importer.Builtin()
	if err != nil {
		return nil
	}
	return s.Names()
}

func runImport(ctx context.Context, f *importFlags, args []string, stdout, stderr io.Writer) error {
	if f.tenant == "" || f.source == "" {
		return fmt.Errorf("%w: --tenant and --source are required", errUsage)
	}
	if len(args) == 0 {
		return fmt.Errorf("%w: name the files (or directories) to import", errUsage)
	}
	specs, err := importer.Builtin()
	if err != nil {
		return err
	}
	if f.specs != "" {
		if err := specs.AddDir(f.specs); err != nil {
			return err
		}
	}
	if _, ok := specs.Get(f.source); !ok {
		return fmt.Errorf("%w: unknown source %q (known: %s)", errUsage, f.source, strings.Join(specs.Names(), ", "))
	}
	files, total, err := inputFiles(args)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	f.storage.audit = &auditFlags{keyFile: f.keyFile}
	st, err := f.storage.openTenant(ctx, f.tenant, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	tenant, err := st.Tenant(ctx, f.tenant)
	if err != nil {
		return err
	}
	validator, err := conformance.NewValidator()
	if err != nil {
		return err
	}
	in := ingest.New(ingest.Config{Store: st, Validator: validator, Guard: &auth.Guard{Roster: &auth.StoreRoster{Store: st}},
		Audit: audit.StoreSink{Log: st}, Logger: log})
	im := &importer.Importer{Writer: in, Specs: specs, Decoders: decoders(), Exists: importer.StoreExists(st)}
	who := f.as
	if who == "" {
		if u, err := user.Current(); err == nil {
			who = u.Username
		}
	}
	// The command line has the data directory in hand: it imports as the town's staff, and
	// the audit trail says who ran it.
	scopes, err := auth.ParseScopes("system/*.cruds")
	if err != nil {
		return err
	}
	p := &auth.Principal{Subject: "cli:" + who, Tenant: f.tenant, Role: auth.RoleMunicipalStaff,
		Scopes: scopes, ClientID: "kodomohub-import"}
	var bar *progressbar.ProgressBar
	var read atomic.Int64
	if f.progress && isTerminal(stderr) {
		bar = progressbar.NewOptions64(total, progressbar.OptionSetWriter(stderr), progressbar.OptionShowBytes(true),
			progressbar.OptionSetDescription("importing "+f.source), progressbar.OptionClearOnFinish())
	}
	for i := range files {
		open := files[i].Open
		files[i].Open = func() (io.ReadCloser, error) {
			rc, err := open()
			if err != nil {
				return nil, err
			}
			return countingReader{rc, &read}, nil
		}
	}
	opts := importer.Options{Source: f.source, DryRun: f.dryRun,
		Request: &ingest.Request{Tenant: tenant, Principal: p, Address: "cli", RequestID: "import"},
		Progress: func(int64) {
			if bar != nil {
				bar.Set64(read.Load())
			}
		}}
	stop, err := startCPUProfile(f.cpuProfile)
	if err != nil {
		return err
	}
	rep, err := im.Import(ctx, opts, files)
	stop()
	if bar != nil {
		bar.Finish()
	}
	if rep != nil {
		if werr := writeImportReport(rep, f.report, stdout, stderr); werr != nil && err == nil {
			err = werr
		}
	}
	switch {
	case err != nil:
		return fmt.Errorf("%w: %v", errCouldNotRun, err)
	case rep.Failed > 0:
		return fmt.Errorf("%w: %d of %d rows refused", errSomeRows, rep.Failed, rep.Rows)
	}
	return nil
}

type countingReader struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// inputFiles lists the files of the arguments (a directory: the regular files in it, sorted,
// hidden ones left out) and their total size.
func inputFiles(args []string) ([]importer.File, int64, error) {
	var files []importer.File
	var total int64
	add := func(path string, size int64) {
		files = append(files, importer.File{Name: path, Open: func() (io.ReadCloser, error) { return os.Open(path) }})
		total += size
	}
	for _, a := range args {
		fi, err := os.Stat(a)
		if err != nil {
			return nil, 0, fmt.Errorf("%w: %v", errCouldNotRun, err)
		}
		if !fi.IsDir() {
			add(a, fi.Size())
			continue
		}
		var paths []string
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if strings.HasPrefix(d.Name(), ".") && p != a {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() {
				paths = append(paths, p)
			}
			return nil
		})
		if err != nil {
			return nil, 0, fmt.Errorf("%w: %v", errCouldNotRun, err)
		}
		slices.Sort(paths)
		for _, p := range paths {
			fi, err := os.Stat(p)
			if err != nil {
				return nil, 0, fmt.Errorf("%w: %v", errCouldNotRun, err)
			}
			add(p, fi.Size())
		}
	}
	return files, total, nil
}

// writeImportReport prints the summary and the refused rows (a table), and writes the
// refused rows as JSON lines to path when given. Warnings go to stderr only.
func writeImportReport(rep *importer.Report, path string, stdout, stderr io.Writer) error {
	var refused []adapters.Problem
	for _, p := range rep.Problems {
		if p.Warning {
			fmt.Fprintf(stderr, "warning: %s\n", p)
		} else {
			refused = append(refused, p)
		}
	}
	verb := "imported"
	if rep.DryRun {
		verb = "would import (dry run)"
	}
	fmt.Fprintf(stdout, "%s: %d rows read, %s %d, refused %d; resources created %d, updated %d, unchanged %d\n",
		rep.Source, rep.Rows, verb, rep.Imported, rep.Failed, rep.Created, rep.Updated, rep.Unchanged)
	if rep.Provenance != "" {
		fmt.Fprintf(stdout, "recorded as Provenance/%s\n", rep.Provenance)
	}
	if len(refused) > 0 {
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "FILE\tLINE\tCOLUMN\tVALUE\tREASON")
		for _, p := range refused {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", p.File, p.Line, p.Column, p.Value, p.Reason)
		}
		tw.Flush()
	}
	if path == "" {
		return nil
	}
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	for _, p := range refused {
		if err := enc.Encode(struct {
			File   string `json:"file"`
			Line   int    `json:"line"`
			Column string `json:"column"`
			Value  string `json:"value"`
			Reason string `json:"reason"`
		}{p.File, p.Line, p.Column, p.Value, p.Reason}); err != nil {
			out.Close()
			return err
		}
	}
	return out.Close()
}

// decoders are the decoders of the source formats, by mapping.Spec.Format.
func decoders() map[string]importer.Decoder {
	return map[string]importer.Decoder{
		"csv":   &csv.Decoder{},
		"xlsx":  &xlsx.Decoder{},
		"hl7v2": hl7v2.Decoder{},
		"pmh":   pmh.Decoder{},
	}
}
