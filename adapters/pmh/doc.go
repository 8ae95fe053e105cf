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

// Package pmh decodes the JSON that towns exchange with PMH (Public Medical Hub, the Digital
// Agency's hub for medical subsidies, vaccinations and maternal and child health checkups,
// DOMAIN S8) into adapters.Records, one per object, each value named by its JSON path:
// basicFiveInfo.nameKana, certificationDetail[0].itemName.
//
// PMH's request bodies are OpenAPI JSON, not FHIR. What this package knows of them comes from
// the published API documents (自治体検診対象者情報登録API, 医療費助成対象者情報登録API):
//
//	modificationSeg          "1" register or update, "2" delete (moved out, died, registered by mistake)
//	myNumber                 the person's My Number, 12 digits: never carried into a record
//	municipalityIdentityKey  the town's own key for the person (自治体別本人キー), at most 100 characters
//	basicFiveInfo            {name, nameKana, address, dateOfBirth (YYYY-MM-DD), sex}
//	isNotDisclosed           the non-disclosure flag (不開示フラグ, in place of the DV support flag): kept
//
// Those are checked: modificationSeg is "1" or "2" (a JSON string or number), the key is
// present and not longer than 100 characters, an object with modificationSeg "1" has a
// basicFiveInfo, and dateOfBirth is a calendar date. The rest of an object (the checkup,
// vaccination or subsidy payload, whose full shape the hub has not seen published) is carried
// as it is, by path, for the mapping to pick from; null and empty values are left out,
// numbers keep their text, booleans are "true" and "false". A file is UTF-8, as JSON is; a
// value with a control character (other than tab and line breaks) is refused.
//
// # What is dropped
//
// DOMAIN §2.5: My Number is never imported, and neither are benefit amounts. Members named
// myNumber and maxCopaymentAmount (自己負担上限額) are dropped at any depth, before anything
// else reads them, and no Problem ever shows their values. An object in which another value
// carries the My Number (a town that used it as municipalityIdentityKey) is refused, naming
// the field but not the number.
//
// # Files
//
// A file is one object, an array of objects, or objects one after another (NDJSON, or
// pretty-printed objects in a row); a UTF-8 BOM is skipped. Record.Line is the line where the
// object starts. A bad object is one or more *adapters.RowError (every problem of the object,
// each with its line and path) and the next object is read; after an object that is not JSON
// the reader resumes at the next line that starts with "{" (in an array it cannot, and the
// file ends there). Nesting deeper than MaxDepth is refused. A file larger than MaxFileBytes
// cannot be read and ends the iteration with another error. Decoder is Read for the importer.
package pmh
