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

package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/text/encoding/japanese"
)

// TestImportCP932Registry: a CP932 resident-registry file with 和暦 dates in each form,
// half-width kana, 髙 and a broken row imports but for that row, which the report names with
// its line and column; the command exits 1 (errSomeRows). A second run writes nothing, an
// unknown source and a town without its code exit 2.
func TestImportCP932Registry(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if _, _, err := runCLI(t, "tenant", "create", "misato", "--name", "美里町", "--lg-code", "113816", "--data", data); err != nil {
		t.Fatal(err)
	}
	rows := "宛名番号,世帯番号,氏名,氏名カナ,生年月日,性別,続柄\r\n" +
		"000000000000001,1,髙橋　一郎,ﾀｶﾊｼ ｲﾁﾛｳ,令和5年6月1日,1,世帯主\r\n" +
		"000000000000002,1,髙橋　花子,タカハシ　ハナコ,令和５年６月１日,2,妻\r\n" +
		"000000000000003,1,髙橋　①,タカハシ,R05.06.01,2,子\r\n" +
		"000000000000004,1,髙橋　二郎,タカハシ　ジロウ,5050601,1,子\r\n" +
		"000000000000005,1,髙橋　三郎,タカハシ　サブロウ,令和元年5月1日,1,子\r\n" +
		"000000000000006,1,髙橋　四郎,タカハシ　シロウ,H31.05.01,1,子\r\n" +
		"000000000000007,1,髙橋　五郎,タカハシ　ゴロウ,2023/06/01,1,子\r\n"
	cp932, err := japanese.ShiftJIS.NewEncoder().String(rows)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "住民記録.csv")
	if err := os.WriteFile(file, []byte(cp932), 0o644); err != nil {
		t.Fatal(err)
	}
	report := filepath.Join(dir, "bad.jsonl")
	out, _, err := runCLI(t, "import", "--data", data, "--tenant", "misato", "--source", "resident-registry", "--report", report, file)
	if !errors.Is(err, errSomeRows) || !strings.Contains(out, "7 rows read, imported 6, refused 1") {
		t.Fatalf("import: %v\n%s", err, out)
	}
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var bad struct {
		File   string `json:"file"`
		Line   int    `json:"line"`
		Column string `json:"column"`
		Value  string `json:"value"`
		Reason string `json:"reason"`
	}
	if err := json.Unmarshal(b, &bad); err != nil || strings.Count(string(b), "\n") != 1 || bad.Line != 7 ||
		bad.Column != "生年月日" || bad.Value != "H31.05.01" || !strings.Contains(bad.Reason, "令和") {
		t.Fatalf("report: %s (%+v, %v)", b, bad, err)
	}
	out, _, err = runCLI(t, "import", "--data", data, "--tenant", "misato", "--source", "resident-registry", file)
	if !errors.Is(err, errSomeRows) || !strings.Contains(out, "created 0, updated 0") {
		t.Fatalf("second import: %v\n%s", err, out)
	}
	if _, _, err := runCLI(t, "import", "--data", data, "--tenant", "misato", "--source", "nope", file); !errors.Is(err, errUsage) {
		t.Errorf("unknown source: %v", err)
	}
	if _, _, err := runCLI(t, "tenant", "create", "kawajima", "--name", "川島町", "--data", data); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCLI(t, "import", "--data", data, "--tenant", "kawajima", "--source", "resident-registry", file); !errors.Is(err, errCouldNotRun) || !strings.Contains(err.Error(), "--lg-code") {
		t.Errorf("a town without its code: %v", err)
	}
}
