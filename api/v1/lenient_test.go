package v1

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
)

// An informer lists every ExposedAPI in one response: a value one object holds that the Go
// type cannot must not fail the list.
func TestDecodeListWithValuesTheTypesCannotHold(t *testing.T) {
	const list = `{"apiVersion":"oda.tmforum.org/v1","kind":"ExposedAPIList","metadata":{},"items":[
	 {"metadata":{"name":"odd"},"spec":{"name":"a","apiType":"openapi","implementation":"svc","path":"/a","port":3000000000,
	   "hostname":7,"segment":{"x":1},"Hostname":"case.example.com","template":"t"},
	  "status":{"apiStatus":"ready","implementation":{"ready":true},"conditions":{"type":"Ready"}}},
	 {"metadata":{"name":"fine"},"spec":{"name":"b","apiType":"openapi","implementation":"svc","path":"/b","port":8080,"hostname":"b.example.com"}}]}`
	scheme := runtime.NewScheme()
	require.NoError(t, AddToScheme(scheme))
	obj, _, err := serializer.NewCodecFactory(scheme).UniversalDeserializer().Decode([]byte(list), nil, nil)
	require.NoError(t, err)
	items := obj.(*ExposedAPIList).Items
	require.Len(t, items, 2)

	odd := items[0]
	assert.Equal(t, []MalformedField{
		{Name: "port", Value: "3000000000", Want: "an integer"},
		{Name: "hostname", Value: "7", Want: "a string"},
		{Name: "segment", Value: `{"x":1}`, Want: "a string"},
	}, odd.Spec.Malformed)
	assert.Equal(t, "/a", odd.Spec.Path, "the other fields are read")
	assert.Equal(t, "t", odd.Spec.Template)
	assert.Zero(t, odd.Spec.Port)
	assert.Empty(t, odd.Spec.Hostname, "a key of another case is not the field")
	assert.Nil(t, odd.Status.APIStatus, "a status field another operator wrote in another shape reads as empty")
	assert.Equal(t, &ImplementationStatus{Ready: true}, odd.Status.Implementation)
	assert.Nil(t, odd.Status.Conditions)

	fine := items[1]
	assert.Nil(t, fine.Spec.Malformed)
	assert.Equal(t, int32(8080), fine.Spec.Port)
	assert.Equal(t, "b.example.com", fine.Spec.Hostname)
}

func TestDecodeSpecThatIsNotAnObject(t *testing.T) {
	var s ExposedAPISpec
	require.NoError(t, s.UnmarshalJSON([]byte(` "x" `)))
	assert.Equal(t, []MalformedField{{Value: `"x"`, Want: "an object"}}, s.Malformed)
}

func TestDecodeComponentStatusOtherOperatorsWrote(t *testing.T) {
	var s ComponentStatus
	require.NoError(t, s.UnmarshalJSON([]byte(`{"coreAPIs":"none","managementAPIs":[{"name":"m","ready":"true"}],"deployment":{"x":1}}`)))
	assert.Nil(t, s.CoreAPIs)
	assert.Equal(t, []ComponentAPIStatus{{Name: "m", Ready: true, ReadySet: true}}, s.ManagementAPIs)
}

// storedAPI is an ExposedAPI as a watch brings it: managed fields, spec and a status.
const storedAPI = `{"apiVersion":"oda.tmforum.org/v1","kind":"ExposedAPI","metadata":{"name":"api-1","namespace":"bench","uid":"0b5e7d2c-8f7a-4a39-9d53-3c0f0c1f5a11","resourceVersion":"12345","generation":1,"creationTimestamp":"2026-12-01T10:00:00Z","labels":{"oda.tmforum.org/componentName":"shop"},
"ownerReferences":[{"apiVersion":"oda.tmforum.org/v1","kind":"Component","name":"shop","uid":"1b5e7d2c-8f7a-4a39-9d53-3c0f0c1f5a11"}],
"managedFields":[{"manager":"bench","operation":"Update","apiVersion":"oda.tmforum.org/v1","time":"2026-12-01T10:00:00Z","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{"f:labels":{".":{},"f:oda.tmforum.org/componentName":{}}},"f:spec":{".":{},"f:apiType":{},"f:implementation":{},"f:name":{},"f:path":{},"f:port":{},"f:segment":{},"f:specification":{".":{},"f:url":{}}}}},
{"manager":"api-operator-istio","operation":"Update","apiVersion":"oda.tmforum.org/v1","time":"2026-12-01T10:00:01Z","fieldsType":"FieldsV1","fieldsV1":{"f:status":{".":{},"f:apiStatus":{".":{},"f:implementation":{},"f:ip":{},"f:name":{},"f:path":{},"f:port":{},"f:uid":{},"f:url":{}},"f:conditions":{".":{},"k:{\"type\":\"Accepted\"}":{},"k:{\"type\":\"Programmed\"}":{},"k:{\"type\":\"Ready\"}":{}},"f:implementation":{".":{},"f:ready":{}}}},"subresource":"status"}]},
"spec":{"name":"api-1","apiType":"openapi","implementation":"impl-1","path":"/shop/tmf-api/api-1/v4","port":8080,"segment":"coreFunction","specification":{"url":"https://example.com/api-1.yaml","version":"v4"}},
"status":{"apiStatus":{"name":"api-1","uid":"2b5e7d2c-8f7a-4a39-9d53-3c0f0c1f5a11","path":"/shop/tmf-api/api-1/v4","port":8080,"implementation":"impl-1","url":"https://192.0.2.10/shop/tmf-api/api-1/v4","ip":"192.0.2.10"},"implementation":{"ready":true},
"conditions":[{"type":"Accepted","status":"True","observedGeneration":1,"lastTransitionTime":"2026-12-01T10:00:01Z","reason":"Valid","message":"the spec is valid and its route is free"},
{"type":"Programmed","status":"True","observedGeneration":1,"lastTransitionTime":"2026-12-01T10:00:01Z","reason":"VirtualServiceProgrammed","message":"VirtualService api-1 routes * /shop/tmf-api/api-1/v4 on component-gateway to impl-1:8080"},
{"type":"Ready","status":"True","observedGeneration":1,"lastTransitionTime":"2026-12-01T10:00:01Z","reason":"Ready","message":"reachable at its URL and the implementation is ready"}]}}`

// BenchmarkDecodeStoredAPI is what each watch event of an ExposedAPI costs the operator to
// decode, as its informers do.
func BenchmarkDecodeStoredAPI(b *testing.B) {
	scheme := runtime.NewScheme()
	require.NoError(b, AddToScheme(scheme))
	dec := serializer.NewCodecFactory(scheme).UniversalDeserializer()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := dec.Decode([]byte(storedAPI), nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// Our CRD leaves specification schemaless: a url or version that is not a string is listed
// for validation to name, in the object and in the first entry of an older list alike.
func TestDecodeSpecificationFieldsOfTheWrongType(t *testing.T) {
	for in, want := range map[string][]MalformedField{
		`{"url":5}`: {{Name: "url", Value: "5", Want: "a string"}},
		`{"url":"https://e.com/a.yaml","version":4}`:     {{Name: "version", Value: "4", Want: "a string"}},
		`[{"url":["x"]},{"url":"https://e.com/b.yaml"}]`: {{Name: "url", Value: `["x"]`, Want: "a string"}},
		`{"url":"https://e.com/a.yaml","version":"v4"}`:  nil,
	} {
		var s Specification
		require.NoError(t, s.UnmarshalJSON([]byte(in)))
		assert.Equal(t, want, s.Malformed, in)
	}
}
