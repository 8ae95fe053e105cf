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

// Package mongotest starts an embedded FerretDB (a MongoDB wire-protocol server on SQLite)
// for tests, so that the MongoDB backend runs over the real driver and the real wire
// protocol without an installed server. Set KODOMOHUB_TEST_MONGO_URI to use a real MongoDB
// instead (URI returns it).
package mongotest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// EnvURI names the environment variable that points the tests at a real MongoDB.
const EnvURI = "KODOMOHUB_TEST_MONGO_URI"

// Server is a running embedded FerretDB.
type Server struct {
	dir, addr string

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
	uri    string
}

// Start starts FerretDB with its SQLite handler on dir, listening on addr ("127.0.0.1:0"
// for a free port). Its logs are discarded: FerretDB is chatty at WARN level.
func Start(dir, addr string) (*Server, error) {
	s := &Server{dir: dir, addr: addr}
	if err := s.start(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Server) start() error {
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: s.addr},
		Handler:   "sqlite",
		SQLiteURL: "file:" + s.dir + "/?" + sqliteParams,
		Logger:    logger(),
	})
	if err != nil {
		return fmt.Errorf("mongotest: start FerretDB: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.Run(ctx)
	}()
	uri := f.MongoDBURI()
	// Wait until it accepts connections.
	host := strings.TrimSuffix(strings.TrimPrefix(uri, "mongodb://"), "/")
	if i := strings.IndexAny(host, "/?"); i >= 0 {
		host = host[:i]
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", host, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			cancel()
			<-done
			return fmt.Errorf("mongotest: FerretDB at %s does not accept connections: %w", host, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.mu.Lock()
	s.cancel, s.done, s.uri, s.addr = cancel, done, uri, host
	s.mu.Unlock()
	return nil
}

// sqliteParams tune FerretDB's SQLite files for tests on a loaded machine: writers wait up to a
// minute for one another (FerretDB's default of 10s ended in "database is locked" under load),
// and a commit syncs the WAL only at checkpoints (synchronous NORMAL: a test's data need not
// survive a power cut, and a stopped server loses nothing).
const sqliteParams = "_pragma=busy_timeout(60000)&_pragma=synchronous(NORMAL)"

// logger is FerretDB's own: silent, or its errors on stderr with KODOMOHUB_FERRETDB_LOG=1.
func logger() *slog.Logger {
	if os.Getenv("KODOMOHUB_FERRETDB_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError + 8}))
}

// URI is the server's mongodb:// URI.
func (s *Server) URI() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.uri
}

// Stop stops the server (connections are closed; the data stays in dir).
func (s *Server) Stop() {
	s.mu.Lock()
	cancel, done := s.cancel, s.done
	s.cancel = nil
	s.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// Restart starts the server again on the same address and data directory.
func (s *Server) Restart() error {
	s.Stop()
	var err error
	for range 50 { // the port may linger for a moment
		if err = s.start(); err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

var (
	shared     *Server
	sharedOnce sync.Once
	sharedErr  error
)

// URI returns KODOMOHUB_TEST_MONGO_URI when set, else the URI of an embedded FerretDB
// shared by the whole test binary (started at first use in a temporary directory).
func URI(tb testing.TB) string {
	tb.Helper()
	if u := os.Getenv(EnvURI); u != "" {
		return u
	}
	sharedOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kodomohub-ferretdb-")
		if err != nil {
			sharedErr = err
			return
		}
		shared, sharedErr = Start(dir, "127.0.0.1:0")
	})
	if sharedErr != nil {
		tb.Fatal(sharedErr)
	}
	return shared.URI()
}

// StartFerret starts an embedded FerretDB of its own for tb in a temporary directory
// (stopped by tb.Cleanup), for tests that stop and restart the server.
func StartFerret(tb testing.TB) *Server {
	tb.Helper()
	s, err := Start(tb.TempDir(), "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// DBName returns a fresh database name ("kh_" and random hex), for one test's data.
func DBName() string {
	b := make([]byte, 6)
	rand.Read(b)
	return "kh_" + hex.EncodeToString(b)
}
