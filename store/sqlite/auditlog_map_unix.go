//go:build unix

package sqlite

import (
	"os"
	"syscall"
)

// mapHead maps the two slots of the head file (shared: what is stored there is the file's page
// cache, as a write would leave it), or returns nil when the file is too short to hold them.
func mapHead(f *os.File) ([]byte, error) {
	fi, err := f.Stat()
	if err != nil || fi.Size() < 2*headSlot {
		return nil, err
	}
	return syscall.Mmap(int(f.Fd()), 0, 2*headSlot, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
}

func unmapHead(b []byte) error { return syscall.Munmap(b) }
