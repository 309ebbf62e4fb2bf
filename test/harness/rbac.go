package harness

import (
	"net/http"
	"strings"
)

// Access is one (API group, resource, verb) an RBAC rule grants or a request uses.
type Access struct{ Group, Resource, Verb string }

// AccessOf reads the RBAC verb and resource of a request to the API server; ok is false for
// what RBAC does not govern by resource (discovery, version).
func AccessOf(r *http.Request) (Access, bool) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	var group string
	switch {
	case len(parts) >= 3 && parts[0] == "api":
		parts = parts[2:]
	case len(parts) >= 4 && parts[0] == "apis":
		group, parts = parts[1], parts[3:]
	default:
		return Access{}, false
	}
	if len(parts) >= 2 && parts[0] == "namespaces" {
		if len(parts) == 2 {
			return Access{"", "namespaces", verbOf(r, true)}, true
		}
		parts = parts[2:]
	}
	resource, named := parts[0], len(parts) >= 2
	if len(parts) >= 3 {
		resource += "/" + parts[2]
	}
	return Access{group, resource, verbOf(r, named)}, true
}

func verbOf(r *http.Request, named bool) string {
	switch r.Method {
	case http.MethodGet:
		switch {
		case r.URL.Query().Get("watch") == "true":
			return "watch"
		case named:
			return "get"
		}
		return "list"
	case http.MethodPost:
		return "create"
	case http.MethodPut:
		return "update"
	case http.MethodPatch:
		return "patch"
	case http.MethodDelete:
		if named {
			return "delete"
		}
		return "deletecollection"
	}
	return strings.ToLower(r.Method)
}
