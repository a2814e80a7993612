package planner

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

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

// sizeLimits bound what one file may cost to read: its bytes, and its YAML
// values (nodes) once every alias is expanded.
type sizeLimits struct {
	bytes int64
	nodes int
}

var (
	fileLimits  = sizeLimits{bytes: MaxFileBytes, nodes: MaxNodes}
	fleetLimits = sizeLimits{bytes: MaxFleetBytes, nodes: MaxFleetNodes}
)

// decoder turns a yaml.Node tree into a Go value strictly: unknown fields,
// duplicate keys and wrong types are errors with file:line:col, and decoding
// goes on after an error so that one pass reports everything.
type decoder struct {
	file   string
	limits sizeLimits
	errs   ErrorList
	pos    Positions
}

func newDecoder(file string, limits sizeLimits) *decoder {
	return &decoder{file: file, limits: limits, pos: Positions{}}
}

func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	if len(d.errs) > MaxErrorsPerFile {
		return // enough to fix first; LimitErrors says that more were left out
	}
	e := Error{File: d.file, Path: path, Message: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Pos = Pos{Line: n.Line, Col: n.Column}
	}
	d.errs = append(d.errs, e)
}

// parseDocument parses data as a single YAML document and decodes it into v.
// What it costs is bounded before it is spent: the bytes of the file, an
// estimate of its YAML values before parsing, and the exact count of values
// with every alias expanded before decoding (an alias copies the value it
// names, so a small file can stand for billions of values).
func (d *decoder) parseDocument(data []byte, v any) {
	if int64(len(data)) > d.limits.bytes {
		d.errs = append(d.errs, tooLarge(d.file, int64(len(data)), d.limits.bytes))
		return
	}
	if off, dense := denseAt(data, d.limits.nodes); dense {
		line, col := lineCol(data, off)
		d.errs = append(d.errs, Error{File: d.file, Pos: Pos{Line: line, Col: col},
			Message: fmt.Sprintf("the file holds more than %d YAML values (at most %d are read per file); split it or write it shorter", d.limits.nodes, d.limits.nodes)})
		return
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		d.errs = append(d.errs, yamlSyntaxError(d.file, data, err))
		return
	}
	if doc.Kind == 0 || len(doc.Content) == 0 || isNull(doc.Content[0]) {
		d.errs = append(d.errs, emptyFile(d.file, data))
		return
	}
	if !d.checkSize(doc.Content[0]) {
		return
	}
	d.decode(doc.Content[0], reflect.ValueOf(v).Elem(), "")
	// A plan file holds one plan, and anything after "---" would otherwise
	// be ignored.
	var second yaml.Node
	if dec.Decode(&second) == nil {
		line := second.Line
		if len(second.Content) > 0 {
			line = second.Content[0].Line
		}
		d.errs = append(d.errs, Error{File: d.file, Pos: Pos{Line: max(line, 1), Col: 1},
			Message: "a file holds one document; found another after \"---\": put each plan in its own file"})
	}
}

// tooLarge is the error for a file over the byte limit: it is not read.
func tooLarge(file string, size, limit int64) Error {
	return Error{File: file, Pos: Pos{Line: 1, Col: 1},
		Message: fmt.Sprintf("the file is %s; at most %s are read per file, so it was not read: split it or write it shorter", byteSize(size), byteSize(limit))}
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// emptyFile says that the file holds no value: nothing, only comments, only
// "---", or null.
func emptyFile(file string, data []byte) Error {
	msg := "file is empty; expected a YAML mapping"
	if t := bytes.TrimSpace(data); bytes.HasPrefix(t, []byte("---")) && len(bytes.TrimSpace(bytes.TrimLeft(t, "-"))) == 0 {
		msg = "file is empty (it holds only \"---\", which starts a document but gives it no content); expected a YAML mapping"
	}
	return Error{File: file, Pos: Pos{Line: 1, Col: 1}, Message: msg}
}

// denseAt estimates, before parsing, how many YAML values data holds, by
// counting the characters that can start or separate one (flow and block
// indicators, alias marks and line breaks, outside comments). Every value
// needs one of them nearby, so a file under the limit parses into a few
// times the limit at most; a file over it is refused at the offset where
// the count passed the limit. The exact count comes after parsing.
func denseAt(data []byte, limit int) (int, bool) {
	n := 0
	comment := false
	prev := byte('\n')
	for i, b := range data {
		switch {
		case comment:
			comment = b != '\n'
		case b == '#' && (prev == ' ' || prev == '\t' || prev == '\n'):
			comment = true
		case b == ',', b == '[', b == '{', b == ':', b == '?', b == '*', b == '&', b == '\n':
			n++
		case b == '-' && (i+1 == len(data) || data[i+1] == ' ' || data[i+1] == '\n' || data[i+1] == '\t'):
			n++
		}
		if n > limit {
			return i, true
		}
		prev = b
	}
	return 0, false
}

// lineCol converts a byte offset to a 1-based line and column (in runes).
func lineCol(data []byte, off int) (int, int) {
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	start := bytes.LastIndexByte(before, '\n') + 1
	return line, utf8.RuneCount(before[start:]) + 1
}

// checkSize counts the document's values with every alias expanded, in
// document order, and reports the file at the value where the count passes
// the limit, or at an alias that names the value it sits in (which would
// expand forever). Anchored values are counted once and remembered, so the
// count costs one walk of the parsed tree however the aliases nest.
func (d *decoder) checkSize(root *yaml.Node) bool {
	size := map[*yaml.Node]int{} // expanded size of each anchored value walked
	open := map[*yaml.Node]bool{}
	total := 0
	var walk func(n *yaml.Node) bool
	walk = func(n *yaml.Node) bool {
		if n.Kind == yaml.AliasNode {
			switch {
			case n.Alias == nil:
				d.errorf(n, "", "unknown YAML alias *%s", n.Value)
				return false
			case open[n.Alias]:
				d.errorf(n, "", "alias *%s names a value that contains it, so it would never end; write the value out", n.Value)
				return false
			}
			s, ok := size[n.Alias]
			if !ok { // not walked before the alias: count it on its own
				before := total
				if !walk(n.Alias) {
					return false
				}
				s = total - before
				total = before
			}
			total += s
			if total > d.limits.nodes {
				d.errorf(n, "", "alias *%s makes the file more than %d YAML values once expanded (it copies %d values each time it is used); at most %d are read per file: write the value out once, or shorten it", n.Value, d.limits.nodes, s, d.limits.nodes)
				return false
			}
			return true
		}
		before := total
		total++
		if total > d.limits.nodes {
			d.errorf(n, "", "the file holds more than %d YAML values; at most %d are read per file: split it or write it shorter", d.limits.nodes, d.limits.nodes)
			return false
		}
		if n.Anchor != "" {
			open[n] = true
		}
		for _, c := range n.Content {
			if !walk(c) {
				return false
			}
		}
		if n.Anchor != "" {
			delete(open, n)
			size[n] = total - before
		}
		return true
	}
	return walk(root)
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
	if line, col, ok := tabIndent(data, e.Line); ok {
		// yaml.v3 says "found character that cannot start any token" or
		// "found a tab character that violates indentation"; say what to do.
		e.Pos = Pos{Line: line, Col: col}
		e.Message = "invalid YAML: a tab is used for indentation; YAML indents with spaces only, so replace the tab with spaces"
	}
	return e
}

// tabIndent finds a tab in the indentation of the line an error was
// reported at, or of a line next to it (yaml.v3 counts some lines from 0,
// and reports an unclosed construct on the line after it).
func tabIndent(data []byte, line int) (int, int, bool) {
	lines := bytes.Split(data, []byte("\n"))
	for _, l := range []int{line, line + 1, line - 1} {
		if l < 1 || l > len(lines) {
			continue
		}
		text := lines[l-1]
		indent := text[:len(text)-len(bytes.TrimLeft(text, " \t"))]
		if i := bytes.IndexByte(indent, '\t'); i >= 0 {
			return l, i + 1, true
		}
	}
	return 0, 0, false
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.AliasNode {
		// checkSize has bounded what aliases expand to and refused aliases
		// that name their own container.
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
		if pct, ok := percent(n); ok {
			d.errorf(n, path, "expected a number, got %q; write a ratio as a fraction: %g for %s", n.Value, pct/100, n.Value)
			return
		}
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

// percent reports whether n is a percentage such as "90%", and its number.
func percent(n *yaml.Node) (float64, bool) {
	if n.Kind != yaml.ScalarNode {
		return 0, false
	}
	num, ok := strings.CutSuffix(strings.TrimSpace(n.Value), "%")
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	return f, err == nil
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
//
// The file's cost is bounded like a plan's (MaxFileBytes, MaxNodes): over a
// limit, the only error is that one, at its position. At most a little more
// than MaxErrorsPerFile errors are collected; pass the caller's complete
// list for the file through LimitErrors.
func Decode(file string, data []byte, v any) (Positions, ErrorList) {
	d := newDecoder(file, fileLimits)
	d.parseDocument(data, v)
	return d.pos, d.errs
}

// At returns the position of path, or of its nearest ancestor that has one,
// or 1:1.
func (p Positions) At(path string) Pos {
	return checker{pos: p}.at(path)
}
