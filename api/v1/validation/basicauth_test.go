package validation

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
)

func TestBasicAuth(t *testing.T) {
	ba, err := BasicAuth([]byte(`{"username":{"name":"creds","key":"user"},"password":{"name":"creds","key":"pass","optional":false}}`))
	require.NoError(t, err)
	assert.Equal(t, "creds", ba.Username.Name)
	assert.Equal(t, "pass", ba.Password.Key)

	for raw, want := range map[string]string{
		`{"username":{"name":"creds","key":"user"},"pasword":{"name":"creds","key":"pass"}}`:        "unknown field(s) pasword; the fields are username, password",
		`{"username":{"name":"creds","key":"user"}}`:                                                "password must be an object {name, key}",
		`{"Username":{"name":"creds","key":"user"},"password":{"name":"creds","key":"pass"}}`:       "unknown field(s) Username",
		`{"username":"plain","password":{"name":"creds","key":"pass"}}`:                             "username must be an object {name, key}",
		`{"username":{"name":"","key":"user"},"password":{"name":"creds","key":"pass"}}`:            "username.name must be a non-empty string",
		`{"username":{"name":"creds"},"password":{"name":"creds","key":"pass"}}`:                    "username.key must be a non-empty string",
		`{"username":{"name":"creds","key":"user","secret":"x"},"password":{"name":"c","key":"p"}}`: "username: unknown field(s) secret; the fields are name, key, optional",
		`"user:pass"`: "must be an object {username: {name, key}, password: {name, key}}",
		`null`:        "must be an object",
	} {
		_, err := BasicAuth([]byte(raw))
		require.Error(t, err, raw)
		assert.Contains(t, err.Error(), want, raw)
	}
}

// Only a metrics API's basicAuth is used (copied into its ServiceMonitor), and checked.
func TestValidateBasicAuthOfMetricsAPIsOnly(t *testing.T) {
	bad := &apiextensionsv1.JSON{Raw: []byte(`{"username":{"name":"creds","key":"user"}}`)}
	fld := field.NewPath("spec", "basicAuth")
	errs := ValidateBasicAuth(&odav1.ExposedAPISpec{APIType: "Prometheus", BasicAuth: bad}, fld)
	require.Len(t, errs, 1)
	assert.Equal(t, `spec.basicAuth: Invalid value: {"username":{"key":"user","name":"creds"}}: password must be an object {name, key}: the Secret and the key in it that hold the password`, errs[0].Error())
	assert.Empty(t, ValidateBasicAuth(&odav1.ExposedAPISpec{APIType: "openapi", BasicAuth: bad}, fld))
	assert.Empty(t, ValidateBasicAuth(&odav1.ExposedAPISpec{APIType: "openmetrics"}, fld))
}
