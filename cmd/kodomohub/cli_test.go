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
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra/doc"
)

// runCLI runs a command line in process and returns its standard output and error.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), err
}

// TestHelpIsPerCommand: the help of a command lists its own flags, not another command's.
func TestHelpIsPerCommand(t *testing.T) {
	for _, c := range []struct {
		cmd       string
		want, not []string
	}{
		{"demo", []string{"--listen", "--data", "--keep", "--auth"}, []string{"--public-url", "--rate-limit", "--mongo-pool", "--audit-key-file", "--cpuprofile"}},
		{"serve", []string{"--listen", "--public-url", "--auth", "--config", "--mongo-uri", "--audit-key-file"}, []string{"--keep"}},
		{"tenant create", []string{"--name", "--referential-integrity", "--data"}, []string{"--tenant"}},
		{"tenant list", []string{"--data", "--mongo-uri"}, []string{"--name", "--referential-integrity"}},
		{"client create", []string{"--tenant", "--jwks-file", "--scope"}, []string{"--ttl"}},
		{"client list", []string{"--tenant", "--data"}, []string{"--jwks-file", "--scope", "--rate-limit"}},
		{"dev-token", []string{"--tenant", "--scope", "--ttl"}, []string{"--jwks-file", "--listen"}},
		{"audit verify", []string{"--tenant", "--key-file", "--checkpoints"}, []string{"--out"}},
		{"audit checkpoints", []string{"--tenant", "--out"}, []string{"--key-file"}},
		{"bench", []string{"ingest", "read", "search", "auth"}, []string{"--url"}},
		{"bench ingest", []string{"--url", "--resources"}, []string{"--ids-from", "--families"}},
		{"bench read", []string{"--url", "--ids-from"}, []string{"--resources", "--families"}},
		{"bench search", []string{"--ids-from", "--families", "--kinds"}, []string{"--resources", "--rounds"}},
		{"bench auth", []string{"--rounds", "--resources"}, []string{"--url", "--token"}},
	} {
		t.Run(strings.ReplaceAll(c.cmd, " ", "-"), func(t *testing.T) {
			out, _, err := runCLI(t, append(strings.Fields(c.cmd), "-h")...)
			if err != nil {
				t.Fatalf("%s -h: %v", c.cmd, err)
			}
			if !strings.Contains(out, "kodomohub "+c.cmd) {
				t.Errorf("%s -h does not show its usage line:\n%s", c.cmd, out)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("%s -h lacks %s:\n%s", c.cmd, w, out)
				}
			}
			for _, n := range c.not {
				if strings.Contains(out, n) {
					t.Errorf("%s -h shows %s, which is not its own:\n%s", c.cmd, n, out)
				}
			}
		})
	}
}

// TestEveryCommandHasHelp: -h succeeds on every command and describes it.
func TestEveryCommandHasHelp(t *testing.T) {
	for _, c := range allCommands(newRootCmd(io.Discard, io.Discard)) {
		path := strings.Fields(c.CommandPath())[1:]
		t.Run(strings.Join(append([]string{"kodomohub"}, path...), "-"), func(t *testing.T) {
			if c.Short == "" {
				t.Errorf("%s has no short description", c.CommandPath())
			}
			out, _, err := runCLI(t, append(path, "--help")...)
			if err != nil || !strings.Contains(out, "Usage:") {
				t.Fatalf("%s --help: %v\n%s", c.CommandPath(), err, out)
			}
		})
	}
}

// TestUsageErrors: a usage error is errUsage (exit status 2) and prints the usage of the
// command it concerns.
func TestUsageErrors(t *testing.T) {
	for _, c := range []struct {
		name  string
		args  []string
		usage string // the usage line printed
		msg   string // in the error
	}{
		{"NoCommand", nil, "kodomohub [command]", "no command"},
		{"UnknownCommand", []string{"serv"}, "kodomohub [command]", `unknown command "serv" for "kodomohub" (did you mean serve?)`},
		{"GroupWithoutCommand", []string{"tenant"}, "kodomohub tenant [command]", "needs a command: configure, create, list"},
		{"UnknownSubcommand", []string{"bench", "write"}, "kodomohub bench [command]", `unknown command "write"`},
		{"BenchWithoutCommand", []string{"bench"}, "kodomohub bench [command]", "needs a command: auth, ingest, read, search"},
		{"FlagOfAnotherCommand", []string{"tenant", "list", "--name", "x"}, "kodomohub tenant list", "unknown flag: --name"},
		{"FlagOfAnotherBench", []string{"bench", "ingest", "--ids-from", "5"}, "kodomohub bench ingest", "unknown flag: --ids-from"},
		{"FlagWithoutValue", []string{"dev-token", "--tenant"}, "kodomohub dev-token", "flag needs an argument: --tenant"},
		{"OneDashLongFlag", []string{"serve", "-data", "x"}, "kodomohub serve", "long flags take two dashes: --data"},
		{"MissingPositional", []string{"tenant", "create", "--name", "美里町"}, "kodomohub tenant create ID", "tenant create ID --name NAME"},
		{"UnexpectedArgument", []string{"dev-token", "misato"}, "kodomohub dev-token", `unexpected argument "misato"`},
		{"MissingFlag", []string{"bench", "read", "--url", "http://127.0.0.1:1/t/fhir", "--token", "x"}, "kodomohub bench read", "--ids-from"},
		{"CompletionUnknownShell", []string{"completion", "tcsh"}, "kodomohub completion [command]", `unknown command "tcsh"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, errOut, err := runCLI(t, c.args...)
			if !errors.Is(err, errUsage) {
				t.Fatalf("err %v, want a usage error", err)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Errorf("err %q, want it to say %q", err, c.msg)
			}
			if !strings.Contains(errOut, "Usage:") || !strings.Contains(errOut, "\n  "+c.usage) {
				t.Errorf("standard error lacks the usage %q:\n%s", c.usage, errOut)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"version"}} {
		out, _, err := runCLI(t, args...)
		if err != nil || out != "kodomohub "+version+"\n" {
			t.Errorf("kodomohub %s: %q, %v; want %q", args[0], out, err, "kodomohub "+version+"\n")
		}
	}
}

// TestExitStatus runs the binary: 0 for help and --version, 2 for a usage error, 1 for a
// command that fails.
func TestExitStatus(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	bin := buildBinary(t)
	for _, c := range []struct {
		name   string
		args   []string
		status int
		out    string // on standard output (status 0) or standard error
	}{
		{"BenchHelp", []string{"bench", "-h"}, 0, "kodomohub bench [command]"},
		{"BenchIngestHelp", []string{"bench", "ingest", "--help"}, 0, "--resources"},
		{"Version", []string{"--version"}, 0, "kodomohub " + version},
		{"BenchAlone", []string{"bench"}, 2, "kodomohub: usage: kodomohub bench needs a command"},
		{"FlagOfAnotherCommand", []string{"tenant", "list", "--name", "x"}, 2, "Usage:\n  kodomohub tenant list [flags]"},
		{"UnknownTenant", []string{"dev-token", "--data", t.TempDir(), "--tenant", "nowhere", "--scope", "system/*.rs"}, 1, `kodomohub: tenant "nowhere"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			cmd := exec.Command(bin, c.args...)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			status := 0
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				status = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			out := stdout.String()
			if status != 0 {
				out = stderr.String()
			}
			if status != c.status || !strings.Contains(out, c.out) {
				t.Errorf("exit status %d, want %d; want %q in:\n%s", status, c.status, c.out, out)
			}
		})
	}
}

func TestCompletion(t *testing.T) {
	for shell, want := range map[string]string{
		"bash": "__start_kodomohub",
		"zsh":  "#compdef kodomohub",
		"fish": "complete -c kodomohub",
	} {
		t.Run(shell, func(t *testing.T) {
			out, _, err := runCLI(t, "completion", shell)
			if err != nil || !strings.Contains(out, want) {
				t.Errorf("completion %s: %v; the script lacks %q", shell, err, want)
			}
		})
	}
	// What the scripts ask the binary for: the values of a flag, then the subcommands.
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"serve", "--auth", ""}, []string{"oidc", "dev"}},
		{[]string{"tenant", "create", "misato", "--referential-integrity", ""}, []string{"strict", "off"}},
		{[]string{"bench", ""}, []string{"auth", "ingest", "read", "search"}},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			out, _, err := runCLI(t, append([]string{cobraCompleteCmd}, c.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, line := range strings.Split(out, "\n") {
				if line != "" && !strings.HasPrefix(line, ":") && !strings.HasPrefix(line, "Completion ended") {
					got = append(got, strings.SplitN(line, "\t", 2)[0])
				}
			}
			if d := cmp.Diff(c.want, got); d != "" {
				t.Errorf("completions (-want +got):\n%s", d)
			}
		})
	}
}

// cobraCompleteCmd is the hidden command the completion scripts call.
const cobraCompleteCmd = "__complete"

// syncBuffer is a bytes.Buffer that a running command writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runDemoUntilServing runs demo in process with TMPDIR set to a directory of the test, waits
// for its banner, then stops it as Ctrl-C would. It returns what the demo printed and the
// demo directories that were in TMPDIR while it served.
func runDemoUntilServing(t *testing.T, args ...string) (out string, tempDirs []string) {
	t.Helper()
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var buf syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"demo", "--listen", "127.0.0.1:0", "--log-level", "error"}, args...), &buf, io.Discard)
	}()
	deadline := time.After(2 * time.Minute)
	for !strings.Contains(buf.String(), "Try:") {
		select {
		case err := <-done:
			t.Fatalf("demo stopped before serving: %v\n%s", err, buf.String())
		case <-deadline:
			t.Fatalf("demo did not serve within 2 minutes:\n%s", buf.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	tempDirs, err := filepath.Glob(filepath.Join(tmp, "kodomohub-demo-*"))
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("demo: %v\n%s", err, buf.String())
	}
	return buf.String(), tempDirs
}

func TestDemoData(t *testing.T) {
	t.Run("TemporaryRemovedOnExit", func(t *testing.T) {
		out, dirs := runDemoUntilServing(t)
		if len(dirs) != 1 {
			t.Fatalf("temporary demo directories while serving: %v, want one", dirs)
		}
		if !strings.Contains(out, "data in "+dirs[0]+" (temporary") {
			t.Errorf("the banner does not say where the data is:\n%s", out)
		}
		if _, err := os.Stat(dirs[0]); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s after the demo stopped: %v, want it removed", dirs[0], err)
		}
		if !strings.Contains(out, "removed the temporary data in "+dirs[0]) {
			t.Errorf("the demo does not say it removed its data:\n%s", out)
		}
	})
	t.Run("KeepKeepsIt", func(t *testing.T) {
		out, dirs := runDemoUntilServing(t, "--keep")
		if len(dirs) != 1 {
			t.Fatalf("temporary demo directories while serving: %v, want one", dirs)
		}
		if entries, err := os.ReadDir(dirs[0]); err != nil || len(entries) == 0 {
			t.Errorf("%s after the demo stopped with --keep: %d entries, %v", dirs[0], len(entries), err)
		}
		if !strings.Contains(out, "--data "+dirs[0]) {
			t.Errorf("the demo does not say how to use the kept data:\n%s", out)
		}
	})
	t.Run("DataDirStays", func(t *testing.T) {
		data := filepath.Join(t.TempDir(), "demo")
		out, dirs := runDemoUntilServing(t, "--data", data)
		if len(dirs) != 0 {
			t.Errorf("temporary directories %v with --data", dirs)
		}
		if entries, err := os.ReadDir(data); err != nil || len(entries) == 0 {
			t.Errorf("%s after the demo stopped: %d entries, %v", data, len(entries), err)
		}
		if !strings.Contains(out, "data in "+data+"\n") {
			t.Errorf("the banner does not say where the data is:\n%s", out)
		}
	})
	t.Run("AuthOIDCRefused", func(t *testing.T) {
		tmp := t.TempDir()
		t.Setenv("TMPDIR", tmp)
		_, _, err := runCLI(t, "demo", "--auth", "oidc", "--listen", "127.0.0.1:0")
		if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "serve --auth oidc") {
			t.Fatalf("err %v, want a usage error that points to serve --auth oidc", err)
		}
		if dirs, _ := filepath.Glob(filepath.Join(tmp, "kodomohub-demo-*")); len(dirs) != 0 {
			t.Errorf("a refused demo left %v", dirs)
		}
	})
}

var update = flag.Bool("update", false, "rewrite docs/cli from the current command tree")

// cliReference is the generated command reference, from this package's directory.
const cliReference = "../../docs/cli"

// TestCLIReference fails when docs/cli is not what the command tree generates. Regenerate it
// with `go generate ./cmd/kodomohub` (which runs this test with -update).
func TestCLIReference(t *testing.T) {
	gen := t.TempDir()
	if err := doc.GenMarkdownTree(newRootCmd(io.Discard, io.Discard), gen); err != nil {
		t.Fatal(err)
	}
	got := readMarkdown(t, gen)
	if *update {
		old, _ := filepath.Glob(filepath.Join(cliReference, "*.md"))
		for _, f := range old {
			if err := os.Remove(f); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.MkdirAll(cliReference, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, text := range got {
			if err := os.WriteFile(filepath.Join(cliReference, name), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	if d := cmp.Diff(readMarkdown(t, cliReference), got); d != "" {
		t.Errorf("docs/cli is stale: run go generate ./cmd/kodomohub (-docs/cli +generated):\n%s", d)
	}
}

// readMarkdown returns the Markdown files of dir by name.
func readMarkdown(t *testing.T, dir string) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m[filepath.Base(f)] = string(b)
	}
	return m
}
