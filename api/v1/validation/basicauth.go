package validation

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
)

// BasicAuth reads spec.basicAuth as the ServiceMonitor endpoint's basicAuth it is copied
// into (R3.2): username and password, each the name and key of a Secret. encoding/json
// alone would take a misspelt or wrongly cased key as absent, and a missing selector as
// one with an empty Secret name, which Prometheus cannot read.
func BasicAuth(raw []byte) (*monitoringv1.BasicAuth, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return nil, fmt.Errorf("must be an object {username: {name, key}, password: {name, key}}")
	}
	if err := onlyKeys(fields, "username", "password"); err != nil {
		return nil, err
	}
	for _, k := range []string{"username", "password"} {
		if err := secretKey(k, fields[k]); err != nil {
			return nil, err
		}
	}
	ba := &monitoringv1.BasicAuth{}
	if err := json.Unmarshal(raw, ba); err != nil {
		return nil, err
	}
	return ba, nil
}

func secretKey(field string, raw json.RawMessage) error {
	var sel map[string]json.RawMessage
	if raw == nil || json.Unmarshal(raw, &sel) != nil || sel == nil {
		return fmt.Errorf("%s must be an object {name, key}: the Secret and the key in it that hold the %s", field, field)
	}
	if err := onlyKeys(sel, "name", "key", "optional"); err != nil {
		return fmt.Errorf("%s: %w", field, err)
	}
	for _, k := range []string{"name", "key"} {
		var s string
		if json.Unmarshal(sel[k], &s) != nil || s == "" {
			return fmt.Errorf("%s.%s must be a non-empty string", field, k)
		}
	}
	return nil
}

func onlyKeys(m map[string]json.RawMessage, allowed ...string) error {
	var unknown []string
	for k := range m {
		if !slices.Contains(allowed, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	slices.Sort(unknown)
	return fmt.Errorf("unknown field(s) %s; the fields are %s", strings.Join(unknown, ", "), strings.Join(allowed, ", "))
}

// ValidateBasicAuth checks the basicAuth of a metrics API, the one kind it is used for.
func ValidateBasicAuth(spec *odav1.ExposedAPISpec, fld *field.Path) field.ErrorList {
	if spec.BasicAuth == nil || !odav1.IsMetrics(spec.APIType) {
		return nil
	}
	if _, err := BasicAuth(spec.BasicAuth.Raw); err != nil {
		var v any
		_ = json.Unmarshal(spec.BasicAuth.Raw, &v)
		return field.ErrorList{field.Invalid(fld, v, err.Error())}
	}
	return nil
}
