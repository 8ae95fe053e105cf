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
	"reflect"

	"github.com/kodomohub/kodomohub/fhir"
	"github.com/kodomohub/kodomohub/store"
)

// unchangedBy returns cur when the update w would store what cur holds: the same content,
// meta.versionId and meta.lastUpdated aside (the store stamps them), at the version w
// expects if it expects one. Such an update writes nothing and answers cur, as HAPI FHIR's
// no-op updates do: a file imported twice, or a client that sends a resource back unchanged,
// makes no new version.
func unchangedBy(cur *fhir.Resource, w store.Write) *fhir.Resource {
	if cur == nil || cur.Deleted || (w.IfMatch != 0 && w.IfMatch != cur.Version) {
		return nil
	}
	if sameContent(cur.Raw, w.Resource) {
		return cur
	}
	return nil
}

// sameContent reports whether two resources are equal as JSON values, without
// meta.versionId and meta.lastUpdated (numbers compared as written).
func sameContent(a, b []byte) bool {
	va, ok := contentOf(a)
	if !ok {
		return false
	}
	vb, ok := contentOf(b)
	return ok && reflect.DeepEqual(va, vb)
}

func contentOf(raw []byte) (map[string]any, bool) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v map[string]any
	if d.Decode(&v) != nil {
		return nil, false
	}
	if meta, ok := v["meta"].(map[string]any); ok {
		delete(meta, "versionId")
		delete(meta, "lastUpdated")
		if len(meta) == 0 {
			delete(v, "meta")
		}
	}
	return v, true
}
