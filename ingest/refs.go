package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"

	jsonpatch "github.com/evanphx/json-patch/v5"

	"github.com/kodomohub/kodomohub/fhir"
	"github.com/kodomohub/kodomohub/store"
)

// localRefs returns the distinct resources that body references on this server: relative
// references and absolute ones under base. Contained (#id), urn: and foreign references are
// not local.
func localRefs(decoded any, base string) []store.Key {
	seen := map[store.Key]bool{}
	var out []store.Key
	var walk func(any)
	walk = func(x any) {
		switch x := x.(type) {
		case map[string]any:
			for k, val := range x {
				if k == "reference" {
					if s, ok := val.(string); ok {
						if key, ok := localRef(s, base); ok && !seen[key] {
							seen[key] = true
							out = append(out, key)
						}
						continue
					}
				}
				walk(val)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(decoded)
	return out
}

func localRef(s, base string) (store.Key, bool) {
	r, ok := fhir.ParseReference(s)
	if !ok || r.Type == "" {
		return store.Key{}, false
	}
	if r.Base != "" && strings.TrimSuffix(r.Base, "/") != base {
		return store.Key{}, false
	}
	return store.Key{Type: r.Type, ID: r.ID}, true
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

// applyJSONPatch applies an RFC 6902 patch to a stored resource.
func applyJSONPatch(doc, patch []byte) ([]byte, error) {
	p, err := jsonpatch.DecodePatch(patch)
	if err != nil {
		return nil, fhir.Wrap(err, http.StatusBadRequest, fhir.IssueStructure, "invalid JSON Patch: %v", err)
	}
	out, err := p.Apply(doc)
	if err != nil {
		return nil, fhir.Wrap(err, http.StatusUnprocessableEntity, fhir.IssueProcessing, "the JSON Patch does not apply: %v", err)
	}
	return out, nil
}
