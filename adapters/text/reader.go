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

package text

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// DefaultMaxLineBytes is the longest line a Reader reads unless told otherwise: 1 MiB.
const DefaultMaxLineBytes = 1 << 20

// sniffBytes is how much of a file detection looks at before the first line is read.
const sniffBytes = 64 << 10

var bom = []byte{0xef, 0xbb, 0xbf}

// LineTooLongError ends a Reader at a line longer than its limit.
type LineTooLongError struct {
	Line  int // the line, from 1
	Limit int // bytes
}

func (e *LineTooLongError) Error() string {
	return fmt.Sprintf("line %d is longer than %d bytes: not a table this hub reads", e.Line, e.Limit)
}

// Line is one line of a file, decoded.
type Line struct {
	Number int    // from 1
	Text   string // UTF-8, without the line end (LF or CRLF)
	// Raw is the line as the file has it, without its line end (and without a byte order
	// mark on line 1). It is only valid until the next ReadLine.
	Raw    []byte
	Issues []Issue
}

// Reader reads a file line by line, decoded to UTF-8. Lines end with LF or CRLF; a last
// line without an end is read as well.
type Reader struct {
	br      *bufio.Reader
	dec     lineDecoder
	max     int
	n       int    // lines read
	long    []byte // a line longer than the bufio buffer, assembled
	started bool
	err     error
}

// NewReader returns a Reader of r in enc (Auto detects), refusing lines longer than
// maxLineBytes (DefaultMaxLineBytes when 0 or less).
func NewReader(r io.Reader, enc Encoding, maxLineBytes int) *Reader {
	if maxLineBytes <= 0 {
		maxLineBytes = DefaultMaxLineBytes
	}
	return &Reader{br: bufio.NewReaderSize(r, sniffBytes), dec: lineDecoder{enc: enc}, max: maxLineBytes}
}

// Encoding is the encoding the Reader decodes: as given, or as detected. It is Auto while
// everything read so far was ASCII (which both encodings read alike).
func (r *Reader) Encoding() Encoding { return r.dec.enc }

// start removes a byte order mark and, for Auto, looks at the first bytes of the file.
func (r *Reader) start() error {
	r.started = true
	head, err := r.br.Peek(sniffBytes)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return err
	}
	if bytes.HasPrefix(head, bom) && (r.dec.enc == Auto || r.dec.enc == UTF8) {
		r.dec.enc = UTF8
		r.br.Discard(len(bom))
		return nil
	}
	if r.dec.enc == Auto {
		r.dec.enc = detect(head, err != nil) // err: the file ended within the window
	}
	return nil
}

// ReadLine reads the next line. At the end of the file it returns io.EOF; a line longer
// than the limit is a *LineTooLongError, and every error ends the reading.
func (r *Reader) ReadLine() (Line, error) {
	if r.err != nil {
		return Line{}, r.err
	}
	if !r.started {
		if err := r.start(); err != nil {
			r.err = err
			return Line{}, err
		}
	}
	raw, err := r.readRaw()
	if err != nil {
		r.err = err
		return Line{}, err
	}
	r.n++
	if r.dec.enc == Auto {
		r.dec.enc = detect(raw, true)
	}
	text, issues := r.dec.decode(r.n, raw)
	return Line{Number: r.n, Text: text, Raw: raw, Issues: issues}, nil
}

// readRaw reads one line without its end, holding at most about r.max bytes of it.
func (r *Reader) readRaw() ([]byte, error) {
	r.long = r.long[:0]
	for {
		chunk, err := r.br.ReadSlice('\n')
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			if len(r.long)+len(chunk) > r.max+1 { // +1: a CR that an LF may follow
				return nil, &LineTooLongError{Line: r.n + 1, Limit: r.max}
			}
			r.long = append(r.long, chunk...)
			continue
		case err != nil && !errors.Is(err, io.EOF):
			return nil, err
		}
		line := chunk
		if len(r.long) > 0 {
			r.long = append(r.long, chunk...)
			line = r.long
		}
		if len(line) == 0 { // err is io.EOF
			return nil, err
		}
		line = bytes.TrimSuffix(line, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) > r.max {
			return nil, &LineTooLongError{Line: r.n + 1, Limit: r.max}
		}
		return line, nil
	}
}
