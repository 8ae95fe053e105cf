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

package bench

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"
)

// DefaultBundleSize is the number of entries in one family's transaction bundle.
const DefaultBundleSize = 100

// Workload describes the synthetic data set: family b (0, 1, 2, …) is one transaction bundle
// of BundleSize PUT entries — a child Patient, then Observations (height, weight),
// Encounters (health check-ups) and QuestionnaireResponses (EPDS screening) that reference
// the Patient by urn:uuid. Resource n is entry n%BundleSize of family n/BundleSize and has id
// "bench-<Seed>-<n>". The same Seed and BundleSize always give the same bytes.
type Workload struct {
	Seed       uint64
	BundleSize int
}

// Ref returns the type and id of resource n.
func (w Workload) Ref(n int64) (typ, id string) {
	return kindAt(int(n % int64(w.BundleSize))), "bench-" + strconv.FormatUint(w.Seed, 10) + "-" + strconv.FormatInt(n, 10)
}

// kindAt is the resource type at position j of a family bundle.
func kindAt(j int) string {
	switch {
	case j == 0:
		return "Patient"
	case j%10 == 0:
		return "QuestionnaireResponse"
	case j%10 == 5:
		return "Encounter"
	}
	return "Observation"
}

// Bundle returns family b's transaction bundle as JSON. Its randomness comes from a PCG
// source seeded with (Seed, b), so any family can be built on its own, in any order.
func (w Workload) Bundle(b int64) []byte {
	return Family(rand.New(rand.NewPCG(w.Seed, uint64(b))), w, b)
}

type entry struct {
	FullURL  string         `json:"fullUrl"`
	Resource map[string]any `json:"resource"`
	Request  struct {
		Method string `json:"method"`
		URL    string `json:"url"`
	} `json:"request"`
}

// Family builds family b's bundle from r. Workload.Bundle seeds r deterministically; tests
// may pass any source.
func Family(r *rand.Rand, w Workload, b int64) []byte {
	out, err := json.Marshal(map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": familyEntries(r, w, b)})
	if err != nil {
		panic(err) // only maps, slices, strings and numbers: cannot fail
	}
	return out
}

// familyEntries builds the entries of family b's bundle from r.
func familyEntries(r *rand.Rand, w Workload, b int64) []entry {
	size := w.BundleSize
	entries := make([]entry, size)
	base := b * int64(size)
	for j := range entries {
		typ, id := w.Ref(base + int64(j))
		entries[j].FullURL = "urn:uuid:" + uuid(r)
		entries[j].Request.Method = "PUT"
		entries[j].Request.URL = typ + "/" + id
	}
	patientRef := map[string]any{"reference": entries[0].FullURL}
	town := towns[r.IntN(len(towns))]
	birth := time.Date(2015+r.IntN(10), time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC)
	// A child's height and weight grow with age; keep them plausible.
	height, weight := 48+r.Float64()*4, 2.6+r.Float64()*1.0
	at := birth
	for j := range entries {
		_, id := w.Ref(base + int64(j))
		var res map[string]any
		switch kindAt(j) {
		case "Patient":
			res = patient(r, id, town, birth, base)
		case "Observation":
			at = at.Add(time.Duration(1+r.IntN(20)) * 24 * time.Hour)
			if j%2 == 1 {
				height += r.Float64() * 1.5
				res = observation(id, patientRef, at, "8302-2", "Body height", "身長", round1(height), "cm")
			} else {
				weight += r.Float64() * 0.4
				res = observation(id, patientRef, at, "29463-7", "Body weight", "体重", round1(weight), "kg")
			}
		case "Encounter":
			res = encounter(r, id, patientRef, at)
		case "QuestionnaireResponse":
			res = epds(r, id, patientRef, at)
		}
		entries[j].Resource = res
	}
	return entries
}

func round1(f float64) float64 { return float64(int(f*10+0.5)) / 10 }

func uuid(r *rand.Rand) string {
	hi, lo := r.Uint64(), r.Uint64()
	hi = hi&^0xf000 | 0x4000     // version 4
	lo = lo&^(0xc<<60) | 0x8<<60 // variant 10
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", hi>>32, hi>>16&0xffff, hi&0xffff, lo>>48, lo&0xffffffffffff)
}

type townInfo struct {
	code, city, postal string // code: 総務省 local government code with check digit
	lines              []string
}

var towns = []townInfo{
	{"113816", "美里町", "367-0112", []string{"大字木部", "大字甘粕", "大字駒衣", "大字広木"}},
	{"113468", "川島町", "350-0192", []string{"大字平沼", "大字中山", "大字下八ツ林", "大字出丸本"}},
}

var (
	families = []struct{ kanji, kana string }{
		{"佐藤", "サトウ"}, {"鈴木", "スズキ"}, {"高橋", "タカハシ"}, {"田中", "タナカ"}, {"渡辺", "ワタナベ"},
		{"伊藤", "イトウ"}, {"山本", "ヤマモト"}, {"中村", "ナカムラ"}, {"小林", "コバヤシ"}, {"加藤", "カトウ"},
		{"吉田", "ヨシダ"}, {"山田", "ヤマダ"}, {"新井", "アライ"}, {"関根", "セキネ"}, {"金子", "カネコ"},
	}
	givens = []struct{ kanji, kana, gender string }{
		{"陽翔", "ハルト", "male"}, {"蓮", "レン", "male"}, {"湊", "ミナト", "male"}, {"蒼", "アオイ", "male"},
		{"大翔", "ヒロト", "male"}, {"悠真", "ユウマ", "male"}, {"陽葵", "ヒマリ", "female"}, {"凛", "リン", "female"},
		{"詩", "ウタ", "female"}, {"結菜", "ユイナ", "female"}, {"芽依", "メイ", "female"}, {"紬", "ツムギ", "female"},
	}
)

func patient(r *rand.Rand, id string, town townInfo, birth time.Time, n int64) map[string]any {
	fam, giv := families[r.IntN(len(families))], givens[r.IntN(len(givens))]
	return map[string]any{
		"resourceType": "Patient",
		"id":           id,
		"identifier": []any{map[string]any{
			"system": "urn:oid:1.2.392.100495.20.3.51.1" + town.code,
			"value":  fmt.Sprintf("%08d", 10000000+n%90000000),
		}},
		"name":      jpNames(fam.kanji, fam.kana, giv.kanji, giv.kana),
		"gender":    giv.gender,
		"birthDate": birth.Format(time.DateOnly),
		"address": []any{map[string]any{
			"use": "home", "type": "physical", "country": "JP", "state": "埼玉県", "city": town.city, "postalCode": town.postal,
			"line": []any{fmt.Sprintf("%s%d番地%d", town.lines[r.IntN(len(town.lines))], 1+r.IntN(2500), 1+r.IntN(20))},
			"text": fmt.Sprintf("埼玉県%s", town.city),
		}},
	}
}

func observation(id string, subject map[string]any, at time.Time, loinc, display, text string, value float64, unit string) map[string]any {
	return map[string]any{
		"resourceType": "Observation",
		"id":           id,
		"status":       "final",
		"category": []any{map[string]any{"coding": []any{map[string]any{
			"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs", "display": "Vital Signs"}}}},
		"code": map[string]any{
			"coding": []any{map[string]any{"system": "http://loinc.org", "code": loinc, "display": display}},
			"text":   text,
		},
		"subject":           subject,
		"effectiveDateTime": at.Format("2006-01-02T15:04:05+09:00"),
		"valueQuantity":     map[string]any{"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit},
	}
}

var checkups = []string{"4か月児健康診査", "10か月児健康診査", "1歳6か月児健康診査", "3歳児健康診査", "新生児訪問"}

func encounter(r *rand.Rand, id string, subject map[string]any, at time.Time) map[string]any {
	start := at.Add(time.Duration(9+r.IntN(6)) * time.Hour)
	return map[string]any{
		"resourceType": "Encounter",
		"id":           id,
		"status":       "finished",
		"class":        map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB", "display": "ambulatory"},
		"type":         []any{map[string]any{"text": checkups[r.IntN(len(checkups))]}},
		"subject":      subject,
		"period": map[string]any{
			"start": start.Format("2006-01-02T15:04:05+09:00"),
			"end":   start.Add(time.Duration(15+r.IntN(45)) * time.Minute).Format("2006-01-02T15:04:05+09:00"),
		},
	}
}

// epdsItems are the ten items of the Edinburgh Postnatal Depression Scale (Japanese version, abridged).
var epdsItems = []string{
	"笑うことができたし、物事のおかしい面もわかった", "物事を楽しみにして待った", "物事がうまくいかない時、自分を不必要に責めた",
	"はっきりした理由もないのに不安になったり、心配した", "はっきりした理由もないのに恐怖に襲われた",
	"することがたくさんあって大変だった", "不幸せなので、眠りにくかった", "悲しくなったり、惨めになった",
	"不幸せなので、泣けてきた", "自分自身を傷つけるという考えが浮かんできた",
}

func epds(r *rand.Rand, id string, subject map[string]any, at time.Time) map[string]any {
	items := make([]any, len(epdsItems))
	for i, text := range epdsItems {
		items[i] = map[string]any{
			"linkId": "epds-" + strconv.Itoa(i+1),
			"text":   text,
			"answer": []any{map[string]any{"valueInteger": r.IntN(4)}},
		}
	}
	return map[string]any{
		"resourceType":  "QuestionnaireResponse",
		"id":            id,
		"questionnaire": "http://kodomohub.example.jp/fhir/Questionnaire/epds",
		"status":        "completed",
		"subject":       subject,
		"authored":      at.Format("2006-01-02T15:04:05+09:00"),
		"item":          items,
	}
}
