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

package audit

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/kodomohub/kodomohub/store"
)

// Key files. The head key file holds at least store.MinAuditKeySize random bytes in base64 on
// one line (`openssl rand -base64 32`); the signing key file an Ed25519 private key in PKCS #8
// PEM (`openssl genpkey -algorithm ed25519`). Verifiers of checkpoints need only the public key
// (PEM "PUBLIC KEY", `openssl pkey -in signing.pem -pubout`), which every checkpoint also
// carries.

// LoadHeadKey reads a head key file. A file that others than its owner may read is refused:
// the key is what an intruder who can write the store lacks.
func LoadHeadKey(path string) (*store.AuditKey, error) {
	b, err := readSecret(path)
	if err != nil {
		return nil, err
	}
	secret, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(b)))
	if err != nil {
		return nil, fmt.Errorf("audit: head key %s: want base64: %w", path, err)
	}
	k, err := store.NewAuditKey(secret)
	if err != nil {
		return nil, fmt.Errorf("audit: head key %s: %w", path, err)
	}
	return k, nil
}

// LoadSigningKey reads a signing key file (Ed25519, PKCS #8 PEM).
func LoadSigningKey(path string) (ed25519.PrivateKey, error) {
	b, err := readSecret(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("audit: signing key %s: want a PEM \"PRIVATE KEY\" block (PKCS #8)", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("audit: signing key %s: %w", path, err)
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("audit: signing key %s: a %T, want Ed25519", path, k)
	}
	return ek, nil
}

// LoadPublicKey reads the public key that checkpoints must be signed with: a PEM "PUBLIC KEY"
// (PKIX), or a signing key file, whose public half it returns.
func LoadPublicKey(path string) (ed25519.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	blk, _ := pem.Decode(b)
	switch {
	case blk == nil:
		return nil, fmt.Errorf("audit: checkpoint key %s: not PEM", path)
	case blk.Type == "PRIVATE KEY":
		k, err := LoadSigningKey(path)
		if err != nil {
			return nil, err
		}
		return k.Public().(ed25519.PublicKey), nil
	case blk.Type != "PUBLIC KEY":
		return nil, fmt.Errorf("audit: checkpoint key %s: a PEM %q block, want \"PUBLIC KEY\"", path, blk.Type)
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("audit: checkpoint key %s: %w", path, err)
	}
	ek, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("audit: checkpoint key %s: a %T, want Ed25519", path, k)
	}
	return ek, nil
}

// CreateHeadKey writes a new head key file (mode 0600), unless path exists. created says
// whether it did.
func CreateHeadKey(path string) (created bool, err error) {
	secret := make([]byte, store.MinAuditKeySize)
	if _, err := rand.Read(secret); err != nil {
		return false, err
	}
	return createSecret(path, []byte(base64.StdEncoding.EncodeToString(secret)+"\n"))
}

// CreateSigningKey writes a new Ed25519 signing key file (mode 0600), unless path exists.
func CreateSigningKey(path string) (created bool, err error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return false, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return false, err
	}
	return createSecret(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// PublicKeyPEM returns k in PEM "PUBLIC KEY" form, for whoever checks checkpoints.
func PublicKeyPEM(k ed25519.PublicKey) []byte {
	der, _ := x509.MarshalPKIXPublicKey(k) // an Ed25519 key always marshals
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// createSecret writes b to a new file at path, readable by its owner only: written to a
// temporary file, synced, then linked into place, so that two processes starting at once
// agree on one key and nobody reads a half-written one.
func createSecret(path string, b []byte) (bool, error) {
	if _, err := os.Stat(path); err == nil {
		return false, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return false, fmt.Errorf("audit: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return false, fmt.Errorf("audit: %w", err)
	}
	defer os.Remove(f.Name())
	err = f.Chmod(0o600)
	if err == nil {
		_, err = f.Write(b)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, fmt.Errorf("audit: %w", err)
	}
	if err := os.Link(f.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil // another process made it first: theirs is the key
		}
		return false, fmt.Errorf("audit: %w", err)
	}
	return true, nil
}

// readSecret reads a key file that only its owner may read.
func readSecret(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("audit: key file %s has mode %v: others may read it (chmod 600)", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	return b, nil
}
