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

package csv

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/kodomohub/kodomohub/internal/goldentest"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/text/encoding/japanese"

	"github.com/kodomohub/kodomohub/adapters"
	"github.com/kodomohub/kodomohub/adapters/text"
)

var update = flag.Bool("update", false, "rewrite the golden files and the sample inputs")

// registry is a resident-registry export: a header with a full-width space after 住所,
// 氏名 with a full-width space, half-width kana, 髙, ①, ㈱, a quoted field over two lines,
// doubled quotes, a blank line, and the rows the golden file reports: a private-use
// character (a warning: the row is kept), bytes not valid in the encoding, too few fields,
// a bare quote. {PUA} and {BAD} are replaced by bytes of the file's encoding.
const registry = `宛名番号,世帯番号,氏名,氏名カナ,生年月日,性別,続柄,住所　
000000000000101,0000000001,山田　太郎,ﾔﾏﾀﾞ ﾀﾛｳ,令和5年6月1日,1,世帯主,埼玉県比企郡川島町①
000000000000102,0000000001,髙橋　花子,ﾀｶﾊｼ ﾊﾅｺ,R05.06.01,2,妻,"埼玉県比企郡川島町
㈱みさとハイツ101"
000000000000103,0000000001,山{PUA}　一郎,ﾔﾏｻｷ ｲﾁﾛｳ,5050601,1,子,埼玉県比企郡川島町

000000000000104,0000000002,{BAD}田　次郎,ﾔﾏﾀﾞ ｼﾞﾛｳ,2023-06-01,1,世帯主,埼玉県比企郡川島町
000000000000105,0000000003,佐藤　三郎,ｻﾄｳ ｻﾌﾞﾛｳ,2023/06/01,1
000000000000106,0000000004,"鈴木　""スー""　四郎",ｽｽﾞｷ ｼﾛｳ,H31.04.30,1,世帯主,
000000000000107,0000000005,田中　五郎,ﾀﾅｶ ｺﾞﾛｳ,S64.01.07,1,世帯"主,埼玉県
,,,,,,,
000000000000108,0000000005,田中　六子,ﾀﾅｶ ﾑﾂｺ,20230601,2,妻,埼玉県比企郡川島町`

// variant is one encoding of registry.
type variant struct {
	file     string
	pua, bad string
	encode   func(t *testing.T, s string) []byte
}

var variants = []variant{
	{"registry.cp932.csv", "\xf0\x40", "\x85\x40", func(t *testing.T, s string) []byte {
		return crlf(sjis(t, s))
	}},
	{"registry.utf8bom.csv", "\ue000", "\xff", func(t *testing.T, s string) []byte {
		return append([]byte("\xef\xbb\xbf"), s...)
	}},
}

// sjis encodes s in CP932, leaving {PUA} and {BAD} bytes (written as \x00-delimited
// escapes) as they are.
func sjis(t *testing.T, s string) []byte {
	t.Helper()
	var out []byte
	for i, part := range strings.Split(s, "\x00") {
		if i%2 == 1 {
			out = append(out, part...)
			continue
		}
		b, err := japanese.ShiftJIS.NewEncoder().Bytes([]byte(part))
		if err != nil {
			t.Fatalf("encode %q: %v", part, err)
		}
		out = append(out, b...)
	}
	return bytes.ReplaceAll(out, []byte{0xee, 0xe0}, []byte{0xfb, 0xfc}) // 髙 as Windows writes it
}

func crlf(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n")) }

func (v variant) input(t *testing.T) []byte {
	s := registry
	if strings.HasSuffix(v.file, ".cp932.csv") {
		s = strings.NewReplacer("{PUA}", "\x00"+v.pua+"\x00", "{BAD}", "\x00"+v.bad+"\x00").Replace(s)
	} else {
		s = strings.NewReplacer("{PUA}", v.pua, "{BAD}", v.bad).Replace(s)
	}
	return v.encode(t, s)
}

// result is what a file decodes to, as the golden files keep it.
type result struct {
	Headers []string          `json:"headers"`
	Items   []json.RawMessage `json:"items"` // a record, or {"problem": …} for a *RowError
}

func decodeAll(t *testing.T, dec *Decoder, name string, in []byte) result {
	t.Helper()
	headers, records, err := dec.Decode(name, bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	res := result{Headers: headers}
	for rec, err := range records {
		var item any = rec
		if err != nil {
			var re *adapters.RowError
			if !errors.As(err, &re) {
				t.Fatalf("fatal error: %v", err)
			}
			item = map[string]any{"problem": re.Problem}
		}
		b, _ := json.Marshal(item)
		res.Items = append(res.Items, b)
	}
	return res
}

func TestGolden(t *testing.T) {
	for _, v := range variants {
		t.Run(v.file, func(t *testing.T) {
			in, path := v.input(t), filepath.Join("testdata", v.file)
			golden := strings.TrimSuffix(path, ".csv") + ".golden.json"
			if *update {
				goldentest.Write(t, path, in)
			} else if onDisk, err := os.ReadFile(path); err != nil || !bytes.Equal(onDisk, in) {
				t.Fatalf("%s is not the test's input (run go test -update): %v", path, err)
			}
			got, err := json.MarshalIndent(decodeAll(t, &Decoder{}, v.file, in), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			goldentest.JSON(t, golden, append(got, '\n'), *update)
		})
	}
}

// TestEncodingsAgree: CP932 with CRLF, UTF-8 with LF, UTF-8 with a BOM and CRLF give the
// same records.
func TestEncodingsAgree(t *testing.T) {
	clean := strings.NewReplacer("{PUA}", "", "{BAD}", "").Replace(registry)
	cp932 := decodeAll(t, &Decoder{}, "f", crlf(sjis(t, clean)))
	for name, in := range map[string][]byte{
		"UTF8":     []byte(clean),
		"UTF8BOM":  crlf(append([]byte("\xef\xbb\xbf"), clean...)),
		"Explicit": crlf(sjis(t, clean)),
	} {
		dec := &Decoder{}
		if name == "Explicit" {
			dec.Encoding = text.CP932
		}
		if d := cmp.Diff(cp932, decodeAll(t, dec, "f", in)); d != "" {
			t.Errorf("%s (-cp932 +%s):\n%s", name, name, d)
		}
	}
}

func TestTab(t *testing.T) {
	dec := &Decoder{Comma: '\t'}
	headers, records, err := dec.Decode("f.tsv", strings.NewReader("　宛名番号　\t 氏名 \n1\t山田,太郎\n"))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"宛名番号", "氏名"}, headers); d != "" {
		t.Error(d)
	}
	for rec, err := range records {
		want := adapters.Record{File: "f.tsv", Line: 2, Fields: []adapters.Field{
			{Name: "宛名番号", Value: "1", Column: 1}, {Name: "氏名", Value: "山田,太郎", Column: 2}}}
		if d := cmp.Diff(want, rec); err != nil || d != "" {
			t.Errorf("%v %s", err, d)
		}
	}
}

func TestDecodeFails(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"Empty", "\n\n", "no header"},
		{"DuplicateHeader", "宛名番号,氏名, 宛名番号,住所,住所\n1,2,3,4,5\n", `the header names a column twice: "宛名番号" in columns 1 and 3, "住所" in columns 4 and 5`},
		{"HeaderNotInTheEncoding", "宛名番号,\xff\xfe\n", "bytes FF FE at line 1, character 6 are not valid UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := (&Decoder{Encoding: text.UTF8}).Decode("f.csv", strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
}

func TestEmptyHeaderNamesAreNotDuplicates(t *testing.T) {
	headers, _, err := (&Decoder{}).Decode("f.csv", strings.NewReader("a,,b,\n"))
	if err != nil || len(headers) != 4 {
		t.Fatal(headers, err)
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

// lastError ranges over the records and returns the error that ended them, counting records.
func lastError(t *testing.T, r io.Reader) (int, error) {
	t.Helper()
	_, records, err := (&Decoder{}).Decode("big.csv", r)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, err := range records {
		var re *adapters.RowError
		if err != nil && !errors.As(err, &re) {
			return n, err
		}
		n++
	}
	return n, nil
}

// TestLimits: an 8 MB line, or a quote that never closes over many short lines, ends the
// iteration with an error after the good records, without holding the file in memory.
func TestLimits(t *testing.T) {
	for name, tc := range map[string]struct {
		r    io.Reader
		want error
	}{
		"LongLine": {io.MultiReader(strings.NewReader("a,b\n1,2\n"), &endless{'x', 8 << 20}),
			&text.LineTooLongError{Line: 3, Limit: text.DefaultMaxLineBytes}},
		"UnterminatedQuote": {io.MultiReader(strings.NewReader("a,b\n1,2\n3,\"4\n"), &endless{'\n', 8 << 20}),
			ErrRecordTooLong},
	} {
		t.Run(name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			n, err := lastError(t, tc.r)
			runtime.ReadMemStats(&after)
			var long *text.LineTooLongError
			switch want := tc.want.(type) {
			case *text.LineTooLongError:
				if !errors.As(err, &long) || *long != *want {
					t.Fatalf("err %v", err)
				}
			default:
				if !errors.Is(err, want) {
					t.Fatalf("err %v", err)
				}
			}
			if n != 1 {
				t.Errorf("%d records before the error, want 1", n)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
				t.Errorf("allocated %d bytes", alloc)
			}
			t.Log(err)
		})
	}
}

func TestBreakAndSecondRange(t *testing.T) {
	_, records, err := (&Decoder{}).Decode("f.csv", strings.NewReader("a\n1\n2\n3\n"))
	if err != nil {
		t.Fatal(err)
	}
	for rec := range records {
		if rec.Value("a") != "1" {
			t.Fatal(rec)
		}
		break
	}
	for rec := range records {
		t.Fatalf("second range yielded %v", rec)
	}
}
