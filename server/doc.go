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

// Package server provides the FHIR R4 REST API of the hub on gin: one route tree per tenant
// under /{tenant}/fhir, content negotiation, the interactions on every resource type,
// transaction and batch bundles, the CapabilityStatement, health and Prometheus metrics.
//
// Handlers are thin: they turn a request into an interaction, ask the auth Policy, call the
// store and render the result; every error becomes an OperationOutcome with its status.
package server
