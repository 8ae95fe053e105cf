package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kodomohub/kodomohub/auth"
	"github.com/kodomohub/kodomohub/store"
	"github.com/kodomohub/kodomohub/store/sqlite"
)

// TestAuditVerifyCatchesTampering records accesses, checks that `audit verify` passes, then
// changes one byte of one record in the town's audit log as an intruder with file access
// would, and checks that `audit verify` fails naming that record.
func TestAuditVerifyCatchesTampering(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(dir, sqlite.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateTenant(ctx, store.Tenant{ID: "misato", Name: "美里町"}); err != nil {
		t.Fatal(err)
	}
	sink := auth.StoreAudit{Log: st}
	for i, who := range []string{"staff-1", "staff-2", "tampered-one", "staff-3"} {
		r := auth.AuditRecord{Recorded: time.Now(), Action: "R", Interaction: "read", Outcome: auth.OutcomeSuccess,
			Status: 200, Subject: who, Role: auth.RoleMunicipalStaff, ResourceType: "Patient", ResourceID: "p1",
			Patients: []string{"Patient/p1"}, Decision: "test " + string(rune('a'+i))}
		if err := sink.Append(ctx, "misato", []auth.AuditRecord{r}); err != nil {
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
