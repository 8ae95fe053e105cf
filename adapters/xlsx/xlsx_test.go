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
	"compress/flate"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/kodomohub/kodomohub/internal/goldentest"

	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"

	"github.com/kodomohub/kodomohub/adapters"
)

var update = flag.Bool("update", false, "rewrite the golden file and the sample workbook")

// serial is the Excel serial number of a day (and a time of it).
func serial(y int, m time.Month, d, hh, mm, ss int) float64 {
	t := time.Date(y, m, d, hh, mm, ss, 0, time.UTC)
	return t.Sub(time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)).Hours() / 24
}

// workbook builds a workbook with the sheet 名簿 (and an empty sheet before it when
// sheetFirst is false): a title row, the header in row 3 with a full-width space around
// 氏名, then records with the date formats of Japanese workbooks (built-in 14 and 31,
// ggge"年"m"月"d"日", a date with a time, a time alone), a zero-padded number, a number in
// 0.0, 髙, ①, half-width kana; a 外字 (a warning), a gap of rows, a value beyond the header
// (a row error).
func workbook(t testing.TB, path string, vba bool) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.SetSheetName("Sheet1", "名簿"))
	_, err := f.NewSheet("メモ")
	must(err)
	style := func(s *excelize.Style) int {
		id, err := f.NewStyle(s)
		must(err)
		return id
	}
	code := func(c string) *string { return &c }
	builtin14 := style(&excelize.Style{NumFmt: 14})
	builtin31 := style(&excelize.Style{NumFmt: 31})
	wareki := style(&excelize.Style{CustomNumFmt: code(`[$-ja-JP-x-gannen]ggge"年"m"月"d"日"`)})
	withTime := style(&excelize.Style{CustomNumFmt: code(`yyyy/m/d h:mm:ss`)})
	clock := style(&excelize.Style{NumFmt: 20}) // h:mm
	padded := style(&excelize.Style{CustomNumFmt: code(`000000000000000`)})
	oneDecimal := style(&excelize.Style{NumFmt: 0, CustomNumFmt: code(`0.0`)})

	must(f.SetCellStr("名簿", "A1", "住民名簿（令和5年度）"))
	must(f.SetSheetRow("名簿", "A3", &[]any{"宛名番号", "　氏名　", "氏名カナ", "生年月日", "和暦", "届出日", "受付日時", "受付時刻", "身長", "住所"}))
	rows := []struct {
		row  int
		vals []any
	}{
		{4, []any{101, "山田　太郎", "ﾔﾏﾀﾞ ﾀﾛｳ", serial(2023, 6, 1, 0, 0, 0), serial(2019, 5, 1, 0, 0, 0), serial(2023, 6, 2, 0, 0, 0), serial(2023, 6, 1, 9, 30, 15), serial(1899, 12, 30, 9, 30, 0), 98.5, "埼玉県比企郡川島町①"}},
		{5, []any{102, "髙橋　花子", "ﾀｶﾊｼ ﾊﾅｺ", serial(2021, 4, 1, 0, 0, 0), serial(2021, 4, 1, 0, 0, 0), nil, nil, nil, 87, "埼玉県比企郡川島町㈱みさとハイツ"}},
		{6, []any{103, "山\ue000　一郎", "ﾔﾏｻｷ ｲﾁﾛｳ", serial(1989, 1, 7, 0, 0, 0), serial(1989, 1, 7, 0, 0, 0)}},
		{9, []any{104, "佐藤　三郎", "ｻﾄｳ ｻﾌﾞﾛｳ", nil, nil, nil, nil, nil, nil, "埼玉県", "余計な値"}},
		{10, []any{105, "田中　六子", "ﾀﾅｶ ﾑﾂｺ", serial(2023, 6, 1, 0, 0, 0)}},
	}
	for _, r := range rows {
		must(f.SetSheetRow("名簿", fmt.Sprintf("A%d", r.row), &r.vals))
		must(f.SetCellStyle("名簿", fmt.Sprintf("A%d", r.row), fmt.Sprintf("A%d", r.row), padded))
		for col, st := range map[string]int{"D": builtin14, "E": wareki, "F": builtin31, "G": withTime, "H": clock, "I": oneDecimal} {
			cell := fmt.Sprintf("%s%d", col, r.row)
			must(f.SetCellStyle("名簿", cell, cell, st))
		}
	}
	if vba {
		must(f.AddVBAProject(append([]byte{0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1}, "Attribute VB_Name = \"Module1\"\nSub AutoOpen(): Kill \"C:\\*\": End Sub"...)))
	}
	f.Path = path // the extension decides the content type (.xlsm: macro-enabled)
	must(f.SetDocProps(&excelize.DocProperties{Created: "2026-01-01T00:00:00Z", Modified: "2026-01-01T00:00:00Z", Creator: "kodomohub"}))
	buf, err := f.WriteToBuffer()
	must(err)
	return buf.Bytes()
}

// result is what a sheet decodes to, as the golden file keeps it.
type result struct {
	Headers []string `json:"headers"`
	Items   []any    `json:"items"` // a record, or {"problem": …} for a *RowError
}

func decodeAll(t *testing.T, dec *Decoder, name string, in []byte) result {
	t.Helper()
	headers, records, err := dec.Decode(name, bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	res := result{Headers: headers}
	for rec, err := range records {
		if err != nil {
			var re *adapters.RowError
			if !errors.As(err, &re) {
				t.Fatalf("fatal error: %v", err)
			}
			res.Items = append(res.Items, map[string]any{"problem": re.Problem})
			continue
		}
		res.Items = append(res.Items, rec)
	}
	return res
}

// TestGolden decodes the workbook the test builds, and the sample kept in testdata (a
// macro-enabled .xlsm), to the same golden file.
func TestGolden(t *testing.T) {
	const golden = "testdata/registry.golden.json"
	built := workbook(t, "registry.xlsm", true)
	if *update {
		goldentest.Write(t, "testdata/registry.xlsm", built)
	}
	for name, in := range map[string][]byte{"built": built, "testdata": goldentest.Read(t, "testdata/registry.xlsm")} {
		t.Run(name, func(t *testing.T) {
			got, err := json.MarshalIndent(decodeAll(t, &Decoder{Sheet: "名簿", HeaderRow: 3}, "registry.xlsm", in), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			goldentest.JSON(t, golden, append(got, '\n'), *update)
		})
	}
}

func TestFirstSheetAndFirstRow(t *testing.T) {
	res := decodeAll(t, &Decoder{}, "registry.xlsx", workbook(t, "registry.xlsx", false))
	// The first sheet is 名簿; its first row with a value is the title, a header of one column.
	if d := cmp.Diff([]string{"住民名簿（令和5年度）"}, res.Headers); d != "" {
		t.Errorf("headers (-want +got):\n%s", d)
	}
	if len(res.Items) == 0 {
		t.Fatal("no items")
	}
	p, ok := res.Items[0].(map[string]any)["problem"].(adapters.Problem)
	if !ok || p.Line != 3 || !strings.Contains(p.Reason, "cell B3 has a value, but the header ends at column A") {
		t.Errorf("first item %+v", res.Items[0])
	}
}

func TestDecodeFails(t *testing.T) {
	book := workbook(t, "b.xlsx", false)
	var dup bytes.Buffer
	f := excelize.NewFile()
	f.SetSheetRow("Sheet1", "B2", &[]any{"宛名番号", "氏名", " 宛名番号"})
	f.Write(&dup)
	f.Close()
	for _, tc := range []struct {
		name string
		dec  Decoder
		in   []byte
		is   error
		want string
	}{
		{"CSV", Decoder{}, []byte("宛名番号,氏名\n1,山田\n"), ErrNotWorkbook, "zip: not a valid zip file"},
		{"XLS", Decoder{}, []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00"), ErrNotWorkbook, ".xls"},
		{"ZipWithoutWorkbook", Decoder{}, zipOf(t, map[string]string{"word/document.xml": "<w/>"}), ErrNotWorkbook, "xl/workbook.xml"},
		{"UnknownSheet", Decoder{Sheet: "Sheet9"}, book, nil, `no sheet "Sheet9" (the workbook has 名簿, メモ)`},
		{"EmptySheet", Decoder{Sheet: "メモ"}, book, nil, "no header: the sheet is empty"},
		{"NoHeaderRow", Decoder{Sheet: "名簿", HeaderRow: 99}, book, nil, "no row 99 for the header"},
		{"DuplicateHeader", Decoder{}, dup.Bytes(), nil, `row 2: the header names a column twice: "宛名番号" in columns B and D`},
		{"FileTooLarge", Decoder{MaxFileBytes: 1000}, book, ErrTooLarge, "more than 1000 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := tc.dec.Decode("f", bytes.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) || (tc.is != nil && !errors.Is(err, tc.is)) {
				t.Fatalf("err %v, want %q (%v)", err, tc.want, tc.is)
			}
		})
	}
}

// zipOf is a zip of the files given.
func zipOf(t testing.TB, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, content := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, content)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// bomb rewrites a workbook with its first sheet replaced by size bytes of zeros,
// compressed, declaring declared bytes (size when 0): a zip bomb, or one that lies.
func bomb(t testing.TB, book []byte, size, declared int64) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(book), int64(len(book)))
	if err != nil {
		t.Fatal(err)
	}
	var compressed bytes.Buffer
	fw, _ := flate.NewWriter(&compressed, flate.BestSpeed)
	zero := make([]byte, 1<<20)
	for n := int64(0); n < size; n += int64(len(zero)) {
		fw.Write(zero[:min(int64(len(zero)), size-n)])
	}
	fw.Close()
	if declared == 0 {
		declared = size
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, zf := range zr.File {
		if zf.Name == "xl/worksheets/sheet1.xml" {
			w, err := zw.CreateRaw(&zip.FileHeader{Name: zf.Name, Method: zip.Deflate,
				CompressedSize64: uint64(compressed.Len()), UncompressedSize64: uint64(declared)})
			if err != nil {
				t.Fatal(err)
			}
			w.Write(compressed.Bytes())
			continue
		}
		if err := zw.Copy(zf); err != nil {
			t.Fatal(err)
		}
	}
	zw.Close()
	return buf.Bytes()
}

// TestZipBomb: a workbook whose sheet expands beyond the limit is refused with an error,
// whether its directory says so (refused before expanding) or lies (archive/zip stops at
// the size declared, and the part is damaged), with memory far below what the sheet would
// expand to.
func TestZipBomb(t *testing.T) {
	book := workbook(t, "b.xlsx", false)
	for name, in := range map[string][]byte{
		"Declared": bomb(t, book, DefaultMaxUnzipBytes+1<<20, 0),
		"Lying":    bomb(t, book, DefaultMaxUnzipBytes+1<<20, 4096),
	} {
		t.Run(name, func(t *testing.T) {
			t.Logf("%d bytes", len(in))
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, records, err := (&Decoder{}).Decode("bomb.xlsx", bytes.NewReader(in))
			if err == nil {
				for _, err = range records {
					if err != nil {
						break
					}
				}
			}
			runtime.ReadMemStats(&after)
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
				t.Errorf("allocated %d bytes", alloc)
			}
			if want := map[string]error{"Declared": ErrTooLarge, "Lying": ErrNotWorkbook}[name]; !errors.Is(err, want) {
				t.Errorf("err %v, want %v", err, want)
			}
			t.Log(err)
		})
	}
}

func TestClassify(t *testing.T) {
	for code, want := range map[string]dateKind{
		`yyyy/m/d`: dateOnly, `[$-411]ggge"年"m"月"d"日"`: dateOnly, `yyyy"年"m"月"`: dateOnly, `mmm`: dateOnly,
		`d-mmm-yy;@`: dateOnly, `m/d/yy h:mm`: dateTime, `yyyy/mm/dd\ hh:mm:ss`: dateTime,
		`h:mm`: notDate, `mm:ss`: notDate, `[h]:mm`: notDate, `h:mm AM/PM`: notDate, `0.00E+00`: notDate,
		`General`: notDate, `#,##0`: notDate, `"令和"0`: notDate, `\d0`: notDate, `000000000000000`: notDate, `@`: notDate,
	} {
		if got, _ := classify(code); got != want {
			t.Errorf("%s: %d, want %d", code, got, want)
		}
	}
}
