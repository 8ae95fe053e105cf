package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
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
	facilityKind := fs.String("facility-kind", "", "hospital, nursery, school or child-guidance-centre")
	patient := fs.String("patient", "", "patient in context of patient/ scopes (Patient/ID)")
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
	tok, err := dev.Mint(auth.DevClaims{Tenant: *tenant, Subject: *sub, Scope: *scope, Role: *role, Facility: *facility,
		FacilityKind: *facilityKind, Patient: *patient, TTL: *ttl})
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	fmt.Fprintln(stdout, tok)
	return nil
}

func cmdClient(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "create" && args[0] != "list") {
		return fmt.Errorf("%w: client create|list", errUsage)
	}
	fs := flag.NewFlagSet("client "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf storageFlags
	sf.register(fs)
	tenant := fs.String("tenant", "", "tenant (town) the client may access")
	jwksFile := fs.String("jwks-file", "", "file with the client's public JWK Set")
	jwksURL := fs.String("jwks-url", "", "https URL where the client publishes its JWK Set")
	scope := fs.String("scope", "", `system/ scopes the client may request, e.g. "system/Observation.cruds system/Patient.rs"`)
	facility := fs.String("facility", "", "Organization/ID the client acts for (a hospital, nursery, school …)")
	facilityKind := fs.String("facility-kind", "", "hospital, nursery, school or child-guidance-centre")
	role := fs.String("role", "", "facility or vendor-system (default: facility when --facility is set)")
	name := fs.String("name", "", "display name, e.g. みさと保育園 園児台帳システム")
	id := fs.String("id", "", "client id (default: generated)")
	rate := fs.Float64("rate-limit", 0, "requests per second (0: the server's default)")
	if _, err := parseArgs(fs, args[1:]); err != nil {
		return err
	}
	st, err := sf.openTenant(ctx, *tenant, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	clients := auth.StoreClients{Records: st}
	if args[0] == "list" {
		cs, err := clients.List(ctx, *tenant)
		if err != nil {
			return err
		}
		for _, c := range cs {
			state := "enabled"
			if c.Disabled {
				state = "disabled"
			}
			fmt.Fprintf(stdout, "%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.Role, c.Facility, state, c.Scopes, c.Name)
		}
		return nil
	}
	spec := auth.ClientSpec{Tenant: *tenant, ID: *id, Name: *name, JWKSURL: *jwksURL, Scope: *scope,
		Facility: *facility, FacilityKind: *facilityKind, Role: *role}
	if *rate > 0 {
		spec.RateLimit = auth.Rate{PerSecond: *rate, Burst: int(math.Ceil(2 * *rate))}
	}
	if *jwksFile != "" {
		b, err := os.ReadFile(*jwksFile)
		if err != nil {
			return err
		}
		spec.JWKS = b
	}
	c, err := auth.NewClient(spec, rand.Reader)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *id != "" {
		if _, err := clients.Client(ctx, *tenant, *id); err == nil {
			return fmt.Errorf("client %q exists already in tenant %s", *id, *tenant)
		}
	}
	if err := clients.Put(ctx, c, time.Now()); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "registered %s client for %s: scopes %s\n", c.Role, *tenant, c.Scopes)
	fmt.Fprintf(stdout, "client_id: %s\n", c.ID)
	return nil
}

func cmdAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		return fmt.Errorf("%w: audit verify --tenant ID", errUsage)
	}
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf storageFlags
	sf.register(fs)
	tenant := fs.String("tenant", "", "tenant whose audit trail to verify")
	if _, err := parseArgs(fs, args[1:]); err != nil {
		return err
	}
	st, err := sf.openTenant(ctx, *tenant, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	head, err := auth.VerifyAuditLog(ctx, st, *tenant)
	if err != nil {
		return fmt.Errorf("audit trail of %s: %w", *tenant, err)
	}
	fmt.Fprintf(stdout, "audit trail of %s intact: %d records, head %x\n", *tenant, head.Seq, head.Hash)
	return nil
}

// openTenant opens the store of the flags and checks that tenant exists in it.
func (f *storageFlags) openTenant(ctx context.Context, tenant string, stderr io.Writer) (store.Store, error) {
	if tenant == "" {
		return nil, fmt.Errorf("%w: --tenant is required", errUsage)
	}
	st, err := f.open(slog.New(slog.NewTextHandler(stderr, nil)))
	if err != nil {
		return nil, err
	}
	if _, err := st.Tenant(ctx, tenant); err != nil {
		st.Close()
		return nil, fmt.Errorf("tenant %q: %w", tenant, err)
	}
	return st, nil
}
