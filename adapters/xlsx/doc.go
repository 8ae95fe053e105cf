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

// Package xlsx decodes sheets of Excel workbooks (.xlsx, and .xlsm, whose macros are
// ignored: never run, never interpreted) into adapters.Records, with
// github.com/xuri/excelize/v2 reading the sheet as a stream of rows.
//
// # Sheets and records
//
// A Decoder reads one sheet: the one it names, or the workbook's first. The header is the
// first row with a value (or Decoder.HeaderRow); every later row with a value is a record.
// Record.Line is the sheet's row number (the header being row 1 on most sheets), a
// Field's Column its column (A is 1) and its Name the header above it, trimmed of
// surrounding spaces, tabs and full-width spaces. A record has a field for every header
// column, empty where the cell is. Values are the cells as Excel shows them (a number in
// its number format, the cached result of a formula), except dates: a cell whose format is
// a date (yyyy/m/d, 令和5年6月1日 (ggge"年"m"月"d"日"), m/d/yy …) gives its ISO date,
// 2023-06-01, and one whose format also shows a time gives 2023-06-01 09:30 (or with
// seconds, when the format shows them). A pure time format (h:mm) is shown as it is.
//
// # Problems
//
// A value in a column beyond the header's last is a row error (a *adapters.RowError, and
// the iteration goes on). A private-use character (外字) is a warning: a *adapters.RowError
// whose Problem.Warning is set comes before the record, which follows with the character
// kept. Decode fails on a file that is not a workbook (an old .xls, a CSV, an encrypted
// workbook), an unknown sheet, a sheet without a header, and a header that names a column
// twice.
//
// # Limits
//
// The file is read into memory: it may have at most Decoder.MaxFileBytes (64 MiB unless
// set). Its parts may expand to at most Decoder.MaxUnzipBytes in all (256 MiB unless set),
// checked from the zip directory before anything is expanded: a zip bomb is refused with an
// error. Then every part is expanded once into nothing, so that a part whose size or
// checksum is not what the directory says (a sheet that would end early) is refused too.
// A sheet larger than 16 MiB is expanded to a temporary file and read from there row by
// row, so memory holds one row at a time, not the sheet; the iteration removes the file
// when it ends (range over the records to their end, or break).
//
// excelize stops reading a sheet at XML it cannot parse, without an error: a workbook
// whose zip is sound but whose sheet XML is malformed can yield fewer rows than it holds.
package xlsx
