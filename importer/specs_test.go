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

package importer_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/kodomohub/kodomohub/importer"
	"github.com/kodomohub/kodomohub/importer/importertest"
	"github.com/kodomohub/kodomohub/mapping"
)

// TestBuiltinSpecsLoad: every built-in spec loads, and every source of issue 12 has one.
func TestBuiltinSpecsLoad(t *testing.T) {
	s, err := importer.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"resident-registry", "child-allowance", "public-assistance", "checkup", "vaccination",
		"postpartum", "nursery", "school-register", "school-attendance", "school-aid", "case-ledger", "disability", "ltc", "arrears"} {
		if !slices.Contains(s.Names(), want) {
			t.Errorf("no built-in spec for %s (have %v)", want, s.Names())
		}
	}
}

// TestBuiltinSpecsImport imports a small town through the built-in resident-registry,
// checkup and postpartum specs: what they build passes validation and references resolve.
func TestBuiltinSpecsImport(t *testing.T) {
	tw := newTown(t)
	specs, err := importer.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	tw.im.Specs = specs
	ctx := context.Background()
	reg := "宛名番号,世帯番号,氏名,氏名カナ,生年月日,性別,続柄,世帯主氏名,郵便番号,住所,方書,異動事由,異動日,転入前住所\n" +
		"000000000000101,H101,髙橋　一郎,ﾀｶﾊｼ ｲﾁﾛｳ,昭和60年4月1日,1,世帯主,髙橋　一郎,3670112,埼玉県児玉郡美里町大字木部100番地,,,,\n" +
		"000000000000102,H101,髙橋　花子,たかはし　はなこ,H2.5.3,2,妻,髙橋　一郎,3670112,埼玉県児玉郡美里町大字木部100番地,,転入,R05.04.01,東京都新宿区西新宿2-8-1\n" +
		"000000000000103,H101,髙橋　さくら,タカハシ　サクラ,5050601,2,子,髙橋　一郎,3670112,埼玉県児玉郡美里町大字木部100番地,コーポ美里101,出生,令和５年６月１日,\n" +
		"000000000000104,H102,山田　太郎,ヤマダ　タロウ,H31.05.01,1,世帯主,,,,,,,\n"
	rep, err := tw.im.Import(ctx, importer.Options{Source: "resident-registry", Request: tw.req}, []importer.File{importertest.File("住民.csv", reg)})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Imported != 3 || rep.Failed != 1 || rep.Problems[len(rep.Problems)-1].Column != "生年月日" {
		t.Fatalf("registry: %+v", rep)
	}
	child, err := tw.st.Read(ctx, "misato", "Patient", mapping.ID("resident-registry", "person", "000000000000103"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"birthDate":"2023-06-01"`, `"family":"髙橋"`, `"given":["さくら"]`, `"valueCode":"SYL"`,
		`"family":"タカハシ"`, `"gender":"female"`, `"state":"埼玉県"`, `"city":"児玉郡美里町"`, `"postalCode":"367-0112"`,
		`"identifier":[{"system":"urn:kodomohub:113816:resident-id","value":"000000000000103"}]`} {
		if !strings.Contains(string(child.Raw), want) {
			t.Errorf("the child lacks %s:\n%s", want, child.Raw)
		}
	}
	father, _ := tw.st.Read(ctx, "misato", "Patient", mapping.ID("resident-registry", "person", "000000000000101"))
	if !strings.Contains(string(father.Raw), `"family":"タカハシ","given":["イチロウ"]`) {
		t.Errorf("half-width kana are stored as full-width katakana:\n%s", father.Raw)
	}
	g, err := tw.st.Read(ctx, "misato", "Group", mapping.ID("resident-registry", "household", "H101"))
	if err != nil || strings.Count(string(g.Raw), `"entity"`) != 3 || !strings.Contains(string(g.Raw), `"code":"wife"`) {
		t.Errorf("household: %s %v", g.Raw, err)
	}
	rp, err := tw.st.Read(ctx, "misato", "RelatedPerson", mapping.ID("resident-registry", "head", "000000000000103"))
	if err != nil || !strings.Contains(string(rp.Raw), `"code":"PRN"`) {
		t.Errorf("the head as the child's RelatedPerson: %s %v", rp.Raw, err)
	}

	checkups := "宛名番号,健診名,受診日,身長,体重,判定,精神発達,言語\n" +
		"000000000000103,1歳6か月児健診,R06.12.05,80.5,10.2,要観察,要観察,異常なし\n" +
		"000000000000103,3歳児健診,令和9年1月1日,,,異常なし,,\n"
	rep, err = tw.im.Import(ctx, importer.Options{Source: "checkup", Request: tw.req}, []importer.File{importertest.File("健診.csv", checkups)})
	if err != nil || rep.Imported != 2 || rep.Failed != 0 || rep.Created != 2+2+1+2+1 {
		t.Fatalf("checkups: %+v %v", rep, err)
	}
	post := "宛名番号,受診日,産後日数,問1,問2,問3,問10,合計点,要支援\n000000000000102,2023/06/15,14,1,2,3,1,12,有\n"
	rep, err = tw.im.Import(ctx, importer.Options{Source: "postpartum", Request: tw.req}, []importer.File{importertest.File("産婦.csv", post)})
	if err != nil || rep.Imported != 1 || rep.Created != 1+1+4+1 {
		t.Fatalf("postpartum: %+v %v", rep, err)
	}
}
