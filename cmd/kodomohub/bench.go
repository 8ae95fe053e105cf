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
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/kodomohub/kodomohub/bench"
)

func newBenchCmd() *cobra.Command {
	c := groupCmd("bench", "Benchmarks: load on a running server, or what auth costs, in process")
	c.Long = `The benchmark suite. ingest, read and search load a running server on a loopback address
(start one with serve --auth dev, get a token with dev-token); auth runs its own servers in
process. All print Markdown tables, and append them to --out; docs/benchmarks.md has the
figures of this machine and how they were taken.`
	c.AddCommand(newBenchLoadCmd("ingest"), newBenchLoadCmd("read"), newBenchSearchCmd(), newBenchAuthCmd())
	return c
}

// benchLoadFlags are the flags of bench ingest and bench read.
type benchLoadFlags struct {
	base, token, out   string
	shape              string // ingest's: bench.ShapePut or bench.ShapePost
	conc, size         int
	seed               uint64
	dur                time.Duration
	resources, idsFrom int64 // ingest's, read's
}

// newBenchLoadCmd returns bench ingest or bench read (mode), which share their workload.
func newBenchLoadCmd(mode string) *cobra.Command {
	var f benchLoadFlags
	c := &cobra.Command{
		Use:  mode + " --url BASE --token T",
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return runBenchLoad(c.Context(), mode, &f, c.OutOrStdout(), c.ErrOrStderr())
		},
	}
	fs := c.Flags()
	fs.StringVar(&f.base, "url", "", "tenant FHIR base URL on a loopback server, e.g. http://127.0.0.1:8080/misato/fhir")
	fs.StringVar(&f.token, "token", "", "bearer token (kodomohub dev-token)")
	fs.IntVar(&f.size, "bundle-size", bench.DefaultBundleSize, "entries per family bundle (must match the ingest for read)")
	fs.Uint64Var(&f.seed, "seed", 1, "workload seed: the ids are bench-SEED-N")
	fs.StringVar(&f.out, "out", "", "also append the table to this file")
	switch mode {
	case "ingest":
		c.Short = "Post family bundles as transactions; resources/s"
		c.Long = `Send transaction bundles of --bundle-size entries from --concurrency clients, until
--resources are written or --duration is over (default 30s).

--shape put (the default): one bundle of PUTs per family (a child Patient, then the
Observations, Encounters and QuestionnaireResponses that reference it). The resources get
the ids bench-SEED-0, bench-SEED-1, …, which bench read and bench search then use.

--shape post: the shape hospitals and nurseries send. Each bundle holds families of ten POST
entries (server-assigned ids): a child and the mother (Patients with kanji and kana names),
the child's check-up and the mother's visit (Encounters), the child's height, weight, head
circumference and temperature, the mother's EPDS score and weight (Observations), tied
together by urn:uuid references. The bundles ask for the stored resources back (Prefer:
return=representation), and every answer is checked: 201 per entry, a new id per entry,
every reference rewritten to the Type/ID its target was given.`
		c.Example = "  kodomohub bench ingest --url http://127.0.0.1:8080/misato/fhir --token $TOKEN --resources 100000\n" +
			"  kodomohub bench ingest --url http://127.0.0.1:8080/misato/fhir --token $TOKEN --shape post --duration 30s"
		fs.StringVar(&f.shape, "shape", bench.ShapePut, "bundle shape: put (one family of PUTs) or post (ten families of POSTs with urn:uuid references)")
		fs.IntVar(&f.conc, "concurrency", 4, "concurrent requests")
		fs.DurationVar(&f.dur, "duration", 0, "stop after this long (default 30s without --resources)")
		fs.Int64Var(&f.resources, "resources", 0, "stop after this many resources (rounded up to whole bundles)")
	case "read":
		c.Short = "GET resources by id among those an ingest wrote; reads/s"
		c.Long = `GET random resources by id among the first --ids-from written by a bench ingest with the
same --seed and --bundle-size, from --concurrency clients, for --duration.`
		c.Example = "  kodomohub bench read --url http://127.0.0.1:8080/misato/fhir --token $TOKEN --ids-from 100000"
		fs.IntVar(&f.conc, "concurrency", 16, "concurrent requests")
		fs.DurationVar(&f.dur, "duration", 30*time.Second, "stop after this long")
		fs.Int64Var(&f.idsFrom, "ids-from", 0, "how many resources the ingest with --seed wrote; reads pick among them")
	}
	return c
}

func runBenchLoad(ctx context.Context, mode string, o *benchLoadFlags, stdout, stderr io.Writer) error {
	switch {
	case o.base == "" || o.token == "":
		return fmt.Errorf("%w: --url and --token are required", errUsage)
	case o.conc < 1 || o.size < 1:
		return fmt.Errorf("%w: --concurrency and --bundle-size must be at least 1", errUsage)
	case mode == "read" && o.idsFrom < 1:
		return fmt.Errorf("%w: read needs --ids-from N (resources written by an ingest with the same --seed)", errUsage)
	case mode == "read" && o.dur <= 0:
		return fmt.Errorf("%w: read needs a --duration", errUsage)
	case mode == "ingest" && o.resources > 0 && o.dur > 0:
		return fmt.Errorf("%w: give --resources or --duration, not both", errUsage)
	case mode == "ingest" && o.shape != bench.ShapePut && o.shape != bench.ShapePost:
		return fmt.Errorf("%w: --shape %q: want put or post", errUsage, o.shape)
	case mode == "ingest" && o.resources <= 0 && o.dur <= 0:
		o.dur = 30 * time.Second
	}
	client, err := bench.NewClient(o.base, o.token, o.conc)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	murl, err := bench.MetricsURL(o.base)
	if err != nil {
		return err
	}
	w := bench.Workload{Seed: o.seed, BundleSize: o.size}
	lim := bench.Limits{Concurrency: o.conc, Duration: o.dur}
	row := bench.Row{Concurrency: o.conc}
	var op bench.Op
	switch mode {
	case "ingest":
		if o.resources > 0 {
			lim.Count = (o.resources + int64(o.size) - 1) / int64(o.size)
		}
		op = client.IngestOp(w)
		row.Operation = fmt.Sprintf("ingest (transaction of %d PUTs)", o.size)
		if o.shape == bench.ShapePost {
			op = client.IngestPostOp(w)
			row.Operation = fmt.Sprintf("ingest (transaction of %d POSTs, urn:uuid references)", o.size)
		}
		row.PerResource = true
	case "read":
		var mu sync.Mutex
		r := rand.New(rand.NewPCG(o.seed, uint64(time.Now().UnixNano())))
		n := o.idsFrom
		op = client.ReadOp(w, func() int64 {
			mu.Lock()
			defer mu.Unlock()
			return r.Int64N(n)
		})
		row.Operation = fmt.Sprintf("read (GET by id, %d resources)", n)
	}

	sampler := &bench.RSSSampler{URL: murl, HTTP: client.HTTP}
	sctx, stopSampler := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); sampler.Run(sctx, time.Second) }()
	fmt.Fprintf(stderr, "bench %s: %s, concurrency %d, limits count=%d duration=%s\n", mode, o.base, o.conc, lim.Count, lim.Duration)
	st, err := bench.Run(ctx, lim, op)
	stopSampler()
	<-done
	if err != nil {
		return err
	}
	row.Stats = st
	if peak, err := sampler.Peak(); err != nil {
		fmt.Fprintf(stderr, "bench: server RSS: %v\n", err)
	} else {
		row.RSSPeak = peak
	}
	if st.Errors > 0 {
		fmt.Fprintf(stderr, "bench: %d errors; first: %v\n", st.Errors, st.FirstErr)
	}
	if mode == "ingest" && o.shape == bench.ShapePut && st.Done > 0 {
		n := st.Done * int64(o.size)
		fmt.Fprintf(stderr, "bench: resources bench-%d-0 … bench-%d-%d are written (read them with --seed %d --ids-from %d)\n",
			o.seed, o.seed, n-1, o.seed, n)
	}
	if err := bench.WriteMarkdown(stdout, []bench.Row{row}); err != nil {
		return err
	}
	if o.out != "" {
		if err := appendTable(o.out, row); err != nil {
			return err
		}
	}
	if st.Requests == 0 && st.Errors > 0 {
		return fmt.Errorf("bench: every request failed: %v", st.FirstErr)
	}
	return nil
}

// appendTable appends row to the Markdown table in file, writing the table header only when
// the file is new or empty, so repeated runs build one table.
func appendTable(file string, row bench.Row) error {
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err == nil {
		if fi.Size() == 0 {
			err = bench.WriteMarkdown(f, []bench.Row{row})
		} else {
			err = bench.WriteMarkdownRows(f, []bench.Row{row})
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// benchSearchFlags are the flags of bench search.
type benchSearchFlags struct {
	base, token, kindList, out, cpuProfile string
	conc, size, pool, totalRuns            int
	seed                                   uint64
	dur                                    time.Duration
	idsFrom                                int64
}

func newBenchSearchCmd() *cobra.Command {
	var f benchSearchFlags
	c := &cobra.Command{
		Use:   "search --url BASE --token T --ids-from N",
		Short: "Run a checked mix of searches; searches/s and latencies per kind",
		Long: `Run a mix of searches (kinds: identifier, subject-code, code-date, kana-name, revinclude,
chained) whose values come from --families families sampled among the resources a bench
ingest with the same --seed and --bundle-size wrote, check every answer, then time
--total-runs sequential _total=accurate searches on Observation.`,
		Example: "  kodomohub bench search --url http://127.0.0.1:8080/misato/fhir --token $TOKEN --ids-from 100000 --kinds kana-name,chained",
		Args:    noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return runBenchSearch(c.Context(), &f, c.OutOrStdout(), c.ErrOrStderr())
		},
	}
	fs := c.Flags()
	fs.StringVar(&f.base, "url", "", "tenant FHIR base URL on a loopback server, e.g. http://127.0.0.1:8080/misato/fhir")
	fs.StringVar(&f.token, "token", "", "bearer token (kodomohub dev-token)")
	fs.IntVar(&f.conc, "concurrency", 8, "concurrent searches")
	fs.IntVar(&f.size, "bundle-size", bench.DefaultBundleSize, "entries per family bundle (must match the ingest)")
	fs.Uint64Var(&f.seed, "seed", 1, "workload seed of the ingest")
	fs.DurationVar(&f.dur, "duration", 30*time.Second, "how long to run the mix (0: only the _total searches)")
	fs.Int64Var(&f.idsFrom, "ids-from", 0, "how many resources the ingest with --seed wrote; queries use whole families among them")
	fs.IntVar(&f.pool, "families", 2000, "how many families to sample for query values")
	fs.StringVar(&f.kindList, "kinds", "all", "comma-separated kinds of query in the mix")
	fs.IntVar(&f.totalRuns, "total-runs", 5, "sequential runs of each _total=accurate search after the mix (0: none)")
	fs.StringVar(&f.out, "out", "", "also append the tables to this file")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the load generator to this file")
	return c
}

func runBenchSearch(ctx context.Context, o *benchSearchFlags, stdout, stderr io.Writer) error {
	kinds, err := bench.ParseSearchKinds(o.kindList)
	switch {
	case err != nil:
		return fmt.Errorf("%w: %v", errUsage, err)
	case o.base == "" || o.token == "":
		return fmt.Errorf("%w: --url and --token are required", errUsage)
	case o.conc < 1 || o.size < 1 || o.pool < 1 || o.totalRuns < 0 || o.dur < 0:
		return fmt.Errorf("%w: --concurrency, --bundle-size and --families must be at least 1, --duration and --total-runs not negative", errUsage)
	case o.idsFrom < 1:
		return fmt.Errorf("%w: search needs --ids-from N (resources written by an ingest with the same --seed)", errUsage)
	case o.dur == 0 && o.totalRuns == 0:
		return fmt.Errorf("%w: nothing to run: --duration and --total-runs are both 0", errUsage)
	}
	client, err := bench.NewClient(o.base, o.token, o.conc)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	murl, err := bench.MetricsURL(o.base)
	if err != nil {
		return err
	}
	stop, err := startCPUProfile(o.cpuProfile)
	if err != nil {
		return err
	}
	defer stop()
	w := bench.Workload{Seed: o.seed, BundleSize: o.size}
	r := rand.New(rand.NewPCG(o.seed, uint64(time.Now().UnixNano())))
	t0 := time.Now()
	mix, err := bench.NewSearchMix(w, o.idsFrom, o.pool, kinds, r)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	fmt.Fprintf(stderr, "bench search: %d families sampled in %s\n", len(mix.Pool), time.Since(t0).Round(time.Millisecond))
	report := bench.SearchReport{Concurrency: o.conc}
	failed := false
	if o.dur > 0 {
		var mu sync.Mutex
		next := func(seq int64) bench.SearchQuery {
			mu.Lock()
			defer mu.Unlock()
			return mix.Query(seq, r)
		}
		rec := &bench.SearchRecorder{}
		sampler := &bench.RSSSampler{URL: murl, HTTP: client.HTTP}
		sctx, stopSampler := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); sampler.Run(sctx, time.Second) }()
		fmt.Fprintf(stderr, "bench search: %s, concurrency %d, duration %s, kinds %v\n", o.base, o.conc, o.dur, kinds)
		st, err := bench.Run(ctx, bench.Limits{Concurrency: o.conc, Duration: o.dur}, client.SearchOp(next, rec))
		stopSampler()
		<-done
		if err != nil {
			return err
		}
		report.Elapsed, report.Kinds, report.Stats = st.Elapsed, kinds, rec.Kinds()
		if peak, err := sampler.Peak(); err != nil {
			fmt.Fprintf(stderr, "bench: server RSS: %v\n", err)
		} else {
			report.RSSPeak = peak
		}
		for _, k := range kinds {
			if ks := report.Stats[k]; ks.Errors > 0 {
				fmt.Fprintf(stderr, "bench: %s: %d errors; first: %v\n", k, ks.Errors, ks.FirstErr)
			}
		}
		failed = st.Requests == 0 && st.Errors > 0
	}
	for _, path := range bench.TotalQueries {
		if o.totalRuns == 0 {
			break
		}
		ts := bench.TotalStats{Path: path}
		for range o.totalRuns {
			total, d, err := client.Total(ctx, path)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				ts.Errors++
				fmt.Fprintf(stderr, "bench: %s: %v\n", path, err)
				continue
			}
			ts.Total = total
			ts.Latency.Record(d)
		}
		report.Totals = append(report.Totals, ts)
	}
	if err := bench.WriteSearchMarkdown(stdout, report); err != nil {
		return err
	}
	if o.out != "" {
		if err := appendSearch(o.out, report); err != nil {
			return err
		}
	}
	if failed {
		return errors.New("bench: every search failed")
	}
	return nil
}

// appendSearch appends a search run's tables to file, after a blank line when the file is
// not empty.
func appendSearch(file string, r bench.SearchReport) error {
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err == nil && fi.Size() > 0 {
		_, err = io.WriteString(f, "\n")
	}
	if err == nil {
		err = bench.WriteSearchMarkdown(f, r)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// startCPUProfile writes a CPU profile to path ("": none) until the returned stop is called.
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
