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

package fixedwidth

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/kodomohub/kodomohub/internal/goldentest"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/text/encoding/japanese"

	"github.com/kodomohub/kodomohub/adapters"
	"github.com/kodomohub/kodomohub/adapters/text"
)

var update = flag.Bool("update", false, "rewrite the golden files and the sample input")

// sjis encodes s in CP932 (髙 as Windows writes it, FBFC).
func sjis(t testing.TB, s string) []byte {
	t.Helper()
	b, err := japanese.ShiftJIS.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatalf("encode %q: %v", s, err)
	}
	return bytes.ReplaceAll(b, []byte{0xee, 0xe0}, []byte{0xfb, 0xfc})
}

// field is a value for a field of n bytes: CP932 bytes (raw, as given), padded with spaces
// (full-width ones for fields of double-byte characters, wide).
func field(raw []byte, n int, wide bool) []byte {
	for len(raw)+2 <= n && wide {
		raw = append(raw, 0x81, 0x40)
	}
	for len(raw) < n {
		raw = append(raw, ' ')
	}
	return raw
}

// registryLine is one line of the registry layout; 氏名 and 住所 are raw CP932 bytes.
func registryLine(t testing.TB, id, household string, name []byte, kana, born, sex, rel string, addr []byte) []byte {
	return bytes.Join([][]byte{field([]byte(id), 15, false), field([]byte(household), 10, false),
		field(name, 20, true), field(sjis(t, kana), 20, false), field([]byte(born), 7, false),
		field([]byte(sex), 1, false), field(sjis(t, rel), 8, true), field(addr, 40, true)}, nil)
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// registryInput is the golden test's file: 氏名 with a full-width space, half-width kana,
// 髙, ①, ㈱, then the problems: a 外字 (a warning), bytes not valid in CP932, a short line,
// a line whose 氏名 cuts a kanji in half; a blank line, and the DOS end-of-file mark.
func registryInput(t testing.TB) []byte {
	lines := [][]byte{
		registryLine(t, "000000000000101", "0000000001", sjis(t, "山田　太郎"), "ﾔﾏﾀﾞ ﾀﾛｳ", "5050601", "1", "世帯主", sjis(t, "埼玉県比企郡川島町①")),
		registryLine(t, "000000000000102", "0000000001", sjis(t, "髙橋　花子"), "ﾀｶﾊｼ ﾊﾅｺ", "4010108", "2", "妻", sjis(t, "埼玉県比企郡川島町㈱みさとハイツ")),
		registryLine(t, "000000000000103", "0000000001", cat(sjis(t, "山"), []byte{0xf0, 0x40}, sjis(t, "　一郎")), "ﾔﾏｻｷ ｲﾁﾛｳ", "5050601", "1", "子", sjis(t, "埼玉県")),
		{},
		registryLine(t, "000000000000104", "0000000002", cat([]byte{0x85, 0x40}, sjis(t, "田　次郎")), "ﾔﾏﾀﾞ ｼﾞﾛｳ", "5050601", "1", "世帯主", sjis(t, "埼玉県")),
		cat([]byte("000000000000105"), []byte("0000000003"), field(sjis(t, "佐藤　三郎"), 20, true), sjis(t, "ｻﾄｳ")),
		registryLine(t, "000000000000106", "0000000004", sjis(t, "ｱ山田山田山田山田山田"), "ﾔﾏﾀﾞ", "5050601", "1", "世帯主", sjis(t, "埼玉県")),
		registryLine(t, "000000000000107", "0000000005", sjis(t, "田中　六子"), "ﾀﾅｶ ﾑﾂｺ", "3640107", "2", "妻", sjis(t, "埼玉県比企郡川島町")),
		{0x1a},
	}
	return append(bytes.Join(lines, []byte("\r\n")), '\r', '\n')
}

func mustLayout(t testing.TB) *Layout {
	t.Helper()
	b, err := os.ReadFile("testdata/registry.layout.yaml")
	if err != nil {
		t.Fatal(err)
	}
	l, err := LoadLayout("registry.layout.yaml", b)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestLoadLayout(t *testing.T) {
	want := &Layout{Name: "住民記録 (固定長)", Fields: []Field{
		{"宛名番号", 1, 15}, {"世帯番号", 16, 10}, {"氏名", 26, 20}, {"氏名カナ", 46, 20},
		{"生年月日", 66, 7}, {"性別", 73, 1}, {"続柄", 74, 8}, {"住所", 82, 40}}}
	l := mustLayout(t)
	if d := cmp.Diff(want, l); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if l.Width() != 121 {
		t.Errorf("width %d", l.Width())
	}
}

// TestBadLayout: every problem of a layout at once, each with its line.
func TestBadLayout(t *testing.T) {
	b, err := os.ReadFile("testdata/bad/overlaps.layout.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = LoadLayout("overlaps.layout.yaml", b)
	var lerr *LayoutError
	if !errors.As(err, &lerr) {
		t.Fatalf("err %v", err)
	}
	want := strings.Join([]string{
		`overlaps.layout.yaml:5: field 3 (氏名): pic Z(3): only X, 9 and N, each optionally as X(n)`,
		`overlaps.layout.yaml:7: field 5: unknown field "width"`,
		`overlaps.layout.yaml:7: field 5 (住所): length 4, but pic X(5) is 5 bytes`,
		`overlaps.layout.yaml:8: unknown key "colour" (a layout has name and fields)`,
		`overlaps.layout.yaml:5: field 3 (氏名): field 2 has that name too`,
		`overlaps.layout.yaml:5: field 3 (氏名): length 0: a field has at least one byte`,
		`overlaps.layout.yaml:6: field 4: no name`,
		`overlaps.layout.yaml:6: field 4 (): length 0: a field has at least one byte`,
		`overlaps.layout.yaml:4: field 2 (氏名), bytes 10–29, overlaps 宛名番号, bytes 1–15`,
	}, "\n")
	if d := cmp.Diff(want, err.Error()); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestGolden(t *testing.T) {
	in, path, golden := registryInput(t), "testdata/registry.cp932.dat", "testdata/registry.cp932.golden.json"
	if *update {
		goldentest.Write(t, path, in)
	} else if onDisk, err := os.ReadFile(path); err != nil || !bytes.Equal(onDisk, in) {
		t.Fatalf("%s is not the test's input (run go test -update): %v", path, err)
	}
	headers, records, err := (&Decoder{Layout: mustLayout(t)}).Decode("registry.cp932.dat", bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	res := struct {
		Headers []string `json:"headers"`
		Items   []any    `json:"items"`
	}{Headers: headers}
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
	got, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	goldentest.JSON(t, golden, append(got, '\n'), *update)
}

func TestDecodeRefuses(t *testing.T) {
	l := &Layout{Fields: []Field{{"a", 1, 2}}}
	if _, _, err := (&Decoder{}).Decode("f", strings.NewReader("")); err == nil {
		t.Error("no layout accepted")
	}
	if _, _, err := (&Decoder{Layout: &Layout{Fields: []Field{{"a", 0, 2}}}}).Decode("f", strings.NewReader("")); err == nil {
		t.Error("a layout with start 0 accepted")
	}
	_, records, err := (&Decoder{Layout: l}).Decode("f", strings.NewReader("\xef\xbb\xbfab\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range records {
		if err == nil || !strings.Contains(err.Error(), "byte order mark") {
			t.Errorf("err %v", err)
		}
	}
}

// endless is an io.Reader of n bytes b, made as they are read.
type endless struct {
	b byte
	n int
}

func (e *endless) Read(p []byte) (int, error) {
	if e.n == 0 {
		return 0, io.EOF
	}
	k := min(len(p), e.n)
	for i := range k {
		p[i] = e.b
	}
	e.n -= k
	return k, nil
}

func TestLongLineIsRefused(t *testing.T) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, records, err := (&Decoder{Layout: &Layout{Fields: []Field{{"a", 1, 2}}}}).Decode("big.dat",
		io.MultiReader(strings.NewReader("ab\n"), &endless{'x', 8 << 20}))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rec, err := range records {
		if err != nil {
			var long *text.LineTooLongError
			if !errors.As(err, &long) || long.Line != 2 {
				t.Fatalf("err %v", err)
			}
			break
		}
		n++
		if rec.Value("a") != "ab" {
			t.Fatal(rec)
		}
	}
	runtime.ReadMemStats(&after)
	if n != 1 {
		t.Errorf("%d records", n)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Errorf("allocated %d bytes", alloc)
	}
}
