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
	"encoding/binary"
	"hash/crc32"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"go.mongodb.org/mongo-driver/v2/bson"
	mongodrv "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/kodomohub/kodomohub/audit"
	"github.com/kodomohub/kodomohub/auth"
	"github.com/kodomohub/kodomohub/store"
	"github.com/kodomohub/kodomohub/store/mongo/mongotest"
	"github.com/kodomohub/kodomohub/store/sqlite"
)

// TestAuditVerifyCatchesTampering records accesses, checks that `audit verify` passes, then
// changes one byte of one record in the town's audit log as an intruder with file access
// would, and checks that `audit verify` fails naming that record.
func TestAuditVerifyCatchesTampering(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	keyFile, _ := defaultAuditKeys(dir) // where serve puts it with --data
	if _, err := audit.CreateHeadKey(keyFile); err != nil {
		t.Fatal(err)
	}
	key, err := audit.LoadHeadKey(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(dir, sqlite.Options{AuditKey: key, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateTenant(ctx, store.Tenant{ID: "misato", Name: "美里町"}); err != nil {
		t.Fatal(err)
	}
	sink := audit.StoreSink{Log: st}
	for i, who := range []string{"staff-1", "staff-2", "tampered-one", "staff-3"} {
		r := audit.Record{Recorded: time.Now(), Action: "R", Interaction: "read", Outcome: audit.OutcomeSuccess,
			Status: 200, Subject: who, Role: auth.RoleMunicipalStaff, ResourceType: "Patient", ResourceID: "p1",
			Patients: []string{"Patient/p1"}, Decision: "test " + string(rune('a'+i))}
		if err := sink.Append(ctx, "misato", []audit.Record{r}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	verify := func() (string, error) {
		var out, errOut strings.Builder
		err := run(ctx, []string{"audit", "verify", "--tenant", "misato", "--data", dir}, &out, &errOut)
		return out.String() + errOut.String(), err
	}
	if out, err := verify(); err != nil || !strings.Contains(out, "4 records") {
		t.Fatalf("intact trail: %v %s", err, out)
	}
	log := filepath.Join(dir, "tenants", "misato.audit")
	orig, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	// The name is in the frame twice: in its search fields (what the auditors' searches use)
	// and in the chained record. Changing either must break verification.
	for _, at := range []func([]byte, []byte) int{bytes.Index, bytes.LastIndex} {
		b := bytes.Clone(orig)
		i := at(b, []byte("tampered-one"))
		if i < 0 {
			t.Fatalf("the record is not in %s", log)
		}
		b[i] = 'T'
		if err := os.WriteFile(log, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := verify(); err == nil || !strings.Contains(err.Error(), "seq 3") {
			t.Errorf("byte %d of the log changed: %v, want a break at seq 3", i, err)
		}
	}
	if err := os.WriteFile(log, orig, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := verify(); err != nil {
		t.Fatalf("restored trail: %v %s", err, out)
	}
}

// auditHub runs `kodomohub serve --auth dev` in this process for a while: reads of misato,
// each audited, then a clean shutdown (which signs the last checkpoints).
type auditHub struct {
	storage []string // --data DIR or --mongo-uri URI --mongo-db NAME
	extra   []string // more serve flags
}

// checkpointsTo10 is the summary of an export whose checkpoints end at entry 10 (the first
// ones depend on when the checkpointer's passes fell between the requests).
var checkpointsTo10 = regexp.MustCompile(`entries \d+…10\b`)

func (h auditHub) run(t *testing.T, reads int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out strings.Builder
	if err := run(ctx, append([]string{"dev-token", "--tenant", "misato", "--scope", "system/*.rs"}, h.storage...), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	token := lines[len(lines)-1]
	addr := freeAddr(t)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append(append([]string{"serve", "--auth", "dev", "--listen", addr, "--log-level", "error"}, h.storage...), h.extra...), io.Discard, io.Discard)
	}()
	hc := &http.Client{Timeout: 10 * time.Second}
	for deadline := time.Now().Add(30 * time.Second); ; {
		resp, err := hc.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-done:
			t.Fatalf("serve ended: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("serve did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for range reads {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/misato/fhir/Patient?_count=1", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("read: %d", resp.StatusCode)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
}

// auditCLI runs an audit command and returns its output.
func auditCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out strings.Builder
	err := run(context.Background(), append([]string{"audit"}, args...), &out, &out)
	return out.String(), err
}

func wantBroken(t *testing.T, what string, out string, err error, substrs ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: audit verify passes:\n%s", what, out)
	}
	for _, s := range substrs {
		if !strings.Contains(out, s) {
			t.Fatalf("%s: the report lacks %q:\n%s", what, s, out)
		}
	}
}

// logEnd returns the end offset of entry seq's frame in a SQLite audit log (its format:
// "khaudit" 0x01, then frames len:u32 crc:u32 body, the body starting with seq:u64).
func logEnd(t *testing.T, log []byte, seq int64) int64 {
	t.Helper()
	for off := 8; off < len(log); {
		end := off + 8 + int(binary.BigEndian.Uint32(log[off:]))
		if int64(binary.BigEndian.Uint64(log[off+8:])) == seq {
			return int64(end)
		}
		off = end
	}
	t.Fatalf("no entry %d in the log", seq)
	return 0
}

// forgeHead rewrites a SQLite head file to name entry seq at [off, end) with hash, keeping the
// seal it had, with a valid CRC: what an intruder can do without the key (the head's format:
// two slots of 128 bytes, "khas" crc gen seq off end hash[32] time from fromTime mac[32]).
func forgeHead(t *testing.T, path string, seq, off, end int64, hash []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cast := crc32.MakeTable(crc32.Castagnoli)
	slot := b[:128]
	if binary.BigEndian.Uint64(b[128+8:]) > binary.BigEndian.Uint64(b[8:]) && string(b[128:132]) == "khas" {
		slot = b[128:256]
	}
	forged := bytes.Clone(slot)
	gen := binary.BigEndian.Uint64(forged[8:]) + 1
	binary.BigEndian.PutUint64(forged[8:], gen)
	binary.BigEndian.PutUint64(forged[16:], uint64(seq))
	binary.BigEndian.PutUint64(forged[24:], uint64(off))
	binary.BigEndian.PutUint64(forged[32:], uint64(end))
	copy(forged[40:72], hash)
	binary.BigEndian.PutUint32(forged[4:], crc32.Checksum(forged[8:], cast))
	copy(b[int(gen%2)*128:], forged)
	if err := os.WriteFile(path, b, 0o640); err != nil {
		t.Fatal(err)
	}
}

// TestAuditCutTailCaughtSQLite is the outside attacker's test on the embedded store, through
// serve and the audit commands: two server runs audit reads and sign checkpoints (every 4
// entries, at shutdown, also into a directory outside the data); then the newest entries are
// cut off the log and the head file is rewritten with a valid checksum. `audit verify` reports
// the seal and the checkpoints beyond the head. With the genuine earlier head put back and the
// stored checkpoints deleted as well, an export made before the cut, or the checkpoint
// directory, still reveal it; a forged checkpoint is reported too.
func TestAuditCutTailCaughtSQLite(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	ctx := context.Background()
	if err := run(ctx, []string{"tenant", "create", "misato", "--name", "美里町", "--data", dir}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	hub := auditHub{storage: []string{"--data", dir}, extra: []string{"--audit-checkpoint-every", "4", "--audit-checkpoint-dir", outside}}
	hub.run(t, 5)
	headPath, logPath := filepath.Join(dir, "tenants", "misato.audit-head"), filepath.Join(dir, "tenants", "misato.audit")
	earlierHead, err := os.ReadFile(headPath)
	if err != nil {
		t.Fatal(err)
	}
	out, err := auditCLI(t, "verify", "--tenant", "misato", "--data", dir)
	if err != nil || !strings.Contains(out, "intact: 5 records") || !regexp.MustCompile(`checkpoints: \d+ match the chain; the latest of entry 5\b`).MatchString(out) {
		t.Fatalf("after the first run: %v\n%s", err, out)
	}
	hub.run(t, 5)
	export := filepath.Join(t.TempDir(), "export.jsonl")
	if out, err := auditCLI(t, "checkpoints", "--tenant", "misato", "--data", dir, "--out", export); err != nil || !checkpointsTo10.MatchString(out) {
		t.Fatalf("audit checkpoints: %v\n%s", err, out)
	}
	out, err = auditCLI(t, "verify", "--tenant", "misato", "--data", dir, "--checkpoints", export)
	if err != nil || !strings.Contains(out, "intact: 10 records") || !strings.Contains(out, "the latest of entry 10") {
		t.Fatalf("after the second run: %v\n%s", err, out)
	}

	// The attack that passed before: cut back to entry 5, head rewritten with a valid CRC.
	log, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(dir, sqlite.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	es, err := st.AuditEntries(ctx, "misato", 4, 1)
	st.Close()
	if err != nil || len(es) != 1 {
		t.Fatalf("entry 5: %v", err)
	}
	end5 := logEnd(t, log, 5)
	if err := os.Truncate(logPath, end5); err != nil {
		t.Fatal(err)
	}
	forgeHead(t, headPath, 5, logEnd(t, log, 4), end5, es[0].Hash)
	out, err = auditCLI(t, "verify", "--tenant", "misato", "--data", dir)
	wantBroken(t, "cut under a forged head", out, err, "BROKEN: the head's seal (entry 5",
		"does not verify under the head key", "checkpoint of entry 10", "lies beyond the head (entry 5)")

	// The genuine head of entry 5 put back, and the stored checkpoints after it deleted.
	if err := os.WriteFile(headPath, earlierHead, 0o640); err != nil {
		t.Fatal(err)
	}
	st, err = sqlite.Open(dir, sqlite.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := audit.StoredCheckpoints(ctx, st, "misato")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.Seq > 5 {
			if err := st.DeleteRecord(ctx, "misato", audit.CheckpointKind, audit.CheckpointID(c.Seq)); err != nil {
				t.Fatal(err)
			}
		}
	}
	st.Close()
	if out, err := auditCLI(t, "verify", "--tenant", "misato", "--data", dir); err != nil {
		t.Fatalf("with the store's own copies gone, nothing in the store tells; got %v\n%s", err, out)
	}
	out, err = auditCLI(t, "verify", "--tenant", "misato", "--data", dir, "--checkpoints", export)
	wantBroken(t, "replayed head, against an export made before the cut", out, err, "checkpoint of entry 10", "lies beyond the head (entry 5)")
	out, err = auditCLI(t, "verify", "--tenant", "misato", "--data", dir, "--checkpoints", audit.CheckpointFile(outside, "misato"))
	wantBroken(t, "replayed head, against the checkpoint directory", out, err, "checkpoint of entry 10", "lies beyond the head (entry 5)")

	// A checkpoint whose signature was changed.
	b, err := os.ReadFile(export)
	if err != nil {
		t.Fatal(err)
	}
	cps, err := audit.ReadCheckpoints(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	cps[0].Sig[0] ^= 1
	forged := filepath.Join(t.TempDir(), "forged.jsonl")
	os.WriteFile(forged, cps[0].MarshalLine(), 0o644)
	out, err = auditCLI(t, "verify", "--tenant", "misato", "--data", dir, "--checkpoints", forged)
	wantBroken(t, "forged checkpoint", out, err, "checkpoint's signature does not verify")
}

// TestAuditVerifyWithoutKeyIsNotIntact: without the head key, a sealed trail is not reported
// intact: its end is not vouched for.
func TestAuditVerifyWithoutKeyIsNotIntact(t *testing.T) {
	dir := t.TempDir()
	if err := run(context.Background(), []string{"tenant", "create", "misato", "--name", "美里町", "--data", dir}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	auditHub{storage: []string{"--data", dir}}.run(t, 2)
	keyFile, _ := defaultAuditKeys(dir)
	moved := filepath.Join(t.TempDir(), "audit.key")
	if err := os.Rename(keyFile, moved); err != nil {
		t.Fatal(err)
	}
	out, err := auditCLI(t, "verify", "--tenant", "misato", "--data", dir)
	wantBroken(t, "no key", out, err, "NOT CHECKED: the head is sealed, but no head key was given")
	if out, err := auditCLI(t, "verify", "--tenant", "misato", "--data", dir, "--key-file", moved); err != nil {
		t.Fatalf("with --key-file: %v\n%s", err, out)
	}
}

func TestConfigFileAudit(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "kodomohub.yaml")
	if err := os.WriteFile(cfg, []byte(`audit:
  keyFile: /etc/kodomohub/audit.key
  signingKeyFile: /etc/kodomohub/audit-signing.pem
  checkpointDir: /var/lib/kodomohub-checkpoints
  checkpointEvery: 500
  checkpointInterval: 2m
`), 0o600); err != nil {
		t.Fatal(err)
	}
	var f serveFlags
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	f.register(fs, "127.0.0.1:0")
	if err := fs.Parse([]string{"--config", cfg, "--audit-checkpoint-every", "7"}); err != nil {
		t.Fatal(err)
	}
	if err := f.merge(fs); err != nil {
		t.Fatal(err)
	}
	a := f.audit
	if a.keyFile != "/etc/kodomohub/audit.key" || a.signingKeyFile != "/etc/kodomohub/audit-signing.pem" ||
		a.checkpointDir != "/var/lib/kodomohub-checkpoints" || a.every != 7 || a.interval != 2*time.Minute {
		t.Errorf("audit flags %+v (the --audit-checkpoint-every flag must win over the file)", a)
	}
}

// TestAuditCutTailCaughtMongo is the outside attacker's test on the MongoDB backend (an
// embedded FerretDB): two server runs with key files given by flag, then the newest entry
// documents deleted and the head document set back to entry 5 (its seal left as it was: the
// intruder cannot compute one). `audit verify` reports the seal and the checkpoints beyond the
// head; with the stored checkpoints deleted too, an export made before the cut still does.
func TestAuditCutTailCaughtMongo(t *testing.T) {
	ctx := context.Background()
	uri, db := mongotest.URI(t), mongotest.DBName()
	keys := t.TempDir()
	headKey, signKey := filepath.Join(keys, "audit.key"), filepath.Join(keys, "audit-signing.pem")
	if _, err := audit.CreateHeadKey(headKey); err != nil {
		t.Fatal(err)
	}
	if _, err := audit.CreateSigningKey(signKey); err != nil {
		t.Fatal(err)
	}
	storage := []string{"--mongo-uri", uri, "--mongo-db", db}
	if err := run(ctx, append([]string{"tenant", "create", "misato", "--name", "美里町"}, storage...), io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	client, err := mongodrv.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		client.Database(db).Drop(ctx)
		client.Disconnect(ctx)
	}()
	hub := auditHub{storage: storage, extra: []string{"--audit-key-file", headKey, "--audit-signing-key-file", signKey, "--audit-checkpoint-every", "4"}}
	hub.run(t, 5)
	hub.run(t, 5)
	verifyArgs := append([]string{"verify", "--tenant", "misato", "--key-file", headKey, "--checkpoint-key", signKey}, storage...)
	export := filepath.Join(t.TempDir(), "export.jsonl")
	if out, err := auditCLI(t, append([]string{"checkpoints", "--tenant", "misato", "--out", export}, storage...)...); err != nil || !checkpointsTo10.MatchString(out) {
		t.Fatalf("audit checkpoints: %v\n%s", err, out)
	}
	if out, err := auditCLI(t, verifyArgs...); err != nil || !strings.Contains(out, "intact: 10 records") {
		t.Fatalf("after two runs: %v\n%s", err, out)
	}

	d := client.Database(db)
	var five struct {
		H []byte `bson:"h"`
	}
	if err := d.Collection("audit").FindOne(ctx, bson.D{{Key: "_id", Value: "misato/5"}}).Decode(&five); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Collection("audit").DeleteMany(ctx, bson.D{{Key: "t", Value: "misato"}, {Key: "seq", Value: bson.D{{Key: "$gt", Value: 5}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Collection("audittx").DeleteMany(ctx, bson.D{{Key: "t", Value: "misato"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Collection("audithead").UpdateOne(ctx, bson.D{{Key: "_id", Value: "misato"}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "seq", Value: 5}, {Key: "h", Value: five.H}}}}); err != nil {
		t.Fatal(err)
	}
	out, err := auditCLI(t, verifyArgs...)
	wantBroken(t, "cut under a rewritten head document", out, err, "BROKEN: the head's seal (entry 5",
		"does not verify under the head key", "checkpoint of entry 10", "lies beyond the head (entry 5)")

	if _, err := d.Collection("records").DeleteMany(ctx, bson.D{{Key: "t", Value: "misato"}, {Key: "k", Value: audit.CheckpointKind}}); err != nil {
		t.Fatal(err)
	}
	out, err = auditCLI(t, append(verifyArgs, "--checkpoints", export)...)
	wantBroken(t, "stored checkpoints deleted, against an export made before the cut", out, err, "checkpoint of entry 10", "lies beyond the head (entry 5)")
}
