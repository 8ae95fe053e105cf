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
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kodomohub/kodomohub/store/mongo/mongotest"
)

// startServerArgs starts `kodomohub serve --auth dev` with the given storage flags.
func startServerArgs(t *testing.T, bin string, storage ...string) *serverProc {
	t.Helper()
	addr := freeAddr(t)
	logPath := filepath.Join(t.TempDir(), "serve.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	p := &serverProc{base: "http://" + addr, log: logPath, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, append([]string{"serve", "--auth", "dev", "--listen", addr}, storage...)...)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); logf.Close(); close(p.exited) }()
	t.Cleanup(func() {
		p.kill(t)
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("log of %s:\n%s", addr, b)
		}
	})
	if err := p.waitHealthy(60 * time.Second); err != nil {
		b, _ := os.ReadFile(logPath)
		t.Fatalf("the server did not start: %v\n%s", err, b)
	}
	return p
}

// fhirDo sends one request and returns the status and body.
func fhirDo(t *testing.T, method, url, token string, body []byte, header ...string) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/fhir+json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := crashHTTP.Do(req)
	if err != nil {
		return 0, []byte(err.Error()), nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

// TestMongoTwoProcesses runs two servers on one database of an embedded FerretDB: each sees
// the tenants and writes of the other, concurrent If-Match updates through both lose
// nothing, and when the database goes away requests get 503 and /readyz turns false until
// it is back.
func TestMongoTwoProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs two servers; skipped with -short")
	}
	bin := buildBinary(t)
	fdb := mongotest.StartFerret(t)
	storage := []string{"--mongo-uri", fdb.URI(), "--mongo-db", "twoproc", "--mongo-write-concern", "1", "--mongo-timeout", "5s"}
	mustRun(t, bin, append([]string{"tenant", "create", "misato", "--name", "美郷町", "--referential-integrity", "off"}, storage...)...)
	token := lastLine(mustRun(t, bin, append([]string{"dev-token", "--tenant", "misato", "--scope", "system/*.cruds"}, storage...)...))
	a := startServerArgs(t, bin, storage...)
	b := startServerArgs(t, bin, storage...)

	// A tenant created while both run is seen by both.
	mustRun(t, bin, append([]string{"tenant", "create", "kawajima", "--name", "川島町"}, storage...)...)
	tokenK := lastLine(mustRun(t, bin, append([]string{"dev-token", "--tenant", "kawajima", "--scope", "system/*.cruds"}, storage...)...))
	for _, p := range []*serverProc{a, b} {
		if st, body, _ := fhirDo(t, "PUT", p.base+"/kawajima/fhir/Patient/k1", tokenK, []byte(`{"resourceType":"Patient","id":"k1"}`)); st != 200 && st != 201 {
			t.Fatalf("PUT through %s: %d %s", p.base, st, body)
		}
	}

	// A counter updated with If-Match through both servers at once.
	if st, body, _ := fhirDo(t, "PUT", a.base+"/misato/fhir/Basic/counter", token, []byte(`{"resourceType":"Basic","id":"counter","code":{"text":"0"}}`)); st != 201 && st != 200 {
		t.Fatalf("create counter: %d %s", st, body)
	}
	const workers, each = 4, 5
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		p := []*serverProc{a, b}[w%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for done := 0; done < each; {
				st, body, h := fhirDo(t, "GET", p.base+"/misato/fhir/Basic/counter", token, nil)
				if st != 200 {
					errs <- fmt.Errorf("read: %d %s", st, body)
					return
				}
				var cur struct{ Code struct{ Text string } }
				json.Unmarshal(body, &cur)
				var n int
				fmt.Sscan(cur.Code.Text, &n)
				next := fmt.Sprintf(`{"resourceType":"Basic","id":"counter","code":{"text":"%d"}}`, n+1)
				st, body, _ = fhirDo(t, "PUT", p.base+"/misato/fhir/Basic/counter", token, []byte(next), "If-Match", h.Get("ETag"))
				switch st {
				case 200:
					done++
				case 409, 412:
				default:
					errs <- fmt.Errorf("update: %d %s", st, body)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, p := range []*serverProc{a, b} {
		st, body, h := fhirDo(t, "GET", p.base+"/misato/fhir/Basic/counter", token, nil)
		if st != 200 || !strings.Contains(string(body), fmt.Sprintf(`"text":"%d"`, workers*each)) || h.Get("ETag") != fmt.Sprintf(`W/"%d"`, 1+workers*each) {
			t.Fatalf("counter through %s: %d %s %s, want n=%d at v%d: an update was lost", p.base, st, h.Get("ETag"), body, workers*each, 1+workers*each)
		}
	}

	// The database goes away: 503 and not ready; it comes back: the servers recover.
	fdb.Stop()
	st, body, _ := fhirDo(t, "GET", a.base+"/misato/fhir/Basic/counter", token, nil)
	if st != 503 || !strings.Contains(string(body), "OperationOutcome") {
		t.Fatalf("read with the database down: %d %s, want 503 OperationOutcome", st, body)
	}
	if st, _, _ := fhirDo(t, "GET", a.base+"/readyz", "", nil); st == 200 {
		t.Fatalf("/readyz = 200 with the database down")
	}
	if err := fdb.Restart(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, _, _ := fhirDo(t, "GET", b.base+"/readyz", "", nil)
		st2, body, _ := fhirDo(t, "GET", b.base+"/misato/fhir/Basic/counter", token, nil)
		if st == 200 && st2 == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not recovered 60s after the database came back: readyz %d, read %d %s", st, st2, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestMongoCrashRecovery is TestCrashRecovery on the MongoDB backend (embedded FerretDB):
// SIGKILLs during transaction bundles leave every bundle whole or absent, before and after
// recovery.
func TestMongoCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and kills it; skipped with -short")
	}
	bin := buildBinary(t)
	fdb := mongotest.StartFerret(t)
	storage := []string{"--mongo-uri", fdb.URI(), "--mongo-db", "crash", "--mongo-write-concern", "1"}
	mustRun(t, bin, append([]string{"tenant", "create", "crash", "--name", "崩壊町", "--referential-integrity", "off"}, storage...)...)
	token := lastLine(mustRun(t, bin, append([]string{"dev-token", "--tenant", "crash", "--scope", "system/*.cruds"}, storage...)...))
	var sent []*crashBundle
	var mu sync.Mutex
	caught := 0
	for round := range 2 {
		srv := startServerArgs(t, bin, storage...)
		c := &crashClient{base: srv.base + "/crash/fhir", token: token}
		verifyBundles(t, c, sent, round)
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					mu.Lock()
					b := newCrashBundle(len(sent))
					sent = append(sent, b)
					mu.Unlock()
					ok, err := c.transaction(b)
					mu.Lock()
					b.acked = ok
					mu.Unlock()
					if err != nil && !errors.As(err, new(*statusError)) {
						select {
						case <-stop:
						default:
							t.Errorf("bundle %d before the kill: %v", b.n, err)
						}
						return
					}
				}
			}()
		}
		time.Sleep(3 * time.Second)
		close(stop) // before the kill: the bundles it cuts are not errors
		srv.kill(t)
		wg.Wait()
		mu.Lock()
		for _, b := range sent {
			if !b.acked {
				caught++
			}
		}
		mu.Unlock()
	}
	if caught == 0 {
		t.Log("no kill caught a bundle in flight")
	}
	srv := startServerArgs(t, bin, storage...)
	verifyBundles(t, &crashClient{base: srv.base + "/crash/fhir", token: token}, sent, 2)
	srv.stop(t)
}
