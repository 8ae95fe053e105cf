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
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func mustAuditTrail(tb testing.TB, n int) (*MemSink, []Record) {
	tb.Helper()
	sink := &MemSink{}
	var in []Record
	for i := range n {
		in = append(in, Record{Recorded: recordedAt.Add(time.Duration(i) * time.Second), Action: "R",
			Interaction: "read", Outcome: OutcomeSuccess, Status: 200, Subject: fmt.Sprintf("staff-%d", i),
			Issuer: "https://idp.misato.example", ClientID: "dashboard", Role: "municipal-staff",
			ResourceType: "Observation", ResourceID: fmt.Sprint(i), Patients: []string{"Patient/child-1"},
			Decision: "role municipal-staff with scopes allowing read on Observation"})
	}
	// Two appends: the chain continues across calls.
	if err := sink.Append(context.Background(), "misato", in[:n/2]); err != nil {
		tb.Fatal(err)
	}
	if err := sink.Append(context.Background(), "misato", in[n/2:]); err != nil {
		tb.Fatal(err)
	}
	return sink, sink.Records("misato")
}

func TestAuditChain(t *testing.T) {
	sink, recs := mustAuditTrail(t, 6)
	if err := VerifyChain(Each(recs)); err != nil {
		t.Fatalf("intact chain: %v", err)
	}
	if err := VerifyChainHead(Each(recs), sink.Head("misato")); err != nil {
		t.Fatalf("intact chain against its head: %v", err)
	}
	for i, r := range recs {
		if r.Seq != int64(i+1) || r.Tenant != "misato" || len(r.Hash) != 32 {
			t.Fatalf("record %d: seq %d tenant %q hash %x", i, r.Seq, r.Tenant, r.Hash)
		}
	}
	brokenAt := func(t *testing.T, err error, seq int64) {
		t.Helper()
		var ce *ChainError
		if !errors.As(err, &ce) || ce.Seq != seq {
			t.Fatalf("err %v, want a break at seq %d", err, seq)
		}
	}
	clone := func() []Record { return append([]Record(nil), recs...) }
	for _, c := range []struct {
		name   string
		tamper func([]Record) []Record
		seq    int64
	}{
		{"ErrChangedRecord", func(rs []Record) []Record {
			rs[2].Subject = "someone-else"
			return rs
		}, 3},
		{"ErrChangedOutcome", func(rs []Record) []Record {
			rs[4].Outcome, rs[4].Status = OutcomeMinorFailure, 403
			return rs
		}, 5},
		{"ErrChangedPatients", func(rs []Record) []Record {
			rs[0].Patients = nil
			return rs
		}, 1},
		{"ErrDeletedRecord", func(rs []Record) []Record {
			return append(rs[:3], rs[4:]...)
		}, 4},
		{"ErrDeletedFirst", func(rs []Record) []Record { return rs[1:] }, 1},
		{"ErrSwappedRecords", func(rs []Record) []Record {
			rs[1], rs[2] = rs[2], rs[1]
			return rs
		}, 2},
		{"ErrSwappedAndRenumbered", func(rs []Record) []Record {
			rs[1], rs[2] = rs[2], rs[1]
			rs[1].Seq, rs[2].Seq = 2, 3
			return rs
		}, 2},
		{"ErrInsertedRecord", func(rs []Record) []Record {
			forged := rs[3]
			forged.Subject = "ghost"
			forged.Hash = NextLink(rs[2].Hash, 4, forged.Canonical()) // correctly linked to its predecessor
			return append(rs[:3], append([]Record{forged}, rs[3:]...)...)
		}, 5},
		{"ErrRehashedRecord", func(rs []Record) []Record {
			// Changed and rehashed: the next record no longer links to it.
			rs[2].Decision = "nothing to see"
			rs[2].Hash = NextLink(rs[1].Hash, 3, rs[2].Canonical())
			return rs
		}, 4},
	} {
		t.Run(c.name, func(t *testing.T) {
			brokenAt(t, VerifyChain(Each(c.tamper(clone()))), c.seq)
		})
	}
	t.Run("ErrTruncatedTailAgainstHead", func(t *testing.T) {
		if err := VerifyChain(Each(recs[:5])); err != nil {
			t.Fatalf("a prefix is a valid chain by itself: %v", err)
		}
		brokenAt(t, VerifyChainHead(Each(recs[:5]), sink.Head("misato")), 6)
	})
	t.Run("ErrReadFailure", func(t *testing.T) {
		boom := errors.New("disk")
		err := VerifyChain(func(yield func(Record, error) bool) {
			yield(recs[0], nil)
			yield(Record{}, boom)
		})
		if !errors.Is(err, boom) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("OKTenantsChainedApart", func(t *testing.T) {
		sink.Append(context.Background(), "kawajima", []Record{{Recorded: recordedAt, Action: "R", Outcome: "0"}})
		k := sink.Records("kawajima")
		if k[0].Seq != 1 || !bytes.Equal(k[0].PrevHash, GenesisHash) {
			t.Fatalf("%+v", k[0])
		}
	})
	t.Run("OKStoredLinks", func(t *testing.T) {
		// What a store keeps: canonical bytes, seq and hash per record.
		head, err := VerifyLinks(func(yield func(Link, error) bool) {
			for _, r := range recs {
				if !yield(Link{Seq: r.Seq, Record: r.Canonical(), Hash: r.Hash}, nil) {
					return
				}
			}
		})
		if err != nil || head.Seq != 6 {
			t.Fatalf("%v %+v", err, head)
		}
	})
}

func TestAuditRecordCanonical(t *testing.T) {
	_, recs := mustAuditTrail(t, 1)
	r := recs[0]
	r.Query = "name=やまだ&birthdate=ge2020-01-01&_include=Observation:subject<>"
	r.Recorded = time.Date(2026, 4, 1, 18, 0, 0, 120000000, time.FixedZone("JST", 9*3600))
	b := r.Canonical()
	back, err := DecodeRecord(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back.Canonical(), b) {
		t.Fatalf("round trip changed the bytes:\n%s\n%s", b, back.Canonical())
	}
	if !bytes.Contains(b, []byte(`"recorded":"2026-04-01T09:00:00.12Z"`)) || !bytes.Contains(b, []byte("<>")) {
		t.Fatalf("canonical form %s", b)
	}
	if bytes.Contains(b, []byte("hash")) {
		t.Fatalf("the hash is part of the hashed bytes: %s", b)
	}
	if _, err := DecodeRecord([]byte(`{"v":2}`)); err == nil {
		t.Fatal("unknown format accepted")
	}
}

func TestAuditEvent(t *testing.T) {
	_, recs := mustAuditTrail(t, 2)
	staff := recs[1]
	staff.Purpose, staff.BreakGlass, staff.Address = "TREAT", "一時保護の判断", "192.0.2.7"
	staff.Query = "_id=1"

	var ev map[string]any
	if err := json.Unmarshal(staff.AuditEvent("https://hub.example.jp"), &ev); err != nil {
		t.Fatal(err)
	}
	get := func(path string) any {
		var v any = ev
		for _, k := range strings.Split(path, ".") {
			switch x := v.(type) {
			case map[string]any:
				v = x[k]
			case []any:
				var i int
				fmt.Sscan(k, &i)
				if i >= len(x) {
					return nil
				}
				v = x[i]
			default:
				return nil
			}
		}
		return v
	}
	q, _ := base64.StdEncoding.DecodeString(fmt.Sprint(get("entity.2.query")))
	for path, want := range map[string]any{
		"resourceType":                        "AuditEvent",
		"type.code":                           "rest",
		"subtype.0.code":                      "read",
		"action":                              "R",
		"outcome":                             "0",
		"recorded":                            "2026-04-01T09:00:01Z",
		"extension.0.url":                     ChainExtension,
		"extension.0.extension.0.valueString": "2",
		"extension.0.extension.1.valueBase64Binary": base64.StdEncoding.EncodeToString(staff.Hash),
		"extension.0.extension.2.valueBase64Binary": base64.StdEncoding.EncodeToString(recs[0].Hash),
		"extension.1.url":                      DecisionExtension,
		"extension.1.extension.2.valueString":  "一時保護の判断",
		"agent.0.requestor":                    true,
		"agent.0.who.identifier.value":         "staff-1",
		"agent.0.who.identifier.system":        "https://idp.misato.example",
		"agent.0.role.0.coding.0.code":         "municipal-staff",
		"agent.0.purposeOfUse.0.coding.0.code": "TREAT",
		"agent.0.purposeOfUse.1.coding.0.code": PurposeBreakGlass,
		"agent.0.network.address":              "192.0.2.7",
		"agent.1.type.coding.0.code":           "110153",
		"agent.1.who.identifier.value":         "dashboard",
		"agent.1.requestor":                    false,
		"agent.2.type.coding.0.code":           "110152",
		"source.site":                          "misato",
		"source.observer.display":              "https://hub.example.jp",
		"entity.0.what.reference":              "Patient/child-1",
		"entity.0.role.code":                   "1",
		"entity.1.what.reference":              "Observation/1",
		"entity.2.role.code":                   "24",
	} {
		if got := get(path); got != want {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
	}
	if string(q) != "_id=1" {
		t.Errorf("query %q", q)
	}

	t.Run("BackendClientIsRequestor", func(t *testing.T) {
		r := Record{Recorded: recordedAt, Action: "C", Interaction: "create", Outcome: OutcomeFor(403), Status: 403,
			Subject: "nursery-sys", ClientID: "nursery-sys", Role: "facility", Facility: "Organization/nursery-1",
			ResourceType: "Observation", Decision: "Patient/child-2 is not on the roster of Organization/nursery-1"}
		var ev map[string]any
		json.Unmarshal(r.AuditEvent("kodomohub"), &ev)
		agents := ev["agent"].([]any)
		first := agents[0].(map[string]any)
		if first["requestor"] != true || len(agents) != 3 || ev["outcome"] != "4" {
			t.Fatalf("%s", r.AuditEvent("kodomohub"))
		}
		if facility := agents[1].(map[string]any)["who"].(map[string]any)["reference"]; facility != "Organization/nursery-1" {
			t.Fatalf("facility agent %v", facility)
		}
	})
}

func TestOutcomeFor(t *testing.T) {
	for status, want := range map[int]string{200: "0", 201: "0", 304: "0", 401: "4", 403: "4", 404: "4", 500: "8", 503: "12"} {
		if got := OutcomeFor(status); got != want {
			t.Errorf("%d: %s, want %s", status, got, want)
		}
	}
}

// recordedAt is the time of the test records.
var recordedAt = time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
