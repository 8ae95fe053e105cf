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
	"time"
)

// person is one resident or former resident.
type person struct {
	idx                 int32
	resNo               string // 宛名番号, 15 digits with leading zeros
	hh                  int32
	family, familyKana  string
	given, givenKana    string
	official            string // the family name as the register spells it, when it differs (髙橋)
	sex                 uint8  // 1 male, 2 female
	birth               time.Time
	rel                 string    // 続柄 to the head of household
	mother, father      int32     // in the town, or -1
	since               time.Time // 住民となった日 of the current stay: birth or the last move-in
	out                 time.Time // moved out of the town (zero while resident)
	earlierIn           time.Time // an earlier stay of a repeat mover: [earlierIn, earlierOut)
	earlierOut          time.Time
	bornHere            bool
	flags               flag
	regLine             int // the line of the person's current row in the registry file
	epdsTotal, epdsItem int // at the 1-month postpartum checkup, for mothers of recent births
	hospitalID          string
	pmhKey              string
	schoolCode, classNo string
	guardian            int32
	baby                int32 // for a mother of a recent birth: the child
	ltcNo               string
}

// household is a 世帯.
type household struct {
	idx      int32
	no       string // 世帯番号
	kind     hhKind
	head     int32
	members  []int32
	addr     address
	prevAddr address   // before an in-town move (転居)
	moved    time.Time // date of the in-town move
	native   bool      // lived here for generations: members born here
	since    time.Time // moved into the town (zero for native households)
	from     address
	out      time.Time // moved out of the town (zero while resident)
	to       address
	history  []move // earlier moves in and out (repeat movers)
	poverty  uint8  // 0 none, 1 hardship, 2 severe
	pa       bool   // public assistance (生活保護)
	paStart  time.Time
	arrears  bool
	arrStart time.Time
	single   bool // one parent with children
	lodger   bool // a 同居人 lives with a single parent
}

type move struct {
	in   bool // 転入; false for 転出
	date time.Time
	addr address // where from or to
}

type hhKind uint8

const (
	hhSingleElderly hhKind = iota
	hhSingleAdult
	hhElderlyCouple
	hhCouple
	hhNuclear
	hhSingleParent
	hhThreeGen
	hhAdultChildren
	hhOther
)

// hhMix is the share of each kind of household, tuned so that 0–17-year-olds are about 12.5 %
// of residents and households average about 2.3 people, as in rural Saitama.
var hhMix = []float64{0.15, 0.16, 0.18, 0.09, 0.115, 0.03, 0.045, 0.185, 0.045}

// residentAt reports whether p lived in the town on d.
func (p *person) residentAt(d time.Time) bool {
	if !d.Before(p.since) && (p.out.IsZero() || d.Before(p.out)) {
		return true
	}
	return !p.earlierIn.IsZero() && !d.Before(p.earlierIn) && d.Before(p.earlierOut)
}

// residentThrough reports whether p lived in the town on every day from a to b.
func (p *person) residentThrough(a, b time.Time) bool {
	return !a.Before(p.since) && (p.out.IsZero() || b.Before(p.out))
}

func (p *person) name() string { return p.family + "　" + p.given }
func (p *person) kana() string { return p.familyKana + "　" + p.givenKana }
func (p *person) regFamily() string {
	if p.official != "" {
		return p.official
	}
	return p.family
}

// buildTown makes the households and people: exactly Residents people resident on AsOf,
// and about MoveOut × Residents former residents who left during the last year.
func (g *generator) buildTown() {
	r := g.r
	n := g.opts.Residents
	count := 0
	for count < n {
		k := hhKind(pick(r, hhMix))
		h := g.makeHousehold(k, n-count)
		count += len(h.members)
	}
	// Former residents: households that moved out during the last 12 months.
	gone := 0
	for target := int(float64(n)*g.opts.Rates.MoveOut + 0.5); gone < target; {
		k := hhKind(pick(r, hhMix))
		h := g.makeHousehold(k, target-gone)
		h.out = addDays(g.asOf, -1-r.IntN(364))
		h.to = otherAddress(r)
		gone += len(h.members)
	}
	g.settle()
	g.number()
}

func pick(r *rand.Rand, weights []float64) int {
	x := r.Float64()
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}

// birthAt returns a birth date for someone aged a on AsOf.
func (g *generator) birthAt(a int) time.Time {
	return addDays(g.asOf.AddDate(-a-1, 0, 0), 1+g.r.IntN(365))
}

func (g *generator) between(lo, hi int) int { return between(g.r, lo, hi) }

// between draws an integer from lo to hi inclusive.
func between(r *rand.Rand, lo, hi int) int { return lo + r.IntN(hi-lo+1) }

// childAgeWeights is the age of the youngest child of a family, 0–17. Older siblings come
// on top, so the weights fall with age to give about as many children of each age, a little
// fewer at the younger ages (births decline).
var childAgeWeights = func() []float64 {
	w := make([]float64, 18)
	sum := 0.0
	for a := range w {
		w[a] = 1.0 - 0.02*float64(a)
		sum += w[a]
	}
	for a := range w {
		w[a] /= sum
	}
	return w
}()

// makeHousehold adds a household of kind k with at most limit people.
func (g *generator) makeHousehold(k hhKind, limit int) *household {
	r := g.r
	if limit < 3 && (k == hhNuclear || k == hhThreeGen || k == hhAdultChildren || k == hhSingleParent) {
		k = hhSingleAdult
		if limit == 2 {
			k = hhCouple
		}
	}
	if limit < 2 && k != hhSingleElderly {
		k = hhSingleAdult
	}
	h := &household{idx: int32(len(g.households)), kind: k, head: -1}
	g.households = append(g.households, h)
	h.addr = g.town.newAddress(r)
	fam := familyNames[r.IntN(len(familyNames))]
	add := func(rel string, sex uint8, birth time.Time, f name) *person {
		if len(h.members) >= limit {
			return nil
		}
		p := g.newPerson(h, rel, sex, birth, f)
		return p
	}
	switch k {
	case hhSingleElderly:
		sex := uint8(2)
		if chance(r, 0.35) {
			sex = 1
		}
		add("世帯主", sex, g.birthAt(g.between(65, 96)), fam)
	case hhSingleAdult:
		sex := uint8(1)
		if chance(r, 0.4) {
			sex = 2
		}
		add("世帯主", sex, g.birthAt(g.between(19, 64)), fam)
	case hhElderlyCouple, hhCouple:
		a := g.between(25, 64)
		if k == hhElderlyCouple {
			a = g.between(65, 92)
		}
		head := add("世帯主", 1, g.birthAt(a), fam)
		add("妻", 2, addDays(head.birth, g.between(-400, 1500)), fam)
	case hhNuclear, hhSingleParent, hhThreeGen:
		g.family(h, k, fam, limit)
	case hhAdultChildren:
		headAge := g.between(48, 82)
		head := add("世帯主", 1, g.birthAt(headAge), fam)
		var wife *person
		if chance(r, 0.8) {
			wife = add("妻", 2, addDays(head.birth, g.between(-300, 1800)), fam)
		}
		kids := 1 + r.IntN(2)
		for i := 0; i < kids; i++ {
			ca := g.between(18, min(headAge-24, 45))
			sex := uint8(1 + r.IntN(2))
			c := add("子", sex, g.birthAt(max(ca, 18)), fam)
			if c != nil {
				c.father = head.idx
				if wife != nil {
					c.mother = wife.idx
				}
			}
		}
	case hhOther:
		head := add("世帯主", uint8(1+r.IntN(2)), g.birthAt(g.between(28, 75)), fam)
		if chance(r, 0.5) {
			rel, sex := []string{"兄", "姉", "弟", "妹"}[r.IntN(4)], uint8(1)
			d := g.between(365, 3000)
			if rel == "姉" || rel == "妹" {
				sex = 2
			}
			if rel == "弟" || rel == "妹" {
				add(rel, sex, addDays(head.birth, d), fam)
			} else {
				add(rel, sex, addDays(head.birth, -d), fam)
			}
		} else {
			add("同居人", uint8(1+r.IntN(2)), addDays(head.birth, g.between(-3000, 3000)), familyNames[r.IntN(len(familyNames))])
		}
	}
	return h
}

// family makes parents and children (and grandparents) of a household with children.
func (g *generator) family(h *household, k hhKind, fam name, limit int) {
	r := g.r
	n := 1 + pick(r, []float64{0.45, 0.40, 0.15})
	births := make([]time.Time, 0, n)
	b := g.birthAt(pick(r, childAgeWeights))
	births = append(births, b)
	for len(births) < n {
		b = addDays(b, -g.between(420, 1700))
		births = append(births, b)
	}
	slices.Reverse(births) // oldest first
	motherBirth := births[0].AddDate(-g.between(22, 37), 0, -r.IntN(365))
	fatherBirth := addDays(motherBirth, g.between(-700, 2200))
	room := limit
	member := func(rel string, sex uint8, birth time.Time, f name) *person {
		if room == 0 {
			return nil
		}
		room--
		return g.newPerson(h, rel, sex, birth, f)
	}
	var mother, father *person
	childRel := "子"
	kidFam := fam
	stepRel := ""
	switch {
	case k == hhSingleParent:
		h.single = true
		if chance(r, 0.85) {
			mother = member("世帯主", 2, motherBirth, fam)
		} else {
			father = member("世帯主", 1, fatherBirth, fam)
		}
	case k == hhThreeGen && chance(r, 0.5):
		// Head is the grandfather: his son, the son's wife and their children (子の子).
		gp := member("世帯主", 1, fatherBirth.AddDate(-g.between(24, 34), 0, -r.IntN(300)), fam)
		gm := member("妻", 2, addDays(gp.birth, g.between(-300, 1500)), fam)
		father = member("子", 1, fatherBirth, fam)
		father.father, father.mother = gp.idx, gm.idx
		mother = member("子の妻", 2, motherBirth, fam)
		childRel = "子の子"
	default:
		father = member("世帯主", 1, fatherBirth, fam)
		wifeRel := "妻"
		if chance(r, 0.03) {
			// Common-law wife (妻（未届）): her own family name, which the children take.
			wifeRel = "妻（未届）"
			fam = familyNames[r.IntN(len(familyNames))]
			kidFam = fam
		}
		mother = member(wifeRel, 2, motherBirth, fam)
		switch {
		case chance(r, 0.05):
			stepRel = "妻の子"
		case chance(r, 0.02):
			stepRel = "夫の子"
		}
		if k == hhThreeGen {
			for _, sex := range []uint8{1, 2} {
				if chance(r, 0.7) {
					rel := map[uint8]string{1: "父", 2: "母"}[sex]
					p := member(rel, sex, father.birth.AddDate(-g.between(24, 36), 0, -r.IntN(300)), fam)
					if p != nil {
						father.father, father.mother = ifSex(p, 1, father.father), ifSex(p, 2, father.mother)
					}
				}
			}
		}
	}
	for i, b := range births {
		rel, f := childRel, kidFam
		isStep := stepRel != "" && i == 0
		if isStep {
			rel = stepRel
			if chance(r, 0.6) {
				f = familyNames[r.IntN(len(familyNames))] // keeps the family name of the other parent
			}
		}
		c := member(rel, uint8(1+r.IntN(2)), b, f)
		if c == nil {
			break
		}
		if mother != nil && !(isStep && stepRel == "夫の子") {
			c.mother = mother.idx
		}
		if father != nil && !(isStep && stepRel == "妻の子") {
			c.father = father.idx
		}
	}
	if k == hhSingleParent && mother != nil && room > 0 && chance(r, 0.12) {
		// The mother's partner, registered as 同居人.
		member("同居人", 1, addDays(mother.birth, g.between(-1500, 2500)), familyNames[r.IntN(len(familyNames))])
		h.lodger = true
	}
}

func ifSex(p *person, sex uint8, old int32) int32 {
	if p.sex == sex {
		return p.idx
	}
	return old
}

// newPerson adds a member to h.
func (g *generator) newPerson(h *household, rel string, sex uint8, birth time.Time, fam name) *person {
	list := givenNames(sex, birth.Year())
	gn := list[g.r.IntN(len(list))]
	p := &person{
		idx: int32(len(g.persons)), hh: h.idx, family: fam.kanji, familyKana: fam.kana,
		given: gn.kanji, givenKana: gn.kana, sex: sex, birth: birth, rel: rel,
		mother: -1, father: -1, guardian: -1, baby: -1,
	}
	if of := officialForm(fam.kanji); of != "" && chance(g.r, 0.35) {
		p.official = of
	}
	g.persons = append(g.persons, p)
	h.members = append(h.members, p.idx)
	if rel == "世帯主" {
		h.head = p.idx
	}
	return p
}

// settle decides when each household came to the town and whether it moved within it.
func (g *generator) settle() {
	r := g.r
	rates := g.opts.Rates
	// Recent move-ins: whole households, until MoveIn of the residents.
	order := r.Perm(len(g.households))
	target := int(float64(g.opts.Residents)*rates.MoveIn + 0.5)
	moved := 0
	for _, i := range order {
		h := g.households[i]
		if !h.out.IsZero() {
			// Former residents lived here for years before they left.
			h.since = addDays(h.out, -g.between(400, 9000))
			h.from = otherAddress(r)
			continue
		}
		if moved < target {
			h.since = addDays(g.asOf, -1-r.IntN(365))
			h.from = otherAddress(r)
			moved += len(h.members)
			continue
		}
		if chance(r, 0.45) {
			h.native = true
			continue
		}
		h.since = addDays(g.asOf, -g.between(366, 12000))
		h.from = otherAddress(r)
	}
	for _, h := range g.households {
		if h.out.IsZero() && !h.native && h.since.Before(addDays(g.asOf, -365)) && chance(r, rates.InTownMove) {
			h.prevAddr = g.town.newAddress(r)
			h.moved = addDays(g.asOf, -1-r.IntN(365))
		}
		for _, m := range h.members {
			p := g.persons[m]
			switch {
			case h.native && (p.rel == "妻" || p.rel == "子の妻" || p.rel == "妻（未届）" || p.rel == "同居人"):
				p.since = p.birth.AddDate(g.between(20, 32), 0, r.IntN(365))
				if p.since.After(g.asOf) {
					p.since = addDays(g.asOf, -r.IntN(300)-1)
				}
			case h.native || !p.birth.Before(h.since):
				p.since, p.bornHere = p.birth, true
			default:
				p.since = h.since
			}
			p.out = h.out
		}
	}
}

// number gives residents and households their numbers, in the order they were made.
func (g *generator) number() {
	r := g.stream(1)
	next := int64(10_000 + r.IntN(90_000))
	for _, p := range g.persons {
		next += int64(1 + r.IntN(9))
		p.resNo = fmt.Sprintf("%015d", next)
	}
	hn := int64(1_000_000 + r.IntN(1_000_000))
	for _, h := range g.households {
		hn += int64(1 + r.IntN(5))
		h.no = fmt.Sprintf("%010d", hn)
	}
}
