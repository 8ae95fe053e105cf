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

package hl7v2_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/kodomohub/kodomohub/internal/goldentest"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/text/encoding/japanese"

	"github.com/kodomohub/kodomohub/adapters"
	"github.com/kodomohub/kodomohub/adapters/hl7v2"
)

var update = flag.Bool("update", false, "rewrite golden files with current output")

// mustJIS turns a readable test message (UTF-8, one segment a line) into what SS-MIX2 stores:
// segments ended by \r, in ISO-2022-JP.
func mustJIS(tb testing.TB, text string) []byte {
	tb.Helper()
	b, err := japanese.ISO2022JP.NewEncoder().Bytes([]byte(strings.ReplaceAll(text, "\n", "\r")))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// item is one thing an iterator yielded, as the golden files show it.
type item struct {
	File    string     `json:"file,omitempty"`
	Line    int        `json:"line,omitempty"`
	Fields  [][]string `json:"fields,omitempty"`
	Problem string     `json:"problem,omitempty"`
}

func collect(tb testing.TB, seq func(func(adapters.Record, error) bool)) []item {
	tb.Helper()
	var out []item
	for rec, err := range seq {
		if err != nil {
			var row *adapters.RowError
			if !errors.As(err, &row) {
				tb.Fatalf("not a row error: %v", err)
			}
			out = append(out, item{Problem: row.Error()})
			continue
		}
		it := item{File: rec.File, Line: rec.Line}
		for _, f := range rec.Fields {
			it.Fields = append(it.Fields, []string{f.Name, f.Value})
		}
		out = append(out, it)
	}
	return out
}

func checkGolden(t *testing.T, golden string, got []item) {
	t.Helper()
	goldentest.JSON(t, golden, marshal(t, got), *update)
}

// marshal writes items as JSON with one field a line, so that a golden diff reads like the message.
func marshal(tb testing.TB, items []item) []byte {
	tb.Helper()
	enc := func(v any) string {
		var b bytes.Buffer
		e := json.NewEncoder(&b)
		e.SetEscapeHTML(false)
		if err := e.Encode(v); err != nil {
			tb.Fatal(err)
		}
		return strings.TrimSuffix(b.String(), "\n")
	}
	var b strings.Builder
	b.WriteString("[")
	for i, it := range items {
		if i > 0 {
			b.WriteString(",")
		}
		if it.Problem != "" {
			b.WriteString("\n  {\"problem\": " + enc(it.Problem) + "}")
			continue
		}
		b.WriteString("\n  {\"file\": " + enc(it.File) + ", \"line\": " + enc(it.Line) + ", \"fields\": [")
		for j, f := range it.Fields {
			if j > 0 {
				b.WriteString(",")
			}
			b.WriteString("\n    " + enc(f))
		}
		b.WriteString("\n  ]}")
	}
	b.WriteString("\n]\n")
	return []byte(b.String())
}

// TestGolden reads each message file of testdata/messages as ISO-2022-JP and compares the
// records (and problems) with its .golden.json.
func TestGolden(t *testing.T) {
	inputs, _ := filepath.Glob("testdata/messages/*.hl7")
	if len(inputs) == 0 {
		t.Fatal("no inputs")
	}
	for _, in := range inputs {
		t.Run(filepath.Base(in), func(t *testing.T) {
			raw := mustJIS(t, string(goldentest.Read(t, in)))
			got := collect(t, hl7v2.Read(filepath.Base(in), bytes.NewReader(raw)))
			checkGolden(t, strings.TrimSuffix(in, ".hl7")+".golden.json", got)
		})
	}
}

// TestJISBytesHoldSeparators: the JIS X 0208 bytes of マ are "%^", so a parser that split
// before decoding would cut ヤマダ at the component separator.
func TestJISBytesHoldSeparators(t *testing.T) {
	raw := mustJIS(t, string(goldentest.Read(t, "testdata/messages/adt-00.hl7")))
	if !bytes.Contains(raw, []byte("\x1b$B%d%^%@")) {
		t.Fatalf("ヤマダ is not %q in the encoded bytes", "%d%^%@")
	}
	var kana string
	for rec, err := range hl7v2.Read("adt-00", bytes.NewReader(raw)) {
		if err != nil {
			t.Fatal(err)
		}
		kana = hl7v2.Get(rec, "PID-5[2].1")
	}
	if kana != "ヤマダ" {
		t.Errorf("PID-5[2].1 = %q, want ヤマダ", kana)
	}
}

// TestUTF8AndLineEndings: the same messages in UTF-8, or with \n or \r\n, give the same records.
func TestUTF8AndLineEndings(t *testing.T) {
	text := string(goldentest.Read(t, "testdata/messages/oml-11.hl7"))
	want := collect(t, hl7v2.Read("f", bytes.NewReader(mustJIS(t, text))))
	jis := mustJIS(t, text)
	for name, raw := range map[string][]byte{
		"UTF8":     []byte(strings.ReplaceAll(text, "\n", "\r")),
		"UTF8BOM":  []byte("\uFEFF" + text),
		"JIS_LF":   bytes.ReplaceAll(jis, []byte("\r"), []byte("\n")),
		"JIS_CRLF": bytes.ReplaceAll(jis, []byte("\r"), []byte("\r\n")),
	} {
		t.Run(name, func(t *testing.T) {
			if d := cmp.Diff(want, collect(t, hl7v2.Read("f", bytes.NewReader(raw)))); d != "" {
				t.Errorf("(-JIS with \\r +%s):\n%s", name, d)
			}
		})
	}
}

// TestLineStartsInASCII: a writer that stays in JIS X 0208 over the segment break (against
// RFC 1468) still has its next segment read: each line starts in ASCII, as segment names are.
func TestLineStartsInASCII(t *testing.T) {
	msg := "MSH|^~\\&|A|B|C|D|20250101||ADT^A08|1|P|2.5\rNTE|1||\x1b$B;3ED\rNTE|2||\x1b$BM[:Z\x1b(B\r"
	var got []string
	for rec, err := range hl7v2.Read("f", strings.NewReader(msg)) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, hl7v2.Get(rec, "NTE-3"), hl7v2.Get(rec, "NTE[2]-3"))
	}
	if d := cmp.Diff([]string{"山田", "陽菜"}, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestReadErrors(t *testing.T) {
	t.Run("BadBytesNameTheField", func(t *testing.T) {
		msg := "MSH|^~\\&|A|B|C|D|20250101||ADT^A08|1|P|2.5\rPID|1||X||\x1b$B\x7f\x7f\x1b(B\r"
		got := collect(t, hl7v2.Read("f", strings.NewReader(msg)))
		if len(got) != 1 || !strings.Contains(got[0].Problem, "f:2 [PID-5]") {
			t.Errorf("got %+v, want a problem at line 2 naming PID-5", got)
		}
	})
	t.Run("TooManyValuesIsARowError", func(t *testing.T) {
		msg := "MSH|^~\\&|||||||ORU^R01|1|P|2.5\rOBX|1|NM|a||" + strings.Repeat("1~", hl7v2.MaxValues) + "\rMSH|^~\\&|||||||ORU^R01|2|P|2.5\r"
		got := collect(t, hl7v2.Read("f", strings.NewReader(msg)))
		if len(got) != 2 || !strings.Contains(got[0].Problem, "more than") || got[1].Line != 3 {
			t.Errorf("got %d items, first %q; want a problem then the next message", len(got), got[0].Problem)
		}
	})
	t.Run("TooLargeEndsTheFile", func(t *testing.T) {
		big := bytes.Repeat([]byte("A"), hl7v2.MaxFileBytes+1)
		var errs []error
		for _, err := range hl7v2.Read("big", bytes.NewReader(big)) {
			errs = append(errs, err)
		}
		var row *adapters.RowError
		if len(errs) != 1 || errors.As(errs[0], &row) {
			t.Errorf("got %v, want one error that is not a row error", errs)
		}
	})
}

func mustRecord(t *testing.T, file string) adapters.Record {
	t.Helper()
	raw := mustJIS(t, string(goldentest.Read(t, filepath.Join("testdata/messages", file))))
	for rec, err := range hl7v2.Read(file, bytes.NewReader(raw)) {
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	t.Fatal("no record")
	return adapters.Record{}
}

func TestPatientOf(t *testing.T) {
	p, err := hl7v2.PatientOf(mustRecord(t, "adt-00.hl7"))
	if err != nil {
		t.Fatal(err)
	}
	kanji, _ := p.Kanji()
	kana, _ := p.Kana()
	want := hl7v2.Patient{ID: "0000123456", BirthDate: "2021-04-01", Sex: "F", Names: []hl7v2.Name{
		{Family: "山田", Given: "陽菜", Type: "L", Representation: "I"},
		{Family: "ヤマダ", Given: "ヒナ", Type: "L", Representation: "P"},
	}}
	if d := cmp.Diff(want, p); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if kanji.Family != "山田" || kana.Given != "ヒナ" {
		t.Errorf("Kanji() = %+v, Kana() = %+v", kanji, kana)
	}

	t.Run("BadBirthDateIsARowError", func(t *testing.T) {
		var last adapters.Record
		for rec, err := range hl7v2.Read("bad.hl7", bytes.NewReader(mustJIS(t, string(goldentest.Read(t, "testdata/messages/bad.hl7"))))) {
			if err == nil {
				last = rec
			}
		}
		_, err := hl7v2.PatientOf(last)
		var row *adapters.RowError
		if !errors.As(err, &row) || row.Problem.Column != "PID-7" || row.Problem.Value != "20211301" {
			t.Errorf("got %v, want a row error on PID-7 20211301", err)
		}
	})
}

func TestVisitOf(t *testing.T) {
	v, ok, err := hl7v2.VisitOf(mustRecord(t, "adt-22.hl7"))
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	want := hl7v2.Visit{Class: "I", Location: hl7v2.Coded{"21", "205", "2"}, Department: "01",
		VisitNumber: "000000001234567", Admitted: "2025-05-01T10:30:00+09:00"}
	if d := cmp.Diff(want, v); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if _, ok, _ := hl7v2.VisitOf(mustRecord(t, "omg-13-oru.hl7")); ok {
		t.Error("a message without PV1 has a visit")
	}
}

func TestDiagnoses(t *testing.T) {
	got, err := hl7v2.Diagnoses(mustRecord(t, "ppr-01.hl7"))
	if err != nil {
		t.Fatal(err)
	}
	want := []hl7v2.Diagnosis{{
		Segment: "PRB", Action: "AD", Problem: hl7v2.Coded{"20065543", "気管支喘息", "MDCDX2"},
		InstanceID: "000000000004321", Established: "2025-04-12",
		Classification: hl7v2.Coded{Code: "J459", System: "I10"},
		LifeCycle:      hl7v2.Coded{"N", "回復せず", "HL70241"}, Onset: "2025-03-01",
	}, {
		Segment: "PRB[2]", Action: "AD", Problem: hl7v2.Coded{"20059865", "アトピー性皮膚炎", "MDCDX2"},
		InstanceID: "000000000004322", Established: "2024-01-15", Resolved: "2025-04-10",
		Classification: hl7v2.Coded{Code: "L209", System: "I10"},
		LifeCycle:      hl7v2.Coded{"F", "全快", "HL70241"}, Onset: "2024-01-15",
	}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestResults(t *testing.T) {
	got, err := hl7v2.Results(mustRecord(t, "oml-11.hl7"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("%d results, want 4", len(got))
	}
	wbc := hl7v2.Result{Segment: "OBX[2]", ValueType: "NM", Code: hl7v2.Coded{"2A990000001930952", "白血球数", "JC10"},
		Value: "12.8", Units: hl7v2.Coded{"10*3/uL", "10*3/uL", "ISO+"}, ReferenceRange: "3.5-9.8",
		AbnormalFlags: []string{"H", "A"}, Status: "F", Observed: "2025-04-15T12:00:00+09:00"}
	if d := cmp.Diff(wbc, got[1]); d != "" {
		t.Errorf("OBX[2] (-want +got):\n%s", d)
	}
	if got[3].Value != "軽度溶血あり\n再検|不要\n担当^検査室" {
		t.Errorf("OBX[4]-5 = %q: escapes not replaced", got[3].Value)
	}
	blood, _ := hl7v2.Results(mustRecord(t, "adt-00.hl7"))
	if b := blood[2]; b.Value != "A" || b.ValueText != "A型" {
		t.Errorf("coded value = %q %q, want A A型", b.Value, b.ValueText)
	}
}

func TestDateTime(t *testing.T) {
	for in, want := range map[string]string{
		"2021":                 "2021",
		"202104":               "2021-04",
		"20210401":             "2021-04-01",
		"2021040109":           "2021-04-01T09:00:00+09:00",
		"202104010930":         "2021-04-01T09:30:00+09:00",
		"20111220224447.3399":  "2011-12-20T22:44:47.3399+09:00",
		"20250420155500+0900":  "2025-04-20T15:55:00+09:00",
		"20250420155500-0500":  "2025-04-20T15:55:00-05:00",
		"20210230":             "",
		"2021-04-01":           "",
		"20210401093":          "",
		"202104010930.5":       "",
		"20250420155500+09":    "",
		"20250420155500.12345": "",
		"20250420155500+1500":  "",
	} {
		got, err := hl7v2.DateTime(in)
		if got != want || (err != nil) != (want == "") {
			t.Errorf("DateTime(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestParseFileName(t *testing.T) {
	n, err := hl7v2.ParseFileName("99990010_-_ADT-00_999999999999999_20161028143312352_-_1")
	if err != nil {
		t.Fatal(err)
	}
	want := hl7v2.FileName{PatientID: "99990010", Date: "-", DataType: "ADT-00", OrderNo: "999999999999999",
		Timestamp: "20161028143312352", Department: "-", Condition: "1"}
	if n != want || !n.Current() || n.String() != "99990010_-_ADT-00_999999999999999_20161028143312352_-_1" {
		t.Errorf("got %+v", n)
	}
	for name, why := range map[string]string{
		"0000123456_20250415_OML-11_000000000123456_20250415143000000_01":     "parts",
		"00001234567890123456_-_ADT-00_-_20250415143000000_-_1":               "patient ID",
		"0000123456_20250231_OML-11_-_20250415143000000_01_1":                 "date",
		"0000123456_20250415_oml-11_-_20250415143000000_01_1":                 "data type",
		"0000123456_20250415_OML-11_-_2025041514300_01_1":                     "timestamp",
		"0000123456_20250415_OML-11_-_20250415253000000_01_1":                 "timestamp",
		"0000123456_20250415_OML-11_-_20250415143000000_0101_1":               "department",
		"0000123456_20250415_OML-11_-_20250415143000000_01_3":                 "condition",
		"0000123456_20250415_OML-11_00000000012345678_20250415143000000_01_1": "order",
	} {
		if _, err := hl7v2.ParseFileName(name); err == nil || !strings.Contains(err.Error(), why) {
			t.Errorf("ParseFileName(%s) = %v, want an error about the %s", name, err, why)
		}
	}
	for _, ok := range []string{
		"0000123456_20250415_OMD_-_20250415143000_01_0", // no -NN, 14-digit timestamp
		"A12345_20250415_OMP-01_000000000000042_20250415143000123_ABC_2",
	} {
		if _, err := hl7v2.ParseFileName(ok); err != nil {
			t.Errorf("ParseFileName(%s): %v", ok, err)
		}
	}
}

// tree is a small SS-MIX2 facility folder, in ISO-2022-JP, with the mistakes Walk reports.
func tree(t *testing.T) fstest.MapFS {
	t.Helper()
	msg := func(name string) *fstest.MapFile {
		return &fstest.MapFile{Data: mustJIS(t, string(goldentest.Read(t, filepath.Join("testdata/messages", name))))}
	}
	other := strings.ReplaceAll(string(goldentest.Read(t, "testdata/messages/adt-00.hl7")), "0000123456^^^^PI", "0000999999^^^^PI")
	return fstest.MapFS{
		"000/012/0000123456/-/ADT-00/0000123456_-_ADT-00_999999999999999_20250401080000000_-_0":                msg("adt-00.hl7"),
		"000/012/0000123456/-/ADT-00/0000123456_-_ADT-00_999999999999999_20250410093015123_-_1":                msg("adt-00.hl7"),
		"000/012/0000123456/20250412/PPR-01/0000123456_20250412_PPR-01_999999999999999_20250412101500000_01_1": msg("ppr-01.hl7"),
		"000/012/0000123456/20250415/OML-11/0000123456_20250415_OML-11_000000000123456_20250415143000000_01_1": msg("oml-11.hl7"),
		// misfiled: the date folder is another day's
		"000/012/0000123456/20250416/OML-11/0000123456_20250415_OML-11_000000000123456_20250415143000000_01_1": msg("oml-11.hl7"),
		// another patient's message in this patient's file
		"000/012/0000123456/20250420/ADT-22/0000123456_20250420_ADT-22_999999999999999_20250420090000000_01_1": {Data: mustJIS(t, other)},
		"000/012/0000123456/README.txt": {Data: []byte("notes")},
		"000/012/0000123456/.DS_Store":  {Data: []byte{0}},
		".hidden/x_y":                   {Data: []byte{0}},
	}
}

func TestWalk(t *testing.T) {
	var paths, problems []string
	for f, err := range hl7v2.Walk(tree(t)) {
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		paths = append(paths, f.Name.DataType+" "+f.Name.Condition)
	}
	if d := cmp.Diff([]string{"ADT-00 0", "ADT-00 1", "PPR-01 1", "OML-11 1", "ADT-22 1"}, paths); d != "" {
		t.Errorf("files (-want +got):\n%s", d)
	}
	want := []string{
		`000/012/0000123456/20250416/OML-11/0000123456_20250415_OML-11_000000000123456_20250415143000000_01_1:0: the file's date "20250415" is not its folder's "20250416"`,
		`000/012/0000123456/README.txt:0: not an SS-MIX2 file name: 1 parts separated by _, want 7 (patient_date_datatype_order_timestamp_department_condition)`,
	}
	if d := cmp.Diff(want, problems); d != "" {
		t.Errorf("problems (-want +got):\n%s", d)
	}
}

func TestReadTreeGolden(t *testing.T) {
	checkGolden(t, "testdata/tree.golden.json", collect(t, hl7v2.ReadTree(tree(t))))
}
