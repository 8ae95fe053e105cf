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
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"iter"
	"strconv"
	"sync"
	"time"

	"github.com/kodomohub/kodomohub/store"
)

// Audit trail.
//
// Every request that touches a person's data yields one Record (a search or a bundle may
// yield one per resource type or entry, as the server decides). The records of a tenant form
// a hash chain: record n carries
//
//	hash_n = SHA-256(hash_{n-1} || uint64 big-endian n || canonical bytes of record n)
//
// with hash_0 = 32 zero bytes (GenesisHash) and n counting from 1 without gaps. The canonical
// bytes are Canonical(): the record's JSON with a fixed field order and a format version,
// without the hash fields. Changing, removing, reordering or inserting a record breaks the
// chain at that record; VerifyChain reports the first broken sequence number. Truncating the
// tail is detected only against a head (seq and hash) kept elsewhere: VerifyChainHead.
//
// The served form of a record is an R4 AuditEvent in the IHE Basic Audit Log Patterns shape
// (AuditEvent), carrying the chain position and hash in the extension ChainExtension:
//
//	{"url": "https://kodomohub.jp/fhir/StructureDefinition/audit-chain", "extension": [
//	  {"url": "seq", "valueString": "42"},             // decimal; R4 integer is 32-bit
//	  {"url": "hash", "valueBase64Binary": "…"},       // hash_n
//	  {"url": "previous", "valueBase64Binary": "…"}]}  // hash_{n-1}, when known
//
// and the policy decision in DecisionExtension:
//
//	{"url": "https://kodomohub.jp/fhir/StructureDefinition/audit-decision", "extension": [
//	  {"url": "reason", "valueString": "role facility …; Patient/1 on the roster of …"},
//	  {"url": "status", "valueInteger": 200},           // the HTTP status answered
//	  {"url": "breakGlass", "valueString": "<reason>"}]} // only when break-glass was used

// Extension URLs of the hub's AuditEvents.
const (
	ChainExtension    = "https://kodomohub.jp/fhir/StructureDefinition/audit-chain"
	DecisionExtension = "https://kodomohub.jp/fhir/StructureDefinition/audit-decision"
	// RoleSystem is the code system of hub roles in AuditEvent.agent.role.
	RoleSystem = "https://kodomohub.jp/fhir/CodeSystem/role"
)

// Purpose-of-use codes (v3 ActReason) of the records.
const (
	PurposeOfUseSystem = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
	PurposeBreakGlass  = "BTG"
)

// AuditEvent outcome codes (http://hl7.org/fhir/audit-event-outcome).
const (
	OutcomeSuccess        = "0"
	OutcomeMinorFailure   = "4"  // the request failed: client error, denied
	OutcomeSeriousFailure = "8"  // the request failed: server error
	OutcomeMajorFailure   = "12" // the service is unavailable
)

// OutcomeFor maps an HTTP status to an AuditEvent outcome code.
func OutcomeFor(status int) string {
	switch {
	case status < 400:
		return OutcomeSuccess
	case status < 500:
		return OutcomeMinorFailure
	case status == 503: // Service Unavailable
		return OutcomeMajorFailure
	}
	return OutcomeSeriousFailure
}

// Record is one audited access.
type Record struct {
	// Seq is the record's position in its tenant's chain, from 1; assigned when chained.
	Seq      int64
	Tenant   string
	Recorded time.Time
	// Action is C, R, U, D or E (execute: search, operation, batch).
	Action string
	// Interaction is the FHIR restful-interaction code: read, vread, update, patch, delete,
	// history-instance, history-type, history-system, create, search-type, search-system,
	// batch, transaction, operation, capabilities.
	Interaction string
	Outcome     string // OutcomeFor(Status)
	OutcomeDesc string
	Status      int

	// Who.
	Subject  string // sub: the person, or the client id for backend services
	Issuer   string
	ClientID string
	Role     string
	Facility string // Organization/ID
	Address  string // the caller's network address
	// Purpose is the declared purpose of use, a v3 ActReason code (TREAT, PUBHLTH, …).
	Purpose string
	// Decision is the policy's reason; BreakGlass the caller's reason when the access
	// needed break-glass (the record then also carries purposeOfUse BTG).
	Decision   string
	BreakGlass string

	// What.
	ResourceType string
	ResourceID   string
	VersionID    string
	Query        string   // the request's query string, for searches and operations
	Patients     []string // "Patient/ID" of everyone the access was about
	RequestID    string

	// Hash is hash_Seq, and PrevHash hash_{Seq-1}; set when chained, not part of Canonical.
	Hash     []byte
	PrevHash []byte
}

// canonicalRecord fixes the field order and names of Canonical. Add fields only at the end
// and only with omitempty, or bump the version: old records must keep their bytes.
type canonicalRecord struct {
	V            int      `json:"v"`
	Seq          int64    `json:"seq"`
	Tenant       string   `json:"tenant"`
	Recorded     string   `json:"recorded"`
	Action       string   `json:"action"`
	Interaction  string   `json:"interaction,omitempty"`
	Outcome      string   `json:"outcome"`
	OutcomeDesc  string   `json:"outcomeDesc,omitempty"`
	Status       int      `json:"status,omitempty"`
	Subject      string   `json:"sub,omitempty"`
	Issuer       string   `json:"iss,omitempty"`
	ClientID     string   `json:"client,omitempty"`
	Role         string   `json:"role,omitempty"`
	Facility     string   `json:"facility,omitempty"`
	Address      string   `json:"address,omitempty"`
	Purpose      string   `json:"purpose,omitempty"`
	Decision     string   `json:"decision,omitempty"`
	BreakGlass   string   `json:"breakGlass,omitempty"`
	ResourceType string   `json:"type,omitempty"`
	ResourceID   string   `json:"id,omitempty"`
	VersionID    string   `json:"vid,omitempty"`
	Query        string   `json:"query,omitempty"`
	Patients     []string `json:"patients,omitempty"`
	RequestID    string   `json:"request,omitempty"`
}

const canonicalVersion = 1

// Canonical returns the bytes of r that the chain hashes: compact JSON with a fixed field
// order, times in UTC with RFC 3339 nanoseconds, without Hash and PrevHash.
// DecodeRecord(r.Canonical()).Canonical() equals r.Canonical().
func (r Record) Canonical() []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(canonicalRecord{V: canonicalVersion, Seq: r.Seq, Tenant: r.Tenant,
		Recorded: r.Recorded.UTC().Format(time.RFC3339Nano), Action: r.Action, Interaction: r.Interaction,
		Outcome: r.Outcome, OutcomeDesc: r.OutcomeDesc, Status: r.Status, Subject: r.Subject,
		Issuer: r.Issuer, ClientID: r.ClientID, Role: r.Role, Facility: r.Facility, Address: r.Address,
		Purpose: r.Purpose, Decision: r.Decision, BreakGlass: r.BreakGlass, ResourceType: r.ResourceType,
		ResourceID: r.ResourceID, VersionID: r.VersionID, Query: r.Query, Patients: r.Patients,
		RequestID: r.RequestID}) // only strings and numbers: cannot fail
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// DecodeRecord parses canonical bytes back into a record (without hashes).
func DecodeRecord(canonical []byte) (Record, error) {
	var c canonicalRecord
	if err := json.Unmarshal(canonical, &c); err != nil {
		return Record{}, fmt.Errorf("auth: audit record: %w", err)
	}
	if c.V != canonicalVersion {
		return Record{}, fmt.Errorf("auth: audit record format %d", c.V)
	}
	rec, err := time.Parse(time.RFC3339Nano, c.Recorded)
	if err != nil {
		return Record{}, fmt.Errorf("auth: audit record: %w", err)
	}
	return Record{Seq: c.Seq, Tenant: c.Tenant, Recorded: rec, Action: c.Action,
		Interaction: c.Interaction, Outcome: c.Outcome, OutcomeDesc: c.OutcomeDesc, Status: c.Status,
		Subject: c.Subject, Issuer: c.Issuer, ClientID: c.ClientID, Role: c.Role, Facility: c.Facility,
		Address: c.Address, Purpose: c.Purpose, Decision: c.Decision, BreakGlass: c.BreakGlass,
		ResourceType: c.ResourceType, ResourceID: c.ResourceID, VersionID: c.VersionID, Query: c.Query,
		Patients: c.Patients, RequestID: c.RequestID}, nil
}

// GenesisHash is hash_0, the previous hash of a tenant's first record.
var GenesisHash = store.AuditGenesis

// NextLink returns hash_seq = SHA-256(prevHash || uint64 big-endian seq || record), record
// being the canonical bytes of record seq. A store appending records computes it in the
// same transaction that reads prevHash (the chain head) and writes the record and new head.
func NextLink(prevHash []byte, seq int64, record []byte) []byte {
	return store.AuditLink(prevHash, seq, record)
}

// Head is the end of a tenant's chain: the last sequence number and its hash. Seq 0
// with GenesisHash is the empty chain.
type Head struct {
	Seq  int64
	Hash []byte
}

// Chain appends records to one tenant's chain in memory: the store uses the same rule
// (NextLink) inside its own transaction.
type Chain struct {
	Head Head
}

// Append sets r's Seq, PrevHash and Hash to continue the chain and advances the head.
func (c *Chain) Append(r *Record) {
	if c.Head.Hash == nil {
		c.Head.Hash = GenesisHash
	}
	r.Seq = c.Head.Seq + 1
	r.PrevHash = c.Head.Hash
	r.Hash = NextLink(r.PrevHash, r.Seq, r.Canonical())
	c.Head = Head{Seq: r.Seq, Hash: r.Hash}
}

// ChainError says where a chain breaks.
type ChainError struct {
	// Seq is the first sequence number at which the chain does not hold: the record there
	// was changed, removed, moved or inserted.
	Seq     int64
	Problem string
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("audit chain broken at seq %d: %s", e.Seq, e.Problem)
}

// Link is one stored chain entry: a record's canonical bytes, its sequence number and hash.
type Link struct {
	Seq    int64
	Record []byte
	Hash   []byte
}

// VerifyLinks checks stored links in order from seq 1 and returns the head they end at. The
// first problem is returned as a *ChainError; an error from links is returned as is.
func VerifyLinks(links iter.Seq2[Link, error]) (Head, error) {
	head := Head{Hash: GenesisHash}
	for l, err := range links {
		if err != nil {
			return head, err
		}
		want := head.Seq + 1
		if l.Seq != want {
			return head, &ChainError{Seq: want, Problem: fmt.Sprintf("found seq %d where %d belongs", l.Seq, want)}
		}
		// A record chained in memory carries its sequence number; one appended to a store is
		// encoded before the store assigns it (seq 0), and the hash binds it either way.
		if rec, err := DecodeRecord(l.Record); err != nil {
			return head, &ChainError{Seq: want, Problem: "the record does not decode: " + err.Error()}
		} else if rec.Seq != 0 && rec.Seq != l.Seq {
			return head, &ChainError{Seq: want, Problem: "the record carries another sequence number"}
		}
		if !bytes.Equal(NextLink(head.Hash, l.Seq, l.Record), l.Hash) {
			return head, &ChainError{Seq: want, Problem: "the hash does not match the record and its predecessor"}
		}
		head = Head{Seq: l.Seq, Hash: l.Hash}
	}
	return head, nil
}

// VerifyChain checks a tenant's records in order from seq 1 (see VerifyLinks).
func VerifyChain(records iter.Seq2[Record, error]) error {
	_, err := VerifyLinks(recordLinks(records))
	return err
}

// VerifyChainHead checks the records and that they end at head, which catches a truncated
// tail. head is kept apart from the records (the tenant catalog, an exported log).
func VerifyChainHead(records iter.Seq2[Record, error], head Head) error {
	got, err := VerifyLinks(recordLinks(records))
	if err != nil {
		return err
	}
	return checkHead(got, head)
}

// checkHead compares the end of a verified chain with the head kept apart from it.
func checkHead(got, head Head) error {
	switch {
	case got.Seq != head.Seq:
		return &ChainError{Seq: got.Seq + 1, Problem: fmt.Sprintf("the chain ends at seq %d, the head says %d", got.Seq, head.Seq)}
	case !bytes.Equal(got.Hash, head.Hash):
		return &ChainError{Seq: head.Seq, Problem: "the last record's hash differs from the head's"}
	}
	return nil
}

func recordLinks(records iter.Seq2[Record, error]) iter.Seq2[Link, error] {
	return func(yield func(Link, error) bool) {
		for r, err := range records {
			if !yield(Link{Seq: r.Seq, Record: r.Canonical(), Hash: r.Hash}, err) {
				return
			}
		}
	}
}

// Records returns an iterator over a slice of records, for VerifyChain.
func Each(rs []Record) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		for _, r := range rs {
			if !yield(r, nil) {
				return
			}
		}
	}
}

// Sink stores audit records. The store implements it: Append assigns each record the
// tenant's next sequence number, chains it (NextLink from the stored head), and stores the
// records and the new head atomically, in order, serialised per tenant; either all records
// are stored or none and an error is returned, and the server then fails the request.
// Records are append-only: no method changes or deletes them.
type Sink interface {
	Append(ctx context.Context, tenant string, records []Record) error
}

// MemSink is an in-memory Sink for tests and single processes.
type MemSink struct {
	mu     sync.Mutex
	chains map[string]*Chain
	recs   map[string][]Record
}

// Append implements Sink.
func (m *MemSink) Append(_ context.Context, tenant string, records []Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.chains == nil {
		m.chains, m.recs = map[string]*Chain{}, map[string][]Record{}
	}
	c := m.chains[tenant]
	if c == nil {
		c = &Chain{}
		m.chains[tenant] = c
	}
	for _, r := range records {
		r.Tenant = tenant
		r.Patients = append([]string(nil), r.Patients...)
		c.Append(&r)
		m.recs[tenant] = append(m.recs[tenant], r)
	}
	return nil
}

// Records returns a copy of tenant's records in chain order.
func (m *MemSink) Records(tenant string) []Record {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Record(nil), m.recs[tenant]...)
}

// Head returns tenant's chain head.
func (m *MemSink) Head(tenant string) Head {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c := m.chains[tenant]; c != nil {
		return c.Head
	}
	return Head{Hash: GenesisHash}
}

// AuditEvent returns r as an R4 AuditEvent (IHE Basic Audit Log Patterns, RESTful
// activity): type rest with the interaction as subtype, the requestor agent (the person, or
// the client when there is no person) with purposeOfUse, the client application with its
// network address, the facility the caller acts for, the hub as the server agent and source
// observer, and entities for the patients, the resource and the query (base64). observer
// names the hub (e.g. its base URL).
func (r Record) AuditEvent(observer string) json.RawMessage {
	type obj = map[string]any
	coding := func(system, code, display string) obj {
		c := obj{"system": system, "code": code}
		if display != "" {
			c["display"] = display
		}
		return c
	}
	ev := obj{
		"resourceType": "AuditEvent",
		"type":         coding("http://terminology.hl7.org/CodeSystem/audit-event-type", "rest", "Restful Operation"),
		"action":       r.Action,
		"recorded":     r.Recorded.UTC().Format(time.RFC3339Nano),
		"outcome":      r.Outcome,
	}
	if r.Interaction != "" {
		ev["subtype"] = []obj{coding("http://hl7.org/fhir/restful-interaction", r.Interaction, "")}
	}
	if r.OutcomeDesc != "" {
		ev["outcomeDesc"] = r.OutcomeDesc
	}
	var ext []obj
	if r.Seq > 0 {
		sub := []obj{{"url": "seq", "valueString": strconv.FormatInt(r.Seq, 10)}}
		if r.Hash != nil {
			sub = append(sub, obj{"url": "hash", "valueBase64Binary": base64.StdEncoding.EncodeToString(r.Hash)})
		}
		if r.PrevHash != nil {
			sub = append(sub, obj{"url": "previous", "valueBase64Binary": base64.StdEncoding.EncodeToString(r.PrevHash)})
		}
		ext = append(ext, obj{"url": ChainExtension, "extension": sub})
	}
	if r.Decision != "" || r.Status != 0 || r.BreakGlass != "" {
		var sub []obj
		if r.Decision != "" {
			sub = append(sub, obj{"url": "reason", "valueString": r.Decision})
		}
		if r.Status != 0 {
			sub = append(sub, obj{"url": "status", "valueInteger": r.Status})
		}
		if r.BreakGlass != "" {
			sub = append(sub, obj{"url": "breakGlass", "valueString": r.BreakGlass})
		}
		ext = append(ext, obj{"url": DecisionExtension, "extension": sub})
	}
	if ext != nil {
		ev["extension"] = ext
	}

	var purpose []obj
	if r.Purpose != "" {
		purpose = append(purpose, obj{"coding": []obj{coding(PurposeOfUseSystem, r.Purpose, "")}})
	}
	if r.BreakGlass != "" {
		purpose = append(purpose, obj{"coding": []obj{coding(PurposeOfUseSystem, PurposeBreakGlass, "break the glass")}})
	}
	who := func(system, value string) obj {
		id := obj{"value": value}
		if system != "" {
			id["system"] = system
		}
		return obj{"identifier": id}
	}
	network := func(a obj) obj {
		if r.Address != "" {
			a["network"] = obj{"address": r.Address, "type": "2"} // 2 = IP address
		}
		return a
	}
	person := r.Subject != "" && r.Subject != r.ClientID
	var agents []obj
	if person {
		a := obj{"type": obj{"coding": []obj{coding("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "IRCP", "information recipient")}},
			"who": who(r.Issuer, r.Subject), "requestor": true}
		if r.Role != "" {
			a["role"] = []obj{{"coding": []obj{coding(RoleSystem, r.Role, "")}}}
		}
		if purpose != nil {
			a["purposeOfUse"] = purpose
		}
		agents = append(agents, network(a))
	}
	if r.ClientID != "" || !person {
		a := obj{"type": obj{"coding": []obj{coding("http://dicom.nema.org/resources/ontology/DCM", "110153", "Source Role ID")}},
			"who": who(r.Issuer, cmp.Or(r.ClientID, r.Subject)), "requestor": !person}
		if !person {
			if r.Role != "" {
				a["role"] = []obj{{"coding": []obj{coding(RoleSystem, r.Role, "")}}}
			}
			if purpose != nil {
				a["purposeOfUse"] = purpose
			}
			network(a)
		}
		agents = append(agents, a)
	}
	if r.Facility != "" {
		agents = append(agents, obj{"type": obj{"coding": []obj{coding("http://terminology.hl7.org/CodeSystem/v3-RoleClass", "PROV", "healthcare provider")}},
			"who": obj{"reference": r.Facility}, "requestor": false})
	}
	agents = append(agents, obj{"type": obj{"coding": []obj{coding("http://dicom.nema.org/resources/ontology/DCM", "110152", "Destination Role ID")}},
		"who": obj{"display": observer}, "requestor": false})
	ev["agent"] = agents
	ev["source"] = obj{"site": r.Tenant, "observer": obj{"display": observer},
		"type": []obj{coding("http://terminology.hl7.org/CodeSystem/security-source-type", "4", "Application Server")}}

	var entities []obj
	for _, p := range r.Patients {
		entities = append(entities, obj{"what": obj{"reference": p},
			"type": coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "1", "Person"),
			"role": coding("http://terminology.hl7.org/CodeSystem/object-role", "1", "Patient")})
	}
	if r.ResourceType != "" && r.ResourceID != "" {
		ref := r.ResourceType + "/" + r.ResourceID
		if r.VersionID != "" {
			ref += "/_history/" + r.VersionID
		}
		entities = append(entities, obj{"what": obj{"reference": ref},
			"type": coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "2", "System Object"),
			"role": coding("http://terminology.hl7.org/CodeSystem/object-role", "4", "Domain Resource")})
	}
	if r.Query != "" || (r.ResourceType != "" && r.ResourceID == "") {
		q := obj{"type": coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "2", "System Object"),
			"role": coding("http://terminology.hl7.org/CodeSystem/object-role", "24", "Query")}
		if r.ResourceType != "" {
			q["description"] = r.ResourceType
		}
		if r.Query != "" {
			q["query"] = base64.StdEncoding.EncodeToString([]byte(r.Query))
		}
		entities = append(entities, q)
	}
	if entities != nil {
		ev["entity"] = entities
	}
	b, _ := json.Marshal(ev) // maps of strings, ints and bools: cannot fail
	return b
}
