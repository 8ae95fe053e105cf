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

package xlsx

import (
	"strings"

	"github.com/xuri/excelize/v2"
	"github.com/xuri/nfp"
)

// What a number format shows of a date serial number.
type dateKind uint8

const (
	notDate  dateKind = iota
	dateOnly          // a date: shown as 2006-01-02
	dateTime          // a date and a time: 2006-01-02 15:04[:05]
)

// builtInDates are the built-in number formats (ECMA-376 18.8.30, and those of the East
// Asian locales, 27–36 and 50–58, whose codes the workbook does not write) that show dates.
// 18–21, 32, 33 and 45–47 are times and stay as they are.
var builtInDates = map[int]dateKind{
	14: dateOnly, 15: dateOnly, 16: dateOnly, 17: dateOnly, 22: dateTime,
	27: dateOnly, 28: dateOnly, 29: dateOnly, 30: dateOnly, 31: dateOnly, 34: dateOnly, 35: dateOnly, 36: dateOnly,
	50: dateOnly, 51: dateOnly, 52: dateOnly, 53: dateOnly, 54: dateOnly, 55: dateOnly, 56: dateOnly, 57: dateOnly, 58: dateOnly,
}

// isoDates makes every date format of f's styles show ISO dates. excelize formats a cell
// by its style as it streams the rows, without telling the style: so the styles are
// changed before the rows are read. A custom date format's code becomes yyyy-mm-dd (or
// yyyy-mm-dd hh:mm[:ss]); a cell style with a built-in date format takes format 14 (or
// 22), which excelize shows in Options.ShortDatePattern, yyyy-mm-dd.
func isoDates(f *excelize.File) {
	if f.Styles == nil || f.Styles.CellXfs == nil {
		return
	}
	custom := map[int]bool{}
	if f.Styles.NumFmts != nil {
		for _, nf := range f.Styles.NumFmts.NumFmt {
			if nf == nil {
				continue
			}
			custom[nf.NumFmtID] = true
			code := nf.FormatCode
			if nf.FormatCode16 != "" {
				code = nf.FormatCode16
			}
			switch kind, seconds := classify(code); kind {
			case dateOnly:
				nf.FormatCode, nf.FormatCode16 = "yyyy-mm-dd", ""
			case dateTime:
				nf.FormatCode, nf.FormatCode16 = "yyyy-mm-dd hh:mm", ""
				if seconds {
					nf.FormatCode += ":ss"
				}
			}
		}
	}
	for i := range f.Styles.CellXfs.Xf {
		xf := &f.Styles.CellXfs.Xf[i]
		if xf.NumFmtID == nil || custom[*xf.NumFmtID] {
			continue
		}
		switch builtInDates[*xf.NumFmtID] {
		case dateOnly:
			id := 14
			xf.NumFmtID = &id
		case dateTime:
			id := 22
			xf.NumFmtID = &id
		}
	}
}

// classify says whether a format code shows a date, and whether it shows seconds. Only
// the first section (for positive numbers) counts.
func classify(code string) (kind dateKind, seconds bool) {
	p := nfp.NumberFormatParser()
	sections := p.Parse(code)
	if len(sections) == 0 {
		return notDate, false
	}
	var date, month, clock bool
	for _, tok := range sections[0].Items {
		switch tok.TType {
		case nfp.TokenTypeElapsedDateTimes:
			clock = true
		case nfp.TokenTypeDateTimes:
			v := strings.ToLower(tok.TValue)
			switch {
			case v == "am/pm" || v == "a/p":
				clock = true
			case v == "":
			case strings.ContainsAny(v[:1], "ydgeb"): // year, day, era (g, e), Buddhist year
				date = true
			case v[0] == 'm':
				month = true
			case v[0] == 'h':
				clock = true
			case v[0] == 's':
				clock, seconds = true, true
			}
		}
	}
	switch {
	case date && clock:
		return dateTime, seconds
	case date || (month && !clock): // mmm: a month name
		return dateOnly, false
	}
	return notDate, false
}
