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

package synth

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// address is a Japanese address in JP Core's parts: prefecture, city (郡・市・町・村), the
// rest (大字・丁目・番地・号) and the building (方書).
type address struct {
	postal   string // NNN-NNNN
	pref     string // 埼玉県
	city     string // 児玉郡美里町
	line     string // 大字広木１２３番地４
	building string // 方書: コーポ広木２０３
}

// full is the address as a register writes it in one field, without the building.
func (a address) full() string { return a.pref + a.city + a.line }

// area is a part of a town: an 大字 written with 番地 (rural), or a district with
// 丁目・番・号 (a newer housing area).
type area struct {
	name   string
	postal string
	chome  int // number of 丁目; 0 for an 大字 written with 番地
}

// townInfo is where a synthetic town lies.
type townInfo struct {
	pref, city string // 埼玉県, 児玉郡美里町
	short      string // 美里町: prefix of the town's schools and facilities
	areas      []area
}

// The two demonstration towns, with their real 大字 and postal codes of the 367-01 and
// 350-01 areas (the codes are given per 大字 here as a plausible scheme, not checked one by
// one against the postal list), and a generic town for any other code.
var (
	misato = townInfo{"埼玉県", "児玉郡美里町", "美里町", []area{
		{"大字阿那志", "367-0111", 0}, {"大字猪俣", "367-0114", 0}, {"大字円良田", "367-0116", 0},
		{"大字甘粕", "367-0115", 0}, {"大字木部", "367-0105", 0}, {"大字駒衣", "367-0104", 0},
		{"大字小茂田", "367-0112", 0}, {"大字古郡", "367-0106", 0}, {"大字沼上", "367-0107", 0},
		{"大字根木", "367-0108", 0}, {"大字白石", "367-0113", 0}, {"大字関", "367-0101", 0},
		{"大字中里", "367-0102", 0}, {"大字広木", "367-0103", 0}, {"大字北十条", "367-0117", 0},
		{"大字南十条", "367-0118", 0}, {"大字下児玉", "367-0110", 0},
	}}
	kawajima = townInfo{"埼玉県", "比企郡川島町", "川島町", []area{
		{"大字平沼", "350-0151", 0}, {"大字下八ツ林", "350-0152", 0}, {"大字上八ツ林", "350-0153", 0},
		{"大字中山", "350-0155", 0}, {"大字吹塚", "350-0156", 0}, {"大字伊草", "350-0144", 0},
		{"大字三保谷宿", "350-0145", 0}, {"大字表", "350-0146", 0}, {"大字出丸中郷", "350-0132", 0},
		{"大字鳥羽井", "350-0141", 0}, {"大字牛ケ谷戸", "350-0165", 0}, {"大字紫竹", "350-0167", 0},
		{"大字角泉", "350-0142", 0}, {"大字長楽", "350-0124", 0}, {"大字東野", "350-0111", 0},
		{"八幡", "350-0150", 6},
	}}
	generic = townInfo{"埼玉県", "入間郡みどり町", "みどり町", []area{
		{"本町", "359-9901", 4}, {"緑が丘", "359-9902", 5}, {"大字上谷", "359-9903", 0},
		{"大字下谷", "359-9904", 0}, {"旭町", "359-9905", 3}, {"大字新田", "359-9906", 0},
	}}
)

// townOf returns the town of a local government code: 113816 Misato, 113468 Kawajima.
func townOf(lg string) townInfo {
	switch lg {
	case "113816":
		return misato
	case "113468":
		return kawajima
	}
	return generic
}

var kanjiNumerals = []string{"", "一", "二", "三", "四", "五", "六", "七", "八", "九"}

var buildings = []string{"コーポ", "ハイツ", "メゾン", "グリーンハイツ", "サンライズ", "パークサイド", "レジデンス"}

// newAddress draws a dwelling in the town. Numbers are written in full-width digits, as
// registers print them; 丁目 with a kanji numeral.
func (t townInfo) newAddress(r *rand.Rand) address {
	a := t.areas[r.IntN(len(t.areas))]
	ad := address{postal: a.postal, pref: t.pref, city: t.city}
	if a.chome > 0 {
		ad.line = fmt.Sprintf("%s%s丁目%d番%d号", a.name, kanjiNumerals[1+r.IntN(a.chome)], 1+r.IntN(30), 1+r.IntN(25))
	} else if r.IntN(4) == 0 {
		ad.line = fmt.Sprintf("%s%d番地%d", a.name, 1+r.IntN(2400), 1+r.IntN(12))
	} else {
		ad.line = fmt.Sprintf("%s%d番地", a.name, 1+r.IntN(2400))
	}
	ad.line = fullWidthDigits(ad.line)
	if r.IntN(7) == 0 {
		place := strings.TrimPrefix(a.name, "大字")
		ad.building = fullWidthDigits(fmt.Sprintf("%s%s %d%02d", buildings[r.IntN(len(buildings))], place, 1+r.IntN(3), 1+r.IntN(8)))
		ad.building = strings.ReplaceAll(ad.building, " ", "　")
	}
	return ad
}

// elsewhere are municipalities people move from and to, with a street pattern each.
var elsewhere = []struct{ postal, pref, city, street string }{
	{"367-0053", "埼玉県", "本庄市", "中央%s丁目%d番%d号"},
	{"366-0035", "埼玉県", "深谷市", "原郷%d番地"},
	{"360-0037", "埼玉県", "熊谷市", "筑波%s丁目%d番%d号"},
	{"350-1123", "埼玉県", "川越市", "脇田本町%d番地%d"},
	{"355-0017", "埼玉県", "東松山市", "松葉町%s丁目%d番%d号"},
	{"350-0227", "埼玉県", "坂戸市", "末広町%d番地%d"},
	{"370-0849", "群馬県", "高崎市", "八島町%d番地"},
	{"372-0801", "群馬県", "伊勢崎市", "宮子町%d番地%d"},
	{"176-0001", "東京都", "練馬区", "練馬%s丁目%d番%d号"},
	{"173-0004", "東京都", "板橋区", "板橋%s丁目%d番%d号"},
	{"330-0063", "埼玉県", "さいたま市浦和区", "高砂%s丁目%d番%d号"},
	{"369-1203", "埼玉県", "大里郡寄居町", "大字寄居%d番地"},
}

// otherAddress draws an address in another municipality.
func otherAddress(r *rand.Rand) address {
	e := elsewhere[r.IntN(len(elsewhere))]
	var line string
	switch strings.Count(e.street, "%") {
	case 3:
		line = fmt.Sprintf(e.street, kanjiNumerals[1+r.IntN(5)], 1+r.IntN(25), 1+r.IntN(20))
	case 2:
		line = fmt.Sprintf(e.street, 1+r.IntN(3000), 1+r.IntN(9))
	default:
		line = fmt.Sprintf(e.street, 1+r.IntN(3000))
	}
	return address{postal: e.postal, pref: e.pref, city: e.city, line: fullWidthDigits(line)}
}

// facility is a nursery, school or hospital of the town.
type facility struct {
	code, name string
	kind       string // nursery, certified-centre, kindergarten, elementary, junior-high
}

func (t townInfo) nurseries(lg string) []facility {
	return []facility{
		{lg[:5] + "00101", "町立" + t.short + "保育所", "nursery"},
		{lg[:5] + "00102", t.short + "ひかり保育園", "nursery"},
		{lg[:5] + "00201", t.short + "こども園", "certified-centre"},
		{lg[:5] + "00301", t.short + "すみれ幼稚園", "kindergarten"},
	}
}

func (t townInfo) schools() (elementary []facility, juniorHigh facility) {
	for i, dir := range []string{"東", "西", "南", "北"} {
		elementary = append(elementary, facility{fmt.Sprintf("%03d", i+1), t.short + "立" + dir + "小学校", "elementary"})
	}
	return elementary, facility{"101", t.short + "立" + strings.TrimSuffix(t.short, "町") + "中学校", "junior-high"}
}

// hospital is the synthetic hospital of the SS-MIX2 tree and the JP-CLINS bundles: its
// 10-digit medical institution code is prefecture 11 (Saitama), table 1 (medical), and a
// made-up 7-digit number.
var hospital = facility{"1110000019", "県北こども総合病院", "hospital"}

// fullWidthDigits writes ASCII digits as full-width digits.
func fullWidthDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if '0' <= r && r <= '9' {
			return r - '0' + '０'
		}
		return r
	}, s)
}
