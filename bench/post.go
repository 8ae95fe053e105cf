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

package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/tidwall/gjson"
)

// The shapes of the bundles bench ingest sends.
const (
	// ShapePut is one family per transaction: PUT entries with ids chosen by the client
	// (Workload.Bundle), which bench read and bench search find again.
	ShapePut = "put"
	// ShapePost is the shape hospitals and nurseries send: POST entries (ids chosen by the
	// server) of several families, each tied together by urn:uuid references
	// (Workload.PostBundle).
	ShapePost = "post"
)

// PostFamilySize is the number of entries of one family in a POST bundle: the child and the
// mother (Patients), two Encounters (the child's check-up, the mother's visit) and six
// Observations (four of the child's measurements, the mother's EPDS score and weight).
const PostFamilySize = 10

// PostEntry is what the client knows of one entry of a POST bundle, to check the answer:
// its type, its fullUrl, and the references it holds to earlier entries of the bundle.
type PostEntry struct {
	Type    string
	FullURL string
	Refs    []PostRef
}

// PostRef is a reference at Path (a gjson path into the resource, e.g. "subject.reference")
// to entry Target of the same bundle.
type PostRef struct {
	Path   string
	Target int
}

// PostBundle returns bundle b of the POST shape: a transaction of BundleSize POST entries,
// families of PostFamilySize entries one after the other (the last one cut short when
// BundleSize is not a multiple), every reference within the bundle a urn:uuid fullUrl of an
// earlier entry. Its randomness comes from a PCG source seeded with (Seed, b) on a stream of
// its own, so the same Seed and BundleSize always give the same bytes.
func (w Workload) PostBundle(b int64) ([]byte, []PostEntry) {
	r := rand.New(rand.NewPCG(w.Seed^0x706f7374, uint64(b))) // "post"
	entries := make([]entry, 0, w.BundleSize)
	plan := make([]PostEntry, 0, w.BundleSize)
	for f := int64(0); len(entries) < w.BundleSize; f++ {
		e, p := postFamily(r, b*int64(w.BundleSize)+f*PostFamilySize)
		n := min(len(e), w.BundleSize-len(entries))
		for i := range p[:n] {
			for j := range p[i].Refs {
				p[i].Refs[j].Target += len(entries)
			}
		}
		entries, plan = append(entries, e[:n]...), append(plan, p[:n]...)
	}
	out, err := json.Marshal(map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": entries})
	if err != nil {
		panic(err) // only maps, slices, strings and numbers: cannot fail
	}
	return out, plan
}

// mothers are given names of the mothers' generation.
var mothers = []struct{ kanji, kana string }{
	{"美咲", "ミサキ"}, {"由美", "ユミ"}, {"彩", "アヤ"}, {"恵", "メグミ"}, {"愛", "アイ"}, {"舞", "マイ"},
	{"麻衣", "マイ"}, {"沙織", "サオリ"}, {"智子", "トモコ"}, {"陽子", "ヨウコ"},
}

// postFamily builds one family of PostFamilySize POST entries; n numbers the family's
// identifiers. Refs hold indices within the family.
func postFamily(r *rand.Rand, n int64) ([]entry, []PostEntry) {
	town := towns[r.IntN(len(towns))]
	birth := time.Date(2020+r.IntN(6), time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC)
	child := patient(r, "", town, birth, n)
	names := child["name"].([]any)
	fam := names[0].(map[string]any)["family"].(string)
	kana := names[1].(map[string]any)["family"].(string)
	mg := mothers[r.IntN(len(mothers))]
	mother := patient(r, "", town, birth.AddDate(-(24+r.IntN(16)), -r.IntN(12), -r.IntN(28)), n+1)
	mother["gender"] = "female"
	mother["name"] = jpNames(fam, kana, mg.kanji, mg.kana)
	mother["address"] = child["address"]

	var (
		entries []entry
		plan    []PostEntry
	)
	add := func(res map[string]any, refs ...PostRef) map[string]any {
		delete(res, "id") // the server assigns it
		typ := res["resourceType"].(string)
		e := entry{FullURL: "urn:uuid:" + uuid(r), Resource: res}
		e.Request.Method, e.Request.URL = "POST", typ
		entries = append(entries, e)
		plan = append(plan, PostEntry{Type: typ, FullURL: e.FullURL, Refs: refs})
		return map[string]any{"reference": e.FullURL}
	}
	const childAt, motherAt, checkupAt, visitAt = 0, 1, 2, 3
	childRef := add(child)
	motherRef := add(mother)
	at := birth.Add(time.Duration(100+r.IntN(900)) * 24 * time.Hour)
	subj := PostRef{"subject.reference", childAt}
	checkupRef := add(encounter(r, "", childRef, at), subj)
	visit := encounter(r, "", motherRef, at)
	visit["type"] = []any{map[string]any{"text": "産婦健康診査"}}
	visitRef := add(visit, PostRef{"subject.reference", motherAt})

	months := at.Sub(birth).Hours() / 24 / 30
	height, weight, head := 50+months*2.2, 3.1+months*0.45, 34+months*0.6
	childObs := func(loinc, display, text string, value float64, unit string) {
		o := observation("", childRef, at, loinc, display, text, round1(value*(0.95+r.Float64()*0.1)), unit)
		o["encounter"] = checkupRef
		add(o, subj, PostRef{"encounter.reference", checkupAt})
	}
	childObs("8302-2", "Body height", "身長", height, "cm")
	childObs("29463-7", "Body weight", "体重", weight, "kg")
	childObs("9843-4", "Head Occipital-frontal circumference", "頭囲", head, "cm")
	childObs("8310-5", "Body temperature", "体温", 36.8, "Cel")

	momSubj, momEnc := PostRef{"subject.reference", motherAt}, PostRef{"encounter.reference", visitAt}
	score := observation("", motherRef, at, "71354-5", "Edinburgh Postnatal Depression Scale [EPDS]", "エジンバラ産後うつ病質問票 合計点", 0, "")
	score["category"] = []any{map[string]any{"coding": []any{map[string]any{
		"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "survey", "display": "Survey"}}}}
	delete(score, "valueQuantity")
	score["valueInteger"] = r.IntN(20)
	score["encounter"] = visitRef
	score["focus"] = []any{childRef}
	add(score, momSubj, momEnc, PostRef{"focus.0.reference", childAt})
	mw := observation("", motherRef, at, "29463-7", "Body weight", "体重", round1(48+r.Float64()*20), "kg")
	mw["encounter"] = visitRef
	add(mw, momSubj, momEnc)
	return entries, plan
}

// jpNames is a Japanese person's names as JP Core writes them: the kanji name, then the
// kana name marked with the iso21090-EN-representation extension (SYL).
func jpNames(family, familyKana, given, givenKana string) []any {
	kana := []any{map[string]any{"url": "http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation", "valueCode": "SYL"}}
	return []any{
		map[string]any{"use": "official", "text": family + " " + given, "family": family, "given": []any{given}},
		map[string]any{"extension": kana, "use": "official", "text": familyKana + " " + givenKana, "family": familyKana, "given": []any{givenKana}},
	}
}

// CheckPostResponse checks the answer to a POST bundle posted with Prefer:
// return=representation: a transaction-response with one entry per request entry, each
// "201 Created" with a location Type/ID/_history/1, an id assigned by the server (a new one
// per entry), the stored resource of the right type with that id, and every reference of
// plan rewritten from the urn:uuid to the Type/ID its target was given; no urn:uuid is left.
func CheckPostResponse(body []byte, plan []PostEntry) error {
	f := gjson.GetManyBytes(body, "resourceType", "type", "entry")
	if f[0].String() != "Bundle" || f[1].String() != "transaction-response" {
		return fmt.Errorf("bench: got a %s %q, want a transaction-response Bundle", f[0].String(), f[1].String())
	}
	got := f[2].Array()
	if len(got) != len(plan) {
		return fmt.Errorf("bench: the answer has %d entries, want %d", len(got), len(plan))
	}
	ids := make([]string, len(plan))
	seen := make(map[string]bool, len(plan))
	for i, e := range got {
		g := e.Get("response.status").String()
		if !strings.HasPrefix(g, "201") {
			return fmt.Errorf("bench: entry %d (%s): status %q, want 201", i, plan[i].Type, g)
		}
		loc := e.Get("response.location").String()
		typ, rest, _ := strings.Cut(loc, "/")
		id, vid, _ := strings.Cut(rest, "/_history/")
		if typ != plan[i].Type || id == "" || vid != "1" {
			return fmt.Errorf("bench: entry %d (%s): location %q, want %s/ID/_history/1", i, plan[i].Type, loc, plan[i].Type)
		}
		if seen[loc] {
			return fmt.Errorf("bench: entry %d: location %q given twice", i, loc)
		}
		seen[loc] = true
		ids[i] = typ + "/" + id
		res := e.Get("resource")
		if rt, rid := res.Get("resourceType").String(), res.Get("id").String(); rt != typ || rid != id {
			return fmt.Errorf("bench: entry %d: the answer holds %s/%s, want %s", i, rt, rid, ids[i])
		}
	}
	for i, e := range got {
		res := e.Get("resource")
		if strings.Contains(res.Raw, "urn:uuid:") {
			return fmt.Errorf("bench: entry %d (%s): a urn:uuid reference was stored as it was sent", i, ids[i])
		}
		for _, ref := range plan[i].Refs {
			if g := res.Get(ref.Path).String(); g != ids[ref.Target] {
				return fmt.Errorf("bench: entry %d (%s): %s is %q, want %s (entry %d, sent as %s)",
					i, ids[i], ref.Path, g, ids[ref.Target], ref.Target, plan[ref.Target].FullURL)
			}
		}
	}
	return nil
}

// IngestPostOp posts POST-shape bundle seq of w as a transaction, asking for the stored
// resources back (Prefer: return=representation), and checks the answer with
// CheckPostResponse.
func (c *Client) IngestPostOp(w Workload) Op {
	return func(ctx context.Context, seq int64) (int, error) {
		body, plan := w.PostBundle(seq)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Base, bytes.NewReader(body))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Authorization", "Bearer "+c.Token)
		req.Header.Set("Accept", "application/fhir+json")
		req.Header.Set("Content-Type", "application/fhir+json")
		req.Header.Set("Prefer", "return=representation")
		resp, err := c.HTTP.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			return 0, &StatusError{Status: resp.StatusCode, Body: string(b)}
		}
		answer, err := io.ReadAll(resp.Body)
		if err != nil {
			return 0, err
		}
		if err := CheckPostResponse(answer, plan); err != nil {
			return 0, fmt.Errorf("bundle %d: %w", seq, err)
		}
		return len(plan), nil
	}
}
