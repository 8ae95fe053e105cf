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

package importer_test

import (
	"context"
	"testing"

	"github.com/kodomohub/kodomohub/importer"
	"github.com/kodomohub/kodomohub/importer/importertest"
	"github.com/kodomohub/kodomohub/mapping"
	"github.com/kodomohub/kodomohub/store/mongo"
	"github.com/kodomohub/kodomohub/store/mongo/mongotest"
)

// TestImportOnMongoDB: the same import on the MongoDB backend (an embedded FerretDB unless
// KODOMOHUB_TEST_MONGO_URI names a server): rows refused alike, households collected, a
// second import writes nothing.
func TestImportOnMongoDB(t *testing.T) {
	st, err := mongo.Open(context.Background(), mongotest.URI(t), mongo.Options{Database: mongotest.DBName()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tw := newTownOn(t, st)
	ctx := context.Background()
	reg := "宛名番号,世帯番号,性別\n000000000000001,H1,1\n000000000000002,H1,2\n000000000000003,H2,9\n000000000000001,H1,1\n"
	rep, err := tw.im.Import(ctx, importer.Options{Source: "registry", Request: tw.req}, []importer.File{importertest.File("r.csv", reg)})
	if err != nil || rep.Imported != 3 || rep.Failed != 1 || rep.Problems[0].Line != 4 {
		t.Fatalf("import: %+v %v", rep, err)
	}
	g, err := st.Read(ctx, "misato", "Group", mapping.ID("registry", "household", "H1"))
	if err != nil || len(g.Raw) == 0 {
		t.Fatalf("household: %v", err)
	}
	again, err := tw.im.Import(ctx, importer.Options{Source: "registry", Request: tw.req}, []importer.File{importertest.File("r.csv", reg)})
	if err != nil || again.Created != 0 || again.Updated != 0 || again.Unchanged == 0 {
		t.Fatalf("second import: %+v %v", again, err)
	}
}
