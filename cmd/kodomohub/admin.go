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
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kodomohub/kodomohub/audit"
	"github.com/kodomohub/kodomohub/auth"
	"github.com/kodomohub/kodomohub/store"
)

func newTenantCmd() *cobra.Command {
	c := groupCmd("tenant", "Register, configure and list tenants (towns)")
	c.AddCommand(newTenantCreateCmd(), newTenantConfigureCmd(), newTenantListCmd())
	return c
}

func newTenantCreateCmd() *cobra.Command {
	var sf storageFlags
	var name, integrity, lg string
	c := &cobra.Command{
		Use:   "create ID --name NAME [--lg-code CODE]",
		Short: "Register a tenant (town)",
		Long: `Register a tenant: a town whose data is its own (on the embedded store, its own file).
Its FHIR base is /ID/fhir. A server running on the same data sees it at once.`,
		Example: "  kodomohub tenant create misato --name 美里町 --lg-code 113816 --data ./data",
		RunE: func(c *cobra.Command, pos []string) error {
			if len(pos) != 1 {
				return fmt.Errorf("%w: tenant create ID --name NAME", errUsage)
			}
			if name == "" {
				return fmt.Errorf("%w: --name is required", errUsage)
			}
			if integrity != store.IntegrityStrict && integrity != store.IntegrityOff {
				return fmt.Errorf("%w: --referential-integrity must be strict or off", errUsage)
			}
			ctx, stdout := c.Context(), c.OutOrStdout()
			st, err := sf.open(slog.New(slog.NewTextHandler(c.ErrOrStderr(), nil)))
			if err != nil {
				return err
			}
			defer st.Close()
			if lg != "" && !store.ValidLGCode(lg) {
				return fmt.Errorf("%w: --lg-code %q: want the 6-digit local government code, its check digit last (misato: 113816)", errUsage, lg)
			}
			err = st.CreateTenant(ctx, store.Tenant{ID: pos[0], Name: name, ReferentialIntegrity: integrity, LGCode: lg})
			if errors.Is(err, store.ErrExists) {
				return fmt.Errorf("tenant %q exists already", pos[0])
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "created tenant %s (%s), referential integrity %s\n", pos[0], name, integrity)
			return nil
		},
	}
	fs := c.Flags()
	sf.register(fs)
	fs.StringVar(&name, "name", "", "display name of the town, e.g. 美里町")
	fs.StringVar(&integrity, "referential-integrity", store.IntegrityStrict, "strict: local references must resolve; off: not checked")
	fs.StringVar(&lg, "lg-code", "", "the town's 6-digit local government code (全国地方公共団体コード), needed by imports")
	return c
}

func newTenantConfigureCmd() *cobra.Command {
	var sf storageFlags
	var name, lg string
	c := &cobra.Command{
		Use:   "configure ID [--name NAME] [--lg-code CODE]",
		Short: "Change a tenant's settings",
		Long: `Change a tenant's settings: its display name, its local government code (needed before
its first import: the town's identifier systems carry it). A server running on the same data
sees the change within a second.`,
		Example: "  kodomohub tenant configure misato --lg-code 113816 --data ./data",
		RunE: func(c *cobra.Command, pos []string) error {
			if len(pos) != 1 {
				return fmt.Errorf("%w: tenant configure ID [--name NAME] [--lg-code CODE]", errUsage)
			}
			if !c.Flags().Changed("name") && !c.Flags().Changed("lg-code") {
				return fmt.Errorf("%w: nothing to change: give --name or --lg-code", errUsage)
			}
			if lg != "" && !store.ValidLGCode(lg) {
				return fmt.Errorf("%w: --lg-code %q: want the 6-digit local government code, its check digit last (misato: 113816)", errUsage, lg)
			}
			ctx := c.Context()
			st, err := sf.open(slog.New(slog.NewTextHandler(c.ErrOrStderr(), nil)))
			if err != nil {
				return err
			}
			defer st.Close()
			t, err := st.Tenant(ctx, pos[0])
			if err != nil {
				return fmt.Errorf("tenant %q: %w", pos[0], err)
			}
			if c.Flags().Changed("name") {
				t.Name = name
			}
			if c.Flags().Changed("lg-code") {
				t.LGCode = lg
			}
			if err := st.UpdateTenant(ctx, t); err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "configured tenant %s (%s), local government code %s\n", t.ID, t.Name, cmp.Or(t.LGCode, "none"))
			return nil
		},
	}
	fs := c.Flags()
	sf.register(fs)
	fs.StringVar(&name, "name", "", "display name of the town")
	fs.StringVar(&lg, "lg-code", "", "the town's 6-digit local government code")
	return c
}

func newTenantListCmd() *cobra.Command {
	var sf storageFlags
	c := &cobra.Command{
		Use:   "list",
		Short: "List the tenants: id, name, referential integrity and local government code, tab-separated",
		Args:  noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			st, err := sf.open(slog.New(slog.NewTextHandler(c.ErrOrStderr(), nil)))
			if err != nil {
				return err
			}
			defer st.Close()
			ts, err := st.Tenants(c.Context())
			if err != nil {
				return err
			}
			for _, t := range ts {
				fmt.Fprintf(c.OutOrStdout(), "%s\t%s\t%s\t%s\n", t.ID, t.Name, t.ReferentialIntegrity, cmp.Or(t.LGCode, "-"))
			}
			return nil
		},
	}
	sf.register(c.Flags())
	return c
}

// devTokenFlags are the claims of a dev token.
type devTokenFlags struct {
	storage                                                   storageFlags
	tenant, scope, role, facility, facilityKind, patient, sub string
	ttl                                                       time.Duration
}

func newDevTokenCmd() *cobra.Command {
	var f devTokenFlags
	c := &cobra.Command{
		Use:   "dev-token --tenant ID --scope SCOPES",
		Short: "Print a token that a --auth dev server on the same data accepts",
		Long: `Print a bearer token, alone on the last line, that a server started with --auth dev on the
same data accepts. The key that signs it is kept in the store: anyone who can read the data
can mint one, so dev tokens are for development and tests only.`,
		Example: `  kodomohub dev-token --data ./data --tenant misato --scope "system/*.cruds"
  kodomohub dev-token --data ./data --tenant misato --scope "user/Patient.rs" --role facility --facility Organization/h1 --facility-kind hospital`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return runDevToken(c.Context(), &f, c.OutOrStdout(), c.ErrOrStderr())
		},
	}
	fs := c.Flags()
	f.storage.register(fs)
	fs.StringVar(&f.tenant, "tenant", "", "tenant the token is for")
	fs.StringVar(&f.scope, "scope", "", `SMART scopes, e.g. "system/*.cruds" or "user/Patient.rs user/Observation.rs"`)
	fs.StringVar(&f.role, "role", "municipal-staff", "hub role")
	fs.StringVar(&f.facility, "facility", "", "Organization/ID of a facility token")
	fs.StringVar(&f.facilityKind, "facility-kind", "", "hospital, nursery, school or child-guidance-centre")
	fs.StringVar(&f.patient, "patient", "", "patient in context of patient/ scopes (Patient/ID)")
	fs.StringVar(&f.sub, "sub", "dev-user", "subject (user or client name)")
	fs.DurationVar(&f.ttl, "ttl", 12*time.Hour, "lifetime of the token")
	return c
}

func runDevToken(ctx context.Context, f *devTokenFlags, stdout, stderr io.Writer) error {
	if f.tenant == "" || f.scope == "" {
		return fmt.Errorf("%w: --tenant and --scope are required", errUsage)
	}
	st, err := f.storage.open(slog.New(slog.NewTextHandler(stderr, nil)))
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Tenant(ctx, f.tenant); err != nil {
		return fmt.Errorf("tenant %q: %w", f.tenant, err)
	}
	dev, err := auth.NewDev(ctx, st)
	if err != nil {
		return err
	}
	tok, err := dev.Mint(auth.DevClaims{Tenant: f.tenant, Subject: f.sub, Scope: f.scope, Role: f.role, Facility: f.facility,
		FacilityKind: f.facilityKind, Patient: f.patient, TTL: f.ttl})
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	fmt.Fprintln(stdout, tok)
	return nil
}

func newClientCmd() *cobra.Command {
	c := groupCmd("client", "Register and list SMART Backend Services clients")
	c.AddCommand(newClientCreateCmd(), newClientListCmd())
	return c
}

// clientFlags describe a client registration.
type clientFlags struct {
	storage                                                        storageFlags
	tenant, jwksFile, jwksURL, scope, facility, facilityKind, role string
	name, id                                                       string
	rate                                                           float64
}

func newClientCreateCmd() *cobra.Command {
	var f clientFlags
	c := &cobra.Command{
		Use:   "create --tenant ID (--jwks-file F | --jwks-url U) --scope SCOPES",
		Short: "Register a SMART Backend Services client; prints client_id: ID last",
		Long: `Register a SMART Backend Services client of a tenant: a system (a hospital's, a nursery's …)
that authenticates with a JWT signed by a key of its JWK Set and gets tokens for the system/
scopes it is granted at /TENANT/auth/token. The last line printed is client_id: ID.`,
		Example: `  kodomohub client create --data ./data --tenant misato --jwks-file nursery.jwks.json \
    --scope "system/Observation.cruds system/Patient.rs" --facility Organization/n1 --facility-kind nursery`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return runClientCreate(c.Context(), &f, c.OutOrStdout(), c.ErrOrStderr())
		},
	}
	fs := c.Flags()
	f.storage.register(fs)
	fs.StringVar(&f.tenant, "tenant", "", "tenant (town) the client may access")
	fs.StringVar(&f.jwksFile, "jwks-file", "", "file with the client's public JWK Set")
	fs.StringVar(&f.jwksURL, "jwks-url", "", "https URL where the client publishes its JWK Set")
	fs.StringVar(&f.scope, "scope", "", `system/ scopes the client may request, e.g. "system/Observation.cruds system/Patient.rs"`)
	fs.StringVar(&f.facility, "facility", "", "Organization/ID the client acts for (a hospital, nursery, school …)")
	fs.StringVar(&f.facilityKind, "facility-kind", "", "hospital, nursery, school or child-guidance-centre")
	fs.StringVar(&f.role, "role", "", "facility or vendor-system (default: facility when --facility is set)")
	fs.StringVar(&f.name, "name", "", "display name, e.g. みさと保育園 園児台帳システム")
	fs.StringVar(&f.id, "id", "", "client id (default: generated)")
	fs.Float64Var(&f.rate, "rate-limit", 0, "requests per second (0: the server's default)")
	return c
}

func newClientListCmd() *cobra.Command {
	var sf storageFlags
	var tenant string
	c := &cobra.Command{
		Use:   "list --tenant ID",
		Short: "List a tenant's clients: id, role, facility, state, scopes and name, tab-separated",
		Args:  noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			ctx := c.Context()
			st, err := sf.openTenant(ctx, tenant, c.ErrOrStderr())
			if err != nil {
				return err
			}
			defer st.Close()
			cs, err := auth.StoreClients{Records: st}.List(ctx, tenant)
			if err != nil {
				return err
			}
			for _, cl := range cs {
				state := "enabled"
				if cl.Disabled {
					state = "disabled"
				}
				fmt.Fprintf(c.OutOrStdout(), "%s\t%s\t%s\t%s\t%s\t%s\n", cl.ID, cl.Role, cl.Facility, state, cl.Scopes, cl.Name)
			}
			return nil
		},
	}
	sf.register(c.Flags())
	c.Flags().StringVar(&tenant, "tenant", "", "tenant whose clients to list")
	return c
}

func runClientCreate(ctx context.Context, f *clientFlags, stdout, stderr io.Writer) error {
	st, err := f.storage.openTenant(ctx, f.tenant, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	clients := auth.StoreClients{Records: st}
	spec := auth.ClientSpec{Tenant: f.tenant, ID: f.id, Name: f.name, JWKSURL: f.jwksURL, Scope: f.scope,
		Facility: f.facility, FacilityKind: f.facilityKind, Role: f.role}
	if f.rate > 0 {
		spec.RateLimit = auth.Rate{PerSecond: f.rate, Burst: int(math.Ceil(2 * f.rate))}
	}
	if f.jwksFile != "" {
		b, err := os.ReadFile(f.jwksFile)
		if err != nil {
			return err
		}
		spec.JWKS = b
	}
	c, err := auth.NewClient(spec, rand.Reader)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if f.id != "" {
		if _, err := clients.Client(ctx, f.tenant, f.id); err == nil {
			return fmt.Errorf("client %q exists already in tenant %s", f.id, f.tenant)
		}
	}
	if err := clients.Put(ctx, c, time.Now()); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "registered %s client for %s: scopes %s\n", c.Role, f.tenant, c.Scopes)
	fmt.Fprintf(stdout, "client_id: %s\n", c.ID)
	return nil
}

func newAuditCmd() *cobra.Command {
	c := groupCmd("audit", "Verify a tenant's audit trail, export its signed checkpoints")
	c.AddCommand(newAuditVerifyCmd(), newAuditCheckpointsCmd())
	return c
}

// auditStorage reads the --config file of an audit command: the store's location and the
// audit section, for the flags not given.
func auditStorage(fs *pflag.FlagSet, config string, sf *storageFlags) (auditConfig, error) {
	fc, err := loadConfig(config)
	if err != nil {
		return auditConfig{}, err
	}
	set := map[string]bool{}
	fs.Visit(func(fl *pflag.Flag) { set[fl.Name] = true })
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

// auditVerifyFlags are audit verify's flags.
type auditVerifyFlags struct {
	storage                        storageFlags
	tenant, config, keyFile, cpKey string
	files                          []string // --checkpoints
}

func newAuditVerifyCmd() *cobra.Command {
	var f auditVerifyFlags
	c := &cobra.Command{
		Use:   "verify --tenant ID",
		Short: "Check a tenant's audit trail end to end; exit 1 on any break",
		Long: `Check a tenant's audit trail end to end: the hash chain from the first entry, the seal of
its head (with the head key), every stored and given signed checkpoint, and the search index
against the trail. The exit status is 1 when a record was changed, inserted or removed, the
tail was cut, the head rewritten, or when something could not be checked (a missing key).
docs/security.md says what each check protects against.`,
		Example: `  kodomohub audit verify --tenant misato --data ./data
  kodomohub audit verify --tenant misato --config /etc/kodomohub/kodomohub.yaml --checkpoints /backup/misato.checkpoints.jsonl`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return runAuditVerify(c.Context(), c.Flags(), &f, c.OutOrStdout(), c.ErrOrStderr())
		},
	}
	fs := c.Flags()
	f.storage.register(fs)
	fs.StringVar(&f.tenant, "tenant", "", "tenant whose audit trail to verify")
	fs.StringVar(&f.config, "config", "", "serve's YAML configuration: the store, and audit.keyFile, audit.signingKeyFile, audit.checkpointDir")
	fs.StringVar(&f.keyFile, "key-file", "", "the head key file (default: audit.keyFile of --config, else DIR/audit.key of --data when it exists)")
	fs.StringVar(&f.cpKey, "checkpoint-key", "", "the public key checkpoints must be signed with: PEM PUBLIC KEY, or the signing key file (default: audit.signingKeyFile, else DIR/audit-signing.pem)")
	fs.StringArrayVar(&f.files, "checkpoints", nil, "a file of checkpoints kept elsewhere (JSON lines, as audit checkpoints writes); may be repeated")
	return c
}

func runAuditVerify(ctx context.Context, fs *pflag.FlagSet, o *auditVerifyFlags, stdout, stderr io.Writer) error {
	sf, tenant, files := &o.storage, o.tenant, o.files
	ac, err := auditStorage(fs, o.config, sf)
	if err != nil {
		return err
	}
	var dh, ds string
	if sf.data != "" {
		dh, ds = defaultAuditKeys(sf.data)
	}
	var opts audit.VerifyOptions
	if path := firstFile(o.keyFile, ac.KeyFile, dh); path != "" {
		if opts.HeadKey, err = audit.LoadHeadKey(path); err != nil {
			return err
		}
	}
	if path := firstFile(o.cpKey, ac.SigningKeyFile, ds); path != "" {
		pub, err := audit.LoadPublicKey(path)
		if err != nil {
			return err
		}
		opts.Trusted = append(opts.Trusted, pub)
	}
	if ac.CheckpointDir != "" {
		if f := audit.CheckpointFile(ac.CheckpointDir, tenant); firstFile(f) != "" {
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
	st, err := sf.openTenant(ctx, tenant, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	opts.Records, opts.Index = st, st.VerifyAuditIndex
	r, err := audit.Verify(ctx, st, tenant, opts)
	if err != nil {
		return fmt.Errorf("audit trail of %s: %w", tenant, err)
	}
	// The records themselves: their search fields must be theirs (auth's format).
	if _, err := audit.VerifyLog(ctx, st, tenant); err != nil {
		r.Problems = append(r.Problems, "records: "+err.Error())
	}
	printReport(stdout, r)
	switch {
	case len(r.Problems) > 0:
		return fmt.Errorf("audit trail of %s is not as it was written: %s", tenant, strings.Join(r.Problems, "; "))
	case len(r.Unchecked) > 0:
		return fmt.Errorf("audit trail of %s could not be fully checked: %s", tenant, strings.Join(r.Unchecked, "; "))
	}
	fmt.Fprintf(stdout, "audit trail of %s intact: %d records, head %x\n", tenant, r.Seal.Seq, r.Seal.Hash)
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

func newAuditCheckpointsCmd() *cobra.Command {
	var sf storageFlags
	var tenant, out, config string
	c := &cobra.Command{
		Use:   "checkpoints --tenant ID",
		Short: "Export a tenant's signed audit checkpoints as JSON lines",
		Long: `Export a tenant's signed audit checkpoints as JSON lines, to keep where an intruder in the
data cannot write; audit verify --checkpoints FILE checks the trail against them.`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return runAuditCheckpoints(c.Context(), c.Flags(), &sf, tenant, out, config, c.OutOrStdout(), c.ErrOrStderr())
		},
	}
	fs := c.Flags()
	sf.register(fs)
	fs.StringVar(&tenant, "tenant", "", "tenant whose checkpoints to export")
	fs.StringVar(&out, "out", "", "write them to this file (default: standard output)")
	fs.StringVar(&config, "config", "", "serve's YAML configuration (for the store's location)")
	return c
}

func runAuditCheckpoints(ctx context.Context, fs *pflag.FlagSet, sf *storageFlags, tenant, out, config string, stdout, stderr io.Writer) error {
	if _, err := auditStorage(fs, config, sf); err != nil {
		return err
	}
	st, err := sf.openTenant(ctx, tenant, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	cs, err := audit.StoredCheckpoints(ctx, st, tenant)
	if err != nil {
		return err
	}
	w := stdout
	if out != "" {
		f, err := os.Create(out)
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
	if f, ok := w.(*os.File); ok && out != "" {
		if err := f.Sync(); err != nil {
			return err
		}
	}
	if len(cs) > 0 {
		fmt.Fprintf(stderr, "%d checkpoints of %s, entries %d…%d, signed by key %s\n", len(cs), tenant, cs[0].Seq, cs[len(cs)-1].Seq, audit.KeyID(cs[len(cs)-1].Key))
	} else {
		fmt.Fprintf(stderr, "no checkpoints of %s\n", tenant)
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
