package v1

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"

	k8sjson "sigs.k8s.io/json"
)

// MalformedField is a field whose stored value the Go type cannot hold: the ODA Canvas's
// CRD keeps fields its schema does not name (hostname, and segment in v1beta3 and
// v1beta4) and bounds no integer, so the API server stores any JSON there.
// +kubebuilder:object:generate=true
type MalformedField struct {
	// Name is the field's JSON name; "" when the whole value is not a JSON object.
	Name string
	// Value is the value as stored, in JSON.
	Value string
	// Want says what the field holds, e.g. "a string".
	Want string
}

// decodeFields decodes the JSON object data into out, a pointer to a struct, as the API
// server's clients do (keys matched case-sensitively). A value that does not fit its field
// never fails the decode: one such object would stop an informer from listing all the
// others. When the whole object does not decode, each field is decoded on its own, and
// those whose value does not fit are left empty and returned.
func decodeFields(data []byte, out any) []MalformedField {
	if k8sjson.UnmarshalCaseSensitivePreserveInts(data, out) == nil {
		return nil
	}
	v := reflect.ValueOf(out).Elem()
	v.SetZero()
	var fields map[string]json.RawMessage
	if k8sjson.UnmarshalCaseSensitivePreserveInts(data, &fields) != nil {
		return []MalformedField{{Value: string(bytes.TrimSpace(data)), Want: "an object"}}
	}
	var bad []MalformedField
	for i := range v.NumField() {
		name := jsonName(v.Type().Field(i))
		raw, ok := fields[name]
		if !ok || name == "" {
			continue
		}
		f := v.Field(i)
		if k8sjson.UnmarshalCaseSensitivePreserveInts(raw, f.Addr().Interface()) != nil {
			f.SetZero()
			bad = append(bad, MalformedField{Name: name, Value: string(raw), Want: describeType(f.Type())})
		}
	}
	return bad
}

// jsonName is the key of f in JSON; "" for a field JSON leaves out.
func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "-" || !f.IsExported() {
		return ""
	}
	if name == "" {
		return f.Name
	}
	return name
}

// describeType says in words what JSON a value of type t is.
func describeType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Int:
		return "an integer"
	case reflect.Slice:
		return "a list"
	default:
		return "an object"
	}
}

// UnmarshalJSON decodes a spec as stored, whatever its fields hold: those whose value the
// type cannot hold are left empty and listed in Malformed, which validation reports.
func (s *ExposedAPISpec) UnmarshalJSON(data []byte) error {
	type plain ExposedAPISpec
	var p plain
	bad := decodeFields(data, &p)
	*s = ExposedAPISpec(p)
	s.Malformed = bad
	return nil
}

// UnmarshalJSON decodes a status as stored; a field whose value the type cannot hold (one
// another operator wrote) reads as empty, and the next status write replaces it.
func (s *ExposedAPIStatus) UnmarshalJSON(data []byte) error {
	type plain ExposedAPIStatus
	var p plain
	decodeFields(data, &p)
	*s = ExposedAPIStatus(p)
	return nil
}

// UnmarshalJSON decodes the API summary of a Component whatever other operators wrote
// there; a list that is not one reads as empty.
func (s *ComponentStatus) UnmarshalJSON(data []byte) error {
	type plain ComponentStatus
	var p plain
	decodeFields(data, &p)
	*s = ComponentStatus(p)
	return nil
}
