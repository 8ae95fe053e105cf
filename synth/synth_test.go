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
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/text/encoding/japanese"
)

// The 20,000-resident town of the acceptance criterion, generated once for the tests that
// read it (TestMain removes it).
var (
	bigOnce sync.Once
	bigDir  string
	bigSum  Summary
	bigErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if bigDir != "" {
		os.RemoveAll(bigDir)
	}
	os.Exit(code)
}

func bigTown(t *testing.T) (string, Summary) {
	t.Helper()
	if testing.Short() {
		t.Skip("generates a town of 20,000 residents")
	}
	bigOnce.Do(func() {
		bigDir, bigErr = os.MkdirTemp("", "synth-big-")
		if bigErr == nil {
			bigSum, bigErr = Generate(Options{Tenant: "kawajima", LGCode: "113468", Residents: 20_000, Seed: 7}, bigDir)
		}
	})
	if bigErr != nil {
		t.Fatal(bigErr)
	}
	return bigDir, bigSum
}

func mustGenerate(t testing.TB, opts Options) (string, Summary) {
	t.Helper()
	dir := t.TempDir()
	s, err := Generate(opts, dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, s
}

// readTree returns every file below dir by its slash path.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestGenerate(t *testing.T) {
	opts := Options{Tenant: "misato", LGCode: "113816", Residents: 3000, Seed: 42}
	t.Run("SameSeedSameBytes", func(t *testing.T) {
		a, _ := mustGenerate(t, opts)
		b, _ := mustGenerate(t, opts)
		fa, fb := readTree(t, a), readTree(t, b)
		if len(fa) != len(fb) || len(fa) < 20 {
			t.Fatalf("%d files, then %d", len(fa), len(fb))
		}
		for name, data := range fa {
			if !bytes.Equal(data, fb[name]) {
				t.Errorf("%s differs between two runs with the same seed", name)
			}
		}
	})
	t.Run("OtherSeedOtherTown", func(t *testing.T) {
		a, _ := mustGenerate(t, opts)
		o := opts
		o.Seed++
		b, _ := mustGenerate(t, o)
		for _, f := range []string{"resident-registry/resident-registry.csv", "checkup/checkup.csv", TruthFile} {
			x, _ := os.ReadFile(filepath.Join(a, f))
			y, _ := os.ReadFile(filepath.Join(b, f))
			if bytes.Equal(x, y) {
				t.Errorf("%s is the same for seeds %d and %d", f, opts.Seed, o.Seed)
			}
		}
	})
	t.Run("ExactResidents", func(t *testing.T) {
		for _, n := range []int{1, 2, 7, 50, 401} {
			_, s := mustGenerate(t, Options{Tenant: "t", LGCode: "113816", Residents: n, Seed: uint64(n)})
			if s.Residents != n || s.Persons < n || s.Households < 1 {
				t.Errorf("residents %d: summary %+v", n, s)
			}
		}
	})
	t.Run("GenericTown", func(t *testing.T) {
		dir, _ := mustGenerate(t, Options{Tenant: "other", LGCode: "131016", Residents: 300, Seed: 1})
		reg := readCSV(t, dir, "resident-registry/resident-registry.csv", CP932)
		if !strings.HasPrefix(reg.rows[0][reg.col["住所"]], "埼玉県入間郡みどり町") {
			t.Errorf("address %q: want the generic town", reg.rows[0][reg.col["住所"]])
		}
	})
}

func TestGenerateRejectsBadOptions(t *testing.T) {
	_, err := Generate(Options{Tenant: "Bad Town", LGCode: "113817", Residents: 0, Rates: Rates{MoveIn: 2}}, t.TempDir())
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"tenant", "local government code", "residents", "MoveIn"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

// table is a CSV file of the output, decoded.
type csvFile struct {
	header []string
	col    map[string]int
	rows   [][]string // data rows; rows[i] is line i+2
	raw    []byte
}

func readCSV(t *testing.T, dir, rel, encoding string) csvFile {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	data := raw
	switch encoding {
	case CP932:
		if bytes.HasPrefix(raw, []byte(bomBytes)) {
			t.Errorf("%s: CP932 file starts with a BOM", rel)
		}
		data, err = japanese.ShiftJIS.NewDecoder().Bytes(raw)
		if err != nil {
			t.Fatalf("%s: not CP932: %v", rel, err)
		}
	case UTF8BOM:
		if !bytes.HasPrefix(raw, []byte(bomBytes)) {
			t.Errorf("%s: no BOM", rel)
		}
		data = bytes.TrimPrefix(raw, []byte(bomBytes))
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil || len(recs) == 0 {
		t.Fatalf("%s: %v", rel, err)
	}
	f := csvFile{header: recs[0], col: map[string]int{}, rows: recs[1:], raw: data}
	for i, h := range f.header {
		f.col[h] = i
	}
	return f
}

func (f csvFile) get(row []string, col string) string {
	if i, ok := f.col[col]; ok && i < len(row) {
		return row[i]
	}
	return ""
}

// layouts are the headers of DOMAIN §2.4 and §2.1, copied here so that a change of the
// generator's layouts shows up as a failing test.
var layouts = map[string]struct {
	required, optional []string
	encoding           string
	person             string // the column naming the row's person
}{
	"resident-registry": {[]string{"宛名番号", "世帯番号", "氏名", "生年月日", "性別", "続柄"}, []string{"氏名カナ", "世帯主氏名", "郵便番号", "住所", "方書", "住定日", "転入日", "転入前住所", "転出日", "転出先住所", "異動日", "異動事由", "住民となった日", "消除日"}, CP932, "宛名番号"},
	"checkup":           {[]string{"宛名番号", "健診名", "受診日"}, []string{"氏名", "生年月日", "月齢", "身長", "体重", "頭囲", "胸囲", "判定", "未受診", "身体発育", "栄養", "脊柱・胸郭", "皮膚", "歯・口腔", "四肢運動", "精神発達", "言語", "予防接種", "育児上問題となる事項", "眼", "耳鼻咽喉", "その他"}, CP932, "宛名番号"},
	"postpartum":        {[]string{"宛名番号", "受診日"}, []string{"氏名", "産後日数", "問1", "問2", "問3", "問4", "問5", "問6", "問7", "問8", "問9", "問10", "合計点", "要支援", "気持ち1", "気持ち2", "気持ち3", "気持ち4", "気持ち5", "気持ち6", "気持ち7", "気持ち8", "気持ち9", "気持ち10"}, UTF8BOM, "宛名番号"},
	"school-attendance": {[]string{"識別番号", "年度", "年月"}, []string{"学校コード", "学校名", "学年", "組", "出席番号", "氏名", "授業日数", "出席停止・忌引等の日数", "出席しなければならない日数", "欠席日数", "出席日数", "病", "事", "停", "忌", "遅", "早"}, CP932, "識別番号"},
	"nursery":           {[]string{"児童宛名番号", "施設コード", "入所日"}, []string{"施設名", "退所日", "クラス", "年月", "登園日数", "欠席日数"}, CP932, "児童宛名番号"},
	"child-allowance":   {[]string{"受給者宛名番号", "対象児童宛名番号", "認定日", "支給開始年月", "支給停止", "資格喪失日", "ひとり親"}, []string{"手当種別"}, CP932, "対象児童宛名番号"},
	"public-assistance": {[]string{"世帯番号", "宛名番号", "開始日", "廃止日", "扶助種別"}, nil, UTF8BOM, "宛名番号"},
	"vaccination":       {[]string{"宛名番号", "予防接種名", "期", "回数", "接種日", "ロット番号"}, []string{"氏名", "生年月日"}, CP932, "宛名番号"},
	"school-register":   {[]string{"識別番号", "就学校コード", "小中区分", "学校区分", "学年", "学級区分", "保護者識別番号", "保護者続柄"}, nil, CP932, "識別番号"},
	"school-aid":        {[]string{"宛名番号", "認定区分", "認定日", "取消日"}, []string{"保護者宛名番号", "年度"}, CP932, "宛名番号"},
	"case-ledger":       {[]string{"宛名番号", "受付日", "通告経路", "虐待種別", "緊急度", "登録区分", "登録日", "終結日"}, nil, CP932, "宛名番号"},
	"disability":        {[]string{"宛名番号", "手帳種別", "等級", "交付日"}, []string{"受給者証", "受給者証交付日"}, CP932, "宛名番号"},
	"ltc":               {[]string{"被保険者番号", "宛名番号", "要介護度", "認定有効期間"}, []string{"認定日"}, CP932, "宛名番号"},
	"arrears":           {[]string{"宛名番号", "滞納有無", "滞納開始年月"}, []string{"世帯番号", "滞納種別"}, CP932, "宛名番号"},
}

// csvSources reads every CSV file of a summary.
func csvSources(t *testing.T, dir string, s Summary) map[string]csvFile {
	t.Helper()
	out := map[string]csvFile{}
	for _, f := range s.Files {
		if f.Format != "csv" {
			continue
		}
		l, ok := layouts[f.Source]
		if !ok {
			t.Errorf("%s: no layout known for source %s", f.Path, f.Source)
			continue
		}
		if f.Encoding != l.encoding {
			t.Errorf("%s: encoding %s, want %s", f.Path, f.Encoding, l.encoding)
		}
		out[f.Source] = readCSV(t, dir, f.Path, f.Encoding)
	}
	return out
}

func TestLayoutsAndEncodings(t *testing.T) {
	dir, s := mustGenerate(t, Options{Tenant: "misato", LGCode: "113816", Residents: 4000, Seed: 3})
	files := csvSources(t, dir, s)
	for source, l := range layouts {
		f, ok := files[source]
		if !ok {
			t.Errorf("no file for %s", source)
			continue
		}
		for _, h := range l.required {
			if _, ok := f.col[h]; !ok {
				t.Errorf("%s: no column %s (header %v)", source, h, f.header)
			}
		}
		for _, h := range f.header {
			if !slices.Contains(l.required, h) && !slices.Contains(l.optional, h) {
				t.Errorf("%s: column %s is not in the layout", source, h)
			}
		}
		if len(f.rows) == 0 {
			t.Errorf("%s: no rows", source)
		}
		if l.encoding == CP932 && !bytes.Contains(mustRead(t, dir, source), []byte("\r\n")) {
			t.Errorf("%s: CP932 files end lines with CRLF", source)
		}
	}
	// Era dates in several forms, half-width kana, a CP932 extension character.
	reg := files["resident-registry"].raw
	for _, re := range []string{`,[1-5]\d{6},`, `令和\d+年\d+月\d+日`, `[ｱ-ﾝ]`} {
		if !regexp.MustCompile(re).Match(reg) {
			t.Errorf("resident-registry: nothing matches %s", re)
		}
	}
	if !regexp.MustCompile(`,R\d\d\.\d\d\.\d\d,`).Match(files["checkup"].raw) {
		t.Error("checkup: no R05.06.01 dates")
	}
	t.Run("SSMIX2", func(t *testing.T) {
		n := 0
		name := regexp.MustCompile(`^([0-9A-Za-z]{1,15})_(\d{8}|-)_([A-Z]{3}-\d\d)_(\d{15}|-)_(\d{17})_([0-9A-Za-z]{1,3}|-)_[012]$`)
		err := filepath.WalkDir(filepath.Join(dir, "ssmix2"), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			raw, _ := os.ReadFile(p)
			m := name.FindStringSubmatch(d.Name())
			if m == nil {
				if !strings.Contains(d.Name(), "_PPR-01_") {
					t.Errorf("%s: not an SS-MIX2 name", d.Name())
				}
				return nil // the broken file
			}
			parts := strings.Split(filepath.ToSlash(p), "/")
			if k := len(parts); parts[k-2] != m[3] || parts[k-3] != m[2] || parts[k-4] != m[1] {
				t.Errorf("%s: not in its pid/date/type folders", p)
			}
			if bytes.ContainsFunc(raw, func(r rune) bool { return r > 0x7f }) {
				t.Errorf("%s: bytes above 0x7F in ISO-2022-JP", p)
			}
			for i, seg := range strings.Split(strings.TrimSuffix(string(raw), "\r"), "\r") {
				text, err := japanese.ISO2022JP.NewDecoder().String(seg)
				if err != nil {
					t.Fatalf("%s: segment %d: %v", p, i+1, err)
				}
				if i == 0 && (!strings.HasPrefix(text, "MSH|^~\\&|") || !strings.Contains(text, "|2.5|") || !strings.Contains(text, "~ISO IR87")) {
					t.Errorf("%s: MSH %q", p, text)
				}
				if strings.HasPrefix(text, "PID|") && !regexp.MustCompile(`\p{Han}`).MatchString(text) {
					t.Errorf("%s: PID without a kanji name: %q", p, text)
				}
			}
			n++
			return nil
		})
		if err != nil || n == 0 {
			t.Fatalf("%d messages, %v", n, err)
		}
	})
	t.Run("JPCLINS", func(t *testing.T) {
		paths, _ := filepath.Glob(filepath.Join(dir, "jp-clins", "*.json"))
		ids := map[string]int{}
		for _, p := range paths {
			var b struct {
				ResourceType string `json:"resourceType"`
				Type         string `json:"type"`
				Meta         struct {
					Tag []struct{ System, Code string } `json:"tag"`
				} `json:"meta"`
				Identifier struct{ System, Value string } `json:"identifier"`
				Entry      []struct {
					Resource struct {
						ResourceType string `json:"resourceType"`
					} `json:"resource"`
				} `json:"entry"`
			}
			if err := json.Unmarshal(mustReadFile(t, p), &b); err != nil {
				if !strings.HasSuffix(p, "_cut.json") {
					t.Errorf("%s: %v", p, err)
				}
				continue
			}
			if b.ResourceType != "Bundle" || b.Type != "collection" || len(b.Meta.Tag) != 1 || b.Meta.Tag[0].System != clinsTypeTag ||
				len(b.Entry) < 2 || b.Entry[0].Resource.ResourceType != "Patient" || b.Entry[1].Resource.ResourceType != b.Meta.Tag[0].Code {
				t.Errorf("%s: not a JP-CLINS bundle: %+v", p, b)
			}
			if len(strings.Split(b.Identifier.Value, "^")) != 3 {
				t.Errorf("%s: identifier %q", p, b.Identifier.Value)
			}
			ids[b.Identifier.Value]++
		}
		resent := 0
		for _, n := range ids {
			if n > 1 {
				resent++
			}
		}
		if len(ids) == 0 || resent != 1 {
			t.Errorf("%d bundles, %d resent", len(ids), resent)
		}
	})
	t.Run("PMH", func(t *testing.T) {
		var recs []map[string]any
		if err := json.Unmarshal(mustReadFile(t, filepath.Join(dir, "pmh", "pmh.json")), &recs); err != nil || len(recs) == 0 {
			t.Fatalf("%d records: %v", len(recs), err)
		}
		for _, r := range recs {
			b, _ := r["basicFiveInfo"].(map[string]any)
			if r["municipalityIdentityKey"] == "" || b["name"] == nil || b["nameKana"] == nil || b["dateOfBirth"] == nil {
				t.Fatalf("record %v", r)
			}
		}
	})
}

func mustReadFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustRead(t *testing.T, dir, source string) []byte {
	t.Helper()
	return mustReadFile(t, filepath.Join(dir, source, source+".csv"))
}

// truth is the ground truth as a reader sees it.
type truth struct {
	AsOf    string            `json:"asOf"`
	Persons []truthPerson     `json:"persons"`
	Cases   []truthCase       `json:"cases"`
	Broken  []brokenRow       `json:"brokenRows"`
	Files   []FileSummary     `json:"files"`
	House   []json.RawMessage `json:"households"`
}

func readTruth(t *testing.T, dir string) truth {
	t.Helper()
	var tr truth
	if err := json.Unmarshal(mustReadFile(t, filepath.Join(dir, TruthFile)), &tr); err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestTruthMatchesFiles(t *testing.T) {
	dir, s := bigTown(t)
	tr := readTruth(t, dir)
	files := csvSources(t, dir, s)
	if len(tr.Persons) != s.Persons || len(tr.House) != s.Households {
		t.Fatalf("truth has %d persons, %d households; summary %+v", len(tr.Persons), len(tr.House), s)
	}
	reg := files["resident-registry"]
	inRegistry := map[string]bool{}
	for _, row := range reg.rows {
		inRegistry[reg.get(row, "宛名番号")] = true
	}
	known := map[string]bool{}
	for _, p := range tr.Persons {
		known[p.ResidentNumber] = true
		if !inRegistry[p.ResidentNumber] {
			t.Errorf("person %s is not in the registry", p.ResidentNumber)
		}
	}
	broken := map[string]bool{}
	for _, b := range tr.Broken {
		broken[fmt.Sprint(b.File, ":", b.Line)] = true
	}
	sources := map[string]string{}
	for _, f := range s.Files {
		sources[f.Path] = f.Source
	}
	// Every record of a person is a row of that person.
	for _, p := range tr.Persons {
		if len(p.Records) == 0 {
			t.Errorf("person %s has no records", p.ResidentNumber)
		}
		for _, rf := range p.Records {
			src := sources[rf.File]
			f, ok := files[src]
			if !ok {
				continue // SS-MIX2, JP-CLINS and PMH records carry no resident number
			}
			if rf.Line < 2 || rf.Line-2 >= len(f.rows) {
				t.Errorf("%s: %s:%d: no such line", p.ResidentNumber, rf.File, rf.Line)
				continue
			}
			if got := f.get(f.rows[rf.Line-2], layouts[src].person); got != p.ResidentNumber {
				t.Errorf("%s:%d names %s, truth says %s", rf.File, rf.Line, got, p.ResidentNumber)
			}
		}
	}
	// Every row of a file is a person's record or an expected broken row.
	for src, f := range files {
		for i, row := range f.rows {
			id := f.get(row, layouts[src].person)
			if !known[id] && !broken[fmt.Sprint(s.pathOf(src), ":", i+2)] {
				t.Errorf("%s:%d: resident number %q unknown and not a broken row", src, i+2, id)
			}
		}
	}
	for _, b := range tr.Broken {
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(b.File))); err != nil {
			t.Errorf("broken row in a missing file: %+v", b)
		}
	}
	if len(tr.Broken) < 15 {
		t.Errorf("%d broken rows", len(tr.Broken))
	}
	// Planted cases: every rule, with records that show the signal.
	planted := map[string]int{}
	for _, c := range tr.Cases {
		if len(c.Records) == 0 {
			t.Errorf("case %s %s has no records", c.Rule, c.Subject)
		}
		if c.Planted {
			planted[c.Rule]++
		}
	}
	for _, rule := range []string{"PPD-1", "PPD-2", "PPD-3", "PRE-1", "DEV-1", "DEV-2", "DEV-4", "DEV-5", "DEV-6",
		"ABU-1", "ABU-2", "ABU-4", "ABU-5", "POV-C", "NA-1", "NA-2", "NA-3", "YC-1", "YC-2", "INV-1"} {
		if planted[rule] < 1 {
			t.Errorf("no planted %s", rule)
		}
	}
	checkSignals(t, tr, files)
}

func (s Summary) pathOf(source string) string {
	for _, f := range s.Files {
		if f.Source == source {
			return f.Path
		}
	}
	return ""
}

// checkSignals reads the rows the cases cite and checks that they show the rule's signal.
func checkSignals(t *testing.T, tr truth, files map[string]csvFile) {
	t.Helper()
	row := func(r truthRef) (csvFile, []string) {
		src, _, _ := strings.Cut(r.File, "/")
		f := files[src]
		if r.Line < 2 || r.Line-2 >= len(f.rows) {
			return f, nil
		}
		return f, f.rows[r.Line-2]
	}
	na := map[string]int{}
	for _, c := range tr.Cases {
		for _, r := range c.Records {
			f, rw := row(r)
			switch {
			case rw == nil:
			case c.Rule == "PPD-1":
				if n, _ := strconv.Atoi(f.get(rw, "合計点")); n < 9 {
					t.Errorf("PPD-1 %s: %s:%d has 合計点 %d", c.Subject, r.File, r.Line, n)
				}
			case c.Rule == "PPD-2":
				if f.get(rw, "問10") == "0" {
					t.Errorf("PPD-2 %s: %s:%d has 問10 0", c.Subject, r.File, r.Line)
				}
			case c.Rule == "NA-1":
				n, _ := strconv.Atoi(f.get(rw, "事"))
				na[c.Subject] += n
			case c.Rule == "DEV-1" || c.Rule == "DEV-2":
				if f.get(rw, "言語") == "異常なし" && f.get(rw, "精神発達") == "異常なし" {
					t.Errorf("%s %s: %s:%d has no finding", c.Rule, c.Subject, r.File, r.Line)
				}
			case c.Rule == "ABU-1":
				if f.get(rw, "受付日") == "" {
					t.Errorf("ABU-1 %s: %s:%d is not an intake", c.Subject, r.File, r.Line)
				}
			}
		}
	}
	for s, n := range na {
		if n < 30 {
			t.Errorf("NA-1 %s: %d days of 事", s, n)
		}
	}
}

func TestPrevalences(t *testing.T) {
	dir, s := bigTown(t)
	files := csvSources(t, dir, s)
	asOf := DefaultAsOf
	within := func(name string, got, lo, hi float64) {
		t.Helper()
		if got < lo || got > hi {
			t.Errorf("%s: %.4f, want %.3f to %.3f", name, got, lo, hi)
		} else {
			t.Logf("%s: %.4f", name, got)
		}
	}
	reg := files["resident-registry"]
	var residents, children, movedIn, movedOut int
	last := map[string][]string{} // a person's last row is the current state
	var ids []string
	for _, row := range reg.rows {
		id := reg.get(row, "宛名番号")
		if _, err := parseEraCode(reg.get(row, "生年月日")); err != nil || id == "" {
			continue // a broken row
		}
		if _, ok := last[id]; !ok {
			ids = append(ids, id)
		}
		last[id] = row
	}
	for _, id := range ids {
		row := last[id]
		b, _ := parseEraCode(reg.get(row, "生年月日"))
		out := reg.get(row, "消除日")
		if out == "" {
			residents++
			if age(b, asOf) < 18 {
				children++
			}
			if in := reg.get(row, "転入日"); in != "" && reg.get(row, "異動事由") == "転入" && recentKanji(in, asOf) {
				movedIn++
			}
		} else if reg.get(row, "異動事由") == "転出" && recentKanji(out, asOf) {
			movedOut++
		}
	}
	within("residents", float64(residents), 20_000, 20_000)
	within("children 0–17 of residents", float64(children)/float64(residents), 0.11, 0.145)
	within("moved in during the last year", float64(movedIn)/float64(residents), 0.035, 0.06)
	within("moved out during the last year", float64(movedOut)/float64(residents), 0.035, 0.06)

	pp := files["postpartum"]
	var mothers, high int
	for _, row := range pp.rows {
		days, _ := strconv.Atoi(pp.get(row, "産後日数"))
		total, _ := strconv.Atoi(pp.get(row, "合計点"))
		if days >= 28 && total <= 30 {
			mothers++
			if total >= 9 {
				high++
			}
		}
	}
	within("EPDS ≥ 9 at 1 month", float64(high)/float64(mothers), 0.05, 0.16)

	att := files["school-attendance"]
	absent := map[string]int{}
	for _, row := range att.rows {
		if att.get(row, "年度") == "2025" {
			n, _ := strconv.Atoi(att.get(row, "事"))
			absent[att.get(row, "識別番号")] += n
		}
	}
	na := 0
	for _, n := range absent {
		if n >= 30 {
			na++
		}
	}
	within("non-attendance (≥ 30 days 事, last school year)", float64(na)/float64(len(absent)), 0.025, 0.05)

	sr, aid := files["school-register"], files["school-aid"]
	within("school aid", float64(len(aid.rows)-1)/float64(len(sr.rows)-1), 0.12, 0.18)

	cl := files["case-ledger"]
	intakes := map[string]bool{}
	for _, row := range cl.rows {
		if cl.get(row, "虐待種別") != "" && recentKanji(cl.get(row, "受付日"), asOf) {
			intakes[cl.get(row, "宛名番号")] = true
		}
	}
	within("abuse consultations in the last year", float64(len(intakes))/float64(children), 0.006, 0.02)

	// Correlations: missed checkups go with missed vaccinations; poverty signals cluster.
	ck, vac := files["checkup"], files["vaccination"]
	missed := map[string]bool{}
	for _, row := range ck.rows {
		if ck.get(row, "未受診") == "1" {
			missed[ck.get(row, "宛名番号")] = true
		}
	}
	given := map[string]bool{}
	for _, row := range vac.rows {
		given[vac.get(row, "宛名番号")+vac.get(row, "予防接種名")+vac.get(row, "期")+vac.get(row, "回数")] = true
	}
	// A child is behind when a dose of the schedule that fell due 3 to 18 months ago, while
	// the child lived here, is missing.
	var behind, behindMissed, all, allMissed int
	for _, id := range ids {
		row := last[id]
		b, _ := parseEraCode(reg.get(row, "生年月日"))
		if reg.get(row, "消除日") != "" || age(b, asOf) < 1 || age(b, asOf) > 6 || reg.get(row, "転入日") != "" {
			continue
		}
		late := false
		for _, d := range schedule {
			due := b.AddDate(0, 0, d.at)
			if !d.from.IsZero() && b.Before(d.from) || !d.until.IsZero() && !b.Before(d.until) ||
				due.Before(asOf.AddDate(0, -18, 0)) || due.After(asOf.AddDate(0, -3, 0)) {
				continue
			}
			if !given[id+d.name+d.term+strconv.Itoa(d.no)] {
				late = true
			}
		}
		all++
		if missed[id] {
			allMissed++
		}
		if late {
			behind++
			if missed[id] {
				behindMissed++
			}
		}
	}
	if behind == 0 || float64(behindMissed)/float64(behind) < 3*float64(allMissed)/float64(all) {
		t.Errorf("missed a checkup: %d of %d children behind with vaccinations, %d of all %d", behindMissed, behind, allMissed, all)
	} else {
		t.Logf("missed a checkup: %d of %d children behind with vaccinations, %d of all %d", behindMissed, behind, allMissed, all)
	}
	ar, pa := files["arrears"], files["public-assistance"]
	poorHousehold := map[string]bool{}
	for _, row := range ar.rows {
		if ar.get(row, "滞納有無") == "有" {
			poorHousehold[ar.get(row, "世帯番号")] = true
		}
	}
	for _, row := range pa.rows {
		poorHousehold[pa.get(row, "世帯番号")] = true
	}
	household := map[string]string{}
	for _, row := range reg.rows {
		household[reg.get(row, "宛名番号")] = reg.get(row, "世帯番号")
	}
	var aided, aidedPoor, pupils, pupilsPoor int
	isAided := map[string]bool{}
	for _, row := range aid.rows {
		isAided[aid.get(row, "宛名番号")] = true
	}
	for _, row := range sr.rows {
		id := sr.get(row, "識別番号")
		p := poorHousehold[household[id]]
		if isAided[id] {
			aided++
			if p {
				aidedPoor++
			}
		} else {
			pupils++
			if p {
				pupilsPoor++
			}
		}
	}
	if float64(aidedPoor)/float64(aided) < 3*float64(pupilsPoor)/float64(pupils) {
		t.Errorf("arrears or public assistance: %d of %d aided pupils' households, %d of %d others'", aidedPoor, aided, pupilsPoor, pupils)
	}
}

// parseEraCode reads the register's 7-digit era dates (5050601) and 令和5年6月1日.
func parseEraCode(s string) (time.Time, error) {
	if len(s) == 7 {
		code, _ := strconv.Atoi(s[:1])
		y, _ := strconv.Atoi(s[1:3])
		m, _ := strconv.Atoi(s[3:5])
		d, _ := strconv.Atoi(s[5:7])
		for _, e := range eras {
			if e.code == code {
				return time.Date(e.start.Year()+y-1, time.Month(m), d, 0, 0, 0, 0, time.UTC), nil
			}
		}
	}
	if t, ok := parseKanji(s); ok {
		return t, nil
	}
	return time.Time{}, errors.New("not an era date: " + s)
}

var kanjiDate = regexp.MustCompile(`^(令和|平成|昭和|大正|明治)(\d+|元)年(\d+)月(\d+)日$`)

func parseKanji(s string) (time.Time, bool) {
	s = strings.Map(func(r rune) rune {
		if '０' <= r && r <= '９' {
			return r - '０' + '0'
		}
		return r
	}, s)
	m := kanjiDate.FindStringSubmatch(s)
	if m == nil {
		return time.Time{}, false
	}
	y := 1
	if m[2] != "元" {
		y, _ = strconv.Atoi(m[2])
	}
	mo, _ := strconv.Atoi(m[3])
	d, _ := strconv.Atoi(m[4])
	for _, e := range eras {
		if e.name == m[1] {
			return time.Date(e.start.Year()+y-1, time.Month(mo), d, 0, 0, 0, 0, time.UTC), true
		}
	}
	return time.Time{}, false
}

// recentKanji reports whether a 令和… date (or R05.06.01) lies in the year before asOf.
func recentKanji(s string, asOf time.Time) bool {
	d, ok := parseKanji(s)
	if !ok {
		if m := regexp.MustCompile(`^R(\d\d)\.(\d\d)\.(\d\d)$`).FindStringSubmatch(s); m != nil {
			y, _ := strconv.Atoi(m[1])
			mo, _ := strconv.Atoi(m[2])
			dd, _ := strconv.Atoi(m[3])
			d, ok = time.Date(2018+y, time.Month(mo), dd, 0, 0, 0, 0, time.UTC), true
		}
	}
	return ok && d.Before(asOf) && !d.Before(asOf.AddDate(-1, 0, 0))
}

// myNumberLike is a run of exactly 12 digits, as a My Number is written.
var myNumberLike = regexp.MustCompile(`(^|[^0-9０-９])[0-9０-９]{12}($|[^0-9０-９])`)

func TestNoExcludedData(t *testing.T) {
	dir, s := bigTown(t)
	forbidden := []string{"myNumber", "マイナンバー", "個人番号", "住民票コード", "備考", "金額", "支給額", "滞納額", "所見", "メモ"}
	enc := map[string]string{}
	for _, f := range s.Files {
		enc[f.Path] = f.Encoding
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		text := raw
		switch {
		case enc[rel] == CP932:
			text, _ = japanese.ShiftJIS.NewDecoder().Bytes(raw)
		case strings.HasPrefix(rel, "ssmix2/"):
			var b strings.Builder
			for _, seg := range strings.Split(string(raw), "\r") {
				s, _ := japanese.ISO2022JP.NewDecoder().String(seg)
				b.WriteString(s + "\n")
			}
			text = []byte(b.String())
		}
		if rel != TruthFile {
			for _, w := range forbidden {
				if bytes.Contains(text, []byte(w)) {
					t.Errorf("%s contains %s", rel, w)
				}
			}
		}
		for _, line := range bytes.Split(text, []byte("\n")) {
			if m := myNumberLike.Find(line); m != nil {
				t.Errorf("%s: a 12-digit number %q in %q", rel, m, truncate(line))
				break
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func truncate(b []byte) string {
	if len(b) > 120 {
		return string(b[:120]) + "…"
	}
	return string(b)
}

func TestGenerate20kUnder30s(t *testing.T) {
	if testing.Short() {
		t.Skip("times a town of 20,000 residents")
	}
	start := time.Now()
	mustGenerate(t, Options{Tenant: "misato", LGCode: "113816", Residents: 20_000, Seed: 1})
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("20,000 residents took %v, want under 30 s", d)
	}
}

func BenchmarkGenerate20k(b *testing.B) {
	for i := 0; b.Loop(); i++ {
		if _, err := Generate(Options{Tenant: "misato", LGCode: "113816", Residents: 20_000, Seed: uint64(i)}, b.TempDir()); err != nil {
			b.Fatal(err)
		}
	}
}
