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
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/kodomohub/kodomohub/audit"
	"github.com/kodomohub/kodomohub/auth"
	"github.com/kodomohub/kodomohub/bench"
	"github.com/kodomohub/kodomohub/conformance"
	"github.com/kodomohub/kodomohub/server"
	"github.com/kodomohub/kodomohub/store"
	"github.com/kodomohub/kodomohub/store/sqlite"
)

// openAuth is the authenticator of the "auth off" server: every request is a staff member
// with every scope. It exists only inside this benchmark, on a loopback port it opens itself.
type openAuth struct{ p *auth.Principal }

func (o openAuth) Authenticate(context.Context, string, *http.Request) (*auth.Principal, error) {
	return o.p, nil
}

// benchAuthFlags are the flags of bench auth.
type benchAuthFlags struct {
	data, out, cpuProfile string
	resources             int64
	conc, rounds          int
	dur                   time.Duration
}

func newBenchAuthCmd() *cobra.Command {
	var f benchAuthFlags
	c := &cobra.Command{
		Use:   "auth",
		Short: "What authentication, the access policy and the audit trail cost a read",
		Long: `Measure what authentication, the access policy and the audit trail cost a read: two servers
run in this process on one SQLite data dir (a fresh temporary one unless --data is given),
one with every check off (requests carry no token, nothing is decided or audited), one as
serve wires it (dev tokens verified, the access policy for a municipal-staff token, one
audit record appended per request, audit heads sealed). After an ingest of --resources, the
read workload runs against each in turn for --rounds rounds; the table gives every round and
the ratio of the median read rates.`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return runBenchAuth(c.Context(), &f, c.OutOrStdout(), c.ErrOrStderr())
		},
	}
	fs := c.Flags()
	fs.StringVar(&f.data, "data", "", "SQLite data dir (default: a temporary one, removed afterwards)")
	fs.Int64Var(&f.resources, "resources", 20000, "resources to ingest before reading")
	fs.IntVar(&f.conc, "concurrency", 16, "concurrent reads")
	fs.DurationVar(&f.dur, "duration", 10*time.Second, "length of each round")
	fs.IntVar(&f.rounds, "rounds", 3, "rounds per configuration")
	fs.StringVar(&f.out, "out", "", "also append the table to this file")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the auth-on rounds to this file")
	return c
}

func runBenchAuth(ctx context.Context, o *benchAuthFlags, stdout, stderr io.Writer) error {
	if o.resources < 1 || o.conc < 1 || o.dur <= 0 || o.rounds < 1 {
		return fmt.Errorf("%w: --resources, --concurrency, --duration and --rounds must be positive", errUsage)
	}
	dir := o.data
	if dir == "" {
		tmp, err := os.MkdirTemp("", "kodomohub-bench-auth-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	// The audit heads are sealed, as serve seals them (with its default key file of the dir).
	keyFile, _ := defaultAuditKeys(dir)
	if _, err := audit.CreateHeadKey(keyFile); err != nil {
		return err
	}
	key, err := audit.LoadHeadKey(keyFile)
	if err != nil {
		return err
	}
	st, err := sqlite.Open(dir, sqlite.Options{AuditKey: key})
	if err != nil {
		return err
	}
	defer st.Close()
	const tenant = "bench"
	if _, err := st.Tenant(ctx, tenant); err != nil {
		if err := st.CreateTenant(ctx, store.Tenant{ID: tenant, Name: "ベンチ町", ReferentialIntegrity: store.IntegrityOff}); err != nil {
			return err
		}
	}
	validator, err := conformance.NewValidator()
	if err != nil {
		return err
	}
	dev, err := auth.NewDev(ctx, st)
	if err != nil {
		return err
	}
	staff := &auth.Principal{Subject: "bench", Tenant: tenant, Role: auth.RoleMunicipalStaff,
		Scopes: auth.Scopes{{Context: "user", Type: "*", Ops: "cruds"}}}
	off := server.New(server.Config{Store: st, Validator: validator, Auth: openAuth{staff}, Guard: &auth.Guard{NoPolicy: true}, Logger: log})
	on := server.New(server.Config{Store: st, Validator: validator, Auth: dev, Logger: log,
		Guard: &auth.Guard{Roster: &auth.StoreRoster{Store: st}},
		Audit: audit.StoreSink{Log: st}})
	token, err := dev.Mint(auth.DevClaims{Tenant: tenant, Subject: "bench-staff", Scope: "user/*.cruds",
		Role: auth.RoleMunicipalStaff, TTL: 24 * time.Hour})
	if err != nil {
		return err
	}
	serveLoopback := func(h http.Handler) (string, func(), error) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", nil, err
		}
		hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		go hs.Serve(ln)
		return "http://" + ln.Addr().String() + "/" + tenant + "/fhir", func() { hs.Close() }, nil
	}
	offURL, stopOff, err := serveLoopback(off.Handler())
	if err != nil {
		return err
	}
	defer stopOff()
	onURL, stopOn, err := serveLoopback(on.Handler())
	if err != nil {
		return err
	}
	defer stopOn()

	w := bench.Workload{Seed: 7, BundleSize: bench.DefaultBundleSize}
	ingest, err := bench.NewClient(offURL, "-", 4)
	if err != nil {
		return err
	}
	bundles := (o.resources + int64(w.BundleSize) - 1) / int64(w.BundleSize)
	fmt.Fprintf(stderr, "bench auth: ingesting %d resources into %s\n", bundles*int64(w.BundleSize), dir)
	ist, err := bench.Run(ctx, bench.Limits{Concurrency: 4, Count: bundles}, ingest.IngestOp(w))
	if err != nil {
		return err
	}
	if ist.Errors > 0 {
		return fmt.Errorf("bench auth: ingest: %d errors, first: %v", ist.Errors, ist.FirstErr)
	}
	n := bundles * int64(w.BundleSize)

	type config struct {
		name, url, token string
	}
	configs := []config{{"read, auth off", offURL, "-"}, {"read, auth on (staff token, policy, audit)", onURL, token}}
	rates := map[string][]float64{}
	var rows []bench.Row
	for round := range o.rounds {
		for _, c := range configs {
			client, err := bench.NewClient(c.url, c.token, o.conc)
			if err != nil {
				return err
			}
			var mu sync.Mutex
			r := rand.New(rand.NewPCG(uint64(round), 1))
			op := client.ReadOp(w, func() int64 {
				mu.Lock()
				defer mu.Unlock()
				return r.Int64N(n)
			})
			profiling := o.cpuProfile != "" && c.url == onURL && round == 0
			if profiling {
				f, err := os.Create(o.cpuProfile)
				if err != nil {
					return err
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
			}
			s, err := bench.Run(ctx, bench.Limits{Concurrency: o.conc, Duration: o.dur}, op)
			if profiling {
				pprof.StopCPUProfile()
			}
			if err != nil {
				return err
			}
			if s.Errors > 0 {
				return fmt.Errorf("bench auth: %s: %d errors, first: %v", c.name, s.Errors, s.FirstErr)
			}
			row := bench.Row{Operation: fmt.Sprintf("%s, round %d", c.name, round+1), Concurrency: o.conc, Stats: s}
			rows = append(rows, row)
			rates[c.name] = append(rates[c.name], row.Rate())
			fmt.Fprintf(stderr, "bench auth: %s: %.0f reads/s\n", row.Operation, row.Rate())
		}
	}
	if err := bench.WriteMarkdown(stdout, rows); err != nil {
		return err
	}
	medOff, medOn := median(rates[configs[0].name]), median(rates[configs[1].name])
	summary := fmt.Sprintf("\nmedian reads/s: auth off %.0f, auth on %.0f: auth on reaches %.1f%% of auth off (%d resources, concurrency %d, %d rounds of %s)\n",
		medOff, medOn, 100*medOn/medOff, n, o.conc, o.rounds, o.dur)
	fmt.Fprint(stdout, summary)
	if o.out != "" {
		f, err := os.OpenFile(o.out, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return err
		}
		err = bench.WriteMarkdown(f, rows)
		if err == nil {
			_, err = fmt.Fprint(f, summary)
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	}
	return nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
