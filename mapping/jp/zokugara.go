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

	"golang.org/x/text/unicode/norm"
)

// ZokugaraSystem is the hub's CodeSystem of relationships to the head of household
// (DOMAIN §3.4 zokugara); RoleCodeSystem is HL7 v3 RoleCode, whose personal-relationship
// codes RelatedPerson.relationship takes (DOMAIN §3.3).
const (
	ZokugaraSystem = "http://kodomohub.example/fhir/CodeSystem/zokugara"
	RoleCodeSystem = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
)

// Zokugara is a code of the hub's zokugara CodeSystem: a household member's relationship
// to the head of household (続柄), as the resident record writes it from the head's point of
// view (DOMAIN §2.2). The codes are stable ASCII names of the Japanese values; Concepts
// lists them with their displays.
type Zokugara string

// The zokugara codes: the values of DOMAIN §2.2, the grandparents and parents-in-law that
// resident records also write, and other.
const (
	ZokugaraHead                Zokugara = "head"                 // 世帯主 (also 本人)
	ZokugaraWife                Zokugara = "wife"                 // 妻
	ZokugaraHusband             Zokugara = "husband"              // 夫
	ZokugaraWifeUnregistered    Zokugara = "wife-unregistered"    // 妻（未届）: common-law wife
	ZokugaraHusbandUnregistered Zokugara = "husband-unregistered" // 夫（未届）: common-law husband
	ZokugaraChild               Zokugara = "child"                // 子 (every child since 1995, adopted ones too)
	ZokugaraGrandchild          Zokugara = "grandchild"           // 子の子 (also 孫)
	ZokugaraChildWife           Zokugara = "child-wife"           // 子の妻
	ZokugaraChildHusband        Zokugara = "child-husband"        // 子の夫
	ZokugaraFather              Zokugara = "father"               // 父
	ZokugaraMother              Zokugara = "mother"               // 母
	ZokugaraWifeChild           Zokugara = "wife-child"           // 妻の子: the head's stepchild
	ZokugaraHusbandChild        Zokugara = "husband-child"        // 夫の子: the head's stepchild
	ZokugaraElderBrother        Zokugara = "elder-brother"        // 兄
	ZokugaraElderSister         Zokugara = "elder-sister"         // 姉
	ZokugaraYoungerBrother      Zokugara = "younger-brother"      // 弟
	ZokugaraYoungerSister       Zokugara = "younger-sister"       // 妹
	ZokugaraGrandfather         Zokugara = "grandfather"          // 祖父
	ZokugaraGrandmother         Zokugara = "grandmother"          // 祖母
	ZokugaraWifeFather          Zokugara = "wife-father"          // 妻の父
	ZokugaraWifeMother          Zokugara = "wife-mother"          // 妻の母
	ZokugaraHusbandFather       Zokugara = "husband-father"       // 夫の父
	ZokugaraHusbandMother       Zokugara = "husband-mother"       // 夫の母
	ZokugaraCohabitant          Zokugara = "cohabitant"           // 同居人
	ZokugaraOther               Zokugara = "other"                // any other value (縁故者, 叔父, …)
)

// RoleCode is a code of HL7 v3 RoleCode (RoleCodeSystem). Codes are read in v3's hierarchy:
// MTH (mother) subsumes STPMTH (stepmother) and ADOPTM, FTH subsumes STPFTH, PRN subsumes
// STPPRN, CHILD subsumes STPCHLD, SIB subsumes HSIB and STPSIB.
type RoleCode string

// The v3 RoleCode codes this package returns.
const (
	RoleSelf             RoleCode = "ONESELF"
	RoleWife             RoleCode = "WIFE"
	RoleHusband          RoleCode = "HUSB"
	RoleSpouse           RoleCode = "SPS"
	RoleDomesticPartner  RoleCode = "DOMPART"
	RoleChild            RoleCode = "CHILD"
	RoleSon              RoleCode = "SONC"
	RoleDaughter         RoleCode = "DAUC"
	RoleStepchild        RoleCode = "STPCHLD"
	RoleStepson          RoleCode = "STPSON"
	RoleStepdaughter     RoleCode = "STPDAU"
	RoleGrandchild       RoleCode = "GRNDCHILD"
	RoleGrandson         RoleCode = "GRNDSON"
	RoleGranddaughter    RoleCode = "GRNDDAU"
	RoleParent           RoleCode = "PRN"
	RoleFather           RoleCode = "FTH"
	RoleMother           RoleCode = "MTH"
	RoleStepparent       RoleCode = "STPPRN"
	RoleStepfather       RoleCode = "STPFTH"
	RoleStepmother       RoleCode = "STPMTH"
	RoleGrandparent      RoleCode = "GRPRN"
	RoleGrandfather      RoleCode = "GRFTH"
	RoleGrandmother      RoleCode = "GRMTH"
	RoleGreatGrandparent RoleCode = "GGRPRN"
	RoleGreatGrandfather RoleCode = "GGRFTH"
	RoleGreatGrandmother RoleCode = "GGRMTH"
	RoleSibling          RoleCode = "SIB"
	RoleBrother          RoleCode = "BRO"
	RoleSister           RoleCode = "SIS"
	RoleUncle            RoleCode = "UNCLE"
	RoleAunt             RoleCode = "AUNT"
	RoleNieceNephew      RoleCode = "NIENEPH"
	RoleChildInLaw       RoleCode = "CHLDINLAW"
	RoleSonInLaw         RoleCode = "SONINLAW"
	RoleDaughterInLaw    RoleCode = "DAUINLAW"
	RoleParentInLaw      RoleCode = "PRNINLAW"
	RoleFatherInLaw      RoleCode = "FTHINLAW"
	RoleMotherInLaw      RoleCode = "MTHINLAW"
	RoleRoommate         RoleCode = "ROOM"
)

// ZokugaraConcept is one concept of the zokugara CodeSystem, with what it says of the
// member and the head in v3 RoleCode.
type ZokugaraConcept struct {
	Code    Zokugara
	Display string   // Japanese, as the resident record writes it
	English string   // the English designation
	ToHead  RoleCode // what the member is to the head ("" for other)
	HeadIs  RoleCode // what the head is to the member ("" for other)
}

var zokugaraConcepts = []ZokugaraConcept{
	{ZokugaraHead, "世帯主", "head of household", RoleSelf, RoleSelf},
	{ZokugaraWife, "妻", "wife", RoleWife, RoleHusband},
	{ZokugaraHusband, "夫", "husband", RoleHusband, RoleWife},
	{ZokugaraWifeUnregistered, "妻（未届）", "common-law wife (marriage not registered)", RoleDomesticPartner, RoleDomesticPartner},
	{ZokugaraHusbandUnregistered, "夫（未届）", "common-law husband (marriage not registered)", RoleDomesticPartner, RoleDomesticPartner},
	{ZokugaraChild, "子", "child", RoleChild, RoleParent},
	{ZokugaraGrandchild, "子の子", "child's child", RoleGrandchild, RoleGrandparent},
	{ZokugaraChildWife, "子の妻", "child's wife", RoleDaughterInLaw, RoleParentInLaw},
	{ZokugaraChildHusband, "子の夫", "child's husband", RoleSonInLaw, RoleParentInLaw},
	{ZokugaraFather, "父", "father", RoleFather, RoleChild},
	{ZokugaraMother, "母", "mother", RoleMother, RoleChild},
	{ZokugaraWifeChild, "妻の子", "wife's child (stepchild)", RoleStepchild, RoleStepparent},
	{ZokugaraHusbandChild, "夫の子", "husband's child (stepchild)", RoleStepchild, RoleStepparent},
	{ZokugaraElderBrother, "兄", "elder brother", RoleBrother, RoleSibling},
	{ZokugaraElderSister, "姉", "elder sister", RoleSister, RoleSibling},
	{ZokugaraYoungerBrother, "弟", "younger brother", RoleBrother, RoleSibling},
	{ZokugaraYoungerSister, "妹", "younger sister", RoleSister, RoleSibling},
	{ZokugaraGrandfather, "祖父", "grandfather", RoleGrandfather, RoleGrandchild},
	{ZokugaraGrandmother, "祖母", "grandmother", RoleGrandmother, RoleGrandchild},
	{ZokugaraWifeFather, "妻の父", "wife's father", RoleFatherInLaw, RoleChildInLaw},
	{ZokugaraWifeMother, "妻の母", "wife's mother", RoleMotherInLaw, RoleChildInLaw},
	{ZokugaraHusbandFather, "夫の父", "husband's father", RoleFatherInLaw, RoleChildInLaw},
	{ZokugaraHusbandMother, "夫の母", "husband's mother", RoleMotherInLaw, RoleChildInLaw},
	{ZokugaraCohabitant, "同居人", "cohabitant (not a relative)", RoleRoommate, RoleRoommate},
	{ZokugaraOther, "その他", "other", "", ""},
}

// ZokugaraConcepts returns every concept of the zokugara CodeSystem, in a stable order,
// for building the CodeSystem resource and value maps.
func ZokugaraConcepts() []ZokugaraConcept {
	return append([]ZokugaraConcept(nil), zokugaraConcepts...)
}

// zokugaraByCode indexes the concepts; zokugaraByText holds the Japanese values after
// zokugaraKey (with the aliases 本人 and 孫) and the codes themselves.
var zokugaraByCode, zokugaraByText = func() (map[Zokugara]ZokugaraConcept, map[string]Zokugara) {
	byCode := map[Zokugara]ZokugaraConcept{}
	byText := map[string]Zokugara{"本人": ZokugaraHead, "孫": ZokugaraGrandchild}
	for _, c := range zokugaraConcepts {
		byCode[c.Code] = c
		byText[zokugaraKey(c.Display)] = c.Code
		byText[string(c.Code)] = c.Code
	}
	return byCode, byText
}()

// zokugaraKey folds a 続柄 value: NFKC (full-width parentheses become ASCII), no white
// space, 未届け written 未届.
func zokugaraKey(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, norm.NFKC.String(s))
	return strings.ReplaceAll(s, "未届け", "未届")
}

// ParseZokugara reads a 続柄 value: one of DOMAIN §2.2 (世帯主/本人, 妻, 夫, 妻（未届）/夫（未届）
// with full- or half-width parentheses and any spaces, 子, 子の子/孫, 子の妻, 子の夫, 父, 母,
// 妻の子, 夫の子, 兄, 姉, 弟, 妹, 同居人), 祖父, 祖母, 妻の父, 妻の母, 夫の父, 夫の母, or a
// zokugara code itself. Any other value in Japanese (縁故者, 叔父, …) is ZokugaraOther: keep the
// text beside the code. A value with no Japanese letter at all (a vendor's numeric code)
// is an error, since only the source's own code map can read it; so is a blank value, with
// ErrEmpty in its chain.
func ParseZokugara(s string) (Zokugara, error) {
	k := zokugaraKey(s)
	if k == "" {
		return "", emptyError("zokugara", s)
	}
	if z, ok := zokugaraByText[k]; ok {
		return z, nil
	}
	for _, r := range k {
		if unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana) {
			return ZokugaraOther, nil
		}
	}
	return "", valueError("zokugara", s, "not a 続柄 (a source's numeric codes need its own code map)")
}

// Concept returns z's concept; ok is false for a string that is not a zokugara code.
func (z Zokugara) Concept() (c ZokugaraConcept, ok bool) {
	c, ok = zokugaraByCode[z]
	return c, ok
}

// Display is z's Japanese display (世帯主, 妻（未届）), "" for an unknown code.
func (z Zokugara) Display() string { return zokugaraByCode[z].Display }

// ToHead is what a member with this 続柄 is to the head, in v3 RoleCode: 子 → CHILD,
// 妻 → WIFE, 母 → MTH, 妻の子 → STPCHLD (v3's code for a stepchild), 妻（未届） → DOMPART.
// ok is false for ZokugaraOther and unknown codes.
func (z Zokugara) ToHead() (RoleCode, bool) {
	r := zokugaraByCode[z].ToHead
	return r, r != ""
}

// relations holds what the second member is to the first when both are given relative to
// the same head, for the pairs where it is certain.
var relations = func() map[[2]Zokugara]RoleCode {
	relations := map[[2]Zokugara]RoleCode{}
	// subject, other, what other is to subject, what subject is to other ("" none).
	for _, p := range []struct {
		subject, other Zokugara
		otherIs        RoleCode
		subjectIs      RoleCode
	}{
		// The head's child: the head's wife or husband is the child's mother or father,
		// or stepmother or stepfather, which v3's MTH and FTH subsume; two children of the
		// head share at least the head as a parent.
		{ZokugaraChild, ZokugaraWife, RoleMother, RoleChild},
		{ZokugaraChild, ZokugaraHusband, RoleFather, RoleChild},
		{ZokugaraChild, ZokugaraChild, RoleSibling, RoleSibling},
		{ZokugaraChild, ZokugaraFather, RoleGrandfather, RoleGrandchild},
		{ZokugaraChild, ZokugaraMother, RoleGrandmother, RoleGrandchild},
		{ZokugaraChild, ZokugaraGrandfather, RoleGreatGrandfather, ""},
		{ZokugaraChild, ZokugaraGrandmother, RoleGreatGrandmother, ""},
		{ZokugaraChild, ZokugaraElderBrother, RoleUncle, RoleNieceNephew},
		{ZokugaraChild, ZokugaraYoungerBrother, RoleUncle, RoleNieceNephew},
		{ZokugaraChild, ZokugaraElderSister, RoleAunt, RoleNieceNephew},
		{ZokugaraChild, ZokugaraYoungerSister, RoleAunt, RoleNieceNephew},
		{ZokugaraGrandchild, ZokugaraFather, RoleGreatGrandfather, ""},
		{ZokugaraGrandchild, ZokugaraMother, RoleGreatGrandmother, ""},
		// The wife's child (the head's stepchild): the wife is the mother, her other
		// children are siblings, her parents the grandparents. Likewise for the husband.
		{ZokugaraWifeChild, ZokugaraWife, RoleMother, RoleChild},
		{ZokugaraWifeChild, ZokugaraWifeChild, RoleSibling, RoleSibling},
		{ZokugaraWifeChild, ZokugaraWifeFather, RoleGrandfather, RoleGrandchild},
		{ZokugaraWifeChild, ZokugaraWifeMother, RoleGrandmother, RoleGrandchild},
		{ZokugaraHusbandChild, ZokugaraHusband, RoleFather, RoleChild},
		{ZokugaraHusbandChild, ZokugaraHusbandChild, RoleSibling, RoleSibling},
		{ZokugaraHusbandChild, ZokugaraHusbandFather, RoleGrandfather, RoleGrandchild},
		{ZokugaraHusbandChild, ZokugaraHusbandMother, RoleGrandmother, RoleGrandchild},
		// The head's spouse and the parents on either side.
		{ZokugaraWife, ZokugaraFather, RoleFatherInLaw, RoleChildInLaw},
		{ZokugaraWife, ZokugaraMother, RoleMotherInLaw, RoleChildInLaw},
		{ZokugaraHusband, ZokugaraFather, RoleFatherInLaw, RoleChildInLaw},
		{ZokugaraHusband, ZokugaraMother, RoleMotherInLaw, RoleChildInLaw},
		{ZokugaraWife, ZokugaraWifeFather, RoleFather, RoleChild},
		{ZokugaraWife, ZokugaraWifeMother, RoleMother, RoleChild},
		{ZokugaraHusband, ZokugaraHusbandFather, RoleFather, RoleChild},
		{ZokugaraHusband, ZokugaraHusbandMother, RoleMother, RoleChild},
	} {
		relations[[2]Zokugara{p.subject, p.other}] = p.otherIs
		if p.subjectIs != "" {
			relations[[2]Zokugara{p.other, p.subject}] = p.subjectIs
		}
	}
	return relations
}()

// Relation returns what one member of a household (other) is to another (subject), both
// given by their 続柄 to the same head, in v3 RoleCode, for the pairs where the resident
// record makes it certain; ok is false for every other pair. With the head on one side it
// is the concept's ToHead or HeadIs: for a 子 the head is PRN (a parent), for a 妻の子 or 夫の子
// STPPRN (a step-parent). Between two other members:
//
//   - 子 and 妻 → MTH, 子 and 夫 → FTH: mother or stepmother (a 子 is the head's child, not
//     necessarily the spouse's), both of which v3's MTH and FTH subsume; 子 and 子 → SIB;
//     子 and 父/母 → GRFTH/GRMTH; 子 and 祖父/祖母 → GGRFTH/GGRMTH; 子 and 兄/弟 → UNCLE,
//     姉/妹 → AUNT; and the reverse of each (CHILD, SIB, GRNDCHILD, NIENEPH);
//   - 妻の子 and 妻 → MTH, 妻の子 and 妻の子 → SIB, 妻の子 and 妻の父/妻の母 → GRFTH/GRMTH, and
//     the same for 夫の子 with 夫, 夫の子, 夫の父, 夫の母;
//   - 子の子 and 父/母 → GGRFTH/GGRMTH;
//   - 妻/夫 and the head's 父/母 → FTHINLAW/MTHINLAW, and 妻 and 妻の父/妻の母 → FTH/MTH (夫 likewise).
//
// Left unknown because the record does not say: a partner 妻（未届）/夫（未届） and the head's
// child (a parent, or the head's partner only), 子 and 妻の子 (half- or step-siblings), 子 and
// 子の妻 (the wife of this child or of a sibling), 子の子 and 子 (parent or aunt/uncle), and any
// pair with 同居人 or other. Gendered makes PRN, SIB and the like specific when the sex of
// the member is known.
func Relation(subject, other Zokugara) (RoleCode, bool) {
	switch {
	case subject == ZokugaraHead && other == ZokugaraHead:
		return "", false
	case subject == ZokugaraHead:
		return other.ToHead()
	case other == ZokugaraHead:
		r := zokugaraByCode[subject].HeadIs
		return r, r != ""
	}
	r, ok := relations[[2]Zokugara{subject, other}]
	return r, ok
}

// gendered holds the male and female specialisations of the v3 codes that have them.
var gendered = map[RoleCode][2]RoleCode{
	RoleParent:           {RoleFather, RoleMother},
	RoleStepparent:       {RoleStepfather, RoleStepmother},
	RoleGrandparent:      {RoleGrandfather, RoleGrandmother},
	RoleGreatGrandparent: {RoleGreatGrandfather, RoleGreatGrandmother},
	RoleSibling:          {RoleBrother, RoleSister},
	RoleChild:            {RoleSon, RoleDaughter},
	RoleStepchild:        {RoleStepson, RoleStepdaughter},
	RoleGrandchild:       {RoleGrandson, RoleGranddaughter},
	RoleChildInLaw:       {RoleSonInLaw, RoleDaughterInLaw},
	RoleParentInLaw:      {RoleFatherInLaw, RoleMotherInLaw},
	RoleSpouse:           {RoleHusband, RoleWife},
}

// Gendered returns the male or female form of r for a person of gender g (PRN and male →
// FTH, SIB and female → SIS, CHILD and male → SONC, …); r itself when g is neither male
// nor female or r has no such forms.
func (r RoleCode) Gendered(g Gender) RoleCode {
	f, ok := gendered[r]
	switch {
	case !ok:
		return r
	case g == Male:
		return f[0]
	case g == Female:
		return f[1]
	}
	return r
}
