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
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// buildBinary builds this command into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH to build the binary")
	}
	bin := filepath.Join(t.TempDir(), "kodomohub")
	cmd := exec.Command(gobin, "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// mustRun runs the binary to completion and returns its standard output.
func mustRun(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("kodomohub %s: %v\n%s%s", strings.Join(args, " "), err, stdout.Bytes(), stderr.Bytes())
	}
	return stdout.String()
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// serverProc is a running `kodomohub serve`.
type serverProc struct {
	base   string // http://127.0.0.1:PORT
	cmd    *exec.Cmd
	log    string
	exited chan struct{}
	err    error // of Wait, once exited is closed
}

// startServer starts `serve --auth dev` on dir at a free loopback port and waits until
// /healthz answers. A port taken between choosing and binding is retried with another.
func startServer(t *testing.T, bin, dir string) *serverProc {
	t.Helper()
	var lastErr error
	for attempt := range 3 {
		addr := freeAddr(t)
		logPath := filepath.Join(t.TempDir(), "serve.log")
		logf, err := os.Create(logPath)
		if err != nil {
			t.Fatal(err)
		}
		p := &serverProc{base: "http://" + addr, log: logPath, exited: make(chan struct{})}
		p.cmd = exec.Command(bin, "serve", "--auth", "dev", "--listen", addr, "--data", dir)
		p.cmd.Stdout, p.cmd.Stderr = logf, logf
		if err := p.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { p.err = p.cmd.Wait(); logf.Close(); close(p.exited) }()
		t.Cleanup(func() { p.kill(t) })
		if lastErr = p.waitHealthy(60 * time.Second); lastErr == nil {
			return p
		}
		p.kill(t)
		b, _ := os.ReadFile(logPath)
		t.Logf("server start %d failed: %v\n%s", attempt, lastErr, b)
	}
	t.Fatalf("the server did not start: %v", lastErr)
	return nil
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func (p *serverProc) waitHealthy(timeout time.Duration) error {
	hc := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return errors.New("the server exited: " + errString(p.err))
		default:
		}
		if resp, err := hc.Get(p.base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("/healthz did not answer 200 in " + timeout.String())
}

func errString(err error) string {
	if err == nil {
		return "status 0"
	}
	return err.Error()
}

// kill sends SIGKILL (no shutdown, no flush) and waits for the process to be gone.
func (p *serverProc) kill(t *testing.T) {
	select {
	case <-p.exited:
		return
	default:
	}
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("kill: %v", err)
	}
	<-p.exited
}

// stop ends the server with SIGINT, as an operator would.
func (p *serverProc) stop(t *testing.T) {
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("interrupt: %v", err)
	}
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		t.Errorf("the server did not stop within 30s of SIGINT")
		p.kill(t)
	}
}
