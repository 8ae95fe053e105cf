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

package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Client sends FHIR requests to one tenant's base URL on a loopback server.
type Client struct {
	Base  string // e.g. http://127.0.0.1:8080/misato/fhir
	Token string
	HTTP  *http.Client
}

// NewClient checks that base is an http(s) URL on a loopback host and returns a Client whose
// connection pool fits the given concurrency.
func NewClient(base, token string, concurrency int) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("bench: --url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("bench: --url %q: need an http or https URL", base)
	}
	if !loopback(u.Hostname()) {
		return nil, fmt.Errorf("bench: --url %q: benchmarks run against a loopback server only (127.0.0.1, [::1], localhost)", base)
	}
	tr := &http.Transport{
		Proxy:               nil, // never through a proxy: the traffic stays on loopback
		MaxIdleConns:        concurrency * 2,
		MaxIdleConnsPerHost: concurrency * 2,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	return &Client{Base: strings.TrimSuffix(base, "/"), Token: token, HTTP: &http.Client{Transport: tr, Timeout: 2 * time.Minute}}, nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// StatusError is a response with an unexpected status.
type StatusError struct {
	Status int
	Body   string // start of the response body (an OperationOutcome)
}

func (e *StatusError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.Status, e.Body) }

func (c *Client) do(ctx context.Context, method, path string, body []byte) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Accept", "application/fhir+json")
	if body != nil {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return &StatusError{Status: resp.StatusCode, Body: string(b)}
	}
	_, err = io.Copy(io.Discard, resp.Body) // read it all, as a real client would, and reuse the connection
	return err
}

// get GETs path and reads the answer into buf (reset first); any status but 200 is an error.
func (c *Client) get(ctx context.Context, path string, buf *bytes.Buffer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Base+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Accept", "application/fhir+json")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return &StatusError{Status: resp.StatusCode, Body: string(b)}
	}
	buf.Reset()
	_, err = buf.ReadFrom(resp.Body)
	return err
}

// IngestOp posts family bundle seq of w as a transaction.
func (c *Client) IngestOp(w Workload) Op {
	return func(ctx context.Context, seq int64) (int, error) {
		return w.BundleSize, c.do(ctx, http.MethodPost, "", w.Bundle(seq))
	}
}

// ReadOp reads a resource of w chosen by pick, which returns a resource number in [0, n).
// pick is called from several workers at once and must be safe for that.
func (c *Client) ReadOp(w Workload, pick func() int64) Op {
	return func(ctx context.Context, _ int64) (int, error) {
		typ, id := w.Ref(pick())
		return 1, c.do(ctx, http.MethodGet, "/"+typ+"/"+id, nil)
	}
}

// MetricsURL is the server's /metrics for a tenant base URL: the path is dropped.
func MetricsURL(base string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	u.Path, u.RawPath, u.RawQuery = "/metrics", "", ""
	return u.String(), nil
}

// RSSSampler scrapes process_resident_memory_bytes from a /metrics URL and keeps the peak.
type RSSSampler struct {
	URL  string
	HTTP *http.Client

	mu      sync.Mutex
	peak    int64
	samples int
	err     error
}

// Run samples now and then every interval until ctx ends.
func (s *RSSSampler) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		s.sample(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *RSSSampler) sample(ctx context.Context) {
	v, err := scrapeRSS(ctx, s.HTTP, s.URL)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		if ctx.Err() == nil && s.err == nil {
			s.err = err
		}
		return
	}
	s.samples++
	s.peak = max(s.peak, v)
}

// Peak returns the largest RSS seen in bytes (0 if none) and the first scrape error.
func (s *RSSSampler) Peak() (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.samples == 0 && s.err == nil {
		return 0, errors.New("bench: no RSS sample")
	}
	return s.peak, s.err
}

func scrapeRSS(ctx context.Context, hc *http.Client, u string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("bench: %s: HTTP %d", u, resp.StatusCode)
	}
	return ParseRSS(resp.Body)
}

// ParseRSS finds process_resident_memory_bytes in a Prometheus text exposition.
func ParseRSS(r io.Reader) (int64, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), "process_resident_memory_bytes ")
		if !ok {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return 0, fmt.Errorf("bench: process_resident_memory_bytes %q: %w", v, err)
		}
		return int64(f), nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New("bench: no process_resident_memory_bytes in /metrics")
}
