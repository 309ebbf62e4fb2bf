package main

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
)

func TestSameShape(t *testing.T) {
	api := &odav1.ExposedAPI{ObjectMeta: metav1.ObjectMeta{Namespace: "bench-1", Name: "api-1", Generation: 1}, Spec: odav1.ExposedAPISpec{
		Name: "api-1", Implementation: "api-1", Path: "/bench-1/api-1", Port: 8080}}
	vs := &networkingv1.VirtualService{ObjectMeta: metav1.ObjectMeta{Name: "api-1", UID: "0b6f3c9e-5d2a-4f0e-9a3b-1c2d3e4f5a6b"}}
	raw, err := json.Marshal(floorStatus(api, vs))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &api.Status))
	assert.NoError(t, sameShape(api), "the floor's own status")

	api.Status.Conditions = api.Status.Conditions[:3]
	assert.ErrorContains(t, sameShape(api), "make floorStatus the operator's", "a condition fewer")

	api.Status.Conditions = append(api.Status.Conditions, metav1.Condition{Type: "PoliciesProgrammed", Message: string(make([]byte, 400))})
	assert.Error(t, sameShape(api), "the same conditions, a much longer message")
}

func TestOperatorFirstInEverySecondRoundButTheLast(t *testing.T) {
	order := func(rounds int) (firsts []bool) {
		for r := range rounds {
			firsts = append(firsts, operatorFirst(r, rounds))
		}
		return firsts
	}
	assert.Equal(t, []bool{false}, order(1))
	assert.Equal(t, []bool{false, false}, order(2), "the last round times the operator last")
	assert.Equal(t, []bool{false, true, false}, order(3))
	assert.Equal(t, []bool{false, true, false, true, false}, order(5))
}
