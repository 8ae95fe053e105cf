//go:build !unix

package sqlite

import "os"

// mapHead does not map the head file here: it is read and written with pread and pwrite.
func mapHead(*os.File) ([]byte, error) { return nil, nil }

func unmapHead([]byte) error { return nil }
