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

// Command kodomohub is the hub's one binary: the FHIR server, its admin commands, the demo
// and the benchmarks. Run `kodomohub help` for the commands; docs/cli has their reference.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

//go:generate go test -run TestCLIReference -update .

// version is set at build time with -ldflags "-X main.version=…".
var version = "0.1.0-dev"

// errUsage marks errors caused by bad command-line use (exit status 2).
var errUsage = errors.New("usage")

// errCouldNotRun marks a command that could not run for a reason other than its command
// line (an unreadable input, a town without what the command needs): exit status 2, without
// the command's usage.
var errCouldNotRun = errors.New("could not run")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil:
	case errors.Is(err, errUsage), errors.Is(err, errCouldNotRun):
		fmt.Fprintln(os.Stderr, "kodomohub:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "kodomohub:", err)
		os.Exit(1)
	}
}
