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

package sqlite

import "strings"

// frag is a piece of SQL with the values of its placeholders, in order. Values are always
// bound, never written into the SQL text.
type frag struct {
	sql  string
	args []any
}

// arg is a value cat binds as one placeholder.
type arg struct{ v any }

// cat concatenates SQL text (string), frags and bound values (arg) into one frag.
func cat(parts ...any) frag {
	var b strings.Builder
	var args []any
	for _, p := range parts {
		switch p := p.(type) {
		case string:
			b.WriteString(p)
		case frag:
			b.WriteString(p.sql)
			args = append(args, p.args...)
		case arg:
			b.WriteByte('?')
			args = append(args, p.v)
		default:
			panic("sqlite: cat: unexpected part")
		}
	}
	return frag{b.String(), args}
}

// list is "?, ?, ?" binding vs.
func list[T any](vs []T) frag {
	f := frag{sql: strings.TrimSuffix(strings.Repeat("?, ", len(vs)), ", ")}
	for _, v := range vs {
		f.args = append(f.args, v)
	}
	return f
}

// join joins frags with sep; an empty list is empty.
func join(sep string, fs []frag) frag {
	var parts []any
	for i, f := range fs {
		if i > 0 {
			parts = append(parts, sep)
		}
		parts = append(parts, f)
	}
	return cat(parts...)
}

var (
	fTrue  = frag{sql: "1"}
	fFalse = frag{sql: "0"}
)

// and is the conjunction of fs ("1" when empty).
func and(fs ...frag) frag {
	var keep []frag
	for _, f := range fs {
		switch f.sql {
		case "1":
			continue
		case "0":
			return fFalse
		}
		keep = append(keep, f)
	}
	switch len(keep) {
	case 0:
		return fTrue
	case 1:
		return keep[0]
	}
	return cat("(", join(" AND ", keep), ")")
}

// or is the disjunction of fs ("0" when empty).
func or(fs ...frag) frag {
	var keep []frag
	for _, f := range fs {
		switch f.sql {
		case "0":
			continue
		case "1":
			return fTrue
		}
		keep = append(keep, f)
	}
	switch len(keep) {
	case 0:
		return fFalse
	case 1:
		return keep[0]
	}
	return cat("(", join(" OR ", keep), ")")
}

// not negates f.
func not(f frag) frag {
	switch f.sql {
	case "1":
		return fFalse
	case "0":
		return fTrue
	}
	return cat("NOT ", f)
}
