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

package jp

import (
	"errors"
	"reflect"
	"testing"
)

func TestKatakana(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダ タロウ"},
		{"ﾊﾟﾊﾟ", "パパ"},
		{"ｶﾞｯｺｳ", "ガッコウ"},
		{"ｷｬﾝﾌﾟ", "キャンプ"},
		{"ｳﾞｨｵﾗ", "ヴィオラ"},
		{"ﾜﾞ", "ヷ"},
		{"ｰ", "ー"},
		{"｡｢｣､･", "。「」、・"},
		{"やまだ　たろう", "ヤマダ　タロウ"},
		{"ゔ", "ヴ"},
		{"ゝゞ", "ヽヾ"},
		{"ぁぃぅぇぉっゃゅょゎ", "ァィゥェォッャュョヮ"},
		{"カ゛", "ガ"},
		{"ハ゜", "パ"},
		{"か\u3099", "ガ"},
		{"ヤマダ タロウ", "ヤマダ タロウ"},
		{"ア゛", "ア゛"},         // no voiced ア: the mark stays, spacing
		{"ｱﾞ", "ア゛"},         // likewise
		{"ﾞ", "゛"},           // alone
		{"ガ゛", "ガ゛"},         // already voiced
		{"山田 ﾀﾛｳ", "山田 タロウ"}, // only kana change
		{"ABC １２３", "ABC １２３"},
		{"", ""},
	} {
		if got := Katakana(tc.in); got != tc.want {
			t.Errorf("Katakana(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestIsKana(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"ヤマダ タロウ", true},
		{"ヤマダ　タロウ", true},
		{"ﾔﾏﾀﾞ ﾀﾛｳ", true},
		{"やまだ", true},
		{"スミス・ジョン", true},
		{"ラーメン", true},
		{"カ゛", true},
		{"山田", false},
		{"ヤマダ1", false},
		{"YAMADA", false},
		{"ー", false},
		{" ", false},
		{"", false},
	} {
		if got := IsKana(tc.in); got != tc.want {
			t.Errorf("IsKana(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestSplitName(t *testing.T) {
	for _, tc := range []struct {
		in            string
		family, given string
		ok            bool
	}{
		{"山田\u3000太郎", "山田", "太郎", true},
		{"山田 太郎", "山田", "太郎", true},
		{"山田\u3000\u3000太郎", "山田", "太郎", true},
		{" 山田 \u3000太郎\u3000", "山田", "太郎", true},
		{"ﾔﾏﾀﾞ ﾀﾛｳ", "ﾔﾏﾀﾞ", "ﾀﾛｳ", true},
		{"山田太郎", "", "", false},
		{"SMITH JOHN PAUL", "", "", false},
		{"", "", "", false},
	} {
		f, g, ok := SplitName(tc.in)
		if f != tc.family || g != tc.given || ok != tc.ok {
			t.Errorf("SplitName(%q) = %q, %q, %v", tc.in, f, g, ok)
		}
	}
}

func TestPersonNamesIsTheJPCorePair(t *testing.T) {
	names, err := PersonNames("山田\u3000太郎", "ﾔﾏﾀﾞ ﾀﾛｳ")
	want := []Name{
		{Text: "山田 太郎", Family: "山田", Given: "太郎"},
		{Text: "ヤマダ タロウ", Family: "ヤマダ", Given: "タロウ", Kana: true},
	}
	if err != nil || !reflect.DeepEqual(names, want) {
		t.Fatalf("PersonNames = %+v, %v", names, err)
	}
	if names[0].Representation() != RepresentationIDE || names[1].Representation() != RepresentationSYL {
		t.Errorf("representations %s %s", names[0].Representation(), names[1].Representation())
	}
	if RepresentationURL != "http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation" {
		t.Error("RepresentationURL")
	}

	// No space: Text only.
	names, err = PersonNames("髙橋花子", "たかはしはなこ")
	want = []Name{{Text: "髙橋花子"}, {Text: "タカハシハナコ", Kana: true}}
	if err != nil || !reflect.DeepEqual(names, want) {
		t.Errorf("PersonNames without spaces = %+v, %v", names, err)
	}
	// No kana column.
	names, err = PersonNames("山田 太郎", "  ")
	if err != nil || len(names) != 1 {
		t.Errorf("PersonNames without kana = %+v, %v", names, err)
	}
	// A kana column that is not kana: the IDE name and an error.
	names, err = PersonNames("山田 太郎", "YAMADA TARO")
	if err == nil || len(names) != 1 || names[0].Kana {
		t.Errorf("PersonNames with Latin kana = %+v, %v", names, err)
	}
	if names, _ := PersonNames("", ""); len(names) != 0 {
		t.Errorf("PersonNames of nothing = %+v", names)
	}
}

func TestKanjiAndKanaName(t *testing.T) {
	if n, ok := KanjiName("ﾔﾏﾀﾞ　花子"); !ok || n != (Name{Text: "ヤマダ 花子", Family: "ヤマダ", Given: "花子"}) {
		t.Errorf("KanjiName widens half-width kana: %+v", n)
	}
	if n, ok := KanjiName("さくら"); !ok || n.Text != "さくら" {
		t.Errorf("KanjiName keeps hiragana: %+v", n)
	}
	if _, ok := KanjiName(" \u3000"); ok {
		t.Error("KanjiName of blank ok")
	}
	if n, err := KanaName("やまだ　たろう"); err != nil || n != (Name{Text: "ヤマダ タロウ", Family: "ヤマダ", Given: "タロウ", Kana: true}) {
		t.Errorf("KanaName = %+v, %v", n, err)
	}
	if _, err := KanaName(""); !errors.Is(err, ErrEmpty) {
		t.Errorf("KanaName(\"\") = %v", err)
	}
	if _, err := KanaName("山田"); err == nil || errors.Is(err, ErrEmpty) {
		t.Errorf("KanaName(山田) = %v", err)
	}
}

func TestParseSex(t *testing.T) {
	for in, want := range map[string]Gender{
		"1": Male, "１": Male, "男": Male, "男性": Male, "M": Male, "m": Male, "Ｍ": Male, "male": Male, "Male": Male, " 1 ": Male,
		"2": Female, "２": Female, "女": Female, "女性": Female, "F": Female, "f": Female, "female": Female, "FEMALE": Female,
		"0": Unknown, "9": Unknown, "９": Unknown, "不明": Unknown, "U": Unknown, "unknown": Unknown,
		"other": Other, "その他": Other,
	} {
		if got, err := ParseSex(in); err != nil || got != want {
			t.Errorf("ParseSex(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"3", "x", "男女", "12", "man"} {
		if _, err := ParseSex(in); err == nil || errors.Is(err, ErrEmpty) {
			t.Errorf("ParseSex(%q) = %v, want an error", in, err)
		}
	}
	if _, err := ParseSex(" "); !errors.Is(err, ErrEmpty) {
		t.Errorf("ParseSex(blank) = %v", err)
	}
}
