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
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func TestConfigFileMongoAndRateLimit(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "kodomohub.yaml")
	if err := os.WriteFile(cfg, []byte(`mongo:
  uri: mongodb://db1,db2,db3/?replicaSet=rs0
  database: saitama
  writeConcern: "2"
  readConcern: local
  timeout: 3s
  pool: 20
rateLimit:
  perSecond: 5
`), 0o600); err != nil {
		t.Fatal(err)
	}
	var f serveFlags
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	f.register(fs, "127.0.0.1:0")
	if err := fs.Parse([]string{"--config", cfg, "--mongo-pool", "7"}); err != nil {
		t.Fatal(err)
	}
	if err := f.merge(fs); err != nil {
		t.Fatal(err)
	}
	s := f.storage
	if s.mongoURI != "mongodb://db1,db2,db3/?replicaSet=rs0" || s.mongoDB != "saitama" || s.mongoWrite != "2" ||
		s.mongoRead != "local" || s.mongoTimeout != 3*time.Second || s.mongoPool != 7 {
		t.Errorf("storage flags %+v (the --mongo-pool flag must win over the file)", s)
	}
	if f.rate.PerSecond != 5 || f.rate.Burst != 10 {
		t.Errorf("rate %+v, want 5/s with a burst of 10", f.rate)
	}
}
