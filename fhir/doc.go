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

// Package fhir provides the hub's view of FHIR R4 resources: an envelope over the raw JSON a
// resource was written with, ids and references, bundles, and the OperationOutcome error type
// that every layer returns and the server renders.
//
// Stored resources are never re-encoded through typed models: the package reads and edits
// the few top-level elements the hub owns (id, meta) and leaves every other byte alone.
package fhir
