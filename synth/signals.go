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
	"math/rand/v2"
	"time"
)

// flag is a latent fact about a person that the source files express. The files are written
// from these flags, and the ground truth's expected rule hits are derived from them.
type flag uint64

const (
	fEPDS              flag = 1 << iota // mother: EPDS total ≥ 9 at the 1-month postpartum checkup
	fEPDS10                             // mother: EPDS item 10 ≥ 1
	fNoPostpartum                       // mother: no postpartum checkup after a recent birth
	fSpecifiedPregnant                  // mother: registered as 特定妊婦
	fNeglect                            // child: the family misses appointments
	fMiss34m                            // child: missed the 3–4-month checkup
	fMiss15                             // child: missed the 1.5-year checkup
	fMiss3y                             // child: missed the 3-year checkup
	fMissVacc                           // child: routine vaccinations overdue
	fDev15                              // child: 精神発達 or 言語 not healthy at the 1.5-year checkup
	fDev3                               // child: the same at the 3-year checkup
	fChildService                       // child: 障害児通所支援 (受給者証)
	fDisability                         // disability certificate (障害者手帳)
	fLTC                                // long-term-care certification (要介護認定)
	fAbuse                              // child: abuse consultation in the last 12 months
	fAbuseOld                           // child: an older, closed consultation (outside ABU-1's window)
	fRegistered                         // child: registered with the council (要対協), active
	fNA                                 // pupil: ≥ 30 days absent (事) in the last school year
	fSick                               // pupil: ≥ 30 days ill (病), not non-attendance
	fStrain                             // pupil: late, leaving early and absent more in recent months
	fYoungCarer                         // child: cares for a household member
	fInvisible                          // child: no contact with any service
	fNursery                            // child: enrolled at a nursery, centre or kindergarten
	fSchoolAid                          // pupil: 就学援助
	fYohogo                             // pupil: 就学援助 as 要保護
	fRearing                            // child: 児童扶養手当
	fSpecialClass                       // pupil: 特別支援学級
	fRepeatMover                        // moved in or out at least twice in 24 months
)

func (p *person) has(f flag) bool { return p.flags&f != 0 }

// isChild reports whether p is 0–17 on AsOf.
func (g *generator) isChild(p *person) bool { return age(p.birth, g.asOf) < 18 }

// pupil reports whether p is in grades 1–9 in school year fy and lived in the town then.
func (g *generator) pupil(p *person, fy int) bool {
	gr := grade(p.birth, fy)
	return gr >= 1 && gr <= 9 && p.residentAt(time.Date(fy, time.May, 1, 0, 0, 0, 0, time.UTC))
}

func (g *generator) fy() int { return schoolYear(g.asOf) }

// recentBirth reports whether p was born in the town within days of AsOf, to a mother in the town.
func (g *generator) recentBirth(p *person, days int) bool {
	return p.bornHere && p.mother >= 0 && !p.birth.Before(addDays(g.asOf, -days)) && p.birth.Before(g.asOf)
}

// assignSignals draws the background prevalences of DOMAIN §7, correlated within households.
func (g *generator) assignSignals() {
	r := g.stream(2)
	rates := g.opts.Rates
	// Care needs of adults.
	for _, p := range g.persons {
		a := age(p.birth, g.asOf)
		switch {
		case a >= 85:
			setIf(p, fLTC, chance(r, 0.5))
		case a >= 75:
			setIf(p, fLTC, chance(r, 0.18))
		case a >= 65:
			setIf(p, fLTC, chance(r, 0.04))
		}
		switch {
		case a >= 65:
			setIf(p, fDisability, chance(r, 0.08))
		case a >= 18:
			setIf(p, fDisability, chance(r, 0.03))
		default:
			setIf(p, fDisability, chance(r, 0.006))
		}
	}
	// Poverty clusters in households: single parents are poorer.
	withKids := make([]bool, len(g.households))
	for _, h := range g.households {
		for _, m := range h.members {
			if g.isChild(g.persons[m]) {
				withKids[h.idx] = true
			}
		}
	}
	severe := rates.SchoolAid * rates.SchoolAidYohogo / 1.5
	for _, h := range g.households {
		mult := 1.0
		if h.single {
			mult = 3.5
		}
		switch {
		case !withKids[h.idx]:
			if h.kind == hhSingleElderly && chance(r, 0.03) {
				h.poverty, h.pa = 2, true
			}
		case chance(r, severe*mult):
			h.poverty = 2
			h.pa = true
		case chance(r, 0.13*min(mult, 2.5)):
			h.poverty = 1
		}
		if h.pa {
			h.paStart = addDays(g.asOf, -g.between(60, 3000))
		}
		p := [3]float64{0.015, 0.15, 0.35}[h.poverty]
		if !withKids[h.idx] {
			p = 0.02
		}
		if chance(r, p) {
			h.arrears = true
			h.arrStart = addDays(g.asOf, -g.between(30, 900))
		}
	}
	// Children.
	var nKids, nNeglect int
	for _, p := range g.persons {
		if !g.isChild(p) {
			continue
		}
		h := g.households[p.hh]
		nKids++
		pn := 0.012
		if h.poverty > 0 {
			pn *= 3
		}
		if h.lodger || p.rel == "妻の子" || p.rel == "夫の子" {
			pn *= 2
		}
		if chance(r, pn) {
			p.flags |= fNeglect
			nNeglect++
		}
		if h.single && h.poverty > 0 && chance(r, 0.9) || h.single && chance(r, 0.5) {
			p.flags |= fRearing
		}
	}
	share := float64(nNeglect) / float64(max(nKids, 1))
	miss := max(0, (rates.MissedCheckup-share*0.85)/max(1-share, 0.01))
	for _, p := range g.persons {
		if !g.isChild(p) {
			continue
		}
		h := g.households[p.hh]
		pm := miss
		if p.has(fNeglect) {
			pm = 0.85
		}
		setIf(p, fMiss34m, chance(r, pm))
		setIf(p, fMiss15, chance(r, pm))
		setIf(p, fMiss3y, chance(r, pm))
		switch {
		case p.has(fNeglect):
			setIf(p, fMissVacc, chance(r, 0.9))
		case p.has(fMiss34m | fMiss15 | fMiss3y):
			setIf(p, fMissVacc, chance(r, 0.3))
		default:
			setIf(p, fMissVacc, chance(r, 0.01))
		}
		setIf(p, fDev15, chance(r, 0.07))
		setIf(p, fDev3, chance(r, 0.06))
		if p.has(fDev15|fDev3) && chance(r, 0.25) || chance(r, 0.006) {
			p.flags |= fChildService
		}
		a := age(p.birth, g.asOf)
		pe := [18]float64{0.2, 0.5, 0.55, 0.93, 0.95, 0.96}[a]
		if p.has(fNeglect) {
			pe *= 0.6
		}
		setIf(p, fNursery, a <= 5 && ageMonths(p.birth, g.asOf) >= 6 && chance(r, pe))
		if p.has(fChildService|fDisability) && g.pupil(p, g.fy()) && chance(r, 0.6) {
			p.flags |= fSpecialClass
		}
		_ = h
	}
	g.schoolSignals(r)
	g.welfareSignals(r)
	g.motherSignals(r)
	g.invisible(r)
	g.repeatMovers(r)
}

func setIf(p *person, f flag, ok bool) {
	if ok {
		p.flags |= f
	}
}

// schoolSignals: non-attendance, illness, school aid, young carers and their strain.
func (g *generator) schoolSignals(r *rand.Rand) {
	rates := g.opts.Rates
	prev, cur := g.fy()-1, g.fy()
	// Non-attendance, in the last full school year: more in junior high and in poor families.
	var pupils []*person
	var weights []float64
	sum := 0.0
	for _, p := range g.persons {
		if !g.pupil(p, prev) || !p.residentThrough(time.Date(prev, time.April, 1, 0, 0, 0, 0, time.UTC), time.Date(prev+1, time.March, 31, 0, 0, 0, 0, time.UTC)) {
			continue
		}
		w := 1.0
		if grade(p.birth, prev) >= 7 {
			w = 3.2
		}
		if g.households[p.hh].poverty > 0 {
			w *= 1.6
		}
		pupils = append(pupils, p)
		weights = append(weights, w)
		sum += w
	}
	for i, p := range pupils {
		setIf(p, fNA, chance(r, rates.NonAttendance*float64(len(pupils))*weights[i]/sum))
		setIf(p, fSick, !p.has(fNA) && chance(r, 0.004))
	}
	// School aid this school year: 要保護 for families on public assistance, 準要保護 for
	// the others in hardship, calibrated to the rate.
	var n, nSevere, nHard int
	for _, p := range g.persons {
		if !g.pupil(p, cur) || !p.residentAt(g.asOf) {
			continue
		}
		n++
		switch g.households[p.hh].poverty {
		case 2:
			nSevere++
		case 1:
			nHard++
		}
	}
	q := 0.0
	if nHard > 0 {
		q = min(1, max(0, (rates.SchoolAid*float64(n)-float64(nSevere)-0.01*float64(n-nSevere-nHard))/float64(nHard)))
	}
	for _, p := range g.persons {
		if !g.pupil(p, cur) || !p.residentAt(g.asOf) {
			continue
		}
		switch g.households[p.hh].poverty {
		case 2:
			p.flags |= fSchoolAid | fYohogo
		case 1:
			setIf(p, fSchoolAid, chance(r, q))
		default:
			setIf(p, fSchoolAid, chance(r, 0.01))
		}
	}
	// Young carers: children 10–17 in a household where someone needs care.
	var carers []*person
	var all int
	for _, p := range g.persons {
		a := age(p.birth, g.asOf)
		if a < 10 || a > 17 || !p.residentAt(g.asOf) {
			continue
		}
		all++
		if g.careNeed(p) >= 0 {
			carers = append(carers, p)
		}
	}
	pc := 0.0
	if len(carers) > 0 {
		pc = min(0.9, rates.YoungCarer*float64(all)/float64(len(carers)))
	}
	for _, p := range carers {
		if chance(r, pc) {
			p.flags |= fYoungCarer
			setIf(p, fStrain, g.pupil(p, cur) && chance(r, 0.6))
		}
	}
}

// careNeed returns a member of p's household other than p who holds a long-term-care or
// disability certification, or -1.
func (g *generator) careNeed(p *person) int32 {
	for _, m := range g.households[p.hh].members {
		q := g.persons[m]
		if m != p.idx && q.has(fLTC|fDisability) && age(q.birth, g.asOf) >= 18 && q.residentAt(g.asOf) {
			return m
		}
	}
	return -1
}

// welfareSignals: abuse consultations and registrations, correlated with neglect, poverty
// and step-families.
func (g *generator) welfareSignals(r *rand.Rand) {
	var kids []*person
	var w []float64
	sum := 0.0
	for _, p := range g.persons {
		if !g.isChild(p) || !p.residentAt(g.asOf) {
			continue
		}
		h := g.households[p.hh]
		m := 1.0
		if p.has(fNeglect) {
			m += 4
		}
		if h.poverty > 0 {
			m++
		}
		if h.lodger || p.rel == "妻の子" || p.rel == "夫の子" {
			m++
		}
		kids = append(kids, p)
		w = append(w, m)
		sum += m
	}
	rate := g.opts.Rates.AbuseConsultation
	for i, p := range kids {
		if chance(r, rate*float64(len(kids))*w[i]/sum) {
			p.flags |= fAbuse
			setIf(p, fRegistered, chance(r, 0.45))
		} else {
			setIf(p, fAbuseOld, chance(r, rate*0.5))
		}
	}
}

// motherSignals: EPDS at the 1-month postpartum checkup and 特定妊婦 registrations, for the
// mothers of births of the last 14 months.
func (g *generator) motherSignals(r *rand.Rand) {
	rates := g.opts.Rates
	low10 := max(0, (rates.EPDSItem10-rates.EPDSHigh*0.15)/max(1-rates.EPDSHigh, 0.01))
	for _, c := range g.persons {
		if !g.recentBirth(c, 425) {
			continue
		}
		m := g.persons[c.mother]
		if m.baby >= 0 {
			continue // an earlier birth in the window
		}
		m.baby = c.idx
		ph := rates.EPDSHigh / 1.1 // poorer mothers are more often depressed; 1.1 is the mean factor
		if g.households[m.hh].poverty > 0 {
			ph *= 1.5
		}
		switch {
		case chance(r, ph):
			m.flags |= fEPDS
			setIf(m, fEPDS10, chance(r, 0.15))
		case chance(r, 0.03):
			m.flags |= fNoPostpartum
		default:
			setIf(m, fEPDS10, chance(r, low10))
		}
		p := 0.01
		if g.households[m.hh].poverty > 0 {
			p = 0.04
		}
		setIf(m, fSpecifiedPregnant, chance(r, p))
	}
}

// invisible picks the children 0–12 that no service has seen.
func (g *generator) invisible(r *rand.Rand) {
	var kids []*person
	for _, p := range g.persons {
		if a := age(p.birth, g.asOf); a >= 1 && a <= 11 && p.residentAt(g.asOf) && p.bornHere {
			kids = append(kids, p)
		}
	}
	n := int(g.opts.Rates.InvisibleChild*float64(len(kids)) + r.Float64())
	for _, i := range r.Perm(len(kids))[:min(n, len(kids))] {
		makeInvisible(kids[i])
	}
}

func makeInvisible(p *person) {
	p.flags |= fInvisible | fMiss34m | fMiss15 | fMiss3y | fMissVacc
	p.flags &^= fNursery | fChildService | fDisability | fAbuse | fAbuseOld | fRegistered | fSpecialClass | fDev15 | fDev3
}

// repeatMovers makes households with children move in, out and in again within 24 months.
func (g *generator) repeatMovers(r *rand.Rand) {
	var kids int
	for _, p := range g.persons {
		if g.isChild(p) && p.residentAt(g.asOf) {
			kids++
		}
	}
	target := int(g.opts.Rates.RepeatMovers*float64(kids) + 0.5)
	moved := 0
	for _, i := range r.Perm(len(g.households)) {
		if moved >= target {
			break
		}
		h := g.households[i]
		if n := g.childrenOf(h); n > 0 && h.out.IsZero() && !g.hasFlag(h, fInvisible) {
			g.makeRepeatMover(h, r)
			moved += n
		}
	}
}

func (g *generator) childrenOf(h *household) int {
	n := 0
	for _, m := range h.members {
		if g.isChild(g.persons[m]) {
			n++
		}
	}
	return n
}

func (g *generator) hasFlag(h *household, f flag) bool {
	for _, m := range h.members {
		if g.persons[m].has(f) {
			return true
		}
	}
	return false
}

// makeRepeatMover: the household came 19–23 months ago, left 11–15 months ago and came back
// in the last 10 months.
func (g *generator) makeRepeatMover(h *household, r *rand.Rand) {
	t1 := addDays(g.asOf, -g.between(580, 700))
	t2 := addDays(g.asOf, -g.between(340, 460))
	t3 := addDays(g.asOf, -g.between(20, 300))
	h.native = false
	h.history = []move{{true, t1, otherAddress(r)}, {false, t2, otherAddress(r)}}
	h.since, h.from = t3, otherAddress(r)
	h.prevAddr, h.moved = address{}, time.Time{}
	for _, m := range h.members {
		p := g.persons[m]
		p.flags |= fRepeatMover
		p.since, p.bornHere = t3, false
		switch {
		case !p.birth.After(t1):
			p.earlierIn, p.earlierOut = t1, t2
		case p.birth.Before(t2):
			p.earlierIn, p.earlierOut, p.bornHere = p.birth, t2, true
		case !p.birth.Before(t3):
			p.since, p.bornHere = p.birth, true
		}
	}
}
