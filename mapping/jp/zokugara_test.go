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
	"regexp"
	"testing"
)

func TestParseZokugara(t *testing.T) {
	for in, want := range map[string]Zokugara{
		"世帯主": ZokugaraHead, "本人": ZokugaraHead,
		"妻": ZokugaraWife, "夫": ZokugaraHusband,
		"妻（未届）": ZokugaraWifeUnregistered, "妻(未届)": ZokugaraWifeUnregistered, "妻 ( 未届 )": ZokugaraWifeUnregistered,
		"妻（未届け）": ZokugaraWifeUnregistered, "夫（未届）": ZokugaraHusbandUnregistered, "夫(未届)": ZokugaraHusbandUnregistered,
		"子": ZokugaraChild, " 子 ": ZokugaraChild, "子の子": ZokugaraGrandchild, "孫": ZokugaraGrandchild,
		"子の妻": ZokugaraChildWife, "子の夫": ZokugaraChildHusband,
		"父": ZokugaraFather, "母": ZokugaraMother,
		"妻の子": ZokugaraWifeChild, "夫の子": ZokugaraHusbandChild,
		"兄": ZokugaraElderBrother, "姉": ZokugaraElderSister, "弟": ZokugaraYoungerBrother, "妹": ZokugaraYoungerSister,
		"祖父": ZokugaraGrandfather, "祖母": ZokugaraGrandmother,
		"妻の父": ZokugaraWifeFather, "妻の母": ZokugaraWifeMother, "夫の父": ZokugaraHusbandFather, "夫の母": ZokugaraHusbandMother,
		"同居人": ZokugaraCohabitant,
		"縁故者": ZokugaraOther, "叔父": ZokugaraOther, "その他": ZokugaraOther,
		"wife": ZokugaraWife, "wife-child": ZokugaraWifeChild,
	} {
		if got, err := ParseZokugara(in); err != nil || got != want {
			t.Errorf("ParseZokugara(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"01", "X", "99"} {
		if _, err := ParseZokugara(in); err == nil || errors.Is(err, ErrEmpty) {
			t.Errorf("ParseZokugara(%q) = %v, want an error", in, err)
		}
	}
	if _, err := ParseZokugara("\u3000"); !errors.Is(err, ErrEmpty) {
		t.Errorf("ParseZokugara(blank) = %v", err)
	}
}

func TestZokugaraConceptsAreStableAndRoundTrip(t *testing.T) {
	code := regexp.MustCompile(`^[a-z]+(-[a-z]+)*$`)
	seen := map[Zokugara]bool{}
	for _, c := range ZokugaraConcepts() {
		if !code.MatchString(string(c.Code)) || seen[c.Code] {
			t.Errorf("code %q not ASCII kebab case or repeated", c.Code)
		}
		seen[c.Code] = true
		if c.Display == "" || c.English == "" {
			t.Errorf("%s: no display or designation", c.Code)
		}
		if got, err := ParseZokugara(c.Display); err != nil || got != c.Code {
			t.Errorf("ParseZokugara(%q) = %q, %v; want %q", c.Display, got, err, c.Code)
		}
		if c.Code.Display() != c.Display {
			t.Errorf("%s.Display() = %q", c.Code, c.Code.Display())
		}
	}
	if len(seen) != 25 {
		t.Errorf("%d concepts", len(seen))
	}
	if _, ok := Zokugara("nephew").Concept(); ok {
		t.Error("an unknown code has a concept")
	}
}

func TestZokugaraToHead(t *testing.T) {
	for z, want := range map[Zokugara]RoleCode{
		ZokugaraChild: "CHILD", ZokugaraWife: "WIFE", ZokugaraHusband: "HUSB", ZokugaraMother: "MTH",
		ZokugaraFather: "FTH", ZokugaraWifeChild: "STPCHLD", ZokugaraHusbandChild: "STPCHLD",
		ZokugaraGrandchild: "GRNDCHILD", ZokugaraWifeUnregistered: "DOMPART", ZokugaraHead: "ONESELF",
		ZokugaraChildWife: "DAUINLAW", ZokugaraElderSister: "SIS", ZokugaraCohabitant: "ROOM",
	} {
		if got, ok := z.ToHead(); !ok || got != want {
			t.Errorf("%s.ToHead() = %q, %v; want %q", z, got, ok, want)
		}
	}
	if _, ok := ZokugaraOther.ToHead(); ok {
		t.Error("other.ToHead() ok")
	}
}

func TestRelationOnlyWhereCertain(t *testing.T) {
	for _, tc := range []struct {
		subject, other Zokugara
		want           RoleCode
	}{
		{ZokugaraChild, ZokugaraHead, "PRN"},           // the head is the child's parent
		{ZokugaraHead, ZokugaraChild, "CHILD"},         // and the child the head's child
		{ZokugaraChild, ZokugaraWife, "MTH"},           // mother or stepmother, both MTH in v3
		{ZokugaraChild, ZokugaraHusband, "FTH"},        // father or stepfather
		{ZokugaraWife, ZokugaraChild, "CHILD"},         // the reverse
		{ZokugaraWifeChild, ZokugaraHead, "STPPRN"},    // the wife's child: the head is a step-parent
		{ZokugaraHusbandChild, ZokugaraHead, "STPPRN"}, // the head is the wife, the child her husband's
		{ZokugaraHead, ZokugaraWifeChild, "STPCHLD"},
		{ZokugaraWifeChild, ZokugaraWife, "MTH"},
		{ZokugaraHusbandChild, ZokugaraHusband, "FTH"},
		{ZokugaraWifeChild, ZokugaraWifeChild, "SIB"},
		{ZokugaraWifeChild, ZokugaraWifeMother, "GRMTH"},
		{ZokugaraChild, ZokugaraChild, "SIB"},
		{ZokugaraChild, ZokugaraMother, "GRMTH"},
		{ZokugaraMother, ZokugaraChild, "GRNDCHILD"},
		{ZokugaraChild, ZokugaraGrandfather, "GGRFTH"},
		{ZokugaraChild, ZokugaraElderBrother, "UNCLE"},
		{ZokugaraChild, ZokugaraYoungerSister, "AUNT"},
		{ZokugaraYoungerSister, ZokugaraChild, "NIENEPH"},
		{ZokugaraGrandchild, ZokugaraHead, "GRPRN"},
		{ZokugaraGrandchild, ZokugaraMother, "GGRMTH"},
		{ZokugaraWife, ZokugaraHead, "HUSB"},
		{ZokugaraWife, ZokugaraMother, "MTHINLAW"},
		{ZokugaraFather, ZokugaraWife, "CHLDINLAW"},
		{ZokugaraHusband, ZokugaraHusbandFather, "FTH"},
		{ZokugaraCohabitant, ZokugaraHead, "ROOM"},
	} {
		if got, ok := Relation(tc.subject, tc.other); !ok || got != tc.want {
			t.Errorf("Relation(%s, %s) = %q, %v; want %q", tc.subject, tc.other, got, ok, tc.want)
		}
	}
	for _, tc := range []struct{ subject, other Zokugara }{
		{ZokugaraChild, ZokugaraWifeUnregistered}, // the head's partner: a parent, or not
		{ZokugaraChild, ZokugaraHusbandUnregistered},
		{ZokugaraChild, ZokugaraWifeChild},  // half- or step-siblings
		{ZokugaraChild, ZokugaraChildWife},  // this child's wife, or a sibling's
		{ZokugaraGrandchild, ZokugaraChild}, // parent, or aunt or uncle
		{ZokugaraGrandchild, ZokugaraWife},  // grandmother, or the grandparent's second wife
		{ZokugaraChild, ZokugaraCohabitant},
		{ZokugaraChild, ZokugaraOther},
		{ZokugaraHead, ZokugaraOther},
		{ZokugaraHead, ZokugaraHead},
		{ZokugaraWifeChild, ZokugaraHusband},
	} {
		if got, ok := Relation(tc.subject, tc.other); ok {
			t.Errorf("Relation(%s, %s) = %q, want unknown", tc.subject, tc.other, got)
		}
	}
}

func TestRoleCodeGendered(t *testing.T) {
	for _, tc := range []struct {
		r    RoleCode
		g    Gender
		want RoleCode
	}{
		{"PRN", Male, "FTH"}, {"PRN", Female, "MTH"}, {"PRN", Unknown, "PRN"},
		{"STPPRN", Male, "STPFTH"}, {"STPPRN", Female, "STPMTH"},
		{"SIB", Male, "BRO"}, {"SIB", Female, "SIS"},
		{"CHILD", Female, "DAUC"}, {"STPCHLD", Male, "STPSON"}, {"GRPRN", Female, "GRMTH"},
		{"MTH", Male, "MTH"}, {"UNCLE", Female, "UNCLE"},
	} {
		if got := tc.r.Gendered(tc.g); got != tc.want {
			t.Errorf("%s.Gendered(%s) = %s, want %s", tc.r, tc.g, got, tc.want)
		}
	}
}
