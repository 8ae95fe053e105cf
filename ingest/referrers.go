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
	"net/url"
	"strings"

	"github.com/kodomohub/kodomohub/auth"
	"github.com/kodomohub/kodomohub/fhir"
	"github.com/kodomohub/kodomohub/fhir/search"
	"github.com/kodomohub/kodomohub/store"
)

// maxNamedReferrers bounds the referrers a refused delete names.
const maxNamedReferrers = 10

// checkReferrers refuses, on a tenant with strict referential integrity, the delete of typ/id
// while live resources reference it (409): the store keeps every stored reference resolvable,
// and a delete that broke one would leave its referrer unable to be saved unchanged. Referrers
// that the same commit deletes or rewrites (skip) do not count: the store checks what the
// rewritten ones reference.
//
// The referrers are found through the search index (every reference search parameter of
// every type that may point to typ), so a reference held only in an element no search
// parameter covers does not stop the delete. The answer names only the referrers the caller
// may read; that some exist is told to every caller that may delete the resource.
func (c *call) checkReferrers(typ, id string, skip func(store.Key) bool) error {
	if !c.strict() {
		return nil
	}
	var revs []string
	for _, t := range fhir.ResourceTypes {
		for _, p := range c.registry.Params(t) {
			if p.Type == search.Reference && p.Searchable() && p.HasTarget(typ) {
				revs = append(revs, t+":*:"+typ)
				break
			}
		}
	}
	if len(revs) == 0 {
		return nil
	}
	q, err := c.registry.ParseQuery(typ, url.Values{"_id": {id}, "_revinclude": revs},
		search.ParseOptions{Now: c.now(), Limits: search.NoLimits})
	if err != nil {
		return err
	}
	q.Count = 1
	page, err := c.store.Search(c.ctx, c.tenant(), q, store.SearchOptions{Count: 1})
	if err != nil {
		return err
	}
	var named []string
	hidden := false
	for _, res := range page.Included {
		k := store.Key{Type: res.Type, ID: res.ID}
		if (res.Type == typ && res.ID == id) || (skip != nil && skip(k)) {
			continue
		}
		if !c.view.Decide(auth.OpRead, auth.Stored{Resource: res}).Allowed {
			hidden = true
			continue
		}
		if len(named) < maxNamedReferrers {
			named = append(named, k.String())
		} else {
			hidden = true
		}
	}
	if len(named) == 0 && !hidden {
		return nil
	}
	by := strings.Join(named, ", ")
	switch {
	case by == "":
		by = "resources this token may not read"
	case hidden:
		by += " and others"
	}
	return fhir.Errorf(fhir.KindConflict, fhir.IssueConflict,
		"%s/%s is referenced by %s; the tenant's referential integrity is strict, so it is not deleted while they reference it: delete them or change their references first",
		typ, id, by)
}
