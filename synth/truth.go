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
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// fileInfo is a file being written and what the ground truth says of it.
type fileInfo struct {
	FileSummary
	index int32
}

func (g *generator) addFile(f fileInfo) *fileInfo {
	f.index = int32(len(g.files))
	p := &f
	g.files = append(g.files, p)
	return p
}

// recordRef says that a record of a file is about a person.
type recordRef struct {
	person int32
	file   int32
	line   int32
	key    string // the record's key where a line says little (a bundle's identifier)
	note   string // how the record spells the person differently from the register
}

// brokenRow is a deliberately broken row: an import must report it with its line and column.
type brokenRow struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Column string `json:"column,omitempty"`
	Value  string `json:"value,omitempty"`
	Reason string `json:"reason"`
	Person string `json:"residentNumber,omitempty"` // whose data the row carries, if anyone's
}

func (g *generator) addBroken(f *fileInfo, line int, column, value, reason string, person int32) {
	b := brokenRow{File: f.Path, Line: line, Column: column, Value: value, Reason: reason}
	if person >= 0 {
		b.Person = g.persons[person].resNo
	}
	g.broken = append(g.broken, b)
}

// evidence is a record that shows a rule's signal for a subject.
type evidence struct {
	rule    string
	subject int32
	file    int32
	line    int32
	key     string
}

func (g *generator) evid(rule string, subject int32, f *fileInfo, line int) {
	g.evidence = append(g.evidence, evidence{rule: rule, subject: subject, file: f.index, line: int32(line)})
}

// rules is the order of the rules in the ground truth: those of DOMAIN §4 that the built-in
// sources can express.
var rules = []string{"PPD-1", "PPD-2", "PPD-3", "PRE-1", "DEV-1", "DEV-2", "DEV-4", "DEV-5", "DEV-6",
	"ABU-1", "ABU-2", "ABU-4", "ABU-5", "POV-1", "POV-2", "POV-3", "POV-4", "POV-C", "NA-1", "NA-2", "NA-3",
	"YC-1", "YC-2", "INV-1"}

// Ground-truth JSON.
type (
	truthRef struct {
		File string `json:"file"`
		Line int    `json:"line"`
		Key  string `json:"key,omitempty"`
		Note string `json:"note,omitempty"`
	}
	truthPerson struct {
		ResidentNumber string     `json:"residentNumber"`
		Household      string     `json:"household"`
		Name           string     `json:"name"`                 // as registered (旧字 kept)
		CommonName     string     `json:"commonName,omitempty"` // the common form other systems write, when it differs
		Kana           string     `json:"kana"`                 // full-width katakana
		BirthDate      string     `json:"birthDate"`            // YYYY-MM-DD
		Sex            string     `json:"sex"`                  // male, female
		Relationship   string     `json:"relationship"`         // 続柄 to the head of household
		Status         string     `json:"status"`               // resident, moved-out
		Since          string     `json:"since"`                // 住民となった日 of the current stay
		MovedOut       string     `json:"movedOut,omitempty"`
		Mother         string     `json:"mother,omitempty"` // resident numbers of parents in the town
		Father         string     `json:"father,omitempty"`
		HospitalID     string     `json:"hospitalPatientId,omitempty"`
		PMHKey         string     `json:"pmhKey,omitempty"`
		Records        []truthRef `json:"records"`
	}
	truthHousehold struct {
		Number     string   `json:"number"`
		Head       string   `json:"head"`
		Members    []string `json:"members"`
		PostalCode string   `json:"postalCode"`
		Address    string   `json:"address"`
		Building   string   `json:"building,omitempty"`
		Status     string   `json:"status"`
	}
	truthCase struct {
		Rule    string     `json:"rule"`
		Subject string     `json:"subject"`         // resident number
		Child   string     `json:"child,omitempty"` // for rules about a mother, her child
		Planted bool       `json:"planted"`
		Note    string     `json:"note,omitempty"`
		Records []truthRef `json:"records"`
	}
)

// writeTruth writes the ground truth, one person, household or case per line.
func (g *generator) writeTruth() error {
	f, err := os.Create(filepath.Join(g.outDir, TruthFile))
	if err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	w := bufio.NewWriterSize(f, 256<<10)
	var werr error
	put := func(s string) {
		if werr == nil {
			_, werr = w.WriteString(s)
		}
	}
	value := func(v any) {
		b, err := json.Marshal(v)
		if err != nil && werr == nil {
			werr = err
		}
		put(string(b))
	}
	list := func(name string, n int, item func(i int)) {
		put(",\n")
		value(name)
		put(": [")
		for i := range n {
			if i > 0 {
				put(",")
			}
			put("\n")
			item(i)
		}
		put("\n]")
	}
	put("{\n")
	head := []struct {
		k string
		v any
	}{
		{"generator", "kodomohub synth"}, {"tenant", g.opts.Tenant}, {"lgCode", g.opts.LGCode},
		{"seed", g.opts.Seed}, {"asOf", g.asOf.Format("2006-01-02")}, {"residents", g.opts.Residents},
		{"rates", g.opts.Rates}, {"plantedPerRule", g.opts.Planted}, {"notes", truthNotes},
	}
	for i, kv := range head {
		if i > 0 {
			put(",\n")
		}
		value(kv.k)
		put(": ")
		value(kv.v)
	}
	files := make([]FileSummary, len(g.files))
	for i, f := range g.files {
		files[i] = f.FileSummary
	}
	put(",\n\"files\": ")
	value(files)

	list("households", len(g.households), func(i int) {
		h := g.households[i]
		th := truthHousehold{Number: h.no, PostalCode: h.addr.postal, Address: h.addr.full(), Building: h.addr.building, Status: "resident"}
		if !h.out.IsZero() {
			th.Status = "moved-out"
		}
		for _, m := range h.members {
			th.Members = append(th.Members, g.persons[m].resNo)
		}
		th.Head = g.persons[max(h.head, h.members[0])].resNo
		value(th)
	})

	slices.SortStableFunc(g.refs, func(a, b recordRef) int {
		return cmp.Or(cmp.Compare(a.person, b.person), cmp.Compare(a.file, b.file), cmp.Compare(a.line, b.line), cmp.Compare(a.key, b.key))
	})
	next := 0
	list("persons", len(g.persons), func(i int) {
		p := g.persons[i]
		tp := truthPerson{
			ResidentNumber: p.resNo, Household: g.households[p.hh].no, Name: p.regFamily() + "　" + p.given,
			Kana: p.kana(), BirthDate: p.birth.Format("2006-01-02"), Sex: map[uint8]string{1: "male", 2: "female"}[p.sex],
			Relationship: p.rel, Status: "resident", Since: p.since.Format("2006-01-02"),
			HospitalID: p.hospitalID, PMHKey: p.pmhKey, Records: []truthRef{},
		}
		if p.official != "" {
			tp.CommonName = p.name()
		}
		if !p.out.IsZero() {
			tp.Status, tp.MovedOut = "moved-out", p.out.Format("2006-01-02")
		}
		if p.mother >= 0 {
			tp.Mother = g.persons[p.mother].resNo
		}
		if p.father >= 0 {
			tp.Father = g.persons[p.father].resNo
		}
		for ; next < len(g.refs) && g.refs[next].person == p.idx; next++ {
			rf := g.refs[next]
			tp.Records = append(tp.Records, truthRef{File: g.files[rf.file].Path, Line: int(rf.line), Key: rf.key, Note: rf.note})
		}
		value(tp)
	})

	cases := g.cases()
	list("cases", len(cases), func(i int) { value(cases[i]) })
	list("brokenRows", len(g.broken), func(i int) { value(g.broken[i]) })
	put("\n}\n")
	if werr == nil {
		werr = w.Flush()
	}
	if err := f.Close(); werr == nil {
		werr = err
	}
	if werr != nil {
		return fmt.Errorf("synth: %s: %w", TruthFile, werr)
	}
	return nil
}

var truthNotes = []string{
	"persons: everyone in the register, residents and former residents; records lists every record of every file that is about the person (file, line; key for JP-CLINS bundles; note when the record spells the name differently from the register: the common form of a traditional kanji, or a typo).",
	"SS-MIX2 and JP-CLINS records carry the hospital's patient number, not the resident number; PMH records carry pmhKey; a newborn's first hospital records name it after its mother (山田花子ベビー).",
	"cases: every subject whose data meets a rule of DOMAIN §4 as the generator wrote it, evaluated on asOf; planted marks the ones made on purpose, the others come from the background rates. records are the rows that show the signal (for a missing record: the person's register row and any 未受診 row).",
	"NA-2 is counted against 200 planned school days; NA-3 compares the last month's late arrivals and early leaving with the mean of the three months before it. Rules may find more hits by chance in the background noise of lateness.",
	"brokenRows: rows an import must report (file, line with the header as line 1, column, reason) while importing the others.",
}

// cases derives the expected rule hits from the evidence and the latent flags.
func (g *generator) cases() []truthCase {
	type key struct {
		rule    string
		subject int32
	}
	recs := map[key][]truthRef{}
	var keys []key
	addRec := func(k key, ref truthRef) {
		if _, ok := recs[k]; !ok {
			keys = append(keys, k)
		}
		if !slices.Contains(recs[k], ref) {
			recs[k] = append(recs[k], ref)
		}
	}
	ref := func(e evidence) truthRef { return truthRef{File: g.files[e.file].Path, Line: int(e.line), Key: e.key} }
	reg := func(p *person) truthRef {
		return truthRef{File: g.files[0].Path, Line: p.regLine}
	}
	for _, e := range g.evidence {
		addRec(key{e.rule, e.subject}, ref(e))
	}
	has := func(rule string, p int32) bool { _, ok := recs[key{rule, p}]; return ok }
	// Absence rules, from the flags.
	for _, p := range g.persons {
		if !p.residentAt(g.asOf) {
			continue
		}
		mo := ageMonths(p.birth, g.asOf)
		switch {
		case p.has(fMiss15) && mo >= 24 && mo < 36 && p.residentThrough(p.birth.AddDate(1, 6, 0), p.birth.AddDate(2, 0, 0)):
			addRec(key{"DEV-4", p.idx}, reg(p))
			for _, x := range recs[key{"missed:1.5y", p.idx}] {
				addRec(key{"DEV-4", p.idx}, x)
			}
		case p.has(fMiss3y) && mo >= 48 && mo < 60 && p.residentThrough(p.birth.AddDate(3, 0, 0), p.birth.AddDate(4, 0, 0)):
			addRec(key{"DEV-4", p.idx}, reg(p))
			for _, x := range recs[key{"missed:3y", p.idx}] {
				addRec(key{"DEV-4", p.idx}, x)
			}
		}
		if p.has(fMiss34m) && mo >= 6 && mo < 12 && p.residentThrough(p.birth.AddDate(0, 3, 0), p.birth.AddDate(0, 6, 0)) {
			addRec(key{"DEV-5", p.idx}, reg(p))
			for _, x := range recs[key{"missed:3-4m", p.idx}] {
				addRec(key{"DEV-5", p.idx}, x)
			}
		}
		if p.has(fMissVacc) && (has("DEV-4", p.idx) || has("DEV-5", p.idx)) {
			for _, r := range recs[key{"DEV-4", p.idx}] {
				addRec(key{"ABU-4", p.idx}, r)
			}
			for _, r := range recs[key{"DEV-5", p.idx}] {
				addRec(key{"ABU-4", p.idx}, r)
			}
		}
		if p.has(fInvisible) && grade(p.birth, g.fy()) <= 6 {
			addRec(key{"INV-1", p.idx}, reg(p))
		}
		if d := daysBetween(p.birth, g.asOf); d >= 56 && d <= 365 && g.recentBirth(p, 365) {
			if m := g.persons[p.mother]; m.baby == p.idx && m.has(fNoPostpartum) && m.residentThrough(p.birth, g.asOf) {
				addRec(key{"PPD-3", m.idx}, reg(p))
			}
		}
	}
	// Combinations.
	for _, p := range g.persons {
		if !g.isChild(p) || !p.residentAt(g.asOf) {
			continue
		}
		n := 0
		for _, r := range []string{"POV-1", "POV-2", "POV-3", "POV-4"} {
			if has(r, p.idx) {
				n++
			}
		}
		if n >= 2 {
			for _, r := range []string{"POV-1", "POV-2", "POV-3", "POV-4"} {
				for _, x := range recs[key{r, p.idx}] {
					addRec(key{"POV-C", p.idx}, x)
				}
			}
		}
		carer := g.careNeed(p)
		if age(p.birth, g.asOf) >= 6 && carer >= 0 && (has("NA-2", p.idx) || has("NA-3", p.idx)) && has("care", carer) {
			for _, r := range []string{"NA-2", "NA-3"} {
				for _, x := range recs[key{r, p.idx}] {
					addRec(key{"YC-1", p.idx}, x)
				}
			}
			for _, x := range recs[key{"care", carer}] {
				addRec(key{"YC-1", p.idx}, x)
			}
		}
		h := g.households[p.hh]
		if a := age(p.birth, g.asOf); a >= 8 && h.single && h.head >= 0 && has("care", h.head) && g.youngSibling(p) {
			for _, x := range recs[key{"care", h.head}] {
				addRec(key{"YC-2", p.idx}, x)
			}
			addRec(key{"YC-2", p.idx}, reg(p))
		}
	}
	planted := map[key]string{}
	for _, pc := range g.planted {
		planted[key{pc.rule, pc.subject}] = pc.note
	}
	order := map[string]int{}
	for i, r := range rules {
		order[r] = i
	}
	var out []truthCase
	for _, k := range keys {
		if _, ok := order[k.rule]; !ok {
			continue // internal evidence (care needs)
		}
		p := g.persons[k.subject]
		c := truthCase{Rule: k.rule, Subject: p.resNo, Records: recs[k]}
		if ch := p.baby; ch >= 0 && (k.rule == "PPD-1" || k.rule == "PPD-2" || k.rule == "PPD-3" || k.rule == "PRE-1") {
			c.Child = g.persons[ch].resNo
		}
		c.Note, c.Planted = planted[k]
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b truthCase) int {
		return cmp.Or(cmp.Compare(order[a.Rule], order[b.Rule]), cmp.Compare(a.Subject, b.Subject))
	})
	return out
}
