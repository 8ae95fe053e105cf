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
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/kodomohub/kodomohub/store"
)

// VerifyOptions say what Verify checks a trail against besides its chain.
type VerifyOptions struct {
	// HeadKey checks the head's seal. Without it the seal is not checked, and the report says
	// that the end of the trail is not vouched for.
	HeadKey *store.AuditKey
	// Records holds the checkpoints kept in the store (nil: none are read).
	Records Records
	// Checkpoints are checkpoints from elsewhere (an export, the checkpoint directory), with
	// where they came from; those of other tenants are skipped.
	Checkpoints []Checkpoint
	Source      string
	// Trusted are the public keys checkpoints must be signed with. Without any, a checkpoint's
	// signature is checked under the key it carries, which proves nothing against someone who
	// forges a checkpoint with a key of their own: the report says so.
	Trusted []ed25519.PublicKey
	// Index, when set, checks the search index against the trail (store.AuditLog's
	// VerifyAuditIndex).
	Index func(ctx context.Context, tenant string) error
}

// Report is what Verify found.
type Report struct {
	Tenant string
	// Seal is the head as the store gave it; Entries the entries verified from 1 (the head's
	// Seq when the chain reaches it).
	Seal    store.AuditSeal
	Entries int64
	// SealChecked: the head's seal was checked under the head key and verifies.
	SealChecked bool
	// Checkpoints counts the checkpoints that verified and match the chain; Latest is the one
	// of the highest entry among them.
	Checkpoints int
	Latest      *Checkpoint
	// IndexChecked: the search index was compared with the trail.
	IndexChecked bool
	// Problems are the breaks found: any one means the trail is not as it was written.
	Problems []string
	// Unchecked says what could not be vouched for (no head key, no pinned checkpoint key).
	Unchecked []string
}

// Intact reports whether nothing is broken and everything was checked.
func (r *Report) Intact() bool { return len(r.Problems) == 0 && len(r.Unchecked) == 0 }

func (r *Report) problem(format string, args ...any) {
	r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
}

// Verify checks tenant's trail as it is stored: the chain from entry 1 to the head, the head's
// seal, the entries stored past the head, every checkpoint (kept in the store and given) against
// the chain, and the search index. It returns an error only when it could not read what it
// checks; what it finds is in the Report.
//
// A checkpoint whose entry lies beyond the head means the tail was cut (or an earlier head put
// back); one whose hash the chain does not hold at its entry means history was rewritten; one
// whose signature does not verify, or that a key other than the trusted ones signed, is forged.
func Verify(ctx context.Context, trail Trail, tenant string, o VerifyOptions) (*Report, error) {
	r := &Report{Tenant: tenant}
	seal, err := trail.AuditSeal(ctx, tenant)
	if err != nil {
		return r, err
	}
	r.Seal = seal
	switch {
	case o.HeadKey == nil && seal.MAC != nil:
		r.Unchecked = append(r.Unchecked, "the head is sealed, but no head key was given: its seal is not checked, so a cut tail under a rewritten head would pass")
	case o.HeadKey == nil:
		r.Unchecked = append(r.Unchecked, "the head is not sealed and no head key was given: a cut tail under a rewritten head would pass")
	case seal.MAC == nil:
		r.problem("the head (entry %d) is not sealed: it was written without the audit key, or its seal was removed", seal.Seq)
	case !o.HeadKey.Verify(tenant, seal):
		r.problem("the head's seal (entry %d, sealed %s) does not verify under the head key: the head was rewritten (as after a cut), or the key is not this trail's",
			seal.Seq, seal.Time.UTC().Format(time.RFC3339))
	default:
		r.SealChecked = true
	}
	if seal.Past > 0 {
		r.problem("%d entries are stored after the head (entry %d) that no seal covers: the head is before the chain's end (entries added without the key, or an append that stopped before its head moved, which a server with the key takes in when it starts)",
			seal.Past, seal.Seq)
	}

	// The checkpoints, by entry.
	cps, err := checkpoints(ctx, r, tenant, o)
	if err != nil {
		return r, err
	}
	bySeq := map[int64][]Checkpoint{}
	for _, c := range cps {
		if c.Seq > seal.Seq {
			r.problem("the %s lies beyond the head (entry %d): entries %d…%d were cut, or an earlier head was put back",
				c, seal.Seq, seal.Seq+1, c.Seq)
			continue
		}
		bySeq[c.Seq] = append(bySeq[c.Seq], c)
	}

	// The chain, from entry 1 to the head.
	prev, broken := store.AuditGenesis, false
	for r.Entries < seal.Seq && !broken {
		es, err := trail.AuditEntries(ctx, tenant, r.Entries, 1000)
		if err != nil {
			return r, err
		}
		if len(es) == 0 {
			break
		}
		for _, e := range es {
			if e.Seq > seal.Seq {
				break
			}
			want := r.Entries + 1
			if e.Seq != want {
				r.problem("the chain breaks at entry %d: entry %d is stored where %d belongs", want, e.Seq, want)
				broken = true
				break
			}
			if h := store.AuditLink(prev, e.Seq, e.Record); !bytes.Equal(h, e.Hash) {
				r.problem("the chain breaks at entry %d: its hash does not match its record and its predecessor", e.Seq)
				broken = true
				break
			}
			for _, c := range bySeq[e.Seq] {
				if !bytes.Equal(c.Hash, e.Hash) {
					r.problem("the %s records hash %x, the trail holds %x: the history up to entry %d was rewritten", c, c.Hash, e.Hash, e.Seq)
					continue
				}
				r.Checkpoints++
				if r.Latest == nil || c.Seq > r.Latest.Seq {
					r.Latest = &c
				}
			}
			prev, r.Entries = e.Hash, e.Seq
		}
	}
	switch {
	case broken:
	case r.Entries < seal.Seq:
		r.problem("the chain ends at entry %d, before the head (entry %d): entries were cut", r.Entries, seal.Seq)
	case r.Entries == seal.Seq && !bytes.Equal(prev, seal.Hash):
		r.problem("entry %d's hash differs from the head's: the head was rewritten", seal.Seq)
	}

	if o.Index != nil {
		var ie *store.AuditIndexError
		switch err := o.Index(ctx, tenant); {
		case errors.As(err, &ie):
			for _, p := range ie.Problems {
				r.problem("index: %s", p)
			}
			if ie.More > 0 {
				r.problem("index: and %d more", ie.More)
			}
			r.IndexChecked = true
		case err != nil:
			return r, err
		default:
			r.IndexChecked = true
		}
	}
	return r, nil
}

// checkpoints gathers tenant's checkpoints from the store and o.Checkpoints, without
// duplicates, and keeps those whose signature verifies (reporting the others).
func checkpoints(ctx context.Context, r *Report, tenant string, o VerifyOptions) ([]Checkpoint, error) {
	var all []Checkpoint
	from := map[string]string{}
	if o.Records != nil {
		stored, err := StoredCheckpoints(ctx, o.Records, tenant)
		if stored == nil && err != nil {
			return nil, err
		}
		if err != nil {
			r.problem("stored checkpoints: %v", err)
		}
		for _, c := range stored {
			from[string(c.Sig)] = "stored"
		}
		all = append(all, stored...)
	}
	for _, c := range o.Checkpoints {
		if c.Tenant != tenant {
			continue
		}
		if _, dup := from[string(c.Sig)]; dup {
			continue
		}
		from[string(c.Sig)] = o.Source
		all = append(all, c)
	}
	if len(all) > 0 && len(o.Trusted) == 0 {
		r.Unchecked = append(r.Unchecked, "no checkpoint key was given: checkpoints are checked against the key each carries, which a forger chooses")
	}
	good := all[:0]
	for _, c := range all {
		if err := c.Check(o.Trusted...); err != nil {
			r.problem("the %s (%s, tenant %q): %v", c, cmp.Or(from[string(c.Sig)], "given"), c.Tenant, err)
			continue
		}
		if c.Tenant != tenant {
			r.problem("the %s kept for %s names tenant %q", c, tenant, c.Tenant)
			continue
		}
		good = append(good, c)
	}
	slices.SortFunc(good, func(a, b Checkpoint) int { return cmp.Compare(a.Seq, b.Seq) })
	return good, nil
}
