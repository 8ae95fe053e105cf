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

package storetest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"

	"github.com/kodomohub/kodomohub/fhir/fhirpath"
	"github.com/kodomohub/kodomohub/fhir/search"
	"github.com/kodomohub/kodomohub/store"
)

// Doc is one generated resource: its type, id and JSON (without meta).
type Doc struct {
	Type, ID string
	JSON     []byte
}

// Family and given names of the synthetic towns: kanji and their katakana readings.
var (
	families = [...][2]string{{"山田", "ヤマダ"}, {"佐藤", "サトウ"}, {"鈴木", "スズキ"}, {"高橋", "タカハシ"},
		{"田中", "タナカ"}, {"伊藤", "イトウ"}, {"渡辺", "ワタナベ"}, {"山本", "ヤマモト"}, {"中村", "ナカムラ"},
		{"小林", "コバヤシ"}, {"加藤", "カトウ"}, {"吉田", "ヨシダ"}, {"山口", "ヤマグチ"}, {"松本", "マツモト"},
		{"井上", "イノウエ"}, {"木村", "キムラ"}, {"林", "ハヤシ"}, {"斎藤", "サイトウ"}, {"清水", "シミズ"},
		{"山崎", "ヤマザキ"}, {"森", "モリ"}, {"池田", "イケダ"}, {"橋本", "ハシモト"}, {"阿部", "アベ"}}
	givens = [...][2]string{{"太郎", "タロウ"}, {"花子", "ハナコ"}, {"翔太", "ショウタ"}, {"陽菜", "ヒナ"},
		{"蓮", "レン"}, {"結衣", "ユイ"}, {"大翔", "ヒロト"}, {"さくら", "サクラ"}, {"悠真", "ユウマ"},
		{"美咲", "ミサキ"}, {"湊", "ミナト"}, {"葵", "アオイ"}, {"樹", "イツキ"}, {"凛", "リン"}}
	cities = [...]string{"美郷町", "川島町", "岡山市", "倉敷市"}
)

// Observation codes of the towns (LOINC), with their units.
var obsCodes = [...]struct{ code, display, unit, ucum string }{
	{"8302-2", "Body height", "cm", "cm"},
	{"29463-7", "Body weight", "kg", "kg"},
	{"39156-5", "Body mass index", "kg/m2", "kg/m2"},
	{"8867-4", "Heart rate", "/min", "/min"},
	{"8310-5", "Body temperature", "Cel", "Cel"},
	{"9843-4", "Head circumference", "cm", "cm"},
	{"85354-9", "Blood pressure panel", "", ""},
	{"72166-2", "Tobacco smoking status", "", ""},
}

// Identifier systems of the towns.
const (
	SystemResident = "urn:kodomohub:resident"
	SystemMyNumber = "urn:oid:1.2.392.200119.6.102"
	SystemLOINC    = "http://loinc.org"
	SystemUCUM     = "http://unitsofmeasure.org"
)

// Town returns the resources of a synthetic town of children (deterministic for seed):
// a few Organizations and Practitioners, then per child a Patient (kanji name and a kana
// reading written in katakana, hiragana or half-width katakana), two Encounters, six
// Observations (LOINC codes, quantities in UCUM, dates at several precisions, a blood
// pressure panel with components) and a QuestionnaireResponse: about 10 resources a child.
// References point to resources generated earlier, so that a strict tenant accepts them
// in order.
func Town(seed uint64, children int) []Doc {
	r := rand.New(rand.NewPCG(seed, seed^0x6b6f646f6d6f))
	var docs []Doc
	add := func(typ, id string, m map[string]any) {
		m["resourceType"] = typ
		b, err := json.Marshal(m)
		if err != nil {
			panic(err)
		}
		docs = append(docs, Doc{Type: typ, ID: id, JSON: b})
	}
	for i, c := range cities {
		add("Organization", fmt.Sprint("org", i), map[string]any{"name": c + "保健センター", "active": true,
			"identifier": []any{map[string]any{"system": "urn:kodomohub:org", "value": fmt.Sprint("ORG", i)}}})
	}
	for i := range 6 {
		f, g := families[i%len(families)], givens[(i*5)%len(givens)]
		add("Practitioner", fmt.Sprint("pr", i), map[string]any{"name": []any{map[string]any{"family": f[0], "given": []any{g[0]}}},
			"identifier": []any{map[string]any{"system": "urn:kodomohub:staff", "value": fmt.Sprint("S", 100+i)}}})
	}
	for n := range children {
		pid := fmt.Sprint("c", n)
		f, g := families[r.IntN(len(families))], givens[r.IntN(len(givens))]
		birth := fmt.Sprintf("%04d-%02d-%02d", 2012+r.IntN(12), 1+r.IntN(12), 1+r.IntN(28))
		kana := map[string]any{"use": "usual", "family": f[1], "given": []any{g[1]},
			"extension": []any{map[string]any{"url": "http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation", "valueCode": "SYL"}}}
		switch r.IntN(3) {
		case 1:
			kana["family"], kana["given"] = hiragana(f[1]), []any{hiragana(g[1])}
		case 2:
			kana["family"] = halfWidth(f[1])
		}
		p := map[string]any{
			"identifier": []any{
				map[string]any{"system": SystemResident, "value": fmt.Sprintf("R%07d", n)},
				map[string]any{"system": SystemMyNumber, "value": fmt.Sprintf("%012d", 100000000000+n*7919%899999999999),
					"type": map[string]any{"coding": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "NI"}}}},
			},
			"active": r.IntN(10) != 0,
			"name":   []any{map[string]any{"use": "official", "family": f[0], "given": []any{g[0]}, "text": f[0] + " " + g[0]}, kana},
			"gender": []string{"male", "female"}[r.IntN(2)],
			"address": []any{map[string]any{"city": cities[r.IntN(len(cities))], "state": "岡山県",
				"postalCode": fmt.Sprintf("7%02d-%04d", r.IntN(20), r.IntN(10000)), "line": []any{fmt.Sprintf("大字%d番地", 1+r.IntN(999))}}},
			"managingOrganization": map[string]any{"reference": fmt.Sprint("Organization/org", r.IntN(len(cities)))},
		}
		if r.IntN(8) != 0 {
			p["birthDate"] = birth
		}
		if r.IntN(2) == 0 {
			p["telecom"] = []any{map[string]any{"system": "phone", "value": fmt.Sprintf("086-%03d-%04d", r.IntN(1000), r.IntN(10000)), "use": "home"}}
		}
		add("Patient", pid, p)
		for e := range 2 {
			start := randDate(r, 2021, 3, true)
			enc := map[string]any{"status": []string{"finished", "in-progress", "planned"}[r.IntN(3)],
				"class":   map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": []string{"AMB", "HH", "VR"}[r.IntN(3)]},
				"subject": map[string]any{"reference": "Patient/" + pid},
				"type": []any{map[string]any{"coding": []any{map[string]any{"system": "urn:kodomohub:encounter-type",
					"code": []string{"kenshin-3y", "kenshin-18m", "visit"}[r.IntN(3)], "display": "乳幼児健診"}}}},
				"serviceProvider": map[string]any{"reference": fmt.Sprint("Organization/org", r.IntN(len(cities)))},
				"participant":     []any{map[string]any{"individual": map[string]any{"reference": fmt.Sprint("Practitioner/pr", r.IntN(6))}}}}
			if r.IntN(4) != 0 {
				enc["period"] = map[string]any{"start": start, "end": start[:10]}
			} else if r.IntN(2) == 0 {
				enc["period"] = map[string]any{"start": start}
			}
			if r.IntN(5) == 0 {
				enc["length"] = map[string]any{"value": 20 + r.IntN(60), "unit": "min", "system": SystemUCUM, "code": "min"}
			}
			add("Encounter", fmt.Sprintf("%s-e%d", pid, e), enc)
		}
		for o := range 6 {
			oc := obsCodes[r.IntN(len(obsCodes))]
			obs := map[string]any{"status": []string{"final", "final", "final", "amended", "preliminary"}[r.IntN(5)],
				"category": []any{map[string]any{"coding": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
					"code": []string{"vital-signs", "exam", "survey"}[r.IntN(3)]}}}},
				"code":      map[string]any{"coding": []any{map[string]any{"system": SystemLOINC, "code": oc.code, "display": oc.display}}, "text": oc.display},
				"subject":   map[string]any{"reference": "Patient/" + pid},
				"encounter": map[string]any{"reference": fmt.Sprintf("Encounter/%s-e%d", pid, r.IntN(2))},
			}
			if r.IntN(10) != 0 {
				obs["effectiveDateTime"] = randDate(r, 2021, 3, false)
			} else {
				obs["effectivePeriod"] = map[string]any{"start": randDate(r, 2021, 3, false)}
			}
			if r.IntN(3) == 0 {
				obs["performer"] = []any{map[string]any{"reference": fmt.Sprint("Practitioner/pr", r.IntN(6))}}
			}
			switch oc.code {
			case "85354-9":
				obs["component"] = []any{
					map[string]any{"code": map[string]any{"coding": []any{map[string]any{"system": SystemLOINC, "code": "8480-6"}}},
						"valueQuantity": quantity(r, 80, 130, "mm[Hg]")},
					map[string]any{"code": map[string]any{"coding": []any{map[string]any{"system": SystemLOINC, "code": "8462-4"}}},
						"valueQuantity": quantity(r, 40, 90, "mm[Hg]")},
				}
			case "72166-2":
				obs["valueCodeableConcept"] = map[string]any{"coding": []any{map[string]any{"system": "http://snomed.info/sct",
					"code": []string{"266919005", "8517006"}[r.IntN(2)]}}, "text": "非喫煙"}
			default:
				lo := map[string]int{"cm": 45, "kg": 2, "kg/m2": 12, "/min": 60, "Cel": 35}[oc.unit]
				q := quantity(r, lo, lo*2+5, oc.ucum)
				if r.IntN(6) == 0 {
					delete(q, "system") // unit only: found by "code only" quantity searches
					delete(q, "code")
				}
				obs["valueQuantity"] = q
			}
			add("Observation", fmt.Sprintf("%s-o%d", pid, o), obs)
		}
		qr := map[string]any{"status": "completed", "questionnaire": "http://kodomohub.jp/fhir/Questionnaire/kenshin-3y|1.0",
			"subject": map[string]any{"reference": "Patient/" + pid}, "authored": randDate(r, 2022, 2, false),
			"author": map[string]any{"reference": fmt.Sprint("Practitioner/pr", r.IntN(6))},
			"item":   []any{map[string]any{"linkId": "1", "text": "睡眠", "answer": []any{map[string]any{"valueInteger": r.IntN(12)}}}}}
		if r.IntN(3) == 0 {
			qr["encounter"] = map[string]any{"reference": fmt.Sprintf("Encounter/%s-e0", pid)}
		}
		add("QuestionnaireResponse", pid+"-q", qr)
	}
	return docs
}

func quantity(r *rand.Rand, lo, hi int, ucum string) map[string]any {
	v := json.Number(fmt.Sprintf("%d.%d", lo+r.IntN(hi-lo+1), r.IntN(10)))
	if r.IntN(4) == 0 {
		v = json.Number(fmt.Sprint(lo + r.IntN(hi-lo+1)))
	}
	return map[string]any{"value": v, "unit": ucum, "system": SystemUCUM, "code": ucum}
}

// randDate returns a date in [from, from+years) at a random precision: a day, a month, or
// a dateTime with a zone (always a dateTime when instant is set).
func randDate(r *rand.Rand, from, years int, instant bool) string {
	y, m, d := from+r.IntN(years), 1+r.IntN(12), 1+r.IntN(28)
	switch p := r.IntN(8); {
	case instant || p >= 3:
		return fmt.Sprintf("%04d-%02d-%02dT%02d:%02d:00+09:00", y, m, d, 8+r.IntN(10), r.IntN(60))
	case p == 0:
		return fmt.Sprintf("%04d-%02d", y, m)
	default:
		return fmt.Sprintf("%04d-%02d-%02d", y, m, d)
	}
}

func hiragana(s string) string {
	rs := []rune(s)
	for i, c := range rs {
		if c >= 0x30A1 && c <= 0x30F6 {
			rs[i] = c - 0x60
		}
	}
	return string(rs)
}

// halfWidth writes a few common katakana in half-width form (ﾔﾏﾀﾞ), the way old systems do.
func halfWidth(s string) string {
	m := map[rune]string{'ヤ': "ﾔ", 'マ': "ﾏ", 'ダ': "ﾀﾞ", 'サ': "ｻ", 'ト': "ﾄ", 'ウ': "ｳ", 'ス': "ｽ", 'ズ': "ｽﾞ", 'キ': "ｷ",
		'タ': "ﾀ", 'カ': "ｶ", 'ハ': "ﾊ", 'シ': "ｼ", 'ナ': "ﾅ", 'イ': "ｲ", 'ワ': "ﾜ", 'モ': "ﾓ", 'ム': "ﾑ", 'ラ': "ﾗ",
		'コ': "ｺ", 'バ': "ﾊﾞ", 'ヨ': "ﾖ", 'グ': "ｸﾞ", 'チ': "ﾁ", 'ツ': "ﾂ", 'ノ': "ﾉ", 'エ': "ｴ", 'ミ': "ﾐ", 'ザ': "ｻﾞ",
		'リ': "ﾘ", 'ケ': "ｹ", 'ベ': "ﾍﾞ", 'ア': "ｱ"}
	var out []rune
	for _, c := range s {
		if h, ok := m[c]; ok {
			out = append(out, []rune(h)...)
		} else {
			out = append(out, c)
		}
	}
	return string(out)
}

// IndexedWrite returns a write of d with its index entries extracted by reg, as the server
// computes them. Entries of parameters whose expression fails on d are left out.
func IndexedWrite(reg *search.Registry, d Doc, action store.Action) store.Write {
	w := store.Write{Type: d.Type, ID: d.ID, Action: action, Resource: d.JSON}
	if v, err := fhirpath.Decode(d.JSON); err == nil {
		w.Index, _ = reg.Extract(v)
	}
	return w
}
