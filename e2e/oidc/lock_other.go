//go:build !unix

package oidc

// lockFile is a no-op where flock is unavailable: run one test process at a time there.
func lockFile(string) (func(), error) { return func() {}, nil }
