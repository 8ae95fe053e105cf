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
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"time"

	"github.com/kodomohub/kodomohub/store"
)

// DefaultAsOf is the date a town is generated as of when Options.AsOf is zero: a 1 June,
// the day of the national invisible-children check (DOMAIN §4 INV-1).
var DefaultAsOf = time.Date(2026, time.June, 1, 0, 0, 0, 0, time.UTC)

// Options say which town to generate.
type Options struct {
	Tenant    string    // the town's tenant id (misato, kawajima, …), recorded in the ground truth
	LGCode    string    // 6-digit local government code, check digit verified: 113816 Misato, 113468 Kawajima
	Residents int       // people resident on AsOf (former residents who moved out come on top)
	Seed      uint64    // the same seed and options give byte-identical files
	AsOf      time.Time // the export date; zero means DefaultAsOf
	// Rates are the prevalences of DOMAIN §7; the zero value means DefaultRates(). To change
	// one, start from DefaultRates().
	Rates Rates
	// Planted is how many children (or mothers) are planted per rule of DOMAIN §4; 0 means 2.
	Planted int
}

// Rates are the base rates of the synthetic town (DOMAIN §7, "Synthetic generator
// defaults"). Each is a share per year or per population named in its comment; the
// generator keeps the signals correlated (poverty clusters in households, missed checkups go
// with missed vaccinations), so a rate is the town's average, not each child's chance.
type Rates struct {
	MoveIn            float64 // residents who moved in during the last 12 months, of residents
	MoveOut           float64 // residents who moved out during the last 12 months, of residents
	InTownMove        float64 // households that moved within the town (転居) in the last 12 months
	RepeatMovers      float64 // children moving in or out at least twice in 24 months, of children
	EPDSHigh          float64 // mothers with EPDS ≥ 9 at the 1-month postpartum checkup
	EPDSItem10        float64 // mothers with EPDS item 10 ≥ 1
	MissedCheckup     float64 // children missing a 3–4-month, 1.5-year or 3-year checkup
	NonAttendance     float64 // pupils (6–15) absent ≥ 30 days in a school year, not for illness
	SchoolAid         float64 // pupils with school-attendance aid (就学援助)
	SchoolAidYohogo   float64 // share of aided pupils who are 要保護 (on public assistance)
	YoungCarer        float64 // children 10–17 caring for a household member
	AbuseConsultation float64 // children 0–17 with an abuse consultation in the last 12 months
	InvisibleChild    float64 // children 0–12 with no contact with any service
}

// DefaultRates returns the generator defaults of DOMAIN §7.
func DefaultRates() Rates {
	return Rates{
		MoveIn:            0.045,
		MoveOut:           0.045,
		InTownMove:        0.02,
		RepeatMovers:      0.015,
		EPDSHigh:          0.097,
		EPDSItem10:        0.02,
		MissedCheckup:     0.04,
		NonAttendance:     0.037,
		SchoolAid:         0.15,
		SchoolAidYohogo:   0.10,
		YoungCarer:        0.05,
		AbuseConsultation: 0.012,
		InvisibleChild:    0.0025,
	}
}

// Summary is what Generate wrote.
type Summary struct {
	Persons    int // every person of the ground truth: residents and former residents
	Residents  int // resident on AsOf
	Households int
	Files      []FileSummary // in the order written
	Truth      string        // the ground-truth file, relative to the output directory
}

// FileSummary is one file written.
type FileSummary struct {
	Source     string // the built-in source that reads it (resident-registry, checkup, …)
	Path       string // slash-separated, relative to the output directory
	Format     string // csv, hl7v2, fhir-json, pmh-json
	Encoding   string // CP932, UTF-8 BOM, UTF-8, ISO-2022-JP
	RealFormat string // what the real source usually delivers, when it is not what was written (xlsx)
	Rows       int    // data rows, messages or objects, the broken ones included
	Broken     int    // deliberately broken rows, listed in the ground truth
}

// TruthFile is the name of the ground-truth file in the output directory.
const TruthFile = "truth.json"

var tenantID = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// Generate writes a synthetic town to outDir (created if needed): one folder per built-in
// source with its files, and the ground truth (TruthFile). The same Options always give
// byte-identical files. Every problem with opts is reported at once.
func Generate(opts Options, outDir string) (Summary, error) {
	var errs []error
	if !tenantID.MatchString(opts.Tenant) {
		errs = append(errs, fmt.Errorf("synth: tenant %q: want lower-case letters, digits and -", opts.Tenant))
	}
	if !store.ValidLGCode(opts.LGCode) {
		errs = append(errs, fmt.Errorf("synth: local government code %q: want 6 digits with a valid check digit (113816, 113468)", opts.LGCode))
	}
	if opts.Residents < 1 || opts.Residents > 2_000_000 {
		errs = append(errs, fmt.Errorf("synth: residents %d: want 1 to 2,000,000", opts.Residents))
	}
	if opts.Planted < 0 {
		errs = append(errs, fmt.Errorf("synth: planted %d: want ≥ 0", opts.Planted))
	}
	if opts.Rates == (Rates{}) {
		opts.Rates = DefaultRates()
	}
	errs = append(errs, opts.Rates.validate()...)
	if err := errors.Join(errs...); err != nil {
		return Summary{}, err
	}
	if opts.AsOf.IsZero() {
		opts.AsOf = DefaultAsOf
	}
	y, m, d := opts.AsOf.Date()
	opts.AsOf = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	if opts.Planted == 0 {
		opts.Planted = 2
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return Summary{}, fmt.Errorf("synth: %w", err)
	}
	g := &generator{opts: opts, asOf: opts.AsOf, town: townOf(opts.LGCode), outDir: outDir}
	g.r = g.stream(0)
	g.buildTown()
	g.assignSignals()
	g.plant()
	if err := g.writeSources(); err != nil {
		return Summary{}, err
	}
	if err := g.writeTruth(); err != nil {
		return Summary{}, err
	}
	return g.summary(), nil
}

func (r Rates) validate() []error {
	var errs []error
	for _, f := range []struct {
		name string
		v    float64
	}{
		{"MoveIn", r.MoveIn}, {"MoveOut", r.MoveOut}, {"InTownMove", r.InTownMove},
		{"RepeatMovers", r.RepeatMovers}, {"EPDSHigh", r.EPDSHigh}, {"EPDSItem10", r.EPDSItem10},
		{"MissedCheckup", r.MissedCheckup}, {"NonAttendance", r.NonAttendance}, {"SchoolAid", r.SchoolAid},
		{"SchoolAidYohogo", r.SchoolAidYohogo}, {"YoungCarer", r.YoungCarer},
		{"AbuseConsultation", r.AbuseConsultation}, {"InvisibleChild", r.InvisibleChild},
	} {
		if !(f.v >= 0 && f.v <= 0.5) {
			errs = append(errs, fmt.Errorf("synth: rate %s %v: want 0 to 0.5", f.name, f.v))
		}
	}
	return errs
}

// generator holds one town while it is written.
type generator struct {
	opts   Options
	asOf   time.Time
	town   townInfo
	outDir string
	r      *rand.Rand // the town's people and signals

	persons      []*person
	households   []*household
	hospitalNext int // the last patient number the hospital gave

	files    []*fileInfo
	refs     []recordRef
	broken   []brokenRow
	evidence []evidence
	planted  []plantedCase
}

// stream returns the random source of one part of the generator. Every part (the town, each
// source's file) has its own stream of the seed, so that a change in one source's noise does
// not change the others' files.
func (g *generator) stream(n uint64) *rand.Rand {
	return rand.New(rand.NewPCG(g.opts.Seed, 0x9E3779B97F4A7C15*(n+1)))
}

func (g *generator) summary() Summary {
	s := Summary{Persons: len(g.persons), Households: len(g.households), Truth: TruthFile}
	for _, p := range g.persons {
		if p.residentAt(g.asOf) {
			s.Residents++
		}
	}
	for _, f := range g.files {
		s.Files = append(s.Files, f.FileSummary)
	}
	return s
}

// chance reports true with probability p.
func chance(r *rand.Rand, p float64) bool { return r.Float64() < p }
