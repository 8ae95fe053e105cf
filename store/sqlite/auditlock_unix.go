//go:build unix

package sqlite

import (
	"errors"
	"os"
	"syscall"
)

// fileLocks: appends of several processes exclude each other.
const fileLocks = true

// tryLockFile takes the exclusive flock of f without waiting: false when another open file
// description (another process, or another Store of this one) holds it.
func tryLockFile(f *os.File) (bool, error) {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, syscall.EWOULDBLOCK), errors.Is(err, syscall.EINTR):
		return false, nil
	}
	return false, err
}

func unlockFile(f *os.File) { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }
