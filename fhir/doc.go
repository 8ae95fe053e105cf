// Package fhir provides the hub's view of FHIR R4 resources: an envelope over the raw JSON a
// resource was written with, ids and references, bundles, and the OperationOutcome error type
// that every layer returns and the server renders.
//
// Stored resources are never re-encoded through typed models: the package reads and edits
// the few top-level elements the hub owns (id, meta) and leaves every other byte alone.
package fhir
