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

package mapping

import (
	"fmt"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// node is a YAML value with the line it starts on, so that every error in a spec can name
// its line. Scalars keep their text (a template or a literal); mappings keep their order.
type node struct {
	line   int
	kind   nodeKind
	text   string // scalars
	quoted bool   // a quoted string scalar: never a number or a boolean
	keys   []string
	vals   []*node // mapping values, in order; sequence items
}

type nodeKind uint8

const (
	scalarNode nodeKind = iota
	nullNode
	mapNode
	seqNode
)

// get returns the value of key in a mapping node.
func (n *node) get(key string) *node {
	if n == nil || n.kind != mapNode {
		return nil
	}
	for i, k := range n.keys {
		if k == key {
			return n.vals[i]
		}
	}
	return nil
}

// parseYAML reads one YAML document into a node tree.
func parseYAML(data []byte) (*node, error) {
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, fmt.Errorf("not valid YAML: %s", strings.TrimSpace(err.Error()))
	}
	if len(f.Docs) != 1 || f.Docs[0].Body == nil {
		return nil, fmt.Errorf("a spec is one YAML document, a mapping")
	}
	return convert(f.Docs[0].Body)
}

func lineOf(n ast.Node) int {
	if t := n.GetToken(); t != nil && t.Position != nil {
		return t.Position.Line
	}
	return 0
}

func convert(n ast.Node) (*node, error) {
	switch v := n.(type) {
	case *ast.MappingNode:
		out := &node{line: lineOf(v), kind: mapNode}
		for _, mv := range v.Values {
			if err := addPair(out, mv); err != nil {
				return nil, err
			}
		}
		if len(v.Values) > 0 {
			out.line = lineOf(v.Values[0].Key)
		}
		return out, nil
	case *ast.MappingValueNode:
		out := &node{line: lineOf(v.Key), kind: mapNode}
		return out, addPair(out, v)
	case *ast.SequenceNode:
		out := &node{line: lineOf(v), kind: seqNode}
		for _, item := range v.Values {
			c, err := convert(item)
			if err != nil {
				return nil, err
			}
			out.vals = append(out.vals, c)
		}
		return out, nil
	case *ast.NullNode:
		return &node{line: lineOf(v), kind: nullNode}, nil
	case *ast.StringNode:
		return &node{line: lineOf(v), text: v.Value, quoted: v.Token != nil && v.Token.Type != 0 && isQuoted(v)}, nil
	case *ast.LiteralNode:
		return &node{line: lineOf(v), text: v.Value.Value, quoted: true}, nil
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		return &node{line: lineOf(v), text: v.GetToken().Value}, nil
	case *ast.CommentNode:
		return nil, fmt.Errorf("line %d: a comment where a value belongs", lineOf(v))
	}
	return nil, fmt.Errorf("line %d: %s values (anchors, aliases, tags) are not used in specs", lineOf(n), n.Type())
}

func isQuoted(v *ast.StringNode) bool {
	s := v.Token.Origin
	s = strings.TrimSpace(s)
	return strings.HasPrefix(s, `"`) || strings.HasPrefix(s, `'`)
}

func addPair(out *node, mv *ast.MappingValueNode) error {
	k, err := convert(mv.Key)
	if err != nil {
		return err
	}
	if k.kind != scalarNode {
		return fmt.Errorf("line %d: a mapping key must be a scalar", k.line)
	}
	for _, have := range out.keys {
		if have == k.text {
			return fmt.Errorf("line %d: key %q appears twice", k.line, k.text)
		}
	}
	v, err := convert(mv.Value)
	if err != nil {
		return err
	}
	if v.line == 0 {
		v.line = k.line
	}
	out.keys = append(out.keys, k.text)
	out.vals = append(out.vals, v)
	return nil
}
