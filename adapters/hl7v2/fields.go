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

package hl7v2

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kodomohub/kodomohub/adapters"
)

// Coded is a coded element (CE, CWE, CNE): code^text^coding system.
type Coded struct {
	Code, Text, System string
}

// Name is one repetition of an XPN (PID-5).
type Name struct {
	Family string // XPN.1 (its first subcomponent, the surname)
	Given  string // XPN.2
	// Type is XPN.7, the name type code (HL7 table 0200): L legal, the one SS-MIX2 sends.
	Type string
	// Representation is XPN.8 (HL7 table 4000): I ideographic (漢字), P phonetic (カナ),
	// A alphabetic. SS-MIX2 sends the kanji name as I and the kana name as P:
	// 患者^太郎^^^^^L^I~カンジャ^タロウ^^^^^L^P.
	Representation string
}

// Patient is what a message's first PID says about its patient.
type Patient struct {
	ID        string // PID-3.1 of the first repetition: the hospital's patient number
	Names     []Name // PID-5, in order
	BirthDate string // PID-7 as a FHIR date (YYYY, YYYY-MM or YYYY-MM-DD); "" when absent
	Sex       string // PID-8 as sent (HL7 table 0001: M, F, O, U)
}

// Kanji is the first name written in ideographs (XPN.8 = I).
func (p Patient) Kanji() (Name, bool) { return p.name("I") }

// Kana is the first name written phonetically (XPN.8 = P).
func (p Patient) Kana() (Name, bool) { return p.name("P") }

func (p Patient) name(representation string) (Name, bool) {
	for _, n := range p.Names {
		if n.Representation == representation {
			return n, true
		}
	}
	return Name{}, false
}

// PatientOf reads the patient of a message. A message without PID, or a PID-7 that is not an
// HL7 date, is a *adapters.RowError naming the field; what could be read is returned with it.
func PatientOf(rec adapters.Record) (Patient, error) {
	x := index(rec)
	if !x.has("PID") {
		return Patient{}, fieldError(rec, "PID", "", "no PID segment")
	}
	p := Patient{ID: x.get("PID-3.1"), Sex: x.get("PID-8")}
	for _, r := range x.repetitions("PID-5") {
		p.Names = append(p.Names, Name{
			Family: x.get(r + ".1.1"), Given: x.get(r + ".2"),
			Type: x.get(r + ".7"), Representation: x.get(r + ".8"),
		})
	}
	var err error
	if v := x.get("PID-7.1"); v != "" {
		if p.BirthDate, err = Date(v); err != nil {
			err = fieldError(rec, "PID-7", v, err.Error())
		}
	}
	return p, err
}

// Visit is what a message's PV1 says about the visit.
type Visit struct {
	Class       string // PV1-2: I inpatient, O outpatient, E emergency (HL7 table 0004)
	Location    Coded  // PV1-3: point of care (ward or clinic)^room^bed, in Code, Text, System order
	Department  string // PV1-10, hospital service: the 診療科 code
	VisitNumber string // PV1-19.1
	Admitted    string // PV1-44 as a FHIR dateTime
	Discharged  string // PV1-45 as a FHIR dateTime
}

// VisitOf reads the visit of a message; ok is false when it has no PV1.
func VisitOf(rec adapters.Record) (v Visit, ok bool, err error) {
	x := index(rec)
	if !x.has("PV1") {
		return v, false, nil
	}
	v = Visit{
		Class:       x.get("PV1-2"),
		Location:    Coded{x.get("PV1-3.1"), x.get("PV1-3.2"), x.get("PV1-3.3")},
		Department:  x.get("PV1-10.1"),
		VisitNumber: x.get("PV1-19.1"),
	}
	var errs []error
	v.Admitted = x.dateTime("PV1-44", &errs)
	v.Discharged = x.dateTime("PV1-45", &errs)
	return v, true, errors.Join(errs...)
}

// Diagnosis is one PRB segment (problem details: SS-MIX2 PPR-01 病名).
type Diagnosis struct {
	Segment        string // the segment's path prefix: "PRB", "PRB[2]"
	Action         string // PRB-1: AD add, UP update, DE delete, CO correct (HL7 table 0287)
	Problem        Coded  // PRB-3: the diagnosis (SS-MIX2: MEDIS 病名 code, MDCDX2)
	InstanceID     string // PRB-4.1: the problem's id in the hospital's system
	Established    string // PRB-7 as a FHIR dateTime
	Resolved       string // PRB-9 as a FHIR dateTime (転帰日)
	Classification Coded  // PRB-10 (SS-MIX2 sends the ICD-10 code here, system I10)
	LifeCycle      Coded  // PRB-14: the problem's status (転帰)
	Onset          string // PRB-16 as a FHIR dateTime
}

// Diagnoses reads every PRB of a message. A date that is not an HL7 date is a
// *adapters.RowError naming the field (all are reported, joined).
func Diagnoses(rec adapters.Record) ([]Diagnosis, error) {
	x := index(rec)
	var out []Diagnosis
	var errs []error
	for _, s := range x.occurrences("PRB") {
		out = append(out, Diagnosis{
			Segment:        s,
			Action:         x.get(s + "-1.1"),
			Problem:        x.coded(s + "-3"),
			InstanceID:     x.get(s + "-4.1"),
			Established:    x.dateTime(s+"-7", &errs),
			Resolved:       x.dateTime(s+"-9", &errs),
			Classification: x.coded(s + "-10"),
			LifeCycle:      x.coded(s + "-14"),
			Onset:          x.dateTime(s+"-16", &errs),
		})
	}
	return out, errors.Join(errs...)
}

// Result is one OBX segment.
type Result struct {
	Segment   string // the segment's path prefix: "OBX", "OBX[2]"
	ValueType string // OBX-2: NM numeric, ST/TX text, CE/CWE coded, SN structured numeric, DT date …
	Code      Coded  // OBX-3: what was observed (JLAC10 in SS-MIX2 lab results)
	SubID     string // OBX-4
	// Value is the first repetition of OBX-5 (its first component when it has components:
	// the code of a coded value); ValueText is OBX-5.2, a coded value's text. An SN value (<^10) or another
	// composite type is read from the record's OBX[n]-5.k fields.
	Value, ValueText string
	Units            Coded    // OBX-6
	ReferenceRange   string   // OBX-7, as written (3.5-5.0)
	AbnormalFlags    []string // OBX-8, each repetition (H, L, N … HL7 table 0078)
	Status           string   // OBX-11: F final, C corrected, P preliminary, D deleted, X cannot be obtained
	Observed         string   // OBX-14 as a FHIR dateTime
}

// Results reads every OBX of a message, in order. A date that is not an HL7 date is a
// *adapters.RowError naming the field (all are reported, joined).
func Results(rec adapters.Record) ([]Result, error) {
	x := index(rec)
	var out []Result
	var errs []error
	for _, s := range x.occurrences("OBX") {
		r := Result{
			Segment:        s,
			ValueType:      x.get(s + "-2.1"),
			Code:           x.coded(s + "-3"),
			SubID:          x.get(s + "-4"),
			Value:          x.get(s + "-5.1"),
			ValueText:      x.get(s + "-5.2"),
			Units:          x.coded(s + "-6"),
			ReferenceRange: x.get(s + "-7"),
			Status:         x.get(s + "-11"),
			Observed:       x.dateTime(s+"-14", &errs),
		}
		for _, p := range x.repetitions(s + "-8") {
			if v := x.get(p + ".1"); v != "" {
				r.AbnormalFlags = append(r.AbnormalFlags, v)
			}
		}
		out = append(out, r)
	}
	return out, errors.Join(errs...)
}

// DateTime converts an HL7 DTM (YYYY[MM[DD[HH[MM[SS[.S…]]]]]][+/-ZZZZ]) to a FHIR date or
// dateTime: 20111220224447.3399 is 2011-12-20T22:44:47.3399+09:00. A time without a zone is
// Japan time (+09:00); a time without seconds gets :00, as FHIR requires them.
func DateTime(v string) (string, error) {
	digitsPart, zone := v, ""
	if i := strings.IndexAny(v, "+-"); i >= 0 {
		digitsPart, zone = v[:i], v[i:]
	}
	digitsPart, frac, hasFrac := strings.Cut(digitsPart, ".")
	bad := fmt.Errorf("%q is not an HL7 date and time (YYYYMMDDHHMMSS[.S][+ZZZZ])", v)
	if !digits(digitsPart) || hasFrac && (len(digitsPart) != 14 || !digits(frac) || len(frac) > 4) {
		return "", bad
	}
	if zone != "" && !(len(zone) == 5 && digits(zone[1:]) && zone[1:3] <= "14" && zone[3:] < "60") {
		return "", bad
	}
	layouts := map[int]string{4: "2006", 6: "200601", 8: "20060102", 10: "2006010215", 12: "200601021504", 14: "20060102150405"}
	layout, ok := layouts[len(digitsPart)]
	if !ok {
		return "", bad
	}
	t, err := time.Parse(layout, digitsPart)
	if err != nil {
		return "", bad
	}
	switch len(digitsPart) {
	case 4:
		return t.Format("2006"), nil
	case 6:
		return t.Format("2006-01"), nil
	case 8:
		return t.Format("2006-01-02"), nil
	}
	out := t.Format("2006-01-02T15:04:05")
	if hasFrac {
		out += "." + frac
	}
	if zone == "" {
		return out + "+09:00", nil
	}
	return out + zone[:3] + ":" + zone[3:], nil
}

// Date is the date part of an HL7 DTM as a FHIR date (YYYY, YYYY-MM or YYYY-MM-DD): a birth
// time, if sent, is dropped.
func Date(v string) (string, error) {
	d, err := DateTime(v)
	if err != nil {
		return "", err
	}
	d, _, _ = strings.Cut(d, "T")
	return d, nil
}

// fields is a record indexed once, so that reading every segment costs one pass over the
// record, however many segments it has.
type fields struct {
	rec    adapters.Record
	values map[string]string
	occ    map[string][]string // segment name → its occurrences' path prefixes, in order: OBX, OBX[2]
	reps   map[string][]string // field path → its repetitions' path prefixes: OBX[2]-8, OBX[2]-8[2]
}

func index(rec adapters.Record) *fields {
	x := &fields{rec: rec, values: map[string]string{}, occ: map[string][]string{}, reps: map[string][]string{}}
	for _, f := range rec.Fields {
		if _, dup := x.values[f.Name]; !dup {
			x.values[f.Name] = f.Value
		}
		seg, rest, ok := strings.Cut(f.Name, "-")
		if !ok || len(seg) < 3 {
			continue
		}
		x.occ[seg[:3]] = appendNew(x.occ[seg[:3]], seg)
		end := strings.IndexAny(rest, "[.")
		if end < 0 {
			end = len(rest)
		}
		field := seg + "-" + rest[:end]
		rep := field
		if strings.HasPrefix(rest[end:], "[") {
			if close := strings.IndexByte(rest[end:], ']'); close > 0 {
				rep += rest[end : end+close+1]
			}
		}
		x.reps[field] = appendNew(x.reps[field], rep)
	}
	return x
}

func appendNew(list []string, s string) []string {
	if len(list) > 0 && list[len(list)-1] == s {
		return list
	}
	return append(list, s)
}

// get is Get on the index.
func (x *fields) get(path string) string {
	for {
		if v, ok := x.values[path]; ok {
			return v
		}
		trimmed, ok := strings.CutSuffix(path, ".1")
		if !ok {
			return ""
		}
		path = trimmed
	}
}

func (x *fields) has(segment string) bool { return len(x.occ[segment]) > 0 }

// occurrences lists the path prefixes of a segment's occurrences that have a field.
func (x *fields) occurrences(segment string) []string { return x.occ[segment] }

// repetitions lists the path prefixes of a field's repetitions that have a value.
func (x *fields) repetitions(field string) []string { return x.reps[field] }

func (x *fields) dateTime(field string, errs *[]error) string {
	v := x.get(field + ".1")
	if v == "" {
		return ""
	}
	d, err := DateTime(v)
	if err != nil {
		*errs = append(*errs, fieldError(x.rec, field, v, err.Error()))
	}
	return d
}

func (x *fields) coded(field string) Coded {
	return Coded{x.get(field + ".1"), x.get(field + ".2"), x.get(field + ".3")}
}

func fieldError(rec adapters.Record, column, value, reason string) *adapters.RowError {
	return rowError(rec.File, rec.Line, column, value, reason)
}
