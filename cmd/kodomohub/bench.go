package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/kodomohub/kodomohub/bench"
)

const benchUsage = `kodomohub bench ingest --url http://127.0.0.1:PORT/TENANT/fhir --token T [--concurrency 4] [--bundle-size 100] [--resources N | --duration D] [--seed S] [--out FILE]
kodomohub bench read   --url http://127.0.0.1:PORT/TENANT/fhir --token T [--concurrency 16] [--duration 30s] --ids-from N [--seed S] [--bundle-size 100] [--out FILE]
kodomohub bench auth   [--resources 20000] [--concurrency 16] [--duration 10s] [--rounds 3] [--out FILE]
kodomohub bench search --url http://127.0.0.1:PORT/TENANT/fhir --token T [--concurrency 8] [--duration 30s] --ids-from N [--seed S] [--bundle-size 100] [--families 2000] [--kinds K,K…] [--total-runs 5] [--out FILE] [--cpuprofile FILE]

ingest PUTs family bundles whose resources get ids bench-SEED-0, bench-SEED-1, …; read GETs
random resources among the first --ids-from of those written with the same --seed and
--bundle-size. search runs a mix of searches (kinds: identifier, subject-code, code-date,
kana-name, revinclude, chained) whose values come from --families families sampled among
those, checks every answer, then times --total-runs sequential _total=accurate searches on
Observation. All print Markdown tables (and append them to --out).`

func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "ingest" && args[0] != "read" && args[0] != "search" && args[0] != "auth") {
		fmt.Fprintln(stderr, benchUsage)
		return fmt.Errorf("%w: bench ingest|read|search|auth", errUsage)
	}
	mode := args[0]
	if mode == "auth" {
		return cmdBenchAuth(ctx, args[1:], stdout, stderr)
	}
	if mode == "search" {
		return cmdBenchSearch(ctx, args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("bench "+mode, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, benchUsage); fs.PrintDefaults() }
	base := fs.String("url", "", "tenant FHIR base URL on a loopback server, e.g. http://127.0.0.1:8080/misato/fhir")
	token := fs.String("token", "", "bearer token (kodomohub dev-token)")
	defConc, defDur := 4, time.Duration(0)
	if mode == "read" {
		defConc, defDur = 16, 30*time.Second
	}
	conc := fs.Int("concurrency", defConc, "concurrent requests")
	size := fs.Int("bundle-size", bench.DefaultBundleSize, "entries per family bundle (must match the ingest for read)")
	seed := fs.Uint64("seed", 1, "workload seed: the ids are bench-SEED-N")
	dur := fs.Duration("duration", defDur, "stop after this long")
	resources := fs.Int64("resources", 0, "ingest: stop after this many resources (rounded up to whole bundles)")
	idsFrom := fs.Int64("ids-from", 0, "read: how many resources the ingest with --seed wrote; reads pick among them")
	out := fs.String("out", "", "also append the table to this file")
	if pos, err := parseArgs(fs, args[1:]); err != nil {
		return err
	} else if len(pos) > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, pos[0])
	}
	switch {
	case *base == "" || *token == "":
		return fmt.Errorf("%w: --url and --token are required", errUsage)
	case *conc < 1 || *size < 1:
		return fmt.Errorf("%w: --concurrency and --bundle-size must be at least 1", errUsage)
	case mode == "read" && *idsFrom < 1:
		return fmt.Errorf("%w: read needs --ids-from N (resources written by an ingest with the same --seed)", errUsage)
	case mode == "read" && *dur <= 0:
		return fmt.Errorf("%w: read needs a --duration", errUsage)
	case mode == "ingest" && *resources > 0 && *dur > 0:
		return fmt.Errorf("%w: give --resources or --duration, not both", errUsage)
	case mode == "ingest" && *resources <= 0 && *dur <= 0:
		*dur = 30 * time.Second
	}
	client, err := bench.NewClient(*base, *token, *conc)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	murl, err := bench.MetricsURL(*base)
	if err != nil {
		return err
	}
	w := bench.Workload{Seed: *seed, BundleSize: *size}
	lim := bench.Limits{Concurrency: *conc, Duration: *dur}
	row := bench.Row{Concurrency: *conc}
	var op bench.Op
	switch mode {
	case "ingest":
		if *resources > 0 {
			lim.Count = (*resources + int64(*size) - 1) / int64(*size)
		}
		op = client.IngestOp(w)
		row.Operation = fmt.Sprintf("ingest (transaction of %d PUTs)", *size)
		row.PerResource = true
	case "read":
		var mu sync.Mutex
		r := rand.New(rand.NewPCG(*seed, uint64(time.Now().UnixNano())))
		n := *idsFrom
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
	fmt.Fprintf(stderr, "bench %s: %s, concurrency %d, limits count=%d duration=%s\n", mode, *base, *conc, lim.Count, lim.Duration)
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
	if mode == "ingest" && st.Done > 0 {
		n := st.Done * int64(*size)
		fmt.Fprintf(stderr, "bench: resources bench-%d-0 … bench-%d-%d are written (read them with --seed %d --ids-from %d)\n",
			*seed, *seed, n-1, *seed, n)
	}
	if err := bench.WriteMarkdown(stdout, []bench.Row{row}); err != nil {
		return err
	}
	if *out != "" {
		if err := appendTable(*out, row); err != nil {
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

func cmdBenchSearch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench search", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, benchUsage); fs.PrintDefaults() }
	base := fs.String("url", "", "tenant FHIR base URL on a loopback server, e.g. http://127.0.0.1:8080/misato/fhir")
	token := fs.String("token", "", "bearer token (kodomohub dev-token)")
	conc := fs.Int("concurrency", 8, "concurrent searches")
	size := fs.Int("bundle-size", bench.DefaultBundleSize, "entries per family bundle (must match the ingest)")
	seed := fs.Uint64("seed", 1, "workload seed of the ingest")
	dur := fs.Duration("duration", 30*time.Second, "how long to run the mix (0: only the _total searches)")
	idsFrom := fs.Int64("ids-from", 0, "how many resources the ingest with --seed wrote; queries use whole families among them")
	pool := fs.Int("families", 2000, "how many families to sample for query values")
	kindList := fs.String("kinds", "all", "comma-separated kinds of query in the mix")
	totalRuns := fs.Int("total-runs", 5, "sequential runs of each _total=accurate search after the mix (0: none)")
	out := fs.String("out", "", "also append the tables to this file")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the load generator to this file")
	if pos, err := parseArgs(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, pos[0])
	}
	kinds, err := bench.ParseSearchKinds(*kindList)
	switch {
	case err != nil:
		return fmt.Errorf("%w: %v", errUsage, err)
	case *base == "" || *token == "":
		return fmt.Errorf("%w: --url and --token are required", errUsage)
	case *conc < 1 || *size < 1 || *pool < 1 || *totalRuns < 0 || *dur < 0:
		return fmt.Errorf("%w: --concurrency, --bundle-size and --families must be at least 1, --duration and --total-runs not negative", errUsage)
	case *idsFrom < 1:
		return fmt.Errorf("%w: search needs --ids-from N (resources written by an ingest with the same --seed)", errUsage)
	case *dur == 0 && *totalRuns == 0:
		return fmt.Errorf("%w: nothing to run: --duration and --total-runs are both 0", errUsage)
	}
	client, err := bench.NewClient(*base, *token, *conc)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	murl, err := bench.MetricsURL(*base)
	if err != nil {
		return err
	}
	stop, err := startCPUProfile(*cpuProfile)
	if err != nil {
		return err
	}
	defer stop()
	w := bench.Workload{Seed: *seed, BundleSize: *size}
	r := rand.New(rand.NewPCG(*seed, uint64(time.Now().UnixNano())))
	t0 := time.Now()
	mix, err := bench.NewSearchMix(w, *idsFrom, *pool, kinds, r)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	fmt.Fprintf(stderr, "bench search: %d families sampled in %s\n", len(mix.Pool), time.Since(t0).Round(time.Millisecond))
	report := bench.SearchReport{Concurrency: *conc}
	failed := false
	if *dur > 0 {
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
		fmt.Fprintf(stderr, "bench search: %s, concurrency %d, duration %s, kinds %v\n", *base, *conc, *dur, kinds)
		st, err := bench.Run(ctx, bench.Limits{Concurrency: *conc, Duration: *dur}, client.SearchOp(next, rec))
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
		if *totalRuns == 0 {
			break
		}
		ts := bench.TotalStats{Path: path}
		for range *totalRuns {
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
	if *out != "" {
		if err := appendSearch(*out, report); err != nil {
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
