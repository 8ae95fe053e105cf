// Package server provides the FHIR R4 REST API of the hub on gin: one route tree per tenant
// under /{tenant}/fhir, content negotiation, the interactions on every resource type,
// transaction and batch bundles, the CapabilityStatement, health and Prometheus metrics.
//
// Handlers are thin: they turn a request into an interaction, ask the auth Policy, call the
// store and render the result; every error becomes an OperationOutcome with its status.
package server
