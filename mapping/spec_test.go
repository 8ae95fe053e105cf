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

package mapping

import (
	"strings"
	"testing"

	"github.com/kodomohub/kodomohub/adapters"
)

const checkupSpec = `source: checkup
title: 乳幼児健診 (S4)
format: csv
columns:
  宛名番号: {required: true, aliases: [識別番号]}
  健診名: {required: true}
  受診日: {required: true}
  身長:
  判定:
  精神発達:
  言語:
codes:
  judgement: {異常なし: healthy, 要観察: observe, 要精密: refer}
resources:
  - name: visit
    type: Encounter
    key: "{宛名番号}|{健診名}|{受診日}"
    body:
      status: finished
      class: {system: "http://terminology.hl7.org/CodeSystem/v3-ActCode", code: AMB}
      subject: {reference: "Patient?identifier=urn:kodomohub:{$lg}:resident-id|{宛名番号}"}
      period: {start: "{受診日}"}
  - name: height
    type: Observation
    key: "{宛名番号}|{健診名}|{受診日}"
    when: "{身長}"
    body:
      status: final
      code: {coding: [{system: "http://loinc.org", code: "8302-2"}]}
      encounter: {reference: "{@visit}"}
      valueQuantity: {value: "{=decimal(身長)}", unit: cm}
  - name: finding
    type: Observation
    each: [精神発達, 言語]
    key: "{宛名番号}|{健診名}|{受診日}|{$column}"
    body:
      status: final
      code: {text: "{$column}"}
      encounter: {reference: "{@visit}"}
      valueCodeableConcept: {coding: [{code: "{=code(judgement, $value)}"}]}
`

func mustSpec(t *testing.T, src string) *Spec {
	t.Helper()
	sp, err := Load("checkup.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

func record(line int, kv ...string) adapters.Record {
	r := adapters.Record{File: "c.csv", Line: line}
	for i := 0; i < len(kv); i += 2 {
		r.Fields = append(r.Fields, adapters.Field{Name: kv[i], Value: kv[i+1], Column: i/2 + 1})
	}
	return r
}

func TestApply(t *testing.T) {
	sp := mustSpec(t, checkupSpec)
	b, warnings, err := sp.Bind("c.csv", []string{"識別番号", "健診名", "受診日", "身長", "精神発達", "言語", "備考"})
	if err != nil || len(warnings) != 1 || warnings[0].Column != "備考" {
		t.Fatalf("Bind: %v %+v", err, warnings)
	}
	out, p := b.Apply(record(2, "識別番号", "000000000012345", "健診名", "1歳6か月児健診", "受診日", "2025-06-01",
		"身長", "８１.５", "精神発達", "要観察", "言語", "", "備考", "x"), Env{Tenant: "misato", LG: "113816"})
	if p != nil {
		t.Fatalf("problem: %v", p)
	}
	if len(out) != 3 || out[0].Type != "Encounter" || out[1].Name != "height" || out[2].Name != "finding" {
		t.Fatalf("outputs: %+v", out)
	}
	enc := string(out[0].Body)
	if !strings.HasPrefix(enc, `{"resourceType":"Encounter","id":"visit-`) ||
		!strings.Contains(enc, `"meta":{"source":"urn:kodomohub:source:checkup"}`) ||
		!strings.Contains(enc, `"reference":"Patient?identifier=urn:kodomohub:113816:resident-id|000000000012345"`) {
		t.Errorf("encounter: %s", enc)
	}
	if h := string(out[1].Body); !strings.Contains(h, `"value":81.5`) || !strings.Contains(h, `"reference":"Encounter/`+out[0].ID+`"`) {
		t.Errorf("height: %s", h)
	}
	if f := string(out[2].Body); !strings.Contains(f, `"code":"observe"`) || !strings.Contains(f, `"text":"精神発達"`) {
		t.Errorf("finding: %s", f)
	}
	again, _ := b.Apply(record(9, "識別番号", "000000000012345", "健診名", "1歳6か月児健診", "受診日", "2025-06-01"), Env{LG: "113816"})
	if len(again) != 1 || again[0].ID != out[0].ID {
		t.Errorf("the same key must give the same id, and no height without 身長: %+v", again)
	}
}

func TestApplyRefusesABadValue(t *testing.T) {
	b, _, err := mustSpec(t, checkupSpec).Bind("c.csv", []string{"宛名番号", "健診名", "受診日", "身長", "精神発達"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		rec          adapters.Record
		column, want string
	}{
		{record(3, "宛名番号", "1", "健診名", "x", "受診日", "d", "身長", "八十"), "身長", "not a decimal"},
		{record(4, "宛名番号", "1", "健診名", "x", "受診日", "d", "精神発達", "たぶん"), "精神発達", "not one of the values of judgement"},
		{record(5, "宛名番号", "", "健診名", "x", "受診日", "d"), "宛名番号", "required"},
	} {
		out, p := b.Apply(tc.rec, Env{LG: "113816"})
		if out != nil || p == nil || p.Line != tc.rec.Line || p.Column != tc.column || !strings.Contains(p.Reason, tc.want) {
			t.Errorf("line %d: %v %+v, want a problem at %s: %s", tc.rec.Line, out, p, tc.column, tc.want)
		}
	}
	if _, _, err := mustSpec(t, checkupSpec).Bind("c.csv", []string{"宛名番号", "受診日"}); err == nil || !strings.Contains(err.Error(), "健診名") {
		t.Errorf("a missing required column: %v", err)
	}
}

func TestLoadListsEveryProblemWithItsLine(t *testing.T) {
	bad := `source: x
format: tsv
columns:
  a:
resources:
  - name: p
    type: Patiant
    key: "{b}"
    body:
      gender: "{=sexx(a)}"
      code: "{=code(nomap, a)}"
      subject: {reference: "{@q}"}
      x: "{a"
  - name: p
    type: Patient
    key: "{a}"
    body: {}
`
	_, err := Load("bad.yaml", []byte(bad))
	se, ok := err.(*SpecError)
	if !ok {
		t.Fatalf("err %v, want a *SpecError", err)
	}
	for _, want := range []string{
		`bad.yaml:2: format "tsv"`, `bad.yaml:7: "Patiant" is not an R4 resource type`, `bad.yaml:8: "{b}": column "b"`,
		`bad.yaml:10: "{=sexx(a)}": unknown function sexx`, `bad.yaml:11: "{=code(nomap, a)}": code: "nomap" names no code map`,
		`bad.yaml:12: "{@q}": @q names no resource`, `bad.yaml:13: "{a": a { without its }`, `bad.yaml:14: resource name "p" is used twice`,
	} {
		if !strings.Contains(se.Error(), want) {
			t.Errorf("missing %q in:\n%s", want, se.Error())
		}
	}
}

func TestComponentsWhenAndCollect(t *testing.T) {
	sp := mustSpec(t, `source: registry
format: csv
columns:
  番号: {required: true}
  世帯: {required: true}
  病:
  事:
  消除日:
resources:
  - name: person
    type: Patient
    key: "{番号}"
    body:
      active: "{=not(消除日)}"
      gender: "{=if(消除日, 'unknown', 'female')}"
  - name: household
    type: Group
    key: "{世帯}"
    collect: member
    body:
      type: person
      actual: true
      member: [{entity: {reference: "{@person}"}}]
  - name: absences
    type: Observation
    key: "{番号}"
    body:
      status: final
      code: {text: 欠席}
      component:
        - when: "{病}"
          code: {text: 病}
          valueInteger: "{=int(病)}"
        - when: "{事}"
          code: {text: 事}
          valueInteger: "{=int(事)}"
`)
	b, _, err := sp.Bind("r.csv", []string{"番号", "世帯", "病", "事", "消除日"})
	if err != nil {
		t.Fatal(err)
	}
	a, p1 := b.Apply(record(2, "番号", "1", "世帯", "h", "病", "3", "事", ""), Env{})
	c, p2 := b.Apply(record(3, "番号", "2", "世帯", "h", "病", "", "事", "１", "消除日", "2025-01-01"), Env{})
	if p1 != nil || p2 != nil {
		t.Fatal(p1, p2)
	}
	if s := string(a[0].Body); !strings.Contains(s, `"active":true`) || !strings.Contains(s, `"gender":"female"`) {
		t.Errorf("person 1: %s", s)
	}
	if s := string(c[0].Body); !strings.Contains(s, `"active":false`) || !strings.Contains(s, `"gender":"unknown"`) {
		t.Errorf("person 2: %s", s)
	}
	if s := string(a[2].Body); !strings.Contains(s, `"component":[{"code":{"text":"病"},"valueInteger":3}]`) {
		t.Errorf("absences 1: %s", s)
	}
	if s := string(c[2].Body); !strings.Contains(s, `"component":[{"code":{"text":"事"},"valueInteger":1}]`) {
		t.Errorf("absences 2: %s", s)
	}
	if a[1].ID != c[1].ID || a[1].Collect != "member" {
		t.Fatalf("one household: %+v %+v", a[1], c[1])
	}
	g, err := Collected([]Output{a[1], c[1], a[1]})
	want := `"member":[{"entity":{"reference":"` + a[0].Type + `/` + a[0].ID + `"}},{"entity":{"reference":"Patient/` + c[0].ID + `"}}]`
	if err != nil || !strings.Contains(string(g), want) || !strings.HasPrefix(string(g), `{"resourceType":"Group"`) {
		t.Errorf("Collected: %s %v\nwant %s", g, err, want)
	}
}
