// Package oidc runs a real OpenID provider, the npm package oidc-provider (server.js in this
// folder), for kodomohub's end-to-end tests: Start installs it with npm when needed, starts
// it on 127.0.0.1 with the clients a test names, and Provider.Token gets JWT access tokens
// from it with the client_credentials grant, each carrying the client's tenant, role and
// facility claims.
package oidc
