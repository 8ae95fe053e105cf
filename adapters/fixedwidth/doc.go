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

// Package fixedwidth decodes fixed-width files, the COBOL-era layouts of Japanese municipal
// systems (中間標準レイアウト, fields such as X(15)), into adapters.Records. Widths are
// measured in CP932 bytes, as COBOL counts them: a kanji or a full-width space takes two
// bytes, a half-width katakana one.
//
// # Files
//
// A file is CP932 (a file that starts with a UTF-8 byte order mark is refused), one record
// a line, lines ending with LF or CRLF. There is no header row: the first line is record 1,
// and a Record's fields are named by its Layout. Empty lines, and a last line holding only
// the DOS end-of-file mark (0x1A), are skipped. Bytes after the layout's last field are
// ignored.
//
// # Layouts
//
// A Layout names each field with its first byte (from 1) and its length in bytes. It is a
// Go value, or YAML read by LoadLayout:
//
//	name: 学齢簿 (中間標準レイアウト)
//	fields:
//	  - {name: 識別番号, start: 1, length: 15}
//	  - {name: 氏名, pic: N(20)}          # start: the byte after the previous field
//	  - {name: 就学校コード, start: 56, pic: X(3)}
//
// pic is a COBOL picture of X (a byte), 9 (a digit) and N (a double-byte character, two
// bytes), each optionally repeated as X(n); it sets length. Fields may leave gaps and come in
// any order, but may not overlap. Every problem of a layout is reported at once, with its
// line.
//
// # Records and problems
//
// A Field's Value is its bytes decoded from CP932, trailing spaces (ASCII and full-width
// U+3000) removed; its Column is its first byte, from 1. These are row errors (a
// *adapters.RowError naming the line and the field, and the iteration goes on):
//   - a line shorter than the layout;
//   - a field that begins or ends inside a double-byte character (the layout, or the
//     file, is wrong: the field would cut the character in half);
//   - bytes that are not valid CP932.
//
// A private-use character (外字) is a warning: a *adapters.RowError whose Problem.Warning
// is set comes before the record, and the record follows with the character kept.
//
// A line longer than Decoder.MaxLineBytes (1 MiB unless set) ends the iteration with a
// *text.LineTooLongError.
package fixedwidth
