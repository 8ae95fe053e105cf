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
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// prefectures are the 47 prefectures in the order of their codes (JIS X 0401, the first two
// digits of a local government code): 01 北海道 … 13 東京都 … 26 京都府, 27 大阪府 … 47 沖縄県.
var prefectures = [47]string{
	"北海道", "青森県", "岩手県", "宮城県", "秋田県", "山形県", "福島県",
	"茨城県", "栃木県", "群馬県", "埼玉県", "千葉県", "東京都", "神奈川県",
	"新潟県", "富山県", "石川県", "福井県", "山梨県", "長野県", "岐阜県",
	"静岡県", "愛知県", "三重県", "滋賀県", "京都府", "大阪府", "兵庫県",
	"奈良県", "和歌山県", "鳥取県", "島根県", "岡山県", "広島県", "山口県",
	"徳島県", "香川県", "愛媛県", "高知県", "福岡県", "佐賀県", "長崎県",
	"熊本県", "大分県", "宮崎県", "鹿児島県", "沖縄県",
}

// Prefectures returns the 47 prefectures in the order of their codes.
func Prefectures() []string { return append([]string(nil), prefectures[:]...) }

// designatedCities are the 20 cities designated by ordinance (政令指定都市), whose wards
// (区) belong to the city part of an address.
var designatedCities = map[string]bool{
	"札幌市": true, "仙台市": true, "さいたま市": true, "千葉市": true, "横浜市": true,
	"川崎市": true, "相模原市": true, "新潟市": true, "静岡市": true, "浜松市": true,
	"名古屋市": true, "京都市": true, "大阪市": true, "堺市": true, "神戸市": true,
	"岡山市": true, "広島市": true, "北九州市": true, "福岡市": true, "熊本市": true,
}

// tokyoWards are Tokyo's 23 special wards, each a municipality of its own.
var tokyoWards = []string{
	"千代田区", "中央区", "港区", "新宿区", "文京区", "台東区", "墨田区", "江東区",
	"品川区", "目黒区", "大田区", "世田谷区", "渋谷区", "中野区", "杉並区", "豊島区",
	"北区", "荒川区", "板橋区", "練馬区", "足立区", "葛飾区", "江戸川区",
}

// Municipalities and counties whose names hold 市, 町, 村, 郡 or 区 before their end, where
// the generic rule (cut at the first such character) would cut them short.
var (
	markedCities = []string{
		"四日市市", "廿日市市", "野々市市", "市川市", "市原市",
		"町田市", "大町市", "十日町市",
		"東村山市", "武蔵村山市", "村山市", "村上市", "羽村市", "田村市", "大村市",
		"大和郡山市", "郡山市", "郡上市",
	}
	markedCounties = []string{"余市郡", "東村山郡", "西村山郡", "北村山郡", "田村郡"}
	markedTowns    = []string{"玉村町", "村田町", "大町町"} // in a county; 市 does not matter there
)

// Address is an address in JP Core's form (DOMAIN §2.2): State the prefecture, City the
// county and town or village (比企郡川島町), the city and, in a designated city, its ward
// (さいたま市浦和区), or a Tokyo special ward; Line the rest as written, then the 方書
// (building, room); PostalCode NNN-NNNN. District is not used. The parts keep the
// characters of the input (full-width digits stay): AddressKey is the matching form.
type Address struct {
	Text       string   // the whole address as given, with the 方書 after a space
	PostalCode string   // NNN-NNNN, or ""
	State      string   // 都道府県, or "" when the address does not name one
	City       string   // or "" when it was not found
	Line       []string // the rest of the address, then the 方書; nil when both are empty
}

// SplitAddress splits an address (住所) and its 方書 into JP Core's parts. A postal code at
// the start (〒350-0192, 〒３５００１９２, 350-0192 followed by a space) goes to PostalCode.
// The prefecture is one of the 47, at the start; the city part follows:
//
//   - a county and its town or village: 比企郡川島町;
//   - a city, with its ward in the 20 designated cities: 所沢市, さいたま市浦和区;
//   - one of Tokyo's 23 special wards: 千代田区;
//   - a town or village without its county, as many records write it (川島町平沼,
//     東京都大島町), when the next character is not a digit or 丁 (栄町3丁目 is a line)
//     and, without a prefecture before it, when its name has two characters or more
//     and no kanji numeral follows (栄町三丁目, 本町1 are lines).
//
// Names that hold 市, 町, 村 or 郡 before their end (四日市市, 町田市, 郡山市, 余市郡余市町,
// 佐波郡玉村町) are known. An address that names no prefecture is split the same way from
// its start. What is not recognised stays in Line: the split never drops or reorders
// text, so State, City and Line joined give back the address without its postal code and
// white space.
func SplitAddress(address, katagaki string) Address {
	var a Address
	address, katagaki = strings.TrimSpace(address), strings.TrimSpace(katagaki)
	a.Text = strings.TrimSpace(address + " " + katagaki)
	rest := address
	if pc, n := leadingPostalCode(rest); n > 0 {
		a.PostalCode, rest = pc, strings.TrimSpace(rest[n:])
	}
	for _, p := range prefectures {
		if strings.HasPrefix(rest, p) {
			a.State, rest = p, strings.TrimLeftFunc(rest[len(p):], unicode.IsSpace)
			break
		}
	}
	if n := cityLength(rest, a.State != ""); n > 0 {
		a.City, rest = rest[:n], strings.TrimLeftFunc(rest[n:], unicode.IsSpace)
	}
	if rest != "" {
		a.Line = append(a.Line, rest)
	}
	if katagaki != "" {
		a.Line = append(a.Line, katagaki)
	}
	return a
}

// cityLength returns the length in bytes of the city part at the start of s, 0 when there
// is none. afterState relaxes the rule for a town without its county: right after a
// prefecture a municipality must follow, so a one-character name (静岡県森町) is one, and
// so is a town whose line starts with a kanji numeral (埼玉県川島町八幡); without a
// prefecture, 栄町 in 栄町三丁目 is more likely a district than a town.
func cityLength(s string, afterState bool) int {
	for _, c := range markedCities {
		if strings.HasPrefix(s, c) {
			return len(c)
		}
	}
	// A county and its town or village.
	county := 0
	for _, c := range markedCounties {
		if strings.HasPrefix(s, c) {
			county = len(c)
		}
	}
	if county == 0 {
		if i, r := firstRune(s, 5, "市町村郡区"); r == '郡' && i > 0 {
			county = i + len("郡")
		}
	}
	if county > 0 {
		t := s[county:]
		for _, c := range markedTowns {
			if strings.HasPrefix(t, c) {
				return county + len(c)
			}
		}
		if i, r := firstRune(t, 7, "町村"); r != 0 && i > 0 {
			return county + i + len("町")
		}
		return county
	}
	for _, w := range tokyoWards {
		if strings.HasPrefix(s, w) {
			return len(w)
		}
	}
	i, r := firstRune(s, 8, "市町村郡区")
	switch {
	case r == '市' && i > 0:
		n := i + len("市")
		if designatedCities[s[:n]] {
			if j, w := firstRune(s[n:], 5, "区"); w != 0 && j > 0 {
				n += j + len("区")
			}
		}
		return n
	case (r == '町' || r == '村') && i > 0:
		n := i + len("町")
		next, _ := utf8.DecodeRuneInString(s[n:])
		switch {
		case next >= '0' && next <= '9' || next >= '０' && next <= '９' || next == '丁':
			return 0
		case !afterState && (utf8.RuneCountInString(s[:i]) < 2 || isNumeral(next)):
			return 0
		}
		return n
	}
	return 0
}

// firstRune returns the byte offset and the rune of the first rune of set among the first
// max runes of s; r is 0 when there is none, or when white space, a digit or an ASCII
// character comes first (a municipality's name has none; kanji numerals it may have: 八丈町,
// 三春町).
func firstRune(s string, max int, set string) (i int, r rune) {
	n := 0
	for i, r := range s {
		switch {
		case n == max:
			return 0, 0
		case strings.ContainsRune(set, r):
			return i, r
		case unicode.IsSpace(r) || r < utf8.RuneSelf || r >= '０' && r <= '９':
			return 0, 0
		}
		n++
	}
	return 0, 0
}

// isNumeral reports whether r is a digit (ASCII or full-width) or a kanji numeral.
func isNumeral(r rune) bool {
	return r >= '0' && r <= '9' || r >= '０' && r <= '９' || strings.ContainsRune("〇一二三四五六七八九十", r)
}

// leadingPostalCode reads a postal code at the start of s: 〒 (or 〶) and 7 digits with an
// optional hyphen, or 3 digits, a hyphen and 4 digits followed by white space. It returns
// the code as NNN-NNNN and the bytes read, or 0.
func leadingPostalCode(s string) (string, int) {
	marked := false
	i := 0
	if r, n := utf8.DecodeRuneInString(s); r == '〒' || r == '〶' {
		marked, i = true, n
	}
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if !unicode.IsSpace(r) {
			break
		}
		i += n
	}
	var digits []byte
	hyphen := false
	for i < len(s) && len(digits) < 7 {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r >= '0' && r <= '9':
			digits = append(digits, byte(r))
		case r >= '０' && r <= '９':
			digits = append(digits, byte(r-'０'+'0'))
		case isDash(r) && len(digits) == 3 && !hyphen:
			hyphen = true
		default:
			return "", 0
		}
		i += n
	}
	if len(digits) != 7 {
		return "", 0
	}
	next, _ := utf8.DecodeRuneInString(s[i:])
	switch {
	case next >= '0' && next <= '9' || next >= '０' && next <= '９': // an eighth digit
		return "", 0
	case !marked && (!hyphen || i < len(s) && !unicode.IsSpace(next)):
		return "", 0
	}
	return string(digits[:3]) + "-" + string(digits[3:]), i
}

// PostalCode reads a postal code: 〒1234567, １２３－４５６７, 123-4567, 〒 123 4567 → 123-4567.
// The hyphen may be any dash or ー; white space is ignored. Anything but 7 digits is an
// error, with ErrEmpty in its chain for a blank value.
func PostalCode(s string) (string, error) {
	k := norm.NFKC.String(s)
	var digits []byte
	for _, r := range k {
		switch {
		case r >= '0' && r <= '9':
			digits = append(digits, byte(r))
		case unicode.IsSpace(r), isDash(r), r == '〒':
		default:
			return "", valueError("postal code", s, "not 7 digits")
		}
	}
	switch {
	case len(digits) == 0 && strings.TrimFunc(k, func(r rune) bool { return unicode.IsSpace(r) || r == '〒' }) == "":
		return "", emptyError("postal code", s)
	case len(digits) != 7:
		return "", valueError("postal code", s, "not 7 digits")
	}
	return string(digits[:3]) + "-" + string(digits[3:]), nil
}
