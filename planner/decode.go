package planner

import (
	"bytes"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// scalarValue is implemented by field types that parse themselves from a YAML
// scalar (durations, for instance). The error message is shown to the user.
type scalarValue interface {
	parseScalar(s string) error
}

// Positions maps a field path ("spec.services[1].after[0]") to where its value
// starts in the file. Validation uses it to point at the offending value.
type Positions map[string]Pos

// maxAliases bounds alias expansion so a hostile file cannot make the decoder
// do exponential work ("billion laughs").
const maxAliases = 1000

// decoder turns a yaml.Node tree into a Go value strictly: unknown fields,
// duplicate keys and wrong types are errors with file:line:col, and decoding
// goes on after an error so that one pass reports everything.
type decoder struct {
	file    string
	errs    ErrorList
	pos     Positions
	aliases int
}

func newDecoder(file string) *decoder {
	return &decoder{file: file, pos: Positions{}}
}

func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	e := Error{File: d.file, Path: path, Message: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Pos = Pos{Line: n.Line, Col: n.Column}
	}
	d.errs = append(d.errs, e)
}

// parseDocument parses data as a single YAML document and decodes it into v.
func (d *decoder) parseDocument(data []byte, v any) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		d.errs = append(d.errs, yamlSyntaxError(d.file, data, err))
		return
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		d.errs = append(d.errs, Error{File: d.file, Pos: Pos{Line: 1, Col: 1}, Message: "file is empty; expected a YAML mapping"})
		return
	}
	d.decode(doc.Content[0], reflect.ValueOf(v).Elem(), "")
	d.checkSingleDocument(data)
}

// checkSingleDocument reports a second YAML document in the file: a plan
// file holds one plan, and anything after "---" would otherwise be ignored.
func (d *decoder) checkSingleDocument(data []byte) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var first, second yaml.Node
	if dec.Decode(&first) != nil || dec.Decode(&second) != nil {
		return
	}
	line := 1
	if len(second.Content) > 0 {
		line = second.Content[0].Line
	}
	d.errs = append(d.errs, Error{File: d.file, Pos: Pos{Line: line, Col: 1},
		Message: "a file holds one document; found another after \"---\": put each plan in its own file"})
}

// yamlSyntaxError converts yaml.v3's "yaml: line N: msg" into an Error.
// Errors without a line (an unexpected end of the stream) point at the
// file's last line.
func yamlSyntaxError(file string, data []byte, err error) Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	last := bytes.Count(bytes.TrimRight(data, "\n"), []byte("\n")) + 1
	e := Error{File: file, Pos: Pos{Line: last, Col: 1}, Message: "invalid YAML: " + msg}
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if i := strings.Index(rest, ":"); i > 0 {
			if n, err := strconv.Atoi(rest[:i]); err == nil {
				// yaml.v3 reports parser errors ("did not find expected …")
				// at the 0-based line of the construct left open, and scanner
				// errors 1-based.
				if strings.HasPrefix(strings.TrimSpace(rest[i+1:]), "did not find expected") {
					n++
				}
				e.Pos = Pos{Line: n, Col: 1}
				e.Message = "invalid YAML: " + strings.TrimSpace(rest[i+1:])
			}
		}
	}
	return e
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.AliasNode {
		d.aliases++
		if d.aliases > maxAliases {
			if d.aliases == maxAliases+1 {
				d.errorf(n, path, "too many YAML aliases (more than %d)", maxAliases)
			}
			return
		}
		if n.Alias == nil {
			d.errorf(n, path, "unknown YAML alias")
			return
		}
		d.decode(n.Alias, v, path)
		return
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // an explicit null ("batchSize:" with no value) is not set
	}
	if path != "" {
		d.pos[path] = Pos{Line: n.Line, Col: n.Column}
	}
	if sv, ok := v.Addr().Interface().(scalarValue); ok {
		if n.Kind != yaml.ScalarNode {
			d.errorf(n, path, "expected a single value, got %s", kindName(n))
			return
		}
		if err := sv.parseScalar(n.Value); err != nil {
			d.errorf(n, path, "%v", err)
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem(), path)
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.errorf(n, path, "expected a list, got %s", kindName(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.decode(c, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	case reflect.Map:
		d.decodeMap(n, v, path)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.errorf(n, path, "expected a string, got %s", kindName(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Int, reflect.Int64:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
			d.errorf(n, path, "expected a whole number, got %s", describeValue(n))
			return
		}
		bits := 32 // plans' numbers; int64 fields (ids) take 64 bits
		if v.Kind() == reflect.Int64 {
			bits = 64
		}
		i, err := strconv.ParseInt(n.Value, 0, bits)
		if err != nil {
			d.errorf(n, path, "number %s is out of range", n.Value)
			return
		}
		v.SetInt(i)
	case reflect.Float64:
		if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") {
			d.errorf(n, path, "expected a number, got %s", describeValue(n))
			return
		}
		f, err := strconv.ParseFloat(n.Value, 64)
		if err != nil {
			d.errorf(n, path, "expected a number, got %s", describeValue(n))
			return
		}
		v.SetFloat(f)
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			d.errorf(n, path, "expected true or false, got %s", describeValue(n))
			return
		}
		v.SetBool(n.Value == "true" || n.Value == "True" || n.Value == "TRUE")
	default:
		panic(fmt.Sprintf("planner: decoder does not support %s", v.Type()))
	}
}

// fieldInfo describes one YAML field of a struct.
type fieldInfo struct {
	name  string
	index int
}

func yamlFields(t reflect.Type) []fieldInfo {
	var out []fieldInfo
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" || name == "" || !f.IsExported() {
			continue
		}
		out = append(out, fieldInfo{name: name, index: i})
	}
	return out
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "expected a mapping (key: value), got %s", kindName(n))
		return
	}
	fields := yamlFields(v.Type())
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, path, "keys must be plain strings")
			continue
		}
		if k.Value == "<<" {
			d.errorf(k, path, "YAML merge keys (<<) are not supported; write the fields out")
			continue
		}
		var f *fieldInfo
		for j := range fields {
			if fields[j].name == k.Value {
				f = &fields[j]
				break
			}
		}
		child := joinPath(path, k.Value)
		if f == nil {
			names := make([]string, len(fields))
			for j, fi := range fields {
				names[j] = fi.name
			}
			sort.Strings(names)
			msg := fmt.Sprintf("unknown field %q", k.Value)
			if c := closest(k.Value, names); c != "" {
				msg += fmt.Sprintf("; did you mean %q?", c)
			}
			d.errorf(k, path, "%s (known fields: %s)", msg, quoteList(names))
			continue
		}
		if seen[k.Value] {
			d.errorf(k, child, "field %q is set twice", k.Value)
			continue
		}
		seen[k.Value] = true
		d.decode(val, v.Field(f.index), child)
	}
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "expected a mapping (key: value), got %s", kindName(n))
		return
	}
	if v.Type().Key().Kind() != reflect.String {
		panic("planner: decoder supports only string-keyed maps")
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, path, "keys must be plain strings")
			continue
		}
		kv := reflect.ValueOf(k.Value)
		if m.MapIndex(kv).IsValid() {
			d.errorf(k, joinPath(path, k.Value), "key %q is set twice", k.Value)
			continue
		}
		ev := reflect.New(v.Type().Elem()).Elem()
		d.decode(val, ev, joinPath(path, k.Value))
		m.SetMapIndex(kv, ev)
	}
	v.Set(m)
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	return describeValue(n)
}

func describeValue(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode {
		return kindName(n)
	}
	switch n.Tag {
	case "!!str":
		return fmt.Sprintf("string %q", n.Value)
	case "!!null":
		return "null"
	}
	return n.Value
}

// Decode parses one YAML document strictly into v (a pointer to a struct
// with yaml tags): unknown fields, duplicate keys and wrong types are errors
// at file:line:col, all reported in one pass. It returns where each field's
// value starts, for later validation errors. Other packages that read YAML
// from the user's repository (policies) use it so that every file prdeploy
// reads reports errors the same way.
func Decode(file string, data []byte, v any) (Positions, ErrorList) {
	d := newDecoder(file)
	d.parseDocument(data, v)
	return d.pos, d.errs
}

// At returns the position of path, or of its nearest ancestor that has one,
// or 1:1.
func (p Positions) At(path string) Pos {
	return checker{pos: p}.at(path)
}
