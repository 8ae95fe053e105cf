package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/kodomohub/kodomohub/bench"
)

const benchUsage = `kodomohub bench ingest --url http://127.0.0.1:PORT/TENANT/fhir --token T [--concurrency 4] [--bundle-size 100] [--resources N | --duration D] [--seed S] [--out FILE]
kodomohub bench read   --url http://127.0.0.1:PORT/TENANT/fhir --token T [--concurrency 16] [--duration 30s] --ids-from N [--seed S] [--bundle-size 100] [--out FILE]

ingest PUTs family bundles whose resources get ids bench-SEED-0, bench-SEED-1, …; read GETs
random resources among the first --ids-from of those written with the same --seed and
--bundle-size. Both print a Markdown table (and append it to --out).`

func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "ingest" && args[0] != "read") {
		fmt.Fprintln(stderr, benchUsage)
		return fmt.Errorf("%w: bench ingest|read", errUsage)
	}
	mode := args[0]
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
