// Package auth provides who a request comes from and what it may do: the Principal a
// verified token yields, SMART v2 scope parsing and checking, the access policy the server
// asks before touching data, and dev-mode tokens for demos and tests.
//
// The server calls an Authenticator once per request and a Policy once per resource access
// (every bundle entry, every version in a history page), so a stricter policy plugs in
// without touching handlers.
package auth
