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
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Crash test parameters: 4 concurrent writers, bundles of 20 PUTs, 3 SIGKILLs.
const (
	crashWorkers     = 4
	crashEntries     = 20
	crashRounds      = 3
	crashAckedBefore = 15 // bundles a round must have acknowledged before the kill
)

// crashBundle is one transaction the test sent.
type crashBundle struct {
	n     int
	body  []byte
	want  []map[string]any // resource of each entry, as sent
	urls  []string         // Type/id of each entry
	acked bool             // a 200 transaction-response came back
}

// TestCrashRecovery SIGKILLs a real server while transaction bundles are in flight, restarts
// it on the same data directory and checks that every acknowledged bundle is fully present
// with the content sent, and that every unacknowledged one is present entirely or not at all.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and kills it several times; skipped with -short")
	}
	start := time.Now()
	bin := buildBinary(t)
	dir := t.TempDir()
	mustRun(t, bin, "tenant", "create", "crash", "--name", "崩壊町", "--referential-integrity", "off", "--data", dir)
	token := lastLine(mustRun(t, bin, "dev-token", "--data", dir, "--tenant", "crash", "--scope", "system/*.cruds"))
	r := rand.New(rand.NewPCG(2026, 11))

	var sent []*crashBundle
	unackedTotal := 0
	for round := range crashRounds {
		srv := startServer(t, bin, dir)
		c := &crashClient{base: srv.base + "/crash/fhir", token: token}
		verifyBundles(t, c, sent, round)

		// Write until enough bundles are acknowledged and some are in flight, then kill.
		var (
			mu       sync.Mutex
			next     = len(sent)
			roundAck atomic.Int64
			inflight atomic.Int64
			stop     atomic.Bool
			wg       sync.WaitGroup
		)
		for range crashWorkers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for !stop.Load() {
					mu.Lock()
					b := newCrashBundle(next)
					next++
					sent = append(sent, b)
					mu.Unlock()
					inflight.Add(1)
					ok, err := c.transaction(b)
					inflight.Add(-1)
					if ok {
						mu.Lock()
						b.acked = true
						mu.Unlock()
						roundAck.Add(1)
					} else if errors.As(err, new(*statusError)) {
						// Refused, not lost: still checked as all-or-nothing below.
						t.Logf("round %d: bundle %d: %v", round, b.n, err)
					} else if err != nil && !stop.Load() {
						t.Errorf("round %d: bundle %d failed before the kill: %v", round, b.n, err)
						return
					}
				}
			}()
		}
		deadline := time.Now().Add(30 * time.Second)
		for roundAck.Load() < crashAckedBefore && time.Now().Before(deadline) && !t.Failed() {
			time.Sleep(5 * time.Millisecond)
		}
		if roundAck.Load() < crashAckedBefore {
			stop.Store(true)
			srv.kill(t)
			wg.Wait()
			t.Fatalf("round %d: only %d bundles acknowledged in 30s", round, roundAck.Load())
		}
		time.Sleep(time.Duration(r.IntN(200)) * time.Millisecond) // kill at a random point in the stream
		for inflight.Load() < 2 && time.Now().Before(deadline) {
			time.Sleep(100 * time.Microsecond)
		}
		stop.Store(true)
		srv.kill(t)
		wg.Wait()
		mu.Lock()
		var acked, unacked int
		for _, b := range sent {
			if b.acked {
				acked++
			} else {
				unacked++
			}
		}
		mu.Unlock()
		unackedTotal = unacked
		t.Logf("round %d: killed with %d bundles sent in all, %d acknowledged, %d not", round, len(sent), acked, unacked)
	}
	if unackedTotal == 0 {
		t.Error("no kill caught a bundle in flight; the all-or-nothing half of the test proved nothing")
	}
	srv := startServer(t, bin, dir)
	verifyBundles(t, &crashClient{base: srv.base + "/crash/fhir", token: token}, sent, crashRounds)
	srv.stop(t)
	t.Logf("%d bundles of %d entries checked after %d kills in %v", len(sent), crashEntries, crashRounds, time.Since(start).Round(time.Millisecond))
}

// newCrashBundle builds bundle n: a Patient crash-n-0 and Observations and Patients
// crash-n-1 … that differ in content, all written with PUT.
func newCrashBundle(n int) *crashBundle {
	b := &crashBundle{n: n}
	var entries []map[string]any
	for k := range crashEntries {
		id := fmt.Sprintf("crash-%d-%d", n, k)
		var res map[string]any
		if k%2 == 0 {
			res = map[string]any{"resourceType": "Patient", "id": id, "gender": "female",
				"name":      []any{map[string]any{"family": "崩壊", "given": []any{fmt.Sprintf("束%d の%d", n, k)}}},
				"birthDate": fmt.Sprintf("20%02d-%02d-%02d", 10+n%15, 1+k%12, 1+n%28)}
		} else {
			res = map[string]any{"resourceType": "Observation", "id": id, "status": "final",
				"code":          map[string]any{"coding": []any{map[string]any{"system": "http://loinc.org", "code": "29463-7"}}},
				"subject":       map[string]any{"reference": fmt.Sprintf("Patient/crash-%d-0", n)},
				"valueQuantity": map[string]any{"value": float64(n*100+k) / 10, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"}}
		}
		url := res["resourceType"].(string) + "/" + id
		b.want = append(b.want, res)
		b.urls = append(b.urls, url)
		entries = append(entries, map[string]any{"resource": res, "request": map[string]any{"method": "PUT", "url": url}})
	}
	b.body, _ = json.Marshal(map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": entries})
	return b
}

// verifyBundles checks every bundle sent so far against the restarted server.
func verifyBundles(t *testing.T, c *crashClient, sent []*crashBundle, round int) {
	t.Helper()
	type result struct {
		present int
		err     error
	}
	results := make([]result, len(sent))
	var wg sync.WaitGroup
	work := make(chan int)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				b := sent[i]
				for k, url := range b.urls {
					got, err := c.read(url)
					if err != nil {
						results[i].err = err
						break
					}
					if got == nil {
						continue
					}
					results[i].present++
					delete(got, "meta")
					if !reflect.DeepEqual(got, b.want[k]) {
						results[i].err = fmt.Errorf("%s reads back as %v, want %v", url, got, b.want[k])
						break
					}
				}
			}
		}()
	}
	for i := range sent {
		work <- i
	}
	close(work)
	wg.Wait()
	var whole, none int
	for i, res := range results {
		b := sent[i]
		switch {
		case res.err != nil:
			t.Fatalf("after kill %d: bundle %d: %v", round, b.n, res.err)
		case b.acked && res.present != crashEntries:
			t.Errorf("after kill %d: acknowledged bundle %d has %d of %d entries", round, b.n, res.present, crashEntries)
		case res.present != 0 && res.present != crashEntries:
			t.Errorf("after kill %d: unacknowledged bundle %d is partially present: %d of %d entries", round, b.n, res.present, crashEntries)
		case !b.acked && res.present == crashEntries:
			whole++
		case !b.acked:
			none++
		}
	}
	if round > 0 {
		t.Logf("after kill %d: %d bundles checked; of the unacknowledged, %d committed whole and %d absent", round, len(sent), whole, none)
	}
}

type statusError struct {
	status int
	body   string
}

func (e *statusError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.status, e.body) }

type crashClient struct {
	base, token string
}

var crashHTTP = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 16}}

// transaction posts b and reports whether a complete 200 transaction-response came back.
// A non-200 answer is not an acknowledgement and not an error: the bundle must then be
// all-or-nothing like any other unacknowledged one.
func (c *crashClient) transaction(b *crashBundle) (bool, error) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, c.base, bytes.NewReader(b.body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/fhir+json")
	resp, err := crashHTTP.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return false, err
	}
	if resp.StatusCode != http.StatusOK {
		return false, &statusError{resp.StatusCode, string(body)}
	}
	var out struct {
		Type  string
		Entry []struct{ Response struct{ Status string } }
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return false, err
	}
	if out.Type != "transaction-response" || len(out.Entry) != crashEntries {
		return false, fmt.Errorf("not a transaction-response of %d entries: %s", crashEntries, body)
	}
	return true, nil
}

// read returns the resource at url (Type/id), nil if it does not exist.
func (c *crashClient) read(url string) (map[string]any, error) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, c.base+"/"+url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := crashHTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	switch resp.StatusCode {
	case http.StatusOK:
		var m map[string]any
		return m, json.Unmarshal(body, &m)
	case http.StatusNotFound, http.StatusGone:
		return nil, nil
	}
	return nil, fmt.Errorf("GET %s: HTTP %d: %s", url, resp.StatusCode, body)
}
