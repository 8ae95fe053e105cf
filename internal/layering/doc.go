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

// Package layering holds the test that keeps the packages in their layers: what is below
// the REST server (the FHIR model, the store, the write path, the guard, the audit trail and
// the event loop) is called by every feature, not only by HTTP handlers, so it speaks FHIR,
// kinds of errors and store contracts, never HTTP statuses or gin.
package layering
