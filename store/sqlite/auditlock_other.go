//go:build !unix

package sqlite

import "os"

// fileLocks: there is no lock between processes here.
const fileLocks = false

// tryLockFile does not lock where flock is unavailable: there, only one process may append to
// a data directory's audit logs (the appends of one Store are serialised by its leader).
func tryLockFile(*os.File) (bool, error) { return true, nil }

func unlockFile(*os.File) {}
