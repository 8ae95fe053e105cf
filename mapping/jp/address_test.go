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
	"strconv"
	"testing"
)

func TestSplitAddress(t *testing.T) {
	for _, tc := range []struct {
		address, katagaki string
		want              Address
	}{
		{"埼玉県比企郡川島町大字平沼1175番地", "", Address{Text: "埼玉県比企郡川島町大字平沼1175番地",
			State: "埼玉県", City: "比企郡川島町", Line: []string{"大字平沼1175番地"}}},
		{"〒350-0192 埼玉県比企郡川島町平沼１１７５", "", Address{Text: "〒350-0192 埼玉県比企郡川島町平沼１１７５",
			PostalCode: "350-0192", State: "埼玉県", City: "比企郡川島町", Line: []string{"平沼１１７５"}}},
		{"〒３５００１９２埼玉県比企郡川島町平沼1175", "", Address{Text: "〒３５００１９２埼玉県比企郡川島町平沼1175",
			PostalCode: "350-0192", State: "埼玉県", City: "比企郡川島町", Line: []string{"平沼1175"}}},
		{"367-0194 埼玉県児玉郡美里町大字木部323-1", "", Address{Text: "367-0194 埼玉県児玉郡美里町大字木部323-1",
			PostalCode: "367-0194", State: "埼玉県", City: "児玉郡美里町", Line: []string{"大字木部323-1"}}},
		{"埼玉県比企郡川島町平沼1175", "コーポ川島101号", Address{Text: "埼玉県比企郡川島町平沼1175 コーポ川島101号",
			State: "埼玉県", City: "比企郡川島町", Line: []string{"平沼1175", "コーポ川島101号"}}},
		{"埼玉県\u3000比企郡川島町\u3000平沼1175", "", Address{Text: "埼玉県\u3000比企郡川島町\u3000平沼1175",
			State: "埼玉県", City: "比企郡川島町", Line: []string{"平沼1175"}}},
		{"埼玉県比企郡", "", Address{Text: "埼玉県比企郡", State: "埼玉県", City: "比企郡"}},
		{"", "", Address{}},
	} {
		if got := SplitAddress(tc.address, tc.katagaki); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("SplitAddress(%q, %q) =\n %#v\nwant %#v", tc.address, tc.katagaki, got, tc.want)
		}
	}
}

func TestSplitAddressCityPart(t *testing.T) {
	for _, tc := range []struct{ in, state, city, line string }{
		{"東京都千代田区霞が関1-2-3", "東京都", "千代田区", "霞が関1-2-3"},
		{"東京都北区王子本町1-15-22", "東京都", "北区", "王子本町1-15-22"},
		{"東京都町田市森野2-2-22", "東京都", "町田市", "森野2-2-22"},
		{"東京都東村山市本町1-2-3", "東京都", "東村山市", "本町1-2-3"},
		{"東京都武蔵村山市本町1", "東京都", "武蔵村山市", "本町1"},
		{"東京都大島町元町1-1", "東京都", "大島町", "元町1-1"},
		{"東京都八丈町大賀郷2551-2", "東京都", "八丈町", "大賀郷2551-2"},
		{"京都府京都市上京区下立売通新町西入薮ノ内町", "京都府", "京都市上京区", "下立売通新町西入薮ノ内町"},
		{"大阪府大阪市北区梅田1-1", "大阪府", "大阪市北区", "梅田1-1"},
		{"大阪府堺市堺区南瓦町3-1", "大阪府", "堺市堺区", "南瓦町3-1"},
		{"北海道札幌市中央区北1条西2丁目", "北海道", "札幌市中央区", "北1条西2丁目"},
		{"北海道余市郡余市町朝日町4", "北海道", "余市郡余市町", "朝日町4"},
		{"北海道虻田郡ニセコ町字富士見47", "北海道", "虻田郡ニセコ町", "字富士見47"},
		{"北海道函館市東雲町4-13", "北海道", "函館市", "東雲町4-13"},
		{"愛知県名古屋市中村区名駅1-1-1", "愛知県", "名古屋市中村区", "名駅1-1-1"},
		{"神奈川県横浜市中区日本大通1", "神奈川県", "横浜市中区", "日本大通1"},
		{"神奈川県相模原市南区相模大野5-31-1", "神奈川県", "相模原市南区", "相模大野5-31-1"},
		{"埼玉県さいたま市浦和区常盤6-4-4", "埼玉県", "さいたま市浦和区", "常盤6-4-4"},
		{"埼玉県所沢市並木1-1-1 グランドハイツ101", "埼玉県", "所沢市", "並木1-1-1 グランドハイツ101"},
		{"埼玉県北足立郡伊奈町小室9493", "埼玉県", "北足立郡伊奈町", "小室9493"},
		{"埼玉県伊奈町小室9493", "埼玉県", "伊奈町", "小室9493"},
		{"三重県四日市市諏訪町1-5", "三重県", "四日市市", "諏訪町1-5"},
		{"広島県廿日市市下平良1-11-1", "広島県", "廿日市市", "下平良1-11-1"},
		{"千葉県市川市八幡1-1-1", "千葉県", "市川市", "八幡1-1-1"},
		{"千葉県市原市国分寺台中央1-1-1", "千葉県", "市原市", "国分寺台中央1-1-1"},
		{"新潟県十日町市千歳町3-3", "新潟県", "十日町市", "千歳町3-3"},
		{"長野県大町市大町3887", "長野県", "大町市", "大町3887"},
		{"福島県郡山市朝日1-23-7", "福島県", "郡山市", "朝日1-23-7"},
		{"奈良県大和郡山市北郡山町248-4", "奈良県", "大和郡山市", "北郡山町248-4"},
		{"岐阜県郡上市八幡町島谷228", "岐阜県", "郡上市", "八幡町島谷228"},
		{"福島県田村郡三春町字大町1-2", "福島県", "田村郡三春町", "字大町1-2"},
		{"群馬県佐波郡玉村町大字下新田201", "群馬県", "佐波郡玉村町", "大字下新田201"},
		{"宮城県柴田郡村田町大字村田字迫85", "宮城県", "柴田郡村田町", "大字村田字迫85"},
		{"佐賀県杵島郡大町町大字大町5017", "佐賀県", "杵島郡大町町", "大字大町5017"},
		{"山形県東村山郡山辺町緑ケ丘5", "山形県", "東村山郡山辺町", "緑ケ丘5"},
		{"山梨県西八代郡市川三郷町市川大門1790-3", "山梨県", "西八代郡市川三郷町", "市川大門1790-3"},
		{"栃木県芳賀郡市貝町市塙1280", "栃木県", "芳賀郡市貝町", "市塙1280"},
		{"沖縄県国頭郡東村字平良804", "沖縄県", "国頭郡東村", "字平良804"},
		{"長野県下伊那郡阿智村駒場483", "長野県", "下伊那郡阿智村", "駒場483"},
		{"静岡県周智郡森町森2101-1", "静岡県", "周智郡森町", "森2101-1"},
		{"静岡県森町森2101-1", "静岡県", "森町", "森2101-1"},
		{"埼玉県川島町八幡6-1", "埼玉県", "川島町", "八幡6-1"},
		{"埼玉県栄町3丁目1", "埼玉県", "", "栄町3丁目1"},
		{"鹿児島県いちき串木野市昭和通133-1", "鹿児島県", "いちき串木野市", "昭和通133-1"},
		{"山梨県南アルプス市小笠原376", "山梨県", "南アルプス市", "小笠原376"},
		// No prefecture.
		{"比企郡川島町平沼1175", "", "比企郡川島町", "平沼1175"},
		{"川島町大字平沼1175", "", "川島町", "大字平沼1175"},
		{"さいたま市浦和区常盤6-4-4", "", "さいたま市浦和区", "常盤6-4-4"},
		{"栄町3丁目1", "", "", "栄町3丁目1"},
		{"栄町三丁目1", "", "", "栄町三丁目1"},
		{"川島町八幡6-1", "", "", "川島町八幡6-1"},
		{"本町1-2", "", "", "本町1-2"},
		{"大字平沼1175", "", "", "大字平沼1175"},
		// Not a known prefecture: the whole text stays a line.
		{"Tokyo, Chiyoda-ku 1-2", "", "", "Tokyo, Chiyoda-ku 1-2"},
	} {
		a := SplitAddress(tc.in, "")
		line := ""
		if len(a.Line) > 0 {
			line = a.Line[0]
		}
		if a.State != tc.state || a.City != tc.city || line != tc.line || len(a.Line) > 1 {
			t.Errorf("SplitAddress(%q) = %q | %q | %q, want %q | %q | %q", tc.in, a.State, a.City, a.Line, tc.state, tc.city, tc.line)
		}
	}
}

func TestEveryPrefecture(t *testing.T) {
	ps := Prefectures()
	if len(ps) != 47 || ps[0] != "北海道" || ps[12] != "東京都" || ps[25] != "京都府" || ps[26] != "大阪府" || ps[46] != "沖縄県" {
		t.Fatalf("Prefectures() = %v", ps)
	}
	for i, p := range ps {
		a := SplitAddress(p+"テスト市本町1", "")
		if a.State != p || a.City != "テスト市" {
			t.Errorf("prefecture %d %s: %+v", i+1, p, a)
		}
		lg, err := CompleteLGCode(strconv.Itoa(i + 1 + 100)[1:] + "000")
		if err != nil || lg.Prefecture() != p {
			t.Errorf("prefecture %d: %q %v → %q", i+1, lg, err, lg.Prefecture())
		}
	}
}

func TestPostalCode(t *testing.T) {
	for _, in := range []string{"〒1234567", "１２３－４５６７", "123-4567", "〒 123 4567", "123ー4567", "1234567", " 〒１２３‐４５６７ ", "123−4567"} {
		if got, err := PostalCode(in); err != nil || got != "123-4567" {
			t.Errorf("PostalCode(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"123456", "12345678", "123-45678", "abc", "〒123-456x"} {
		if _, err := PostalCode(in); err == nil || errors.Is(err, ErrEmpty) {
			t.Errorf("PostalCode(%q) = %v, want an error", in, err)
		}
	}
	for _, in := range []string{"", " ", "〒"} {
		if _, err := PostalCode(in); !errors.Is(err, ErrEmpty) {
			t.Errorf("PostalCode(%q) = %v, want ErrEmpty", in, err)
		}
	}
	// In an address: only 〒 or a hyphenated code followed by a space counts.
	for _, tc := range []struct{ in, code string }{
		{"〒350-0192埼玉県", "350-0192"},
		{"〒 3500192 埼玉県", "350-0192"},
		{"350-0192 埼玉県", "350-0192"},
		{"3500192 埼玉県", ""},
		{"350-0192埼玉県", ""},
		{"〒350-01923 埼玉県", ""},
		{"〒35-00192", ""},
	} {
		if got := SplitAddress(tc.in, "").PostalCode; got != tc.code {
			t.Errorf("SplitAddress(%q).PostalCode = %q, want %q", tc.in, got, tc.code)
		}
	}
}

func TestAddressKey(t *testing.T) {
	for _, tc := range []struct{ a, b string }{
		{"埼玉県比企郡川島町大字平沼１１７５番地", "埼玉県比企郡川島町平沼1175"},
		{"平沼1丁目2番3号", "平沼1-2-3"},
		{"平沼一丁目２番３号", "平沼1-2-3"},
		{"平沼１－２－３", "平沼1-2-3"},
		{"平沼1ー2ー3", "平沼1-2-3"},
		{"平沼1‐2−3", "平沼1-2-3"},
		{"平沼三丁目2-1", "平沼3-2-1"},
		{"平沼二十三番地", "平沼23"},
		{"平沼1175番地の2", "平沼1175-2"},
		{"平沼1175の2", "平沼1175-2"},
		{"霞が関", "霞ヶ関"},
		{"霞ケ関", "霞ヶ関"},
		{"丸ノ内", "丸の内"},
		{"Ａ棟 101", "a棟101"},
		{"山田　ハイツ", "山田ハイツ"},
	} {
		if ka, kb := AddressKey(tc.a), AddressKey(tc.b); ka != kb {
			t.Errorf("AddressKey(%q) = %q, AddressKey(%q) = %q", tc.a, ka, tc.b, kb)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"平沼1丁目2番3号", "平沼1-2-3"},
		{"コーポ101号室", "コーポ101室"},
		{"ラーメン横丁", "ラーメン横丁"},
		{"1175番地", "1175"},
		{"", ""},
	} {
		if got := AddressKey(tc.in); got != tc.want {
			t.Errorf("AddressKey(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, pair := range [][2]string{{"平沼1-2-3", "平沼1-2-4"}, {"髙橋ビル", "高橋ビル"}, {"カ町", "ガ町"}} {
		if AddressKey(pair[0]) == AddressKey(pair[1]) {
			t.Errorf("AddressKey(%q) == AddressKey(%q)", pair[0], pair[1])
		}
	}
}

func TestLGCode(t *testing.T) {
	for _, in := range []string{"113816", "113468", "11346-8", "１１３８１６", " 113816 ", "131016", "011011", "011070", "472018"} {
		if _, err := ParseLGCode(in); err != nil {
			t.Errorf("ParseLGCode(%q): %v", in, err)
		}
	}
	for _, in := range []string{"113817", "113460", "11381", "1138160", "11381a", "483816", "003816"} {
		if _, err := ParseLGCode(in); err == nil || errors.Is(err, ErrEmpty) {
			t.Errorf("ParseLGCode(%q) = %v, want an error", in, err)
		}
	}
	if _, err := ParseLGCode(""); !errors.Is(err, ErrEmpty) {
		t.Errorf("ParseLGCode(\"\") = %v", err)
	}
	for five, want := range map[string]LGCode{
		"11381": "113816", "11346": "113468", "13101": "131016",
		"01101": "011011", // remainder 0: check digit 1
		"01107": "011070", // remainder 1: check digit 0
	} {
		if got, err := CompleteLGCode(five); err != nil || got != want {
			t.Errorf("CompleteLGCode(%q) = %q, %v; want %q", five, got, err, want)
		}
	}
	if lg, _ := ParseLGCode("113816"); lg.Prefecture() != "埼玉県" {
		t.Errorf("Prefecture = %q", lg.Prefecture())
	}
	// Exactly one check digit is right for every five digits.
	for p := 1; p <= 47; p++ {
		for m := 0; m < 1000; m += 37 {
			five := strconv.Itoa(100 + p)[1:] + strconv.Itoa(1000 + m)[1:]
			ok := 0
			for c := '0'; c <= '9'; c++ {
				if _, err := ParseLGCode(five + string(c)); err == nil {
					ok++
				}
			}
			if lg, err := CompleteLGCode(five); ok != 1 || err != nil || string(lg[:5]) != five {
				t.Fatalf("%s: %d valid check digits, Complete = %q %v", five, ok, lg, err)
			}
		}
	}
}

func TestIdentifierSystems(t *testing.T) {
	lg := LGCode("113816")
	for got, want := range map[string]string{
		ResidentIDSystem(lg):   "urn:kodomohub:113816:resident-id",
		HouseholdIDSystem(lg):  "urn:kodomohub:113816:household-id",
		MCHIDSystem(lg):        "urn:kodomohub:113816:mch-id",
		PMHKeySystem(lg):       "urn:kodomohub:113816:pmh-key",
		YotaikyoCaseSystem(lg): "urn:kodomohub:113816:yotaikyo-case",
		PersonKeySystem:        "urn:kodomohub:person",
	} {
		if got != want {
			t.Errorf("%s, want %s", got, want)
		}
	}
	if got, err := SchoolPupilIDSystem(lg, "Ｅ１１１２００００１"); err != nil || got != "urn:kodomohub:113816:school:E111200001:pupil-id" {
		t.Errorf("SchoolPupilIDSystem = %q, %v", got, err)
	}
	if got, err := FacilityChildIDSystem("113468", "hoikuen-01"); err != nil || got != "urn:kodomohub:113468:facility:hoikuen-01:child-id" {
		t.Errorf("FacilityChildIDSystem = %q, %v", got, err)
	}
	for _, bad := range []string{"a:b", "a b", "a/b", "保育園"} {
		if _, err := FacilityChildIDSystem(lg, bad); err == nil {
			t.Errorf("FacilityChildIDSystem(%q): no error", bad)
		}
	}
	if _, err := SchoolPupilIDSystem(lg, " "); !errors.Is(err, ErrEmpty) {
		t.Errorf("SchoolPupilIDSystem(blank) = %v", err)
	}
}
