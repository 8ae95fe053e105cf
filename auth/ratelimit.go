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

package auth

import (
	"math"
	"sync"
	"time"
)

// Rate is a token-bucket rate: PerSecond requests on average, Burst at once.
type Rate struct {
	PerSecond float64
	Burst     int
}

// RateLimiter keeps one token bucket per key (a client id or a subject, qualified by the
// tenant: see Principal.RateKey). Buckets start full. It holds at most MaxKeys buckets (default 100000);
// when full, buckets that have refilled completely are dropped (they would start full
// again anyway), and if none has, those touched before the mean time are.
type RateLimiter struct {
	// Default applies to keys without their own rate (Allow with a zero Rate).
	Default Rate
	// Now is the clock; nil means time.Now.
	Now     func() time.Time
	MaxKeys int

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// RateKey is the rate-limit key of a principal: tenant, issuer and subject, which is the
// client id for backend-services tokens and the person for staff tokens (staff who share a
// dashboard client still get a bucket each).
func (p *Principal) RateKey() string {
	return p.Tenant + " " + p.Issuer + " " + p.Subject
}

// Allow takes one token from key's bucket. rate overrides the Default when non-zero. It
// reports whether the request may proceed and, when not, how long until it would.
// A rate with PerSecond <= 0 (after defaulting) means unlimited.
func (l *RateLimiter) Allow(key string, rate Rate) (ok bool, retryAfter time.Duration) {
	return l.AllowN(key, rate, 1)
}

// AllowN takes n tokens at once (every entry of a batch is a request). It passes when the
// bucket holds n tokens, or a full burst when n is larger; the bucket then goes into debt, so
// that a large batch is paid for by the wait before the next request.
func (l *RateLimiter) AllowN(key string, rate Rate, n int) (ok bool, retryAfter time.Duration) {
	if rate.PerSecond == 0 && rate.Burst == 0 {
		rate = l.Default
	}
	if rate.PerSecond <= 0 {
		return true, 0
	}
	burst := float64(max(rate.Burst, 1))
	now := time.Now()
	if l.Now != nil {
		now = l.Now()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buckets == nil {
		l.buckets = map[string]*bucket{}
	}
	b := l.buckets[key]
	if b == nil {
		l.evict(now, rate)
		b = &bucket{tokens: burst, last: now}
		l.buckets[key] = b
	}
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = math.Min(burst, b.tokens+elapsed.Seconds()*rate.PerSecond)
		b.last = now
	}
	need := float64(n)
	if b.tokens >= min(need, burst) {
		b.tokens -= need
		return true, 0
	}
	wait := time.Duration((min(need, burst) - b.tokens) / rate.PerSecond * float64(time.Second))
	return false, max(wait, time.Millisecond)
}

func (l *RateLimiter) evict(now time.Time, rate Rate) {
	limit := l.MaxKeys
	if limit <= 0 {
		limit = 100000
	}
	if len(l.buckets) < limit {
		return
	}
	// A bucket idle long enough to refill at the slowest sensible rate is as good as new.
	full := time.Duration(float64(max(rate.Burst, 1)) / rate.PerSecond * float64(time.Second))
	for k, b := range l.buckets {
		if now.Sub(b.last) >= full {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) < limit {
		return
	}
	var oldest []time.Time
	for _, b := range l.buckets {
		oldest = append(oldest, b.last)
	}
	mid := meanTime(oldest)
	for k, b := range l.buckets {
		if !b.last.After(mid) {
			delete(l.buckets, k)
		}
	}
}

func meanTime(ts []time.Time) time.Time {
	var sum float64
	for _, t := range ts {
		sum += float64(t.UnixNano())
	}
	return time.Unix(0, int64(sum/float64(len(ts))))
}
