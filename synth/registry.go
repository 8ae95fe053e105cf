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

// registryHeader is the layout of resident-registry (DOMAIN §2.4 S1), every optional column included.
var registryHeader = []string{"宛名番号", "世帯番号", "氏名", "氏名カナ", "生年月日", "性別", "続柄", "世帯主氏名",
	"郵便番号", "住所", "方書", "住定日", "転入日", "転入前住所", "転出日", "転出先住所", "異動日", "異動事由",
	"住民となった日", "消除日"}

// writeRegistry writes the resident register: one row per person with the current state,
// preceded by rows for earlier moves in and out of repeat movers (each such row is the
// person's state after that move). CP932, CRLF; birth dates as era code + YYMMDD, other
// dates as 令和5年6月1日 with a few in other forms; kana mostly full-width, some half-width
// or hiragana; family names in their registered (traditional) form.
func (g *generator) writeRegistry() error {
	r := g.stream(10)
	t, err := g.newTable("resident-registry", "resident-registry.csv", CP932, true, "", registryHeader)
	if err != nil {
		return err
	}
	brokenAt := map[int]string{}
	if n := len(g.households); n >= 3 {
		for i, why := range []string{"cross-era", "no-number", "bad-date"} {
			brokenAt[(n/4)*(i+1)] = why
		}
	}
	cutoff := g.asOf.AddDate(-2, 0, 0)
	for _, h := range g.households {
		head := g.persons[max(h.head, h.members[0])]
		for _, m := range h.members {
			p := g.persons[m]
			fill := func() {
				t.set("宛名番号", p.resNo)
				t.set("世帯番号", h.no)
				t.set("氏名", g.registryName(p, r))
				t.set("氏名カナ", g.registryKana(p, r))
				bs := styleEraCode
				if chance(r, 0.05) {
					bs = styleKanji
				}
				t.set("生年月日", formatDate(p.birth, bs))
				t.set("性別", map[uint8]string{1: "1", 2: "2"}[p.sex])
				t.set("続柄", p.rel)
				t.set("世帯主氏名", head.regFamily()+"　"+head.given)
			}
			ds := func() dateStyle {
				switch x := r.IntN(100); {
				case x < 3:
					return styleKanjiWide
				case x < 5:
					return styleLetter
				}
				return styleKanji
			}
			// Earlier stays of repeat movers.
			for i, mv := range h.history {
				if !p.has(fRepeatMover) || mv.date.Before(p.birth) || p.earlierIn.IsZero() {
					continue
				}
				fill()
				addr := g.town.newAddress(r)
				t.set("郵便番号", addr.postal)
				t.set("住所", addr.full())
				d := ds()
				if mv.in {
					t.set("住定日", formatDate(p.earlierIn, d))
					if p.earlierIn.Equal(p.birth) {
						t.set("異動事由", "出生")
					} else {
						t.set("転入日", formatDate(mv.date, d))
						t.set("転入前住所", mv.addr.full())
						t.set("異動事由", "転入")
					}
					t.set("異動日", formatDate(p.earlierIn, d))
					t.set("住民となった日", formatDate(p.earlierIn, d))
				} else {
					t.set("住定日", formatDate(p.earlierIn, d))
					t.set("住民となった日", formatDate(p.earlierIn, d))
					t.set("転出日", formatDate(mv.date, d))
					t.set("転出先住所", mv.addr.full())
					t.set("異動日", formatDate(mv.date, d))
					t.set("異動事由", "転出")
					t.set("消除日", formatDate(mv.date, d))
				}
				line := t.emit(p.idx)
				if g.isChild(p) && !mv.date.Before(cutoff) {
					g.evid("ABU-5", p.idx, t.info, line)
				}
				_ = i
			}
			fill()
			t.set("郵便番号", h.addr.postal)
			t.set("住所", h.addr.full())
			t.set("方書", h.addr.building)
			d := ds()
			since := p.since
			event, when := "出生", p.birth
			if !p.bornHere {
				event, when = "転入", p.since
				t.set("転入日", formatDate(p.since, d))
				from := h.from
				if h.native || from.pref == "" {
					from = otherAddress(r)
				}
				t.set("転入前住所", from.full())
			}
			lived := since
			if !h.moved.IsZero() && h.moved.After(since) {
				lived, event, when = h.moved, "転居", h.moved
			}
			t.set("住定日", formatDate(lived, d))
			t.set("住民となった日", formatDate(since, d))
			if !p.out.IsZero() {
				event, when = "転出", p.out
				t.set("転出日", formatDate(p.out, d))
				t.set("転出先住所", h.to.full())
				t.set("消除日", formatDate(p.out, d))
			}
			t.set("異動日", formatDate(when, d))
			t.set("異動事由", event)
			p.regLine = t.emit(p.idx)
			if p.has(fRepeatMover) && g.isChild(p) && event == "転入" && !when.Before(cutoff) {
				g.evid("ABU-5", p.idx, t.info, p.regLine)
			}
		}
		switch brokenAt[int(h.idx)] {
		case "cross-era":
			p := g.persons[h.members[0]]
			g.registryRowAgain(t, p, h, r)
			t.set("異動日", "H31.05.01")
			t.set("異動事由", "転居")
			t.emitBroken(p.idx, "異動日", "cross-era date: 2019-05-01 is in 令和, not 平成")
		case "no-number":
			p := g.persons[h.members[0]]
			g.registryRowAgain(t, p, h, r)
			t.set("宛名番号", "")
			t.emitBroken(p.idx, "宛名番号", "required value missing")
		case "bad-date":
			p := g.persons[h.members[len(h.members)-1]]
			g.registryRowAgain(t, p, h, r)
			t.set("生年月日", "令和5年2月30日")
			t.emitBroken(p.idx, "生年月日", "no such date")
		}
	}
	return t.close()
}

// registryRowAgain fills a second row for p (the start of a deliberately broken row).
func (g *generator) registryRowAgain(t *table, p *person, h *household, r *rand.Rand) {
	t.set("宛名番号", p.resNo)
	t.set("世帯番号", h.no)
	t.set("氏名", p.regFamily()+"　"+p.given)
	t.set("氏名カナ", p.kana())
	t.set("生年月日", formatDate(p.birth, styleEraCode))
	t.set("性別", map[uint8]string{1: "1", 2: "2"}[p.sex])
	t.set("続柄", p.rel)
	t.set("郵便番号", h.addr.postal)
	t.set("住所", h.addr.full())
	t.set("住民となった日", formatDate(p.since, styleKanji))
}

// registryName is the name as the register holds it: the registered family name, a
// full-width space, the given name (2 % without the space, as in old data).
func (g *generator) registryName(p *person, r *rand.Rand) string {
	if chance(r, 0.02) {
		return p.regFamily() + p.given
	}
	return p.regFamily() + "　" + p.given
}

func (g *generator) registryKana(p *person, r *rand.Rand) string {
	switch x := r.IntN(100); {
	case x < 4:
		return halfWidth(p.kana())
	case x < 5:
		return hiragana(p.kana())
	}
	return p.kana()
}

// nameIn is p's name as another source writes it: the common form of the family name, and
// now and then a typo (a homophone kanji in the given name). note says how it differs from
// the register, for the ground truth.
func (g *generator) nameIn(p *person, r *rand.Rand, typos float64) (text, note string) {
	given := p.given
	if chance(r, typos) {
		if t := typo(given); t != "" {
			given = t
			note = "typo"
		}
	}
	text = p.family + "　" + given
	if note == "" && p.official != "" {
		note = "variant"
	}
	if note != "" {
		note += ": " + text
	}
	return text, note
}

// alive is a helper for writers: p is resident on d.
func alive(p *person, d time.Time) bool { return p.residentAt(d) }
