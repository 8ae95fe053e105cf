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

// Package synth generates synthetic towns: the people and households of a Japanese town and
// the files its departments, schools, nurseries and hospital would deliver to the hub, in
// each source's own format and encoding, with a ground truth that says who is who and which
// children should trigger which risk rule (DOMAIN §4). Generate(opts, dir) writes one town;
// the same Options give byte-identical files (math/rand/v2 PCG streams of Options.Seed, one
// per part, no map iteration, no clock: AsOf defaults to DefaultAsOf, 1 June 2026).
//
// # The town
//
// Households of the kinds of a rural Saitama town (single elderly, couples, families with
// children, single parents, three generations with 父/母 or with 子・子の妻・子の子, adult
// children, siblings, 同居人), with 妻（未届）, 妻の子 and 夫の子; about 12.5 % of the
// residents are 0–17, households average 2.3 people. Names come from a few hundred family
// and given names (by generation) with their readings; about a third of the family names
// that have a traditional form (髙橋, 山﨑, 渡邊, 齋藤, 濵田, 小澤) are registered in it while
// other sources write the common form. Addresses are the real 大字 of 美里町 (113816) and
// 川島町 (113468, with 八幡一〜六丁目) with 番地 or 丁目・番・号, 方書 for flats, and postal codes
// of the towns' 367-01/350-01 areas (assigned per 大字, not checked one by one); any other
// code gets the fictional 入間郡みどり町. Resident numbers (宛名番号) are 15 digits with
// leading zeros, household numbers 10 digits. About 4.5 % of the residents moved in during
// the last year, 4.5 % moved out (they stay in the register with 転出日 and 消除日), 2 % of
// households moved within the town (転居), and 1.5 % of children moved in, out and in again
// within 24 months.
//
// # The files
//
// One folder per built-in source of issue 12, named as the source:
//
//	resident-registry/resident-registry.csv   S1  CP932 CRLF; birth dates 3290218 (era code + YYMMDD), others 令和5年6月1日
//	child-allowance/child-allowance.csv       S2  CP932; 児童手当 and 児童扶養手当, R05.06.01, 2023/07
//	public-assistance/public-assistance.csv   S3  UTF-8 with BOM (xlsx in real life); 2023-06-01
//	checkup/checkup.csv                       S4  CP932; 新生児訪問, 3～4か月, 1歳6か月, 3歳 with item findings; 未受診 rows
//	vaccination/vaccination.csv               S4  CP932; the routine schedule (五種混合 from April 2024); 20230601
//	postpartum/postpartum.csv                 S5  UTF-8 with BOM, LF; EPDS 問1–問10 as scored, 合計点, 気持ち1–10
//	ssmix2/1110000019/…                       S6  HL7 v2.5 in ISO-2022-JP, SS-MIX2 tree and file names
//	jp-clins/*.json                           S7  FHIR R4 collection Bundles (Patient + Condition or AllergyIntolerance)
//	pmh/pmh.json                              S8  a JSON array, one object per line; never a myNumber
//	nursery/nursery.csv                       S9  CP932 (xlsx in real life); one row per child and month
//	school-register/school-register.csv       S10 CP932; 学齢簿 of this school year
//	school-attendance/school-attendance.csv   S11 CP932; one row per pupil and month, last school year and this one
//	school-aid/school-aid.csv                 S12 CP932; 要保護/準要保護
//	case-ledger/case-ledger.csv               S13 CP932 (Excel in real life); intakes, 要対協 registrations, 特定妊婦
//	disability/disability.csv                 S14 CP932; 手帳 and 受給者証
//	ltc/ltc.csv                               S15 CP932; 被保険者番号, 要介護度, 認定有効期間 "R07.04.01～R08.03.31"
//	arrears/arrears.csv                       S16 CP932; 滞納有無 and 滞納開始年月 only
//
// The CSV headers are those of DOMAIN §2.4, or of §2.1 for the sources §2.4 leaves out (plus
// 手当種別, 保護者宛名番号, 年度, 受給者証, 滞納種別 where §2.1 names no column for them). Dates
// come in the forms of §2.3, one main form per column with a few rows in another; kana are
// full-width katakana with some half-width and hiragana rows in the register; names in other
// sources use the common kanji form and now and then a homophone typo; the hospital and PMH
// sometimes still have a family's address from before a move within the town; a newborn's
// hospital records name it after its mother (山田花子ベビー). Amounts, My Number, the
// resident-record code (住民票コード) and free-text notes (備考, 児童票) are never written.
// Each source has a deliberately broken row or file or two (a cross-era date such as
// H31.05.01 or 令和元年4月1日, 2月30日, a missing required value, an unknown resident number,
// a short row, an EPDS total above 30, a truncated JSON file, a misnamed SS-MIX2 file).
//
// # Prevalences and planted cases
//
// The rates of DOMAIN §7 (Rates, DefaultRates) are drawn correlated: poverty clusters in
// households (single parents more often; public assistance, school aid, 児童扶養手当 and
// arrears follow it), missed checkups go with overdue vaccinations and with neglect, young
// carers live with someone who needs care, abuse consultations are likelier with neglect,
// poverty and step-families. On top, Options.Planted people per rule (2 by default) are made
// to meet a rule unmistakably: PPD-1, PPD-2, PPD-3, PRE-1, DEV-1, DEV-2, DEV-4, DEV-5, DEV-6,
// ABU-1, ABU-2, ABU-4, ABU-5, POV-C, NA-1, NA-2, NA-3, YC-1, YC-2 and INV-1. ABU-3 and POV-5
// (checkup interview answers) have no column in the layouts of §2.4, ABU-6 and INV-3 need a
// second town, and DEV-3 (M-CHAT) is used by few towns: they are not generated.
//
// # The ground truth
//
// TruthFile (truth.json, UTF-8, one entry per line) holds the options, the files written,
// every household (number, members, address) and every person (resident number, household,
// registered name and common form, kana, birth date, sex, 続柄, residence dates, parents,
// hospital patient number, PMH key) with the list of the records about them in every file
// (file and line; the file path and Bundle.identifier for JP-CLINS; a note when the record
// spells the name differently or has an old address): the answer key for identity linkage.
// cases lists every subject whose data meets a rule as written, evaluated on AsOf (the
// planted ones marked), with the rows that show the signal; brokenRows lists the rows an
// import must report, with file, line (the header is line 1), column, value and reason.
package synth
