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

// Package text detects and decodes the character encodings of source files: UTF-8, UTF-8
// with a byte order mark, and CP932 (Windows-31J, what Japanese municipal systems mean by
// Shift_JIS), plus ISO-2022-JP for HL7 v2 messages. Every format package under adapters
// reads its text through it.
//
// # Encodings
//
//   - UTF-8; a leading byte order mark (EF BB BF) is removed.
//   - CP932: JIS X 0208 with the NEC special characters (①, ㈱, ㍻), the NEC-selected and
//     IBM extension kanji (髙, 﨑, both their NEC (ED/EE) and IBM (FA–FC) codes) and half-width
//     katakana (ﾔﾏﾀﾞ). The user-defined area F040–F9FC (外字 a town registered) is decoded
//     to the private-use characters U+E000–U+E757, as Windows does.
//   - ISO-2022-JP (RFC 1468, with JIS X 0212 and half-width katakana): DecodeISO2022JP.
//
// # Detection
//
// Auto, the zero Encoding, decides once per file: a byte order mark means UTF-8; otherwise
// the first 64 KiB (or, when they are all ASCII, the first line with another byte) are
// UTF-8 if they are valid UTF-8, and CP932 if not. An explicit Encoding is used as given.
//
// # Problems
//
// Decoding never stops at a bad byte. Bytes that are not valid in the encoding become
// U+FFFD and an Issue of kind InvalidBytes (the record they are in is a row error); a
// private-use character (U+E000–U+F8FF and the planes 15 and 16: 外字) is kept as it is
// and reported as an Issue of kind PrivateUse (a warning). An Issue names its line and the
// character's column, both from 1.
//
// # Limits
//
// A Reader holds one line at a time. A line longer than its MaxLineBytes (1 MiB unless
// set) ends the reading with a *LineTooLongError: a file with such a line is not one of the
// tables the adapters read, and refusing it keeps memory bounded whatever the input.
package text
