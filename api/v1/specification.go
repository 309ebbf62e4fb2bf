package v1

import (
	"bytes"
	"encoding/json"
)

// Specification locates the specification document of an API.
//
// ExposedAPIs created as v1beta3/v1beta4 are served as v1 without conversion, so a stored
// object may hold a string, a list of strings or a list of objects here. Decoding accepts
// every shape (a type that refused one would stop the informer from listing all the other
// objects): the first entry becomes URL and Version, the rest are kept in Dropped.
// +kubebuilder:object:generate=true
type Specification struct {
	// URL of the specification document, e.g. of the OpenAPI (swagger) file.
	URL string `json:"url,omitempty"`
	// Version of the API specification, e.g. v4.0.1.
	Version string `json:"version,omitempty"`

	// Legacy is true when the stored value had one of the older shapes.
	Legacy bool `json:"-"`
	// Dropped holds the entries after the first of a legacy list.
	Dropped []Specification `json:"-"`
	// Unknown is the stored value, in JSON, when it has none of the shapes above (a number,
	// a boolean, or a list whose first entry is one or a list): validation refuses it.
	Unknown string `json:"-"`
	// Malformed are url and version when stored as something other than a string: our CRD
	// leaves specification schemaless, so only validation can name them. They read as empty.
	Malformed []MalformedField `json:"-"`
}

type specificationObject struct {
	URL     string `json:"url,omitempty"`
	Version string `json:"version,omitempty"`
}

// UnmarshalJSON accepts the v1 object and every older shape; it never fails on a value of a
// shape it does not know, which decodes as an empty specification, nor on a field of the
// wrong type, which is listed in Malformed.
func (s *Specification) UnmarshalJSON(data []byte) error {
	*s = Specification{}
	data = bytes.TrimSpace(data)
	if len(data) == 0 || bytes.Equal(data, []byte("null")) {
		return nil
	}
	switch data[0] {
	case '{':
		// Case-sensitive, as the API server's schema and every other field: {"URL": ...}
		// holds no url.
		var o specificationObject
		s.Malformed = decodeFields(data, &o)
		s.URL, s.Version = o.URL, o.Version
	case '"':
		s.Legacy = true
		_ = json.Unmarshal(data, &s.URL)
	case '[':
		s.Legacy = true
		items := listEntries(data)
		if len(items) > 0 {
			s.URL, s.Version, s.Unknown, s.Malformed = items[0].URL, items[0].Version, items[0].Unknown, items[0].Malformed
			s.Dropped = items[1:]
		}
	default:
		s.Legacy, s.Unknown = true, string(data)
	}
	return nil
}

// listEntries decodes the entries of an older list shape. An entry that is itself a list,
// or null, is no shape of any version: it is Unknown, as a number or a boolean is. A null
// entry read as an empty one would let [null, "https://..."] pass validation and be stored
// with its URL out of reach.
func listEntries(data []byte) []Specification {
	var raw []json.RawMessage
	_ = json.Unmarshal(data, &raw)
	items := make([]Specification, len(raw))
	for i, r := range raw {
		_ = items[i].UnmarshalJSON(r)
		if r = bytes.TrimSpace(r); len(r) > 0 && (r[0] == '[' || bytes.Equal(r, []byte("null"))) {
			items[i].Unknown = string(r)
		}
	}
	return items
}

// MarshalJSON writes the v1 object shape.
func (s Specification) MarshalJSON() ([]byte, error) {
	return json.Marshal(specificationObject{URL: s.URL, Version: s.Version})
}
