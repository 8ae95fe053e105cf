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

// Package oidc runs a real OpenID provider, the npm package oidc-provider (server.js in this
// folder), for kodomohub's end-to-end tests: Start installs it with npm when needed, starts
// it on 127.0.0.1 with the clients a test names, and Provider.Token gets JWT access tokens
// from it with the client_credentials grant, each carrying the client's tenant, role and
// facility claims.
package oidc
