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
