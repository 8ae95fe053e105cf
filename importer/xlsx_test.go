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

package importer_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/kodomohub/kodomohub/adapters/csv"
	"github.com/kodomohub/kodomohub/adapters/xlsx"
	"github.com/kodomohub/kodomohub/importer"
	"github.com/kodomohub/kodomohub/mapping"
)

// TestWorkbookOfATableSource: a table source's file may be an Excel workbook (.xlsx): the
// same spec reads it, dates as Excel stores them included.
func TestWorkbookOfATableSource(t *testing.T) {
	tw := newTown(t)
	specs, err := importer.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	tw.im.Specs = specs
	tw.im.Decoders = map[string]importer.Decoder{"csv": &csv.Decoder{}, "xlsx": &xlsx.Decoder{}}
	wb := excelize.NewFile()
	sheet := wb.GetSheetName(0)
	rows := [][]any{
		{"宛名番号", "世帯番号", "氏名", "氏名カナ", "生年月日", "性別", "続柄"},
		{"000000000000011", "H11", "髙橋　一郎", "ﾀｶﾊｼ ｲﾁﾛｳ", "昭和60年4月1日", "1", "世帯主"},
		{"000000000000012", "H11", "髙橋　さくら", "タカハシ　サクラ", nil, "2", "子"},
		{"000000000000013", "H11", "髙橋　二郎", "タカハシ　ジロウ", "令和5年2月30日", "1", "子"},
	}
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := wb.SetSheetRow(sheet, cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	// A real date cell, formatted as a date.
	style, err := wb.NewStyle(&excelize.Style{NumFmt: 14})
	if err != nil {
		t.Fatal(err)
	}
	wb.SetCellValue(sheet, "E3", mustDate(t, "2023-06-01"))
	wb.SetCellStyle(sheet, "E3", "E3", style)
	path := filepath.Join(t.TempDir(), "住民記録.xlsx")
	if err := wb.SaveAs(path); err != nil {
		t.Fatal(err)
	}
	f := importer.File{Name: path, Open: func() (io.ReadCloser, error) { return openFile(path) }}
	rep, err := tw.im.Import(context.Background(), importer.Options{Source: "resident-registry", Request: tw.req}, []importer.File{f})
	if err != nil || rep.Imported != 2 || rep.Failed != 1 || rep.Problems[0].Line != 4 || rep.Problems[0].Column != "生年月日" {
		t.Fatalf("%+v %v", rep, err)
	}
	p, err := tw.st.Read(context.Background(), "misato", "Patient", mapping.ID("resident-registry", "person", "000000000000012"))
	if err != nil || !strings.Contains(string(p.Raw), `"birthDate":"2023-06-01"`) {
		t.Fatalf("the date cell: %s %v", p.Raw, err)
	}
}

func mustDate(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := time.Parse("2006-01-02", s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func openFile(path string) (io.ReadCloser, error) { return os.Open(path) }
