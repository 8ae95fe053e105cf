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

package auth

import (
	"bytes"
	"encoding/json"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/kodomohub/kodomohub/fhir"
	"github.com/kodomohub/kodomohub/fhir/fhirpath"
	"github.com/kodomohub/kodomohub/fhir/search"
)

// Facts are what a resource says about itself that the policy reads: the patients it is
// about and its meta.security labels. They are computed here, from the resource, and
// nowhere else, so that every path (REST, bundles, adapters, risk, subscriptions) decides
// on the same facts.
type Facts struct {
	// Patients are the "Patient/ID" the resource is about: the members of the R4 Patient
	// compartment it belongs to (a Patient is about itself).
	Patients []string
	// Labels are its meta.security codings.
	Labels []Coding
}

// patientCompartment is the Patient CompartmentDefinition: type → parameters.
var patientCompartment, _ = search.Compartment("Patient")

// InPatientCompartment reports whether resources of typ can be about a patient (the R4
// Patient compartment names parameters for it, or it is Patient).
func InPatientCompartment(typ string) bool {
	_, ok := patientCompartment[typ]
	return ok || typ == "Patient"
}

// factsCache remembers the exact patients of stored versions: reads of the same versions
// repeat, and the compartment extraction decodes the whole resource.
type factsCache struct {
	m    sync.Map // tenant/Type/id/version → []string
	size atomic.Int64
}

const factsCacheMax = 100_000

// bodyFacts returns the facts of a body about to be written, from its index entries (already
// extracted for the write).
func bodyFacts(b Body) Facts {
	f := Facts{Labels: securityLabels(b.Raw)}
	if b.Type == "Patient" && b.ID != "" {
		f.Patients = []string{"Patient/" + b.ID}
	}
	params := patientCompartment[b.Type]
	for _, e := range b.Index {
		if slices.Contains(params, e.Code) {
			f.Patients = appendPatient(f.Patients, e)
		}
	}
	return f
}

// storedFacts returns the facts of a stored version. exact says whether the caller's
// decisions depend on the patients: then they are the Patient-compartment members (the
// R4 CompartmentDefinition's parameters evaluated on the resource, cached per version);
// otherwise every patient the resource references, found by a scan of its bytes (they go to
// the audit record only). A delete version has no facts.
func (g *Guard) storedFacts(tenant string, res fhir.Resource, exact bool) Facts {
	if res.Deleted || len(res.Raw) == 0 {
		return Facts{}
	}
	f := Facts{Labels: securityLabels(res.Raw)}
	if !exact {
		if res.Type == "Patient" {
			f.Patients = []string{"Patient/" + res.ID}
		}
		f.Patients = referencedPatients(res.Raw, f.Patients)
		return f
	}
	key := tenant + "/" + res.Type + "/" + res.ID + "/" + res.VersionID()
	if v, ok := g.facts.m.Load(key); ok {
		f.Patients = v.([]string)
		return f
	}
	if res.Type == "Patient" {
		f.Patients = []string{"Patient/" + res.ID}
	}
	if params := patientCompartment[res.Type]; len(params) > 0 && bytes.Contains(res.Raw, []byte("Patient/")) {
		if decoded, err := fhirpath.Decode(res.Raw); err == nil {
			reg := g.registry()
			for _, code := range params {
				p, ok := reg.Lookup(res.Type, code)
				if !ok {
					continue
				}
				es, _ := reg.ExtractParam(p, decoded)
				for _, e := range es {
					f.Patients = appendPatient(f.Patients, e)
				}
			}
		}
	}
	if g.facts.size.Add(1) > factsCacheMax {
		g.facts.m.Clear()
		g.facts.size.Store(1)
	}
	g.facts.m.Store(key, f.Patients)
	return f
}

// appendPatient adds the patient an index entry of a Patient-compartment parameter refers
// to, if it is a local reference to a Patient.
func appendPatient(list []string, e search.Entry) []string {
	if e.Kind == search.KindValue && e.System == "Patient" && e.Value != "" {
		return appendUnique(list, "Patient/"+e.Value)
	}
	return list
}

// referencedPatients appends to list every "Patient/ID" that a compact resource references
// ("reference":"Patient/ID" or an absolute URL ending in Patient/ID).
func referencedPatients(raw []byte, list []string) []string {
	const key = `"reference":"`
	for {
		i := bytes.Index(raw, []byte(key))
		if i < 0 {
			return list
		}
		raw = raw[i+len(key):]
		end := bytes.IndexByte(raw, '"')
		if end < 0 {
			return list
		}
		ref := raw[:end]
		raw = raw[end:]
		j := bytes.LastIndex(ref, []byte("Patient/"))
		if j < 0 || (j > 0 && ref[j-1] != '/') {
			continue
		}
		id := ref[j+len("Patient/"):]
		if len(id) == 0 || bytes.IndexByte(id, '/') >= 0 {
			continue
		}
		list = appendUnique(list, "Patient/"+string(id))
	}
}

// securityLabels returns the meta.security codings of raw.
func securityLabels(raw []byte) []Coding {
	if !bytes.Contains(raw, []byte(`"security"`)) {
		return nil
	}
	var r struct {
		Meta struct {
			Security []Coding `json:"security"`
		} `json:"meta"`
	}
	if json.Unmarshal(raw, &r) != nil {
		return nil
	}
	return r.Meta.Security
}

func appendUnique(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// matcher returns the Access.Matches of a resource: whether it matches the ?param=value
// restriction of a SMART scope. The resource is decoded once, when a restriction is asked.
func matcher(reg *search.Registry, typ string, raw []byte) func(string) (bool, error) {
	var decoded any
	return func(query string) (bool, error) {
		v, err := url.ParseQuery(query)
		if err != nil {
			return false, err
		}
		q, err := reg.ParseQuery(typ, v, search.ParseOptions{})
		if err != nil {
			return false, err
		}
		if decoded == nil {
			if len(raw) == 0 {
				return false, nil
			}
			if decoded, err = fhirpath.Decode(raw); err != nil {
				return false, nil
			}
		}
		return reg.Match(q, decoded, nil)
	}
}
