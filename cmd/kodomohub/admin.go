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
	"strings"
	"time"

	"github.com/kodomohub/kodomohub/audit"
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
	switch {
	case len(args) > 0 && args[0] == "verify":
		return cmdAuditVerify(ctx, args[1:], stdout, stderr)
	case len(args) > 0 && args[0] == "checkpoints":
		return cmdAuditCheckpoints(ctx, args[1:], stdout, stderr)
	}
	return fmt.Errorf("%w: audit verify|checkpoints --tenant ID", errUsage)
}

// fileList is a flag that may be given several times.
type fileList []string

func (l *fileList) String() string     { return strings.Join(*l, ",") }
func (l *fileList) Set(v string) error { *l = append(*l, v); return nil }

// auditStorage reads the --config file of an audit command: the store's location and the
// audit section, for the flags not given.
func auditStorage(fs *flag.FlagSet, config string, sf *storageFlags) (auditConfig, error) {
	fc, err := loadConfig(config)
	if err != nil {
		return auditConfig{}, err
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	for _, v := range []struct {
		name     string
		dst      *string
		fromFile string
	}{{"data", &sf.data, fc.Data}, {"mongo-uri", &sf.mongoURI, fc.Mongo.URI}, {"mongo-db", &sf.mongoDB, fc.Mongo.Database}} {
		if !set[v.name] && v.fromFile != "" {
			*v.dst = v.fromFile
		}
	}
	return fc.Audit, nil
}

// firstFile returns the first of paths that is set, the last one only when the file exists
// (a default that may not have been created).
func firstFile(paths ...string) string {
	for i, p := range paths {
		if p == "" {
			continue
		}
		if i < len(paths)-1 {
			return p
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

func cmdAuditVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf storageFlags
	sf.register(fs)
	tenant := fs.String("tenant", "", "tenant whose audit trail to verify")
	config := fs.String("config", "", "serve's YAML configuration: the store, and audit.keyFile, audit.signingKeyFile, audit.checkpointDir")
	keyFile := fs.String("key-file", "", "the head key file (default: audit.keyFile of --config, else DIR/audit.key of --data when it exists)")
	cpKey := fs.String("checkpoint-key", "", "the public key checkpoints must be signed with: PEM PUBLIC KEY, or the signing key file (default: audit.signingKeyFile, else DIR/audit-signing.pem)")
	var files fileList
	fs.Var(&files, "checkpoints", "a file of checkpoints kept elsewhere (JSON lines, as `audit checkpoints` writes); may be repeated")
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	ac, err := auditStorage(fs, *config, &sf)
	if err != nil {
		return err
	}
	var dh, ds string
	if sf.data != "" {
		dh, ds = defaultAuditKeys(sf.data)
	}
	var opts audit.VerifyOptions
	if path := firstFile(*keyFile, ac.KeyFile, dh); path != "" {
		if opts.HeadKey, err = audit.LoadHeadKey(path); err != nil {
			return err
		}
	}
	if path := firstFile(*cpKey, ac.SigningKeyFile, ds); path != "" {
		pub, err := audit.LoadPublicKey(path)
		if err != nil {
			return err
		}
		opts.Trusted = append(opts.Trusted, pub)
	}
	if ac.CheckpointDir != "" {
		if f := audit.CheckpointFile(ac.CheckpointDir, *tenant); firstFile(f) != "" {
			files = append(files, f)
		}
	}
	for _, path := range files {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		cs, err := audit.ReadCheckpoints(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		opts.Checkpoints = append(opts.Checkpoints, cs...)
	}
	opts.Source = strings.Join(files, ", ")
	// The store is opened without the key: verifying reads, and a store without the key
	// leaves a sealed trail exactly as it finds it.
	st, err := sf.openTenant(ctx, *tenant, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	opts.Records, opts.Index = st, st.VerifyAuditIndex
	r, err := audit.Verify(ctx, st, *tenant, opts)
	if err != nil {
		return fmt.Errorf("audit trail of %s: %w", *tenant, err)
	}
	// The records themselves: their search fields must be theirs (auth's format).
	if _, err := auth.VerifyAuditLog(ctx, st, *tenant); err != nil {
		r.Problems = append(r.Problems, "records: "+err.Error())
	}
	printReport(stdout, r)
	switch {
	case len(r.Problems) > 0:
		return fmt.Errorf("audit trail of %s is not as it was written: %s", *tenant, strings.Join(r.Problems, "; "))
	case len(r.Unchecked) > 0:
		return fmt.Errorf("audit trail of %s could not be fully checked: %s", *tenant, strings.Join(r.Unchecked, "; "))
	}
	fmt.Fprintf(stdout, "audit trail of %s intact: %d records, head %x\n", *tenant, r.Seal.Seq, r.Seal.Hash)
	return nil
}

// printReport writes what Verify found, for an auditor.
func printReport(w io.Writer, r *audit.Report) {
	day := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	fmt.Fprintf(w, "audit trail of %s: %d entries verified from entry 1; head entry %d (hash %x)\n", r.Tenant, r.Entries, r.Seal.Seq, r.Seal.Hash)
	switch {
	case r.SealChecked && r.Seal.From > 0:
		fmt.Fprintf(w, "  head sealed %s, sealed since entry %d on %s: entries 1…%d were covered by the chain alone until then\n",
			day(r.Seal.Time), r.Seal.From, day(r.Seal.FromTime), r.Seal.From)
	case r.SealChecked:
		fmt.Fprintf(w, "  head sealed %s; every head sealed since the trail began (%s)\n", day(r.Seal.Time), day(r.Seal.FromTime))
	}
	if r.Latest != nil {
		fmt.Fprintf(w, "  checkpoints: %d match the chain; the latest of entry %d, signed %s by key %s\n",
			r.Checkpoints, r.Latest.Seq, day(r.Latest.Time), audit.KeyID(r.Latest.Key))
	} else {
		fmt.Fprintln(w, "  checkpoints: none to check")
	}
	if r.IndexChecked {
		fmt.Fprintln(w, "  search index: checked against the trail")
	}
	for _, p := range r.Problems {
		fmt.Fprintln(w, "  BROKEN:", p)
	}
	for _, u := range r.Unchecked {
		fmt.Fprintln(w, "  NOT CHECKED:", u)
	}
}

func cmdAuditCheckpoints(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("audit checkpoints", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf storageFlags
	sf.register(fs)
	tenant := fs.String("tenant", "", "tenant whose checkpoints to export")
	out := fs.String("out", "", "write them to this file (default: standard output)")
	config := fs.String("config", "", "serve's YAML configuration (for the store's location)")
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	if _, err := auditStorage(fs, *config, &sf); err != nil {
		return err
	}
	st, err := sf.openTenant(ctx, *tenant, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	cs, err := audit.StoredCheckpoints(ctx, st, *tenant)
	if err != nil {
		return err
	}
	w := stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	for _, c := range cs {
		if _, err := w.Write(c.MarshalLine()); err != nil {
			return err
		}
	}
	if f, ok := w.(*os.File); ok && *out != "" {
		if err := f.Sync(); err != nil {
			return err
		}
	}
	if len(cs) > 0 {
		fmt.Fprintf(stderr, "%d checkpoints of %s, entries %d…%d, signed by key %s\n", len(cs), *tenant, cs[0].Seq, cs[len(cs)-1].Seq, audit.KeyID(cs[len(cs)-1].Key))
	} else {
		fmt.Fprintf(stderr, "no checkpoints of %s\n", *tenant)
	}
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
