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

package mapping

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/kodomohub/kodomohub/fhir/r4"
	"github.com/kodomohub/kodomohub/mapping/jp"
)

// The functions about Japanese data (package jp): 和暦 dates, names in kanji and kana,
// addresses in JP Core form, sex codes and 続柄.
func init() {
	register("date", unary("date(x): a date in any form of DOMAIN §2.3 (令和5年6月1日, R05.06.01, 5050601, 2023/06/01 …) as YYYY-MM-DD; a date outside its era is an error",
		func(s string) (any, error) {
			d, err := jp.ParseDate(s)
			if err != nil {
				return nil, plain(err)
			}
			return d.String(), nil
		}))
	register("month", unary("month(x): a year and month (2025/04, 令和7年4月, R07.04) as a Period from its first to its last day",
		func(s string) (any, error) {
			ym, err := jp.ParseYearMonth(s)
			if err != nil {
				return nil, plain(err)
			}
			return map[string]any{"start": ym.First().String(), "end": ym.Last().String()}, nil
		}))
	register("yearmonth", unary("yearmonth(x): a year and month as YYYY-MM (a partial date FHIR accepts)",
		func(s string) (any, error) {
			ym, err := jp.ParseYearMonth(s)
			if err != nil {
				return nil, plain(err)
			}
			return ym.String(), nil
		}))
	register("period", unary("period(x): a Period from text such as 2025/04/01～2026/03/31 (～, 〜, ~ or から between the dates; either may be missing)",
		func(s string) (any, error) {
			for _, sep := range []string{"～", "〜", "~", "から"} {
				if from, to, found := strings.Cut(s, sep); found {
					return periodOf(from, to)
				}
			}
			return nil, fmt.Errorf("%q is not a period: write from～to", s)
		}))
	register("periodof", &function{minArgs: 2, maxArgs: 2,
		doc: "periodof(from, to): a Period from two dates, either may be empty",
		call: func(c *evalCtx, a []value) (any, error) {
			p, err := periodOf(a[0].str(), a[1].str())
			if err != nil {
				col, val := a[0].column, a[0].str()
				if _, e := jp.ParseDate(strings.TrimSpace(a[0].str())); e == nil || strings.TrimSpace(a[0].str()) == "" {
					col, val = a[1].column, a[1].str()
				}
				return nil, &rowError{column: col, value: val, reason: err.Error()}
			}
			return p, nil
		}})
	register("sex", unary("sex(x): the administrative-gender of a sex code (1/2, 男/女, M/F …)",
		func(s string) (any, error) {
			g, err := jp.ParseSex(s)
			if err != nil {
				return nil, plain(err)
			}
			return string(g), nil
		}))
	register("kana", unary("kana(x): x in full-width katakana (half-width kana and hiragana converted)",
		func(s string) (any, error) { return jp.Katakana(s), nil }))
	register("names", &function{minArgs: 2, maxArgs: 2,
		doc: "names(kanji, kana): JP Core's pair of HumanNames (IDE, SYL), split into family and given names on the full-width space",
		call: func(c *evalCtx, a []value) (any, error) {
			names, err := jp.PersonNames(a[0].str(), a[1].str())
			if err != nil {
				return nil, &rowError{column: a[1].column, value: a[1].str(), reason: plain(err).Error()}
			}
			if len(names) == 0 {
				return nil, nil
			}
			out := make([]any, 0, len(names))
			for _, n := range names {
				out = append(out, humanName(n))
			}
			return out, nil
		}})
	register("address", &function{minArgs: 2, maxArgs: 3,
		doc: "address(postal, address[, katagaki]): a JP Core Address (prefecture, city, line, postal code NNN-NNNN) in a list",
		call: func(c *evalCtx, a []value) (any, error) {
			kata := ""
			if len(a) == 3 {
				kata = a[2].str()
			}
			if strings.TrimSpace(a[1].str()+kata) == "" {
				return nil, nil
			}
			ad := jp.SplitAddress(a[1].str(), kata)
			if p := strings.TrimSpace(a[0].str()); p != "" {
				pc, err := jp.PostalCode(p)
				if err != nil {
					return nil, &rowError{column: a[0].column, value: a[0].str(), reason: plain(err).Error()}
				}
				ad.PostalCode = pc
			}
			m := map[string]any{"text": ad.Text, "state": ad.State, "city": ad.City, "postalCode": ad.PostalCode, "country": "JP"}
			if len(ad.Line) > 0 {
				line := make([]any, len(ad.Line))
				for i, l := range ad.Line {
					line[i] = l
				}
				m["line"] = line
			}
			return []any{m}, nil
		}})
	register("zokugara", unary("zokugara(x): the hub's zokugara code of a relationship to the head of household (世帯主, 妻, 子, 妻の子 …)",
		func(s string) (any, error) {
			z, err := jp.ParseZokugara(s)
			if err != nil {
				return nil, plain(err)
			}
			return string(z), nil
		}))
	register("headrelation", &function{minArgs: 2, maxArgs: 2,
		doc: "headrelation(zokugara, headName): the v3 RoleCode of the head of household to this member when the head is the member's parent, step-parent or (great-)grandparent and headName is given; nothing otherwise",
		call: func(c *evalCtx, a []value) (any, error) {
			if strings.TrimSpace(a[0].str()) == "" || strings.TrimSpace(a[1].str()) == "" {
				return nil, nil
			}
			z, err := jp.ParseZokugara(a[0].str())
			if err != nil {
				return nil, plain(err)
			}
			r, ok := jp.Relation(z, jp.ZokugaraHead)
			switch {
			case !ok:
				return nil, nil
			case r == jp.RoleParent, r == jp.RoleStepparent, r == jp.RoleGrandparent, r == jp.RoleGreatGrandparent:
				return string(r), nil
			}
			return nil, nil
		}})
}

// periodOf is the Period between two dates (nil when both are empty).
func periodOf(from, to string) (any, error) {
	from, to = strings.TrimSpace(from), strings.TrimSpace(to)
	p := map[string]any{}
	for _, x := range []struct{ key, s string }{{"start", from}, {"end", to}} {
		if x.s == "" {
			continue
		}
		d, err := jp.ParseDate(x.s)
		if err != nil {
			return nil, plain(err)
		}
		p[x.key] = d.String()
	}
	if len(p) == 0 {
		return nil, nil
	}
	return p, nil
}

// humanName is a JP Core HumanName built with the typed R4 models.
func humanName(n jp.Name) map[string]any {
	rep := n.Representation()
	use := r4.NameUseOfficial
	h := r4.HumanName{Use: &use, Text: &n.Text,
		Extension: []r4.Extension{{Url: jp.RepresentationURL, ValueCode: &rep}}}
	if n.Family != "" {
		h.Family = &n.Family
	}
	if n.Given != "" {
		h.Given = []string{n.Given}
	}
	raw, err := r4.Build(h)
	if err != nil {
		return map[string]any{"text": n.Text}
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return map[string]any{"text": n.Text}
	}
	return m
}

// plain is err's message for a report: jp's errors name the value, which the report has.
func plain(err error) error {
	var ve *jp.ValueError
	if errors.As(err, &ve) {
		return fmt.Errorf("%s", ve.Reason)
	}
	return errors.New(strings.TrimPrefix(err.Error(), "jp: "))
}
