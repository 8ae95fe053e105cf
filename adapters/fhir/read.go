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

package fhirjson

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"strings"

	"github.com/kodomohub/kodomohub/adapters"
	"github.com/kodomohub/kodomohub/fhir"
)

// Limits bound what the readers accept. Zero fields take the defaults.
type Limits struct {
	MaxBytes int // the largest bundle file or NDJSON line; default 16 MiB, the server's body limit
	MaxDepth int // the deepest JSON nesting; default 64, as the server
}

// DefaultLimits are used for the zero fields of the Limits a caller passes.
var DefaultLimits = Limits{MaxBytes: 16 << 20, MaxDepth: 64}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultLimits.MaxBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultLimits.MaxDepth
	}
	return l
}

// Resource is one resource of a file, as the raw JSON it was written with.
type Resource struct {
	File string
	Line int    // where the resource starts, from 1
	Type string // resourceType
	ID   string // id; "" when absent
	JSON json.RawMessage
}

// ReadNDJSON reads one resource a line. A line that is not a resource (bad JSON, too deep,
// no or an unknown resourceType, a bad id) or that is longer than lim.MaxBytes is a
// *adapters.RowError naming its line, and the next line is read. Only a read error of r ends
// the iteration with another error.
func ReadNDJSON(name string, r io.Reader, lim Limits) iter.Seq2[Resource, error] {
	lim = lim.withDefaults()
	return func(yield func(Resource, error) bool) {
		br := bufio.NewReaderSize(r, 64<<10)
		for n := 1; ; n++ {
			line, tooLong, err := readLine(br, lim.MaxBytes)
			if err != nil && err != io.EOF {
				yield(Resource{}, fmt.Errorf("fhirjson: read %s: %w", name, err))
				return
			}
			if n == 1 {
				line = bytes.TrimPrefix(line, []byte("\uFEFF"))
			}
			switch {
			case tooLong:
				if !yield(Resource{}, rowError(name, n, "", fmt.Sprintf("line longer than %d bytes", lim.MaxBytes))) {
					return
				}
			case len(bytes.TrimSpace(line)) > 0:
				res, perr := parseResource(name, n, line, lim)
				if perr != nil {
					perr = fhirProblem(name, n, "", perr)
				}
				if !yield(res, perr) {
					return
				}
			}
			if err == io.EOF {
				return
			}
		}
	}
}

// readLine reads up to the next \n (dropped with a \r before it). A line longer than max is
// read to its end and thrown away: tooLong reports it.
func readLine(br *bufio.Reader, max int) (line []byte, tooLong bool, err error) {
	for {
		chunk, err := br.ReadSlice('\n')
		if !tooLong {
			if len(line)+len(chunk) > max+2 { // +2: the \r\n that ends it
				tooLong, line = true, nil
			} else {
				line = append(line, chunk...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		if !tooLong && len(line) > max {
			tooLong, line = true, nil
		}
		return line, tooLong, err
	}
}

// parseResource reads the head of one resource with the hub's parser; the error is fhir.Parse's.
func parseResource(file string, line int, raw []byte, lim Limits) (Resource, error) {
	h, err := fhir.Parse(raw, fhir.Limits{MaxDepth: lim.MaxDepth})
	if err != nil {
		return Resource{}, err
	}
	return Resource{File: file, Line: line, Type: h.ResourceType, ID: h.ID, JSON: json.RawMessage(raw)}, nil
}

// fhirProblem turns an error of fhir.Parse into a row error; prefix is the path of the
// resource in its file (entry[2].resource), joined to the element the error names.
func fhirProblem(file string, line int, prefix string, err error) *adapters.RowError {
	fe := fhir.AsError(err)
	if fe == nil || len(fe.Issues) == 0 {
		return rowError(file, line, prefix, err.Error())
	}
	var reasons, paths []string
	for _, is := range fe.Issues {
		reasons = append(reasons, is.Diagnostics)
		paths = append(paths, is.Expression...)
	}
	column := prefix
	if len(paths) > 0 {
		column = paths[0]
		if prefix != "" && column != "" {
			// Patient.id inside entry[2].resource is entry[2].resource.id
			if c := column[0]; 'A' <= c && c <= 'Z' {
				_, column, _ = strings.Cut(column, ".")
			}
			column = strings.TrimSuffix(prefix+"."+column, ".")
		}
	}
	return rowError(file, line, column, strings.Join(reasons, "; "))
}

func rowError(file string, line int, column, reason string) *adapters.RowError {
	return &adapters.RowError{Problem: adapters.Problem{File: file, Line: line, Column: column, Reason: reason}}
}
