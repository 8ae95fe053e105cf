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
	"math"
	"slices"
	"time"
)

// Recorder keeps every latency sample so percentiles are exact. It is not safe for
// concurrent use: give each worker its own and Merge them afterwards.
type Recorder struct {
	samples []time.Duration
	sorted  bool
}

// Record adds one sample.
func (r *Recorder) Record(d time.Duration) {
	r.samples = append(r.samples, d)
	r.sorted = false
}

// Merge adds all of o's samples to r.
func (r *Recorder) Merge(o *Recorder) {
	r.samples = append(r.samples, o.samples...)
	r.sorted = false
}

// Count is the number of samples recorded.
func (r *Recorder) Count() int { return len(r.samples) }

// Percentile returns the nearest-rank p-th percentile (0 < p ≤ 100): the smallest sample
// that is at least p percent of all samples. It returns 0 when there are no samples.
func (r *Recorder) Percentile(p float64) time.Duration {
	n := len(r.samples)
	if n == 0 {
		return 0
	}
	if !r.sorted {
		slices.Sort(r.samples)
		r.sorted = true
	}
	rank := int(math.Ceil(p / 100 * float64(n)))
	rank = min(max(rank, 1), n)
	return r.samples[rank-1]
}

// Max is the largest sample, or 0.
func (r *Recorder) Max() time.Duration { return r.Percentile(100) }
