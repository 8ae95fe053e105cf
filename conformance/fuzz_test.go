package conformance_test

import (
	"encoding/json"
	"testing"

	"github.com/kodomohub/kodomohub/conformance"
	"github.com/kodomohub/kodomohub/conformance/conformancetest"
	"github.com/kodomohub/kodomohub/fhir"
)

// FuzzValidate checks that Validate never panics, always returns nil or a *fhir.Error with
// status 400 or 422, and accepts only what encoding/json reads as an object. It is seeded
// with the smaller R4 examples; crashers found go to testdata/fuzz/FuzzValidate.
func FuzzValidate(f *testing.F) {
	for _, raw := range conformancetest.Examples(f) {
		if len(raw) < 8<<10 {
			f.Add(raw)
		}
	}
	f.Add([]byte(`{"resourceType":"Patient","name":[{"given":["a",null],"_given":[null,{"id":"x"}]}]}`))
	f.Add([]byte(`{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","active":true}}]}`))
	v := conformance.Default()
	f.Fuzz(func(t *testing.T, raw []byte) {
		err := v.Validate(raw)
		if err == nil {
			var m map[string]any
			if json.Unmarshal(raw, &m) != nil {
				t.Fatalf("Validate accepted what encoding/json rejects: %q", raw)
			}
			return
		}
		e := fhir.AsError(err)
		if e == nil || (e.Status != 400 && e.Status != 422) || len(e.Issues) == 0 || len(e.Issues) > conformance.MaxIssues+1 {
			t.Fatalf("Validate(%q) = %#v", raw, err)
		}
	})
}
