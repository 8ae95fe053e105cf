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

package bench

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// Limits bound a run. A run stops when Count operations have been started or Duration has
// passed, whichever comes first; at least one of them must be set.
type Limits struct {
	Concurrency int
	Count       int64         // operations to run; 0 means no count limit
	Duration    time.Duration // wall-clock limit; 0 means no time limit
}

// Op performs operation seq (0, 1, 2, … across all workers). It returns how many resources
// the operation carried (1 for a read, the entry count for a bundle) and an error if it
// failed. A failed operation counts as an error and its latency is not recorded.
type Op func(ctx context.Context, seq int64) (resources int, err error)

// Stats is what a run measured.
type Stats struct {
	Requests  int64 // operations that succeeded
	Resources int64 // resources carried by successful operations
	Errors    int64
	FirstErr  error // the first error seen, for diagnosis
	Elapsed   time.Duration
	Latency   *Recorder
	// Done is the length of the prefix of sequence numbers 0, 1, … that all succeeded:
	// operations below it are known to be complete.
	Done int64
}

// Run calls op from lim.Concurrency workers until the limits are reached or ctx ends, and
// waits for the operations in flight to finish. An operation still running when the
// duration ends is cancelled and not counted.
func Run(ctx context.Context, lim Limits, op Op) (Stats, error) {
	if lim.Concurrency < 1 {
		return Stats{}, errors.New("bench: concurrency must be at least 1")
	}
	if lim.Count <= 0 && lim.Duration <= 0 {
		return Stats{}, errors.New("bench: a run needs a count or a duration")
	}
	if lim.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, lim.Duration)
		defer cancel()
	}
	var (
		next     atomic.Int64
		mu       sync.Mutex
		st       = Stats{Latency: &Recorder{}}
		wg       sync.WaitGroup
		firstErr error
		firstGap = int64(-1)
	)
	start := time.Now()
	for range lim.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var rec Recorder
			var reqs, res, errs int64
			var werr error
			gap := int64(-1) // lowest seq of this worker that did not succeed
			fail := func(seq int64) {
				if gap < 0 || seq < gap {
					gap = seq
				}
			}
			for ctx.Err() == nil {
				seq := next.Add(1) - 1
				if lim.Count > 0 && seq >= lim.Count {
					break
				}
				t0 := time.Now()
				n, err := op(ctx, seq)
				d := time.Since(t0)
				if ctx.Err() != nil && err != nil {
					fail(seq)
					break // cut off by the deadline: neither a success nor an error
				}
				if err != nil {
					fail(seq)
					errs++
					if werr == nil {
						werr = err
					}
					continue
				}
				reqs++
				res += int64(n)
				rec.Record(d)
			}
			mu.Lock()
			defer mu.Unlock()
			st.Requests += reqs
			st.Resources += res
			st.Errors += errs
			st.Latency.Merge(&rec)
			if firstErr == nil {
				firstErr = werr
			}
			if gap >= 0 && (firstGap < 0 || gap < firstGap) {
				firstGap = gap
			}
		}()
	}
	wg.Wait()
	st.Elapsed = time.Since(start)
	st.FirstErr = firstErr
	// Every seq below next was taken by a worker, and each one taken below Count was run;
	// all of them succeeded up to the first that did not.
	st.Done = next.Load()
	if lim.Count > 0 {
		st.Done = min(st.Done, lim.Count)
	}
	if firstGap >= 0 {
		st.Done = firstGap
	}
	return st, nil
}
