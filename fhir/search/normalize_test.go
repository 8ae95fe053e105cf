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

package search

import "testing"

func TestNormalize(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Smith", "smith"},
		{"  John  Smith ", "johnsmith"},
		{"やまだ", "ヤマダ"},
		{"ヤマダ", "ヤマダ"},
		{"ﾔﾏﾀﾞ", "ヤマダ"},
		{"ｶﾞｯｺｳ", "ガッコウ"},
		{"がっこう", "ガッコウ"},
		{"ガ", "ガ"},
		{"か", "カ"}, // voicing marks are kept: か ≠ が
		{"ぱ", "パ"},
		{"ﾊﾟ", "パ"},
		{"ゆうこ", "ユウコ"},
		{"ｰ", "ー"}, // half-width long vowel
		{"ラーメン", "ラーメン"},
		{"らーめん", "ラーメン"},
		{"ぁぃぅぇぉっゃゅょ", "ァィゥェォッャュョ"},
		{"ゔ", "ヴ"},
		{"ｳﾞ", "ヴ"},
		{"ゝゞ", "ヽヾ"},
		{"髙橋", "髙橋"}, // distinct from 高橋
		{"高橋", "高橋"},
		{"山田　太郎", "山田太郎"}, // U+3000
		{"山田 太郎", "山田太郎"},
		{"０１２３", "0123"},
		{"ＡＢＣ", "abc"},
		{"ａｂｃ", "abc"},
		{"José", "jose"},
		{"MÜLLER", "muller"},
		{"Çelik", "celik"},
		{"Straße", "strasse"},
		{"ﾃｽﾄ　ＴＥＳＴ", "テストtest"},
		{"〒１００－０００１", "〒100-0001"},
		{"", ""},
	} {
		if got := Normalize(tc.in); got != tc.want {
			t.Errorf("Normalize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	// The three writings of Yamada are one search key; 髙 and 高 are not.
	if a, b, c := Normalize("やまだ"), Normalize("ヤマダ"), Normalize("ﾔﾏﾀﾞ"); a != b || b != c {
		t.Errorf("やまだ/ヤマダ/ﾔﾏﾀﾞ: %q %q %q", a, b, c)
	}
	if Normalize("髙") == Normalize("高") {
		t.Error("髙 and 高 normalise equal")
	}
	if Normalize("ガ") == Normalize("カ") {
		t.Error("ガ and カ normalise equal")
	}
}

func BenchmarkNormalize(b *testing.B) {
	for _, s := range []string{"Chalmers", "やまだ たろう"} {
		b.Run(s, func(b *testing.B) {
			for b.Loop() {
				Normalize(s)
			}
		})
	}
}
