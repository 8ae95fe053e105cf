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

package ingest

import (
	"errors"
	"strconv"

	"github.com/kodomohub/kodomohub/fhir"
	"github.com/kodomohub/kodomohub/fhir/fhirpath"
	"github.com/kodomohub/kodomohub/store"
)

// body is a resource body read once: its head (resourceType, id) and its decoded tree, which
// reference resolution, reference scanning and index extraction share.
type body struct {
	raw  []byte
	head fhir.Head
	tree any
}

// parse reads a resource body: well-formed JSON within the depth limit (fhir.Parse, a scan
// of the bytes), then one decode into the tree.
func (in *Ingester) parse(raw []byte) (body, error) {
	head, err := fhir.Parse(raw, in.limits)
	if err != nil {
		return body{}, err
	}
	tree, err := fhirpath.Decode(raw)
	if err != nil {
		return body{}, fhir.Wrap(err, fhir.KindInvalid, fhir.IssueStructure, "the body is not valid JSON")
	}
	return body{raw: raw, head: head, tree: tree}, nil
}

// replace applies the bundle's reference replacements (fullUrls, conditional references) to
// the bytes and the tree alike.
func (b body) replace(repl map[string]string) body {
	if len(repl) == 0 {
		return b
	}
	b.raw = replaceStrings(b.raw, repl)
	b.tree = replaceDecoded(b.tree, repl)
	return b
}

// prepared is a checked write, with the references that need the store to be checked.
type prepared struct {
	w        store.Write
	versions []versionRef
	// unchanged is the current version when the write would store the same content
	// (unchangedBy): nothing is written.
	unchanged *fhir.Resource
}

// prepare checks a body for a create (method POST) or an update (PUT, PATCH) of typ/id and
// returns the write: the
// resourceType and id, the R4 definitions (the validator, which also checks each literal
// reference's target type), the references (no urn:uuid left unresolved), and the index
// entries.
//
// idOptional lets an update body leave out the id (conditional update); a create always
// may, as the server assigns the id.
func (c *call) prepare(typ, id, method string, b body, idOptional bool) (prepared, error) {
	action := store.Update
	if method == MethodPost {
		action = store.Create
	}
	head := b.head
	if head.ResourceType != typ {
		return prepared{}, fhir.ErrorAt(fhir.KindInvalid, fhir.IssueInvalid, "resourceType",
			"the resource is a %s but the URL names %s", head.ResourceType, typ)
	}
	if action == store.Update && !(idOptional && !head.HasID) {
		if !head.HasID {
			return prepared{}, fhir.ErrorAt(fhir.KindInvalid, fhir.IssueRequired, typ+".id", "an update must carry the resource id")
		}
		if head.ID != id {
			return prepared{}, fhir.ErrorAt(fhir.KindInvalid, fhir.IssueInvalid, typ+".id",
				"the id in the body (%q) differs from the id in the URL (%q)", head.ID, id)
		}
	}
	if err := c.validator.Validate(b.raw); err != nil {
		return prepared{}, err
	}
	rs := scanRefs(b.tree, c.req.Base)
	if len(rs.urns) > 0 {
		e := &fhir.Error{Kind: fhir.KindUnprocessable}
		for _, u := range rs.urns {
			e.Issues = append(e.Issues, fhir.Issue{Severity: fhir.SeverityError, Code: fhir.IssueNotFound,
				Diagnostics: "reference " + u.ref + " is not resolved: a urn:uuid reference names the fullUrl of an entry of the same transaction or batch Bundle, and no entry has it",
				Expression:  []string{u.at}})
		}
		return prepared{}, e
	}
	index, err := c.registry.Extract(b.tree)
	if err != nil {
		// A parameter whose expression fails on this resource gets no entries; the resource
		// is valid, so it is stored and the failure is logged for the maintainers.
		c.log.Warn("search index extraction incomplete", "type", typ, "err", err)
	}
	return prepared{w: store.Write{Type: typ, ID: id, Action: action, Resource: b.raw, Index: index, Refs: rs.local, Method: method},
		versions: rs.versions}, nil
}

// checkVersions refuses, on a strict tenant, a reference to a version that does not exist
// (or is a delete). References to resources the same commit writes are left to the store,
// which checks that they exist: their new version numbers are not known yet.
func (c *call) checkVersions(p prepared, written func(store.Key) bool) error {
	if !c.strict() {
		return nil
	}
	for _, v := range p.versions {
		if written != nil && written(v.key) {
			continue
		}
		n, err := strconv.ParseInt(v.version, 10, 64)
		if err == nil && n >= 1 {
			_, err = c.store.VRead(c.ctx, c.tenant(), v.key.Type, v.key.ID, n)
		} else {
			err = store.ErrNotFound
		}
		switch {
		case err == nil:
			continue
		case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrGone):
			what := "does not exist"
			if errors.Is(err, store.ErrGone) {
				what = "is a deletion"
			}
			return fhir.Errorf(fhir.KindUnprocessable, fhir.IssueNotFound,
				"reference %s: version %s of %s %s (the tenant's referential integrity is strict)", v.ref, v.version, v.key, what)
		default:
			return err
		}
	}
	return nil
}
