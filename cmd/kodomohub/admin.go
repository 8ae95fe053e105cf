package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/kodomohub/kodomohub/auth"
	"github.com/kodomohub/kodomohub/store"
)

func cmdTenant(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: tenant create|list", errUsage)
	}
	fs := flag.NewFlagSet("tenant "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf storageFlags
	sf.register(fs)
	name := fs.String("name", "", "display name of the town, e.g. 美里町")
	integrity := fs.String("referential-integrity", store.IntegrityStrict, "strict: local references must resolve; off: not checked")
	pos, err := parseArgs(fs, args[1:])
	if err != nil {
		return err
	}
	st, err := sf.open(slog.New(slog.NewTextHandler(stderr, nil)))
	if err != nil {
		return err
	}
	defer st.Close()
	switch args[0] {
	case "create":
		if len(pos) != 1 {
			return fmt.Errorf("%w: tenant create ID --name NAME", errUsage)
		}
		if *name == "" {
			return fmt.Errorf("%w: --name is required", errUsage)
		}
		if *integrity != store.IntegrityStrict && *integrity != store.IntegrityOff {
			return fmt.Errorf("%w: --referential-integrity must be strict or off", errUsage)
		}
		err := st.CreateTenant(ctx, store.Tenant{ID: pos[0], Name: *name, ReferentialIntegrity: *integrity})
		if errors.Is(err, store.ErrExists) {
			return fmt.Errorf("tenant %q exists already", pos[0])
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created tenant %s (%s), referential integrity %s\n", pos[0], *name, *integrity)
		return nil
	case "list":
		ts, err := st.Tenants(ctx)
		if err != nil {
			return err
		}
		for _, t := range ts {
			fmt.Fprintf(stdout, "%s\t%s\t%s\n", t.ID, t.Name, t.ReferentialIntegrity)
		}
		return nil
	}
	return fmt.Errorf("%w: unknown tenant command %q", errUsage, args[0])
}

func cmdDevToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dev-token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf storageFlags
	sf.register(fs)
	tenant := fs.String("tenant", "", "tenant the token is for")
	scope := fs.String("scope", "", `SMART scopes, e.g. "system/*.cruds" or "user/Patient.rs user/Observation.rs"`)
	role := fs.String("role", "municipal-staff", "hub role")
	facility := fs.String("facility", "", "Organization/ID of a facility token")
	sub := fs.String("sub", "dev-user", "subject (user or client name)")
	ttl := fs.Duration("ttl", 12*time.Hour, "lifetime of the token")
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	if *tenant == "" || *scope == "" {
		return fmt.Errorf("%w: --tenant and --scope are required", errUsage)
	}
	st, err := sf.open(slog.New(slog.NewTextHandler(stderr, nil)))
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Tenant(ctx, *tenant); err != nil {
		return fmt.Errorf("tenant %q: %w", *tenant, err)
	}
	dev, err := auth.NewDev(ctx, st)
	if err != nil {
		return err
	}
	tok, err := dev.Mint(auth.DevClaims{Tenant: *tenant, Subject: *sub, Scope: *scope, Role: *role, Facility: *facility, TTL: *ttl})
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	fmt.Fprintln(stdout, tok)
	return nil
}
