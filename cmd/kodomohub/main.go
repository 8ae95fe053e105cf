// Command kodomohub is the hub's one binary: the FHIR server, its admin commands, the demo
// and the benchmarks. Run `kodomohub help` for the commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "0.1.0-dev"

const usage = `kodomohub: a FHIR R4 child-data linkage hub for municipalities

Usage:
  kodomohub demo [--listen 127.0.0.1:8080] [--data DIR]
  kodomohub serve --listen ADDR (--data DIR | --mongo-uri URI [--mongo-db NAME]) [--auth oidc|dev] [--config FILE]
  kodomohub tenant create ID --name NAME [--referential-integrity strict|off] (--data DIR | --mongo-uri URI)
  kodomohub tenant list (--data DIR | --mongo-uri URI)
  kodomohub dev-token (--data DIR | --mongo-uri URI) --tenant ID --scope "SMART scopes" [--role ROLE] [--facility Organization/ID] [--sub NAME]
  kodomohub client create --tenant ID (--jwks-file F | --jwks-url U) --scope "system/..." [--facility Organization/ID] (--data DIR | --mongo-uri URI)
  kodomohub client list --tenant ID (--data DIR | --mongo-uri URI)
  kodomohub audit verify --tenant ID (--data DIR | --mongo-uri URI) [--key-file F] [--checkpoint-key F] [--checkpoints FILE]... [--config FILE]
  kodomohub audit checkpoints --tenant ID (--data DIR | --mongo-uri URI) [--out FILE]
  kodomohub bench (ingest|read) --url BASE --token T [flags]
  kodomohub version

Run a command with -h for its flags.
`

// errUsage marks errors caused by bad command-line use (exit status 2).
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		fmt.Fprintln(os.Stderr, "kodomohub:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "kodomohub:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: no command", errUsage)
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return cmdServe(ctx, rest, stdout, stderr)
	case "demo":
		return cmdDemo(ctx, rest, stdout, stderr)
	case "tenant":
		return cmdTenant(ctx, rest, stdout, stderr)
	case "dev-token":
		return cmdDevToken(ctx, rest, stdout, stderr)
	case "client":
		return cmdClient(ctx, rest, stdout, stderr)
	case "audit":
		return cmdAudit(ctx, rest, stdout, stderr)
	case "bench":
		return cmdBench(ctx, rest, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "kodomohub", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("%w: unknown command %q", errUsage, cmd)
}

// newFlagSet returns a flag set that reports errors instead of exiting.
func newFlagSet(name string) *flag.FlagSet { return flag.NewFlagSet(name, flag.ContinueOnError) }

// parseArgs parses flags that may come before, between or after positional arguments
// (`tenant create misato --name 美里町`) and returns the positional ones.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
