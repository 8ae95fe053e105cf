// Package auth provides who a request comes from and what it may do, and the record of it:
//
//   - Authenticators: OIDC (staff tokens from each tenant's trusted identity providers,
//     verified with go-oidc), TokenService (the SMART Backend Services token endpoint and the
//     hub-issued tokens it mints), Dev (dev-mode tokens for demos and tests), and Chain,
//     which hands each token to the authenticator of its issuer.
//   - SMART v1/v2 scope parsing and checking (Scope, Scopes).
//   - Policies: ScopePolicy (scopes only) and AccessPolicy, the hub's role table with the
//     facility roster, sensitive security labels and break-glass; Decide returns the
//     reason that goes to the audit record.
//   - The audit trail: AuditRecord, its AuditEvent form, the per-tenant hash chain
//     (NextLink, AuditChain, VerifyChain) and the AuditSink the store implements.
//   - RateLimiter, a token bucket per client or person.
//
// What auth needs from storage it declares as small interfaces (Issuers, ClientStore,
// ReplayCache, Roster, AuditSink, SecretStore); in-memory versions serve tests and single
// processes. The server calls an Authenticator once per request and a Policy once per
// resource access (every bundle entry, every search result, every version in a history
// page), so a stricter policy plugs in without touching handlers.
package auth
