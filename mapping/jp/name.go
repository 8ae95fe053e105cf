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
	"strings"
	"unicode"
)

// The representation extension of JP Core's two names per person (DOMAIN §3.1,
// JP_HumanName): HumanName.extension with this url and valueCode IDE (the name as written,
// kanji) or SYL (its reading, full-width katakana).
const (
	RepresentationURL = "http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation"
	RepresentationIDE = "IDE" // ideographic: the kanji name
	RepresentationSYL = "SYL" // syllabic: the kana name
)

// Name is one JP Core HumanName: the kanji name (Kana false, representation IDE) or the
// kana name (Kana true, SYL). Family and Given are set only when the name was split; Text
// is always set, with family and given joined by one half-width space as JP Core requires
// (山田 太郎, ヤマダ タロウ).
type Name struct {
	Text   string
	Family string
	Given  string
	Kana   bool
}

// Representation is the valueCode of the name's RepresentationURL extension.
func (n Name) Representation() string {
	if n.Kana {
		return RepresentationSYL
	}
	return RepresentationIDE
}

// SplitName splits a name written family name first (氏名, DOMAIN §2.2) at its white space:
// the full-width space U+3000 that registers write, an ASCII space, or a run of either.
// ok is false, and family and given are "", unless the name has exactly two parts: a name
// without a space, or with three parts or more (a middle name? a title?), is not guessed at.
func SplitName(s string) (family, given string, ok bool) {
	parts := strings.FieldsFunc(s, unicode.IsSpace)
	if len(parts) != 2 {
		return "", "", false
	}
	return parts[0], parts[1], true
}

// KanjiName is the IDE name of a 氏名 value: split by SplitName when it splits, Text only
// otherwise; half-width katakana are widened (JP Core asks for full-width characters in
// IDE names), nothing else is changed. ok is false for a blank s.
func KanjiName(s string) (Name, bool) {
	return newName(foldKana(s, false), false)
}

// KanaName is the SYL name of a 氏名カナ/フリガナ value: converted to full-width katakana
// by Katakana (ﾔﾏﾀﾞ ﾀﾛｳ and やまだ たろう become ヤマダ タロウ), then split like KanjiName.
// It is an error, with ErrEmpty in its chain, for a blank s, and an error when s holds
// anything but kana and white space.
func KanaName(s string) (Name, error) {
	k := Katakana(s)
	n, ok := newName(k, true)
	switch {
	case !ok:
		return Name{}, emptyError("kana name", s)
	case !IsKana(k):
		return Name{}, valueError("kana name", s, "not kana only")
	}
	return n, nil
}

// PersonNames builds JP Core's pair of names from a record's kanji and kana name columns:
// the IDE name, then the SYL name, each left out when its column is blank. When the kana
// column is not kana, the error says so and the IDE name is still returned.
func PersonNames(kanji, kana string) ([]Name, error) {
	var names []Name
	if n, ok := KanjiName(kanji); ok {
		names = append(names, n)
	}
	n, err := KanaName(kana)
	switch {
	case errors.Is(err, ErrEmpty):
		return names, nil
	case err != nil:
		return names, err
	}
	return append(names, n), nil
}

func newName(s string, kana bool) (Name, bool) {
	parts := strings.FieldsFunc(s, unicode.IsSpace)
	if len(parts) == 0 {
		return Name{}, false
	}
	n := Name{Text: strings.Join(parts, " "), Kana: kana}
	if len(parts) == 2 {
		n.Family, n.Given = parts[0], parts[1]
	}
	return n, true
}
