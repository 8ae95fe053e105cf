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

package sqlite_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
)

// The crash tests run their writers in another process, this test binary started again on one
// helper test, and kill it with SIGKILL mid-write.

// startHelper starts the test binary on the helper test name with env=dir, and returns its
// standard output as lines and the kill (SIGKILL, then wait) of the process.
func startHelper(t *testing.T, name, env, dir string) (*bufio.Scanner, func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+name+"$")
	cmd.Env = append(os.Environ(), env+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return bufio.NewScanner(out), func() {
		cmd.Process.Kill()
		cmd.Wait()
	}
}

// runWriters is the body of a helper process: n goroutines call write(g, k) for k = 0, 1, …
// and print the lines it returns once it has returned (acknowledged writes), until killed; an
// error is printed as "error …" and ends its goroutine.
func runWriters(n int, write func(g, k int) ([]string, error)) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; ; k++ {
				lines, err := write(g, k)
				mu.Lock()
				if err != nil {
					fmt.Println("error", err)
					mu.Unlock()
					return
				}
				for _, l := range lines {
					fmt.Println(l)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}
