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
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kodomohub/kodomohub/auth"
	"github.com/kodomohub/kodomohub/bench"
	"github.com/kodomohub/kodomohub/store"
)

// The command tree is built with cobra: each command owns its flag set (so `-h` shows only
// its own flags), and cobra adds help, --version and shell completion. The conventions kept
// from the hand-written command line:
//
//   - exit status 0 on success and for -h, 1 when the command failed, 2 on a usage error
//     (errUsage: a bad flag, a missing or unexpected argument, an unknown command); a usage
//     error also prints the usage of the command it concerns;
//   - flags may come before, between or after positional arguments
//     (`tenant create misato --name 美里町`);
//   - the reference in docs/cli is generated from this tree (TestCLIReference; regenerate
//     it with `go generate ./cmd/kodomohub`).

// run executes the command line args (without the program name), writing to stdout and
// stderr. Tests call it in process; main turns its error into an exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	root := newRootCmd(stdout, stderr)
	root.SetArgs(append([]string{}, args...)) // never nil: cobra would read os.Args then
	cmd, err := root.ExecuteContextC(ctx)
	if errors.Is(err, errUsage) && cmd != nil {
		fmt.Fprint(stderr, cmd.UsageString())
	}
	return err
}

// newRootCmd returns the whole command tree, with its completion command, writing to stdout
// and stderr.
func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "kodomohub",
		Short: "A FHIR R4 child-data linkage hub for municipalities",
		Long: `kodomohub is a FHIR R4 hub for child and family support in Japanese municipalities:
the server, its admin commands, a demo and the benchmarks, in one binary.

Start with ` + "`kodomohub demo`" + `: a hub with two demo towns on 127.0.0.1:8080.`,
		Version: version,
		// The root runs only to say that a command is missing or unknown (exit status 2, as
		// before); -h prints the help and exits 0.
		Args: func(c *cobra.Command, args []string) error {
			if len(args) > 0 {
				return unknownCommand(c, args[0])
			}
			return nil
		},
		RunE: func(*cobra.Command, []string) error {
			return fmt.Errorf("%w: no command", errUsage)
		},
		SilenceErrors:     true, // main prints the error, once
		SilenceUsage:      true, // run prints the usage, for usage errors only
		DisableAutoGenTag: true, // the reference in docs/cli must not change with the date
	}
	root.SetOut(stdout) // before the completion command is made: it keeps the writer it finds
	root.SetErr(stderr)
	root.SetVersionTemplate("kodomohub {{.Version}}\n")
	root.Flags().Bool("version", false, "print the version and exit")
	root.SetFlagErrorFunc(flagError) // inherited by every command
	root.AddCommand(
		newDemoCmd(),
		newServeCmd(),
		newTenantCmd(),
		newDevTokenCmd(),
		newClientCmd(),
		newImportCmd(),
		newSynthCmd(),
		newAuditCmd(),
		newBenchCmd(),
		&cobra.Command{
			Use:   "version",
			Short: "Print the version",
			Args:  noArgs,
			Run:   func(c *cobra.Command, _ []string) { fmt.Fprintln(c.OutOrStdout(), "kodomohub", version) },
		},
	)
	root.InitDefaultCompletionCmd() // now rather than at Execute, so the reference lists it
	for _, c := range allCommands(root) {
		if c.Name() == "completion" && c.Parent() == root {
			c.RunE = runGroup
		}
		if c.Args != nil {
			c.Args = usageArgs(c.Args) // cobra's own validators (completion's) say "usage" too
		}
		c.Flags().VisitAll(func(fl *pflag.Flag) {
			if words, ok := flagWords[fl.Name]; ok {
				completeWords(c, fl.Name, words...)
			}
			if dirFlags[fl.Name] {
				_ = cobra.MarkFlagDirname(c.Flags(), fl.Name) // cannot fail: the flag exists
			}
		})
	}
	return root
}

// flagWords are the values shell completion offers for a flag, by name: a flag name means
// the same in every command that has it. Flags not listed here complete file names.
var flagWords = map[string][]string{
	"auth":                  {"oidc", "dev"},
	"log-level":             {"debug", "info", "warn", "error"},
	"referential-integrity": {store.IntegrityStrict, store.IntegrityOff},
	"shape":                 {bench.ShapePut, bench.ShapePost},
	"sqlite-synchronous":    {"NORMAL", "FULL"},
	"mongo-read-concern":    {"majority", "local", "available"},
	"facility-kind":         {auth.FacilityHospital, auth.FacilityNursery, auth.FacilitySchool, auth.FacilityChildGuidance},
}

// dirFlags are the flags whose value is a directory.
var dirFlags = map[string]bool{"data": true, "audit-checkpoint-dir": true}

// allCommands returns c and every command below it.
func allCommands(c *cobra.Command) []*cobra.Command {
	all := []*cobra.Command{c}
	for _, sub := range c.Commands() {
		all = append(all, allCommands(sub)...)
	}
	return all
}

// usageArgs marks the errors of an argument validator as usage errors.
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		err := check(c, args)
		if err == nil || errors.Is(err, errUsage) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
}

// noArgs is the validator of commands that take no positional argument.
func noArgs(_ *cobra.Command, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, args[0])
	}
	return nil
}

// groupCmd returns a command that only holds subcommands.
func groupCmd(use, short string) *cobra.Command {
	return &cobra.Command{Use: use, Short: short, RunE: runGroup}
}

// runGroup runs a command that only holds subcommands, alone or with an unknown subcommand:
// a usage error that lists them. (Without it, cobra would print the help and exit 0.)
func runGroup(c *cobra.Command, args []string) error {
	if len(args) > 0 {
		return unknownCommand(c, args[0])
	}
	var names []string
	for _, sub := range c.Commands() {
		if sub.IsAvailableCommand() {
			names = append(names, sub.Name())
		}
	}
	return fmt.Errorf("%w: %s needs a command: %s", errUsage, c.CommandPath(), strings.Join(names, ", "))
}

func unknownCommand(c *cobra.Command, name string) error {
	err := fmt.Errorf("%w: unknown command %q for %q", errUsage, name, c.CommandPath())
	if s := c.SuggestionsFor(name); len(s) > 0 {
		err = fmt.Errorf("%w (did you mean %s?)", err, strings.Join(s, " or "))
	}
	return err
}

// flagError makes a flag parsing error a usage error. The standard flag package, which the
// command line used before, also took long flags with one dash (-data); pflag reads -data as
// the shorthands d, a, t, a, so the error points to the two-dash form.
func flagError(c *cobra.Command, err error) error {
	var unknown *pflag.NotExistError
	if errors.As(err, &unknown) {
		name, _, _ := strings.Cut(unknown.GetSpecifiedShortnames(), "=")
		if len(name) > 1 && c.Flags().Lookup(name) != nil {
			return fmt.Errorf("%w: %v (long flags take two dashes: --%s)", errUsage, err, name)
		}
	}
	return fmt.Errorf("%w: %v", errUsage, err)
}

// completeWords offers words as the values of c's flag name in shell completion.
func completeWords(c *cobra.Command, name string, words ...string) {
	if err := c.RegisterFlagCompletionFunc(name, cobra.FixedCompletions(words, cobra.ShellCompDirectiveNoFileComp)); err != nil {
		panic(err) // registered twice: a mistake in this package, caught by any test
	}
}
