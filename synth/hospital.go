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
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/text/encoding/japanese"
)

// problems are the diagnoses of the children's hospital visits (ICD-10).
var problems = []struct{ icd, display string }{
	{"J459", "気管支喘息"}, {"L209", "アトピー性皮膚炎"}, {"J209", "急性気管支炎"}, {"R560", "熱性けいれん"},
	{"T781", "食物アレルギー"}, {"H669", "中耳炎"}, {"A099", "感染性胃腸炎"},
}

// ssmix2 writes one hospital's SS-MIX2 standardised storage.
type ssmix2 struct {
	g    *generator
	r    *rand.Rand
	info *fileInfo
	root string // slash-separated, relative to the output directory
	seq  int
}

// writeSSMIX2 writes the SS-MIX2 tree of the town's hospital: for births of the last year,
// the mother's patient record and admission and the newborn's patient record (named after
// the mother, 山田花子ベビー, as hospitals register newborns); for a few children, an
// outpatient visit with its diagnosis. One HL7 v2.5 message per file, ISO-2022-JP, segments
// ending in CR; the tree is root/facility/pid[0:3]/pid[3:6]/pid/date/datatype/file.
func (g *generator) writeSSMIX2() error {
	s := &ssmix2{g: g, r: g.stream(40), root: path.Join("ssmix2", hospital.code)}
	g.hospitalNext = 200_000 + g.stream(41).IntN(100_000)
	s.info = g.addFile(fileInfo{FileSummary: FileSummary{Source: "ssmix2", Path: s.root, Format: "hl7v2", Encoding: ISO2022}})
	r := s.r
	for _, c := range g.persons {
		if !g.recentBirth(c, 365) || !chance(r, 0.6) {
			continue
		}
		m := g.persons[c.mother]
		if m.baby != c.idx || !m.residentAt(c.birth) {
			continue
		}
		if err := s.patient(m, c.birth.AddDate(0, -6, 0), "OBG", ""); err != nil {
			return err
		}
		if err := s.admission(m, addDays(c.birth, -1)); err != nil {
			return err
		}
		if err := s.patient(c, c.birth, "PED", m.given+"ベビー"); err != nil {
			return err
		}
	}
	broke := false
	for _, p := range g.persons {
		if !g.isChild(p) || age(p.birth, g.asOf) > 15 || !p.residentAt(g.asOf) || p.has(fInvisible) || !chance(r, 0.02) {
			continue
		}
		visit := addDays(g.asOf, -1-r.IntN(700))
		if !p.residentAt(visit) || visit.Before(addDays(p.birth, 30)) {
			continue
		}
		if p.hospitalID == "" {
			if err := s.patient(p, visit, "PED", ""); err != nil {
				return err
			}
		}
		if err := s.problem(p, visit, !broke); err != nil {
			return err
		}
		broke = true
	}
	return nil
}

func (s *ssmix2) id(p *person) string { return s.g.hospitalID(p, s.r) }

// hospitalID returns p's patient number at the hospital, giving one at the first visit.
func (g *generator) hospitalID(p *person, r *rand.Rand) string {
	if p.hospitalID == "" {
		g.hospitalNext += 1 + r.IntN(40)
		p.hospitalID = fmt.Sprintf("%010d", g.hospitalNext)
	}
	return p.hospitalID
}

// pid is the PID segment of p as the hospital registered them; given overrides the given
// name (a newborn's). The address is the one the hospital was told at the first visit: the
// old one for a family that moved within the town since.
func (s *ssmix2) pid(p *person, at time.Time, given string) (seg, note string) {
	name, note := s.g.nameIn(p, s.r, 0.02)
	fam, giv, _ := strings.Cut(name, "　")
	kfam, kgiv := p.familyKana, p.givenKana
	if given != "" {
		giv, note = given, "newborn: "+fam+"　"+given
		kgiv = "" // the kana of a 〜ベビー name is left empty
	}
	h := s.g.households[p.hh]
	addr := h.addr
	if !h.moved.IsZero() && at.Before(h.moved) && h.prevAddr.pref != "" {
		addr = h.prevAddr
		note = strings.TrimPrefix(note+"; old address: "+addr.full(), "; ")
	}
	sex := map[uint8]string{1: "M", 2: "F"}[p.sex]
	seg = fmt.Sprintf("PID|0001||%s^^^^PI||%s^%s^^^^^L^I~%s^%s^^^^^L^P||%s|%s|||%s^^%s^%s^%s^JPN^H",
		s.id(p), fam, giv, kfam, kgiv, p.birth.Format("20060102"), sex, addr.line, addr.city, addr.pref, addr.postal)
	return seg, note
}

func (s *ssmix2) msh(ts time.Time, typ string) string {
	s.seq++
	return fmt.Sprintf("MSH|^~\\&|HIS|%s|GW|RCV|%s||%s|%s%06d|P|2.5||||||~ISO IR87||ISO 2022-1994|SS-MIX2_1.20^SS-MIX2^1.2.392.200250.2.1.100.1.2.120^ISO",
		hospital.code, ts.Format("20060102150405"), typ, ts.Format("20060102"), s.seq)
}

func (s *ssmix2) at(d time.Time) time.Time {
	return d.Add(time.Duration(8*3600+s.r.IntN(9*3600)) * time.Second).Add(time.Duration(s.r.IntN(1000)) * time.Millisecond)
}

// patient writes an ADT-00 (patient information) message.
func (s *ssmix2) patient(p *person, d time.Time, dept, given string) error {
	ts := s.at(d)
	pid, note := s.pid(p, d, given)
	segs := []string{s.msh(ts, "ADT^A08^ADT_A01"), "EVN||" + ts.Format("20060102150405"), pid, "PV1|0001|O|" + dept + "^^^^^C"}
	return s.write(p, "-", "ADT-00", "999999999999999", ts, "-", segs, note, "")
}

// admission writes an ADT-22 (admission) message.
func (s *ssmix2) admission(p *person, d time.Time) error {
	ts := s.at(d)
	pid, note := s.pid(p, d, "")
	segs := []string{s.msh(ts, "ADT^A01^ADT_A01"), "EVN||" + ts.Format("20060102150405"), pid,
		"PV1|0001|I|OBG^^^^^C" + strings.Repeat("|", 41) + ts.Format("20060102150405")}
	return s.write(p, ts.Format("20060102"), "ADT-22", "999999999999999", ts, "OBG", segs, note, "")
}

// problem writes a PPR-01 (problem) message; badName gives the file a name that does not
// fit SS-MIX2's grammar (a deliberately broken file).
func (s *ssmix2) problem(p *person, d time.Time, badName bool) error {
	ts := s.at(d)
	pr := problems[s.r.IntN(len(problems))]
	pid, note := s.pid(p, d, "")
	order := fmt.Sprintf("%015d", 10_000+s.seq)
	date := d.Format("20060102")
	segs := []string{s.msh(ts, "PPR^PC1^PPR_PC1"), pid, "PV1|0001|O|PED^^^^^C",
		fmt.Sprintf("PRB|AD|%s|%s^%s^I10|%s|||%s", date, pr.icd, pr.display, order, date)}
	if err := s.write(p, date, "PPR-01", order, ts, "PED", segs, note, ""); err != nil {
		return err
	}
	if badName {
		// The same message again under a name with a short timestamp.
		return s.write(p, date, "PPR-01", order, ts, "PED", segs, note, ts.Format("2006010215"))
	}
	return nil
}

// write encodes a message in ISO-2022-JP (segment by segment, each back in ASCII at its end)
// and stores it under its SS-MIX2 path. badStamp, when set, replaces the timestamp of the
// file name: the file is then a broken one.
func (s *ssmix2) write(p *person, date, typ, order string, ts time.Time, dept string, segs []string, note, badStamp string) error {
	var b bytes.Buffer
	enc := japanese.ISO2022JP.NewEncoder()
	for _, seg := range segs {
		e, err := enc.String(seg)
		if err != nil {
			return fmt.Errorf("synth: ssmix2: %q: %w", seg, err)
		}
		b.WriteString(e)
		b.WriteByte('\r')
	}
	id := s.id(p)
	stamp := ts.Format("20060102150405.000")
	stamp = strings.Replace(stamp, ".", "", 1)
	if badStamp != "" {
		stamp = badStamp
	}
	name := strings.Join([]string{id, date, typ, order, stamp, dept, "1"}, "_")
	rel := path.Join(s.root, id[:3], id[3:6], id, date, typ, name)
	full := filepath.Join(s.g.outDir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(full, b.Bytes(), 0o644); err != nil {
		return err
	}
	s.info.Rows++
	if badStamp != "" {
		s.info.Broken++
		s.g.broken = append(s.g.broken, brokenRow{File: rel, Line: 0, Value: name, Reason: "not an SS-MIX2 file name: timestamp too short", Person: p.resNo})
		return nil
	}
	s.g.refs = append(s.g.refs, recordRef{person: p.idx, file: s.info.index, line: 1, key: rel, note: note})
	return nil
}

// JP-CLINS bundles.
const (
	clinsProfile   = "http://jpfhir.jp/fhir/clins/StructureDefinition/JP_Bundle_CLINS"
	clinsTypeTag   = "http://jpfhir.jp/fhir/clins/BundleResourceType"
	clinsBundleID  = "http://jpfhir.jp/fhir/clins/bundle-identifier"
	insuredSystem  = "http://jpfhir.jp/fhir/clins/Idsystem/JP_Insurance_member"
	nameRepr       = "http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation"
	hospitalIDBase = "urn:oid:1.2.392.100495.20.3.51.1"
)

var allergens = []string{"鶏卵", "牛乳", "小麦", "落花生", "そば", "えび"}

// writeJPCLINS writes the hospital's JP-CLINS uploads: for a few children, a collection
// Bundle with the Patient and either Conditions or AllergyIntolerances (UTF-8 JSON, one
// bundle per file). One bundle is sent again with one more entry: its Bundle.identifier is
// the same, so it replaces the first. One file is cut short (a broken file).
func (g *generator) writeJPCLINS() error {
	r := g.stream(42)
	info := g.addFile(fileInfo{FileSummary: FileSummary{Source: "jp-clins", Path: "jp-clins", Format: "fhir-json", Encoding: UTF8}})
	dir := filepath.Join(g.outDir, "jp-clins")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	local := 1000 + r.IntN(9000)
	resent, broke := false, false
	for _, p := range g.persons {
		if !g.isChild(p) || age(p.birth, g.asOf) > 15 || !p.residentAt(g.asOf) || p.has(fInvisible) || !chance(r, 0.015) {
			continue
		}
		local += 1 + r.IntN(20)
		typ := "Condition"
		if chance(r, 0.5) {
			typ = "AllergyIntolerance"
		}
		h := g.households[p.hh]
		insured := fmt.Sprintf("00%s:%s:%s:%02d", g.opts.LGCode, fullWidthDigits(fmt.Sprint(1+int(h.idx)%90)),
			fullWidthDigits(fmt.Sprintf("%05d", 10_000+int(h.idx))), 1+slicesIndex(h.members, p.idx))
		bid := fmt.Sprintf("%s^%s^K%07d", hospital.code, insured, local)
		when := addDays(g.asOf, -1-r.IntN(300))
		n := 1 + r.IntN(2)
		versions := 1
		if !resent {
			versions = 2
		}
		for v := 1; v <= versions; v++ {
			b, note := g.clinsBundle(r, p, typ, bid, insured, when.AddDate(0, 0, 7*(v-1)), n+v-1)
			data, err := marshalJSON(b)
			if err != nil {
				return err
			}
			name := fmt.Sprintf("%s_K%07d_%s", hospital.code, local, typ)
			if v > 1 {
				name += fmt.Sprintf("_v%d", v)
			}
			rel := "jp-clins/" + name + ".json"
			if err := os.WriteFile(filepath.Join(g.outDir, filepath.FromSlash(rel)), data, 0o644); err != nil {
				return err
			}
			info.Rows++
			if v > 1 {
				note = strings.TrimPrefix(note+"; resent: same Bundle.identifier, replaces the earlier upload", "; ")
			}
			g.refs = append(g.refs, recordRef{person: p.idx, file: info.index, line: 1, key: rel + "#" + bid, note: note})
			if !broke {
				rel := "jp-clins/" + name + "_cut.json"
				if err := os.WriteFile(filepath.Join(g.outDir, filepath.FromSlash(rel)), data[:len(data)/2], 0o644); err != nil {
					return err
				}
				info.Rows++
				info.Broken++
				g.broken = append(g.broken, brokenRow{File: rel, Line: 1, Reason: "truncated JSON", Person: p.resNo})
				broke = true
			}
		}
		resent = true
	}
	return nil
}

func slicesIndex(s []int32, v int32) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

type obj = map[string]any

// uuid draws a version-4 UUID whose last group starts with a letter (so that no run of 12
// digits appears in the output, which the tests read as a My Number).
func uuid(r *rand.Rand) string {
	return fmt.Sprintf("urn:uuid:%08x-%04x-4%03x-%04x-%c%011x", r.Uint32(), r.IntN(1<<16), r.IntN(1<<12),
		0x8000|r.IntN(1<<14), 'a'+r.IntN(6), r.Uint64()&(1<<44-1))
}

// clinsBundle builds one upload; note says how it names p differently from the register.
func (g *generator) clinsBundle(r *rand.Rand, p *person, typ, bid, insured string, when time.Time, n int) (obj, string) {
	ts := when.Add(10*time.Hour).Format("2006-01-02T15:04:05") + "+09:00"
	h := g.households[p.hh]
	pu := uuid(r)
	name, _ := g.nameIn(p, r, 0)
	fam, giv, _ := strings.Cut(name, "　")
	if p.official != "" && chance(r, 0.5) {
		fam = p.official // this hospital has the registered form
	}
	note := ""
	if fam != p.regFamily() {
		note = "variant: " + fam + "　" + giv
	}
	patient := obj{
		"resourceType": "Patient",
		"meta":         obj{"profile": []string{"http://jpfhir.jp/fhir/core/StructureDefinition/JP_Patient"}},
		"identifier": []obj{
			{"system": hospitalIDBase + hospital.code, "value": g.hospitalID(p, r)},
			{"system": insuredSystem, "value": insured},
		},
		"name": []obj{
			{"extension": []obj{{"url": nameRepr, "valueCode": "IDE"}}, "use": "official", "text": fam + " " + giv, "family": fam, "given": []string{giv}},
			{"extension": []obj{{"url": nameRepr, "valueCode": "SYL"}}, "use": "official", "text": p.familyKana + " " + p.givenKana, "family": p.familyKana, "given": []string{p.givenKana}},
		},
		"gender":    map[uint8]string{1: "male", 2: "female"}[p.sex],
		"birthDate": p.birth.Format("2006-01-02"),
		"address": []obj{{"text": h.addr.pref + h.addr.city + h.addr.line, "postalCode": h.addr.postal, "state": h.addr.pref,
			"city": h.addr.city, "line": []string{h.addr.line}}},
	}
	entries := []obj{{"fullUrl": pu, "resource": patient}}
	for i := 0; i < n; i++ {
		recorded := addDays(when, -r.IntN(200)).Format("2006-01-02")
		var res obj
		if typ == "Condition" {
			pr := problems[r.IntN(len(problems))]
			res = obj{
				"resourceType":       "Condition",
				"clinicalStatus":     obj{"coding": []obj{{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}}},
				"verificationStatus": obj{"coding": []obj{{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed"}}},
				"category":           []obj{{"coding": []obj{{"system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": "problem-list-item"}}}},
				"code":               obj{"coding": []obj{{"system": "http://hl7.org/fhir/sid/icd-10", "code": pr.icd[:3] + "." + pr.icd[3:], "display": pr.display}}, "text": pr.display},
				"subject":            obj{"reference": pu},
				"onsetDateTime":      recorded,
				"recordedDate":       recorded,
			}
		} else {
			res = obj{
				"resourceType":       "AllergyIntolerance",
				"clinicalStatus":     obj{"coding": []obj{{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active"}}},
				"verificationStatus": obj{"coding": []obj{{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", "code": "confirmed"}}},
				"type":               "allergy",
				"category":           []string{"food"},
				"code":               obj{"text": allergens[r.IntN(len(allergens))]},
				"patient":            obj{"reference": pu},
				"recordedDate":       recorded,
			}
		}
		entries = append(entries, obj{"fullUrl": uuid(r), "resource": res})
	}
	return obj{
		"resourceType": "Bundle",
		"meta":         obj{"lastUpdated": ts, "profile": []string{clinsProfile}, "tag": []obj{{"system": clinsTypeTag, "code": typ}}},
		"identifier":   obj{"system": clinsBundleID, "value": bid},
		"type":         "collection",
		"timestamp":    ts,
		"entry":        entries,
	}, note
}

// marshalJSON encodes v without HTML escaping, keys sorted (encoding/json sorts map keys),
// indented as a person reads it.
func marshalJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	e.SetIndent("", "  ")
	err := e.Encode(v)
	return b.Bytes(), err
}
