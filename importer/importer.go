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

// Package importer runs a source's files through its decoder and its mapping spec into the
// one write path: `kodomohub import` and `$import-source` both call Import. Good records are
// written while bad ones are reported, each with its file, line, column, value and reason;
// a record's resources are written together or not at all; importing the same file again
// writes nothing new (the ids come from the records' natural keys, and ingest leaves
// unchanged resources alone); every import is recorded as a Provenance.
package importer

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/kodomohub/kodomohub/adapters"
	"github.com/kodomohub/kodomohub/fhir"
	"github.com/kodomohub/kodomohub/ingest"
	"github.com/kodomohub/kodomohub/mapping"
	"github.com/kodomohub/kodomohub/store"
)

// Decoder reads one file of a format: its header names (what a spec binds its columns to;
// for formats without headers, the field names the records carry) and its records.
type Decoder interface {
	Decode(name string, r io.Reader) (headers []string, records iter.Seq2[adapters.Record, error], err error)
}

// decoder is the decoder of a file of a source whose spec says format: a table (csv) may
// also come as an Excel workbook (.xlsx, .xlsm), as many municipal exports do.
func (im *Importer) decoder(format, name string) Decoder {
	if format == "csv" {
		switch strings.ToLower(filepath.Ext(name)) {
		case ".xlsx", ".xlsm":
			if d := im.Decoders["xlsx"]; d != nil {
				return d
			}
		}
	}
	return im.Decoders[format]
}

// StoreExists is Importer.Exists over a store: whether typ/id exists (and is not deleted).
func StoreExists(r store.VersionReader) func(ctx context.Context, tenant, typ, id string) (bool, error) {
	return func(ctx context.Context, tenant, typ, id string) (bool, error) {
		_, err := r.Read(ctx, tenant, typ, id)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrGone):
			return false, nil
		}
		return false, err
	}
}

// Writer is the write path: *ingest.Ingester.
type Writer interface {
	Transaction(ctx context.Context, req *ingest.Request, entries []fhir.BundleEntry, search ingest.SearchEntry) ([]ingest.Outcome, error)
	Create(ctx context.Context, req *ingest.Request, typ string, raw []byte, ifNoneExist string) (ingest.Outcome, error)
}

// Importer imports files of known sources.
type Importer struct {
	Writer   Writer
	Specs    *Specs
	Decoders map[string]Decoder // by mapping.Spec.Format
	// Batch is how many records go into one transaction (default 100). A transaction that
	// fails is retried record by record, so that only the bad records are refused.
	Batch int
	// Now stamps the Provenance (default time.Now).
	Now func() time.Time
	// Exists, when set, tells whether a resource exists in the town. A resource that several
	// records of one file write (a person with a row per change of residence) is written by
	// its last record only when it exists already, so that importing the file again changes
	// nothing; without Exists every record writes it.
	Exists func(ctx context.Context, tenant, typ, id string) (bool, error)
}

// File is one input file.
type File struct {
	Name string
	Open func() (io.ReadCloser, error)
}

// Options are one import's settings.
type Options struct {
	Source  string
	Request *ingest.Request // the town, the principal (authorized and audited as any write)
	DryRun  bool            // check and report, write nothing
	// Progress, when set, is called after each batch with the records read so far.
	Progress func(records int64)
}

// Report is what an import did. The counts are of records (Rows, Imported, Failed) and of
// resources (Created, Updated, Unchanged).
type Report struct {
	Source                      string             `json:"source"`
	Files                       []string           `json:"files"`
	Rows, Imported, Failed      int64              `json:"-"`
	Created, Updated, Unchanged int64              `json:"-"`
	Problems                    []adapters.Problem `json:"problems,omitempty"`
	// Provenance is the id of the Provenance that records the import ("" for a dry run or
	// when nothing was imported).
	Provenance string `json:"provenance,omitempty"`
	DryRun     bool   `json:"dryRun,omitempty"`
}

// Counts are the report's figures as JSON.
func (r *Report) MarshalJSON() ([]byte, error) {
	type plain Report
	return json.Marshal(struct {
		*plain
		Rows      int64 `json:"rows"`
		Imported  int64 `json:"imported"`
		Failed    int64 `json:"failed"`
		Created   int64 `json:"created"`
		Updated   int64 `json:"updated"`
		Unchanged int64 `json:"unchanged"`
	}{(*plain)(r), r.Rows, r.Imported, r.Failed, r.Created, r.Updated, r.Unchanged})
}

// Errors of an import that could not run (the command exits 2 for them).
var (
	ErrUnknownSource = errors.New("importer: unknown source")
	ErrNoLGCode      = errors.New("importer: the town has no local government code")
)

// pending is a record mapped to its resources, waiting for its batch. collect are its
// contributions to collected resources, kept once the record is written.
type pending struct {
	rec     adapters.Record
	outs    []mapping.Output
	collect []mapping.Output
}

// collector gathers the contributions to collected resources (a household's Group) of the
// records written, by resource, in the order records were written.
type collector struct {
	order []string
	by    map[string][]mapping.Output
}

func (c *collector) add(outs []mapping.Output) {
	for _, o := range outs {
		k := o.Type + "/" + o.ID
		if _, ok := c.by[k]; !ok {
			c.order = append(c.order, k)
		}
		c.by[k] = append(c.by[k], o)
	}
}

// Import reads files as opts.Source and writes what they hold. It returns an error only when
// the import could not run at all (unknown source, a file that cannot be read or has not the
// columns the source needs, a town without its local government code); bad records are in
// the report.
func (im *Importer) Import(ctx context.Context, opts Options, files []File) (*Report, error) {
	sp, ok := im.Specs.Get(opts.Source)
	if !ok {
		return nil, fmt.Errorf("%w %q (known: %s)", ErrUnknownSource, opts.Source, strings.Join(im.Specs.Names(), ", "))
	}
	if im.Decoders[sp.Format] == nil {
		return nil, fmt.Errorf("importer: no decoder for %s files (source %s)", sp.Format, sp.Source)
	}
	decoderOf := func(f File) Decoder { return im.decoder(sp.Format, f.Name) }
	t := opts.Request.Tenant
	if t.LGCode == "" {
		return nil, fmt.Errorf("%w: set it with `kodomohub tenant configure %s --lg-code CODE` before importing", ErrNoLGCode, t.ID)
	}
	req := *opts.Request
	req.DryRun = opts.DryRun
	env := mapping.Env{Tenant: t.ID, LG: t.LGCode}
	rep := &Report{Source: sp.Source, DryRun: opts.DryRun}
	batch := im.Batch
	if batch <= 0 {
		batch = 100
	}
	var targets []string
	var digests []fileDigest
	col := &collector{by: map[string][]mapping.Output{}}
	// First the records that write each resource last, over all the files (an SS-MIX2 tree
	// has a file per message: a patient's record is in many).
	last := map[string]int{}
	starts := make([]int, len(files))
	preErr := make([]error, len(files))
	if im.Exists != nil {
		n := 0
		for i, f := range files {
			starts[i] = n
			c, err := im.lastWriters(f, decoderOf(f), sp, env, last, n)
			preErr[i] = err
			n += c
		}
	}
	for fi, f := range files {
		rep.Files = append(rep.Files, f.Name)
		// A file that cannot be read as the source's (no header, missing columns) stops a
		// one-file import; among several files (an SS-MIX2 tree) it is reported, and the
		// others are imported.
		skip := func(err error) bool {
			if len(files) == 1 {
				return false
			}
			rep.Rows++
			rep.Failed++
			rep.Problems = append(rep.Problems, adapters.Problem{File: f.Name, Line: 1,
				Reason: "the file is not read: " + strings.TrimPrefix(err.Error(), "importer: ")})
			return true
		}
		if err := preErr[fi]; err != nil {
			if skip(err) {
				continue
			}
			return rep, err
		}
		rc, err := f.Open()
		if err != nil {
			return rep, fmt.Errorf("importer: %s: %w", f.Name, err)
		}
		h := sha256.New()
		headers, records, err := decoderOf(f).Decode(f.Name, io.TeeReader(rc, h))
		if err != nil {
			rc.Close()
			if skip(err) {
				continue
			}
			return rep, fmt.Errorf("importer: %s: %w", f.Name, err)
		}
		b, warnings, err := sp.Bind(f.Name, headers)
		rep.Problems = append(rep.Problems, warnings...)
		if err != nil {
			rc.Close()
			if skip(err) {
				continue
			}
			return rep, fmt.Errorf("importer: %w", err)
		}
		// Decoding and mapping run ahead of the writes, one batch at a time, so that they
		// overlap; the batches are written in order, so the last record still wins.
		var read produced
		batches := make(chan []pending, 1)
		pctx, cancel := context.WithCancel(ctx)
		go func() {
			defer close(batches)
			read.err = im.produce(pctx, records, b, env, last, starts[fi], t.ID, batch, batches, &read)
		}()
		var werr error
		for q := range batches {
			if werr != nil {
				continue // drain: the producer stops at the cancel
			}
			written, err := im.write(ctx, &req, q, rep, col)
			targets = append(targets, written...)
			if err != nil {
				werr = err
				cancel()
			}
			if opts.Progress != nil {
				opts.Progress(rep.Rows + read.rows.Load()) // rep.Rows: the files before this one
			}
		}
		cancel()
		rep.Rows += read.rows.Load()
		rep.Failed += read.failed
		rep.Problems = append(rep.Problems, read.problems...)
		if read.err != nil && werr == nil {
			werr = read.err
		}
		if werr != nil {
			rc.Close()
			return rep, werr
		}
		io.Copy(h, rc) // the digest covers the whole file, also what the decoder did not read
		rc.Close()
		digests = append(digests, fileDigest{f.Name, hex.EncodeToString(h.Sum(nil))})
	}
	// Problems in the order of the files and their lines (decoding, mapping and writing
	// find them at different times).
	fileIndex := map[string]int{}
	for i, f := range rep.Files {
		fileIndex[f] = i
	}
	slices.SortStableFunc(rep.Problems, func(a, b adapters.Problem) int {
		return cmp.Or(cmp.Compare(fileIndex[a.File], fileIndex[b.File]), cmp.Compare(a.Line, b.Line))
	})
	written, err := im.writeCollected(ctx, &req, col, batch, rep)
	targets = append(targets, written...)
	if err != nil {
		return rep, err
	}
	if !opts.DryRun && len(targets) > 0 {
		id, err := im.provenance(ctx, &req, rep, digests, targets)
		if err != nil {
			return rep, err
		}
		rep.Provenance = id
	}
	return rep, nil
}

type fileDigest struct{ name, sha256 string }

// produced is what the decoding and mapping of one file found: the records read, those
// refused and why, and the error that stopped it.
type produced struct {
	rows     atomic.Int64
	failed   int64
	problems []adapters.Problem
	err      error
}

// produce decodes and maps the records of a file into batches of pending records. A
// resource that a later record of the file writes too (last) is left to it once it exists.
func (im *Importer) produce(ctx context.Context, records iter.Seq2[adapters.Record, error], b *mapping.Binding, env mapping.Env,
	last map[string]int, recIndex int, tenant string, batch int, out chan<- []pending, read *produced) error {
	var queue []pending
	send := func() bool {
		if len(queue) == 0 {
			return true
		}
		select {
		case out <- queue:
			queue = nil
			return true
		case <-ctx.Done():
			return false
		}
	}
	for rec, err := range records {
		if err != nil {
			var re *adapters.RowError
			if !errors.As(err, &re) {
				return fmt.Errorf("importer: %s: %w", rec.File, err)
			}
			read.problems = append(read.problems, re.Problem)
			if !re.Problem.Warning { // a warning comes before its record, which goes on
				read.rows.Add(1)
				read.failed++
				recIndex++
			}
			continue
		}
		read.rows.Add(1)
		recIndex++
		outs, prob := b.Apply(rec, env)
		if prob != nil {
			read.failed++
			read.problems = append(read.problems, *prob)
			continue
		}
		p := pending{rec: rec}
		for _, o := range outs {
			if later := last[o.Type+"/"+o.ID]; later > recIndex && o.Collect == "" {
				exists, err := im.Exists(ctx, tenant, o.Type, o.ID)
				if err != nil {
					return fmt.Errorf("importer: %w", err)
				}
				if exists {
					continue
				}
			}
			if o.Collect != "" {
				p.collect = append(p.collect, o)
			} else {
				p.outs = append(p.outs, o)
			}
		}
		queue = append(queue, p)
		if len(queue) >= batch && !send() {
			return nil
		}
	}
	send()
	return nil
}

// lastWriters reads f once without writing and records in last, for each resource its
// records write, the index of the last record that does (the records of the import counted
// from 1, f's first being start+1). It returns how many records f has.
func (im *Importer) lastWriters(f File, dec Decoder, sp *mapping.Spec, env mapping.Env, last map[string]int, start int) (int, error) {
	rc, err := f.Open()
	if err != nil {
		return 0, fmt.Errorf("importer: %s: %w", f.Name, err)
	}
	defer rc.Close()
	headers, records, err := dec.Decode(f.Name, rc)
	if err != nil {
		return 0, fmt.Errorf("importer: %s: %w", f.Name, err)
	}
	b, _, err := sp.Bind(f.Name, headers)
	if err != nil {
		return 0, fmt.Errorf("importer: %w", err)
	}
	i := 0
	for rec, err := range records {
		if err != nil {
			var re *adapters.RowError
			if !errors.As(err, &re) {
				return i, fmt.Errorf("importer: %s: %w", f.Name, err)
			}
			if !re.Problem.Warning {
				i++
			}
			continue
		}
		i++
		for _, id := range b.IDs(rec, env) {
			last[id] = start + i
		}
	}
	return i, nil
}

// write writes a batch of records in one transaction; when it fails, record by record, so
// that a bad record is reported and the others written. It returns the references of what
// the records hold now.
func (im *Importer) write(ctx context.Context, req *ingest.Request, queue []pending, rep *Report, col *collector) ([]string, error) {
	if len(queue) == 0 {
		return nil, nil
	}
	out, err := im.Writer.Transaction(ctx, req, entries(queue), nil)
	if err == nil {
		rep.Imported += int64(len(queue))
		for _, p := range queue {
			col.add(p.collect)
		}
		return count(rep, out), nil
	}
	if !refusal(err) {
		return nil, err
	}
	if len(queue) == 1 {
		rep.Failed++
		rep.Problems = append(rep.Problems, problemOf(queue[0].rec, err))
		return nil, nil
	}
	var refs []string
	for _, p := range queue {
		r, err := im.write(ctx, req, []pending{p}, rep, col)
		if err != nil {
			return refs, err
		}
		refs = append(refs, r...)
	}
	return refs, nil
}

// refusal reports whether err refuses the data (the record is reported and the import goes
// on) rather than the import (storage down, the audit trail failing: the import stops).
func refusal(err error) bool {
	k := fhir.KindOf(ingest.Error(err))
	return !k.Transient() && k != fhir.KindForbidden && k != fhir.KindUnauthenticated
}

var entryPrefix = regexp.MustCompile(`^Bundle\.entry\[\d+\]: `)

// problemOf is the report line of a record the write path refused.
func problemOf(rec adapters.Record, err error) adapters.Problem {
	_, oo := fhir.Outcome(ingest.Error(err))
	var msgs []string
	for _, is := range oo.Issue {
		// One record's resources are one transaction: the entry's position says nothing.
		msgs = append(msgs, entryPrefix.ReplaceAllString(is.Diagnostics, ""))
	}
	return adapters.Problem{File: rec.File, Line: rec.Line, Reason: strings.Join(msgs, "; ")}
}

func entries(queue []pending) []fhir.BundleEntry {
	var es []fhir.BundleEntry
	for _, p := range queue {
		for _, o := range p.outs {
			es = append(es, fhir.BundleEntry{Resource: o.Body,
				Request: &fhir.BundleRequest{Method: "PUT", URL: o.Type + "/" + o.ID}})
		}
	}
	return es
}

// writeCollected writes the collected resources, batch of them to a transaction. One that
// fails is reported with the records that built it.
func (im *Importer) writeCollected(ctx context.Context, req *ingest.Request, col *collector, batch int, rep *Report) ([]string, error) {
	var refs []string
	for start := 0; start < len(col.order); start += batch {
		keys := col.order[start:min(start+batch, len(col.order))]
		var es []fhir.BundleEntry
		for _, k := range keys {
			outs := col.by[k]
			body, err := mapping.Collected(outs)
			if err != nil {
				return refs, err
			}
			es = append(es, fhir.BundleEntry{Resource: body, Request: &fhir.BundleRequest{Method: "PUT", URL: k}})
		}
		out, err := im.Writer.Transaction(ctx, req, es, nil)
		if err == nil {
			refs = append(refs, count(rep, out)...)
			continue
		}
		if !refusal(err) {
			return refs, err
		}
		for i, e := range es { // one by one, to report the one that fails
			out, err := im.Writer.Transaction(ctx, req, es[i:i+1], nil)
			switch {
			case err == nil:
				refs = append(refs, count(rep, out)...)
			case !refusal(err):
				return refs, err
			default:
				first := col.by[keys[i]][0]
				rep.Problems = append(rep.Problems, adapters.Problem{File: "", Line: 0,
					Reason: fmt.Sprintf("%s (built from the records with key %s): %s", e.Request.URL, first.Key, problemOf(adapters.Record{}, err).Reason)})
			}
		}
	}
	return refs, nil
}

func count(rep *Report, out []ingest.Outcome) []string {
	refs := make([]string, 0, len(out))
	for _, o := range out {
		switch {
		case o.Unchanged:
			rep.Unchanged++
		case o.Created:
			rep.Created++
		default:
			rep.Updated++
		}
		refs = append(refs, o.Resource.Type+"/"+o.Resource.ID)
	}
	return refs
}

// maxTargets bounds the Provenance's targets: a town's registry import writes tens of
// thousands of resources; the Provenance names the first ones and counts them all.
const maxTargets = 1000

// ImportExtension carries an import's figures on its Provenance.
const ImportExtension = "http://kodomohub.example/fhir/StructureDefinition/import"

// provenance records the import: the source, each file's name and SHA-256, the counts, the
// resources it wrote (up to maxTargets), who ran it.
func (im *Importer) provenance(ctx context.Context, req *ingest.Request, rep *Report, digests []fileDigest, targets []string) (string, error) {
	now := time.Now
	if im.Now != nil {
		now = im.Now
	}
	type obj = map[string]any
	var target []obj
	for i, t := range targets {
		if i == maxTargets {
			break
		}
		target = append(target, obj{"reference": t})
	}
	var entity []obj
	for _, d := range digests {
		entity = append(entity, obj{"role": "source", "what": obj{
			"identifier": obj{"system": "urn:ietf:rfc:3986", "value": "urn:sha256:" + d.sha256},
			"display":    d.name}})
	}
	who := "kodomohub import"
	if p := req.Principal; p != nil {
		who = strings.TrimSpace(p.Subject + " " + p.ClientID)
	}
	ext := []obj{
		{"url": "source", "valueString": rep.Source},
		{"url": "rows", "valueInteger": rep.Rows},
		{"url": "imported", "valueInteger": rep.Imported},
		{"url": "failed", "valueInteger": rep.Failed},
		{"url": "created", "valueInteger": rep.Created},
		{"url": "updated", "valueInteger": rep.Updated},
		{"url": "unchanged", "valueInteger": rep.Unchanged},
		{"url": "targets", "valueInteger": len(targets)},
	}
	body, err := json.Marshal(obj{
		"resourceType": "Provenance",
		"meta":         obj{"source": mapping.SourceURI(rep.Source)},
		"extension":    []obj{{"url": ImportExtension, "extension": ext}},
		"target":       target,
		"recorded":     fhir.FormatInstant(now()),
		"activity": obj{"coding": []obj{{"system": "http://terminology.hl7.org/CodeSystem/v3-DataOperation",
			"code": "CREATE", "display": "create"}}, "text": "import of " + rep.Source},
		"agent": []obj{{"type": obj{"coding": []obj{{"system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
			"code": "assembler"}}}, "who": obj{"display": who}}},
		"entity": entity,
	})
	if err != nil {
		return "", err
	}
	o, err := im.Writer.Create(ctx, req, "Provenance", body, "")
	if err != nil {
		return "", fmt.Errorf("importer: the import's Provenance: %w", err)
	}
	return o.Resource.ID, nil
}
