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

import "time"

// plantedCase is a person made to trigger a rule of DOMAIN §4.
type plantedCase struct {
	rule    string
	subject int32 // the person the rule is about: the child, or the mother for PPD and PRE rules
	child   int32 // the child concerned (the subject itself for child rules)
	note    string
}

// plant makes Planted people per rule meet the rule's definition unmistakably. Each planted
// person is used for one rule only (POV-C's household aside), so that a rule engine's result
// can be checked rule by rule.
func (g *generator) plant() {
	r := g.stream(3)
	used := make([]bool, len(g.persons))
	k := g.opts.Planted
	cur := g.fy()
	choose := func(rule, note string, ok func(p *person) bool, apply func(p *person) (subject, child int32)) {
		var cands []*person
		for _, p := range g.persons {
			if !used[p.idx] && p.residentAt(g.asOf) && ok(p) {
				cands = append(cands, p)
			}
		}
		n := 0
		for _, i := range r.Perm(len(cands)) {
			if n == k {
				break
			}
			p := cands[i]
			if used[p.idx] {
				continue
			}
			subject, child := apply(p)
			if subject < 0 {
				continue
			}
			used[subject], used[child] = true, true
			g.planted = append(g.planted, plantedCase{rule, subject, child, note})
			n++
		}
	}
	months := func(p *person) int { return ageMonths(p.birth, g.asOf) }
	plain := func(p *person) bool {
		return p.flags&(fInvisible|fNeglect|fRepeatMover|fAbuse|fRegistered|fNA|fStrain|fYoungCarer) == 0
	}
	bornHere := func(p *person) bool { return p.bornHere && plain(p) }
	mother := func(p *person, days int) *person {
		if !g.recentBirth(p, days) {
			return nil
		}
		m := g.persons[p.mother]
		if m.baby != p.idx || used[m.idx] || !m.residentAt(g.asOf) || !m.residentAt(addDays(p.birth, 40)) {
			return nil
		}
		return m
	}
	recent := func(p *person) bool { return addDays(p.birth, 45).Before(g.asOf) && mother(p, 365) != nil }

	choose("PPD-1", "EPDS total ≥ 9 at the 1-month postpartum checkup", recent, func(p *person) (int32, int32) {
		m := mother(p, 365)
		m.flags = m.flags&^(fNoPostpartum|fEPDS10) | fEPDS
		return m.idx, p.idx
	})
	choose("PPD-2", "EPDS item 10 (self-harm) ≥ 1 with a total ≥ 9", recent, func(p *person) (int32, int32) {
		m := mother(p, 365)
		m.flags = m.flags&^fNoPostpartum | fEPDS | fEPDS10
		return m.idx, p.idx
	})
	choose("PPD-3", "no postpartum checkup by 8 weeks after the birth", func(p *person) bool {
		d := daysBetween(p.birth, g.asOf)
		return d >= 60 && d <= 300 && mother(p, 300) != nil
	}, func(p *person) (int32, int32) {
		m := mother(p, 300)
		m.flags = m.flags&^(fEPDS|fEPDS10) | fNoPostpartum
		return m.idx, p.idx
	})
	choose("PRE-1", "registered as 特定妊婦 (specified pregnant woman) before the birth", recent, func(p *person) (int32, int32) {
		m := mother(p, 365)
		m.flags |= fSpecifiedPregnant
		return m.idx, p.idx
	})
	choose("DEV-1", "言語 or 精神発達 judged 要観察/要精密 at the 1.5-year checkup", func(p *person) bool {
		return months(p) >= 20 && months(p) < 34 && bornHere(p)
	}, func(p *person) (int32, int32) {
		p.flags = p.flags&^fMiss15 | fDev15
		return p.idx, p.idx
	})
	choose("DEV-2", "言語 or 精神発達 judged 要観察/要精密 at the 3-year checkup", func(p *person) bool {
		return months(p) >= 44 && months(p) < 66 && bornHere(p)
	}, func(p *person) (int32, int32) {
		p.flags = p.flags&^fMiss3y | fDev3
		return p.idx, p.idx
	})
	choose("DEV-4", "no 1.5-year checkup by the 2nd birthday", func(p *person) bool {
		return months(p) >= 25 && months(p) < 34 && bornHere(p)
	}, func(p *person) (int32, int32) {
		p.flags = p.flags&^(fDev15|fMissVacc) | fMiss15
		return p.idx, p.idx
	})
	choose("DEV-5", "no 3–4-month checkup by 6 months of age", func(p *person) bool {
		return months(p) >= 7 && months(p) < 12 && bornHere(p)
	}, func(p *person) (int32, int32) {
		p.flags = p.flags&^fMissVacc | fMiss34m
		return p.idx, p.idx
	})
	choose("DEV-6", "child disability service in use (context: suppresses DEV flags)", func(p *person) bool {
		a := age(p.birth, g.asOf)
		return a >= 3 && a <= 12 && bornHere(p)
	}, func(p *person) (int32, int32) {
		p.flags |= fChildService
		return p.idx, p.idx
	})
	choose("ABU-1", "abuse consultation (虐待相談) in the last 12 months", func(p *person) bool {
		return g.isChild(p) && plain(p)
	}, func(p *person) (int32, int32) {
		p.flags |= fAbuse
		return p.idx, p.idx
	})
	choose("ABU-2", "registered with the council (要対協) as 要支援児童 or 要保護児童, active", func(p *person) bool {
		return g.isChild(p) && plain(p)
	}, func(p *person) (int32, int32) {
		p.flags |= fAbuse | fRegistered
		return p.idx, p.idx
	})
	choose("ABU-4", "missed the 1.5-year checkup and routine vaccinations overdue > 3 months", func(p *person) bool {
		return months(p) >= 25 && months(p) < 34 && bornHere(p)
	}, func(p *person) (int32, int32) {
		p.flags = p.flags&^fDev15 | fMiss15 | fMissVacc | fNeglect
		return p.idx, p.idx
	})
	choose("ABU-5", "moved in, out and in again within 24 months", func(p *person) bool {
		h := g.households[p.hh]
		return g.isChild(p) && plain(p) && h.pa == false && !g.hasFlag(h, fInvisible|fRepeatMover)
	}, func(p *person) (int32, int32) {
		g.makeRepeatMover(g.households[p.hh], r)
		return p.idx, p.idx
	})
	choose("POV-C", "public assistance, 要保護 school aid and arrears in one household (POV-1, POV-2, POV-4)", func(p *person) bool {
		return g.pupil(p, cur) && plain(p) && g.households[p.hh].poverty == 0
	}, func(p *person) (int32, int32) {
		h := g.households[p.hh]
		h.poverty, h.pa, h.arrears = 2, true, true
		h.paStart = addDays(g.asOf, -g.between(200, 900))
		h.arrStart = addDays(g.asOf, -g.between(150, 400))
		p.flags |= fSchoolAid | fYohogo
		return p.idx, p.idx
	})
	fyStart := time.Date(cur-1, time.April, 1, 0, 0, 0, 0, time.UTC)
	choose("NA-1", "≥ 30 days absent for reasons other than illness (事) in the last school year", func(p *person) bool {
		return g.pupil(p, cur-1) && grade(p.birth, cur) <= 9 && p.residentThrough(fyStart, g.asOf) && plain(p) && !p.has(fSick)
	}, func(p *person) (int32, int32) {
		p.flags |= fNA
		return p.idx, p.idx
	})
	strain := func(p *person) bool {
		return g.pupil(p, cur) && p.residentThrough(fyStart, g.asOf) && plain(p) && !p.has(fSick)
	}
	choose("NA-2", "non-illness absences above 30 × school days elapsed ÷ 200 this school year", strain, func(p *person) (int32, int32) {
		p.flags |= fStrain
		return p.idx, p.idx
	})
	choose("NA-3", "late arrivals and early leaving at least doubled against the pupil's 3-month mean", strain, func(p *person) (int32, int32) {
		p.flags |= fStrain
		return p.idx, p.idx
	})
	choose("YC-1", "a household member needs care (要介護) and the pupil shows strain (NA-2, NA-3)", func(p *person) bool {
		return strain(p) && grade(p.birth, cur) >= 4 && g.elder(p) >= 0
	}, func(p *person) (int32, int32) {
		e := g.persons[g.elder(p)]
		e.flags |= fLTC
		p.flags |= fYoungCarer | fStrain
		return p.idx, p.idx
	})
	choose("YC-2", "single parent with a disability and a sibling under 6", func(p *person) bool {
		h := g.households[p.hh]
		return h.single && g.isChild(p) && p.idx != h.head && age(p.birth, g.asOf) >= 8 && plain(p) && g.youngSibling(p) && h.head >= 0 && !used[h.head]
	}, func(p *person) (int32, int32) {
		g.persons[g.households[p.hh].head].flags |= fDisability
		p.flags |= fYoungCarer
		return p.idx, p.idx
	})
	choose("INV-1", "resident on 1 June, no checkup, no nursery or school, no welfare service", func(p *person) bool {
		a := age(p.birth, g.asOf)
		return a >= 1 && a <= 11 && bornHere(p)
	}, func(p *person) (int32, int32) {
		makeInvisible(p)
		return p.idx, p.idx
	})
}

// elder returns a household member of p aged 65 or more, or -1.
func (g *generator) elder(p *person) int32 {
	for _, m := range g.households[p.hh].members {
		if q := g.persons[m]; age(q.birth, g.asOf) >= 65 && q.residentAt(g.asOf) {
			return m
		}
	}
	return -1
}

func (g *generator) youngSibling(p *person) bool {
	for _, m := range g.households[p.hh].members {
		if q := g.persons[m]; m != p.idx && age(q.birth, g.asOf) < 6 {
			return true
		}
	}
	return false
}
