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

package text

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/text/encoding/japanese"
)

// sjis encodes s in CP932 (x/text writes 髙 as its NEC-selected code EEE0).
func sjis(t testing.TB, s string) []byte {
	t.Helper()
	b, err := japanese.ShiftJIS.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatalf("encode %q: %v", s, err)
	}
	return b
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// readAll reads every line of b.
func readAll(t testing.TB, b []byte, enc Encoding) ([]Line, Encoding) {
	t.Helper()
	r := NewReader(bytes.NewReader(b), enc, 0)
	var lines []Line
	for {
		l, err := r.ReadLine()
		if errors.Is(err, io.EOF) {
			return lines, r.Encoding()
		}
		if err != nil {
			t.Fatal(err)
		}
		l.Raw = nil
		lines = append(lines, l)
	}
}

func texts(lines []Line) []string {
	var s []string
	for _, l := range lines {
		s = append(s, l.Text)
	}
	return s
}

func TestDetect(t *testing.T) {
	utf := "宛名番号,氏名\r\n000000000000001,山田　太郎\r\n"
	for _, tc := range []struct {
		name string
		in   []byte
		enc  Encoding
		want Encoding
	}{
		{"UTF8WithBOMIsUTF8", cat(bom, []byte(utf)), Auto, UTF8},
		{"ValidUTF8IsUTF8", []byte(utf), Auto, UTF8},
		{"OtherwiseCP932", sjis(t, utf), Auto, CP932},
		{"ExplicitCP932Wins", sjis(t, utf), CP932, CP932},
		{"ExplicitUTF8WithBOM", cat(bom, []byte(utf)), UTF8, UTF8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lines, enc := readAll(t, tc.in, tc.enc)
			if enc != tc.want {
				t.Errorf("encoding %s, want %s", enc, tc.want)
			}
			if d := cmp.Diff([]string{"宛名番号,氏名", "000000000000001,山田　太郎"}, texts(lines)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			for _, l := range lines {
				if len(l.Issues) > 0 {
					t.Errorf("issues: %v", l.Issues)
				}
			}
		})
	}
	t.Run("ExplicitUTF8ReadsCP932AsInvalid", func(t *testing.T) {
		lines, _ := readAll(t, sjis(t, "山田\n"), UTF8)
		if len(lines) != 1 || len(lines[0].Issues) == 0 || lines[0].Issues[0].Kind != InvalidBytes {
			t.Fatalf("want invalid bytes, got %+v", lines)
		}
	})
	t.Run("ASCIIBeyondTheWindowThenCP932", func(t *testing.T) {
		in := cat(bytes.Repeat([]byte("1,2,3\n"), 20000), sjis(t, "4,髙,①\n"))
		lines, enc := readAll(t, in, Auto)
		if enc != CP932 || lines[len(lines)-1].Text != "4,髙,①" {
			t.Fatalf("encoding %s, last line %q", enc, lines[len(lines)-1].Text)
		}
	})
	t.Run("AllASCIIStaysAuto", func(t *testing.T) {
		if _, enc := readAll(t, []byte("a,b\n1,2\n"), Auto); enc != Auto {
			t.Fatalf("encoding %s", enc)
		}
	})
}

// TestCP932Extensions: the NEC special characters, the NEC-selected and IBM extension
// kanji, half-width katakana and the full-width space survive.
func TestCP932Extensions(t *testing.T) {
	in := cat(sjis(t, "①㈱㍻ ﾔﾏﾀﾞ ﾀﾛｳ　"), []byte{0xfb, 0xfc, 0xee, 0xe0, 0xfa, 0xb1}) // 髙 (IBM), 髙 (NEC), 﨑 (IBM)
	got, issues := Decode(CP932, in)
	if want := "①㈱㍻ ﾔﾏﾀﾞ ﾀﾛｳ　髙髙﨑"; got != want || issues != nil {
		t.Fatalf("got %q %v, want %q", got, issues, want)
	}
}

func TestIssues(t *testing.T) {
	// line 1 fine; line 2: 外字 F040 and F9FC; line 3: 85 40 (unassigned), a lone FF.
	in := cat(sjis(t, "氏名\r\n山"), []byte{0xf0, 0x40}, sjis(t, "田"), []byte{0xf9, 0xfc},
		[]byte("\r\n"), sjis(t, "髙橋"), []byte{0x85, 0x40}, []byte("x"), []byte{0xff}, []byte("\r\n"))
	lines, enc := readAll(t, in, Auto)
	if enc != CP932 {
		t.Fatalf("encoding %s", enc)
	}
	if d := cmp.Diff([]string{"氏名", "山\ue000田\ue757", "髙橋\ufffdx\ufffd"}, texts(lines)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	var got []Issue
	for _, l := range lines {
		got = append(got, l.Issues...)
	}
	want := []Issue{
		{Kind: PrivateUse, Line: 2, Column: 2, Offset: 3, RawOffset: 2, Raw: []byte{0xf0, 0x40}, Rune: 0xe000, Encoding: CP932},
		{Kind: PrivateUse, Line: 2, Column: 4, Offset: 9, RawOffset: 6, Raw: []byte{0xf9, 0xfc}, Rune: 0xe757, Encoding: CP932},
		{Kind: InvalidBytes, Line: 3, Column: 3, Offset: 6, RawOffset: 4, Raw: []byte{0x85, 0x40}, Rune: utf8.RuneError, Encoding: CP932},
		{Kind: InvalidBytes, Line: 3, Column: 5, Offset: 10, RawOffset: 7, Raw: []byte{0xff}, Rune: utf8.RuneError, Encoding: CP932},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("issues (-want +got):\n%s", d)
	}
	if r := got[2].Reason(); r != "bytes 85 40 at line 3, character 3 are not valid CP932" {
		t.Errorf("reason %q", r)
	}
	if r := got[0].Reason(); !strings.Contains(r, "U+E000") || !strings.Contains(r, "line 2, character 2") {
		t.Errorf("reason %q", r)
	}
}

func TestUTF8Issues(t *testing.T) {
	in := []byte("a\n\ue001b\xc3\x28\xffc\n")
	lines, _ := readAll(t, in, UTF8)
	want := []Issue{
		{Kind: PrivateUse, Line: 2, Column: 1, Offset: 0, RawOffset: 0, Raw: []byte("\ue001"), Rune: 0xe001, Encoding: UTF8},
		{Kind: InvalidBytes, Line: 2, Column: 3, Offset: 4, RawOffset: 4, Raw: []byte{0xc3}, Rune: utf8.RuneError, Encoding: UTF8},
		{Kind: InvalidBytes, Line: 2, Column: 5, Offset: 8, RawOffset: 6, Raw: []byte{0xff}, Rune: utf8.RuneError, Encoding: UTF8},
	}
	if d := cmp.Diff(want, lines[1].Issues); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if lines[1].Text != "\ue001b\ufffd(\ufffdc" {
		t.Errorf("text %q", lines[1].Text)
	}
}

func TestPrivateUseInValidUTF8(t *testing.T) {
	for _, enc := range []Encoding{Auto, UTF8} {
		lines, _ := readAll(t, []byte("山田\n山\ue000田 ｱ\U000F0001\n"), enc)
		want := []Issue{
			{Kind: PrivateUse, Line: 2, Column: 2, Offset: 3, RawOffset: 3, Raw: []byte("\ue000"), Rune: 0xe000, Encoding: UTF8},
			{Kind: PrivateUse, Line: 2, Column: 6, Offset: 13, RawOffset: 13, Raw: []byte("\U000F0001"), Rune: 0xf0001, Encoding: UTF8},
		}
		if d := cmp.Diff(want, lines[1].Issues); d != "" {
			t.Errorf("%s (-want +got):\n%s", enc, d)
		}
	}
}

func TestLineEnds(t *testing.T) {
	for name, in := range map[string]string{"LF": "a\nb\n\nc", "CRLF": "a\r\nb\r\n\r\nc\r\n"} {
		t.Run(name, func(t *testing.T) {
			lines, _ := readAll(t, []byte(in), Auto)
			if d := cmp.Diff([]string{"a", "b", "", "c"}, texts(lines)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
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

// TestLongLineIsRefused: an 8 MB line ends the reading with a LineTooLongError, having
// held about the limit in memory, not the line.
func TestLongLineIsRefused(t *testing.T) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	r := NewReader(io.MultiReader(strings.NewReader("a,b\n"), &endless{'x', 8 << 20}), Auto, 0)
	if l, err := r.ReadLine(); err != nil || l.Text != "a,b" {
		t.Fatal(l, err)
	}
	_, err := r.ReadLine()
	var long *LineTooLongError
	if !errors.As(err, &long) || long.Line != 2 || long.Limit != DefaultMaxLineBytes {
		t.Fatalf("err %v", err)
	}
	runtime.ReadMemStats(&after)
	// The buffer grows by doubling up to the limit: a few MiB in all, never the line.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 6<<20 {
		t.Errorf("allocated %d bytes for a refused line", alloc)
	}
	if _, err := r.ReadLine(); !errors.As(err, &long) {
		t.Errorf("after the error: %v", err)
	}
}

func TestLimitIsInclusive(t *testing.T) {
	line := strings.Repeat("x", 100)
	r := NewReader(strings.NewReader(line+"\r\n"+line+"x\n"), Auto, 100)
	if l, err := r.ReadLine(); err != nil || l.Text != line {
		t.Fatalf("%v %v", l.Text, err)
	}
	if _, err := r.ReadLine(); err == nil {
		t.Fatal("101 bytes read with a limit of 100")
	}
}

func TestDecodeISO2022JP(t *testing.T) {
	msg := "MSH|^~\\&|\rPID|||12345||山田^太郎^^^^^L^I~ﾔﾏﾀﾞ^ﾀﾛｳ^^^^^L^P||20210401|M\r"
	b, err := japanese.ISO2022JP.NewEncoder().Bytes([]byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	// ① (row 13 of JIS X 0208, NEC) written by hand: ESC $ B 2D 21 ESC ( B
	b = append(b, "OBX|1|ST|||\x1b$B-!\x1b(B\r"...)
	got, issues := DecodeISO2022JP(b)
	if want := msg + "OBX|1|ST|||①\r"; got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if len(issues) != 0 {
		t.Errorf("issues %v", issues)
	}
	_, issues = DecodeISO2022JP([]byte("A\rB|\x80|\r\nC"))
	want := []Issue{{Kind: InvalidBytes, Line: 2, Column: 3, Offset: 2, RawOffset: -1, Rune: utf8.RuneError, Encoding: iso2022JP}}
	if d := cmp.Diff(want, issues); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if r := issues[0].Reason(); r != "bytes at line 2, character 3 are not valid ISO-2022-JP" {
		t.Errorf("reason %q", r)
	}
}

func TestParseEncoding(t *testing.T) {
	for in, want := range map[string]Encoding{"": Auto, "AUTO": Auto, "utf8": UTF8, "UTF-8": UTF8,
		"Shift_JIS": CP932, "windows-31j": CP932, "cp932": CP932, "sjis": CP932} {
		if got, err := ParseEncoding(in); err != nil || got != want {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	if _, err := ParseEncoding("euc-jp"); err == nil {
		t.Error("euc-jp accepted")
	}
}

func TestCharBoundaries(t *testing.T) {
	b := cat([]byte("a"), sjis(t, "山ｱ"), []byte{0x81}) // a, 山 (2), ｱ (1), a lone lead byte
	want := []bool{true, true, false, true, true, true}
	if d := cmp.Diff(want, CharBoundaries(b)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

// FuzzReader: any input reads without panicking, as valid UTF-8, with issues that point
// at characters of their line.
func FuzzReader(f *testing.F) {
	f.Add([]byte("宛名番号,氏名\r\n1,山田　太郎\r\n"), uint8(0))
	f.Add(cat(bom, []byte("a\n\ue000\n")), uint8(0))
	f.Add([]byte{0x82, 0xa0, 0xf0, 0x40, 0x85, 0x40, 0xff, '\n', 0x81}, uint8(2))
	f.Add([]byte("\x1b$B-!\x1b(B\r"), uint8(3))
	f.Fuzz(func(t *testing.T, b []byte, mode uint8) {
		if mode%4 == 3 {
			s, issues := DecodeISO2022JP(b)
			if !utf8.ValidString(s) {
				t.Fatalf("invalid UTF-8 %q", s)
			}
			for _, is := range issues {
				if is.Line < 1 || is.Column < 1 {
					t.Fatalf("issue %+v", is)
				}
			}
			return
		}
		enc := []Encoding{Auto, UTF8, CP932}[mode%4]
		r := NewReader(bytes.NewReader(b), enc, 64)
		for n := 1; ; n++ {
			l, err := r.ReadLine()
			if err != nil {
				return
			}
			if l.Number != n || !utf8.ValidString(l.Text) || len(l.Raw) > 64 {
				t.Fatalf("line %d: %+v", n, l)
			}
			for _, is := range l.Issues {
				if is.Line != n || is.Offset >= len(l.Text) || is.RawOffset >= len(l.Raw) ||
					utf8.RuneCountInString(l.Text[:is.Offset])+1 != is.Column {
					t.Fatalf("line %d %q: issue %+v", n, l.Text, is)
				}
				if r, _ := utf8.DecodeRuneInString(l.Text[is.Offset:]); r != is.Rune {
					t.Fatalf("issue %+v at %q", is, l.Text[is.Offset:])
				}
			}
		}
	})
}
