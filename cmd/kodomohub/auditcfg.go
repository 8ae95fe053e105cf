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
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/kodomohub/kodomohub/audit"
	"github.com/kodomohub/kodomohub/store"
)

// The audit trail's keys and checkpoints (package audit): the head key seals every audit head
// the store writes, the signing key signs checkpoints. Both come from files outside the data
// directory in production; with --data and no file configured, serve creates them in the data
// directory (DIR/audit.key, DIR/audit-signing.pem, mode 0600), which protects against nobody
// who can read the directory: it says so in its log.

// auditConfig is the audit section of the --config file.
type auditConfig struct {
	KeyFile            string        `yaml:"keyFile"`
	SigningKeyFile     string        `yaml:"signingKeyFile"`
	CheckpointDir      string        `yaml:"checkpointDir"`
	CheckpointEvery    int64         `yaml:"checkpointEvery"`
	CheckpointInterval time.Duration `yaml:"checkpointInterval"`
}

// auditFlags are serve's audit settings, from flags and the config file, and the keys once
// loaded.
type auditFlags struct {
	keyFile, signingKeyFile, checkpointDir string
	every                                  int64
	interval                               time.Duration

	loaded bool
	key    *store.AuditKey
	signer ed25519.PrivateKey
}

func (a *auditFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&a.keyFile, "audit-key-file", "", "file of the key that seals audit heads (base64 of 32+ random bytes, mode 0600; default with --data: DIR/audit.key, created; keep it outside the data directory in production)")
	fs.StringVar(&a.signingKeyFile, "audit-signing-key-file", "", "Ed25519 key (PKCS #8 PEM, mode 0600) that signs audit checkpoints (default with --data: DIR/audit-signing.pem, created)")
	fs.StringVar(&a.checkpointDir, "audit-checkpoint-dir", "", "directory outside the data where every audit checkpoint is also appended (TENANT.checkpoints.jsonl)")
	fs.Int64Var(&a.every, "audit-checkpoint-every", audit.DefaultEvery, "sign an audit checkpoint after this many entries")
	fs.DurationVar(&a.interval, "audit-checkpoint-interval", audit.DefaultInterval, "sign an audit checkpoint after this long, when entries were appended")
}

// merge applies the config file's audit section to every flag the command line did not set.
func (a *auditFlags) merge(set map[string]bool, c auditConfig) {
	str := func(name string, dst *string, v string) {
		if !set[name] && v != "" {
			*dst = v
		}
	}
	str("audit-key-file", &a.keyFile, c.KeyFile)
	str("audit-signing-key-file", &a.signingKeyFile, c.SigningKeyFile)
	str("audit-checkpoint-dir", &a.checkpointDir, c.CheckpointDir)
	if !set["audit-checkpoint-every"] && c.CheckpointEvery > 0 {
		a.every = c.CheckpointEvery
	}
	if !set["audit-checkpoint-interval"] && c.CheckpointInterval > 0 {
		a.interval = c.CheckpointInterval
	}
}

// defaultAuditKeys are the key files of the embedded store at data when none is configured.
func defaultAuditKeys(data string) (head, signing string) {
	return filepath.Join(data, "audit.key"), filepath.Join(data, "audit-signing.pem")
}

// load reads the key files once. With a data directory, a key without a configured file is
// the default one there, created when missing.
func (a *auditFlags) load(data string, log *slog.Logger) error {
	if a.loaded {
		return nil
	}
	head, signing := a.keyFile, a.signingKeyFile
	if data != "" {
		dh, ds := defaultAuditKeys(data)
		for _, k := range []struct {
			path   *string
			def    string
			create func(string) (bool, error)
		}{{&head, dh, audit.CreateHeadKey}, {&signing, ds, audit.CreateSigningKey}} {
			if *k.path != "" {
				continue
			}
			if _, err := k.create(k.def); err != nil {
				return err
			}
			*k.path = k.def
			log.Warn("audit: using a key file in the data directory: whoever can read the directory can forge what it protects; set audit.keyFile and audit.signingKeyFile to files kept elsewhere in production",
				"file", k.def)
		}
	}
	var err error
	switch {
	case head != "":
		if a.key, err = audit.LoadHeadKey(head); err != nil {
			return err
		}
	default:
		log.Warn("audit: no audit.keyFile: audit heads are not sealed, so a cut of the newest audit entries goes unnoticed")
	}
	switch {
	case signing != "":
		if a.signer, err = audit.LoadSigningKey(signing); err != nil {
			return err
		}
	default:
		log.Warn("audit: no audit.signingKeyFile: no audit checkpoints are signed")
	}
	if a.checkpointDir != "" && data != "" {
		if rel, err := filepath.Rel(data, a.checkpointDir); err == nil && !strings.HasPrefix(rel, "..") {
			log.Warn("audit: audit.checkpointDir is inside the data directory: a cut of the data reaches the checkpoints too", "dir", a.checkpointDir)
		}
	}
	a.loaded = true
	return nil
}

// startCheckpoints runs the checkpointer on st until the returned stop, which makes the last
// checkpoints (after the server has stopped taking requests) and waits for them.
func (a *auditFlags) startCheckpoints(st store.Store, data string, log *slog.Logger) (stop func(), err error) {
	if err := a.load(data, log); err != nil {
		return nil, err
	}
	if a.signer == nil {
		return func() {}, nil
	}
	if a.checkpointDir != "" {
		if err := os.MkdirAll(a.checkpointDir, 0o750); err != nil {
			return nil, fmt.Errorf("audit.checkpointDir: %w", err)
		}
	}
	cp := &audit.Checkpointer{Store: st, Key: a.signer, HeadKey: a.key, Every: a.every, Interval: a.interval,
		Dir: a.checkpointDir, Logger: log}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cp.Run(ctx) }()
	log.Info("audit: signing checkpoints", "every", a.every, "interval", a.interval, "dir", a.checkpointDir,
		"key", audit.KeyID(a.signer.Public().(ed25519.PublicKey)))
	return func() {
		cancel()
		if err := <-done; err != nil {
			log.Warn("audit: the checkpoints at shutdown", "err", err)
		}
	}, nil
}
