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

package csv

import (
	"fmt"
	"strings"

	"github.com/kodomohub/kodomohub/adapters/text"
)

// feeder gives encoding/csv the decoded text of a file, line by line, each ended by LF,
// and keeps each line's issues and text until the record that holds them takes them.
type feeder struct {
	src       *text.Reader
	back      []byte // the current line and its LF
	buf       []byte // what is left of it
	read      int64  // bytes handed to encoding/csv
	mark      int64  // where the last record read ends (csv.Reader.InputOffset)
	maxRecord int
	pending   []line // lines handed over and not yet taken (those with issues or quotes)
	err       error  // sticky: a line or record too long, or a read error
}

// line is a line handed over, with its issues.
type line struct {
	n      int
	text   string
	issues []text.Issue
}

func (f *feeder) Read(p []byte) (int, error) {
	if f.err != nil {
		return 0, f.err
	}
	if len(f.buf) == 0 {
		// encoding/csv reads ahead through a bufio.Reader of 4 KiB: the record limit counts
		// from the end of the last record, and may be crossed by that much.
		if f.read-f.mark > int64(f.maxRecord) {
			f.err = fmt.Errorf("%w: a record from line %d on is longer than %d bytes (an unterminated quote?)",
				ErrRecordTooLong, f.firstPending(), f.maxRecord)
			return 0, f.err
		}
		l, err := f.src.ReadLine()
		if err != nil {
			f.err = err
			return 0, err
		}
		// Kept until the record takes them: the issues of a line, and the text of a line
		// with a quote, where a parse error may be (its character column is counted in
		// it). Other lines are not kept, so that a record of many lines holds little.
		if len(l.Issues) > 0 || strings.ContainsRune(l.Text, '"') {
			k := line{n: l.Number, issues: l.Issues}
			if strings.ContainsRune(l.Text, '"') {
				k.text = l.Text
			}
			f.pending = append(f.pending, k)
		}
		f.back = append(append(f.back[:0], l.Text...), '\n')
		f.buf = f.back
	}
	n := copy(p, f.buf)
	f.buf = f.buf[n:]
	f.read += int64(n)
	return n, nil
}

func (f *feeder) firstPending() int {
	if len(f.pending) > 0 {
		return f.pending[0].n
	}
	return 0
}

// take removes the lines up to through and returns the issues of those from start on.
func (f *feeder) take(start, through int) []text.Issue {
	var issues []text.Issue
	k := 0
	for ; k < len(f.pending) && f.pending[k].n <= through; k++ {
		if f.pending[k].n >= start {
			issues = append(issues, f.pending[k].issues...)
		}
	}
	f.pending = f.pending[k:]
	return issues
}

// text is the text of line n, if it is still pending and has a quote.
func (f *feeder) text(n int) (string, bool) {
	for _, l := range f.pending {
		if l.n == n && l.text != "" {
			return l.text, true
		}
	}
	return "", false
}
