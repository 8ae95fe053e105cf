package auth

import (
	"slices"
	"testing"
)

func TestReferencedPatients(t *testing.T) {
	for _, c := range []struct {
		raw  string
		want []string
	}{
		{`{"subject":{"reference":"Patient/p1"},"performer":[{"reference":"Practitioner/d1"},{"reference":"Patient/p2"}]}`, []string{"Patient/p1", "Patient/p2"}},
		{`{"subject":{"reference":"http://hub.example/misato/fhir/Patient/p9"}}`, []string{"Patient/p9"}},
		{`{"subject":{"reference":"Patient/p1/_history/2"}}`, nil},
		{`{"subject":{"reference":"RelatedPatient/x"},"note":[{"text":"Patient/p3"}]}`, nil},
		{`{"a":{"reference":"Patient/p1"},"b":{"reference":"Patient/p1"}}`, []string{"Patient/p1"}},
		{`{"a":{"reference":"Patient/`, nil},
	} {
		if got := referencedPatients([]byte(c.raw), nil); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.raw, got, c.want)
		}
	}
}
