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
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"
)

// checkupHeader is the layout of checkup (DOMAIN §2.4 S4) with the item findings the
// infant checkups record.
var checkupHeader = []string{"宛名番号", "氏名", "生年月日", "健診名", "受診日", "月齢", "身長", "体重", "頭囲", "胸囲",
	"判定", "未受診", "身体発育", "精神発達", "言語", "歯・口腔", "育児上問題となる事項", "眼", "耳鼻咽喉"}

// checkupKind is one of the infant checkups of the health-management system.
type checkupKind struct {
	name      string
	miss      flag   // the flag that makes a child miss it (0: never missed but by invisible children)
	evidence  string // internal evidence name for a 未受診 row
	at        func(b time.Time) time.Time
	height    [2]float64 // mean, sd (cm)
	weight    [2]float64 // kg
	head      [2]float64
	chest     [2]float64
	items     []string
	statutory bool
}

var checkupKinds = []checkupKind{
	{"新生児訪問", 0, "", func(b time.Time) time.Time { return addDays(b, 28) }, [2]float64{53.5, 2}, [2]float64{4.3, 0.5}, [2]float64{37, 1.2}, [2]float64{36, 1.5},
		[]string{"身体発育", "育児上問題となる事項"}, false},
	{"3～4か月児健診", fMiss34m, "missed:3-4m", func(b time.Time) time.Time { return addDays(b.AddDate(0, 3, 0), 10) }, [2]float64{62, 2.3}, [2]float64{6.6, 0.7}, [2]float64{41, 1.3}, [2]float64{41.5, 1.6},
		[]string{"身体発育", "精神発達", "育児上問題となる事項"}, false},
	{"1歳6か月児健診", fMiss15, "missed:1.5y", func(b time.Time) time.Time { return addDays(b.AddDate(1, 6, 0), 20) }, [2]float64{80.5, 3}, [2]float64{10.6, 1.1}, [2]float64{46.8, 1.3}, [2]float64{48, 1.7},
		[]string{"身体発育", "精神発達", "言語", "歯・口腔", "育児上問題となる事項"}, true},
	{"3歳児健診", fMiss3y, "missed:3y", func(b time.Time) time.Time { return addDays(b.AddDate(3, 0, 0), 60) }, [2]float64{94.5, 3.5}, [2]float64{14.1, 1.5}, [2]float64{49.5, 1.3}, [2]float64{51, 2},
		[]string{"身体発育", "精神発達", "言語", "歯・口腔", "育児上問題となる事項", "眼", "耳鼻咽喉"}, true},
}

func measure(r *rand.Rand, ms [2]float64) string {
	return strconv.FormatFloat(ms[0]+r.NormFloat64()*ms[1], 'f', 1, 64)
}

// writeCheckups writes the infant checkups of the health-management system: every checkup
// of the last six years that a child of the town was due for while living here. A missed
// checkup is a 未受診 row on its scheduled date, or (a third of the time) no row at all.
// CP932, CRLF; 受診日 as 2023/06/01, 生年月日 as R05.06.01, each with a few in other forms.
func (g *generator) writeCheckups() error {
	r := g.stream(11)
	t, err := g.newTable("checkup", "checkup.csv", CP932, true, "", checkupHeader)
	if err != nil {
		return err
	}
	from := g.asOf.AddDate(-6, 0, 0)
	brokenAfter := g.brokenPositions(2)
	n := 0
	for _, p := range g.persons {
		if p.birth.Before(from.AddDate(-4, 0, 0)) {
			continue
		}
		for _, k := range checkupKinds {
			d := k.at(p.birth)
			if !d.Before(g.asOf) || d.Before(from) || !p.residentAt(d) || p.has(fInvisible) {
				continue
			}
			g.checkupRow(t, r, p, k, d, false)
		}
		n++
		switch n {
		case brokenAfter[0]:
			g.checkupRow(t, r, p, checkupKinds[1], checkupKinds[1].at(p.birth), true)
			t.set("宛名番号", fmt.Sprintf("%015d", 999_000_000_000+r.IntN(999)))
			t.emitBroken(-1, "宛名番号", "resident number not in the town")
		case brokenAfter[1]:
			g.checkupRow(t, r, p, checkupKinds[0], checkupKinds[0].at(p.birth), true)
			t.set("受診日", "2025/13/01")
			t.emitBroken(p.idx, "受診日", "no such date")
		}
	}
	return t.close()
}

// checkupRow emits one checkup of p on d; with broken, it only fills the row, which the
// caller breaks and emits.
func (g *generator) checkupRow(t *table, r *rand.Rand, p *person, k checkupKind, d time.Time, broken bool) {
	missed := k.miss != 0 && p.has(k.miss)
	if missed && !broken && chance(r, 0.33) {
		return // no trace of the missed checkup
	}
	name, note := g.nameIn(p, r, 0.01)
	t.set("宛名番号", p.resNo)
	t.set("氏名", name)
	bs := styleLetter
	if chance(r, 0.05) {
		bs = styleLetterBare
	}
	t.set("生年月日", formatDate(p.birth, bs))
	t.set("健診名", k.name)
	ds := styleSlash
	if chance(r, 0.04) {
		ds = styleLetter
	}
	t.set("受診日", formatDate(d, ds))
	t.set("月齢", strconv.Itoa(ageMonths(p.birth, d)))
	if missed {
		t.set("未受診", "1")
		if broken {
			return
		}
		line := t.emit(p.idx)
		g.noteRef(note)
		g.evid(k.evidence, p.idx, t.info, line)
		return
	}
	t.set("身長", measure(r, k.height))
	t.set("体重", measure(r, k.weight))
	t.set("頭囲", measure(r, k.head))
	t.set("胸囲", measure(r, k.chest))
	worst := 0
	judgements := []string{"異常なし", "要観察", "要精密", "要医療"}
	finding := ""
	switch {
	case k.name == "1歳6か月児健診" && p.has(fDev15), k.name == "3歳児健診" && p.has(fDev3):
		finding = []string{"言語", "言語", "精神発達"}[r.IntN(3)]
	}
	for _, item := range k.items {
		j := 0
		switch {
		case item == finding:
			j = 1 + r.IntN(2)
			if r.IntN(10) < 7 {
				j = 1
			}
		case item == "育児上問題となる事項" && p.has(fNeglect) && chance(r, 0.5):
			j = 1
		case item == "精神発達" || item == "言語":
			// fine: only the flags make these findings, so that DEV-1 and DEV-2 are exact
		case chance(r, 0.03):
			j = 1
		}
		worst = max(worst, j)
		t.set(item, judgements[j])
	}
	t.set("判定", judgements[worst])
	if broken {
		return
	}
	line := t.emit(p.idx)
	g.noteRef(note)
	switch {
	case finding != "" && k.name == "1歳6か月児健診" && ageMonths(p.birth, g.asOf) < 36:
		g.evid("DEV-1", p.idx, t.info, line)
	case finding != "" && k.name == "3歳児健診" && grade(p.birth, g.fy()) <= 0:
		g.evid("DEV-2", p.idx, t.info, line)
	}
}

// noteRef attaches note to the record just emitted.
func (g *generator) noteRef(note string) {
	if note != "" {
		g.refs[len(g.refs)-1].note = note
	}
}

// brokenPositions returns n distinct positions (counted in persons written) after which a
// writer adds its broken rows, spread over a town of any size.
func (g *generator) brokenPositions(n int) []int {
	out := make([]int, n)
	step := max(len(g.persons)/(20*(n+1)), 1)
	for i := range out {
		out[i] = step * (i + 1)
	}
	return out
}

// A vaccination of the routine schedule (定期接種), at an age in days.
type dose struct {
	name, term string // 予防接種名, 期
	no         int    // 回数
	at         int    // days after birth
	from       time.Time
	until      time.Time // given to children born before this date only (zero: always)
}

var schedule = func() []dose {
	five := day(2024, 4, 1) // 五種混合 replaced 四種混合 and ヒブ for children born from April 2024
	var s []dose
	add := func(name, term string, ats ...int) {
		for i, at := range ats {
			s = append(s, dose{name: name, term: term, no: i + 1, at: at})
		}
	}
	add("B型肝炎", "", 60, 90, 230)
	add("ロタウイルス", "", 60, 90)
	add("小児用肺炎球菌", "", 60, 90, 120, 380)
	add("BCG", "", 160)
	add("麻しん風しん混合", "1期", 370)
	add("水痘", "", 380, 560)
	add("日本脳炎", "1期初回", 1100, 1130)
	add("日本脳炎", "1期追加", 1480)
	add("麻しん風しん混合", "2期", 2200)
	for _, at := range [][2]int{{60, 1}, {90, 2}, {120, 3}} {
		s = append(s, dose{name: "五種混合", term: "1期初回", no: at[1], at: at[0], from: five})
		s = append(s, dose{name: "四種混合", term: "1期初回", no: at[1], at: at[0], until: five})
		s = append(s, dose{name: "ヒブ", term: "初回", no: at[1], at: at[0], until: five})
	}
	s = append(s, dose{name: "五種混合", term: "1期追加", no: 4, at: 420, from: five},
		dose{name: "四種混合", term: "1期追加", no: 4, at: 420, until: five},
		dose{name: "ヒブ", term: "追加", no: 4, at: 400, until: five})
	return s
}()

var vaccinationHeader = []string{"宛名番号", "氏名", "生年月日", "予防接種名", "期", "回数", "接種日", "ロット番号"}

// writeVaccinations writes the routine vaccinations of the last seven years. A child whose
// family misses appointments stops getting the doses due in the last 18 months (so some are
// overdue by more than 3 months). CP932, CRLF; dates as 20230601, a few as 2023/06/01.
func (g *generator) writeVaccinations() error {
	r := g.stream(12)
	t, err := g.newTable("vaccination", "vaccination.csv", CP932, true, "", vaccinationHeader)
	if err != nil {
		return err
	}
	brokenAfter := g.brokenPositions(1)
	n := 0
	for _, p := range g.persons {
		if p.birth.Before(g.asOf.AddDate(-7, 0, 0)) || p.has(fInvisible) {
			continue
		}
		stop := g.asOf.AddDate(10, 0, 0)
		if p.has(fMissVacc) {
			stop = g.asOf.AddDate(0, -18, 0)
			if s := addDays(p.birth, 50); s.After(stop) {
				stop = s
			}
		}
		name, note := g.nameIn(p, r, 0.005)
		for _, v := range schedule {
			if !v.from.IsZero() && p.birth.Before(v.from) || !v.until.IsZero() && !p.birth.Before(v.until) {
				continue
			}
			due := addDays(p.birth, v.at)
			given := addDays(due, r.IntN(40))
			if chance(r, 0.05) {
				given = addDays(given, 30+r.IntN(90))
			}
			if !due.Before(stop) || !given.Before(g.asOf) || !p.residentAt(given) {
				continue
			}
			t.set("宛名番号", p.resNo)
			t.set("氏名", name)
			ds := styleCompact
			if chance(r, 0.03) {
				ds = styleSlash
			}
			t.set("生年月日", formatDate(p.birth, ds))
			t.set("予防接種名", v.name)
			t.set("期", v.term)
			t.set("回数", strconv.Itoa(v.no))
			t.set("接種日", formatDate(given, ds))
			t.set("ロット番号", fmt.Sprintf("%c%c%03d%c", 'A'+r.IntN(26), 'A'+r.IntN(26), r.IntN(1000), 'A'+r.IntN(6)))
			t.emit(p.idx)
			g.noteRef(note)
		}
		if n++; n == brokenAfter[0] {
			t.emitRaw(p.idx, []string{p.resNo, name, formatDate(p.birth, styleCompact), "水痘"}, "wrong number of fields: 4, want 8")
		}
	}
	return t.close()
}

var postpartumHeader = func() []string {
	h := []string{"宛名番号", "氏名", "受診日", "産後日数"}
	for i := 1; i <= 10; i++ {
		h = append(h, fmt.Sprintf("問%d", i))
	}
	h = append(h, "合計点", "要支援")
	for i := 1; i <= 10; i++ {
		h = append(h, fmt.Sprintf("気持ち%d", i))
	}
	return h
}()

// writePostpartum writes the postpartum checkups (2 weeks and 1 month after a birth) with
// EPDS items as scored and the bonding questionnaire, keyed in from paper forms. UTF-8 with
// a BOM, LF; dates as 令和7年6月1日, a few as R07/06/01.
func (g *generator) writePostpartum() error {
	r := g.stream(13)
	t, err := g.newTable("postpartum", "postpartum.csv", UTF8BOM, false, "", postpartumHeader)
	if err != nil {
		return err
	}
	broke, seen := false, 0
	for _, c := range g.persons {
		if !g.recentBirth(c, 425) {
			continue
		}
		m := g.persons[c.mother]
		if m.baby != c.idx || m.has(fNoPostpartum) {
			continue
		}
		for _, visit := range []struct {
			days  [2]int
			share float64
		}{{[2]int{12, 18}, 0.85}, {[2]int{28, 40}, 0.95}} {
			late := visit.days[0] > 20
			if !chance(r, visit.share) && !(late && m.has(fEPDS|fEPDS10)) {
				continue
			}
			dd := between(r, visit.days[0], visit.days[1])
			d := addDays(c.birth, dd)
			if !d.Before(g.asOf) || !m.residentAt(d) {
				continue
			}
			high := m.has(fEPDS) && (late || chance(r, 0.5))
			item10 := 0
			if m.has(fEPDS10) && (late || chance(r, 0.5)) {
				item10 = 1 + r.IntN(2)
			}
			total := item10 + r.IntN(max(9-item10, 1))
			if high {
				total = max(9+r.IntN(12), item10+9)
			}
			items := epdsItems(r, total, item10)
			name, note := g.nameIn(m, r, 0.01)
			t.set("宛名番号", m.resNo)
			t.set("氏名", name)
			ds := styleKanji
			if chance(r, 0.1) {
				ds = styleLetterSlash
			}
			t.set("受診日", formatDate(d, ds))
			t.set("産後日数", strconv.Itoa(dd))
			for i, v := range items {
				t.set(fmt.Sprintf("問%d", i+1), strconv.Itoa(v))
			}
			t.set("合計点", strconv.Itoa(total))
			t.set("要支援", map[bool]string{true: "1", false: "0"}[total >= 9 || item10 > 0])
			for i := 1; i <= 10; i++ {
				b := r.IntN(2) * r.IntN(2)
				if high {
					b = r.IntN(4)
				}
				t.set(fmt.Sprintf("気持ち%d", i), strconv.Itoa(b))
			}
			saved := slices.Clone(t.rec)
			line := t.emit(m.idx)
			g.noteRef(note)
			if total >= 9 {
				g.evid("PPD-1", m.idx, t.info, line)
			}
			if item10 > 0 {
				g.evid("PPD-2", m.idx, t.info, line)
			}
			if seen++; !broke && seen >= 3 && high {
				// The same form keyed in twice, the second time with a total beyond 30.
				copy(t.rec, saved)
				t.set("合計点", strconv.Itoa(total+30))
				t.emitBroken(m.idx, "合計点", "EPDS total above 30")
				broke = true
			}
		}
	}
	return t.close()
}

// epdsItems spreads total over the ten items (0–3 each), item 10 being fixed.
func epdsItems(r *rand.Rand, total, item10 int) []int {
	items := make([]int, 10)
	items[9] = item10
	left := min(total-item10, 27)
	for left > 0 {
		i := r.IntN(9)
		if items[i] < 3 {
			items[i]++
			left--
		}
	}
	return items
}
