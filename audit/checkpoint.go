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
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/kodomohub/kodomohub/store"
)

// Checkpoint is a signed statement that a tenant's audit trail held Hash as the hash of entry
// Seq at Time. Its JSON form, one per line, is what `kodomohub audit checkpoints` writes:
//
//	{"tenant":"misato","seq":1200,"hash":"<base64>","time":"2026-01-05T09:00:00.123Z",
//	 "alg":"Ed25519","key":"<base64 of the 32-byte public key>","sig":"<base64>"}
//
// The signature is Ed25519 (RFC 8032) over Message(), text anyone can rebuild from the line:
//
//	"kodomohub audit checkpoint v1\n" tenant "\n" seq "\n" hex(hash) "\n" time "\n"
//
// seq in decimal, time as the line has it (UTC, 2006-01-02T15:04:05.000Z).
type Checkpoint struct {
	Tenant string
	Seq    int64
	Hash   []byte
	Time   time.Time
	Alg    string
	Key    []byte
	Sig    []byte
}

// AlgEd25519 is the only signature algorithm of checkpoints.
const AlgEd25519 = "Ed25519"

// CheckpointKind is the store.Records kind under which a tenant's checkpoints are kept, by
// CheckpointID.
const CheckpointKind = "audit-checkpoint"

// CheckpointID is the record id of the checkpoint of entry seq: zero-padded, so that records
// listed by id come in seq order.
func CheckpointID(seq int64) string { return fmt.Sprintf("%019d", seq) }

const timeLayout = "2006-01-02T15:04:05.000Z"

// Message returns the bytes the signature covers.
func (c Checkpoint) Message() []byte {
	return fmt.Appendf(nil, "kodomohub audit checkpoint v1\n%s\n%d\n%s\n%s\n", c.Tenant, c.Seq,
		hex.EncodeToString(c.Hash), c.Time.UTC().Format(timeLayout))
}

// SignCheckpoint returns the checkpoint of entry seq with hash at t, signed with key.
func SignCheckpoint(key ed25519.PrivateKey, tenant string, seq int64, hash []byte, t time.Time) Checkpoint {
	c := Checkpoint{Tenant: tenant, Seq: seq, Hash: bytes.Clone(hash), Time: t.UTC().Truncate(time.Millisecond),
		Alg: AlgEd25519, Key: bytes.Clone(key.Public().(ed25519.PublicKey))}
	c.Sig = ed25519.Sign(key, c.Message())
	return c
}

// ErrBadSignature: a checkpoint's signature does not verify under the key it carries.
var ErrBadSignature = errors.New("audit: the checkpoint's signature does not verify")

// ErrUntrustedKey: a checkpoint is signed with a key other than the trusted ones.
var ErrUntrustedKey = errors.New("audit: the checkpoint is signed with a key that is not trusted")

// Check verifies c's signature, and, when trusted names any key, that c was signed with one
// of them (a checkpoint carries its own key, so an intruder's key would otherwise do).
func (c Checkpoint) Check(trusted ...ed25519.PublicKey) error {
	if c.Alg != AlgEd25519 || len(c.Key) != ed25519.PublicKeySize || len(c.Hash) != sha256.Size ||
		!ed25519.Verify(c.Key, c.Message(), c.Sig) {
		return ErrBadSignature
	}
	if len(trusted) > 0 && !slices.ContainsFunc(trusted, func(k ed25519.PublicKey) bool { return k.Equal(ed25519.PublicKey(c.Key)) }) {
		return fmt.Errorf("%w (key %s)", ErrUntrustedKey, KeyID(c.Key))
	}
	return nil
}

// KeyID is a short name of a public key for reports: the first 8 bytes of its SHA-256, hex.
func KeyID(k []byte) string {
	sum := sha256.Sum256(k)
	return hex.EncodeToString(sum[:8])
}

func (c Checkpoint) String() string {
	return fmt.Sprintf("checkpoint of entry %d (signed %s)", c.Seq, c.Time.UTC().Format(time.RFC3339))
}

// checkpointJSON is the JSON form: time exactly as Message writes it, so that a third party can
// rebuild the message from the line without parsing times.
type checkpointJSON struct {
	Tenant string `json:"tenant"`
	Seq    int64  `json:"seq"`
	Hash   []byte `json:"hash"`
	Time   string `json:"time"`
	Alg    string `json:"alg"`
	Key    []byte `json:"key"`
	Sig    []byte `json:"sig"`
}

// MarshalJSON implements json.Marshaler.
func (c Checkpoint) MarshalJSON() ([]byte, error) {
	return json.Marshal(checkpointJSON{c.Tenant, c.Seq, c.Hash, c.Time.UTC().Format(timeLayout), c.Alg, c.Key, c.Sig})
}

// UnmarshalJSON implements json.Unmarshaler.
func (c *Checkpoint) UnmarshalJSON(b []byte) error {
	var j checkpointJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	t, err := time.Parse(time.RFC3339Nano, j.Time)
	if err != nil {
		return err
	}
	*c = Checkpoint{Tenant: j.Tenant, Seq: j.Seq, Hash: j.Hash, Time: t, Alg: j.Alg, Key: j.Key, Sig: j.Sig}
	return nil
}

// MarshalLine returns c as one JSON line.
func (c Checkpoint) MarshalLine() []byte {
	b, _ := json.Marshal(c) // strings, numbers and bytes: cannot fail
	return append(b, '\n')
}

// ReadCheckpoints reads JSON lines of checkpoints (of any tenants). Blank lines are skipped;
// a line that does not decode is an error naming it.
func ReadCheckpoints(r io.Reader) ([]Checkpoint, error) {
	var cs []Checkpoint
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var c Checkpoint
		if err := json.Unmarshal(line, &c); err != nil {
			return cs, fmt.Errorf("line %d: %w", n, err)
		}
		cs = append(cs, c)
	}
	return cs, sc.Err()
}

// Records is where checkpoints are kept in the store (store.Records has it).
type Records interface {
	PutRecord(ctx context.Context, tenant, kind, id string, data []byte) error
	GetRecord(ctx context.Context, tenant, kind, id string) ([]byte, error)
	ListRecords(ctx context.Context, tenant, kind string) ([]store.Record, error)
}

// StoredCheckpoints returns the checkpoints kept for tenant in rs, in seq order. A record that
// does not decode is returned as an error after the others.
func StoredCheckpoints(ctx context.Context, rs Records, tenant string) ([]Checkpoint, error) {
	recs, err := rs.ListRecords(ctx, tenant, CheckpointKind)
	if err != nil {
		return nil, err
	}
	cs := make([]Checkpoint, 0, len(recs))
	var errs []error
	for _, r := range recs {
		var c Checkpoint
		if err := json.Unmarshal(r.Data, &c); err != nil {
			errs = append(errs, fmt.Errorf("stored checkpoint %s: %w", r.ID, err))
			continue
		}
		cs = append(cs, c)
	}
	return cs, errors.Join(errs...)
}

// AppendToDir appends c as a line to dir/<tenant>.checkpoints.jsonl and syncs it: a copy
// outside the store, which a cut of the store does not reach.
func AppendToDir(dir string, c Checkpoint) error {
	f, err := os.OpenFile(CheckpointFile(dir, c.Tenant), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	_, err = f.Write(c.MarshalLine())
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// CheckpointFile is the file of tenant's checkpoints in a checkpoint directory.
func CheckpointFile(dir, tenant string) string {
	return filepath.Join(dir, tenant+".checkpoints.jsonl")
}
