package outbox_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestImports keeps the package free of infrastructure: it imports no net/http, and nothing
// it depends on is gin, the Prometheus client or a store backend. (net/http still comes in
// through package fhir's HTTP statuses, until errors carry kinds instead.)
func TestImports(t *testing.T) {
	list := func(args ...string) []string {
		t.Helper()
		out, err := exec.Command("go", append([]string{"list"}, args...)...).Output()
		if err != nil {
			t.Skipf("go list: %v", err)
		}
		return strings.Fields(string(out))
	}
	if imports := list("-f", `{{join .Imports " "}}`, "."); slices.Contains(imports, "net/http") {
		t.Errorf("outbox imports net/http")
	}
	for _, dep := range list("-deps", ".") {
		if strings.HasPrefix(dep, "github.com/gin-gonic/") || strings.HasPrefix(dep, "github.com/prometheus/") ||
			strings.HasPrefix(dep, "github.com/kodomohub/kodomohub/store/") {
			t.Errorf("outbox depends on %s", dep)
		}
	}
}
