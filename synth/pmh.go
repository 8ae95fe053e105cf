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
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// pmhRecord is one person as the PMH (Public Medical Hub) delivers it: a per-town key and
// the basic five items, never the My Number (myNumber is left out entirely).
type pmhRecord struct {
	MunicipalityIdentityKey string        `json:"municipalityIdentityKey"`
	ModificationSeg         string        `json:"modificationSeg"` // 1 register/update, 2 delete (moved out)
	BasicFiveInfo           pmhBasic      `json:"basicFiveInfo"`
	MedicalSubsidy          *pmhEligibity `json:"medicalSubsidy,omitempty"`
}

type pmhBasic struct {
	Name        string `json:"name"`
	NameKana    string `json:"nameKana"`
	Address     string `json:"address"`
	DateOfBirth string `json:"dateOfBirth"`
	Sex         string `json:"sex"` // 1 male, 2 female
}

type pmhEligibity struct {
	Program string `json:"program"` // 子ども医療費助成
	From    string `json:"from"`
	To      string `json:"to,omitempty"`
}

// writePMH writes the PMH records of the town's children 0–5: the child medical subsidy
// (子ども医療費助成) they are eligible for; children who moved out during the year come with
// modificationSeg 2. UTF-8 JSON: an array with one object per line (so an object's line is
// its position). The key is the town's PMH key, not the resident number.
func (g *generator) writePMH() error {
	r := g.stream(50)
	rel := "pmh/pmh.json"
	info := g.addFile(fileInfo{FileSummary: FileSummary{Source: "pmh", Path: rel, Format: "pmh-json", Encoding: UTF8}})
	full := filepath.Join(g.outDir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return err
	}
	f, err := os.Create(full)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	w.WriteString("[")
	line := 1
	key := 3_000_000 + r.IntN(1_000_000)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	put := func(rec pmhRecord) error {
		buf.Reset()
		if err := enc.Encode(rec); err != nil {
			return err
		}
		if line > 1 {
			w.WriteString(",")
		}
		w.WriteString("\n")
		w.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
		line++
		info.Rows++
		return nil
	}
	broke, seen := false, 0
	for _, p := range g.persons {
		if age(p.birth, g.asOf) > 5 || p.has(fInvisible) || p.birth.After(addDays(g.asOf, -14)) {
			continue
		}
		moved := !p.out.IsZero()
		if !moved && !p.residentAt(g.asOf) {
			continue
		}
		key += 1 + r.IntN(9)
		p.pmhKey = fmt.Sprintf("PMH%s%08d", g.opts.LGCode, key)
		h := g.households[p.hh]
		name, note := g.nameIn(p, r, 0.01)
		addr := h.addr
		if !h.moved.IsZero() && h.prevAddr.pref != "" && chance(r, 0.5) {
			addr = h.prevAddr // not yet updated after the move within the town
			note = trimSep(note + "; old address: " + addr.full())
		}
		rec := pmhRecord{
			MunicipalityIdentityKey: p.pmhKey,
			ModificationSeg:         "1",
			BasicFiveInfo: pmhBasic{Name: name, NameKana: p.kana(), Address: addr.full() + addr.building,
				DateOfBirth: p.birth.Format("2006-01-02"), Sex: fmt.Sprint(p.sex)},
			MedicalSubsidy: &pmhEligibity{Program: "子ども医療費助成", From: maxTime(p.birth, p.since).Format("2006-01-02")},
		}
		if moved {
			rec.ModificationSeg = "2"
			rec.MedicalSubsidy.To = addDays(p.out, -1).Format("2006-01-02")
		}
		if err := put(rec); err != nil {
			return err
		}
		g.refs = append(g.refs, recordRef{person: p.idx, file: info.index, line: int32(line), key: p.pmhKey, note: note})
		if seen++; !broke && seen >= 3 {
			rec.BasicFiveInfo.DateOfBirth = fmt.Sprintf("%d-02-30", p.birth.Year())
			if err := put(rec); err != nil {
				return err
			}
			info.Broken++
			g.broken = append(g.broken, brokenRow{File: rel, Line: line, Column: "basicFiveInfo.dateOfBirth", Value: rec.BasicFiveInfo.DateOfBirth, Reason: "no such date", Person: p.resNo})
			broke = true
		}
	}
	w.WriteString("\n]\n")
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func trimSep(s string) string {
	for len(s) >= 2 && s[:2] == "; " {
		s = s[2:]
	}
	return s
}

// writeSources writes every built-in source, in a fixed order: the register first (the
// other files cite its lines in the ground truth).
func (g *generator) writeSources() error {
	for _, w := range []func() error{
		g.writeRegistry, g.writeChildAllowance, g.writePublicAssistance, g.writeCheckups, g.writeVaccinations,
		g.writePostpartum, g.writeSSMIX2, g.writeJPCLINS, g.writePMH, g.writeNursery, g.writeSchoolRegister,
		g.writeSchoolAttendance, g.writeSchoolAid, g.writeCaseLedger, g.writeDisability, g.writeLTC, g.writeArrears,
	} {
		if err := w(); err != nil {
			return fmt.Errorf("synth: %w", err)
		}
	}
	return nil
}
