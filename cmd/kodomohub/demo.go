package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/kodomohub/kodomohub/auth"
	"github.com/kodomohub/kodomohub/store"
)

// demoTenants are the two towns of the reference deployment.
var demoTenants = []store.Tenant{
	{ID: "misato", Name: "美里町", ReferentialIntegrity: store.IntegrityStrict},
	{ID: "kawajima", Name: "川島町", ReferentialIntegrity: store.IntegrityStrict},
}

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f serveFlags
	f.register(fs, "127.0.0.1:8080")
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
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
	return serve(ctx, st, &f, log, stdout, func(addr string) {
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
