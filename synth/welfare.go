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
	"time"
)

// allowanceChange is the day the child allowance was extended to high-school age (令和6年10月).
var allowanceChange = day(2024, 10, 1)

// writeChildAllowance writes the allowances of the child section: 児童手当 for every child,
// 児童扶養手当 for the children of single parents who receive it. No amounts. CP932, CRLF;
// 認定日 as R05.06.01, 支給開始年月 as 2023/07.
func (g *generator) writeChildAllowance() error {
	r := g.stream(20)
	t, err := g.newTable("child-allowance", "child-allowance.csv", CP932, true, "",
		[]string{"受給者宛名番号", "対象児童宛名番号", "手当種別", "認定日", "支給開始年月", "支給停止", "資格喪失日", "ひとり親"})
	if err != nil {
		return err
	}
	broken := g.brokenPositions(1)
	n := 0
	for _, p := range g.persons {
		if !g.isChild(p) {
			continue
		}
		h := g.households[p.hh]
		recipient := g.guardian(p)
		if recipient < 0 {
			continue
		}
		start := p.since
		if start.Before(p.birth) {
			start = p.birth
		}
		if age(p.birth, allowanceChange) >= 15 && start.Before(allowanceChange) {
			start = allowanceChange
		}
		certified := addDays(start, 3+r.IntN(20))
		if !certified.Before(g.asOf) {
			continue
		}
		kinds := []string{"児童手当"}
		if p.has(fRearing) {
			kinds = append(kinds, "児童扶養手当")
		}
		for _, kind := range kinds {
			t.set("受給者宛名番号", g.persons[recipient].resNo)
			t.set("対象児童宛名番号", p.resNo)
			t.set("手当種別", kind)
			t.set("認定日", formatDate(certified, styleLetter))
			t.set("支給開始年月", yearMonth(certified.AddDate(0, 1, 1-certified.Day())))
			if !p.out.IsZero() {
				t.set("資格喪失日", formatDate(p.out, styleLetter))
			}
			if h.single {
				t.set("ひとり親", "1")
			}
			line := t.emit(p.idx)
			if kind == "児童扶養手当" && p.out.IsZero() {
				g.evid("POV-3", p.idx, t.info, line)
			}
		}
		if n++; n == broken[0] {
			t.set("受給者宛名番号", g.persons[recipient].resNo)
			t.set("対象児童宛名番号", p.resNo)
			t.set("手当種別", "児童手当")
			t.set("認定日", formatDate(certified, styleLetter))
			t.set("支給開始年月", "2024/00")
			t.emitBroken(p.idx, "支給開始年月", "no such month")
		}
	}
	return t.close()
}

// guardian returns the parent (or the head of household) who receives a child's benefits.
func (g *generator) guardian(p *person) int32 {
	for _, c := range []int32{p.father, p.mother, g.households[p.hh].head} {
		if c >= 0 && c != p.idx && age(g.persons[c].birth, g.asOf) >= 18 {
			return c
		}
	}
	return -1
}

// writePublicAssistance writes the public-assistance cases the prefecture's welfare office
// sends on request: one row per household member, status only. In real life an xlsx
// workbook; here CSV as Excel saves it, UTF-8 with a BOM, dates as 2023-06-01.
func (g *generator) writePublicAssistance() error {
	r := g.stream(21)
	t, err := g.newTable("public-assistance", "public-assistance.csv", UTF8BOM, true, "xlsx",
		[]string{"世帯番号", "宛名番号", "開始日", "廃止日", "扶助種別"})
	if err != nil {
		return err
	}
	broke, seen := false, 0
	for _, h := range g.households {
		ended := !h.pa && h.poverty == 1 && chance(r, 0.05)
		if !h.pa && !ended {
			continue
		}
		start, end := h.paStart, time.Time{}
		if ended {
			start = addDays(g.asOf, -between(r, 900, 2500))
			end = addDays(g.asOf, -between(r, 60, 700))
		}
		kids := g.childrenOf(h) > 0
		for _, m := range h.members {
			p := g.persons[m]
			if !p.residentAt(start) && !p.residentAt(g.asOf) {
				continue
			}
			kinds := "生活扶助・医療扶助"
			if kids {
				kinds = "生活扶助・教育扶助・医療扶助"
			}
			if h.addr.building != "" {
				kinds += "・住宅扶助"
			}
			t.set("世帯番号", h.no)
			t.set("宛名番号", p.resNo)
			t.set("開始日", formatDate(start, styleISO))
			t.set("廃止日", formatDate(end, styleISO))
			t.set("扶助種別", kinds)
			line := t.emit(p.idx)
			if !ended && g.isChild(p) && p.residentAt(g.asOf) {
				g.evid("POV-1", p.idx, t.info, line)
			}
			if seen++; !broke && seen >= 3 && !ended {
				t.set("世帯番号", h.no)
				t.set("宛名番号", p.resNo)
				t.set("開始日", "2024-02-30")
				t.set("扶助種別", kinds)
				t.emitBroken(p.idx, "開始日", "no such date")
				broke = true
			}
		}
	}
	return t.close()
}

// writeDisability writes disability certificates (障害者手帳) and child disability service
// certificates (障害児通所支援の受給者証). CP932, CRLF; dates as R05.06.01.
func (g *generator) writeDisability() error {
	r := g.stream(22)
	t, err := g.newTable("disability", "disability.csv", CP932, true, "",
		[]string{"宛名番号", "手帳種別", "等級", "交付日", "受給者証", "受給者証交付日"})
	if err != nil {
		return err
	}
	broken := g.brokenPositions(1)
	n := 0
	for _, p := range g.persons {
		if !p.has(fDisability|fChildService) || !p.residentAt(g.asOf) {
			continue
		}
		a := age(p.birth, g.asOf)
		issued := func(years int) time.Time {
			first := p.birth.AddDate(1, 0, 0)
			if p.since.After(first) {
				first = p.since
			}
			d := addDays(g.asOf, -between(r, 30, 365*years))
			if d.Before(first) {
				d = addDays(first, r.IntN(max(daysBetween(first, g.asOf), 1)))
			}
			return d
		}
		t.set("宛名番号", p.resNo)
		if p.has(fDisability) {
			kind := []string{"身体", "身体", "身体", "身体", "身体", "身体", "身体", "精神", "精神", "療育"}[r.IntN(10)]
			if a < 18 {
				kind = []string{"療育", "療育", "身体"}[r.IntN(3)]
			}
			t.set("手帳種別", kind)
			switch kind {
			case "身体":
				t.set("等級", fmt.Sprintf("%d級", 1+r.IntN(6)))
			case "精神":
				t.set("等級", fmt.Sprintf("%d級", 1+r.IntN(3)))
			default:
				t.set("等級", []string{"A", "B", "C"}[r.IntN(3)])
			}
			t.set("交付日", formatDate(issued(20), styleLetter))
		}
		if p.has(fChildService) && a < 18 {
			svc := "放課後等デイサービス"
			if a < 6 {
				svc = "児童発達支援"
			}
			t.set("受給者証", svc)
			t.set("受給者証交付日", formatDate(issued(2), styleLetter))
		}
		line := t.emit(p.idx)
		switch {
		case a < 18:
			g.evid("DEV-6", p.idx, t.info, line)
		case p.has(fDisability):
			g.evid("care", p.idx, t.info, line)
		}
		if n++; n == broken[0] {
			t.set("宛名番号", p.resNo)
			t.set("手帳種別", "身体")
			t.set("等級", "3級")
			t.set("交付日", "R07.13.01")
			t.emitBroken(p.idx, "交付日", "no such date")
		}
	}
	return t.close()
}

// writeLTC writes the long-term-care certifications of the insurance section, with the
// insured number of long-term-care insurance (被保険者番号, 10 digits) beside the resident
// number. CP932, CRLF; 認定日 as 2023/06/01; 認定有効期間 as one field "R07.04.01～R08.03.31".
func (g *generator) writeLTC() error {
	r := g.stream(23)
	t, err := g.newTable("ltc", "ltc.csv", CP932, true, "",
		[]string{"被保険者番号", "宛名番号", "要介護度", "認定日", "認定有効期間"})
	if err != nil {
		return err
	}
	levels := []string{"要支援1", "要支援2", "要介護1", "要介護2", "要介護3", "要介護4", "要介護5"}
	no := 100_000 + r.IntN(100_000)
	broke, seen := false, 0
	for _, p := range g.persons {
		if !p.has(fLTC) || !p.residentAt(g.asOf) {
			continue
		}
		no += 1 + r.IntN(7)
		p.ltcNo = fmt.Sprintf("%010d", no)
		certified := addDays(g.asOf, -between(r, 20, 700))
		if certified.Before(p.since) {
			certified = addDays(p.since, 10)
		}
		start := certified
		end := start.AddDate([]int{1, 2, 3}[r.IntN(3)], 0, -1)
		for end.Before(g.asOf) {
			end = end.AddDate(1, 0, 0)
		}
		t.set("被保険者番号", p.ltcNo)
		t.set("宛名番号", p.resNo)
		t.set("要介護度", levels[pick(r, []float64{0.14, 0.14, 0.2, 0.17, 0.13, 0.13, 0.09})])
		t.set("認定日", formatDate(certified, styleSlash))
		t.set("認定有効期間", formatDate(start, styleLetter)+"～"+formatDate(end, styleLetter))
		line := t.emit(p.idx)
		g.evid("care", p.idx, t.info, line)
		if seen++; !broke && seen >= 3 {
			t.set("被保険者番号", p.ltcNo)
			t.set("宛名番号", p.resNo)
			t.set("要介護度", "要介護6")
			t.set("認定日", formatDate(certified, styleSlash))
			t.emitBroken(p.idx, "要介護度", "no such care level")
			broke = true
		}
	}
	return t.close()
}

// writeArrears writes the tax section's arrears flags: only whether there are arrears, since
// when, and of what; never an amount. CP932, CRLF; 滞納開始年月 as 2025/10.
func (g *generator) writeArrears() error {
	r := g.stream(24)
	t, err := g.newTable("arrears", "arrears.csv", CP932, true, "",
		[]string{"宛名番号", "世帯番号", "滞納有無", "滞納開始年月", "滞納種別"})
	if err != nil {
		return err
	}
	broke, seen := false, 0
	for _, h := range g.households {
		if h.head < 0 || !h.out.IsZero() {
			continue
		}
		head := g.persons[h.head]
		resolved := !h.arrears && chance(r, 0.005)
		if !h.arrears && !resolved {
			continue
		}
		t.set("宛名番号", head.resNo)
		t.set("世帯番号", h.no)
		kind := []string{"町県民税", "国民健康保険税", "国民健康保険税", "固定資産税"}[r.IntN(4)]
		if g.hasFlag(h, fNursery) && chance(r, 0.4) {
			kind = "保育料"
		} else if g.hasFlag(h, fSchoolAid) == false && g.childrenOf(h) > 0 && chance(r, 0.2) {
			kind = "給食費"
		}
		t.set("滞納種別", kind)
		if resolved {
			t.set("滞納有無", "無")
			t.emit(head.idx)
			continue
		}
		t.set("滞納有無", "有")
		t.set("滞納開始年月", yearMonth(h.arrStart))
		line := t.emit(head.idx)
		if h.arrStart.AddDate(0, 3, 0).After(g.asOf) {
			continue // too recent for POV-4
		}
		for _, m := range h.members {
			if c := g.persons[m]; g.isChild(c) && c.residentAt(g.asOf) {
				g.evid("POV-4", m, t.info, line)
			}
		}
		if seen++; !broke && seen >= 3 {
			t.set("宛名番号", head.resNo)
			t.set("世帯番号", h.no)
			t.set("滞納有無", "有")
			t.set("滞納開始年月", "令和7年")
			t.set("滞納種別", kind)
			t.emitBroken(head.idx, "滞納開始年月", "not a year and month")
			broke = true
		}
	}
	return t.close()
}

var (
	reportRoutes  = []string{"警察", "近隣・知人", "家族・親戚", "学校", "保育所", "医療機関", "本人", "その他"}
	routeWeights  = []float64{0.5, 0.12, 0.08, 0.08, 0.03, 0.03, 0.01, 0.15}
	abuseTypes    = []string{"心理的", "身体的", "ネグレクト", "性的"}
	abuseWeights  = []float64{0.6, 0.23, 0.16, 0.01}
	urgencyLevels = []string{"高", "中", "低"}
)

// writeCaseLedger writes the child welfare ledger: abuse consultations and reports
// (受付), council registrations (要保護児童, 要支援児童, 特定妊婦) and closures. No
// narratives. In real life an Excel ledger; here CSV, CP932, CRLF; 受付日 and 終結日 as
// 令和5年6月1日, 登録日 as R5.6.1.
func (g *generator) writeCaseLedger() error {
	r := g.stream(25)
	t, err := g.newTable("case-ledger", "case-ledger.csv", CP932, true, "xlsx",
		[]string{"宛名番号", "受付日", "通告経路", "虐待種別", "緊急度", "登録区分", "登録日", "終結日"})
	if err != nil {
		return err
	}
	broke, seen := false, 0
	for _, p := range g.persons {
		switch {
		case p.has(fAbuse) || p.has(fAbuseOld):
			old := !p.has(fAbuse)
			received := addDays(g.asOf, -between(r, 10, 350))
			if old {
				received = addDays(g.asOf, -between(r, 400, 1000))
			}
			if received.Before(p.birth) || !p.residentAt(received) {
				if old {
					continue
				}
				received = addDays(maxTime(p.since, p.birth), 1+r.IntN(max(daysBetween(maxTime(p.since, p.birth), g.asOf)-1, 1)))
			}
			t.set("宛名番号", p.resNo)
			t.set("受付日", formatDate(received, styleKanji))
			t.set("通告経路", reportRoutes[pick(r, routeWeights)])
			kind := abuseTypes[pick(r, abuseWeights)]
			if p.has(fNeglect) {
				kind = "ネグレクト"
			}
			t.set("虐待種別", kind)
			t.set("緊急度", urgencyLevels[pick(r, []float64{0.1, 0.4, 0.5})])
			registered := p.has(fRegistered) && !old
			if registered {
				t.set("登録区分", []string{"要支援児童", "要保護児童"}[pick(r, []float64{0.7, 0.3})])
				reg := addDays(received, 7+r.IntN(50))
				if !reg.Before(g.asOf) {
					reg = addDays(g.asOf, -1)
				}
				t.set("登録日", formatDate(reg, styleLetterBare))
			} else if old || chance(r, 0.6) {
				closed := addDays(received, 20+r.IntN(120))
				if closed.Before(g.asOf) {
					t.set("終結日", formatDate(closed, styleKanji))
				}
			}
			saved := append([]string(nil), t.rec...)
			line := t.emit(p.idx)
			if !old {
				g.evid("ABU-1", p.idx, t.info, line)
			}
			if registered {
				g.evid("ABU-2", p.idx, t.info, line)
			}
			if seen++; !broke && seen >= 3 {
				copy(t.rec, saved)
				t.set("受付日", "令和元年4月1日")
				t.emitBroken(p.idx, "受付日", "cross-era date: 令和 began on 2019-05-01")
				broke = true
			}
		case p.has(fSpecifiedPregnant) && p.baby >= 0:
			b := g.persons[p.baby]
			received := addDays(b.birth, -between(r, 60, 200))
			if !p.residentAt(received) {
				continue
			}
			t.set("宛名番号", p.resNo)
			t.set("受付日", formatDate(received, styleKanji))
			t.set("登録区分", "特定妊婦")
			t.set("登録日", formatDate(addDays(received, 14), styleLetterBare))
			line := t.emit(p.idx)
			g.evid("PRE-1", p.idx, t.info, line)
		}
	}
	return t.close()
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
