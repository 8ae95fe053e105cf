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

package xlsx

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/kodomohub/kodomohub/adapters"
)

// FuzzDecode: any file decodes without panicking (within small limits): refused, or records
// with a field per header on increasing rows. The seed corpus is in testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	f.Add(workbook(f, "f.xlsx", false))
	f.Add(zipOf(f, map[string]string{"xl/workbook.xml": "<workbook/>", "xl/worksheets/sheet1.xml": "<worksheet/>"}))
	f.Add([]byte("a,b\n1,2\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		dec := &Decoder{MaxFileBytes: 1 << 20, MaxUnzipBytes: 4 << 20}
		headers, records, err := dec.Decode("fuzz.xlsx", bytes.NewReader(in))
		if err != nil {
			return
		}
		last := 0
		for rec, err := range records {
			var re *adapters.RowError
			switch {
			case errors.As(err, &re):
				if re.Problem.Line < 1 {
					t.Fatalf("problem %+v", re.Problem)
				}
			case err != nil:
			default:
				if rec.Line <= last || len(rec.Fields) != len(headers) {
					t.Fatalf("record %+v after row %d, headers %q", rec, last, headers)
				}
				last = rec.Line
				for _, f := range rec.Fields {
					if !utf8.ValidString(f.Value) {
						t.Fatalf("field %+v", f)
					}
				}
			}
		}
	})
}

// FuzzSheet: any worksheet XML in an otherwise sound workbook (the one of TestGolden, with
// its styles and shared strings) decodes without panicking. FuzzDecode rarely gets past the
// zip's checksums; this one fuzzes what excelize and the decoder read of a sheet.
func FuzzSheet(f *testing.F) {
	book := workbook(f, "f.xlsx", false)
	f.Add([]byte(`<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>` +
		`<row r="1"><c r="A1" t="inlineStr"><is><t>氏名</t></is></c><c r="B1" t="s"><v>0</v></c></row>` +
		`<row r="3"><c r="A3" s="2"><v>45078</v></c><c r="C3" t="e"><v>#N/A</v></c><c r="B3" t="b"><v>1</v></c></row>` +
		`</sheetData></worksheet>`))
	f.Add([]byte(`<worksheet><sheetData><row r="1048577"><c r="XFE1"><v>1</v></c></row></sheetData></worksheet>`))
	f.Fuzz(func(t *testing.T, sheet []byte) {
		in := withSheet(t, book, sheet)
		headers, records, err := (&Decoder{MaxUnzipBytes: 4 << 20}).Decode("fuzz.xlsx", bytes.NewReader(in))
		if err != nil {
			return
		}
		for rec, err := range records {
			if err == nil && len(rec.Fields) != len(headers) {
				t.Fatalf("record %+v, headers %q", rec, headers)
			}
		}
	})
}

// withSheet is book with its first sheet's XML replaced.
func withSheet(t testing.TB, book, sheet []byte) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(book), int64(len(book)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, zf := range zr.File {
		if zf.Name == "xl/worksheets/sheet1.xml" {
			w, err := zw.Create(zf.Name)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(sheet)
			continue
		}
		if err := zw.Copy(zf); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestBigSheetStreams: a sheet beyond 16 MiB is read from a temporary file, row by row, and
// the file is gone when the iteration ends.
func TestBigSheetStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 17 MiB sheet")
	}
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	f := excelize.NewFile()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		t.Fatal(err)
	}
	sw.SetRow("A1", []any{"宛名番号", "氏名", "住所", "備考"})
	const rows = 70000
	for i := 2; i <= rows; i++ {
		cell, _ := excelize.CoordinatesToCellName(1, i)
		if err := sw.SetRow(cell, []any{fmt.Sprintf("%015d", i), "山田　太郎", "埼玉県比企郡川島町大字上伊草1234番地", "ﾃｽﾄ"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := sw.Flush(); err != nil {
		t.Fatal(err)
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	os.RemoveAll(tmp) // what building it left
	os.Mkdir(tmp, 0o755)
	start := time.Now()
	_, records, err := (&Decoder{}).Decode("big.xlsx", bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	n, tempSeen := 0, false
	for rec, err := range records {
		if err != nil {
			t.Fatal(err)
		}
		n++
		if n == 1 {
			entries, _ := os.ReadDir(tmp)
			tempSeen = len(entries) > 0
		}
		if rec.Line != n+1 || rec.Value("氏名") != "山田　太郎" {
			t.Fatalf("record %d: %+v", n, rec)
		}
	}
	t.Logf("%d bytes, decoded in %v", buf.Len(), time.Since(start))
	if n != rows-1 {
		t.Errorf("%d records", n)
	}
	if !tempSeen {
		t.Error("the sheet was not expanded to a temporary file")
	}
	if entries, _ := os.ReadDir(tmp); len(entries) > 0 {
		t.Errorf("left in the temporary directory: %v", entries)
	}
}
