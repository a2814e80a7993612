package planner

import (
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"testing"
)

// TestSchemasMatchTheDecoder keeps the JSON Schemas for editors in step with
// the strict decoder: every YAML field of the Go types is in the schema, the
// schema has no field the decoder would reject, and every object is closed
// (additionalProperties: false) like the decoder.
func TestSchemasMatchTheDecoder(t *testing.T) {
	for file, typ := range map[string]reflect.Type{
		"../docs/schema/deployplan.schema.json": reflect.TypeFor[Plan](),
		"../docs/schema/fleet.schema.json":      reflect.TypeFor[Fleet](),
	} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var schema map[string]any
		if err := json.Unmarshal(data, &schema); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		compareSchema(t, file, "", typ, schema)
	}
}

func compareSchema(t *testing.T, file, path string, typ reflect.Type, schema map[string]any) {
	t.Helper()
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	switch typ.Kind() {
	case reflect.Struct:
		props, _ := schema["properties"].(map[string]any)
		if props == nil {
			t.Errorf("%s: %s: schema has no properties for %s", file, path, typ)
			return
		}
		if schema["additionalProperties"] != false {
			t.Errorf("%s: %s: additionalProperties must be false (the decoder rejects unknown fields)", file, path)
		}
		var fields []string
		for _, f := range yamlFields(typ) {
			fields = append(fields, f.name)
			sub, ok := props[f.name].(map[string]any)
			if !ok {
				t.Errorf("%s: %s: schema lacks field %q", file, path, f.name)
				continue
			}
			compareSchema(t, file, joinPath(path, f.name), typ.Field(f.index).Type, sub)
		}
		for name := range props {
			if !slices.Contains(fields, name) {
				t.Errorf("%s: %s: schema has field %q that the decoder rejects", file, path, name)
			}
		}
	case reflect.Slice:
		items, ok := schema["items"].(map[string]any)
		if !ok {
			t.Errorf("%s: %s: schema for a list has no items", file, path)
			return
		}
		compareSchema(t, file, path+"[]", typ.Elem(), items)
	}
}
