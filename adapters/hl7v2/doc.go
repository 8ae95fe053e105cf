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

// Package hl7v2 decodes SS-MIX2 standardised storage (the hospital-side tree of HL7 v2.5
// messages, DOMAIN S6) into adapters.Records: one record per message, each field named by its
// HL7 path. It also reads the pieces the mapping needs from such a record (patient, names,
// visit, problems, results), without turning them into FHIR.
//
// # The tree and its file names
//
// SS-MIX2 standardised storage (JAMI, "SS-MIX2 標準化ストレージ 構成の説明と構築ガイドライン")
// keeps one folder per facility and, below it:
//
//	root / pid[0:3] / pid[3:6] / pid / date / datatype / filename
//	filename  = pid "_" date "_" datatype "_" orderno "_" timestamp "_" dept "_" condition
//	pid       = 1*15 (ALPHA / DIGIT)        ; 患者ID, the hospital's patient number
//	date      = 8DIGIT / "-"                ; 診療日 yyyyMMdd; "-" for data without a date (ADT-00)
//	datatype  = 3UPALPHA ["-" 2DIGIT]       ; データ種別: ADT-00, ADT-22, PPR-01, OML-11, OMP-01, OMD …
//	orderno   = 1*15 (ALPHA / DIGIT) / "-"  ; オーダNO, 15 digits with leading zeros (999999999999999 on ADT)
//	timestamp = 14*17DIGIT                  ; 発生日時 yyyyMMddHHmmssfff (some writers omit the fff)
//	dept      = 1*3 (ALPHA / DIGIT) / "-"   ; 診療科 (user-defined table 0069), "-" when none
//	condition = "0" / "1" / "2"             ; コンディションフラグ: 1 = current; a writer renames a
//	                                        ; file to 0 when a newer one supersedes it
//
// for example 999/900/99990010/-/ADT-00/99990010_-_ADT-00_999999999999999_20161028143312352_-_1.
// The facility ID (10 digits) is not part of the file name, whatever DOMAIN S6 says: it is the
// facility's root folder (and MSH-4, the sending facility), so the caller knows it. Walk checks
// that a file's three enclosing folders are its patient ID, date and data type; the two
// hash levels above them are not required (some exports flatten the tree to root/pid/date/type).
// Files whose names do not fit are reported; files and folders whose names start with "." are
// skipped (.DS_Store). Walk yields every condition: ReadTree puts the flag in the record
// ("file.condition") and the importer decides what a superseded message means. Decoder gives
// the importer one file at a time (the command walks the folders), its name checked but not
// its folders.
//
// # Messages
//
// A file holds one message, sometimes several (each starts with MSH; FHS/BHS/BTS/FTS batch
// envelopes are skipped). The bytes are ISO-2022-JP (MSH-18 "~ISO IR87", MSH-20
// "ISO 2022-1994"), decoded line by line with golang.org/x/text/encoding/japanese.ISO2022JP
// (JIS X 0208, JIS X 0212 and half-width katakana); a file with bytes above 0x7F, no ESC and
// valid UTF-8 is read as UTF-8 (MSH-18 "UNICODE UTF-8"). Segments end with \r, \n or \r\n.
// The separators come from MSH-1 and MSH-2. Escape sequences \F\ \S\ \T\ \R\ \E\ become the
// separator they stand for, \Xhh…\ the bytes it spells (which must be UTF-8 text), \.br\ a
// line feed; \H\ \N\ and the other formatting commands are dropped; other escapes (\Z…\, \C…\,
// \M…\) are kept as written. HL7's explicit null "" is kept as the two characters "".
//
// # Field names
//
//	name       = segment ["[" occurrence "]"] "-" field ["[" repetition "]"] ["." component ["." subcomponent]]
//	PID-3.1        patient ID: field 3, component 1, of the message's first PID
//	PID-5[2].1     the family name of the second repetition of PID-5 (the kana name)
//	OBX[2]-5       the value of the message's second OBX segment
//	PID-5.1.1      subcomponent 1 of component 1
//
// Occurrences and repetitions count from 1 and the first is written without brackets; a
// segment's occurrence counts every segment of that name in the message (groups such as
// ORDER_OBSERVATION are not modelled: fields keep the message's order). A value is named by
// the deepest level the message used: a field without component separators is "PID-7", not
// "PID-7.1"; Get falls back from PID-3.1 to PID-3 as HL7 reads them. Empty values are left
// out. MSH-1 and MSH-2 are the separators as written. Record.Line is the line of the MSH.
//
// # Problems
//
// A message with a bad segment (a name that is not three capitals and digits, a segment
// before the first MSH, a control character, an undecodable byte, a bad \X escape) or a
// bad MSH (separators, MSH-9, MSH-12 not 2.x) or more than MaxValues values is a
// *adapters.RowError naming the line and the segment or field, and the next message is read.
// A file larger than MaxFileBytes cannot be read and ends the file's iteration. The helpers
// report the dates they cannot read the same way.
//
// # What is dropped
//
// Nothing is dropped from a message: the hospital decides what it stores, and the mapping
// takes the minimum it needs (DOMAIN §2.5). The helpers read what a child's record needs:
// no doctor names, no insurance (IN1) numbers.
package hl7v2
