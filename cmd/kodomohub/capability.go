package main

import (
	"encoding/json"

	"github.com/kodomohub/kodomohub/server"
)

// capabilityStatement renders what the server supports as a CapabilityStatement.
func capabilityStatement(c server.Capabilities) ([]byte, error) {
	type interaction struct {
		Code string `json:"code"`
	}
	var types []map[string]any
	var ti []interaction
	for _, i := range c.TypeInteractions {
		ti = append(ti, interaction{i})
	}
	for _, t := range c.ResourceTypes {
		types = append(types, map[string]any{"type": t, "interaction": ti, "versioning": "versioned",
			"readHistory": true, "updateCreate": true})
	}
	var si []interaction
	for _, i := range c.SystemInteractions {
		si = append(si, interaction{i})
	}
	return json.Marshal(map[string]any{
		"resourceType": "CapabilityStatement", "status": "active", "date": "2026-11-26",
		"kind": "instance", "fhirVersion": "4.0.1", "format": c.Formats, "patchFormat": c.PatchFormats,
		"software":       map[string]any{"name": "kodomohub", "version": c.Version},
		"implementation": map[string]any{"description": "kodomohub", "url": c.Base},
		"rest":           []any{map[string]any{"mode": "server", "resource": types, "interaction": si}},
	})
}
