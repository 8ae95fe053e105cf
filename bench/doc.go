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

// Package bench provides bounded HTTP load generators for a kodomohub FHIR endpoint, a
// deterministic synthetic workload of child-family transaction bundles, a latency recorder
// with exact percentiles, and a Markdown report of the results.
//
// Every run is bounded by a request count, a duration or both, and stops by itself. Traffic
// goes only to the loopback URL it is given, plus that server's /metrics, which is scraped
// once a second for process_resident_memory_bytes to report the server's peak RSS.
//
// Ids are deterministic: resource n of the workload with seed s is stored with PUT as
// "bench-s-n" (see Workload.Ref), so a read run given the same seed, bundle size and
// resource count picks existing resources at random without listing them first.
package bench
