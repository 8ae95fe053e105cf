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

package fhir

import (
	"strings"
)

// Reference is a parsed Reference.reference value.
type Reference struct {
	// Type and ID are set for relative references ("Patient/123") and for absolute ones
	// whose tail is Type/id ("https://hub/misato/fhir/Patient/123").
	Type, ID string
	// Version is set for "Patient/123/_history/2".
	Version string
	// Base is the part before Type/id of an absolute reference.
	Base string
	// URN is set for "urn:uuid:…" and "urn:oid:…" references.
	URN string
	// Contained is set for "#id" references to contained resources.
	Contained string
}

// IsLocal reports whether r is relative: it names a resource of the same server.
func (r Reference) IsLocal() bool { return r.Type != "" && r.Base == "" }

// String formats r the way it was written (Type/id, with history and base when present).
func (r Reference) String() string {
	switch {
	case r.URN != "":
		return r.URN
	case r.Contained != "":
		return "#" + r.Contained
	}
	s := r.Type + "/" + r.ID
	if r.Version != "" {
		s += "/_history/" + r.Version
	}
	if r.Base != "" {
		s = strings.TrimSuffix(r.Base, "/") + "/" + s
	}
	return s
}

// ParseReference parses a literal reference. ok is false when s is none of the recognised
// forms (for example a bare id, or an absolute URL that does not end in Type/id).
func ParseReference(s string) (r Reference, ok bool) {
	switch {
	case s == "":
		return r, false
	case strings.HasPrefix(s, "#"):
		r.Contained = s[1:]
		return r, true
	case strings.HasPrefix(s, "urn:uuid:"), strings.HasPrefix(s, "urn:oid:"):
		r.URN = s
		return r, true
	}
	if i := strings.IndexByte(s, '?'); i >= 0 {
		return r, false // conditional reference: the caller resolves it by search
	}
	parts := strings.Split(s, "/")
	n := len(parts)
	if n >= 4 && parts[n-2] == "_history" {
		r.Version = parts[n-1]
		parts = parts[:n-2]
		n -= 2
	}
	if n < 2 || !IsResourceType(parts[n-2]) || !ValidID(parts[n-1]) {
		return Reference{}, false
	}
	r.Type, r.ID = parts[n-2], parts[n-1]
	if n > 2 {
		r.Base = strings.Join(parts[:n-2], "/")
		if !strings.Contains(r.Base, "://") {
			return Reference{}, false
		}
	}
	return r, true
}
