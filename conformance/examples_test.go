package conformance_test

import (
	"fmt"
	"testing"

	"github.com/kodomohub/kodomohub/conformance"
	"github.com/kodomohub/kodomohub/conformance/conformancetest"
	"github.com/kodomohub/kodomohub/fhir"
)

// skipExamples are the official examples that are not valid R4, by cause. A skipped file
// that starts to validate fails TestR4Examples, so the list cannot go stale.
var skipExamples = map[string]string{
	// Required elements missing in the published example.
	"Questionnaire-qs1.json": "nested items (Questionnaire.item.item) have no linkId, which is 1..1",
	"ig-r4.json":             "ImplementationGuide has no name and no status, both 1..1",
	// Reference targets the element does not allow (the validator checks targetProfile).
	"DeviceMetric-example.json":        "DeviceMetric.parent references a DeviceDefinition; only Device is allowed",
	"DeviceUseStatement-example.json":  "DeviceUseStatement.reasonReference references a Procedure, not an allowed target",
	"MedicationRequest-medrx0301.json": "MedicationRequest.dispenseRequest.performer references a Practitioner; only Organization is allowed",
	"Observation-clinical-gender.json": "Observation.performer references an Encounter, not an allowed target",
}

func TestR4Examples(t *testing.T) {
	v := conformance.Default()
	ex := conformancetest.Examples(t)
	if len(ex) != 718 {
		t.Errorf("got %d examples, want 718", len(ex))
	}
	if max := len(ex) * 2 / 100; len(skipExamples) > max {
		t.Errorf("%d skipped examples; at most %d (2%%) allowed", len(skipExamples), max)
	}
	for _, name := range conformancetest.Names(t) {
		err := v.Validate(ex[name])
		if why, skip := skipExamples[name]; skip {
			if err == nil {
				t.Errorf("%s is skipped (%s) but validates: remove it from skipExamples", name, why)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name := range skipExamples {
		if ex[name] == nil {
			t.Errorf("skipped example %s does not exist", name)
		}
	}
}

func BenchmarkValidate(b *testing.B) {
	ex := conformancetest.Examples(b)
	v := conformance.Default()
	for _, name := range []string{"Patient-example.json", "Observation-example.json", "Questionnaire-f201.json",
		"Bundle-bundle-transaction.json", "ExplanationOfBenefit-EB3500.json", "Bundle-types.json"} {
		raw := ex[name]
		if raw == nil {
			b.Fatalf("no example %s", name)
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				if err := v.Validate(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestValidateConcurrent checks that the pooled parser state is not shared between calls.
func TestValidateConcurrent(t *testing.T) {
	v := conformance.Default()
	ex := conformancetest.Examples(t)
	names := conformancetest.Names(t)[:200]
	bad := []byte(`{"resourceType":"Patient","name":[{"family":"a","foo":1}],"gender":"boy"}`)
	done := make(chan error, 4)
	for g := range 4 {
		go func() {
			for i, name := range names {
				if (i+g)%3 == 0 {
					if err := v.Validate(bad); err == nil || len(fhir.AsError(err).Issues) != 2 {
						done <- fmt.Errorf("bad resource: %v", err)
						return
					}
					continue
				}
				if _, skip := skipExamples[name]; !skip {
					if err := v.Validate(ex[name]); err != nil {
						done <- fmt.Errorf("%s: %v", name, err)
						return
					}
				}
			}
			done <- nil
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
