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
