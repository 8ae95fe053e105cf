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

package store_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"testing"
	"time"

	"github.com/kodomohub/kodomohub/store"
)

// TestAuditKeyMACIsTheDocumentedHMAC rebuilds the message of a head's MAC from its description
// in AuditKey.MAC, as a verifier in another language would, and compares.
func TestAuditKeyMACIsTheDocumentedHMAC(t *testing.T) {
	secret := bytes.Repeat([]byte{7}, store.MinAuditKeySize)
	k, err := store.NewAuditKey(secret)
	if err != nil {
		t.Fatal(err)
	}
	s := store.AuditSeal{Seq: 42, Hash: bytes.Repeat([]byte{0xab}, 32), Time: time.UnixMilli(1767603600123),
		From: 7, FromTime: time.UnixMilli(1767600000000)}
	var msg []byte
	msg = append(msg, "kodomohub audit head v1\x00"...)
	msg = binary.BigEndian.AppendUint16(msg, uint16(len("misato")))
	msg = append(msg, "misato"...)
	msg = binary.BigEndian.AppendUint64(msg, 42)
	msg = append(msg, s.Hash...)
	msg = binary.BigEndian.AppendUint64(msg, 1767603600123)
	msg = binary.BigEndian.AppendUint64(msg, 7)
	msg = binary.BigEndian.AppendUint64(msg, 1767600000000)
	m := hmac.New(sha256.New, secret)
	m.Write(msg)
	want := m.Sum(nil)
	if got := k.MAC("misato", s); !bytes.Equal(got, want) {
		t.Fatalf("MAC %x, want %x", got, want)
	}
	s.MAC = want
	if !k.Verify("misato", s) {
		t.Fatal("Verify refuses the MAC")
	}
	s.Past = 3 // not covered
	if !k.Verify("misato", s) {
		t.Fatal("Past is covered")
	}
	s.FromTime = s.FromTime.Add(time.Millisecond)
	if k.Verify("misato", s) {
		t.Fatal("FromTime is not covered")
	}
	if _, err := store.NewAuditKey(secret[:31]); err == nil {
		t.Fatal("a 31-byte secret is accepted")
	}
}

// BenchmarkAuditKeyMAC is what sealing adds to each group of appends.
func BenchmarkAuditKeyMAC(b *testing.B) {
	k, _ := store.NewAuditKey(bytes.Repeat([]byte{7}, store.MinAuditKeySize))
	s := store.AuditSeal{Seq: 42, Hash: bytes.Repeat([]byte{0xab}, 32), Time: time.Now(), FromTime: time.Now()}
	for b.Loop() {
		k.MAC("misato", s)
	}
}
