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
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kodomohub/kodomohub/auth"
	"github.com/kodomohub/kodomohub/store"
)

// demoTenants are the two towns of the reference deployment.
var demoTenants = []store.Tenant{
	{ID: "misato", Name: "美里町", ReferentialIntegrity: store.IntegrityStrict, LGCode: "113816"},
	{ID: "kawajima", Name: "川島町", ReferentialIntegrity: store.IntegrityStrict, LGCode: "113468"},
}

// demoFlags are the flags demo's help shows. demo takes serve's other flags too, as it
// always has (--mongo-uri, --config, the limits …), without listing them: they are serve's.
var demoFlags = map[string]bool{"listen": true, "data": true, "keep": true, "auth": true, "log-level": true}

func newDemoCmd() *cobra.Command {
	var f serveFlags
	var keep bool
	c := &cobra.Command{
		Use:   "demo",
		Short: "Run a hub with two demo towns and development tokens",
		Long: `Create the tenants misato (美里町) and kawajima (川島町), serve the API with development
authentication on a loopback address, and print each town's base URL and a bearer token.

The data goes to a new temporary directory, removed when the demo stops (Ctrl-C), unless
--keep is given; with --data DIR it goes to DIR and stays there. demo also takes serve's
other flags (see kodomohub serve --help), --mongo-uri for example.`,
		Example: `  kodomohub demo
  kodomohub demo --listen 127.0.0.1:9090 --data ./demo-data`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return runDemo(c.Context(), c.Flags(), &f, keep, c.OutOrStdout(), c.ErrOrStderr())
		},
	}
	fs := c.Flags()
	f.register(fs, "127.0.0.1:8080")
	fs.BoolVar(&keep, "keep", false, "keep the temporary data directory when the demo stops (with --data, the data always stays)")
	a := fs.Lookup("auth")
	a.Usage = "authentication: dev only; the demo mints the tokens it prints (serve --auth oidc trusts an identity provider)"
	a.DefValue, f.authMode = "dev", "dev"
	fs.VisitAll(func(fl *pflag.Flag) { fl.Hidden = !demoFlags[fl.Name] })
	return c
}

func runDemo(ctx context.Context, fs *pflag.FlagSet, f *serveFlags, keep bool, stdout, stderr io.Writer) (err error) {
	if err := f.merge(fs); err != nil {
		return err
	}
	if f.authMode != "dev" {
		return fmt.Errorf("%w: demo runs with --auth dev only, not %q: it mints the tokens it prints. To trust your identity provider, run kodomohub serve --auth oidc --config FILE (see the README)",
			errUsage, f.authMode)
	}
	where := f.storage.data
	switch {
	case f.storage.mongoURI != "":
		where = "MongoDB database " + f.storage.mongoDB
	case f.storage.data == "":
		dir, terr := os.MkdirTemp("", "kodomohub-demo-")
		if terr != nil {
			return terr
		}
		f.storage.data = dir
		if keep {
			where = dir + " (kept when the demo stops)"
			defer fmt.Fprintf(stdout, "kodomohub demo: the data stays in %s; serve it again with --data %s\n", dir, dir)
		} else {
			where = dir + " (temporary: removed when the demo stops; --keep keeps it)"
			defer func() { // runs after the store is closed, below
				if rerr := os.RemoveAll(dir); rerr != nil {
					err = errors.Join(err, fmt.Errorf("removing the demo data: %w", rerr))
					return
				}
				fmt.Fprintf(stdout, "kodomohub demo: removed the temporary data in %s\n", dir)
			}()
		}
	}
	log, err := newLogger(stderr, f.logLevel)
	if err != nil {
		return err
	}
	st, err := f.storage.open(log)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, t := range demoTenants {
		if err := st.CreateTenant(ctx, t); err != nil && !errors.Is(err, store.ErrExists) {
			return err
		}
	}
	dev, err := auth.NewDev(ctx, st)
	if err != nil {
		return err
	}
	return serve(ctx, st, f, log, stdout, func(addr string) {
		fmt.Fprintf(stdout, "\nkodomohub demo — data in %s\n\n", where)
		for _, t := range demoTenants {
			tok, err := dev.Mint(auth.DevClaims{Tenant: t.ID, Subject: "demo-staff", Scope: "system/*.cruds",
				Role: "municipal-staff", TTL: 24 * time.Hour})
			if err != nil {
				fmt.Fprintln(stderr, "minting demo token:", err)
				continue
			}
			fmt.Fprintf(stdout, "%s (%s)\n  FHIR API:  http://%s/%s/fhir\n  metadata:  http://%s/%s/fhir/metadata\n  token:     %s\n\n",
				t.Name, t.ID, addr, t.ID, addr, t.ID, tok)
		}
		fmt.Fprintf(stdout, "Try:\n  curl -H \"Authorization: Bearer $TOKEN\" http://%s/misato/fhir/_history\n\n", addr)
	})
}
