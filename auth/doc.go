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

// Package auth provides who a request comes from and what it may do, and the record of it:
//
//   - Authenticators: OIDC (staff tokens from each tenant's trusted identity providers,
//     verified with go-oidc), TokenService (the SMART Backend Services token endpoint and the
//     hub-issued tokens it mints), Dev (dev-mode tokens for demos and tests), and Chain,
//     which hands each token to the authenticator of its issuer.
//   - SMART v1/v2 scope parsing and checking (Scope, Scopes).
//   - The one access guard (Guard, guard.go): Decide(ctx, principal, action, target) over the
//     role table (policy.go), SMART scopes, the facility roster, sensitive security labels and
//     break-glass, with the facts of each resource (its patients, its labels) computed here
//     (facts.go); View keeps what one request's decisions share, so that deciding a resource
//     costs no I/O. A denial that depends on the resource is Hidden: callers answer it as if
//     the resource did not exist (docs/security.md). The admin API's grants (grant.go) are
//     decided by the same guard.
//   - RateLimiter, a token bucket per client or person.
//
// What auth needs from storage it declares as small interfaces (Issuers, ClientStore,
// ReplayCache, Roster, SecretStore); in-memory versions serve tests and single
// processes. The server calls an Authenticator once per request and the guard once per
// resource access (every bundle entry, every search result, every version in a history
// page); every later feature calls the same guard. What was decided is recorded by package
// audit.
package auth
