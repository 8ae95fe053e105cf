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

// Package csv decodes delimited text files with a header row (comma-separated, or
// tab-separated with Decoder.Comma) into adapters.Records, in UTF-8, UTF-8 with a byte
// order mark or CP932, detected as package text says or given.
//
// # Format
//
// The first line that is not blank is the header; every other non-blank line (or lines,
// for a quoted field with line breaks) is a record. Fields follow RFC 4180 as encoding/csv
// reads it: a field may be quoted, a quoted field may hold the delimiter, line breaks and
// doubled quotes (""), and CRLF in a quoted field is read as LF. Lines end with LF or
// CRLF. A header name is trimmed of surrounding spaces, tabs and full-width spaces (U+3000);
// values are kept as they are. Lines that are empty, or records whose fields are all
// empty (",,,," as spreadsheets save them), are skipped.
//
// # Records and problems
//
// Record.Line is the line a record starts on (the header being line 1 of a file that starts
// with it), Field.Column the field's position from 1 and Field.Name its header. These are
// row errors (a *adapters.RowError, and the iteration goes on with the next record):
//   - a record with more or fewer fields than the header;
//   - a quote where RFC 4180 allows none (unless Decoder.LazyQuotes);
//   - bytes that are not valid in the file's encoding (the Problem names the line, the
//     header of the field and the character).
//
// A private-use character (外字) is a warning: a *adapters.RowError whose Problem.Warning
// is set is yielded before the record, and the record follows, with the character kept.
//
// Decode itself fails on a file without a header, a header that names a column twice, or
// bytes in the header that are not valid in the encoding. A line longer than
// Decoder.MaxLineBytes or a record longer than Decoder.MaxRecordBytes (both 1 MiB unless
// set; a quoted field that never ends is such a record) ends the iteration with an error:
// memory stays bounded whatever the file holds.
package csv
