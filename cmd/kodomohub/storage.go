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
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/pflag"

	"github.com/kodomohub/kodomohub/store"
	"github.com/kodomohub/kodomohub/store/mongo"
	"github.com/kodomohub/kodomohub/store/sqlite"
)

// storageFlags select the backend, the same way for every command.
type storageFlags struct {
	data     string
	mongoURI string
	mongoDB  string
	sync     string

	mongoWrite, mongoRead string
	mongoTimeout          time.Duration
	mongoPool             uint64

	// audit, when set (serve and demo), gives the store its audit key (auditcfg.go).
	audit *auditFlags
}

func (f *storageFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.data, "data", "", "data directory of the embedded store")
	fs.StringVar(&f.mongoURI, "mongo-uri", "", "MongoDB connection string (instead of --data)")
	fs.StringVar(&f.mongoDB, "mongo-db", "kodomohub", "MongoDB database name")
	fs.StringVar(&f.mongoWrite, "mongo-write-concern", "majority", "MongoDB write concern: majority or a number of members")
	fs.StringVar(&f.mongoRead, "mongo-read-concern", "", "MongoDB read concern: majority (default with a majority write concern), local or available")
	fs.DurationVar(&f.mongoTimeout, "mongo-timeout", 10*time.Second, "MongoDB operation timeout")
	fs.Uint64Var(&f.mongoPool, "mongo-pool", 100, "MongoDB connection pool size per server")
	fs.StringVar(&f.sync, "sqlite-synchronous", "NORMAL", "embedded store durability: NORMAL (survives process crashes) or FULL (survives power loss)")
}

func (f *storageFlags) open(log *slog.Logger) (store.Store, error) {
	var key *store.AuditKey
	if f.audit != nil && (f.data == "") != (f.mongoURI == "") {
		if err := f.audit.load(f.data, log); err != nil {
			return nil, err
		}
		key = f.audit.key
	}
	switch {
	case f.data != "" && f.mongoURI != "":
		return nil, fmt.Errorf("%w: give --data or --mongo-uri, not both", errUsage)
	case f.mongoURI != "":
		s, err := mongo.Open(context.Background(), f.mongoURI, mongo.Options{Database: f.mongoDB, WriteConcern: f.mongoWrite,
			ReadConcern: f.mongoRead, Timeout: f.mongoTimeout, MaxPoolSize: f.mongoPool, AuditKey: key, Logger: log})
		if err != nil {
			return nil, err
		}
		log.Debug("opened MongoDB store", "db", f.mongoDB, "exact filters", s.Exact())
		return s, nil
	case f.data == "":
		return nil, fmt.Errorf("%w: --data DIR (or --mongo-uri) is required", errUsage)
	}
	s, err := sqlite.Open(f.data, sqlite.Options{Synchronous: f.sync, AuditKey: key, Logger: log})
	if err != nil {
		return nil, err
	}
	log.Debug("opened embedded store", "dir", f.data)
	return s, nil
}
