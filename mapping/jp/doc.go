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

// Package jp provides the Japanese rules the mapping applies to source records: 和暦 and
// Western dates, fiscal and school years and legal age, kana, names, sex, 続柄, addresses,
// postal codes, local government codes and the hub's identifier systems. Its functions are
// pure (no I/O, no clock, no FHIR model): they return plain Go values that the mapping turns
// into FHIR elements, and errors whose message is the reason an import reports for a bad
// field. Every parser returns an error with ErrEmpty in its chain for a blank value, so that
// a caller can tell a missing value from a wrong one. The rules follow ../shared/DOMAIN.md;
// the section is given with each.
//
// # Dates (DOMAIN §2.3)
//
// ParseDate (and DateParser.ParseDate) reads, after NFKC (full-width digits, letters and
// separators; ㋿ ㍻ … become 令和 平成 …), with hyphen variants (‐ − ― ー …) read as '-',
// surrounding and inner white space ignored (but not between two digits) and a trailing
// midnight time (2023/06/01 0:00:00, as Excel writes) dropped:
//
//	令和5年6月1日  令和元年5月1日  令5年6月1日    era name or its first kanji, year, 年 月 日
//	R05.06.01  R5.6.1  R05/06/01  r5-6-1  H1.1.8   era letter M T S H R (either case), . / or -
//	R050601                                          era letter + YYMMDD
//	5050601                                          era code 1 明治 … 5 令和 + YYMMDD
//	20230601  2023/06/01  2023-06-01  2023.6.1  2023年6月1日  (西暦2023年6月1日)
//
// An era year is 元 or one or two digits, a Western year four digits; the same separator
// is used throughout. ParseYearMonth reads the same forms without the day (2025/04,
// 202504, 令和7年4月, R07.04, R0704, 50704) for 年月 columns.
//
// The eras are those of the DOMAIN table: 明治 from 1868-01-01 (by convention: dates before
// the Gregorian calendar's adoption in Meiji 6 are not converted from the lunisolar
// calendar), 大正 from 1912-07-30, 昭和 from 1926-12-25, 平成 1989-01-08 to 2019-04-30,
// 令和 from 2019-05-01. Boundary days: Taishō and Shōwa began on the day the emperor died,
// so 1912-07-30 and 1926-12-25 end one era and begin the next. The parsers accept both
// writings of those two days (明治45年7月30日 and 大正元年7月30日), as the table lists them in
// both rows; EraOf and Date.Wareki name the new era, in which the day officially is. Heisei
// and Reiwa began the day after the old era ended, so no day is shared: 昭和64年1月8日 is an
// error. A date outside the era it is written in (H31.05.01, 平成31年5月1日: a day of Reiwa)
// is an *EraError whose message names the era the day belongs to and writes the day in it;
// DateParser.AllowCrossEra accepts it as the Gregorian date it computes to (the tenant
// option of DOMAIN §2.3). Days that do not exist (2023年2月30日) are errors.
//
// FiscalYear gives the fiscal and school year (1 April to 31 March); SchoolCohort,
// CohortBirthDates and SchoolGrade place a child in a grade, which holds the children born
// 2 April to 1 April of the next year (School Education Act Art. 17 and the Act on
// Calculating Age); AgeAt is the legal age, reached on the day before the birthday.
//
// # Kana and names (DOMAIN §2.2, §3.1)
//
// Katakana turns half-width katakana (ﾞ and ﾟ combined: ﾀﾞ → ダ, ﾊﾟ → パ) and hiragana into
// full-width katakana and changes nothing else; the caller keeps the original. IsKana says
// whether a value is kana only. SplitName splits 氏名 at its full-width (or ASCII) space or run
// of spaces; a name without exactly one such gap is not split. PersonNames builds JP Core's
// two HumanNames: the kanji name (representation IDE) and the kana name (SYL, in full-width
// katakana), each a Name with Text (family and given joined by one half-width space, as
// JP_HumanName requires), Family and Given when split, Text only otherwise; the extension's
// URL and codes are RepresentationURL, RepresentationIDE and RepresentationSYL.
//
// # Sex (DOMAIN §2.2)
//
// ParseSex maps 1/男/男性/M/male to male and 2/女/女性/F/female to female (full-width too);
// of R4's administrative-gender (male | female | other | unknown), 0 and 9 (ISO/IEC 5218's
// "not known" and "not applicable") and 不明 are unknown, その他 is other; anything else is
// an error.
//
// # 続柄 (DOMAIN §2.2, §3.3, §3.4)
//
// ParseZokugara reads the relationship to the head of household into the hub's zokugara
// code (ZokugaraSystem): head (世帯主, 本人), wife (妻), husband (夫), wife-unregistered
// (妻（未届）, any parentheses), husband-unregistered (夫（未届）), child (子), grandchild (子の子,
// 孫), child-wife (子の妻), child-husband (子の夫), father (父), mother (母), wife-child (妻の子),
// husband-child (夫の子), elder-brother (兄), elder-sister (姉), younger-brother (弟),
// younger-sister (妹), grandfather (祖父), grandmother (祖母), wife-father (妻の父), wife-mother
// (妻の母), husband-father (夫の父), husband-mother (夫の母), cohabitant (同居人), and other for
// any other Japanese value. ZokugaraConcepts lists them with Japanese displays and English
// designations. Zokugara.ToHead is the member's v3 RoleCode relation to the head (子 →
// CHILD, 妻 → WIFE, 母 → MTH, 妻の子 → STPCHLD, 妻（未届） → DOMPART); Relation derives what one
// member is to another where the record makes it certain (the head is a 子's parent, PRN; a
// 妻の子's step-parent, STPPRN; the head's wife is a 子's mother in v3's sense, MTH, which
// subsumes stepmother) and says unknown otherwise; RoleCode.Gendered narrows PRN to FTH or
// MTH and the like when the sex is known.
//
// # Addresses and postal codes (DOMAIN §2.2)
//
// SplitAddress gives JP Core's parts: State the prefecture (all 47, from Prefectures),
// City the county and town or village, the city with its ward in the 20 designated cities,
// or a Tokyo special ward, Line the rest with the 方書 after it, PostalCode from a leading
// 〒 code. The parts keep the characters as written; AddressKey is a separate matching form
// (NFKC, hyphen variants and 丁目・番地・号 written as 1-2-3, 大字 dropped, ヶ/が and ノ/の
// folded). PostalCode normalises a postal code to NNN-NNNN.
//
// # Local government codes and identifier systems (DOMAIN §3.1, §3.2)
//
// ParseLGCode checks a 6-digit 全国地方公共団体コード: prefecture 01–47 and the mod-11 check
// digit (weights 6 5 4 3 2; the check digit is the last digit of 11 minus the remainder):
// 113816 (美里町) and 113468 (川島町) are valid. CompleteLGCode appends the check digit to
// five digits. The identifier systems of a town are functions of its LGCode:
// ResidentIDSystem (urn:kodomohub:{lg}:resident-id), HouseholdIDSystem, MCHIDSystem,
// PMHKeySystem, YotaikyoCaseSystem, SchoolPupilIDSystem (…:school:{code}:pupil-id) and
// FacilityChildIDSystem (…:facility:{id}:child-id); PersonKeySystem (urn:kodomohub:person)
// is the hub-wide person key.
package jp
