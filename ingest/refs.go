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
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	jsonpatch "github.com/evanphx/json-patch/v5"

	"github.com/kodomohub/kodomohub/fhir"
	"github.com/kodomohub/kodomohub/store"
)

// refs are the literal references of a resource (Reference.reference values), sorted by
// what resolving them needs.
type refs struct {
	// local are the distinct resources referenced on this server: relative references and
	// absolute ones under the base (store.Write.Refs).
	local []store.Key
	// versions are the local references to one version ("Patient/p1/_history/2").
	versions []versionRef
	// urns are the urn:uuid: and urn:oid: references with where they are: they name bundle
	// entries and resolve only inside a bundle.
	urns []located
	// conditional are the references that are searches ("Patient?identifier=…").
	conditional []located
}

type versionRef struct {
	key     store.Key
	version string
	ref     string
}

type located struct{ ref, at string }

// scanRefs finds the references of the decoded resource. base is the tenant's FHIR base:
// absolute references under it are local. A Bundle resource's references to its own
// entries' fullUrls are not urns to resolve: they resolve inside the Bundle.
func scanRefs(decoded any, base string) refs {
	var out refs
	seen := map[store.Key]bool{}
	root, _ := decoded.(map[string]any)
	var own map[string]bool // fullUrls of a Bundle resource's entries
	if root != nil && root["resourceType"] == "Bundle" {
		own = map[string]bool{}
		if entries, ok := root["entry"].([]any); ok {
			for _, e := range entries {
				if m, ok := e.(map[string]any); ok {
					if u, ok := m["fullUrl"].(string); ok {
						own[u] = true
					}
				}
			}
		}
	}
	typ, _ := root["resourceType"].(string)
	var path []string // built only when a reference needs its location
	at := func() string {
		var b strings.Builder
		b.WriteString(typ)
		for _, p := range path {
			if p[0] != '[' {
				b.WriteByte('.')
			}
			b.WriteString(p)
		}
		return b.String()
	}
	var walk func(any)
	walk = func(x any) {
		switch x := x.(type) {
		case map[string]any:
			for k, val := range x {
				if k == "reference" {
					if s, ok := val.(string); ok {
						path = append(path, k)
						out.add(s, base, seen, own, at)
						path = path[:len(path)-1]
						continue
					}
				}
				path = append(path, k)
				walk(val)
				path = path[:len(path)-1]
			}
		case []any:
			for i, e := range x {
				path = append(path, "["+strconv.Itoa(i)+"]")
				walk(e)
				path = path[:len(path)-1]
			}
		}
	}
	walk(decoded)
	return out
}

func (out *refs) add(s, base string, seen map[store.Key]bool, own map[string]bool, at func() string) {
	if strings.Contains(s, "?") && !strings.Contains(s, "://") {
		out.conditional = append(out.conditional, located{s, at()})
		return
	}
	r, ok := fhir.ParseReference(s)
	switch {
	case !ok:
		return
	case r.URN != "":
		if strings.HasPrefix(r.URN, "urn:uuid:") && !own[s] {
			out.urns = append(out.urns, located{s, at()})
		}
		return
	case r.Type == "":
		return
	case r.Base != "" && strings.TrimSuffix(r.Base, "/") != base:
		return
	}
	key := store.Key{Type: r.Type, ID: r.ID}
	if !seen[key] {
		seen[key] = true
		out.local = append(out.local, key)
	}
	if r.Version != "" {
		out.versions = append(out.versions, versionRef{key: key, version: r.Version, ref: s})
	}
}

// replaceStrings returns raw with every JSON string value equal to a key of repl replaced by
// its value. Only whole strings are replaced; everything else keeps its bytes.
func replaceStrings(raw []byte, repl map[string]string) []byte {
	if len(repl) == 0 {
		return raw
	}
	var out bytes.Buffer
	last := 0
	for i := 0; i < len(raw); i++ {
		if raw[i] != '"' {
			continue
		}
		start := i
		escaped := false
		for i++; i < len(raw); i++ {
			if raw[i] == '\\' {
				escaped = true
				i++
				continue
			}
			if raw[i] == '"' {
				break
			}
		}
		if i >= len(raw) {
			break
		}
		lit := raw[start : i+1]
		var s string
		if escaped {
			if json.Unmarshal(lit, &s) != nil {
				continue
			}
		} else {
			s = string(lit[1 : len(lit)-1])
		}
		if to, ok := repl[s]; ok {
			out.Write(raw[last:start])
			enc, _ := json.Marshal(to)
			out.Write(enc)
			last = i + 1
		}
	}
	if last == 0 {
		return raw
	}
	out.Write(raw[last:])
	return out.Bytes()
}

// replaceDecoded does to a decoded resource what replaceStrings does to its bytes, in place,
// so that the bytes and the tree stay one resource without decoding the bytes again.
func replaceDecoded(x any, repl map[string]string) any {
	if len(repl) == 0 {
		return x
	}
	switch v := x.(type) {
	case string:
		if to, ok := repl[v]; ok {
			return to
		}
	case map[string]any:
		for k, e := range v {
			v[k] = replaceDecoded(e, repl)
		}
	case []any:
		for i, e := range v {
			v[i] = replaceDecoded(e, repl)
		}
	}
	return x
}

// applyJSONPatch applies an RFC 6902 patch to a stored resource.
func applyJSONPatch(doc, patch []byte) ([]byte, error) {
	p, err := jsonpatch.DecodePatch(patch)
	if err != nil {
		return nil, fhir.Wrap(err, fhir.KindInvalid, fhir.IssueStructure, "invalid JSON Patch: %v", err)
	}
	out, err := p.Apply(doc)
	if err != nil {
		return nil, fhir.Wrap(err, fhir.KindUnprocessable, fhir.IssueProcessing, "the JSON Patch does not apply: %v", err)
	}
	return out, nil
}
