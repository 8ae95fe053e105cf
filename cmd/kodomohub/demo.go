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
	{ID: "misato", Name: "美里町", ReferentialIntegrity: store.IntegrityStrict},
	{ID: "kawajima", Name: "川島町", ReferentialIntegrity: store.IntegrityStrict},
}

// demoFlags are the flags demo's help shows. demo takes serve's other flags too, as it
// always has (--mongo-uri, --config, the limits …), without listing them: they are serve's.
var demoFlags = map[string]bool{"listen": true, "data": true, "log-level": true}

func newDemoCmd() *cobra.Command {
	var f serveFlags
	c := &cobra.Command{
		Use:   "demo",
		Short: "Run a hub with two demo towns and development tokens",
		Long: `Create the tenants misato (美里町) and kawajima (川島町), serve the API with development
authentication on a loopback address, and print each town's base URL and a bearer token.

The data goes to a new temporary directory, or to --data DIR. demo also takes serve's other
flags (see kodomohub serve --help), --mongo-uri for example.`,
		Example: `  kodomohub demo
  kodomohub demo --listen 127.0.0.1:9090 --data ./demo-data`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return runDemo(c.Context(), c.Flags(), &f, c.OutOrStdout(), c.ErrOrStderr())
		},
	}
	fs := c.Flags()
	f.register(fs, "127.0.0.1:8080")
	fs.VisitAll(func(fl *pflag.Flag) { fl.Hidden = !demoFlags[fl.Name] })
	return c
}

func runDemo(ctx context.Context, fs *pflag.FlagSet, f *serveFlags, stdout, stderr io.Writer) error {
	if err := f.merge(fs); err != nil {
		return err
	}
	f.authMode = "dev"
	if f.storage.data == "" && f.storage.mongoURI == "" {
		dir, err := os.MkdirTemp("", "kodomohub-demo-")
		if err != nil {
			return err
		}
		f.storage.data = dir
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
		fmt.Fprintf(stdout, "\nkodomohub demo — data in %s\n\n", f.storage.data)
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
