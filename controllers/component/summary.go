package component

import (
	"fmt"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
)

// op is one RFC 6902 JSON patch operation.
type op struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value,omitempty"`
}

// entryFacts are the fields of a Component entry that this operator owns.
type entryFacts struct {
	url, developerUI string
	ready            bool
}

func factsOf(api *odav1.ExposedAPI) entryFacts {
	var f entryFacts
	if s := api.Status.APIStatus; s != nil {
		f.url, f.developerUI = s.URL, s.DeveloperUI
	}
	if s := api.Status.Implementation; s != nil {
		f.ready = s.Ready
	}
	return f
}

// summaryOps are the JSON patch operations that bring comp's entries in line with apis.
// Each entry's uid is tested first, so a patch against a reordered list fails rather than
// writing into another API's entry.
func summaryOps(comp *odav1.Component, apis []odav1.ExposedAPI) []op {
	byUID := make(map[string]entryFacts, len(apis))
	for i := range apis {
		byUID[string(apis[i].UID)] = factsOf(&apis[i])
	}
	var ops []op
	for _, list := range []struct {
		name    string
		entries []odav1.ComponentAPIStatus
	}{
		{"coreAPIs", comp.Status.CoreAPIs},
		{"managementAPIs", comp.Status.ManagementAPIs},
		{"securityAPIs", comp.Status.SecurityAPIs},
	} {
		for i, e := range list.entries {
			want, ok := byUID[e.UID]
			if !ok || e.UID == "" {
				continue
			}
			ops = append(ops, entryOps(fmt.Sprintf("/status/%s/%d", list.name, i), e, want)...)
		}
	}
	return ops
}

func entryOps(at string, have odav1.ComponentAPIStatus, want entryFacts) []op {
	var ops []op
	set := func(field string, changed bool, v any, empty bool) {
		switch {
		case !changed:
		case empty:
			ops = append(ops, op{Op: "remove", Path: at + "/" + field})
		default:
			ops = append(ops, op{Op: "add", Path: at + "/" + field, Value: v})
		}
	}
	set("url", have.URL != want.url, want.url, want.url == "")
	set("developerUI", have.DeveloperUI != want.developerUI, want.developerUI, want.developerUI == "")
	set("ready", have.Ready != want.ready || !have.ReadySet, want.ready, false)
	if len(ops) == 0 {
		return nil
	}
	return append([]op{{Op: "test", Path: at + "/uid", Value: have.UID}}, ops...)
}

// entries is how many API entries comp's status lists.
func entries(comp *odav1.Component) int {
	return len(comp.Status.CoreAPIs) + len(comp.Status.ManagementAPIs) + len(comp.Status.SecurityAPIs)
}
