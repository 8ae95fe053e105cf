package search

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/kodomohub/kodomohub/conformance/conformancetest"
	"github.com/kodomohub/kodomohub/fhir/fhirpath"
)

func mustDecode(tb testing.TB, raw []byte) any {
	tb.Helper()
	v, err := fhirpath.Decode(raw)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

func mustExample(tb testing.TB, name string) any {
	tb.Helper()
	raw, ok := conformancetest.Examples(tb)[name]
	if !ok {
		tb.Fatalf("no example %s", name)
	}
	return mustDecode(tb, raw)
}

// show renders an entry compactly for golden comparisons.
func show(e Entry) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", e.Code, e.Type)
	if e.Kind != KindValue {
		fmt.Fprintf(&b, " kind=%d", e.Kind)
	}
	switch e.Type {
	case Date:
		fmt.Fprintf(&b, " [%s, %s)", msString(e.Low), msString(e.High))
	case Number, Quantity:
		fmt.Fprintf(&b, " %v %s|%s %q", e.Num, e.System, e.Value, e.Text)
	case Composite:
		for _, p := range e.Parts {
			b.WriteString(" {" + show(p) + "}")
		}
	default:
		fmt.Fprintf(&b, " %s|%s %q", e.System, e.Value, e.Text)
	}
	return b.String()
}

func TestExtractDebug(t *testing.T) {
	for _, name := range []string{"Patient-example.json", "Observation-example.json"} {
		es, err := Default().Extract(mustExample(t, name))
		if err != nil {
			t.Error(err)
		}
		var lines []string
		for _, e := range es {
			lines = append(lines, show(e))
		}
		slices.Sort(lines)
		t.Logf("%s: %d entries\n%s", name, len(es), strings.Join(lines, "\n"))
	}
}

// Every R4 example extracts without error (and without panicking).
func TestExtractExamples(t *testing.T) {
	r := Default()
	total, n := 0, 0
	for _, name := range conformancetest.Names(t) {
		raw := conformancetest.Examples(t)[name]
		es, err := r.Extract(mustDecode(t, raw))
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
		total += len(es)
		n++
	}
	t.Logf("%d examples, %d entries", n, total)
}
