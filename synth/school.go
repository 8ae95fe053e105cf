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
	"strconv"
	"time"
)

var classNames = []string{"ひよこ", "りす", "うさぎ", "ぱんだ", "きりん", "ぞう"}

// writeNursery writes nursery, certified-centre and kindergarten enrolments with monthly
// attendance for the last 12 months: one row per child per month. In real life xlsx or CSV
// from the placement and attendance apps; here CSV, CP932, CRLF; 入所日 as 2023/04/01,
// 年月 as 2023/06. Free-text notes (児童票, 保育要録) are never written.
func (g *generator) writeNursery() error {
	r := g.stream(30)
	t, err := g.newTable("nursery", "nursery.csv", CP932, true, "xlsx", []string{"児童宛名番号", "施設コード", "施設名", "入所日", "退所日", "クラス", "年月", "登園日数", "欠席日数"})
	if err != nil {
		return err
	}
	facilities := g.town.nurseries(g.opts.LGCode)
	broke, seen := false, 0
	first := time.Date(g.asOf.Year()-1, g.asOf.Month(), 1, 0, 0, 0, 0, time.UTC)
	for _, p := range g.persons {
		if !p.has(fNursery) {
			continue
		}
		entry := maxTime(p.birth.AddDate(0, 6, 0), p.since)
		entry = time.Date(entry.Year(), entry.Month()+1, 1, 0, 0, 0, 0, time.UTC)
		if a := time.Date(schoolYear(entry)+1, time.April, 1, 0, 0, 0, 0, time.UTC); chance(r, 0.6) && a.Before(g.asOf) {
			entry = a // most children start in April
		}
		if !entry.Before(g.asOf) {
			continue
		}
		f := facilities[r.IntN(3)]
		if age(p.birth, g.asOf) >= 3 && chance(r, 0.3) {
			f = facilities[3]
		}
		for m := first; m.Before(g.asOf); m = m.AddDate(0, 1, 0) {
			end := m.AddDate(0, 1, -1)
			if end.Before(entry) || !p.residentAt(m) && !p.residentAt(end) {
				continue
			}
			class := min(max(age(p.birth, time.Date(schoolYear(m), time.April, 1, 0, 0, 0, 0, time.UTC)), 0), 5)
			absent := r.IntN(3) * r.IntN(2)
			if p.has(fNeglect) {
				absent += 2 + r.IntN(6)
			}
			open := 20 + r.IntN(3)
			t.set("児童宛名番号", p.resNo)
			t.set("施設コード", f.code)
			t.set("施設名", f.name)
			t.set("入所日", formatDate(entry, styleSlash))
			if !p.out.IsZero() && !p.out.After(end.AddDate(0, 0, 1)) {
				t.set("退所日", formatDate(addDays(p.out, -1), styleSlash))
			}
			t.set("クラス", classNames[class])
			t.set("年月", yearMonth(m))
			t.set("登園日数", strconv.Itoa(open-absent))
			t.set("欠席日数", strconv.Itoa(absent))
			t.emit(p.idx)
		}
		if seen++; !broke && seen >= 3 {
			t.set("児童宛名番号", p.resNo)
			t.set("施設コード", f.code)
			t.set("施設名", f.name)
			t.set("クラス", classNames[min(age(p.birth, g.asOf), 5)])
			t.emitBroken(p.idx, "入所日", "required value missing")
			broke = true
		}
	}
	return t.close()
}

// schoolOf returns the school a pupil attends in school year fy.
func (g *generator) schoolOf(p *person, fy int) facility {
	elementary, jh := g.town.schools()
	if grade(p.birth, fy) >= 7 {
		return jh
	}
	return elementary[int(p.hh)%len(elementary)]
}

// writeSchoolRegister writes the school-age register (学齢簿) of the board of education for
// this school year: every pupil in grades 1–9, with the guardian. CP932, CRLF.
func (g *generator) writeSchoolRegister() error {
	r := g.stream(31)
	t, err := g.newTable("school-register", "school-register.csv", CP932, true, "",
		[]string{"識別番号", "就学校コード", "小中区分", "学校区分", "学年", "学級区分", "保護者識別番号", "保護者続柄"})
	if err != nil {
		return err
	}
	fy := g.fy()
	broken := g.brokenPositions(1)
	n := 0
	for _, p := range g.persons {
		gr := grade(p.birth, fy)
		if gr < 1 || gr > 9 || !p.residentAt(g.asOf) || p.has(fInvisible) {
			continue
		}
		s := g.schoolOf(p, fy)
		t.set("識別番号", p.resNo)
		t.set("就学校コード", s.code)
		if gr <= 6 {
			t.set("小中区分", "小")
			t.set("学年", strconv.Itoa(gr))
		} else {
			t.set("小中区分", "中")
			t.set("学年", strconv.Itoa(gr-6))
		}
		t.set("学校区分", "町立")
		t.set("学級区分", map[bool]string{true: "特別支援", false: "通常"}[p.has(fSpecialClass)])
		if gd := g.guardian(p); gd >= 0 {
			q := g.persons[gd]
			t.set("保護者識別番号", q.resNo)
			t.set("保護者続柄", g.relationTo(q, p))
		}
		t.emit(p.idx)
		if n++; n == broken[0] {
			t.set("識別番号", fmt.Sprintf("%015d", 7+r.IntN(90)))
			t.set("就学校コード", s.code)
			t.set("小中区分", "小")
			t.set("学年", "2")
			t.set("学校区分", "町立")
			t.set("学級区分", "通常")
			t.emitBroken(-1, "識別番号", "resident number not in the town")
		}
	}
	return t.close()
}

// relationTo names what q is to the child p, as the school register writes it.
func (g *generator) relationTo(q, p *person) string {
	switch {
	case p.father == q.idx:
		return "父"
	case p.mother == q.idx:
		return "母"
	case age(q.birth, g.asOf)-age(p.birth, g.asOf) > 40:
		return map[uint8]string{1: "祖父", 2: "祖母"}[q.sex]
	}
	return "その他"
}

// schoolDays are the school days per month from April (August: summer holidays, no row).
var schoolDays = [12]int{17, 19, 21, 14, 0, 19, 21, 19, 15, 17, 18, 15}

// month is one pupil's attendance in one month.
type month struct {
	start                       time.Time
	days, ill, other, suspended int
	mourning, late, early       int
}

// writeSchoolAttendance writes the monthly attendance of every pupil for the last school
// year and the months of this one: one row per pupil per month (DOMAIN §2.4 S11; 備考 never).
// Per school and month in real life, as CSV or xlsx; here one CSV, CP932, CRLF.
func (g *generator) writeSchoolAttendance() error {
	r := g.stream(32)
	t, err := g.newTable("school-attendance", "school-attendance.csv", CP932, true, "",
		[]string{"識別番号", "年度", "年月", "学校コード", "学校名", "学年", "組", "出席番号", "氏名", "授業日数",
			"出席停止・忌引等の日数", "出席しなければならない日数", "欠席日数", "出席日数", "病", "事", "停", "忌", "遅", "早"})
	if err != nil {
		return err
	}
	cur := g.fy()
	broken := g.brokenPositions(1)
	n := 0
	var months []month
	for _, p := range g.persons {
		if p.has(fInvisible) || (grade(p.birth, cur-1) > 9 || grade(p.birth, cur) < 1) {
			continue
		}
		months = months[:0]
		for fy := cur - 1; fy <= cur; fy++ {
			for i, days := range schoolDays {
				m := time.Date(fy, time.April+time.Month(i), 1, 0, 0, 0, 0, time.UTC)
				if days == 0 || !m.AddDate(0, 1, 0).Before(g.asOf.AddDate(0, 0, 1)) {
					continue
				}
				if gr := grade(p.birth, fy); gr < 1 || gr > 9 || !p.residentAt(m.AddDate(0, 0, 14)) {
					continue
				}
				months = append(months, g.attendance(r, p, m, days))
			}
		}
		if len(months) == 0 {
			continue
		}
		g.shapeAbsences(r, p, months)
		name, note := g.nameIn(p, r, 0.005)
		seat := strconv.Itoa(1 + r.IntN(35))
		class := strconv.Itoa(1 + int(p.idx)%2)
		var prevTotal, curTotal, curDays int
		lines := make([]int, len(months))
		for i, m := range months {
			fy := schoolYear(m.start)
			s := g.schoolOf(p, fy)
			gr := grade(p.birth, fy)
			if gr > 6 {
				gr -= 6
			}
			stop := m.suspended + m.mourning
			must := m.days - stop
			absent := min(m.ill+m.other, must)
			t.set("識別番号", p.resNo)
			t.set("年度", strconv.Itoa(fy))
			t.set("年月", yearMonth(m.start))
			t.set("学校コード", s.code)
			t.set("学校名", s.name)
			t.set("学年", strconv.Itoa(gr))
			t.set("組", class)
			t.set("出席番号", seat)
			t.set("氏名", name)
			t.set("授業日数", strconv.Itoa(m.days))
			t.set("出席停止・忌引等の日数", strconv.Itoa(stop))
			t.set("出席しなければならない日数", strconv.Itoa(must))
			t.set("欠席日数", strconv.Itoa(absent))
			t.set("出席日数", strconv.Itoa(must-absent))
			t.set("病", strconv.Itoa(m.ill))
			t.set("事", strconv.Itoa(m.other))
			t.set("停", strconv.Itoa(m.suspended))
			t.set("忌", strconv.Itoa(m.mourning))
			t.set("遅", strconv.Itoa(m.late))
			t.set("早", strconv.Itoa(m.early))
			lines[i] = t.emit(p.idx)
			g.noteRef(note)
			if fy < cur {
				prevTotal += m.other
			} else {
				curTotal += m.other
				curDays += m.days
			}
		}
		// Evidence, from the rows as written.
		for i, m := range months {
			fy := schoolYear(m.start)
			switch {
			case fy < cur && prevTotal >= 30 && m.other > 0:
				g.evid("NA-1", p.idx, t.info, lines[i])
			case fy == cur && curDays > 0 && p.residentAt(g.asOf) && float64(curTotal) >= 30*float64(curDays)/200 && m.other > 0:
				g.evid("NA-2", p.idx, t.info, lines[i])
			}
		}
		if k := len(months); k >= 4 && p.residentAt(g.asOf) && schoolYear(months[k-1].start) == cur {
			last := months[k-1].late + months[k-1].early
			mean := float64(months[k-2].late+months[k-2].early+months[k-3].late+months[k-3].early+months[k-4].late+months[k-4].early) / 3
			if last >= 3 && float64(last) >= 2*mean {
				for i := k - 4; i < k; i++ {
					g.evid("NA-3", p.idx, t.info, lines[i])
				}
			}
		}
		if n++; n == broken[0] {
			t.set("識別番号", p.resNo)
			t.set("年度", strconv.Itoa(cur-1))
			t.set("年月", fmt.Sprintf("%d/13", cur-1))
			t.set("氏名", name)
			t.emitBroken(p.idx, "年月", "no such month")
		}
	}
	return t.close()
}

// attendance draws a month of ordinary attendance.
func (g *generator) attendance(r *rand.Rand, p *person, m time.Time, days int) month {
	a := month{start: m, days: days}
	a.ill = pick(r, []float64{0.72, 0.17, 0.07, 0.04})
	a.other = pick(r, []float64{0.94, 0.05, 0.01})
	a.late = pick(r, []float64{0.92, 0.06, 0.02})
	a.early = pick(r, []float64{0.95, 0.05})
	if (m.Month() == time.January || m.Month() == time.February) && chance(r, 0.05) {
		a.suspended = 2 + r.IntN(4)
	}
	if chance(r, 0.003) {
		a.mourning = 1 + r.IntN(3)
	}
	return a
}

// shapeAbsences gives non-attending, sick and strained pupils their patterns.
func (g *generator) shapeAbsences(r *rand.Rand, p *person, months []month) {
	cur := g.fy()
	switch {
	case p.has(fNA):
		onset := r.IntN(6)
		total := 0
		for i := range months {
			m := &months[i]
			if schoolYear(m.start) < cur && i < onset {
				continue
			}
			k := i - onset + 1
			m.other = min(m.days-1, 2+3*k+r.IntN(3))
			m.ill = min(m.ill, m.days-1-m.other)
			if schoolYear(m.start) < cur {
				total += m.other
			}
		}
		for i := range months {
			if total >= 30 {
				break
			}
			if m := &months[i]; schoolYear(m.start) < cur && m.other < m.days-2 {
				total += m.days - 2 - m.other
				m.other, m.ill = m.days-2, 0
			}
		}
	case p.has(fSick):
		for i := range months {
			if m := &months[i]; schoolYear(m.start) < cur {
				m.ill = min(m.days-1, 3+r.IntN(4))
				m.other = 0
			}
		}
	}
	if p.has(fStrain) {
		k := len(months)
		for i := max(k-4, 0); i < k; i++ {
			months[i].late, months[i].early = r.IntN(2), 0
		}
		for i := max(k-2, 0); i < k; i++ {
			months[i].other = max(months[i].other, 3+r.IntN(2))
		}
		months[k-1].late = 3 + r.IntN(3)
		months[k-1].early = 2 + r.IntN(2)
	}
}

// writeSchoolAid writes this school year's school-attendance aid (就学援助) of the board of
// education. CP932, CRLF; dates as R05.06.01.
func (g *generator) writeSchoolAid() error {
	r := g.stream(33)
	t, err := g.newTable("school-aid", "school-aid.csv", CP932, true, "",
		[]string{"宛名番号", "保護者宛名番号", "年度", "認定区分", "認定日", "取消日"})
	if err != nil {
		return err
	}
	fy := g.fy()
	broke, seen := false, 0
	for _, p := range g.persons {
		if !p.has(fSchoolAid) || !p.residentAt(g.asOf) {
			continue
		}
		certified := addDays(maxTime(time.Date(fy, time.April, 1, 0, 0, 0, 0, time.UTC), p.since), r.IntN(40))
		if !certified.Before(g.asOf) {
			certified = addDays(g.asOf, -1)
		}
		t.set("宛名番号", p.resNo)
		if gd := g.guardian(p); gd >= 0 {
			t.set("保護者宛名番号", g.persons[gd].resNo)
		}
		t.set("年度", strconv.Itoa(fy))
		t.set("認定区分", map[bool]string{true: "要保護", false: "準要保護"}[p.has(fYohogo)])
		t.set("認定日", formatDate(certified, styleLetter))
		line := t.emit(p.idx)
		g.evid("POV-2", p.idx, t.info, line)
		if seen++; !broke && seen >= 3 {
			t.set("宛名番号", p.resNo)
			t.set("年度", strconv.Itoa(fy))
			t.set("認定区分", "準要保護")
			t.set("認定日", fmt.Sprintf("R%02d.04.31", fy-2018))
			t.emitBroken(p.idx, "認定日", "no such date")
			broke = true
		}
	}
	return t.close()
}
