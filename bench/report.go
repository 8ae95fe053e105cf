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
	"fmt"
	"io"
	"time"
)

// Row is one line of a report.
type Row struct {
	Operation   string // "ingest (transaction, 100 entries)", "read"
	Concurrency int
	Stats       Stats
	PerResource bool  // rate in resources/s rather than requests/s
	RSSPeak     int64 // bytes; 0 when unknown
}

// Rate is the throughput: resources/s or requests/s.
func (r Row) Rate() float64 {
	secs := r.Stats.Elapsed.Seconds()
	if secs <= 0 {
		return 0
	}
	if r.PerResource {
		return float64(r.Stats.Resources) / secs
	}
	return float64(r.Stats.Requests) / secs
}

// WriteMarkdown renders rows as a Markdown table.
func WriteMarkdown(w io.Writer, rows []Row) error {
	if _, err := fmt.Fprint(w, "| operation | concurrency | requests | resources | duration | throughput | p50 | p95 | p99 | errors | server RSS peak |\n"+
		"|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"); err != nil {
		return err
	}
	return WriteMarkdownRows(w, rows)
}

// WriteMarkdownRows renders rows without the table header, to extend a table written
// earlier by WriteMarkdown.
func WriteMarkdownRows(w io.Writer, rows []Row) error {
	for _, r := range rows {
		unit := "req/s"
		if r.PerResource {
			unit = "resources/s"
		}
		rss := "n/a"
		if r.RSSPeak > 0 {
			rss = fmt.Sprintf("%.0f MiB", float64(r.RSSPeak)/(1<<20))
		}
		l := r.Stats.Latency
		if l == nil {
			l = &Recorder{}
		}
		if _, err := fmt.Fprintf(w, "| %s | %d | %d | %d | %s | %.0f %s | %s | %s | %s | %d | %s |\n",
			r.Operation, r.Concurrency, r.Stats.Requests, r.Stats.Resources, r.Stats.Elapsed.Round(10*time.Millisecond),
			r.Rate(), unit, ms(l.Percentile(50)), ms(l.Percentile(95)), ms(l.Percentile(99)), r.Stats.Errors, rss); err != nil {
			return err
		}
	}
	return nil
}

// ms formats a latency in milliseconds with enough precision for sub-millisecond reads.
func ms(d time.Duration) string {
	f := float64(d) / float64(time.Millisecond)
	switch {
	case f < 10:
		return fmt.Sprintf("%.2f ms", f)
	case f < 100:
		return fmt.Sprintf("%.1f ms", f)
	}
	return fmt.Sprintf("%.0f ms", f)
}
